//! The client protocol for live events, through real WebSockets: the host's and the
//! participants' life cycle in every state, refused actions, counters, ending (API and
//! host) and bad input. Chat and presence (disconnects, revocation, restart) are in
//! `signal_live_presence.rs`.

use crate::common;
use crate::live_common;
use crate::signal_live_common;

use common::TestServer;
use live_common::{End, Ready, act, create, fetch, id};
use opencalls_client::Client;
use opencalls_domain::HostId;
use serde_json::{Value, json};
use signal_live_common::{QUIET, code, expect_events};

#[tokio::test]
async fn host_and_participants_walk_the_life_cycle() {
    let server = TestServer::start().await;
    let event = create(&server, &["host", "cohost"]).await;
    let id = id(&event);
    let live_id = common::live_event_id(&id);
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
    live.host_connected(&live_id, &host_id).await.unwrap();
    for client in [&mut host, &mut viewer] {
        let seen = expect_events(client, &id, &["live.host_connected"]).await;
        assert_eq!(seen[0]["live_event"]["is_host_streaming"], true);
    }
    assert_eq!(fetch(&server, &id).await["is_host_streaming"], true);
    live.host_disconnected(&live_id, &host_id).await.unwrap();
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
    assert_eq!(act(&server, &id, Ready).await.0, 200);
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

    assert_eq!(act(&server, &id, End).await.0, 200);
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

    let (status, body) = act(&server, &id, End).await;
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
async fn bad_live_requests_get_errors_and_break_nothing() {
    let server = TestServer::start().await;
    let id = id(&create(&server, &["host"]).await);
    assert_eq!(act(&server, &id, Ready).await.0, 200);
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
