//! Peer lifecycle through the real socket shell on 127.0.0.1: with no traffic the shell still
//! wakes for the core's timeouts (lost transport, connect timeout); bad commands are refused
//! through the handle and change nothing; stray datagrams on the socket are dropped. Removal,
//! subscriptions and the timeouts' exact timing are unit-tested on the core's virtual clock.

mod common;

use std::time::Duration;

use common::*;
use opencalls_media_peer::{MediaPeer, PeerConfig};
use opencalls_sfu::{
    AddPeer, DisconnectReason, Kind, Policy, Role, SfuConfig, SfuError, SfuEvent, Subscriptions,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_transport_and_never_connected_peers_are_removed() {
    let config = SfuConfig {
        transport_timeout: Duration::from_millis(800),
        connect_timeout: Duration::from_millis(800),
        ..SfuConfig::default()
    };
    let h = Harness::with_group(config, "room", Policy::Video).await;
    // An offer whose peer never sends a STUN request times out (while the others run).
    let (_silent, offer) = MediaPeer::new(publisher(3, 1), LOCALHOST).await.unwrap();
    let request = AddPeer {
        group: gid("room"),
        peer: pid("ghost"),
        role: Role::Participant,
        offer,
        replaces: None,
    };
    h.sfu.add_peer(request).await.unwrap();
    let (a, b) = h.join_pair("room").await;
    h.wait_event(
        "a connected",
        |e| matches!(e, SfuEvent::PeerConnected { peer, .. } if *peer == pid("a")),
    )
    .await;

    // The clients vanish without a goodbye: only the silence tells.
    a.stop().await;
    b.stop().await;
    h.wait_event("a lost", |e| {
        matches!(e, SfuEvent::PeerDisconnected { peer, reason: DisconnectReason::TransportLost, .. } if *peer == pid("a"))
    })
    .await;
    h.wait_event("a's media stopped", |e| {
        matches!(e, SfuEvent::MediaStopped { peer, kind: Kind::Audio, .. } if *peer == pid("a"))
    })
    .await;

    h.wait_event("ghost timed out", |e| {
        matches!(e, SfuEvent::PeerDisconnected { peer, reason: DisconnectReason::ConnectTimeout, .. } if *peer == pid("ghost"))
    })
    .await;

    let stats = wait_until_async("all peers gone", || async {
        let s = h.sfu.stats().await.unwrap();
        (s.peers == 0).then_some(s)
    })
    .await;
    assert_eq!(stats.demux_entries, 0);
    assert_eq!(stats.groups, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_commands_are_refused_and_change_nothing() {
    let h = Harness::default();
    assert_eq!(h.sfu.create_group(gid("room"), Policy::Video).await, Ok(()));
    assert_eq!(
        h.sfu.create_group(gid("room"), Policy::Live).await,
        Err(SfuError::GroupExists(gid("room")))
    );
    let request = |group: &str, peer: &str, role, offer: &str| AddPeer {
        group: gid(group),
        peer: pid(peer),
        role,
        offer: offer.to_string(),
        replaces: None,
    };
    let (_p, offer) = MediaPeer::new(PeerConfig::default(), LOCALHOST)
        .await
        .unwrap();
    let r = h
        .sfu
        .add_peer(request("nope", "a", Role::Participant, &offer))
        .await;
    assert_eq!(r, Err(SfuError::GroupNotFound(gid("nope"))));
    let r = h
        .sfu
        .add_peer(request("room", "a", Role::Participant, "garbage"))
        .await;
    assert!(matches!(r, Err(SfuError::InvalidOffer(_))), "{r:?}");
    let r = h
        .sfu
        .add_peer(request(
            "room",
            "a",
            Role::Participant,
            &"x".repeat(100_000),
        ))
        .await;
    assert!(matches!(r, Err(SfuError::InvalidOffer(_))), "{r:?}");
    let r = h
        .sfu
        .add_peer(request("room", "a", Role::Host, &offer))
        .await;
    assert_eq!(r, Err(SfuError::RoleNotAllowed(Role::Host)));
    let r = h.sfu.set_paused(pid("a"), Kind::Video, true).await;
    assert_eq!(r, Err(SfuError::PeerNotFound(pid("a"))));
    let r = h.sfu.set_subscriptions(pid("a"), Subscriptions::All).await;
    assert_eq!(r, Err(SfuError::PeerNotFound(pid("a"))));
    assert!(
        h.sfu
            .add_peer(request("room", "a", Role::Participant, &offer))
            .await
            .is_ok()
    );
    let r = h
        .sfu
        .add_peer(request("room", "a", Role::Participant, &offer))
        .await;
    assert_eq!(r, Err(SfuError::PeerExists(pid("a"))));
    let stats = h.sfu.stats().await.unwrap();
    assert_eq!((stats.groups, stats.peers), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stray_and_malformed_datagrams_are_dropped_and_change_nothing() {
    let h = Harness::with_group(SfuConfig::default(), "room", Policy::Video).await;
    let (a, b) = h.join_pair("room").await;

    let stray = tokio::net::UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
    let target = h.sfu.local_addr();
    let mut fake_stun = vec![0x00, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xA4, 0x42];
    fake_stun.extend_from_slice(&[9; 12]);
    fake_stun.extend_from_slice(&[0x00, 0x06, 0x00, 0x08]);
    fake_stun.extend_from_slice(b"nope:cli");
    let garbage: Vec<Vec<u8>> = vec![
        vec![],
        vec![0x80, 0x60, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0, 1],
        vec![0x16, 0xfe, 0xfd],
        vec![0xff; 1500],
        fake_stun,
    ];
    let before = h.sfu.stats().await.unwrap();
    for _ in 0..20 {
        for d in &garbage {
            stray.send_to(d, target).await.unwrap();
        }
    }
    wait_until_async("stray datagrams counted as dropped", || async {
        let s = h.sfu.stats().await.unwrap();
        (s.datagrams_dropped >= before.datagrams_dropped + 80).then_some(())
    })
    .await;
    let stats = h.sfu.stats().await.unwrap();
    assert_eq!(stats.peers, 2);
    let mark = b.stats().from_source(1).audio_frames;
    wait_stats("forwarding continues", &b, |s| {
        s.from_source(1).audio_frames >= mark + 25
    })
    .await;
    drop(a);
}
