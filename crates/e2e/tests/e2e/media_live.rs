//! Live-event media through the real server: WebSocket signaling (`media.offer` with
//! `live_event_id`), the SFU on real UDP (127.0.0.1), an `opencalls-media-peer` host
//! publishing synthetic Opus/VP8 and receive-only viewers. Viewers get nothing in `ready`,
//! the host's audio and video once `ongoing`, nothing once `ended`; the host's `connected`
//! and `is_host_streaming` follow its transport.

use crate::common;
use crate::live_common;

use common::TestServer;
use live_common::{End, Ready, Start, act, create, fetch, id};
use opencalls_client::media::{PeerConfig, PeerHandle, join_live_media};
use opencalls_client::{Client, Incoming};
use opencalls_testkit::poll::{SLOW as WAIT, until};
use serde_json::{Value, json};
use std::time::Duration;

const HOST_TAG: u32 = 1;

fn host_config() -> PeerConfig {
    PeerConfig {
        tag: HOST_TAG,
        video_bitrate_bps: 100_000,
        video_fps: 15,
        ..PeerConfig::default()
    }
}

async fn sfu_counts(server: &TestServer) -> (usize, usize, usize) {
    let stats = server.sfu.stats().await.expect("sfu stats");
    (stats.peers, stats.groups, stats.demux_entries)
}

/// A host that entered `id` and publishes; returns its client, peer and host id.
async fn host_publishing(server: &TestServer, id: &str) -> (Client, PeerHandle, String) {
    let client = server.device("host").await;
    client
        .live_enter(id, "host", true, true)
        .await
        .expect("enter");
    let (peer, host_id) = join_live_media(&client, id, host_config())
        .await
        .expect("host offer");
    (client, peer, host_id)
}

async fn viewer(server: &TestServer, id: &str, user: &str, tag: u32) -> (Client, PeerHandle) {
    let client = server.device(user).await;
    client
        .live_enter(id, "participant", false, false)
        .await
        .expect("enter");
    let (peer, _) = join_live_media(&client, id, PeerConfig::viewer(tag))
        .await
        .expect("viewer offer");
    (client, peer)
}

/// Waits for an event named `name` on `client` whose data satisfies `check`.
async fn event(client: &mut Client, name: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        assert!(tokio::time::Instant::now() < deadline, "no {name} event");
        if let Some(Incoming::Event { name: n, data, .. }) =
            client.next_incoming(Duration::from_millis(50)).await
            && n == name
            && check(&data)
        {
            return data;
        }
    }
}

#[tokio::test]
async fn viewers_get_the_hosts_media_only_while_the_event_is_ongoing() {
    let server = TestServer::start().await;
    let id = id(&create(&server, &["host"]).await);
    let (host, host_peer, host_id) = host_publishing(&server, &id).await;
    assert_eq!(act(&server, &id, Ready).await.0, 200);
    let (mut v1, p1) = viewer(&server, &id, "v1", 2).await;
    let (v2, p2) = viewer(&server, &id, "v2", 3).await;

    // ready: everyone is connected, the host publishes, viewers receive nothing.
    until("the host is connected", WAIT, async || {
        let event = fetch(&server, &id).await;
        event["host"]["state"] == "connected" && event["host"]["connected_at"].is_i64()
    })
    .await;
    assert_eq!(fetch(&server, &id).await["is_host_streaming"], false);
    until("viewers are connected", WAIT, async || {
        p1.stats().connected && p2.stats().connected
    })
    .await;
    until("the host publishes", WAIT, async || {
        host_peer.stats().audio_sent > 50
    })
    .await;
    for p in [&p1, &p2] {
        assert_eq!(p.stats().from_source(HOST_TAG), Default::default());
    }
    assert_eq!(sfu_counts(&server).await.0, 3);

    // start (by the host's client): the host's audio and video reach every viewer.
    host.live_start(&id).await.expect("start");
    for p in [&p1, &p2] {
        until(
            "ongoing: the host's audio and video arrive",
            WAIT,
            async || {
                let got = p.stats().from_source(HOST_TAG);
                got.audio_frames > 10 && got.video_frames > 5 && got.keyframes > 0
            },
        )
        .await;
    }
    assert_eq!(fetch(&server, &id).await["is_host_streaming"], true);
    let track = event(&mut v1, "media.track", |d| d["host_id"] == host_id.as_str()).await;
    assert!(track["kind"] == "audio" || track["kind"] == "video");

    // A viewer leaving frees its peer only.
    v2.live_exit(&id).await.expect("exit");
    until("the viewer's peer is freed", WAIT, async || {
        sfu_counts(&server).await.0 == 2
    })
    .await;

    // end (Platform API): viewers get nothing more and the SFU holds nothing.
    assert_eq!(act(&server, &id, End).await.0, 200);
    until("ending frees every peer and the group", WAIT, async || {
        sfu_counts(&server).await == (0, 0, 0)
    })
    .await;
    let at_end = p1.stats().from_source(HOST_TAG);
    let sent = host_peer.stats().audio_sent;
    until("the host keeps sending", WAIT, async || {
        host_peer.stats().audio_sent > sent + 50
    })
    .await;
    let after = p1.stats().from_source(HOST_TAG);
    assert!(
        after.audio_frames <= at_end.audio_frames + 3,
        "ended: audio still forwarded {at_end:?} → {after:?}"
    );
    let ended = fetch(&server, &id).await;
    assert_eq!(ended["is_host_streaming"], false);
    for p in [host_peer, p1, p2] {
        p.stop().await;
    }
    server.stop().await;
}

#[tokio::test]
async fn a_lost_host_transport_disconnects_the_host_and_a_new_offer_reconnects() {
    let server = TestServer::start_with(|c| c.media_transport_timeout_ms = 1000).await;
    let id = id(&create(&server, &["host"]).await);
    let (mut host, host_peer, host_id) = host_publishing(&server, &id).await;
    for action in [Ready, Start] {
        assert_eq!(act(&server, &id, action).await.0, 200);
    }
    until(
        "ongoing with a connected host: streaming",
        WAIT,
        async || fetch(&server, &id).await["is_host_streaming"] == true,
    )
    .await;

    host_peer.stop().await; // vanishes without a DTLS close: looks like a lost network
    let lost = event(&mut host, "media.disconnected", |d| {
        d["host_id"] == host_id.as_str()
    })
    .await;
    assert_eq!(lost["reason"], "transport_lost");
    until(
        "the host is disconnected, not streaming",
        WAIT,
        async || {
            let event = fetch(&server, &id).await;
            event["host"]["state"] == "disconnected" && event["is_host_streaming"] == false
        },
    )
    .await;
    assert_eq!(sfu_counts(&server).await, (0, 0, 0));

    let (again, same) = join_live_media(&host, &id, host_config())
        .await
        .expect("offer again");
    assert_eq!(same, host_id);
    until(
        "the new transport makes the host stream again",
        WAIT,
        async || {
            let event = fetch(&server, &id).await;
            event["host"]["state"] == "connected" && event["is_host_streaming"] == true
        },
    )
    .await;
    // The host's client ending the event frees everything.
    host.live_end(&id).await.expect("end");
    until("ending frees the host's peer", WAIT, async || {
        sfu_counts(&server).await == (0, 0, 0)
    })
    .await;
    again.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn live_offers_need_a_seat_valid_sdp_and_viewers_may_not_publish() {
    let server = TestServer::start().await;
    let id = id(&create(&server, &["host"]).await);
    let client = server.device("v1").await;
    let offer = |sdp: &str| json!({ "live_event_id": id, "sdp": sdp });
    let code = |r: Result<Value, opencalls_client::ClientError>| r.unwrap_err().code();

    let unknown = json!({ "live_event_id": "nope", "sdp": "v=0" });
    assert_eq!(
        code(client.request("media.offer", unknown).await),
        Some(400200)
    );
    assert_eq!(
        code(client.request("media.offer", offer("v=0")).await),
        Some(2800103),
        "not entered"
    );
    let (host, _peer, _) = host_publishing(&server, &id).await;
    assert_eq!(act(&server, &id, Ready).await.0, 200);
    client
        .live_enter(&id, "participant", false, false)
        .await
        .expect("enter");
    assert_eq!(
        code(client.request("media.offer", offer("garbage")).await),
        Some(400100)
    );
    let both = json!({ "live_event_id": id, "room_id": "x", "sdp": "v=0" });
    assert_eq!(
        code(client.request("media.offer", both).await),
        Some(400100)
    );
    let missing = json!({ "live_event_id": id });
    assert_eq!(
        code(client.request("media.offer", missing).await),
        Some(400111)
    );

    let publishing = PeerConfig {
        send_audio: true,
        ..PeerConfig::viewer(2)
    };
    let refused = join_live_media(&client, &id, publishing).await;
    assert_eq!(refused.err().and_then(|e| e.code()), Some(2800102));
    assert_eq!(
        sfu_counts(&server).await.0,
        1,
        "the refusals changed nothing"
    );

    drop(host);
    server.stop().await;
}

#[tokio::test]
async fn a_dropped_socket_and_a_revoked_session_free_live_media() {
    let server = TestServer::start_with(|c| c.reconnect_grace_ms = 200).await;
    let id = id(&create(&server, &["host"]).await);
    let (host, host_peer, _) = host_publishing(&server, &id).await;
    assert_eq!(act(&server, &id, Ready).await.0, 200);
    let (viewer_client, viewer_peer) = viewer(&server, &id, "v1", 2).await;
    until("both peers up", WAIT, async || {
        sfu_counts(&server).await.0 == 2
    })
    .await;

    viewer_client.kill();
    until(
        "the viewer's peer is freed after the grace period",
        WAIT,
        async || sfu_counts(&server).await.0 == 1,
    )
    .await;
    assert_eq!(fetch(&server, &id).await["participant_count"], 0);

    // Revoking the host's session exits its seat at once (no grace): its media goes too.
    let (status, body) = server.delete("/v1/users/host/token", None).await;
    assert_eq!(status, 200, "{body}");
    until(
        "the host's exit frees its peer and the group",
        WAIT,
        async || sfu_counts(&server).await == (0, 0, 0),
    )
    .await;
    let event = fetch(&server, &id).await;
    assert!(event["host"].is_null() && event["is_host_streaming"] == false);
    assert_eq!(
        event["state"], "ready",
        "a host leaving does not end the event"
    );
    drop(host);
    host_peer.stop().await;
    viewer_peer.stop().await;
    server.stop().await;
}
