//! Webhook delivery through the real server to a real receiver on 127.0.0.1: signature,
//! headers and payloads, per-room order, retries, giving up, subscriptions, and a slow
//! receiver that must not slow the API.

use crate::common;

use crate::live_common;
use common::{TOKEN, TestServer, enter_request};
use opencalls_server::Config;
use opencalls_testkit::WebhookSettings;
use opencalls_testkit::poll::{self, SLOW as WAIT};
use opencalls_testkit::receiver::{Hit, Receiver, hmac_sha256_hex};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const SETTINGS: &str = "/v1/applications/opencalls/settings/webhook";
const LOG: &str = "/v1/applications/opencalls/webhook/deliveries";

fn fast_retries(config: &mut Config) {
    config.webhook_backoff_base_ms = 20;
    config.webhook_backoff_max_ms = 100;
    config.webhook_timeout_ms = 2_000;
}

async fn start_fast() -> TestServer {
    TestServer::start_with(fast_retries).await
}

async fn subscribe(server: &TestServer, url: &str, events: &[&str]) {
    let settings = WebhookSettings::to(url, events);
    server.api.set_webhook(&settings).await.expect("subscribe");
}

#[tokio::test]
async fn room_life_cycle_arrives_signed_and_in_order() {
    let receiver = Receiver::ok().await;
    // Polling so rare that only the wake-up on commit can deliver within the test's wait.
    let server = TestServer::start_with(|c| {
        fast_retries(c);
        c.webhook_poll_ms = 600_000;
    })
    .await;
    subscribe(&server, &receiver.url, &["*"]).await;

    let room = server.create_room("small_room_for_video").await;
    let id = room["room_id"].as_str().unwrap().to_owned();
    let (status, _) = server
        .put(
            &format!("/v1/rooms/{id}/custom_items"),
            json!({"custom_items": {"topic": "standup"}}),
        )
        .await;
    assert_eq!(status, 200);
    let rooms = &server.services.rooms;
    let room_id = common::room_id(&id);
    let alice = rooms
        .enter(&room_id, enter_request("alice", false))
        .await
        .unwrap();
    let bob = rooms
        .enter(&room_id, enter_request("bob", false))
        .await
        .unwrap();
    rooms.exit(&room_id, &alice.participant_id).await.unwrap();
    let (status, _) = server.delete(&format!("/v1/rooms/{id}"), None).await;
    assert_eq!(status, 200);

    let expected = [
        "room:create",
        "room:custom_items_update",
        "room:participant_enter",
        "room:participant_enter",
        "room:participant_exit",
        "room:participant_exit", // bob leaves when the room is deleted
        "room:delete",
    ];
    let hits = receiver
        .wait_until(WAIT, |h| h.iter().any(|h| h.category() == "room:delete"))
        .await;
    let categories: Vec<&str> = hits.iter().map(Hit::category).collect();
    assert_eq!(categories, expected);

    let mut ids = std::collections::HashSet::new();
    for hit in &hits {
        let expected_sig = hmac_sha256_hex(TOKEN.as_bytes(), &hit.body);
        assert_eq!(hit.header("x-sendbird-signature"), expected_sig);
        assert_eq!(hit.header("content-type"), "application/json");
        assert!(hit.header("user-agent").starts_with("OpenCalls"));
        assert!(
            ids.insert(hit.delivery_id().to_owned()),
            "delivery ids repeat"
        );
        assert_eq!(hit.json["application_id"], "opencalls");
        assert!(hit.json["occurred_at"].as_i64().unwrap() >= room["created_at"].as_i64().unwrap());
    }
    assert_eq!(hits[0].json["room"], room);
    assert_eq!(hits[1].json["room_id"], id.as_str());
    assert_eq!(hits[1].json["custom_items"], json!({"topic": "standup"}));
    assert_eq!(
        hits[2].json["participant"]["participant_id"],
        alice.participant_id.to_string()
    );
    assert_eq!(hits[3].json["participant"]["user"]["user_id"], "bob");
    assert_eq!(
        hits[5].json["participant"]["participant_id"],
        bob.participant_id.to_string()
    );
    assert_eq!(hits[6].json["room"]["state"], "deleted");

    // The outcome is recorded just after the receiver answers.
    let log = wait_for_log(&server, "delivered", expected.len()).await;
    assert_eq!(log.len(), expected.len());
    assert_eq!(log[0]["category"], "room:delete");
    assert_eq!(log[0]["delivery_id"], hits[6].delivery_id());
    assert_eq!(log[0]["attempts"], 1);
    assert_eq!(log[0]["last_status_code"], 200);
}

#[tokio::test]
async fn server_errors_are_retried_until_delivered_once() {
    let receiver = Receiver::start(|n| {
        if n < 3 {
            (500, Duration::ZERO)
        } else {
            (200, Duration::ZERO)
        }
    })
    .await;
    let server = start_fast().await;
    subscribe(&server, &receiver.url, &["room:create"]).await;
    let room = server.create_room("large_room_for_audio_only").await;

    let hits = receiver.wait_until(WAIT, |h| h.len() >= 4).await;
    let first = hits[0].delivery_id().to_owned();
    assert!(!first.is_empty());
    assert!(
        hits.iter()
            .all(|h| h.delivery_id() == first && h.body == hits[0].body)
    );
    assert_eq!(hits[0].json["room"], room);
    // Backoff: the retries are spaced out, not fired back to back.
    assert!(hits[3].at - hits[0].at >= Duration::from_millis(20));

    let log = wait_for_log(&server, "delivered", 1).await;
    let delivery = &log[0];
    assert_eq!(delivery["attempts"], 4);
    assert_eq!(delivery["delivery_id"], first.as_str());
    assert_eq!(delivery["last_status_code"], 200);
    assert!(delivery["next_attempt_at"].is_null());
    // Delivered once: nothing more arrives after success.
    wait_for_metric(
        &server,
        "opencalls_webhook_deliveries_total{result=\"retried\"} 3",
    )
    .await;
    wait_for_metric(
        &server,
        "opencalls_webhook_deliveries_total{result=\"delivered\"} 1",
    )
    .await;
    assert_eq!(receiver.hits().len(), 4);
}

#[tokio::test]
async fn a_dead_receiver_fails_after_the_retry_period_and_the_stream_moves_on() {
    let receiver = Receiver::start(|n| {
        if n < 1000 {
            (503, Duration::ZERO)
        } else {
            (200, Duration::ZERO)
        }
    })
    .await;
    let server = TestServer::start_with(|c| {
        fast_retries(c);
        c.webhook_retry_period_secs = 1;
    })
    .await;
    subscribe(&server, &receiver.url, &["room:create", "room:delete"]).await;
    let room = server.create_room("small_room_for_video").await;
    let id = room["room_id"].as_str().unwrap();
    server.delete(&format!("/v1/rooms/{id}"), None).await;

    let failed = wait_for_log(&server, "failed", 2).await;
    // Both gave up in order: the delete was not attempted before the create failed.
    assert_eq!(failed[1]["category"], "room:create");
    assert_eq!(failed[0]["category"], "room:delete");
    // The retry period counts from when the event was queued: the create used it up
    // retrying, so the delete, queued at the same time, got its one attempt after that.
    assert!(failed[1]["attempts"].as_u64().unwrap() >= 2, "{failed:?}");
    for delivery in &failed {
        assert!(delivery["attempts"].as_u64().unwrap() >= 1, "{delivery}");
        assert_eq!(delivery["last_status_code"], 503);
        assert!(delivery["last_error"].as_str().unwrap().contains("503"));
    }
    let hits = receiver.hits();
    let first_delete = hits
        .iter()
        .position(|h| h.category() == "room:delete")
        .unwrap();
    assert!(
        hits[..first_delete]
            .iter()
            .all(|h| h.category() == "room:create")
    );
    assert!(
        hits[first_delete..]
            .iter()
            .all(|h| h.category() == "room:delete")
    );
    wait_for_metric(
        &server,
        "opencalls_webhook_deliveries_total{result=\"failed\"} 2",
    )
    .await;
}

#[tokio::test]
async fn disabled_or_unsubscribed_events_are_never_sent() {
    let receiver = Receiver::ok().await;
    let server = start_fast().await;
    // Subscribed to deletes only: creates are not sent.
    subscribe(&server, &receiver.url, &["room:delete"]).await;
    let a = server.create_room("small_room_for_video").await;
    let a_id = a["room_id"].as_str().unwrap();
    server.delete(&format!("/v1/rooms/{a_id}"), None).await;
    // Disabled: nothing at all, not even later when re-enabled.
    server.put(SETTINGS, json!({"enabled": false})).await;
    let b = server.create_room("small_room_for_video").await;
    let b_id = b["room_id"].as_str().unwrap();
    server.delete(&format!("/v1/rooms/{b_id}"), None).await;
    subscribe(&server, &receiver.url, &["*"]).await;
    let marker = server.create_room("small_room_for_video").await;

    let hits = receiver
        .wait_until(WAIT, |h| {
            h.iter()
                .any(|h| h.json["room"]["room_id"] == marker["room_id"])
        })
        .await;
    let seen: Vec<(String, Value)> = hits
        .iter()
        .map(|h| (h.category().to_owned(), h.json["room"]["room_id"].clone()))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("room:delete".to_owned(), a["room_id"].clone()),
            ("room:create".to_owned(), marker["room_id"].clone()),
        ]
    );
    let (_, log) = server.get(&format!("{LOG}?limit=100")).await;
    assert_eq!(log["deliveries"].as_array().unwrap().len(), 2, "{log}");
}

#[tokio::test]
async fn a_slow_receiver_does_not_slow_the_api() {
    let receiver = Receiver::start(|_| (200, Duration::from_secs(5))).await;
    let server = TestServer::start_with(|c| {
        c.webhook_timeout_ms = 10_000;
        c.webhook_concurrency = 4;
    })
    .await;

    // Baseline without webhooks.
    let baseline = time_creates(&server, 30).await;
    subscribe(&server, &receiver.url, &["*"]).await;
    let slow = time_creates(&server, 60).await;
    // The receiver is stuck in 5 s answers for all of this.
    receiver.wait_until(WAIT, |h| h.len() >= 4).await;
    assert!(
        receiver.hits().len() <= 4,
        "more attempts in flight than the concurrency limit"
    );
    let more = time_creates(&server, 30).await;
    let worst = slow.max(more);
    // Had a create waited for the receiver, it would take 5 s; the bound leaves room for a
    // loaded test machine.
    assert!(
        worst < Duration::from_millis(1500),
        "slowest create with a stuck receiver {worst:?}, without webhooks {baseline:?}"
    );
}

#[tokio::test]
async fn a_graceful_stop_finishes_attempts_in_flight_without_repeats() {
    let receiver = Receiver::start(|_| (200, Duration::from_millis(300))).await;
    let server = start_fast().await;
    subscribe(&server, &receiver.url, &["room:create"]).await;
    server.create_room("small_room_for_video").await;
    receiver.wait_until(WAIT, |h| !h.is_empty()).await;
    // Stop while the receiver is still answering.
    let dir = server.stop().await;
    let server = TestServer::start_in_with(dir, fast_retries).await;
    let log = wait_for_log(&server, "delivered", 1).await;
    assert_eq!(log[0]["attempts"], 1);
    let (_, pending) = server.get(&format!("{LOG}?status=pending")).await;
    assert_eq!(pending["deliveries"], json!([]));
    assert_eq!(receiver.hits().len(), 1);
}

/// Polls `/metrics` until it has the line `needle` (metrics follow the recorded outcome).
async fn wait_for_metric(server: &TestServer, needle: &str) {
    poll::eventually(&format!("`{needle}` in /metrics"), WAIT, async || {
        let (_, text) = server.get("/metrics").await;
        let text = text.as_str().unwrap_or_default().to_owned();
        if text.lines().any(|l| l == needle) {
            Ok(())
        } else {
            Err(text)
        }
    })
    .await
}

/// The slowest of `n` sequential room creates.
async fn time_creates(server: &TestServer, n: usize) -> Duration {
    let mut worst = Duration::ZERO;
    for _ in 0..n {
        let started = Instant::now();
        server.create_room("small_room_for_video").await;
        worst = worst.max(started.elapsed());
    }
    worst
}

/// Polls the delivery log until `count` deliveries have `status`; returns them newest first.
async fn wait_for_log(server: &TestServer, status: &str, count: usize) -> Vec<Value> {
    let what = format!("{count} {status} deliveries");
    poll::eventually(&what, WAIT, async || {
        let (code, body) = server
            .get(&format!("{LOG}?status={status}&limit=100"))
            .await;
        assert_eq!(code, 200, "{body}");
        let items = body["deliveries"].as_array().unwrap().clone();
        if items.len() >= count {
            Ok(items)
        } else {
            Err(body)
        }
    })
    .await
}

#[tokio::test]
async fn live_event_life_cycle_arrives_in_order() {
    let receiver = Receiver::ok().await;
    let server = start_fast().await;
    subscribe(&server, &receiver.url, &["*"]).await;

    let (status, body) = server
        .post(
            "/v1/live-events",
            json!({"host_type": "single_host", "user_ids_for_host": ["host"]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let id = body["live_event"]["live_event_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let live_id = common::live_event_id(&id);
    let live = &server.services.live_events;
    let host = live_common::host("host");
    let host_id = host.host_id.clone();
    live.host_enter(&live_id, host).await.unwrap();
    live.host_connected(&live_id, &host_id).await.unwrap();
    assert_eq!(
        server
            .post(&format!("/v1/live-events/{id}/ready"), json!({}))
            .await
            .0,
        200
    );
    let viewer = live_common::viewer("viewer");
    let viewer_id = viewer.participant_id.clone();
    live.participant_enter(&live_id, viewer).await.unwrap();
    assert_eq!(
        server
            .post(&format!("/v1/live-events/{id}/start"), json!({}))
            .await
            .0,
        200
    );
    live.host_disconnected(&live_id, &host_id).await.unwrap();
    assert_eq!(
        server
            .delete(&format!("/v1/live-events/{id}"), None)
            .await
            .0,
        200
    );

    let hits = receiver
        .wait_until(WAIT, |h| h.iter().any(|h| h.category() == "live_event:end"))
        .await;
    let categories: Vec<&str> = hits.iter().map(Hit::category).collect();
    assert_eq!(
        categories,
        [
            "live_event:create",
            "live_event:host_enter",
            "live_event:host_connect",
            "live_event:ready",
            "live_event:participant_enter",
            "live_event:start",
            "live_event:host_disconnect",
            "live_event:participant_exit",
            "live_event:host_exit",
            "live_event:end",
        ]
    );
    for hit in &hits {
        assert_eq!(hit.json["live_event"]["live_event_id"], id.as_str());
        assert_eq!(
            hit.header("x-sendbird-signature"),
            hmac_sha256_hex(TOKEN.as_bytes(), &hit.body)
        );
    }
    assert_eq!(
        hits[4].json["participant"]["participant_id"],
        viewer_id.to_string()
    );
    assert_eq!(hits[9].json["live_event"]["state"], "ended");
}
