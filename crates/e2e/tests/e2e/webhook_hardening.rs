//! Webhooks as an operator must be able to trust them: targets inside the server's own
//! network are refused unless allowed (as written, and as resolved at delivery), and old
//! events leave the outbox and the delivery log after their retention period.

use crate::common::{TestServer, assert_error};
use opencalls_testkit::WebhookSettings;
use opencalls_testkit::poll::{self, SLOW};
use opencalls_testkit::receiver::Receiver;
use serde_json::{Value, json};
use std::time::Duration;

const SETTINGS: &str = "/v1/applications/opencalls/settings/webhook";
const LOG: &str = "/v1/applications/opencalls/webhook/deliveries?limit=100";
const DAY: i64 = 24 * 60 * 60 * 1000;

#[tokio::test]
async fn private_targets_are_refused_unless_allowed() {
    let receiver = Receiver::ok().await;
    let server = TestServer::start_with(|c| c.webhook_allow_private_targets = false).await;
    let public =
        json!({"enabled": true, "url": "https://hooks.example.com/x", "enabled_events": ["*"]});
    assert_eq!(server.put(SETTINGS, public).await.0, 200);
    for url in [
        receiver.url.as_str(),
        "http://localhost:8080/hook",
        "http://[::1]/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10:8443/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://2130706433/hook",
        "http://metadata.google.internal/",
    ] {
        let reply = server.put(SETTINGS, json!({ "url": url })).await;
        assert_error(&reply, 400, 400100);
        assert!(
            reply.1["message"]
                .as_str()
                .unwrap()
                .contains("public address"),
            "{url}: {}",
            reply.1
        );
    }
    let (_, settings) = server.get(SETTINGS).await;
    assert_eq!(
        settings["webhook"]["url"], "https://hooks.example.com/x",
        "a refused update changes nothing"
    );
    let dir = server.stop().await;

    // Allowed: the loopback receiver is accepted and delivered to, named by a host name so
    // that the refusal below comes from the addresses it resolves to.
    let server = TestServer::start_in(dir).await;
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    let events = WebhookSettings::to(&by_name, &["*"]);
    server.api.set_webhook(&events).await.expect("allowed");
    server.create_room("small_room_for_video").await;
    receiver.wait_until(SLOW, |hits| hits.len() == 1).await;
    let dir = server.stop().await;

    // The same stored URL, with private targets refused again: delivery resolves the name,
    // finds only loopback addresses and refuses to connect.
    let server = TestServer::start_in_with(dir, |c| {
        c.webhook_allow_private_targets = false;
        c.webhook_backoff_base_ms = 20;
        c.webhook_backoff_max_ms = 100;
    })
    .await;
    server.create_room("small_room_for_video").await;
    let refused = poll::eventually("a refused attempt in the log", SLOW, async || {
        let (_, log) = server.get(&format!("{LOG}&status=pending")).await;
        let first = log["deliveries"][0].clone();
        match first["last_error"].as_str() {
            Some(error) => Ok(error.to_owned()),
            None => Err(format!("no attempt yet: {log}")),
        }
    })
    .await;
    assert!(
        refused.contains("refused: the webhook target localhost resolves to loopback"),
        "{refused}"
    );
    assert_eq!(receiver.hits().len(), 1, "nothing reached the receiver");
}

/// The statuses of every delivery in the log, sorted.
async fn statuses(server: &TestServer) -> Vec<String> {
    let (status, log) = server.get(LOG).await;
    assert_eq!(status, 200, "{log}");
    let deliveries: &Vec<Value> = log["deliveries"].as_array().unwrap();
    let mut statuses: Vec<String> = deliveries
        .iter()
        .map(|d| d["status"].as_str().unwrap().to_owned())
        .collect();
    statuses.sort();
    statuses
}

async fn wait_for(server: &TestServer, what: &str, want: &[&str]) {
    poll::until(what, SLOW, async || statuses(server).await == want).await;
}

#[tokio::test]
async fn old_events_are_pruned_failed_ones_later_pending_ones_never() {
    let dead = Receiver::start(|_| (500, Duration::ZERO)).await;
    let ok = Receiver::ok().await;
    let hanging = Receiver::start(|_| (200, Duration::from_secs(3600))).await;
    let server = TestServer::start_with(|c| {
        // The hanging receiver's attempt outlives the test.
        c.webhook_timeout_ms = 3_600_000;
        c.webhook_backoff_base_ms = 20;
        c.webhook_backoff_max_ms = 100;
        c.webhook_prune_interval_ms = 20;
    })
    .await;
    let api = &server.api;

    // A failed delivery: the receiver is down for longer than the retry period (24 h).
    api.set_webhook(&WebhookSettings::to(&dead.url, &["*"]))
        .await
        .unwrap();
    server.create_room("small_room_for_video").await;
    dead.wait_until(SLOW, |hits| !hits.is_empty()).await;
    server.clock.shift(DAY + 1000);
    wait_for(&server, "the first delivery failed", &["failed"]).await;

    // A delivered one.
    api.set_webhook(&WebhookSettings::to(&ok.url, &["*"]))
        .await
        .unwrap();
    server.create_room("small_room_for_video").await;
    wait_for(
        &server,
        "the second delivery arrived",
        &["delivered", "failed"],
    )
    .await;

    // A pending one: its attempt is in flight at a receiver that never answers.
    api.set_webhook(&WebhookSettings::to(&hanging.url, &["*"]))
        .await
        .unwrap();
    server.create_room("small_room_for_video").await;
    hanging.wait_until(SLOW, |hits| !hits.is_empty()).await;
    assert_eq!(statuses(&server).await, ["delivered", "failed", "pending"]);

    // Young rows stay however often the pruner runs (every 20 ms here).
    server.clock.shift(DAY / 2);
    tokio::time::timeout(Duration::from_millis(200), async {
        loop {
            assert_eq!(statuses(&server).await, ["delivered", "failed", "pending"]);
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap_err();

    // A week later the delivered event is gone; the failed one stays 30 days; the pending
    // one until it is delivered or fails.
    server.clock.shift(7 * DAY);
    wait_for(
        &server,
        "the delivered event is pruned",
        &["failed", "pending"],
    )
    .await;
    server.clock.shift(30 * DAY);
    wait_for(&server, "the failed event is pruned", &["pending"]).await;
    let (_, metrics) = server.get("/metrics").await;
    let metrics = metrics.as_str().unwrap_or_default().to_owned();
    assert!(
        metrics.contains("opencalls_webhook_events_pruned_total"),
        "{metrics}"
    );
}
