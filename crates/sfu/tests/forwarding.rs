//! End-to-end forwarding through the real socket shell on 127.0.0.1: a video group whose
//! peers receive each other's audio and video. The policies themselves (audio-only speakers,
//! live gating, pause/resume, keyframe requests) are unit-tested on the core's virtual clock
//! (`src/engine/tests`).

mod common;

use common::*;
use opencalls_sfu::{Kind, Policy, Role, SfuConfig, SfuEvent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn video_group_peers_receive_each_others_audio_and_video() {
    let h = Harness::with_group(SfuConfig::default(), "room", Policy::Video).await;
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
    // Video receivers are paced (bandwidth estimation): the pacer may still hold the last
    // frames' packets when the counters are read.
    assert!(
        stats.frames_forwarded > 0 && stats.packets_forwarded * 10 >= stats.frames_forwarded * 9,
        "{stats:?}"
    );
    assert!(stats.latency_p50 <= stats.latency_p99 && stats.latency_p99 <= stats.latency_max);
}
