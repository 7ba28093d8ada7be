//! The HTTP edge: authentication, malformed input, size bounds, unknown routes, OpenAPI,
//! health and metrics.

use crate::common;

use common::{TOKEN, TestServer, assert_error};
use serde_json::{Value, json};

async fn raw(
    server: &TestServer,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, Value) {
    let mut req = server
        .http
        .request(method, server.url(path))
        .body(body.to_owned());
    if let Some(token) = token {
        req = req.header("Api-Token", token);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn every_room_endpoint_requires_the_api_token() {
    let server = TestServer::start().await;
    let id = common::id_of(&server.create_room("small_room_for_video").await);
    let endpoints = [
        (reqwest::Method::POST, "/v1/rooms".to_owned()),
        (reqwest::Method::GET, "/v1/rooms".to_owned()),
        (reqwest::Method::GET, format!("/v1/rooms/{id}")),
        (reqwest::Method::DELETE, format!("/v1/rooms/{id}")),
        (reqwest::Method::GET, format!("/v1/rooms/{id}/custom_items")),
        (reqwest::Method::PUT, format!("/v1/rooms/{id}/custom_items")),
        (
            reqwest::Method::DELETE,
            format!("/v1/rooms/{id}/custom_items"),
        ),
        (reqwest::Method::GET, format!("/v1/rooms/{id}/participants")),
    ];
    for (method, path) in &endpoints {
        for token in [
            None,
            Some("wrong"),
            Some(""),
            Some(&TOKEN[..TOKEN.len() - 1]),
        ] {
            let resp = raw(
                &server,
                method.clone(),
                path,
                token,
                r#"{"type":"small_room_for_video"}"#,
            )
            .await;
            assert_error(&resp, 401, 400401);
        }
    }
    // Nothing changed: still one open room.
    let (_, body) = server.get("/v1/rooms").await;
    assert_eq!(body["rooms"].as_array().unwrap().len(), 1);
    assert_eq!(body["rooms"][0]["state"], "open");
}

#[tokio::test]
async fn header_name_is_case_insensitive() {
    let server = TestServer::start().await;
    let resp = server
        .http
        .get(server.url("/v1/rooms"))
        .header("API-TOKEN", TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn malformed_bodies_are_400_and_change_nothing() {
    let server = TestServer::start().await;
    let post = reqwest::Method::POST;
    for body in [
        "{",
        "[]",
        "null",
        r#"{"type": 5}"#,
        r#"{"type":"small_room_for_video","custom_items":[]}"#,
        "\u{0}",
    ] {
        assert_error(
            &raw(&server, post.clone(), "/v1/rooms", Some(TOKEN), body).await,
            400,
            400100,
        );
    }
    assert_error(
        &raw(&server, post.clone(), "/v1/rooms", Some(TOKEN), "{}").await,
        400,
        400111,
    );
    assert_error(
        &raw(&server, post.clone(), "/v1/rooms", Some(TOKEN), "").await,
        400,
        400111,
    );
    let huge = format!(
        r#"{{"type":"small_room_for_video","custom_items":{{"k":"{}"}}}}"#,
        "x".repeat(200_000)
    );
    assert_error(
        &raw(&server, post, "/v1/rooms", Some(TOKEN), &huge).await,
        400,
        400100,
    );
    let (_, body) = server.get("/v1/rooms").await;
    assert_eq!(body["rooms"], json!([]));
}

#[tokio::test]
async fn odd_paths_and_queries_are_client_errors() {
    let server = TestServer::start().await;
    assert_error(&server.get("/v1/rooms/%F0%9F%98%80").await, 400, 400200);
    assert_error(
        &server.get(&format!("/v1/rooms/{}", "x".repeat(500))).await,
        400,
        400200,
    );
    assert_error(&server.get("/v1/rooms/%FF").await, 400, 400100);
    assert_error(
        &server
            .get(&format!("/v1/rooms?type={}", "x".repeat(20_000)))
            .await,
        400,
        400100,
    );
    assert_error(&server.get("/v1/rooms?limit=5&limit=6").await, 400, 400100);
    let (status, body) = server.get("/v1/nothing-here").await;
    assert_eq!((status, body["code"].as_u64()), (404, Some(400200)));
}

#[tokio::test]
async fn openapi_document_lists_every_route() {
    let server = TestServer::start().await;
    let resp = server
        .http
        .get(server.url("/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let doc: Value = resp.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let expected = [
        ("/v1/rooms", "post"),
        ("/v1/rooms", "get"),
        ("/v1/rooms/{room_id}", "get"),
        ("/v1/rooms/{room_id}", "delete"),
        ("/v1/rooms/{room_id}/custom_items", "get"),
        ("/v1/rooms/{room_id}/custom_items", "put"),
        ("/v1/rooms/{room_id}/custom_items", "delete"),
        ("/v1/rooms/{room_id}/participants", "get"),
    ];
    for (path, method) in expected {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"]["Room"].is_object());
    assert!(doc["components"]["securitySchemes"]["api_token"].is_object());
}

#[tokio::test]
async fn health_and_metrics() {
    let server = TestServer::start().await;
    let health = server
        .http
        .get(server.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    server.create_room("small_room_for_video").await;
    server.get("/v1/rooms/unknown").await;
    let text = server
        .http
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(
            r#"opencalls_http_requests_total{method="POST",route="/v1/rooms",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"route="/v1/rooms/{room_id}",status="400""#),
        "{text}"
    );
    assert!(
        text.contains("opencalls_http_request_duration_seconds_bucket"),
        "{text}"
    );
}

#[tokio::test]
async fn malformed_ids_are_refused_like_unknown_ones() {
    let server = TestServer::start().await;
    let long = "x".repeat(129);
    for (path, what) in [
        (format!("/v1/rooms/{long}"), "room"),
        (format!("/v1/rooms/{long}/custom_items"), "room"),
        (format!("/v1/rooms/{long}/participants"), "room"),
        (format!("/v1/live-events/{long}"), "live event"),
        (format!("/v1/live-events/{long}/hosts"), "live event"),
        (format!("/v1/live-events/{long}/participants"), "live event"),
        (format!("/v1/users/{long}"), "user"),
    ] {
        let reply = server.get(&path).await;
        assert_error(&reply, 400, 400200);
        assert_eq!(reply.1["message"], format!("the {what} was not found"));
    }
    let reply = server
        .post(&format!("/v1/live-events/{long}/ready"), json!({}))
        .await;
    assert_eq!(reply.1["message"], "the live event was not found");
    let reply = server
        .post(&format!("/v1/users/{long}/token"), json!({}))
        .await;
    assert_eq!(reply.1["message"], "the user was not found");
    let reply = server.post("/v1/users", json!({ "user_id": long })).await;
    assert_error(&reply, 400, 400100);
}

#[tokio::test]
async fn a_bad_custom_items_body_is_reported_before_a_malformed_room_id() {
    let server = TestServer::start().await;
    let path = format!("/v1/rooms/{}/custom_items", "x".repeat(129));
    let bad_items = json!({"custom_items": {"": "v"}});
    assert_error(&server.put(&path, bad_items).await, 400, 400100);
    let keys: Vec<String> = (0..101).map(|i| format!("k{i}")).collect();
    let reply = server.delete(&path, Some(json!({ "keys": keys }))).await;
    assert_error(&reply, 400, 400100);
    assert_eq!(reply.1["message"], "keys can name at most 100 keys");
}

#[tokio::test]
async fn a_malformed_user_id_cannot_open_a_session() {
    let server = TestServer::start().await;
    let body = json!({ "user_id": "x".repeat(129), "access_token": "whatever" });
    let (status, reply) = server.post("/v1/auth/session", body).await;
    assert_eq!(status, 401, "{reply}");
    assert_eq!(reply["message"], "the token is invalid, expired or revoked");
}
