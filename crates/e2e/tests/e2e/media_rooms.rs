//! Calls' media through the real server: WebSocket signaling (`media.offer`), the SFU on
//! real UDP (127.0.0.1), and `opencalls-media-peer` clients publishing synthetic Opus/VP8.

use crate::common;

use common::TestServer;
use opencalls_client::media::{PeerConfig, PeerHandle, join_media};
use opencalls_client::{Client, Incoming};
use opencalls_testkit::poll::{SLOW as WAIT, until};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

/// A synthetic peer tagged `tag` (sending audio, and video if `video`) receiving `slots`
/// audio (and video) slots.
pub(crate) fn peer_config(tag: u32, slots: usize, video: bool) -> PeerConfig {
    PeerConfig {
        tag,
        send_video: video,
        recv_audio_slots: slots,
        recv_video_slots: if video { slots } else { 0 },
        video_bitrate_bps: 100_000,
        video_fps: 15,
        ..PeerConfig::default()
    }
}

/// A device in a room with its media peer.
pub(crate) struct Member {
    pub client: Client,
    pub peer: PeerHandle,
    pub pid: String,
    pub tag: u32,
}

/// A device of `user` on `server` that enters the room and offers media (see
/// [`peer_config`]: 5 slots with video, 3 without).
pub(crate) async fn join(
    server: &TestServer,
    room: &str,
    user: &str,
    tag: u32,
    video: bool,
) -> Member {
    let client = server.device(user).await;
    client.enter(room, true, video).await.expect("enter");
    let slots = if video { 5 } else { 3 };
    let (peer, pid) = join_media(&client, room, peer_config(tag, slots, video))
        .await
        .expect("media.offer");
    Member {
        client,
        peer,
        pid,
        tag,
    }
}

/// The room's current participants as the Platform API shows them.
pub(crate) async fn participants(server: &TestServer, room: &str) -> Vec<Value> {
    let (status, body) = server.get(&format!("/v1/rooms/{room}")).await;
    assert_eq!(status, 200, "{body}");
    body["room"]["current_participants"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn sfu_peers(server: &TestServer) -> (usize, usize, usize) {
    let stats = server.sfu.stats().await.expect("sfu stats");
    (stats.peers, stats.groups, stats.demux_entries)
}

/// Collects the `media.track` events seen so far: slot mid → source participant.
async fn drain_tracks(client: &mut Client, tracks: &mut HashMap<String, Value>) {
    while let Some(message) = client.next_incoming(Duration::from_millis(5)).await {
        if let Incoming::Event { name, data, .. } = message
            && name == "media.track"
        {
            let mid = data["mid"].as_str().unwrap_or_default().to_owned();
            tracks.insert(mid, data["participant_id"].clone());
        }
    }
}

#[tokio::test]
async fn video_room_members_receive_each_other_and_become_connected() {
    let server = TestServer::start().await;
    let room = common::id_of(&server.create_room("small_room_for_video").await);
    let mut members = Vec::new();
    for (i, user) in ["alice", "bob", "carol"].iter().enumerate() {
        members.push(join(&server, &room, user, i as u32 + 1, true).await);
    }
    for me in &members {
        for other in members.iter().filter(|o| o.tag != me.tag) {
            until(
                "audio and video from every other member",
                WAIT,
                async || {
                    let got = me.peer.stats().from_source(other.tag);
                    got.audio_frames > 5 && got.video_frames > 5 && got.keyframes > 0
                },
            )
            .await;
        }
        assert_eq!(me.peer.stats().from_source(me.tag).audio_frames, 0);
    }
    until("every participant connected", WAIT, async || {
        let list = participants(&server, &room).await;
        list.len() == 3
            && list
                .iter()
                .all(|p| p["state"] == "connected" && p["connected_at"].as_i64().is_some())
    })
    .await;

    // Each client was told which participant each receive slot carries.
    let mut alice = members.remove(0);
    let mut tracks = HashMap::new();
    until("media.track names both others", WAIT, async || {
        drain_tracks(&mut alice.client, &mut tracks).await;
        let named: Vec<&Value> = tracks.values().filter(|v| !v.is_null()).collect();
        members.iter().all(|m| {
            named
                .iter()
                .filter(|v| v.as_str() == Some(m.pid.as_str()))
                .count()
                == 2
        })
    })
    .await;
    assert!(
        !tracks
            .values()
            .any(|v| v == &Value::String(alice.pid.clone()))
    );

    let (peers, groups, _) = sfu_peers(&server).await;
    assert_eq!((peers, groups), (3, 1));
    alice.client.exit(&room).await.expect("exit");
    until("the exited participant's peer is freed", WAIT, async || {
        sfu_peers(&server).await.0 == 2
    })
    .await;
    alice.peer.stop().await;
    for m in &members {
        m.client.exit(&room).await.expect("exit");
    }
    until("no peers, groups or demux entries left", WAIT, async || {
        sfu_peers(&server).await == (0, 0, 0)
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn turning_video_off_stops_its_flow_and_on_resumes_it() {
    let server = TestServer::start().await;
    let room = common::id_of(&server.create_room("small_room_for_video").await);
    let alice = join(&server, &room, "alice", 1, true).await;
    let bob = join(&server, &room, "bob", 2, true).await;
    until("bob's video reaches alice", WAIT, async || {
        alice.peer.stats().from_source(2).video_frames > 10
    })
    .await;

    let paused = common::video_off_pauses_video(&bob.client, &room, &alice.peer, 2).await;

    bob.client
        .set_media(&room, None, Some(true))
        .await
        .expect("video on");
    until("bob's video resumes from a keyframe", WAIT, async || {
        let now = alice.peer.stats().from_source(2);
        now.video_frames > paused.video_frames + 5 && now.keyframes > paused.keyframes
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn audio_room_forwards_only_active_speakers_and_refuses_video() {
    let server = TestServer::start().await;
    let room = common::id_of(&server.create_room("large_room_for_audio_only").await);

    let mut listener = server.device("listener").await;
    listener.enter(&room, false, false).await.expect("enter");
    let video = join_media(&listener, &room, peer_config(99, 3, true)).await;
    let err = video.err().expect("a video offer is refused");
    assert_eq!(err.code(), Some(400100), "{err}");
    assert_eq!(
        sfu_peers(&server).await.0,
        0,
        "a refused offer adds nothing"
    );

    let mut config = peer_config(99, 3, false);
    config.send_audio = false;
    let (ears, _) = join_media(&listener, &room, config).await.expect("listen");

    let mut speakers = Vec::new();
    for (i, level) in [-10i8, -20, -30, -60, -70].into_iter().enumerate() {
        let tag = i as u32 + 1;
        let client = server.device(&format!("speaker{tag}")).await;
        client.enter(&room, true, false).await.expect("enter");
        let mut config = peer_config(tag, 3, false);
        config.audio_level = level;
        let (peer, pid) = join_media(&client, &room, config).await.expect("offer");
        speakers.push((client, peer, pid));
    }
    until("the three loudest reach the listener", WAIT, async || {
        let stats = ears.stats();
        (1..=3).all(|t| stats.from_source(t).audio_frames > 50)
    })
    .await;
    let quiet = |s: &opencalls_client::media::PeerStats| {
        s.from_source(4).audio_frames + s.from_source(5).audio_frames
    };
    let before = ears.stats();
    until("more audio from the loudest", WAIT, async || {
        ears.stats().from_source(1).audio_frames > before.from_source(1).audio_frames + 50
    })
    .await;
    assert!(
        quiet(&ears.stats()) <= quiet(&before) + 3,
        "quiet speakers are forwarded"
    );

    let loudest: Vec<Value> = speakers[..3]
        .iter()
        .map(|s| Value::String(s.2.clone()))
        .collect();
    let event = listener
        .wait_for(WAIT, |m| {
            matches!(m, Incoming::Event { name, data, .. }
            if name == "media.active_speakers"
                && data["participant_ids"].as_array().is_some_and(|ids| {
                    ids.len() == 3 && loudest.iter().all(|l| ids.contains(l))
                }))
        })
        .await;
    assert!(
        event.is_some(),
        "media.active_speakers names the loudest three"
    );
    server.stop().await;
}

#[tokio::test]
async fn deletion_and_dropped_sockets_free_the_media() {
    let server = TestServer::start_with(|c| c.reconnect_grace_ms = 200).await;
    let room = common::id_of(&server.create_room("small_room_for_video").await);
    let alice = join(&server, &room, "alice", 1, true).await;
    let bob = join(&server, &room, "bob", 2, true).await;
    until("both peers up", WAIT, async || {
        sfu_peers(&server).await.0 == 2
    })
    .await;

    // Bob's socket drops: past the grace period his participant exits and his peer goes.
    bob.client.kill();
    until(
        "bob's peer freed after the grace period",
        WAIT,
        async || sfu_peers(&server).await.0 == 1,
    )
    .await;
    assert_eq!(participants(&server, &room).await.len(), 1);

    let (status, body) = server.delete(&format!("/v1/rooms/{room}"), None).await;
    assert_eq!(status, 200, "{body}");
    until("deletion frees every peer and group", WAIT, async || {
        sfu_peers(&server).await == (0, 0, 0)
    })
    .await;
    alice.peer.stop().await;
    bob.peer.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn offers_need_a_seat_and_valid_sdp() {
    let server = TestServer::start().await;
    let room = common::id_of(&server.create_room("small_room_for_video").await);
    let client = server.device("alice").await;
    let offer = |sdp: &str| serde_json::json!({ "room_id": room, "sdp": sdp });
    let err = client
        .request("media.offer", offer("v=0"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(400200), "not entered: {err}");
    client.enter(&room, true, true).await.expect("enter");
    let err = client
        .request("media.offer", offer("garbage"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(400100), "{err}");
    let err = client
        .request("media.offer", serde_json::json!({ "room_id": room }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(400111), "{err}");
    assert_eq!(sfu_peers(&server).await, (0, 0, 0));
    server.stop().await;
}

#[tokio::test]
async fn offers_may_exceed_the_message_limit_and_a_new_offer_replaces_the_old() {
    let server = TestServer::start_with(|c| c.ws_max_message_bytes = 1024).await;
    let room = common::id_of(&server.create_room("small_room_for_video").await);
    let alice = join(&server, &room, "alice", 1, true).await;
    let bob = join(&server, &room, "bob", 2, true).await;
    until("bob hears alice", WAIT, async || {
        bob.peer.stats().from_source(1).audio_frames > 5
    })
    .await;

    // Other requests keep the message limit.
    let padding = "x".repeat(2000);
    let err = alice
        .client
        .request("ping", serde_json::json!({ "padding": padding }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(400100), "{err}");

    // A refused re-offer changes nothing: her working transport keeps carrying her media.
    let err = alice
        .client
        .request(
            "media.offer",
            serde_json::json!({ "room_id": room, "sdp": "garbage" }),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(400100), "{err}");
    assert_eq!(sfu_peers(&server).await.0, 2);
    let before = bob.peer.stats().from_source(1).audio_frames;
    until(
        "bob still hears alice after the refused re-offer",
        WAIT,
        async || bob.peer.stats().from_source(1).audio_frames > before + 5,
    )
    .await;

    // Alice offers again (a 5+5-slot offer is well over 1 KiB): her old transport goes, the
    // new one carries her media, and the SFU holds one peer for her.
    let (again, _) = join_media(&alice.client, &room, peer_config(3, 5, true))
        .await
        .expect("second offer");
    until("bob receives alice's new transport", WAIT, async || {
        bob.peer.stats().from_source(3).video_frames > 5
    })
    .await;
    assert_eq!(sfu_peers(&server).await.0, 2);
    again.stop().await;
    alice.peer.stop().await;
    server.stop().await;
}

#[tokio::test]
async fn a_lost_transport_keeps_the_participant_and_a_new_offer_recovers() {
    let server = TestServer::start_with(|c| c.media_transport_timeout_ms = 1000).await;
    let room = common::id_of(&server.create_room("small_room_for_video").await);
    let mut alice = join(&server, &room, "alice", 1, true).await;
    let bob = join(&server, &room, "bob", 2, true).await;
    until("bob sees alice", WAIT, async || {
        bob.peer.stats().from_source(1).video_frames > 5
    })
    .await;

    alice.peer.stop().await; // vanishes without a DTLS close: looks like a lost network
    let what = "alice is told her media transport was lost";
    common::told_transport_lost(&mut alice.client, WAIT, what).await;
    let (status, metrics) = server.get("/metrics").await;
    assert_eq!(status, 200);
    let metrics = metrics.as_str().unwrap_or_default();
    assert!(
        metrics.contains(r#"opencalls_media_peers_disconnected_total{reason="transport_lost"} 1"#),
        "{metrics}"
    );
    assert_eq!(sfu_peers(&server).await.0, 1);
    let list = participants(&server, &room).await;
    assert_eq!(list.len(), 2, "alice keeps her seat: {list:?}");

    let (again, _) = join_media(&alice.client, &room, peer_config(3, 5, true))
        .await
        .expect("renegotiate");
    until("alice's media flows again", WAIT, async || {
        bob.peer.stats().from_source(3).video_frames > 5
            && again.stats().from_source(2).audio_frames > 5
    })
    .await;
    server.stop().await;
}
