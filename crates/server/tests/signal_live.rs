//! The client protocol for live events, through real WebSockets: the host's and the
//! participants' life cycle in every state, refused actions, counters, ending (API and
//! host), chat with its bounds and rate limit, disconnects and restart.

mod common;
mod live_common;

use common::TestServer;
use live_common::{act, create, fetch, id};
use opencalls_client::{Client, Incoming};
use opencalls_domain::HostId;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(200);

/// The next pushed message, which must be a live event of `id`.
async fn next_event(client: &mut Client, id: &str) -> (String, Value) {
    match client.next_incoming(WAIT).await {
        Some(Incoming::Event {
            name,
            live_event_id,
            data,
            ..
        }) => {
            assert_eq!(live_event_id, id, "{name}");
            (name, data)
        }
        other => panic!("expected a live event, got {other:?}"),
    }
}

/// Asserts the next events' names, in order.
async fn expect_events(client: &mut Client, id: &str, names: &[&str]) -> Vec<Value> {
    let mut data = Vec::new();
    for name in names {
        let (got, d) = next_event(client, id).await;
        assert_eq!(got, *name);
        data.push(d);
    }
    data
}

fn code(result: Result<Value, opencalls_client::ClientError>) -> Option<u64> {
    result.expect_err("the request should be refused").code()
}

/// Polls the Platform API until `check` holds for the live event.
async fn wait_until(server: &TestServer, id: &str, what: &str, check: impl Fn(&Value) -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let event = fetch(server, id).await;
        if check(&event) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} never happened: {event}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn host_and_participants_walk_the_life_cycle() {
    let server = TestServer::start().await;
    let event = create(&server, &["host", "cohost"]).await;
    let id = id(&event);
    let mut host = server.device("host").await;
    let mut viewer = server.device("viewer").await;

    let entered = host.live_enter(&id, "host", true, false).await.unwrap();
    assert_eq!(entered["host"]["state"], "entered");
    assert_eq!(entered["host"]["is_video_on"], false);
    assert_eq!(
        entered["live_event"]["host"]["host_id"],
        entered["host"]["host_id"]
    );
    assert_eq!(entered["live_event"]["state"], "created");
    // Nobody but a host gets in before `ready`.
    assert_eq!(
        code(viewer.live_enter(&id, "participant", false, false).await),
        Some(2800101)
    );

    let ready = host.live_set_ready(&id).await.unwrap();
    assert_eq!(ready["live_event"]["state"], "ready");
    assert_eq!(ready["live_event"]["set_ready_by"], "host");
    expect_events(&mut host, &id, &["live.ready"]).await;

    let joined = viewer
        .live_enter(&id, "participant", false, false)
        .await
        .unwrap();
    assert_eq!(joined["participant"]["state"], "entered");
    assert_eq!(joined["live_event"]["participant_count"], 1);
    assert_eq!(joined["live_event"]["host"]["user"]["user_id"], "host");
    let seen = expect_events(&mut host, &id, &["live.participant_entered"]).await;
    assert_eq!(
        seen[0]["participant"]["participant_id"],
        joined["participant"]["participant_id"]
    );
    assert_eq!(seen[0]["live_event"]["participant_count"], 1);

    // Refused: a participant acting as host, an unlisted host, a second host.
    for refused in [
        viewer.live_start(&id).await,
        viewer.live_end(&id).await,
        viewer.live_set_media(&id, Some(false), None).await,
    ] {
        assert_eq!(code(refused), Some(2800102));
    }
    let outsider = server.device("outsider").await;
    assert_eq!(
        code(outsider.live_enter(&id, "host", true, true).await),
        Some(2800102)
    );
    assert_eq!(code(outsider.live_start(&id).await), Some(2800103));
    let mut cohost = server.device("cohost").await;
    assert_eq!(
        code(cohost.live_enter(&id, "host", true, true).await),
        Some(2800101)
    );
    assert_eq!(
        code(host.live_enter(&id, "participant", true, true).await),
        Some(2800101)
    );
    assert_eq!(
        code(host.live_set_ready(&id).await),
        Some(2800101),
        "ready twice"
    );

    let started = host.live_start(&id).await.unwrap();
    assert_eq!(started["live_event"]["state"], "ongoing");
    expect_events(&mut host, &id, &["live.started"]).await;
    expect_events(&mut viewer, &id, &["live.started"]).await;

    let media = host.live_set_media(&id, None, Some(true)).await.unwrap();
    assert_eq!(media["host"]["is_video_on"], true);
    let seen = expect_events(&mut viewer, &id, &["live.host_media_changed"]).await;
    assert_eq!(seen[0]["host"]["is_video_on"], true);
    assert_eq!(fetch(&server, &id).await["host"]["is_video_on"], true);

    // The media layer's hooks reach everyone.
    let host_id = HostId::parse(entered["host"]["host_id"].as_str().unwrap()).unwrap();
    let live = &server.services.live_events;
    live.host_connected(&id, &host_id).await.unwrap();
    for client in [&mut host, &mut viewer] {
        let seen = expect_events(client, &id, &["live.host_connected"]).await;
        assert_eq!(seen[0]["live_event"]["is_host_streaming"], true);
    }
    assert_eq!(fetch(&server, &id).await["is_host_streaming"], true);
    live.host_disconnected(&id, &host_id).await.unwrap();
    for client in [&mut host, &mut viewer] {
        let seen = expect_events(client, &id, &["live.host_disconnected"]).await;
        assert_eq!(seen[0]["live_event"]["is_host_streaming"], false);
    }

    let left = viewer.live_exit(&id).await.unwrap();
    assert_eq!(left["participant"]["state"], "exited");
    let seen = expect_events(&mut host, &id, &["live.participant_exited"]).await;
    assert_eq!(seen[0]["live_event"]["participant_count"], 0);
    assert_eq!(code(viewer.live_exit(&id).await), Some(2800103));
    assert_eq!(code(viewer.live_chat(&id, "hello?").await), Some(2800103));

    let ended = host.live_end(&id).await.unwrap();
    assert_eq!(ended["live_event"]["state"], "ended");
    assert_eq!(ended["live_event"]["ended_by"], "host");
    // The host is forced out with everyone else, and told so.
    let seen = expect_events(&mut host, &id, &["live.host_exited", "live.ended"]).await;
    assert_eq!(seen[0]["host"]["state"], "exited");
    assert_eq!(fetch(&server, &id).await["host"], Value::Null);

    // After the end: nothing more.
    assert_eq!(code(host.live_start(&id).await), Some(2800103));
    assert_eq!(
        code(host.live_enter(&id, "host", true, true).await),
        Some(2800101)
    );
    assert_eq!(
        code(viewer.live_enter(&id, "participant", true, true).await),
        Some(2800101)
    );
    assert_eq!(host.next_incoming(QUIET).await, None);
    assert_eq!(
        viewer.next_incoming(QUIET).await,
        None,
        "the viewer had left before"
    );
    assert_eq!(
        cohost.next_incoming(QUIET).await,
        None,
        "the refused host heard nothing"
    );
}

#[tokio::test]
async fn counters_follow_real_enters_and_exits() {
    let server = TestServer::start().await;
    let id = id(&create(&server, &["host"]).await);
    assert_eq!(act(&server, &id, "ready").await.0, 200);
    let session = server.session_for("fan").await;
    let phone = Client::connect(&server.ws_base(), &session, None)
        .await
        .unwrap();
    let laptop = Client::connect(&server.ws_base(), &session, None)
        .await
        .unwrap();
    let other = server.device("other").await;
    for client in [&phone, &laptop, &other] {
        client
            .live_enter(&id, "participant", false, false)
            .await
            .unwrap();
    }
    let event = fetch(&server, &id).await;
    let counts = |e: &Value| {
        (
            e["participant_count"].as_i64().unwrap(),
            e["peak_participant_count"].as_i64().unwrap(),
            e["cumulative_participant_count"].as_i64().unwrap(),
        )
    };
    assert_eq!(
        counts(&event),
        (3, 3, 3),
        "one user on two devices counts twice"
    );
    assert_eq!(event["is_host_streaming"], false);

    laptop.live_exit(&id).await.unwrap();
    assert_eq!(counts(&fetch(&server, &id).await), (2, 3, 3));
    laptop
        .live_enter(&id, "participant", false, false)
        .await
        .unwrap();
    phone.live_exit(&id).await.unwrap();
    other.live_exit(&id).await.unwrap();
    assert_eq!(counts(&fetch(&server, &id).await), (1, 3, 4));
    let (_, listing) = server
        .get(&format!("/v1/live-events/{id}/participants"))
        .await;
    let states: Vec<&str> = listing["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["entered", "exited", "exited", "exited"]);

    assert_eq!(act(&server, &id, "end").await.0, 200);
    let ended = fetch(&server, &id).await;
    assert_eq!(counts(&ended), (0, 3, 4));
    assert!(ended["duration"].as_i64().unwrap() >= 0);
    assert_eq!(ended["state"], "ended");
}

#[tokio::test]
async fn ending_through_the_platform_api_forces_everyone_out() {
    let server = TestServer::start().await;
    let id = id(&create(&server, &["host"]).await);
    let mut host = server.device("host").await;
    host.live_enter(&id, "host", true, true).await.unwrap();
    host.live_set_ready(&id).await.unwrap();
    host.live_start(&id).await.unwrap();
    expect_events(&mut host, &id, &["live.ready", "live.started"]).await;
    let mut viewers = Vec::new();
    for name in ["v1", "v2"] {
        let viewer = server.device(name).await;
        viewer
            .live_enter(&id, "participant", false, false)
            .await
            .unwrap();
        viewers.push(viewer);
    }
    expect_events(&mut host, &id, &["live.participant_entered"; 2]).await;

    let (status, body) = act(&server, &id, "end").await;
    assert_eq!(status, 200, "{body}");
    for viewer in &mut viewers {
        let seen = expect_events(viewer, &id, &["live.participant_exited", "live.ended"]).await;
        let own = &seen[0]["participant"];
        assert_eq!(own["state"], "exited");
        assert_eq!(own["client_id"], viewer.client_id());
        assert_eq!(seen[1]["live_event"]["state"], "ended");
        assert_eq!(seen[1]["live_event"]["participant_count"], 0);
    }
    expect_events(
        &mut host,
        &id,
        &[
            "live.participant_exited",
            "live.participant_exited",
            "live.host_exited",
            "live.ended",
        ],
    )
    .await;
    // The sockets hold no seats any more, but stay usable.
    for viewer in &viewers {
        assert_eq!(code(viewer.live_exit(&id).await), Some(2800103));
        assert_eq!(
            code(viewer.live_chat(&id, "still there?").await),
            Some(2800103)
        );
        viewer.ping().await.unwrap();
    }
    assert_eq!(code(host.live_exit(&id).await), Some(2800103));
    let event = fetch(&server, &id).await;
    assert_eq!(
        (event["participant_count"].clone(), event["host"].clone()),
        (json!(0), Value::Null)
    );
    let other = create(&server, &["host"]).await;
    host.live_enter(&live_common::id(&other), "host", true, true)
        .await
        .expect("the host can go on hosting elsewhere");
}

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
    let deadline = tokio::time::Instant::now() + WAIT;
    while spammer.live_chat(&id, "again").await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the limit never lifted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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
async fn bad_live_requests_get_errors_and_break_nothing() {
    let server = TestServer::start().await;
    let id = id(&create(&server, &["host"]).await);
    assert_eq!(act(&server, &id, "ready").await.0, 200);
    let client = server.device("sloppy").await;
    let refused = [
        (
            client
                .request("live.dance", json!({"live_event_id": id}))
                .await,
            400100,
        ),
        (
            client
                .request("live.enter", json!({"live_event_id": id}))
                .await,
            400111,
        ),
        (
            client
                .request("live.enter", json!({"role": "participant"}))
                .await,
            400111,
        ),
        (client.live_enter(&id, "director", true, true).await, 400100),
        (
            client
                .request("live.enter", json!({"live_event_id": 5, "role": "host"}))
                .await,
            400100,
        ),
        (
            client
                .live_enter("no-such-event", "participant", true, true)
                .await,
            400200,
        ),
        (
            client
                .live_enter(&"x".repeat(200), "participant", true, true)
                .await,
            400200,
        ),
        (client.live_exit("no-such-event").await, 400200),
        (client.live_start("no-such-event").await, 400200),
        (client.live_set_media(&id, None, None).await, 400111),
        (client.live_exit(&id).await, 2800103),
    ];
    for (result, expected) in refused {
        assert_eq!(code(result), Some(expected));
    }
    client
        .live_enter(&id, "participant", true, true)
        .await
        .expect("still useful");
    assert_eq!(
        code(client.live_enter(&id, "participant", true, true).await),
        Some(2800101)
    );
    assert_eq!(fetch(&server, &id).await["participant_count"], 1);
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
    assert_eq!(act(&server, &id, "ready").await.0, 200);
    // As if the process had crashed: presence with no connection to clean it up.
    let live = &server.services.live_events;
    live.host_enter(&id, live_common::host("crashed-host"))
        .await
        .unwrap();
    for viewer in ["v1", "v2"] {
        live.participant_enter(&id, live_common::viewer(viewer))
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
