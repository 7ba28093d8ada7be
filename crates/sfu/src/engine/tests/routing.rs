//! Who receives whose media: video groups, subscriptions, pause/resume and live forwarding.

use super::client::ClientConfig;
use super::{Net, WINDOW, gid, pid, video_pair};
use crate::api::{KeyframeCause, Kind, Policy, Role, SfuError, SfuEvent, Subscriptions};

#[test]
fn video_group_peers_receive_each_other_and_never_themselves() {
    let mut net = Net::with_group("room", Policy::Video);
    net.join_publishers("room", &["p1", "p2", "p3"], 2);
    net.run_for(WINDOW * 2);
    for tag in 1..=3u32 {
        let me = net.client(&format!("p{tag}"));
        for other in (1..=3).filter(|o| *o != tag) {
            let got = me.from(other);
            assert!(
                got.audio >= 20 && got.video >= 6,
                "p{tag} from {other}: {got:?}"
            );
            assert_eq!(
                got.first_video_was_key,
                Some(true),
                "video starts on a keyframe"
            );
        }
        assert_eq!(
            me.from(tag),
            Default::default(),
            "a peer never receives itself"
        );
        assert!(net.connected(&format!("p{tag}")));
        for kind in [Kind::Audio, Kind::Video] {
            let id = pid(&format!("p{tag}"));
            let started = net.events_where(|e| {
                matches!(e, SfuEvent::MediaStarted { peer, kind: k, .. } if *peer == id && *k == kind)
            });
            assert_eq!(started.len(), 1);
        }
    }
    let stats = net.core.stats();
    assert!(stats.frames_forwarded > 0 && stats.packets_forwarded >= stats.frames_forwarded);
    assert_eq!((stats.groups, stats.peers), (1, 3));
}

#[test]
fn subscriptions_limit_whose_tracks_a_peer_receives() {
    let mut net = Net::with_group("room", Policy::Video);
    net.join_publishers("room", &["a", "b", "c"], 2);
    net.run_for(WINDOW);
    assert!(net.client("a").from(2).audio > 0 && net.client("a").from(3).audio > 0);
    net.core
        .set_subscriptions(&pid("a"), Subscriptions::Only(vec![pid("c")]))
        .unwrap();
    let before = (net.client("a").from(2), net.client("a").from(3));
    net.run_for(WINDOW);
    let after = (net.client("a").from(2), net.client("a").from(3));
    assert_eq!(after.0.audio, before.0.audio, "b was unsubscribed");
    assert!(after.1.audio >= before.1.audio + 10, "c keeps flowing");
    assert!(net.client("b").from(1).audio > 0, "others are unaffected");
}

#[test]
fn pausing_video_stops_it_and_resuming_restarts_it_from_a_keyframe() {
    let mut net = video_pair();
    net.set_paused("a", Kind::Video, true);
    let paused = net.client("b").from(1);
    net.run_for(WINDOW);
    let during = net.client("b").from(1);
    assert_eq!(during.video, paused.video, "paused video stopped");
    assert!(during.audio >= paused.audio + 10, "audio keeps flowing");

    let requests = net.client("a").keyframe_requests;
    net.set_paused("a", Kind::Video, false);
    net.run_for(WINDOW);
    let after = net.client("b").from(1);
    assert!(after.video >= during.video + 3, "video flows again");
    assert!(
        after.keyframes > during.keyframes,
        "it restarts from a keyframe"
    );
    assert!(net.client("a").keyframe_requests > requests);
    let resumed = net.events_where(|e| {
        matches!(e, SfuEvent::KeyframeRequested { peer, cause: KeyframeCause::Resumed, .. } if *peer == pid("a"))
    });
    assert_eq!(resumed.len(), 1);
}

#[test]
fn live_group_forwards_the_host_only_while_enabled() {
    let mut net = Net::with_group("live", Policy::Live);
    net.join("live", "host", Role::Host, ClientConfig::publisher(1, 0))
        .unwrap();
    for n in 0..3 {
        net.join(
            "live",
            &format!("v{n}"),
            Role::Viewer,
            ClientConfig::viewer(100 + n),
        )
        .unwrap();
    }
    net.run_for(WINDOW);
    for n in 0..3 {
        assert!(
            net.connected(&format!("v{n}")),
            "viewers connect without media"
        );
        assert_eq!(net.client(&format!("v{n}")).from(1), Default::default());
    }

    net.core
        .set_forwarding(net.now, &gid("live"), true)
        .unwrap();
    net.run_for(WINDOW);
    for n in 0..3 {
        let got = net.client(&format!("v{n}")).from(1);
        assert!(got.audio >= 10 && got.video >= 3, "v{n}: {got:?}");
        assert_eq!(got.first_video_was_key, Some(true));
    }
    assert!(
        net.client("host").keyframe_requests >= 1,
        "enabling asks for a keyframe"
    );

    net.core
        .set_forwarding(net.now, &gid("live"), false)
        .unwrap();
    let before: Vec<_> = (0..3)
        .map(|n| net.client(&format!("v{n}")).from(1))
        .collect();
    net.run_for(WINDOW);
    for (n, b) in before.iter().enumerate() {
        assert_eq!(
            net.client(&format!("v{n}")).from(1),
            *b,
            "nothing after disable"
        );
    }
    net.core.remove_group(&gid("live")).unwrap();
    let stats = net.core.stats();
    assert_eq!((stats.groups, stats.peers, stats.demux_entries), (0, 0, 0));
}

#[test]
fn stray_and_malformed_datagrams_are_dropped_and_change_nothing() {
    let mut net = video_pair();
    let stranger = std::net::SocketAddr::from(([192, 0, 2, 1], 9));
    let to = net.core.local_addr();
    let mut fake_stun = vec![0x00, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xA4, 0x42];
    fake_stun.extend_from_slice(&[9; 12]);
    fake_stun.extend_from_slice(&[0x00, 0x06, 0x00, 0x08]);
    fake_stun.extend_from_slice(b"nope:cli");
    let garbage = [vec![], vec![0x80, 0x60, 0, 1], vec![0xff; 1500], fake_stun];
    let before = net.core.stats();
    for data in &garbage {
        net.core.handle_receive(net.now, stranger, to, data);
    }
    let stats = net.core.stats();
    assert_eq!(stats.datagrams_in, before.datagrams_in + 4);
    assert_eq!(stats.datagrams_dropped, before.datagrams_dropped + 4);
    assert_eq!(net.core.poll_transmit().map(|t| t.destination), None);
    let mark = net.client("b").from(1).audio;
    net.run_for(WINDOW);
    assert!(
        net.client("b").from(1).audio >= mark + 10,
        "forwarding continues"
    );
    assert_eq!(net.core.stats().peers, 2);
}

#[test]
fn layer_hints_are_validated_and_ignored_for_a_publisher_without_simulcast() {
    let mut net = Net::with_group("room", Policy::Video);
    net.join_publishers("room", &["p1", "p2"], 2);
    net.run_for(WINDOW);
    let me = pid("p1");
    let routed = |kind: Kind| {
        net.events
            .iter()
            .find_map(|e| match e {
                SfuEvent::TrackRouted {
                    peer,
                    mid,
                    kind: k,
                    source: Some(_),
                    ..
                } if *peer == me && *k == kind => Some(mid.clone()),
                _ => None,
            })
            .expect("a routed slot")
    };
    let (video, audio) = (routed(Kind::Video), routed(Kind::Audio));
    let core = &mut net.core;
    assert_eq!(core.set_layer_hint(&me, &video, Some(180)), Ok(()));
    for (mid, height) in [
        (&video, Some(0)),
        (&video, Some(100_000)),
        (&audio, Some(180)),
    ] {
        let refused = core.set_layer_hint(&me, mid, height);
        assert!(
            matches!(refused, Err(SfuError::InvalidHint(_))),
            "{refused:?}"
        );
    }
    let unknown = core.set_layer_hint(&me, "nope", None);
    assert!(
        matches!(unknown, Err(SfuError::InvalidHint(_))),
        "{unknown:?}"
    );
    let ghost = core.set_layer_hint(&pid("ghost"), &video, None);
    assert_eq!(ghost, Err(SfuError::PeerNotFound(pid("ghost"))));
    // A publisher sending one stream is forwarded whatever the hint.
    let before = net.client("p1").from(2).video;
    net.run_for(WINDOW);
    assert!(net.client("p1").from(2).video >= before + 3);
}
