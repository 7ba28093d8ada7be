//! The client protocol for rooms, through real WebSockets: events, capacity, disconnects,
//! resumption, deletion, bad input and restart.

use crate::common;

use common::TestServer;
use futures_util::{SinkExt, StreamExt};
use opencalls_client::{Client, Incoming};
use opencalls_domain::ParticipantId;
use opencalls_testkit::poll::{self, WAIT};
use serde_json::{Value, json};
use std::time::Duration;

/// The next event (skipping nothing else: any other pushed message fails the test).
async fn next_event(client: &mut Client) -> (String, Value) {
    match client.next_incoming(WAIT).await {
        Some(Incoming::Event { name, data, .. }) => (name, data),
        other => panic!("expected an event, got {other:?}"),
    }
}

async fn current(server: &TestServer, room_id: &str) -> Vec<Value> {
    let (status, body) = server.get(&format!("/v1/rooms/{room_id}")).await;
    assert_eq!(status, 200, "{body}");
    body["room"]["current_participants"]
        .as_array()
        .unwrap()
        .clone()
}

/// Polls the Platform API until the room holds `n` participants.
async fn wait_for_count(server: &TestServer, room_id: &str, n: usize) {
    poll::until(
        &format!("the room holds {n} participants"),
        WAIT,
        async || current(server, room_id).await.len() == n,
    )
    .await;
}

fn room_id(room: &Value) -> String {
    room["room_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn participants_see_each_others_changes_in_order() {
    let server = TestServer::start().await;
    let room = room_id(&server.create_room("small_room_for_video").await);
    let mut alice = server.device("alice").await;
    let mut bob = server.device("bob").await;

    let entered = alice.enter(&room, true, true).await.unwrap();
    assert_eq!(entered["participant"]["state"], "entered");
    assert_eq!(
        entered["room"]["current_participants"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let entered = bob.enter(&room, false, false).await.unwrap();
    let bob_pid = entered["participant"]["participant_id"].clone();
    assert_eq!(
        entered["room"]["current_participants"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    bob.set_media(&room, Some(true), None).await.unwrap();
    let media = bob.set_media(&room, None, Some(true)).await.unwrap();
    assert_eq!(media["participant"]["is_video_on"], true);
    bob.exit(&room).await.unwrap();

    let expected = [
        ("room.participant_entered", false, false),
        ("room.participant_media_changed", true, false),
        ("room.participant_media_changed", true, true),
        ("room.participant_exited", true, true),
    ];
    for (name, audio, video) in expected {
        let (got, data) = next_event(&mut alice).await;
        assert_eq!(got, name);
        let p = &data["participant"];
        assert_eq!(
            (
                p["participant_id"].clone(),
                p["is_audio_on"].clone(),
                p["is_video_on"].clone()
            ),
            (bob_pid.clone(), json!(audio), json!(video)),
            "{name}"
        );
    }
    // Bob caused all of it, so Bob heard none of it.
    assert_eq!(bob.next_incoming(Duration::from_millis(200)).await, None);

    let left = current(&server, &room).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["user"]["user_id"], "alice");
    let (_, listing) = server.get(&format!("/v1/rooms/{room}/participants")).await;
    let bob_record = &listing["participants"][0];
    assert_eq!(bob_record["participant_id"], bob_pid);
    assert_eq!(bob_record["state"], "exited");
    assert!(bob_record["exited_at"].as_i64().is_some());
    assert_eq!(bob_record["duration"], 0);

    // Custom items and the media layer's "connected" reach the room too.
    server
        .put(
            &format!("/v1/rooms/{room}/custom_items"),
            json!({"custom_items": {"k": "v"}}),
        )
        .await;
    let (name, data) = next_event(&mut alice).await;
    assert_eq!(
        (name.as_str(), data["updated"].clone()),
        ("room.custom_items_updated", json!(["k"]))
    );
}

#[tokio::test]
async fn one_user_on_two_devices_holds_two_participants() {
    let server = TestServer::start().await;
    let room = room_id(&server.create_room("large_room_for_audio_only").await);
    let session = server.session_for("multi").await;
    let mut phone = Client::connect(&server.ws_base(), &session, None)
        .await
        .unwrap();
    let laptop = Client::connect(&server.ws_base(), &session, None)
        .await
        .unwrap();
    assert_ne!(phone.client_id(), laptop.client_id());
    phone.enter(&room, true, false).await.unwrap();
    let err = phone.enter(&room, true, false).await.unwrap_err();
    assert_eq!(err.code(), Some(1400122));
    let err = laptop.enter(&room, true, true).await.unwrap_err();
    assert_eq!(err.code(), Some(400100), "no video in an audio-only room");
    laptop.enter(&room, true, false).await.unwrap();
    let (name, data) = next_event(&mut phone).await;
    assert_eq!(name, "room.participant_entered");
    assert_eq!(data["participant"]["client_id"], laptop.client_id());
    assert_eq!(current(&server, &room).await.len(), 2);
}

#[tokio::test]
async fn fifty_concurrent_enters_fill_exactly_six_seats() {
    let server = TestServer::start().await;
    let room = room_id(&server.create_room("small_room_for_video").await);
    let mut clients: Vec<Client> = Vec::new();
    for i in 0..50 {
        clients.push(server.device(&format!("racer-{i}")).await);
    }
    let attempts = clients.iter().map(|c| c.enter(&room, true, false));
    let results = futures_util::future::join_all(attempts).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let full = results
        .iter()
        .filter(|r| r.as_ref().err().and_then(|e| e.code()) == Some(1400120))
        .count();
    assert_eq!((ok, full), (6, 44), "{results:?}");
    assert_eq!(current(&server, &room).await.len(), 6);
    let (_, listing) = server
        .get(&format!("/v1/rooms/{room}/participants?limit=100"))
        .await;
    assert_eq!(listing["participants"].as_array().unwrap().len(), 6);
    // The refused devices hear nothing of a room they are not in.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (client, result) in clients.iter_mut().zip(&results) {
        if result.is_err() {
            assert_eq!(client.next_incoming(Duration::ZERO).await, None);
        }
    }
}

#[tokio::test]
async fn a_dropped_device_exits_after_the_grace_period_and_frees_its_seat() {
    let server = TestServer::start_with(|c| c.reconnect_grace_ms = 300).await;
    let room = room_id(&server.create_room("small_room_for_video").await);
    let mut clients = Vec::new();
    for i in 0..6 {
        let c = server.device(&format!("seat-{i}")).await;
        c.enter(&room, true, false).await.unwrap();
        clients.push(c);
    }
    let late = server.device("late").await;
    assert_eq!(
        late.enter(&room, true, false).await.unwrap_err().code(),
        Some(1400120)
    );

    let dropped = clients.pop().unwrap();
    let dropped_pid = current(&server, &room).await[5]["participant_id"].clone();
    dropped.kill();
    let watcher = &mut clients[0];
    let exited = watcher
        .wait_for(
            WAIT,
            |m| matches!(m, Incoming::Event { name, .. } if name == "room.participant_exited"),
        )
        .await
        .expect("exit after the grace period");
    let Incoming::Event { data, .. } = exited else {
        unreachable!()
    };
    assert_eq!(data["participant"]["participant_id"], dropped_pid);
    wait_for_count(&server, &room, 5).await;
    late.enter(&room, true, false)
        .await
        .expect("the seat is free again");
}

#[tokio::test]
async fn a_reconnect_within_the_grace_period_resumes_the_participant() {
    let server = TestServer::start_with(|c| c.reconnect_grace_ms = 30_000).await;
    let room = room_id(&server.create_room("small_room_for_video").await);
    let mut other = server.device("other").await;
    other.enter(&room, true, false).await.unwrap();
    let session = server.session_for("flaky").await;
    let first = Client::connect(&server.ws_base(), &session, None)
        .await
        .unwrap();
    let client_id = first.client_id();
    let pid =
        first.enter(&room, true, false).await.unwrap()["participant"]["participant_id"].clone();
    assert_eq!(next_event(&mut other).await.0, "room.participant_entered");
    first.kill();

    let mut second = Client::connect(&server.ws_base(), &session, Some(&client_id))
        .await
        .unwrap();
    let resumed = &second.hello["resumed"];
    assert_eq!(resumed[0]["participant_id"], pid);
    assert_eq!(resumed[0]["room"]["room_id"], room);
    second
        .set_media(&room, Some(false), None)
        .await
        .expect("the seat is still this device's");
    let (name, data) = next_event(&mut other).await;
    assert_eq!(name, "room.participant_media_changed", "no exit in between");
    assert_eq!(data["participant"]["participant_id"], pid);
    assert_eq!(current(&server, &room).await.len(), 2);

    // The same device connecting again replaces the older connection.
    let third = Client::connect(&server.ws_base(), &session, Some(&client_id))
        .await
        .unwrap();
    let bye = second
        .wait_for(WAIT, |m| matches!(m, Incoming::Goodbye { .. }))
        .await;
    assert_eq!(
        bye,
        Some(Incoming::Goodbye {
            reason: "replaced".into()
        })
    );
    third.exit(&room).await.unwrap();
    wait_for_count(&server, &room, 1).await;
}

#[tokio::test]
async fn deleting_a_room_kicks_everyone_with_an_event() {
    let server = TestServer::start().await;
    let room = room_id(&server.create_room("small_room_for_video").await);
    let mut clients = Vec::new();
    for i in 0..3 {
        let c = server.device(&format!("kicked-{i}")).await;
        c.enter(&room, true, false).await.unwrap();
        clients.push(c);
    }
    let (status, _) = server.delete(&format!("/v1/rooms/{room}"), None).await;
    assert_eq!(status, 200);
    for client in &mut clients {
        let deleted = client
            .wait_for(
                WAIT,
                |m| matches!(m, Incoming::Event { name, .. } if name == "room.deleted"),
            )
            .await;
        let Some(Incoming::Event { data, .. }) = deleted else {
            panic!("no room.deleted")
        };
        assert_eq!(data["room"]["state"], "deleted");
        assert_eq!(
            client.enter(&room, true, false).await.unwrap_err().code(),
            Some(1400126)
        );
        assert_eq!(client.exit(&room).await.unwrap_err().code(), Some(400200));
    }
    let (_, listing) = server.get(&format!("/v1/rooms/{room}/participants")).await;
    assert!(
        listing["participants"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["state"] == "exited")
    );
}

#[tokio::test]
async fn bad_messages_get_errors_and_break_nothing() {
    let server = TestServer::start().await;
    let room = room_id(&server.create_room("small_room_for_video").await);
    let mut bystander = server.device("bystander").await;
    bystander.enter(&room, true, false).await.unwrap();
    let mut client = server.device("sloppy").await;

    let oversized = format!(
        "{{\"id\":\"1\",\"type\":\"ping\",\"pad\":\"{}\"}}",
        "x".repeat(100_000)
    );
    let cases = [
        ("not json", 400100),
        ("[1,2]", 400100),
        ("{\"type\":\"ping\"}", 400111),
        ("{\"id\":42,\"type\":\"ping\"}", 400100),
        (oversized.as_str(), 400100),
    ];
    for (frame, code) in cases {
        client.send_raw(frame).await.unwrap();
        match client.next_incoming(WAIT).await {
            Some(Incoming::Error { code: got, message }) => {
                assert_eq!(got, code, "{message}");
                assert!(!message.is_empty());
            }
            other => panic!("{}: {other:?}", &frame[..frame.len().min(40)]),
        }
    }
    let refused = [
        (client.request("room.dance", json!({})).await, 400100),
        (client.request("room.enter", json!({})).await, 400111),
        (
            client.request("room.enter", json!({"room_id": 7})).await,
            400100,
        ),
        (client.enter("no-such-room", true, false).await, 400200),
        (client.exit(&room).await, 400200),
        (client.set_media(&room, Some(true), None).await, 400200),
    ];
    for (result, code) in refused {
        assert_eq!(result.unwrap_err().code(), Some(code));
    }
    client.ping().await.expect("still connected");
    client
        .enter(&room, true, false)
        .await
        .expect("and still useful");
    let (name, _) = next_event(&mut bystander).await;
    assert_eq!(
        name, "room.participant_entered",
        "the bystander saw only the real change"
    );
    bystander.ping().await.unwrap();
}

#[tokio::test]
async fn a_silent_socket_times_out_and_its_participant_exits() {
    let server = TestServer::start_with(|c| {
        c.heartbeat_interval_ms = 100;
        c.heartbeat_timeout_ms = 500;
        c.reconnect_grace_ms = 100;
    })
    .await;
    let room = room_id(&server.create_room("small_room_for_video").await);
    let session = server.session_for("silent").await;
    let url = format!("{}/v1/ws?session_token={session}", server.ws_base());
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let _hello = socket.next().await.unwrap().unwrap();
    let enter = json!({"id": "1", "type": "room.enter", "room_id": room}).to_string();
    socket
        .send(tokio_tungstenite::tungstenite::Message::text(enter))
        .await
        .unwrap();
    let answer = socket.next().await.unwrap().unwrap();
    assert!(
        answer.to_text().unwrap().contains("\"response\""),
        "{answer}"
    );
    assert_eq!(current(&server, &room).await.len(), 1);
    // From now on the socket never reads, so the server's pings go unanswered.
    wait_for_count(&server, &room, 0).await;
    drop(socket);

    // A client that answers pings stays, well past the timeout.
    let client = server.device("chatty").await;
    client.enter(&room, true, false).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    client.ping().await.expect("still connected");
    assert_eq!(current(&server, &room).await.len(), 1);
}

#[tokio::test]
async fn a_restart_exits_participants_left_over_from_the_previous_run() {
    let server = TestServer::start().await;
    let room = room_id(&server.create_room("small_room_for_video").await);
    // As if the process had crashed: a participant with no connection to clean it up.
    let leftover = common::enter_request("crashed", false);
    server
        .services
        .rooms
        .enter(&common::room_id(&room), leftover)
        .await
        .unwrap();
    assert_eq!(current(&server, &room).await.len(), 1);

    let dir = server.stop().await;
    let server = TestServer::start_in(dir).await;
    assert!(current(&server, &room).await.is_empty());
    let (_, listing) = server.get(&format!("/v1/rooms/{room}/participants")).await;
    assert_eq!(listing["participants"][0]["state"], "exited");
    assert!(listing["participants"][0]["exited_at"].as_i64().is_some());
    let (status, room_json) = server
        .get(&format!(
            "/v1/rooms?room_id={room}&current_participant_range_gte=1"
        ))
        .await;
    assert_eq!(status, 200);
    assert!(room_json["rooms"].as_array().unwrap().is_empty());
    // A user first seen as a participant is a user of the Platform API too.
    let (status, user) = server.get("/v1/users/crashed").await;
    assert_eq!((status, user["is_active"].clone()), (200, json!(true)));
    let (_, users) = server.get("/v1/users").await;
    assert_eq!(users["users"][0]["user_id"], "crashed");
}

#[tokio::test]
async fn the_media_layer_hook_announces_connected() {
    let server = TestServer::start().await;
    let room = room_id(&server.create_room("small_room_for_video").await);
    let mut watcher = server.device("watcher").await;
    watcher.enter(&room, true, false).await.unwrap();
    let media = server.device("media").await;
    let pid =
        media.enter(&room, true, true).await.unwrap()["participant"]["participant_id"].clone();
    assert_eq!(next_event(&mut watcher).await.0, "room.participant_entered");
    let pid = ParticipantId::parse(pid.as_str().unwrap()).unwrap();
    server
        .services
        .rooms
        .mark_connected(&common::room_id(&room), &pid)
        .await
        .unwrap();
    let (name, data) = next_event(&mut watcher).await;
    assert_eq!(name, "room.participant_connected");
    assert_eq!(data["participant"]["state"], "connected");
}
