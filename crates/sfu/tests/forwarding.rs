//! End-to-end forwarding through the real socket shell on 127.0.0.1: a video group whose
//! peers receive each other's audio and video. The policies themselves (audio-only speakers,
//! live gating, pause/resume, keyframe requests) are unit-tested on the core's virtual clock
//! (`src/engine/tests`).

mod common;

use common::*;
use opencalls_media_peer::PeerConfig;
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

/// Average bytes per video frame `viewer` received from `tag` over the next `frames` frames.
async fn bytes_per_frame(viewer: &opencalls_media_peer::PeerHandle, tag: u32, frames: u64) -> u64 {
    let start = viewer.stats().from_source(tag);
    let end = wait_stats("frames to average", viewer, |s| {
        s.from_source(tag).video_frames >= start.video_frames + frames
    })
    .await
    .from_source(tag);
    // Audio shares the counter of bytes: take out its packets (`audio_bytes` each).
    let audio = (end.audio_frames - start.audio_frames) * PeerConfig::default().audio_bytes as u64;
    (end.bytes - start.bytes - audio) / (end.video_frames - start.video_frames)
}

/// A simulcast host (three rids, as the browser SDK publishes) through the real sockets: its
/// viewer gets one layer of each frame, never all three, starting on a keyframe, and with
/// loopback's bandwidth to spare the SFU switches it up from the lowest layer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulcast_hosts_viewer_gets_one_layer_per_frame_and_is_switched_up() {
    let h = Harness::with_group(SfuConfig::default(), "live", Policy::Live).await;
    let host = PeerConfig {
        simulcast: true,
        video_bitrate_bps: 400_000,
        ..publisher(1, 0)
    };
    let host = h.join("live", "host", Role::Host, host).await.unwrap();
    let viewer = PeerConfig {
        send_audio: false,
        send_video: false,
        ..publisher(2, 1)
    };
    let viewer = h
        .join("live", "viewer", Role::Viewer, viewer)
        .await
        .unwrap();
    h.sfu.set_forwarding(gid("live"), true).await.unwrap();
    let first = wait_stats("the viewer gets video", &viewer, |s| {
        s.from_source(1).video_frames >= 1
    })
    .await;
    assert!(
        first.from_source(1).keyframes >= 1,
        "video starts on a keyframe"
    );

    // One layer per frame: as many frames arrive as the host sends ticks, not three times
    // as many (a layer switch may repeat a frame or two).
    let (sent0, got0) = (
        host.stats().video_frames_sent,
        viewer.stats().from_source(1),
    );
    let sent = wait_stats("60 frames sent", &host, |s| {
        s.video_frames_sent >= sent0 + 60
    })
    .await
    .video_frames_sent
        - sent0;
    let got = wait_stats("the window's frames", &viewer, |s| {
        s.from_source(1).video_frames >= got0.video_frames + sent * 9 / 10
    })
    .await
    .from_source(1)
    .video_frames
        - got0.video_frames;
    assert!(got <= sent * 11 / 10, "{got} frames for {sent} sent");

    // Frames of the top layer are 400 kbit/s / 30 fps ≈ 1,667 bytes, `h` a quarter, `q` a
    // sixteenth (104). `h` (100 kbit/s) fits the estimator's starting 300 kbit/s, so the
    // viewer leaves `q` after the selector's hold without waiting for the estimate to climb.
    let q = 400_000 / 8 / 30 / 16;
    wait_until_async("the viewer leaves the lowest layer", || async {
        (bytes_per_frame(&viewer, 1, 15).await > 2 * q).then_some(())
    })
    .await;
    h.wait_event("a layer switch's keyframe request", |e| {
        matches!(
            e,
            SfuEvent::KeyframeRequested {
                cause: opencalls_sfu::KeyframeCause::LayerSwitch,
                ..
            }
        )
    })
    .await;
}
