//! Forwarding policies through real UDP on 127.0.0.1: video group, audio-only group with
//! active speakers, live group gated by forwarding, and pause/resume of a publisher's video.

mod common;

use common::*;
use opencalls_media_peer::PeerConfig;
use opencalls_sfu::{KeyframeCause, Kind, Policy, Role, SfuError, SfuEvent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_group_peers_receive_each_others_audio_and_video() {
    let h = Harness::default();
    h.sfu
        .create_group(gid("room"), Policy::Video)
        .await
        .unwrap();
    let mut peers = Vec::new();
    for tag in 1..=3u32 {
        let peer = h
            .join(
                "room",
                &format!("p{tag}"),
                Role::Participant,
                publisher(tag, 2),
            )
            .await
            .unwrap();
        peers.push((tag, peer));
    }
    for (tag, peer) in &peers {
        let others: Vec<u32> = (1..=3).filter(|t| t != tag).collect();
        let stats = wait_stats("audio and video from both others", peer, |s| {
            others.iter().all(|o| {
                let c = s.from_source(*o);
                c.audio_frames >= 25 && c.video_frames >= 10 && c.keyframes >= 1
            })
        })
        .await;
        assert_eq!(
            stats.from_source(*tag),
            Default::default(),
            "a peer never receives itself"
        );
        assert_eq!(stats.unknown_frames, 0);
    }
    for tag in 1..=3 {
        let id = pid(&format!("p{tag}"));
        h.wait_event(
            "peer connected",
            |e| matches!(e, SfuEvent::PeerConnected { peer, .. } if *peer == id),
        )
        .await;
        for kind in [Kind::Audio, Kind::Video] {
            h.wait_event("media started", |e| matches!(e, SfuEvent::MediaStarted { peer, kind: k, .. } if *peer == id && *k == kind)).await;
        }
    }
    let stats = h.sfu.stats().await.unwrap();
    assert!(stats.frames_forwarded > 0 && stats.packets_forwarded >= stats.frames_forwarded);
    assert!(stats.latency_p50 <= stats.latency_p99 && stats.latency_p99 <= stats.latency_max);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_only_group_forwards_only_the_three_loudest() {
    let h = Harness::default();
    h.sfu
        .create_group(
            gid("talk"),
            Policy::AudioOnly {
                max_active_speakers: 3,
            },
        )
        .await
        .unwrap();
    let video = h
        .join("talk", "cam", Role::Participant, publisher(50, 0))
        .await;
    assert_eq!(video.err(), Some(SfuError::VideoNotAllowed));

    let mut speakers = Vec::new();
    for (tag, level) in [(1u32, -10i8), (2, -20), (3, -30), (4, -45), (5, -60)] {
        let cfg = PeerConfig {
            tag,
            send_video: false,
            recv_audio_slots: 3,
            audio_level: level,
            ..PeerConfig::default()
        };
        speakers.push(
            h.join("talk", &format!("s{tag}"), Role::Participant, cfg)
                .await
                .unwrap(),
        );
    }
    let cfg = PeerConfig {
        tag: 99,
        send_audio: false,
        send_video: false,
        recv_audio_slots: 3,
        ..PeerConfig::default()
    };
    let listener = h
        .join("talk", "listener", Role::Participant, cfg)
        .await
        .unwrap();

    let top = vec![pid("s1"), pid("s2"), pid("s3")];
    h.wait_event("active speakers = s1,s2,s3", |e| match e {
        SfuEvent::ActiveSpeakersChanged { speakers, .. } => {
            let mut got = speakers.clone();
            got.sort();
            got == top
        }
        _ => false,
    })
    .await;
    let before = listener.stats();
    let after = wait_stats("50 more packets from each top speaker", &listener, |s| {
        (1..=3).all(|t| s.from_source(t).audio_frames >= before.from_source(t).audio_frames + 50)
    })
    .await;
    for quiet in [4, 5] {
        let grew = after.from_source(quiet).audio_frames - before.from_source(quiet).audio_frames;
        assert!(
            grew <= 3,
            "speaker {quiet} is not among the top 3 but {grew} packets were forwarded"
        );
    }
    // The loudest speaker hears the other two active speakers, not the quiet ones.
    let s1 = wait_stats("s1 hears s2 and s3", &speakers[0], |s| {
        s.from_source(2).audio_frames >= 25 && s.from_source(3).audio_frames >= 25
    })
    .await;
    assert!(s1.from_source(5).audio_frames <= after.from_source(5).audio_frames + 3);
    assert_eq!(
        after.received.values().map(|c| c.video_frames).sum::<u64>(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_group_forwards_the_host_only_while_enabled() {
    let h = Harness::default();
    h.sfu.create_group(gid("live"), Policy::Live).await.unwrap();
    let host = h
        .join("live", "host", Role::Host, publisher(1, 0))
        .await
        .unwrap();
    assert_eq!(
        h.join("live", "host2", Role::Host, publisher(2, 0))
            .await
            .err(),
        Some(SfuError::HostExists)
    );
    assert_eq!(
        h.join("live", "sneaky", Role::Viewer, publisher(3, 1))
            .await
            .err(),
        Some(SfuError::PublishNotAllowed)
    );
    let mut viewers = Vec::new();
    for n in 0..3u32 {
        viewers.push(
            h.join("live", &format!("v{n}"), Role::Viewer, viewer(100 + n))
                .await
                .unwrap(),
        );
    }
    for n in 0..3 {
        let id = pid(&format!("v{n}"));
        h.wait_event(
            "viewer connected",
            |e| matches!(e, SfuEvent::PeerConnected { peer, .. } if *peer == id),
        )
        .await;
    }
    let sent = wait_stats("host publishes", &host, |s| {
        s.audio_sent >= 50 && s.video_frames_sent >= 20
    })
    .await;
    for v in &viewers {
        assert_eq!(
            v.stats().from_source(1),
            Default::default(),
            "nothing is forwarded before the event starts"
        );
    }

    h.sfu.set_forwarding(gid("live"), true).await.unwrap();
    for v in &viewers {
        wait_stats("viewer receives the host", v, |s| {
            let c = s.from_source(1);
            c.audio_frames >= 20 && c.video_frames >= 5 && c.keyframes >= 1
        })
        .await;
    }
    assert!(
        host.stats().keyframe_requests >= 1,
        "enabling forwarding asks the host for a keyframe"
    );

    h.sfu.set_forwarding(gid("live"), false).await.unwrap();
    let before: Vec<_> = viewers.iter().map(|v| v.stats().from_source(1)).collect();
    let mark = host.stats().audio_sent;
    wait_stats("host keeps publishing", &host, |s| {
        s.audio_sent >= mark + 50
    })
    .await;
    for (v, b) in viewers.iter().zip(&before) {
        let now = v.stats().from_source(1);
        assert!(
            now.audio_frames <= b.audio_frames + 3,
            "audio kept flowing after disable"
        );
        assert!(
            now.video_frames <= b.video_frames + 2,
            "video kept flowing after disable"
        );
    }
    assert!(sent.audio_sent > 0);

    h.sfu.remove_group(gid("live")).await.unwrap();
    let stats = h.sfu.stats().await.unwrap();
    assert_eq!((stats.groups, stats.peers, stats.demux_entries), (0, 0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_video_stops_it_and_resuming_restarts_with_a_keyframe() {
    let h = Harness::default();
    h.sfu
        .create_group(gid("room"), Policy::Video)
        .await
        .unwrap();
    let a = h
        .join("room", "a", Role::Participant, publisher(1, 1))
        .await
        .unwrap();
    let b = h
        .join("room", "b", Role::Participant, publisher(2, 1))
        .await
        .unwrap();
    wait_stats("b receives a's video", &b, |s| {
        s.from_source(1).video_frames >= 10
    })
    .await;

    h.sfu.set_paused(pid("a"), Kind::Video, true).await.unwrap();
    let before = b.stats().from_source(1);
    let mark = a.stats().video_frames_sent;
    let requests = a.stats().keyframe_requests;
    wait_stats("a keeps sending video", &a, |s| {
        s.video_frames_sent >= mark + 30
    })
    .await;
    let during = wait_stats("a's audio still flows", &b, |s| {
        s.from_source(1).audio_frames >= before.audio_frames + 25
    })
    .await;
    assert!(
        during.from_source(1).video_frames <= before.video_frames + 2,
        "paused video kept flowing"
    );

    h.sfu
        .set_paused(pid("a"), Kind::Video, false)
        .await
        .unwrap();
    let paused_at = during.from_source(1);
    wait_stats("video flows again from a keyframe", &b, |s| {
        let c = s.from_source(1);
        c.video_frames >= paused_at.video_frames + 10 && c.keyframes > paused_at.keyframes
    })
    .await;
    assert!(
        a.stats().keyframe_requests > requests,
        "resume requests a keyframe from the publisher"
    );
    h.wait_event("keyframe requested on resume", |e| {
        matches!(e, SfuEvent::KeyframeRequested { peer, cause: KeyframeCause::Resumed, .. } if *peer == pid("a"))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscribers_pli_reaches_the_publisher_as_a_keyframe_request() {
    let h = Harness::default();
    h.sfu
        .create_group(gid("room"), Policy::Video)
        .await
        .unwrap();
    let a = h
        .join("room", "a", Role::Participant, publisher(1, 1))
        .await
        .unwrap();
    let b = h
        .join("room", "b", Role::Participant, publisher(2, 1))
        .await
        .unwrap();
    let first = wait_stats("b receives a's video", &b, |s| {
        s.from_source(1).video_frames >= 10
    })
    .await;
    let requests = a.stats().keyframe_requests;
    let keyframes = first.from_source(1).keyframes;
    // The SFU throttles requests per track (300 ms), so a PLI right after the join-time
    // request may be absorbed: repeat the PLI on each poll until the publisher hears one.
    wait_until_async("the publisher hears the PLI", || async {
        b.request_keyframes();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        (a.stats().keyframe_requests > requests).then_some(())
    })
    .await;
    assert!(b.stats().plis_sent >= 1);
    wait_stats("b gets the new keyframe", &b, |s| {
        s.from_source(1).keyframes > keyframes
    })
    .await;
    h.wait_event("keyframe requested by a subscriber", |e| {
        matches!(e, SfuEvent::KeyframeRequested { peer, cause: KeyframeCause::SubscriberRequest, .. } if *peer == pid("a"))
    })
    .await;
}
