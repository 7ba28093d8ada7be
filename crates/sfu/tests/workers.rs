//! Groups spread over several media workers, through the real sockets on 127.0.0.1: each
//! group lands on its own worker (its own UDP port in the answer), a room on any worker
//! forwards, stats and the peers snapshot cover every worker, and the caps hold across them.

mod common;

use common::*;
use opencalls_media_peer::{MediaPeer, PeerHandle};
use opencalls_sfu::{AddPeer, Policy, Role, SfuConfig, SfuError};

/// Joins publishers `<room>-a` and `<room>-b` to `room` and waits until each receives the
/// other's audio and video.
async fn join_room(h: &Harness, room: &str, tags: (u32, u32)) -> (PeerHandle, PeerHandle) {
    let a = h
        .join(
            room,
            &format!("{room}-a"),
            Role::Participant,
            publisher(tags.0, 1),
        )
        .await
        .unwrap();
    let b = h
        .join(
            room,
            &format!("{room}-b"),
            Role::Participant,
            publisher(tags.1, 1),
        )
        .await
        .unwrap();
    wait_stats("b receives a", &b, |s| {
        s.from_source(tags.0).audio_frames >= 10 && s.from_source(tags.0).video_frames >= 3
    })
    .await;
    wait_stats("a receives b", &a, |s| {
        s.from_source(tags.1).audio_frames >= 10
    })
    .await;
    (a, b)
}

/// Joins viewers `v<tag>` (receiving one audio and one video slot) to group `live`.
async fn join_viewers(h: &Harness, tags: std::ops::Range<u32>) -> Vec<PeerHandle> {
    let mut viewers = Vec::new();
    for tag in tags {
        let cfg = opencalls_media_peer::PeerConfig {
            send_audio: false,
            send_video: false,
            ..publisher(tag, 1)
        };
        let name = format!("v{tag}");
        viewers.push(h.join("live", &name, Role::Viewer, cfg).await.unwrap());
    }
    viewers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_on_different_workers_forward_and_stats_cover_them_all() {
    let h = Harness::start(SfuConfig {
        workers: 2,
        ..SfuConfig::default()
    });
    assert_eq!(h.sfu.worker_count(), 2);
    let ports = h.sfu.local_addrs();
    assert_ne!(ports[0], ports[1], "each worker has its own socket");
    h.sfu.create_group(gid("r0"), Policy::Video).await.unwrap();
    h.sfu.create_group(gid("r1"), Policy::Video).await.unwrap();
    assert_eq!(h.sfu.group_worker(&gid("r0")), Some(0));
    assert_eq!(h.sfu.group_worker(&gid("r1")), Some(1));

    // The answer for a peer of r1 points at worker 1's port only.
    let (_idle, offer) = MediaPeer::new(publisher(9, 1), LOCALHOST).await.unwrap();
    let answer = h
        .sfu
        .add_peer(AddPeer {
            group: gid("r1"),
            peer: pid("idle"),
            role: Role::Participant,
            offer,
            replaces: None,
        })
        .await
        .unwrap();
    assert!(answer.contains(&format!(" {} typ host", ports[1].port())));
    assert!(!answer.contains(&format!(" {} typ host", ports[0].port())));
    h.sfu.remove_peer(pid("idle")).await.unwrap();

    let _r0 = join_room(&h, "r0", (1, 2)).await;
    let _r1 = join_room(&h, "r1", (3, 4)).await;

    let per_worker = h.sfu.worker_stats().await.unwrap();
    for (i, w) in per_worker.iter().enumerate() {
        assert_eq!((w.groups, w.peers), (1, 2), "worker {i}: {w:?}");
        assert!(w.packets_forwarded > 0, "worker {i} forwards its own room");
    }
    let total = h.sfu.stats().await.unwrap();
    assert_eq!((total.groups, total.peers), (2, 4));
    let sum: u64 = per_worker.iter().map(|w| w.packets_forwarded).sum();
    assert!(
        total.packets_forwarded >= sum,
        "{total:?} covers both workers"
    );
    assert_eq!(total.datagrams_dropped, 0);

    let mut snapshot = h.sfu.peers().await.unwrap();
    snapshot.sort_by(|x, y| x.peer.0.cmp(&y.peer.0));
    let names: Vec<(&str, &str, bool)> = snapshot
        .iter()
        .map(|p| (p.group.0.as_str(), p.peer.0.as_str(), p.connected))
        .collect();
    assert_eq!(
        names,
        [
            ("r0", "r0-a", true),
            ("r0", "r0-b", true),
            ("r1", "r1-a", true),
            ("r1", "r1-b", true)
        ]
    );

    // Commands reach the owning worker; removal frees it there.
    h.sfu.remove_group(gid("r1")).await.unwrap();
    let after = h.sfu.worker_stats().await.unwrap();
    assert_eq!((after[0].peers, after[1].peers), (2, 0));
    assert!(matches!(
        h.sfu.remove_peer(pid("r1-a")).await,
        Err(SfuError::PeerNotFound(_))
    ));
    h.sfu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_and_group_caps_and_ids_hold_across_workers() {
    let h = Harness::start(SfuConfig {
        workers: 2,
        max_peers: 2,
        max_groups: 2,
        ..SfuConfig::default()
    });
    h.sfu.create_group(gid("r0"), Policy::Video).await.unwrap();
    h.sfu.create_group(gid("r1"), Policy::Video).await.unwrap();
    assert!(matches!(
        h.sfu.create_group(gid("r2"), Policy::Video).await,
        Err(SfuError::LimitReached("max_groups"))
    ));
    let add = |group: &'static str, peer: &'static str| {
        let sfu = h.sfu.clone();
        async move {
            let (_m, offer) = MediaPeer::new(publisher(1, 1), LOCALHOST).await.unwrap();
            sfu.add_peer(AddPeer {
                group: gid(group),
                peer: pid(peer),
                role: Role::Participant,
                offer,
                replaces: None,
            })
            .await
        }
    };
    add("r0", "p").await.unwrap();
    assert!(
        matches!(add("r1", "p").await, Err(SfuError::PeerExists(_))),
        "a peer id is unique across workers"
    );
    add("r1", "q").await.unwrap();
    assert!(matches!(
        add("r0", "z").await,
        Err(SfuError::LimitReached("max_peers"))
    ));
    // A refused offer frees its reservation; a removed peer frees its place.
    h.sfu.remove_peer(pid("q")).await.unwrap();
    wait_until_async("q's place is free", || async { add("r0", "z").await.ok() }).await;
    assert_eq!(h.sfu.stats().await.unwrap().peers, 2);
    h.sfu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_forwards_with_plain_send_to_as_well_as_batched() {
    for send_batch in [1, opencalls_sfu::SEND_BATCH_LIMIT] {
        let h = Harness::start(SfuConfig {
            workers: 1,
            send_batch,
            ..SfuConfig::default()
        });
        h.sfu.create_group(gid("r"), Policy::Video).await.unwrap();
        let _pair = join_room(&h, "r", (1, 2)).await;
        let s = h.sfu.stats().await.unwrap();
        assert!(s.datagrams_out > 0 && s.packets_forwarded > 0, "{s:?}");
        assert_eq!(s.datagrams_dropped, 0, "send_batch {send_batch}: {s:?}");
        h.sfu.shutdown().await;
    }
}

/// With the shell reading the socket between the copies of a fan-out, a live group's
/// viewers all get the host's audio and video and nothing is dropped (the reads feed the
/// core mid-flush; every datagram is still handled once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_fan_out_forwards_everything_with_reads_between_copies() {
    let h = Harness::start(SfuConfig {
        workers: 1,
        fan_out_reads: 8,
        ..SfuConfig::default()
    });
    h.sfu.create_group(gid("live"), Policy::Live).await.unwrap();
    let _host = h
        .join("live", "host", Role::Host, publisher(1, 0))
        .await
        .unwrap();
    let viewers = join_viewers(&h, 2..10).await;
    h.sfu.set_forwarding(gid("live"), true).await.unwrap();
    for viewer in &viewers {
        wait_stats("a viewer receives the host", viewer, |s| {
            s.from_source(1).audio_frames >= 25 && s.from_source(1).video_frames >= 8
        })
        .await;
    }
    let s = h.sfu.stats().await.unwrap();
    assert!(s.frames_forwarded > 0, "{s:?}");
    assert_eq!(s.datagrams_dropped, 0, "{s:?}");
    h.sfu.shutdown().await;
}

/// A live group spread over two workers: its viewers land on both (each answer names its
/// worker's port), every viewer gets the host's audio and video, starting on a keyframe
/// (the mirror's slots ask the host through the home), both workers fan out, the group is
/// counted once, and when the host leaves the mirror's viewers learn it too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_group_spread_over_two_workers_reaches_every_viewer() {
    let h = Harness::start(SfuConfig {
        workers: 2,
        ..SfuConfig::default()
    });
    h.sfu.create_group(gid("live"), Policy::Live).await.unwrap();
    let home = h.sfu.group_worker(&gid("live")).unwrap();
    let host = h
        .join("live", "host", Role::Host, publisher(1, 0))
        .await
        .unwrap();
    // Media flows from the host before forwarding starts: the mirror must still start
    // every viewer on a keyframe.
    wait_stats("the host sends", &host, |s| s.video_frames_sent >= 5).await;
    let viewers = join_viewers(&h, 2..8).await;
    h.sfu.set_forwarding(gid("live"), true).await.unwrap();
    for viewer in &viewers {
        let s = wait_stats("a viewer receives the host", viewer, |s| {
            s.from_source(1).audio_frames >= 25 && s.from_source(1).video_frames >= 8
        })
        .await;
        assert!(s.from_source(1).keyframes >= 1, "{s:?}");
        assert_eq!(s.unknown_frames, 0, "{s:?}");
    }
    let per_worker = h.sfu.worker_stats().await.unwrap();
    let peers: Vec<usize> = per_worker.iter().map(|s| s.peers).collect();
    assert_eq!(
        peers[home], 4,
        "the host and 3 viewers on the home: {peers:?}"
    );
    assert_eq!(peers[1 - home], 3, "3 viewers on the mirror: {peers:?}");
    for s in &per_worker {
        assert!(s.frames_forwarded > 0, "both workers fan out: {s:?}");
    }
    let total = h.sfu.stats().await.unwrap();
    assert_eq!(total.groups, 1, "{total:?}");
    assert_eq!(total.relays_dropped, 0, "{total:?}");
    assert_eq!(total.datagrams_dropped, 0, "{total:?}");

    // The host leaves: every viewer's slots (on both workers) are routed from nobody.
    h.sfu.remove_peer(pid("host")).await.unwrap();
    wait_until("every viewer's slots emptied", || {
        let emptied = h
            .events()
            .into_iter()
            .filter(|e| matches!(e, opencalls_sfu::SfuEvent::TrackRouted { source: None, .. }))
            .count();
        (emptied >= 12).then_some(())
    })
    .await;
    h.sfu.remove_group(gid("live")).await.unwrap();
    let after = h.sfu.stats().await.unwrap();
    assert_eq!((after.groups, after.peers), (0, 0), "{after:?}");
    h.sfu.shutdown().await;
}
