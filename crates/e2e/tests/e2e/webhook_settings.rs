//! The webhook settings API and delivery log through the real server: validation with the
//! spec's error body, unknown applications, authentication, persistence across restarts.

use crate::common;

use common::{TestServer, assert_error};
use serde_json::{Value, json};

const SETTINGS: &str = "/v1/applications/opencalls/settings/webhook";

#[tokio::test]
async fn defaults_and_all_categories() {
    let server = TestServer::start().await;
    let (status, body) = server.get(SETTINGS).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"webhook": {"enabled": false, "url": "", "enabled_events": []}})
    );
    let (status, body) = server
        .get(&format!("{SETTINGS}?display_all_webhook_categories=true"))
        .await;
    assert_eq!(status, 200, "{body}");
    let all: Vec<&str> = body["webhook"]["all_webhook_categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for name in [
        "room:create",
        "room:delete",
        "room:custom_items_update",
        "room:custom_items_delete",
        "room:participant_enter",
        "room:participant_connect",
        "room:participant_exit",
        "room:participant_media_change",
        "live_event:create",
        "live_event:ready",
        "live_event:start",
        "live_event:end",
        "live_event:host_enter",
        "live_event:host_connect",
        "live_event:host_disconnect",
        "live_event:host_exit",
        "live_event:participant_enter",
        "live_event:participant_exit",
    ] {
        assert!(all.contains(&name), "{name} missing from {all:?}");
    }
    assert_error(
        &server
            .get(&format!("{SETTINGS}?display_all_webhook_categories=maybe"))
            .await,
        400,
        400100,
    );
}

#[tokio::test]
async fn bad_settings_are_refused_and_change_nothing() {
    let server = TestServer::start().await;
    let good = json!({"enabled": true, "url": "http://127.0.0.1:9/hook", "enabled_events": ["room:create"]});
    let (status, body) = server.put(SETTINGS, good.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["webhook"], good);

    for bad in [
        json!({"url": "ftp://127.0.0.1/hook"}),
        json!({"url": "javascript:alert(1)"}),
        json!({"url": "http://"}),
        json!({"url": format!("http://127.0.0.1/{}", "a".repeat(3000))}),
        json!({"enabled_events": ["room:explode"]}),
        json!({"enabled_events": ["*", "live_event:started"]}),
        json!({"enabled_events": "room:create"}),
        json!({"enabled": "yes"}),
        json!({"url": 42}),
    ] {
        assert_error(&server.put(SETTINGS, bad.clone()).await, 400, 400100);
    }
    let (_, body) = server.get(SETTINGS).await;
    assert_eq!(
        body["webhook"], good,
        "a refused update changed the settings"
    );

    // Enabling needs a URL.
    server
        .put(SETTINGS, json!({"enabled": false, "url": ""}))
        .await;
    assert_error(
        &server.put(SETTINGS, json!({"enabled": true})).await,
        400,
        400111,
    );
}

#[tokio::test]
async fn unknown_application_and_missing_token() {
    let server = TestServer::start().await;
    let other = "/v1/applications/someone-else/settings/webhook";
    assert_error(&server.get(other).await, 400, 400200);
    assert_error(
        &server.put(other, json!({"enabled": false})).await,
        400,
        400200,
    );
    assert_error(
        &server
            .get("/v1/applications/someone-else/webhook/deliveries")
            .await,
        400,
        400200,
    );
    let resp = server.http.get(server.url(SETTINGS)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], 400401);
}

#[tokio::test]
async fn settings_survive_restart() {
    let server = TestServer::start().await;
    let settings = json!({"enabled": true, "url": "https://hooks.example.invalid/calls", "enabled_events": ["*"]});
    let (status, _) = server.put(SETTINGS, settings.clone()).await;
    assert_eq!(status, 200);
    // Partial update keeps the rest.
    let (_, body) = server.put(SETTINGS, json!({"enabled": false})).await;
    assert_eq!(body["webhook"]["url"], settings["url"]);
    assert_eq!(body["webhook"]["enabled"], false);

    let dir = server.stop().await;
    let server = TestServer::start_in(dir).await;
    let (_, body) = server.get(SETTINGS).await;
    assert_eq!(
        body["webhook"],
        json!({"enabled": false, "url": "https://hooks.example.invalid/calls", "enabled_events": ["*"]})
    );
}

#[tokio::test]
async fn delivery_log_validates_its_parameters() {
    let server = TestServer::start().await;
    let log = "/v1/applications/opencalls/webhook/deliveries";
    let (status, body) = server.get(log).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"deliveries": [], "next": null, "prev": null}));
    assert_error(
        &server.get(&format!("{log}?status=lost")).await,
        400,
        400100,
    );
    assert_error(&server.get(&format!("{log}?limit=0")).await, 400, 400100);
    assert_error(
        &server.get(&format!("{log}?next=garbage")).await,
        400,
        400100,
    );
}

#[tokio::test]
async fn openapi_documents_the_webhook_endpoints() {
    let server = TestServer::start().await;
    let (status, doc) = server.get("/v1/openapi.json").await;
    assert_eq!(status, 200);
    let paths = &doc["paths"];
    let settings = &paths["/v1/applications/{application_id}/settings/webhook"];
    assert!(
        settings["get"].is_object() && settings["put"].is_object(),
        "{paths}"
    );
    assert!(paths["/v1/applications/{application_id}/webhook/deliveries"]["get"].is_object());
    assert!(
        doc["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "Webhooks")
    );
}
