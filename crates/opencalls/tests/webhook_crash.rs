//! Crash safety of webhooks with the real binary: 1,000 events happen while the receiver is
//! down, the server is SIGKILLed, restarted on the same data, the receiver comes up, and
//! every event arrives, in order per room; a repeat is only ever the same delivery (same
//! `x-opencalls-delivery-id`, same body) again.

#[path = "../../server/tests/webhook_receiver/mod.rs"]
mod webhook_receiver;

use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use webhook_receiver::Receiver;

const TOKEN: &str = "crash-test-token";
const ROOMS: usize = 200;
const ITEM_UPDATES: usize = 3;

/// Starts `opencalls serve` on `dir`; returns the child and its base URL.
async fn spawn_server(dir: &Path) -> (Child, String) {
    spawn_server_with(dir, &[]).await
}

/// Like [`spawn_server`], with extra environment variables for the child.
async fn spawn_server_with(dir: &Path, extra_env: &[(&str, &str)]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_opencalls"))
        .arg("serve")
        .envs(extra_env.iter().copied())
        .env("OPENCALLS_HTTP_ADDR", "127.0.0.1:0")
        .env("OPENCALLS_DATA_DIR", dir)
        .env("OPENCALLS_API_TOKEN", TOKEN)
        .env("OPENCALLS_WEBHOOK_BACKOFF_BASE_MS", "50")
        .env("OPENCALLS_WEBHOOK_BACKOFF_MAX_MS", "300")
        .env("OPENCALLS_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn opencalls");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let base = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if let Some(url) = line.strip_prefix("OpenCalls listening on ") {
                return url.trim().to_owned();
            }
        }
        panic!("opencalls exited before listening");
    })
    .await
    .expect("opencalls did not start in time");
    // Keep draining stdout so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, base)
}

async fn call(http: &reqwest::Client, method: reqwest::Method, url: String, body: Value) -> Value {
    let resp = http
        .request(method, url)
        .header("Api-Token", TOKEN)
        .json(&body)
        .send()
        .await
        .expect("request");
    assert!(resp.status().is_success(), "{}", resp.status());
    resp.json().await.expect("json")
}

/// One room's full life: create, custom item updates, delete. Returns the room id.
async fn room_life(http: reqwest::Client, base: String) -> String {
    let room = call(
        &http,
        reqwest::Method::POST,
        format!("{base}/v1/rooms"),
        json!({"type": "small_room_for_video"}),
    )
    .await;
    let id = room["room"]["room_id"].as_str().unwrap().to_owned();
    for i in 0..ITEM_UPDATES {
        call(
            &http,
            reqwest::Method::PUT,
            format!("{base}/v1/rooms/{id}/custom_items"),
            json!({"custom_items": {"step": i.to_string()}}),
        )
        .await;
    }
    call(
        &http,
        reqwest::Method::DELETE,
        format!("{base}/v1/rooms/{id}"),
        json!({}),
    )
    .await;
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_event_survives_a_kill_and_arrives_in_order() {
    let dir = tempfile::tempdir().unwrap();
    // A port nobody listens on yet: the receiver is down while events happen.
    let receiver_addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{receiver_addr}/hook");
    let http = reqwest::Client::new();

    let (mut server, base) = spawn_server(dir.path()).await;
    call(
        &http,
        reqwest::Method::PUT,
        format!("{base}/v1/applications/opencalls/settings/webhook"),
        json!({"enabled": true, "url": url, "enabled_events": ["*"]}),
    )
    .await;
    let mut tasks = Vec::new();
    for _ in 0..ROOMS {
        tasks.push(tokio::spawn(room_life(http.clone(), base.clone())));
    }
    let mut rooms = Vec::new();
    for task in tasks {
        rooms.push(task.await.unwrap());
    }
    let total = ROOMS * (ITEM_UPDATES + 2);
    assert_eq!(total, 1000);

    server.start_kill().expect("SIGKILL");
    server.wait().await.expect("reap");
    let (mut server, base) = spawn_server(dir.path()).await;
    let listener = tokio::net::TcpListener::bind(receiver_addr).await.unwrap();
    let receiver = Receiver::start_on(listener, |_| (200, Duration::ZERO));

    let hits = receiver
        .wait_until(Duration::from_secs(120), |hits| distinct(hits) >= total)
        .await;

    // Repeats are the same delivery again: same id, same body.
    let mut first: HashMap<String, Vec<u8>> = HashMap::new();
    let mut per_room: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for hit in &hits {
        if let Some(body) = first.get(hit.delivery_id()) {
            assert_eq!(body, &hit.body, "a repeat differs from the first delivery");
            continue;
        }
        first.insert(hit.delivery_id().to_owned(), hit.body.clone());
        let room_id = hit.json["room"]["room_id"]
            .as_str()
            .or_else(|| hit.json["room_id"].as_str())
            .unwrap()
            .to_owned();
        per_room
            .entry(room_id)
            .or_default()
            .push(hit.category().to_owned());
    }
    assert_eq!(first.len(), total, "lost or extra events");
    let mut expected = vec!["room:create".to_owned()];
    expected.extend(std::iter::repeat_n(
        "room:custom_items_update".to_owned(),
        ITEM_UPDATES,
    ));
    expected.push("room:delete".to_owned());
    assert_eq!(per_room.len(), ROOMS);
    for id in &rooms {
        assert_eq!(per_room.get(id), Some(&expected), "room {id}");
    }
    let repeats = hits.len() - total;
    eprintln!("{} deliveries, {repeats} repeats", hits.len());

    // The log agrees: nothing pending or failed.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = call(
            &http,
            reqwest::Method::GET,
            format!("{base}/v1/applications/opencalls/webhook/deliveries?status=pending"),
            json!({}),
        )
        .await;
        if log["deliveries"].as_array().unwrap().is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "deliveries still pending: {log}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let failed = call(
        &http,
        reqwest::Method::GET,
        format!("{base}/v1/applications/opencalls/webhook/deliveries?status=failed"),
        json!({}),
    )
    .await;
    assert_eq!(failed["deliveries"], json!([]));
    server.start_kill().ok();
}

/// Killed while attempts are in flight to a slow receiver: after restart the unrecorded
/// attempts are repeated (same id, same body), at most one per delivery slot, and nothing
/// is lost or reordered.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kill_mid_attempt_repeats_only_unrecorded_attempts() {
    const SLOTS: usize = 8;
    const SLOW_ROOMS: usize = 40;
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver_addr = listener.local_addr().unwrap();
    let receiver = Receiver::start_on(listener, |_| (200, Duration::from_millis(100)));
    let (mut server, base) =
        spawn_server_with(dir.path(), &[("OPENCALLS_WEBHOOK_CONCURRENCY", "8")]).await;
    let http = reqwest::Client::new();
    call(
        &http,
        reqwest::Method::PUT,
        format!("{base}/v1/applications/opencalls/settings/webhook"),
        json!({"enabled": true, "url": format!("http://{receiver_addr}/hook"), "enabled_events": ["*"]}),
    )
    .await;
    let mut tasks = Vec::new();
    for _ in 0..SLOW_ROOMS {
        tasks.push(tokio::spawn(room_life(http.clone(), base.clone())));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let total = SLOW_ROOMS * (ITEM_UPDATES + 2);
    // Kill once deliveries are well under way (attempts take 100 ms, so some are in flight).
    receiver
        .wait_until(Duration::from_secs(60), |h| h.len() >= total / 4)
        .await;
    server.start_kill().expect("SIGKILL");
    server.wait().await.expect("reap");
    let before_restart = receiver.hits().len();
    let (mut server, _base) =
        spawn_server_with(dir.path(), &[("OPENCALLS_WEBHOOK_CONCURRENCY", "8")]).await;

    let hits = receiver
        .wait_until(Duration::from_secs(120), |hits| distinct(hits) >= total)
        .await;
    let mut first: HashMap<String, Vec<u8>> = HashMap::new();
    let mut per_room: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut repeats = 0;
    for hit in &hits {
        if let Some(body) = first.get(hit.delivery_id()) {
            assert_eq!(body, &hit.body, "a repeat differs from the first delivery");
            repeats += 1;
            continue;
        }
        first.insert(hit.delivery_id().to_owned(), hit.body.clone());
        let room_id = hit.json["room"]["room_id"]
            .as_str()
            .or_else(|| hit.json["room_id"].as_str())
            .unwrap()
            .to_owned();
        per_room
            .entry(room_id)
            .or_default()
            .push(hit.category().to_owned());
    }
    assert_eq!(first.len(), total, "lost or extra events");
    let mut expected = vec!["room:create".to_owned()];
    expected.extend(std::iter::repeat_n(
        "room:custom_items_update".to_owned(),
        ITEM_UPDATES,
    ));
    expected.push("room:delete".to_owned());
    assert_eq!(per_room.len(), SLOW_ROOMS);
    assert!(per_room.values().all(|c| *c == expected), "{per_room:?}");
    eprintln!("killed after {before_restart} hits; {repeats} repeats");
    // Only attempts whose outcome was not recorded repeat: at most one per slot.
    assert!(
        repeats <= SLOTS,
        "{repeats} repeats with {SLOTS} delivery slots"
    );
    server.start_kill().ok();
}

fn distinct(hits: &[webhook_receiver::Hit]) -> usize {
    let mut ids: Vec<&str> = hits.iter().map(|h| h.delivery_id()).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.len()
}
