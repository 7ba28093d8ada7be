//! Admission control and hardening of the client protocol (issue 15): fan-out bursts that
//! never reach bystanders, per-user and per-connection limits, slow readers, session expiry.

use crate::common::{self, TestServer};
use crate::live_common::{self, End, Ready, Start, act, create, viewer};
use futures_util::{SinkExt, StreamExt};
use opencalls_client::{Client, ClientError, Incoming, open_session};
use opencalls_testkit::poll::{self, WAIT};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// A new session of an existing user.
async fn session(server: &TestServer, user_id: &str, access_token: &str) -> String {
    open_session(&server.base, user_id, access_token)
        .await
        .expect("session")
        .session_token
}

fn room_id(room: &Value) -> String {
    room["room_id"].as_str().unwrap().to_owned()
}

/// Whether the room currently lists a participant with this id.
async fn present(server: &TestServer, room: &str, participant_id: &str) -> bool {
    let (_, body) = server.get(&format!("/v1/rooms/{room}")).await;
    body["room"]["current_participants"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["participant_id"] == participant_id)
}

#[tokio::test]
async fn ending_a_live_event_with_thousands_of_viewers_never_resyncs_a_bystander() {
    let server = TestServer::start().await;
    let room = room_id(&server.create_room("small_room_for_video").await);
    let mut bystander = server.device("bystander").await;
    bystander.enter(&room, true, false).await.unwrap();

    let id = live_common::id(&create(&server, &["h"]).await);
    let live_id = common::live_event_id(&id);
    let live = &server.services.live_events;
    act(&server, &id, Ready).await;
    act(&server, &id, Start).await;
    // More viewers than the event bus buffers: their exits come out of the end at once.
    for chunk in 0..10 {
        let enters =
            (0..500).map(|i| live.participant_enter(&live_id, viewer(&format!("v{chunk}-{i}"))));
        for entered in futures_util::future::join_all(enters).await {
            entered.expect("viewer entered");
        }
    }
    act(&server, &id, End).await;
    // An event of the bystander's own room, published after the burst.
    server
        .api
        .update_custom_items(
            &common::room_id(&room),
            &[("after".into(), "burst".into())].into(),
        )
        .await
        .unwrap();
    let seen = bystander
        .wait_for(WAIT, |m| {
            matches!(m, Incoming::Goodbye { .. } | Incoming::Closed { .. })
                || matches!(m, Incoming::Event { name, .. } if name == "room.custom_items_updated")
        })
        .await;
    assert!(
        matches!(&seen, Some(Incoming::Event { .. })),
        "the bystander got {seen:?}"
    );
    bystander
        .ping()
        .await
        .expect("the bystander is still connected");
}

#[tokio::test]
async fn a_user_gets_a_bounded_number_of_devices() {
    let server = TestServer::start_with(|c| c.max_devices_per_user = 2).await;
    let user = server.api.create_user_with_token("many").await.unwrap();
    let token = session(&server, "many", &user.access_token).await;
    let first = Client::connect(&server.ws_base(), &token, Some("d1"))
        .await
        .unwrap();
    let _second = Client::connect(&server.ws_base(), &token, Some("d2"))
        .await
        .unwrap();
    let third = Client::connect(&server.ws_base(), &token, Some("d3")).await;
    match third {
        Err(ClientError::Http { status, body }) => {
            assert_eq!(status, 429, "{body}");
            assert_eq!(body["code"], 429100, "{body}");
        }
        other => panic!("a third device was let in: {:?}", other.map(|c| c.hello)),
    }
    // An existing device may always reconnect (it replaces its old connection).
    let again = Client::connect(&server.ws_base(), &token, Some("d1"))
        .await
        .unwrap();
    again.ping().await.unwrap();
    drop(first);
}

#[tokio::test]
async fn state_changing_requests_are_rate_limited_per_connection() {
    let server = TestServer::start_with(|c| c.ws_requests_per_sec = 1).await;
    let room = room_id(&server.create_room("small_room_for_video").await);
    let device = server.device("busy").await;
    device.enter(&room, true, false).await.unwrap();
    device.set_media(&room, Some(false), None).await.unwrap();
    // The burst (2) is spent: the next change is refused and changes nothing.
    let refused = device.set_media(&room, Some(true), None).await.unwrap_err();
    assert_eq!(refused.code(), Some(429100), "{refused}");
    let (_, body) = server.get(&format!("/v1/rooms/{room}")).await;
    assert_eq!(
        body["room"]["current_participants"][0]["is_audio_on"],
        false
    );
    device.ping().await.expect("the connection stays usable");
}

#[tokio::test]
async fn a_user_holds_a_bounded_number_of_live_seats() {
    let server = TestServer::start_with(|c| c.max_live_seats_per_user = 1).await;
    let a = live_common::id(&create(&server, &["h"]).await);
    let b = live_common::id(&create(&server, &["h"]).await);
    for id in [&a, &b] {
        act(&server, id, Ready).await;
    }
    let user = server.api.create_user_with_token("fan").await.unwrap();
    let token = session(&server, "fan", &user.access_token).await;
    let phone = Client::connect(&server.ws_base(), &token, None)
        .await
        .unwrap();
    let laptop = Client::connect(&server.ws_base(), &token, None)
        .await
        .unwrap();
    phone
        .live_enter(&a, "participant", false, false)
        .await
        .unwrap();
    let refused = laptop
        .live_enter(&b, "participant", false, false)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some(429100), "{refused}");
    let (_, body) = server.get(&format!("/v1/live-events/{b}")).await;
    assert_eq!(body["live_event"]["participant_count"], 0, "{body}");
    phone.live_exit(&a).await.unwrap();
    laptop
        .live_enter(&b, "participant", false, false)
        .await
        .expect("a freed seat can be used again");
}

#[tokio::test]
async fn opening_sessions_is_rate_limited_per_user_and_per_address() {
    let server = TestServer::start_with(|c| {
        c.session_opens_per_min_per_user = 2;
        c.session_opens_per_min_per_ip = 4;
    })
    .await;
    let user = server.api.create_user_with_token("u1").await.unwrap();
    for _ in 0..2 {
        open_session(&server.base, "u1", &user.access_token)
            .await
            .unwrap();
    }
    let refused = open_session(&server.base, "u1", &user.access_token)
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, ClientError::Http { status: 429, body } if body["code"] == 429100),
        "{refused}"
    );
    // Three attempts spent three of the address's four: another user gets one more.
    let other = server.api.create_user_with_token("u2").await.unwrap();
    open_session(&server.base, "u2", &other.access_token)
        .await
        .unwrap();
    let refused = open_session(&server.base, "u2", &other.access_token)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some(429100), "{refused}");
}

#[tokio::test]
async fn a_reader_that_stops_reading_is_cut_and_its_seat_exits() {
    // Known gap: the test fills the socket buffers with room updates, and on PostgreSQL
    // (one row-locked transaction per update, no group batching) a loaded 2-core machine
    // does not produce enough of them in 30 s.
    if opencalls_testkit::backend::skip_unless_sqlite(
        "a_reader_that_stops_reading_is_cut_and_its_seat_exits",
        "needs the update rate of SQLite's group commit to fill the socket buffers",
    ) {
        return;
    }
    let server = TestServer::start_with(|c| {
        c.ws_send_timeout_ms = 300;
        c.reconnect_grace_ms = 0;
    })
    .await;
    let room = room_id(&server.create_room("small_room_for_video").await);
    let token = server.session_for("stuck").await;
    // A tiny receive window, so the server's writes block once the client stops reading.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket
        .connect(server.base.trim_start_matches("http://").parse().unwrap())
        .await
        .unwrap();
    let url = format!("{}/v1/ws?session_token={token}", server.ws_base());
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
    ws.next().await.unwrap().unwrap(); // hello
    let enter = json!({"id": "1", "type": "room.enter", "room_id": room});
    ws.send(Message::Text(enter.to_string().into()))
        .await
        .unwrap();
    let entered: Value = loop {
        if let Message::Text(text) = ws.next().await.unwrap().unwrap() {
            break serde_json::from_str(text.as_str()).unwrap();
        }
    };
    let pid = entered["result"]["participant"]["participant_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Now the client reads nothing while its room changes a lot (many updates in flight,
    // so the server's socket buffer fills long before its per-connection queue would).
    let big = "x".repeat(128);
    let items: BTreeMap<String, String> = (0..10).map(|i| (format!("k{i}"), big.clone())).collect();
    let room_id = common::room_id(&room);
    poll::until(
        "the stuck reader's seat exits",
        Duration::from_secs(30),
        async || {
            let updates = (0..16).map(|_| server.api.update_custom_items(&room_id, &items));
            for updated in futures_util::future::join_all(updates).await {
                updated.unwrap();
            }
            !present(&server, &room, &pid).await
        },
    )
    .await;
    drop(ws);
}

#[tokio::test]
async fn an_expired_session_is_closed_and_a_fresh_one_resumes_the_seats() {
    let server = TestServer::start_with(|c| {
        c.heartbeat_interval_ms = 50;
        c.session_ttl_secs = 60;
    })
    .await;
    let room = room_id(&server.create_room("small_room_for_video").await);
    let user = server.api.create_user_with_token("late").await.unwrap();
    let token = session(&server, "late", &user.access_token).await;
    let mut device = Client::connect(&server.ws_base(), &token, Some("tab"))
        .await
        .unwrap();
    let entered = device.enter(&room, true, false).await.unwrap();
    let pid = entered["participant"]["participant_id"]
        .as_str()
        .unwrap()
        .to_owned();
    server.clock.shift(61_000);
    let goodbye = device
        .wait_for(WAIT, |m| matches!(m, Incoming::Goodbye { .. }))
        .await;
    assert_eq!(
        goodbye,
        Some(Incoming::Goodbye {
            reason: "session_expired".into()
        })
    );
    // The refresh: a new session, the same client_id, within the grace period.
    let fresh = session(&server, "late", &user.access_token).await;
    let again = Client::connect(&server.ws_base(), &fresh, Some("tab"))
        .await
        .unwrap();
    assert_eq!(again.hello["resumed"][0]["participant_id"], pid.as_str());
    assert!(present(&server, &room, &pid).await);
}

#[tokio::test]
async fn a_user_carries_media_in_a_bounded_number_of_seats() {
    use opencalls_client::media::{PeerConfig, join_media};
    let server = TestServer::start_with(|c| c.max_media_peers_per_user = 1).await;
    let a = room_id(&server.create_room("small_room_for_video").await);
    let b = room_id(&server.create_room("small_room_for_video").await);
    let device = server.device("talker").await;
    device.enter(&a, true, false).await.unwrap();
    device.enter(&b, true, false).await.unwrap();
    let (peer, _) = join_media(&device, &a, PeerConfig::default())
        .await
        .expect("the first media peer");
    let refused = join_media(&device, &b, PeerConfig::default())
        .await
        .err()
        .expect("a second media peer is refused");
    assert_eq!(refused.code(), Some(429100), "{refused}");
    // Re-offering in the seat that already carries media is not a new peer.
    let (again, _) = join_media(&device, &a, PeerConfig::default())
        .await
        .expect("a re-offer in the same seat");
    device.ping().await.expect("the connection stays usable");
    peer.stop().await;
    again.stop().await;
    device.exit(&a).await.unwrap();
    let (_, _) = join_media(&device, &b, PeerConfig::default())
        .await
        .expect("a seat freed by an exit frees its media slot");
}

#[tokio::test]
async fn media_offers_are_rate_limited_per_connection() {
    let server = TestServer::start_with(|c| c.media_offers_per_min = 1).await;
    let room = room_id(&server.create_room("small_room_for_video").await);
    let device = server.device("offerer").await;
    device.enter(&room, true, false).await.unwrap();
    let offer = json!({"room_id": room, "sdp": "v=0"});
    let first = device
        .request("media.offer", offer.clone())
        .await
        .unwrap_err();
    assert_ne!(
        first.code(),
        Some(429100),
        "the first offer is judged on its merits"
    );
    let second = device.request("media.offer", offer).await.unwrap_err();
    assert_eq!(second.code(), Some(429100), "{second}");
    device.ping().await.expect("the connection stays usable");
}

/// A revocation whose announcement is lost, because a burst overflowed the revocation
/// channel, still ends that session: the lagged listener makes every connection recheck
/// its token against the store. Sessions still valid stay connected.
#[tokio::test]
async fn a_revocation_lost_in_a_burst_still_ends_the_session() {
    if opencalls_testkit::backend::skip_unless_sqlite(
        "a_revocation_lost_in_a_burst_still_ends_the_session",
        "forgets the tokens by writing to the server's SQLite file",
    ) {
        return;
    }
    let server = TestServer::start().await;
    let victim = server.api.create_user_with_token("victim").await.unwrap();
    let token = session(&server, "victim", &victim.access_token).await;
    let mut revoked = Client::connect(&server.ws_base(), &token, None)
        .await
        .unwrap();
    let bystander = server.device("bystander").await;
    // The store forgets the victim's tokens, but no announcement names the victim...
    let db = rusqlite::Connection::open(server.dir.path().join("opencalls.db")).unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    db.execute("DELETE FROM user_tokens WHERE user_id = 'victim'", [])
        .unwrap();
    // ...and more announcements than the channel holds arrive at once (this test's runtime
    // has one thread, so the hub's listener cannot drain them meanwhile): it lags.
    let nobody = opencalls_domain::UserId::parse("nobody").unwrap();
    for _ in 0..3000 {
        server.services.sessions.announce_revoked(nobody.clone());
    }
    let goodbye = revoked
        .wait_for(WAIT, |m| matches!(m, Incoming::Goodbye { .. }))
        .await;
    assert_eq!(
        goodbye,
        Some(Incoming::Goodbye {
            reason: "session_revoked".into()
        })
    );
    bystander.ping().await.unwrap();
}

/// Sockets opened while their session is being revoked never outlive the revocation: one
/// authenticated just before the revocation but attached to its device just after it found
/// no device to close when the revocation was announced, so the upgrade checks the session
/// again once attached. Every racing socket is either refused or told `session_revoked`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_socket_racing_a_revocation_never_outlives_it() {
    let server = TestServer::start().await;
    let (mut refused, mut closed) = (0, 0);
    for round in 0..6 {
        let user = format!("racer{round}");
        let created = server.api.create_user_with_token(&user).await.unwrap();
        let token = session(&server, &user, &created.access_token).await;
        let connects: Vec<_> = (0..6)
            .map(|i| {
                let (base, token) = (server.ws_base(), token.clone());
                tokio::spawn(async move {
                    Client::connect(&base, &token, Some(&format!("device-{i}"))).await
                })
            })
            .collect();
        let (status, body) = server
            .delete(&format!("/v1/users/{user}/token"), None)
            .await;
        assert_eq!(status, 200, "{body}");
        for connect in connects {
            match connect.await.unwrap() {
                Err(err) => {
                    assert_eq!(err.code().map(|c| c / 1000), Some(401), "{err}");
                    refused += 1;
                }
                Ok(mut client) => {
                    let goodbye = client
                        .wait_for(WAIT, |m| matches!(m, Incoming::Goodbye { .. }))
                        .await;
                    assert_eq!(
                        goodbye,
                        Some(Incoming::Goodbye {
                            reason: "session_revoked".into()
                        }),
                        "a socket of round {round} outlived its session's revocation"
                    );
                    closed += 1;
                }
            }
        }
    }
    eprintln!("racing sockets: {refused} refused, {closed} closed with session_revoked");
}
