//! Secondary API tokens: issued, listed, viewed and revoked with the master token; accepted
//! like it until revoked; a rotation without downtime; and they survive a restart.

use crate::common::{TestServer, assert_error};
use opencalls_testkit::platform::PlatformApi;
use reqwest::Method;
use serde_json::{Value, json};

const TOKENS: &str = "/v1/applications/api_tokens";

async fn issue(server: &TestServer) -> String {
    let (status, body) = server.post(TOKENS, json!({})).await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().expect("token").to_owned();
    assert!(token.len() >= 32, "a secondary token is long: {token}");
    assert!(body["created_at"].as_i64().is_some(), "{body}");
    token
}

fn listed(body: &Value) -> Vec<String> {
    body["api_tokens"]
        .as_array()
        .expect("api_tokens")
        .iter()
        .map(|t| t["token"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_leaked_secondary_token_is_rotated_without_downtime() {
    let server = TestServer::start().await;
    let old = issue(&server).await;
    let as_old = PlatformApi::new(server.base.clone(), old.clone());
    let (status, body) = as_old.call(Method::GET, "/v1/rooms", None).await.unwrap();
    assert_eq!(
        status, 200,
        "a secondary token opens the Platform API: {body}"
    );
    let (status, _) = as_old
        .call(
            Method::POST,
            "/v1/rooms",
            Some(&json!({"type": "small_room_for_video"})),
        )
        .await
        .unwrap();
    assert_eq!(status, 200);

    // Only the master token manages tokens.
    assert_error(
        &as_old.call(Method::POST, TOKENS, None).await.unwrap(),
        401,
        401120,
    );
    assert_error(
        &as_old.call(Method::GET, TOKENS, None).await.unwrap(),
        401,
        401120,
    );

    // Rotation: issue the new one, move callers, revoke the old one.
    let new = issue(&server).await;
    let (status, list) = server.get(TOKENS).await;
    assert_eq!(status, 200, "{list}");
    let shown = listed(&list);
    assert_eq!(shown.len(), 2, "{list}");
    assert!(
        shown
            .iter()
            .all(|t| t.ends_with('…') && !t.contains(&old[10..]) && !t.contains(&new[10..])),
        "listings never show a whole secret: {list}"
    );
    assert!(
        shown[0].starts_with(&old[..6]) && shown[1].starts_with(&new[..6]),
        "{list}"
    );
    let (status, view) = server.get(&format!("{TOKENS}/{new}")).await;
    assert_eq!((status, view["token"].clone()), (200, json!(shown[1])));

    let (status, body) = server.delete(&format!("{TOKENS}/{old}"), None).await;
    assert_eq!((status, body), (200, json!({})));
    assert_error(
        &as_old.call(Method::GET, "/v1/rooms", None).await.unwrap(),
        401,
        400401,
    );
    let as_new = PlatformApi::new(server.base.clone(), new.clone());
    assert_eq!(
        as_new.call(Method::GET, "/v1/rooms", None).await.unwrap().0,
        200
    );
    assert_error(
        &server.delete(&format!("{TOKENS}/{old}"), None).await,
        400,
        400200,
    );
    assert_error(&server.get(&format!("{TOKENS}/{old}")).await, 400, 400200);
    assert_eq!(listed(&server.get(TOKENS).await.1).len(), 1);

    // Tokens live in the store: the new one still works after a restart, the old one not.
    let dir = server.stop().await;
    let server = TestServer::start_in(dir).await;
    let as_new = PlatformApi::new(server.base.clone(), new);
    assert_eq!(
        as_new.call(Method::GET, "/v1/rooms", None).await.unwrap().0,
        200
    );
    let as_old = PlatformApi::new(server.base.clone(), old);
    assert_eq!(
        as_old.call(Method::GET, "/v1/rooms", None).await.unwrap().0,
        401
    );
}

#[tokio::test]
async fn secondary_tokens_are_capped() {
    let server = TestServer::start().await;
    let mut tokens = Vec::new();
    for _ in 0..opencalls_service::api_tokens::MAX_API_TOKENS {
        tokens.push(issue(&server).await);
    }
    assert_error(&server.post(TOKENS, json!({})).await, 400, 400100);
    assert_eq!(
        listed(&server.get(TOKENS).await.1).len(),
        opencalls_service::api_tokens::MAX_API_TOKENS,
        "a refused issue stores nothing"
    );
    let (status, _) = server
        .delete(&format!("{TOKENS}/{}", tokens[0]), None)
        .await;
    assert_eq!(status, 200);
    issue(&server).await;
}
