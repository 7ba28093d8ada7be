//! Active-speaker selection of audio-only groups: the loudest N publishers are forwarded,
//! levels are reported every `speaker_interval`, and the set follows pause and silence.

use std::time::Duration;

use super::client::ClientConfig;
use super::{Net, WINDOW, pid};
use crate::api::{Kind, Policy, Role, SfuError, SfuEvent};
use crate::config::SfuConfig;

const LEVELS: [(u32, i8); 5] = [(1, -10), (2, -20), (3, -30), (4, -45), (5, -60)];

/// An audio-only group of 3 speakers with five speakers at `LEVELS` and a listener (tag 99)
/// with three audio slots, run until the first speaker set is chosen.
fn talk() -> Net {
    let mut net = Net::with_group(
        "talk",
        Policy::AudioOnly {
            max_active_speakers: 3,
        },
    );
    for (tag, level) in LEVELS {
        let cfg = ClientConfig::speaker(tag, level, 3);
        net.join("talk", &format!("s{tag}"), Role::Participant, cfg)
            .unwrap();
    }
    let listener = ClientConfig {
        send_audio: false,
        ..ClientConfig::speaker(99, -127, 3)
    };
    net.join("talk", "listener", Role::Participant, listener)
        .unwrap();
    net.run_until("speakers chosen", Duration::from_secs(2), |n| {
        !speaker_sets(n).is_empty()
    });
    net
}

/// Every `ActiveSpeakersChanged` so far, each set sorted.
fn speaker_sets(net: &Net) -> Vec<Vec<String>> {
    net.events
        .iter()
        .filter_map(|e| match e {
            SfuEvent::ActiveSpeakersChanged { speakers, .. } => {
                let mut set: Vec<String> = speakers.iter().map(|p| p.0.clone()).collect();
                set.sort();
                Some(set)
            }
            _ => None,
        })
        .collect()
}

#[test]
fn an_audio_only_group_forwards_only_the_loudest_speakers() {
    let mut net = talk();
    assert_eq!(speaker_sets(&net).last().unwrap(), &["s1", "s2", "s3"]);
    let before = net.client("listener").received.clone();
    net.run_for(WINDOW);
    let listener = net.client("listener");
    let grew = |tag| listener.from(tag).audio - before.get(&tag).map_or(0, |c| c.audio);
    for tag in 1..=3 {
        assert!(grew(tag) >= 10, "speaker {tag} is forwarded");
    }
    for tag in [4, 5] {
        assert_eq!(grew(tag), 0, "speaker {tag} is not among the top 3");
    }
    let s1 = net.client("s1");
    assert!(
        s1.from(2).audio > 0 && s1.from(3).audio > 0,
        "s1 hears the others"
    );
    assert_eq!(s1.from(4).audio + s1.from(5).audio, 0);
    assert_eq!(s1.from(1).audio, 0, "nobody hears themselves");
}

#[test]
fn video_is_refused_in_an_audio_only_group() {
    let mut net = Net::with_group(
        "talk",
        Policy::AudioOnly {
            max_active_speakers: 0,
        },
    );
    let r = net.join(
        "talk",
        "cam",
        Role::Participant,
        ClientConfig::publisher(1, 0),
    );
    assert_eq!(r, Err(SfuError::VideoNotAllowed));
    assert_eq!(
        net.core.stats().peers,
        0,
        "a refused offer leaves nothing behind"
    );
}

#[test]
fn a_paused_speaker_gives_its_place_and_slot_to_the_next_loudest() {
    let mut net = talk();
    let mark = net.events.len();
    net.set_paused("s1", Kind::Audio, true);
    net.run_until("s4 replaces s1", Duration::from_secs(1), |n| {
        speaker_sets(n).last().unwrap() == &["s2", "s3", "s4"]
    });
    // Only the slot that carried s1 changes source; s2 and s3 keep theirs.
    let routed = net.routed_since(mark, "listener");
    assert_eq!(routed, vec![(Kind::Audio, Some(pid("s4")))]);
    let before = net.client("listener").received.clone();
    net.run_for(WINDOW);
    let listener = net.client("listener");
    assert!(listener.from(4).audio >= before.get(&4).map_or(0, |c| c.audio) + 10);
    let s1_before = before.get(&1).map_or(0, |c| c.audio);
    assert_eq!(listener.from(1).audio, s1_before, "paused s1 is silent");
}

#[test]
fn audio_levels_are_reported_every_speaker_interval() {
    let cfg = SfuConfig::default();
    let interval = cfg.speaker_interval;
    let mut net = Net::with_config_and_group(cfg, "room", Policy::Video);
    net.join(
        "room",
        "a",
        Role::Participant,
        ClientConfig::speaker(1, -25, 0),
    )
    .unwrap();
    net.run_for(WINDOW);
    let mark = net.events.len();
    net.run_for(interval * 10);
    let levels: Vec<i8> = net.events[mark..]
        .iter()
        .filter_map(|e| match e {
            SfuEvent::AudioLevel { peer, level, .. } if *peer == pid("a") => Some(*level),
            _ => None,
        })
        .collect();
    assert!((9..=11).contains(&levels.len()), "{} reports", levels.len());
    assert!(levels.iter().all(|l| (-27..=-23).contains(l)), "{levels:?}");
}
