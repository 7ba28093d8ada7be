//! The client protocol for live events, through real WebSockets: chat (broadcast, bounds,
//! rate limit) and presence: disconnects with the grace period and resumption, revoked
//! sessions, and a restart exiting what a previous run left present.

use crate::common;
use crate::live_common;
use crate::signal_live_common;

use common::TestServer;
use live_common::{Ready, act, create, fetch, id};
use opencalls_client::{Client, Incoming};
use opencalls_testkit::poll;
use serde_json::{Value, json};
use signal_live_common::{QUIET, WAIT, code, expect_events, wait_until};
use std::time::Duration;

#[tokio::test]
async fn chat_reaches_everyone_else_within_bounds_and_rate() {
    let server = TestServer::start().await;
    let id = id(&create(&server, &["host"]).await);
    let mut host = server.device("host").await;
    host.live_enter(&id, "host", true, true).await.unwrap();
    host.live_set_ready(&id).await.unwrap();
    expect_events(&mut host, &id, &["live.ready"]).await;
    let mut talker = server.device("talker").await;
    let mut listener = server.device("listener").await;
    for client in [&talker, &listener] {
        client
            .live_enter(&id, "participant", false, false)
            .await
            .unwrap();
    }
    expect_events(&mut host, &id, &["live.participant_entered"; 2]).await;

    let sent = talker.live_chat(&id, "hello, world").await.unwrap();
    assert_eq!(sent["message"]["message"], "hello, world");
    assert_eq!(sent["message"]["user"]["user_id"], "talker");
    assert_eq!(sent["message"]["role"], "participant");
    for client in [&mut host, &mut listener] {
        let seen = expect_events(client, &id, &["live.chat_message"]).await;
        assert_eq!(seen[0]["message"], sent["message"]);
    }
    let reply = host.live_chat(&id, "welcome").await.unwrap();
    assert_eq!(reply["message"]["role"], "host");
    for client in [&mut talker, &mut listener] {
        let seen = expect_events(client, &id, &["live.chat_message"]).await;
        assert_eq!(seen[0]["message"]["message"], "welcome");
    }

    // Bounds: empty, blank, too long, missing, unknown event, not entered.
    let longest = "ü".repeat(1_000);
    talker
        .live_chat(&id, &longest)
        .await
        .expect("1,000 characters are fine");
    let refused = [
        (talker.live_chat(&id, "").await, 400100),
        (talker.live_chat(&id, "   ").await, 400100),
        (talker.live_chat(&id, &format!("{longest}!")).await, 400100),
        (
            talker
                .request("live.chat", json!({"live_event_id": id}))
                .await,
            400111,
        ),
        (talker.live_chat("no-such-event", "hi").await, 400200),
        (
            server.device("stranger").await.live_chat(&id, "hi").await,
            2800103,
        ),
    ];
    for (result, expected) in refused {
        assert_eq!(code(result), Some(expected));
    }
    for client in [&mut host, &mut listener] {
        let seen = expect_events(client, &id, &["live.chat_message"]).await;
        assert_eq!(seen[0]["message"]["message"], longest.as_str());
        assert_eq!(
            client.next_incoming(QUIET).await,
            None,
            "refused messages went nowhere"
        );
    }

    // Rate limit: a burst of 10 per user, then 429100. A fresh user, so the bucket is
    // full; the few milliseconds the burst takes may refill a token, hardly more.
    let spammer = server.device("spammer").await;
    spammer
        .live_enter(&id, "participant", false, false)
        .await
        .unwrap();
    expect_events(&mut host, &id, &["live.participant_entered"]).await;
    let mut accepted = 0;
    let limited = loop {
        match spammer.live_chat(&id, "spam").await {
            Ok(_) => accepted += 1,
            Err(err) => break err.code(),
        }
        assert!(accepted <= 12, "no rate limit");
    };
    assert_eq!(limited, Some(429100));
    assert!((10..=11).contains(&accepted), "{accepted} accepted");
    spammer.ping().await.expect("the connection stays usable");
    // The limit is per user: others still talk.
    listener.live_chat(&id, "calm down").await.unwrap();
    // Five tokens a second come back.
    poll::until("the limit lifts", WAIT, async || {
        spammer.live_chat(&id, "again").await.is_ok()
    })
    .await;
    let mut names = Vec::new();
    while let Some(Incoming::Event { name, data, .. }) = host.next_incoming(QUIET).await {
        names.push((
            name,
            data["message"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        ));
    }
    assert_eq!(
        names.len(),
        accepted + 2,
        "the spam, one calm, one again: {names:?}"
    );
    assert_eq!(names.last().unwrap().1, "again");
}

#[tokio::test]
async fn a_dropped_socket_exits_after_the_grace_period_and_a_quick_reconnect_resumes() {
    let server = TestServer::start_with(|c| c.reconnect_grace_ms = 400).await;
    let id = id(&create(&server, &["host", "backup"]).await);
    let mut host = server.device("host").await;
    host.live_enter(&id, "host", true, true).await.unwrap();
    host.live_set_ready(&id).await.unwrap();
    expect_events(&mut host, &id, &["live.ready"]).await;

    let session = server.session_for("flaky").await;
    let first = Client::connect(&server.ws_base(), &session, None)
        .await
        .unwrap();
    let client_id = first.client_id();
    let pid = first
        .live_enter(&id, "participant", true, true)
        .await
        .unwrap()["participant"]["participant_id"]
        .clone();
    expect_events(&mut host, &id, &["live.participant_entered"]).await;
    first.kill();
    let mut second = Client::connect(&server.ws_base(), &session, Some(&client_id))
        .await
        .unwrap();
    let resumed = &second.hello["resumed_live"];
    assert_eq!(
        resumed[0]["live_event"]["live_event_id"],
        id.as_str(),
        "{resumed}"
    );
    assert_eq!(
        (
            resumed[0]["role"].clone(),
            resumed[0]["participant_id"].clone()
        ),
        (json!("participant"), pid)
    );
    // Well past the grace period, the participant is still in.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(fetch(&server, &id).await["participant_count"], 1);
    second
        .live_chat(&id, "back")
        .await
        .expect("the seat was resumed");
    expect_events(&mut host, &id, &["live.chat_message"]).await;
    assert_eq!(second.next_incoming(QUIET).await, None);

    // Gone for good: exited once the grace period is over; the host sees it.
    second.kill();
    wait_until(&server, &id, "the participant's exit", |e| {
        e["participant_count"] == 0
    })
    .await;
    let seen = expect_events(&mut host, &id, &["live.participant_exited"]).await;
    assert_eq!(seen[0]["participant"]["client_id"], client_id.as_str());

    // A host who drops is exited too, and the audience is told.
    let mut watcher = server.device("watcher").await;
    watcher
        .live_enter(&id, "participant", false, false)
        .await
        .unwrap();
    host.kill();
    wait_until(&server, &id, "the host's exit", |e| e["host"].is_null()).await;
    let seen = expect_events(&mut watcher, &id, &["live.host_exited"]).await;
    assert_eq!(seen[0]["host"]["state"], "exited");
    // Another listed user may host now.
    let backup = server.device("backup").await;
    backup.live_enter(&id, "host", true, true).await.unwrap();
    expect_events(&mut watcher, &id, &["live.host_entered"]).await;
}

#[tokio::test]
async fn a_restart_exits_live_presence_left_over_from_the_previous_run() {
    let server = TestServer::start().await;
    let id = id(&create(&server, &["crashed-host", "next-host"]).await);
    let live_id = common::live_event_id(&id);
    assert_eq!(act(&server, &id, Ready).await.0, 200);
    // As if the process had crashed: presence with no connection to clean it up.
    let live = &server.services.live_events;
    live.host_enter(&live_id, live_common::host("crashed-host"))
        .await
        .unwrap();
    for viewer in ["v1", "v2"] {
        live.participant_enter(&live_id, live_common::viewer(viewer))
            .await
            .unwrap();
    }
    let before = fetch(&server, &id).await;
    assert_eq!(before["participant_count"], 2);
    assert!(!before["host"].is_null());

    let dir = server.stop().await;
    let server = TestServer::start_in(dir).await;
    let after = fetch(&server, &id).await;
    assert_eq!(after["participant_count"], 0);
    assert_eq!(after["peak_participant_count"], 2);
    assert_eq!(after["host"], Value::Null);
    assert_eq!(after["state"], "ready", "the event itself goes on");
    let (_, listing) = server
        .get(&format!("/v1/live-events/{id}/participants"))
        .await;
    assert!(
        listing["participants"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["state"] == "exited" && p["exited_at"].as_i64().is_some())
    );
    // The seat is free: another listed user can host after the restart.
    let host = server.device("next-host").await;
    host.live_enter(&id, "host", true, true).await.unwrap();
}

#[tokio::test]
async fn a_revoked_session_exits_its_live_seats_at_once() {
    // A grace period far longer than the test: only revocation can exit these seats.
    let server = TestServer::start_with(|c| c.reconnect_grace_ms = 600_000).await;
    let id = id(&create(&server, &["star"]).await);
    let star = server.device("star").await;
    star.live_enter(&id, "host", true, true).await.unwrap();
    star.live_set_ready(&id).await.unwrap();
    let mut fan = server.device("fan").await;
    fan.live_enter(&id, "participant", false, false)
        .await
        .unwrap();

    let (status, body) = server.delete("/v1/users/star/token", None).await;
    assert_eq!(status, 200, "{body}");
    wait_until(&server, &id, "the host's exit", |e| e["host"].is_null()).await;
    let seen = expect_events(&mut fan, &id, &["live.host_exited"]).await;
    assert_eq!(seen[0]["host"]["user"]["user_id"], "star");

    let (status, body) = server.delete("/v1/users/fan/token", None).await;
    assert_eq!(status, 200, "{body}");
    wait_until(&server, &id, "the participant's exit", |e| {
        e["participant_count"] == 0
    })
    .await;
    assert_eq!(fetch(&server, &id).await["cumulative_participant_count"], 1);
}
