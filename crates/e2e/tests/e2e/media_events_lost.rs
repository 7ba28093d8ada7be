//! SFU events the media bridge could not take (a full event queue) are counted and
//! reconciled: with a one-slot queue most events of a call are dropped, yet participants
//! still become connected, a vanished transport is still reported and freed, and
//! `/metrics` shows the loss.

use crate::common;

use common::TestServer;
use opencalls_client::Client;
use opencalls_client::media::{PeerConfig, PeerHandle, join_media};
use opencalls_testkit::poll::{SLOW as WAIT, until};

async fn join(server: &TestServer, room: &str, user: &str, tag: u32) -> (Client, PeerHandle) {
    let client = server.device(user).await;
    client.enter(room, true, true).await.expect("enter");
    let config = PeerConfig {
        tag,
        send_video: true,
        recv_audio_slots: 2,
        recv_video_slots: 2,
        video_bitrate_bps: 100_000,
        video_fps: 15,
        ..PeerConfig::default()
    };
    let (peer, _) = join_media(&client, room, config)
        .await
        .expect("media.offer");
    (client, peer)
}

#[tokio::test]
async fn dropped_sfu_events_are_counted_and_the_call_state_is_reconciled() {
    let server = TestServer::start_with(|c| {
        c.media_event_queue = 1;
        c.media_transport_timeout_ms = 1000;
    })
    .await;
    let room = common::id_of(&server.create_room("small_room_for_video").await);
    let (mut alice, alice_peer) = join(&server, &room, "alice", 1).await;
    let (_bob, bob_peer) = join(&server, &room, "bob", 2).await;
    until("bob receives alice", WAIT, async || {
        bob_peer.stats().from_source(1).video_frames > 5
    })
    .await;
    until("both participants connected", WAIT, async || {
        let (_, body) = server.get(&format!("/v1/rooms/{room}")).await;
        let list = body["room"]["current_participants"].as_array().cloned();
        list.is_some_and(|l| l.len() == 2 && l.iter().all(|p| p["state"] == "connected"))
    })
    .await;
    until("events were dropped and reported", WAIT, async || {
        server.api.counter("opencalls_sfu_events_lost_total").await > 0
    })
    .await;
    let before = server.sfu.stats().await.expect("stats").events_dropped;
    assert!(before > 0, "the one-slot queue dropped events");

    // Alice vanishes: two MediaStopped and a PeerDisconnected leave at once, more than the
    // queue holds.
    alice_peer.stop().await;
    let what = "alice is told her media transport was lost";
    common::told_transport_lost(&mut alice, WAIT, what).await;
    until("alice's peer is freed", WAIT, async || {
        server.sfu.stats().await.expect("stats").peers == 1
    })
    .await;
    let dropped = server.sfu.stats().await.expect("stats").events_dropped;
    until(
        "every dropped event is counted on /metrics",
        WAIT,
        async || server.api.counter("opencalls_sfu_events_lost_total").await >= dropped,
    )
    .await;
    server.stop().await;
}
