//! TURN credentials through the real server: `hello.ice_servers` carries the configured TURN
//! URLs with a credential in the TURN REST API scheme (what coturn's `use-auth-secret`
//! checks), minted per user, expiring after the configured lifetime; nothing without TURN.
//! (The credentials carrying media through coturn: tests/browser/network.test.mjs.)

use crate::common::TestServer;
use opencalls_signal::turn_credential;
use std::time::{SystemTime, UNIX_EPOCH};

const SECRET: &str = "e2e-turn-secret";
const URL: &str = "turn:192.0.2.7:3478?transport=tcp";

#[tokio::test]
async fn hello_carries_time_limited_turn_credentials() {
    let server = TestServer::start_with(|c| {
        c.turn_urls = vec![URL.to_owned()];
        c.turn_secret = Some(SECRET.to_owned());
        c.turn_ttl_secs = 600;
    })
    .await;
    let client = server.device("alice").await;
    let servers = client.ice_servers();
    assert_eq!(servers.len(), 1, "{servers:?}");
    assert_eq!(servers[0].urls, vec![URL.to_owned()]);
    let username = servers[0].username.clone().expect("username");
    let (expiry, user) = username.split_once(':').expect("<expiry>:<user>");
    assert_eq!(user, "alice");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let expiry: u64 = expiry.parse().expect("unix seconds");
    assert!(
        (now + 590..=now + 610).contains(&expiry),
        "{expiry} vs {now}"
    );
    assert_eq!(
        servers[0].credential.as_deref(),
        Some(turn_credential(SECRET.as_bytes(), &username).as_str())
    );
    let bob = server.device("bob").await.ice_servers();
    assert_ne!(bob[0].credential, servers[0].credential, "per user");
}

#[tokio::test]
async fn without_turn_hello_has_no_ice_servers() {
    let server = TestServer::start().await;
    let client = server.device("alice").await;
    assert_eq!(client.hello["ice_servers"], serde_json::json!([]));
}
