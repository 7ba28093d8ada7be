//! The media bridge's live-event interface (what the live protocol calls), driven directly
//! against a real SFU on 127.0.0.1 with media peers: viewers get nothing while the event is
//! `ready`, the host's audio and video once it is `ongoing`, nothing again once it `ended`,
//! and ending the event frees everything.

use opencalls_domain::{HostId, LiveEventId, ParticipantId};
use opencalls_media_peer::{MediaPeer, PeerConfig, PeerHandle};
use opencalls_rtc::{MediaBridge, MediaConfig, Member};
use opencalls_sfu::{Role, Sfu, SfuConfig};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn ev1() -> LiveEventId {
    LiveEventId::parse("ev1").expect("id")
}

fn viewer_member(name: &str) -> Member {
    Member::Viewer(ParticipantId::parse(name).expect("id"))
}

async fn offer(bridge: &MediaBridge, member: Member, role: Role, config: PeerConfig) -> PeerHandle {
    let (peer, sdp) = MediaPeer::new(config, IpAddr::V4(Ipv4Addr::LOCALHOST))
        .await
        .expect("peer");
    let answer = bridge
        .live_offer(&ev1(), member, role, sdp, false)
        .await
        .expect("live offer");
    peer.start(&answer).expect("start")
}

#[tokio::test]
async fn viewers_get_the_hosts_media_only_while_the_event_is_ongoing() {
    let (sfu, _events) = Sfu::start(SfuConfig::default()).expect("sfu");
    let bridge = MediaBridge::new(sfu.clone(), MediaConfig::default());
    let host_config = PeerConfig {
        tag: 1,
        video_bitrate_bps: 100_000,
        video_fps: 15,
        ..PeerConfig::default()
    };
    let host_id = Member::Host(HostId::parse("host").expect("id"));
    let host = offer(&bridge, host_id, Role::Host, host_config).await;
    let viewer_config = PeerConfig {
        tag: 2,
        send_audio: false,
        send_video: false,
        recv_audio_slots: 1,
        recv_video_slots: 1,
        ..PeerConfig::default()
    };
    let viewer = offer(
        &bridge,
        viewer_member("viewer"),
        Role::Viewer,
        viewer_config.clone(),
    )
    .await;
    let publishing = PeerConfig {
        send_audio: true,
        ..viewer_config
    };
    let refused = MediaPeer::new(publishing, IpAddr::V4(Ipv4Addr::LOCALHOST))
        .await
        .expect("peer");
    let err = bridge
        .live_offer(
            &ev1(),
            viewer_member("viewer2"),
            Role::Viewer,
            refused.1,
            false,
        )
        .await
        .expect_err("a viewer may not publish");
    // The client hears 2800102 for this refusal.
    assert!(
        matches!(
            err,
            opencalls_rtc::MediaError::Sfu(opencalls_sfu::SfuError::PublishNotAllowed)
        ),
        "{err}"
    );
    assert_eq!(
        sfu.stats().await.expect("stats").peers,
        2,
        "the refusal changed nothing"
    );

    // ready: the host publishes (a second of audio) but the viewer receives nothing.
    until("the host publishes", async || host.stats().audio_sent > 50).await;
    until("the viewer is connected", async || viewer.stats().connected).await;
    assert_eq!(viewer.stats().from_source(1), Default::default());

    bridge.live_state_changed(&ev1(), true).await;
    until(
        "ongoing: the host's audio and video reach the viewer",
        async || {
            let got = viewer.stats().from_source(1);
            got.audio_frames > 10 && got.video_frames > 5 && got.keyframes > 0
        },
    )
    .await;

    bridge.live_state_changed(&ev1(), false).await;
    let at_end = viewer.stats().from_source(1);
    let sent = host.stats().audio_sent;
    until("the host keeps publishing", async || {
        host.stats().audio_sent > sent + 50
    })
    .await;
    let after = viewer.stats().from_source(1);
    assert!(
        after.audio_frames <= at_end.audio_frames + 3,
        "ended: audio still forwarded {at_end:?} → {after:?}"
    );

    // A viewer leaving doesn't end the group; ending the event frees everything.
    bridge.remove(&viewer_member("viewer")).await;
    let stats = sfu.stats().await.expect("stats");
    assert_eq!((stats.peers, stats.groups), (1, 1));
    bridge.remove_live_event(&ev1()).await;
    let stats = sfu.stats().await.expect("stats");
    assert_eq!((stats.peers, stats.groups, stats.demux_entries), (0, 0, 0));
    host.stop().await;
    viewer.stop().await;
    sfu.shutdown().await;
}
