//! Acknowledged writes survive a crash: the real binary is killed with SIGKILL while
//! requests are in flight, restarted on the same data, and every acknowledged room is there.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "crash-test-token";

/// Starts `opencalls serve` on a free loopback port and returns it with its base URL,
/// read from the line the binary prints once it is listening.
fn start(data_dir: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_opencalls"))
        .arg("serve")
        .env("OPENCALLS_HTTP_ADDR", "127.0.0.1:0")
        .env("OPENCALLS_DATA_DIR", data_dir)
        .env("OPENCALLS_API_TOKEN", TOKEN)
        .env("OPENCALLS_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn opencalls");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        let line = lines
            .next()
            .expect("the server exited before listening")
            .expect("read stdout");
        if let Some(addr) = line.strip_prefix("OpenCalls listening on ") {
            break addr.trim().to_owned();
        }
    };
    (child, base)
}

async fn wait_healthy(http: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let healthy = http.get(format!("{base}/healthz")).send().await;
        if healthy.is_ok_and(|resp| resp.status().is_success()) {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("server did not become healthy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_creates_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let http = reqwest::Client::new();
    let (mut child, base) = start(dir.path());
    wait_healthy(&http, &base).await;

    let (ack_tx, mut ack_rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let mut workers = Vec::new();
    for _ in 0..16 {
        let (http, base, ack_tx) = (http.clone(), base.clone(), ack_tx.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let resp = http
                    .post(format!("{base}/v1/rooms"))
                    .header("Api-Token", TOKEN)
                    .json(&json!({"type": "small_room_for_video", "custom_items": {"k": "v"}}))
                    .send()
                    .await;
                let Ok(resp) = resp else { return };
                let Ok(body) = resp.json::<Value>().await else {
                    return;
                };
                if let Some(id) = body["room"]["room_id"].as_str() {
                    let _ = ack_tx.send(id.to_owned());
                }
            }
        }));
    }
    drop(ack_tx);
    // Let a few hundred writes be acknowledged, then kill the server mid-flight.
    let mut acknowledged = Vec::new();
    while acknowledged.len() < 300 {
        acknowledged.push(ack_rx.recv().await.expect("acknowledgement"));
    }
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    for worker in workers {
        worker.await.unwrap();
    }
    while let Ok(id) = ack_rx.try_recv() {
        acknowledged.push(id);
    }

    let (mut child, base) = start(dir.path());
    wait_healthy(&http, &base).await;
    for id in &acknowledged {
        let resp = http
            .get(format!("{base}/v1/rooms/{id}"))
            .header("Api-Token", TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "acknowledged room {id} was lost");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["room"]["custom_items"], json!({"k": "v"}));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
