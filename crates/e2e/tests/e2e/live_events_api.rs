//! Live Platform API over real HTTP: resource shape, the state machine (every allowed and
//! every refused transition), bad input, the OpenAPI document and a restart.

use crate::common;
use crate::live_common;

use common::{TestServer, assert_error};
use live_common::{End, LiveAction, Ready, Start, act, create, fetch, host, id, viewer};
use serde_json::{Value, json};

const LIVE_EVENT_KEYS: [&str; 19] = [
    "live_event_id",
    "host_type",
    "state",
    "created_at",
    "set_ready_at",
    "started_at",
    "ended_at",
    "is_host_streaming",
    "host",
    "created_by",
    "set_ready_by",
    "started_by",
    "ended_by",
    "duration",
    "participant_count",
    "peak_participant_count",
    "cumulative_participant_count",
    "user_ids_for_host",
    "custom_items",
];

#[tokio::test]
async fn create_returns_the_documented_shape() {
    let server = TestServer::start().await;
    let (status, body) = server
        .post(
            "/v1/live-events",
            json!({
                "host_type": "single_host",
                "user_ids_for_host": ["host-1", "host-2"],
                "custom_items": {"theme": "launch"}
            }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let event = &body["live_event"];
    let mut keys: Vec<&str> = event
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let mut expected = LIVE_EVENT_KEYS.to_vec();
    expected.sort_unstable();
    assert_eq!(keys, expected);
    assert_eq!(event["host_type"], "single_host");
    assert_eq!(event["state"], "created");
    assert!(event["created_at"].as_i64().unwrap() > 1_600_000_000_000);
    for null in ["set_ready_at", "started_at", "ended_at", "host"] {
        assert_eq!(event[null], Value::Null, "{null}");
    }
    for empty in ["created_by", "set_ready_by", "started_by", "ended_by"] {
        assert_eq!(event[empty], "", "{empty}");
    }
    assert_eq!(event["is_host_streaming"], false);
    for zero in [
        "duration",
        "participant_count",
        "peak_participant_count",
        "cumulative_participant_count",
    ] {
        assert_eq!(event[zero], 0, "{zero}");
    }
    assert_eq!(event["user_ids_for_host"], json!(["host-1", "host-2"]));
    assert_eq!(event["custom_items"], json!({"theme": "launch"}));
    assert_eq!(fetch(&server, &id(event)).await, *event);

    let plain = create(&server, &["h"]).await;
    assert_eq!(plain["custom_items"], json!({}));
    let (status, hosts) = server
        .get(&format!("/v1/live-events/{}/hosts", id(&plain)))
        .await;
    assert_eq!((status, hosts), (200, json!({ "host": null })));
}

#[tokio::test]
async fn lifecycle_walks_created_ready_ongoing_ended() {
    let server = TestServer::start().await;
    let event = create(&server, &["h"]).await;
    let id = id(&event);

    let (status, ready) = act(&server, &id, Ready).await;
    assert_eq!(status, 200, "{ready}");
    let ready = &ready["live_event"];
    assert_eq!(ready["state"], "ready");
    let set_ready_at = ready["set_ready_at"].as_i64().unwrap();
    assert!(set_ready_at >= event["created_at"].as_i64().unwrap());
    assert_eq!(ready["set_ready_by"], "");
    assert_eq!(ready["started_at"], Value::Null);

    let (status, started) = act(&server, &id, Start).await;
    assert_eq!(status, 200, "{started}");
    let started = &started["live_event"];
    assert_eq!(started["state"], "ongoing");
    assert!(started["started_at"].as_i64().unwrap() >= set_ready_at);
    assert_eq!(started["started_by"], "");
    assert_eq!(started["duration"], 0);

    let (status, ended) = act(&server, &id, End).await;
    assert_eq!(status, 200, "{ended}");
    let ended = &ended["live_event"];
    assert_eq!(ended["state"], "ended");
    assert_eq!(ended["ended_by"], "");
    let ended_at = ended["ended_at"].as_i64().unwrap();
    assert_eq!(
        ended["duration"].as_i64().unwrap(),
        ended_at - event["created_at"].as_i64().unwrap()
    );
    assert_eq!(ended["set_ready_at"], set_ready_at);
    assert_eq!(fetch(&server, &id).await, *ended);
}

#[tokio::test]
async fn every_refused_transition_is_2800101_and_changes_nothing() {
    let server = TestServer::start().await;
    // (actions to reach the state, actions the machine refuses there)
    let cases: [(&[LiveAction], &[LiveAction]); 4] = [
        (&[], &[Start]),
        (&[Ready], &[Ready]),
        (&[Ready, Start], &[Ready, Start]),
        (&[Ready, Start, End], &[Ready, Start, End]),
    ];
    for (path, refused) in cases {
        let id = id(&create(&server, &["h"]).await);
        for step in path {
            assert_eq!(act(&server, &id, *step).await.0, 200, "{step:?}");
        }
        let before = fetch(&server, &id).await;
        for action in refused {
            let response = act(&server, &id, *action).await;
            assert_error(&response, 400, 2800101);
            let message = response.1["message"].as_str().unwrap().to_owned();
            assert!(message.contains("not allowed"), "{message}");
            assert_eq!(
                fetch(&server, &id).await,
                before,
                "{action:?} after {path:?}"
            );
        }
    }
    // Ending is allowed from created and from ready.
    for path in [&[][..], &[Ready][..]] {
        let id = id(&create(&server, &["h"]).await);
        for step in path {
            act(&server, &id, *step).await;
        }
        let (status, body) = act(&server, &id, End).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["live_event"]["state"], "ended");
    }
}

#[tokio::test]
async fn bad_input_gets_the_spec_error_and_creates_nothing() {
    let server = TestServer::start().await;
    let long = "x".repeat(129);
    let eleven: Vec<String> = (0..11).map(|i| format!("h{i}")).collect();
    let many_items: serde_json::Map<String, Value> =
        (0..11).map(|i| (format!("k{i}"), json!("v"))).collect();
    let cases = [
        (json!({"user_ids_for_host": ["h"]}), 400111),
        (json!({"host_type": "single_host"}), 400111),
        (
            json!({"host_type": "multi_host", "user_ids_for_host": ["h"]}),
            400100,
        ),
        (
            json!({"host_type": "single_host", "user_ids_for_host": []}),
            400100,
        ),
        (
            json!({"host_type": "single_host", "user_ids_for_host": eleven}),
            400100,
        ),
        (
            json!({"host_type": "single_host", "user_ids_for_host": [""]}),
            400100,
        ),
        (
            json!({"host_type": "single_host", "user_ids_for_host": [long]}),
            400100,
        ),
        (
            json!({"host_type": "single_host", "user_ids_for_host": "h"}),
            400100,
        ),
        (
            json!({"host_type": "single_host", "user_ids_for_host": ["h"], "custom_items": {"a,b": "v"}}),
            400100,
        ),
        (
            json!({"host_type": "single_host", "user_ids_for_host": ["h"], "custom_items": many_items}),
            400100,
        ),
        (
            json!({"host_type": "single_host", "user_ids_for_host": ["h"], "custom_items": {"k": long}}),
            400100,
        ),
    ];
    for (body, code) in cases {
        let response = server.post("/v1/live-events", body).await;
        assert_error(&response, 400, code);
    }
    let raw = server
        .http
        .post(server.url("/v1/live-events"))
        .header("Api-Token", common::TOKEN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status().as_u16(), 400);
    let (status, list) = server.get("/v1/live-events").await;
    assert_eq!(status, 200);
    assert_eq!(list["live_events"], json!([]), "nothing was created");

    // Ten hosts and a comma in a custom item *value* are fine.
    let ten: Vec<String> = (0..10).map(|i| format!("h{i}")).collect();
    let (status, body) = server
        .post(
            "/v1/live-events",
            json!({"host_type": "single_host", "user_ids_for_host": ten, "custom_items": {"k": "a,b"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn unknown_live_events_are_400200() {
    let server = TestServer::start().await;
    let unknown = "00000000-0000-0000-0000-000000000000";
    for path in ["", "/hosts", "/participants"] {
        let response = server
            .get(&format!("/v1/live-events/{unknown}{path}"))
            .await;
        assert_error(&response, 400, 400200);
    }
    for action in [Ready, Start, End] {
        assert_error(&act(&server, unknown, action).await, 400, 400200);
    }
    let overlong = "x".repeat(300);
    assert_error(
        &server.get(&format!("/v1/live-events/{overlong}")).await,
        400,
        400200,
    );
}

#[tokio::test]
async fn live_routes_are_in_the_openapi_document() {
    let server = TestServer::start().await;
    let (status, doc) = server.get("/v1/openapi.json").await;
    assert_eq!(status, 200);
    let paths = &doc["paths"];
    for (path, method) in [
        ("/v1/live-events", "post"),
        ("/v1/live-events", "get"),
        ("/v1/live-events/{live_event_id}", "get"),
        ("/v1/live-events/{live_event_id}", "delete"),
        ("/v1/live-events/{live_event_id}/ready", "post"),
        ("/v1/live-events/{live_event_id}/start", "post"),
        ("/v1/live-events/{live_event_id}/hosts", "get"),
        ("/v1/live-events/{live_event_id}/participants", "get"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path}");
        assert_eq!(paths[path][method]["tags"], json!(["Live events"]));
    }
    let tags = doc["tags"].as_array().unwrap();
    assert!(tags.iter().any(|t| t["name"] == "Live events"));
}

#[tokio::test]
async fn a_restart_keeps_live_events_hosts_and_participants() {
    let server = TestServer::start().await;
    let event = create(&server, &["h"]).await;
    let id = id(&event);
    let live_id = common::live_event_id(&id);
    act(&server, &id, Ready).await;
    let live = &server.services.live_events;
    let host = live.host_enter(&live_id, host("h")).await.unwrap();
    live.host_connected(&live_id, &host.host_id).await.unwrap();
    act(&server, &id, Start).await;
    let stays = live
        .participant_enter(&live_id, viewer("v1"))
        .await
        .unwrap();
    let leaves = live
        .participant_enter(&live_id, viewer("v2"))
        .await
        .unwrap();
    live.participant_exit(&live_id, &leaves.participant_id)
        .await
        .unwrap();
    let ended = create(&server, &["h"]).await;
    act(&server, &live_common::id(&ended), End).await;

    let before = fetch(&server, &id).await;
    assert_eq!(before["is_host_streaming"], true);
    let (_, participants) = server
        .get(&format!("/v1/live-events/{id}/participants"))
        .await;
    let (_, hosts) = server.get(&format!("/v1/live-events/{id}/hosts")).await;
    let (_, list) = server.get("/v1/live-events").await;

    let dir = server.stop().await;
    let server = TestServer::start_in(dir).await;
    // Everything is kept, except the presence of the previous run: its connections are
    // gone, so its host and participants were exited at start-up.
    let after = fetch(&server, &id).await;
    for key in [
        "state",
        "created_at",
        "set_ready_at",
        "started_at",
        "custom_items",
    ] {
        assert_eq!(after[key], before[key], "{key}");
    }
    assert_eq!(after["host"], Value::Null);
    assert_eq!(after["is_host_streaming"], false);
    assert_eq!(live_common::counters(&server, &id).await, (0, 2, 2));
    let (_, after) = server
        .get(&format!("/v1/live-events/{id}/participants"))
        .await;
    let ids = |page: &Value| -> Vec<Value> {
        page["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["participant_id"].clone())
            .collect()
    };
    assert_eq!(ids(&after), ids(&participants));
    let exited = &after["participants"][1];
    assert_eq!(exited["participant_id"], json!(stays.participant_id));
    assert_eq!(exited["state"], "exited");
    let (_, hosts_after) = server.get(&format!("/v1/live-events/{id}/hosts")).await;
    assert_eq!(hosts_after["host"]["host_id"], hosts["host"]["host_id"]);
    assert_eq!(hosts_after["host"]["state"], "exited");
    assert_eq!(
        server.get("/v1/live-events").await.1["live_events"]
            .as_array()
            .map(Vec::len),
        list["live_events"].as_array().map(Vec::len)
    );
    // The live event keeps working after the restart.
    server
        .services
        .live_events
        .participant_enter(&live_id, viewer("v3"))
        .await
        .unwrap();
    assert_eq!(
        live_common::counters(&server, &id).await,
        (1, 2, 3),
        "counters continue from the stored values"
    );
}
