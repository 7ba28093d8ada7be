//! Cross-node event delay: two nodes on one PostgreSQL database (a fresh database on
//! `OPENCALLS_TEST_POSTGRES_URL`'s server); a device on node A sits in a room; the Platform
//! API of node B changes the room's custom items; measured is the time from B's `200` to
//! the event's arrival at A's device, and, as the same-node reference, from A's own `200`
//! to the same device. See docs/BENCHMARKS.md (`## Cluster`).
//!
//! Usage: cluster_delay [UPDATES] [POLL_MS]   (defaults 500 10)

use clap::Parser;
use opencalls_client::{Client, Incoming};
use opencalls_store_postgres::testing::TestDatabase;
use opencalls_testkit::TestServer;
use serde_json::json;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// Updates per phase.
    #[arg(default_value_t = 500)]
    updates: usize,
    /// `OPENCALLS_CLUSTER_POLL_MS` of the nodes.
    #[arg(default_value_t = 10)]
    poll_ms: u64,
}

async fn node(db: &TestDatabase, id: &str, poll_ms: u64) -> TestServer {
    let (url, id) = (db.url().to_owned(), id.to_owned());
    TestServer::start_with(move |c| {
        c.database_url = Some(url);
        c.node_id = Some(id);
        c.cluster_poll_ms = poll_ms;
    })
    .await
}

/// Milliseconds from each update's acknowledgement by `writer` to its event at `device`.
async fn delays(writer: &TestServer, room: &str, device: &mut Client, n: usize) -> Vec<f64> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let path = format!("/v1/rooms/{room}/custom_items");
        let (status, body) = writer
            .put(&path, json!({"custom_items": {"i": i.to_string()}}))
            .await;
        assert_eq!(status, 200, "{body}");
        let acked = Instant::now();
        match device.next_incoming(Duration::from_secs(10)).await {
            Some(Incoming::Event { name, .. }) if name == "room.custom_items_updated" => {}
            other => panic!("expected the update, got {other:?}"),
        }
        out.push(acked.elapsed().as_secs_f64() * 1000.0);
    }
    out
}

fn report(label: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() as f64 * q) as usize).min(ms.len() - 1)];
    println!(
        "{label}: n={} p50={:.2} ms p99={:.2} ms max={:.2} ms",
        ms.len(),
        at(0.50),
        at(0.99),
        ms[ms.len() - 1]
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Args { updates, poll_ms } = Args::parse();
    let db = TestDatabase::create().await.map_err(anyhow::Error::msg)?;
    let a = node(&db, "a", poll_ms).await;
    let b = node(&db, "b", poll_ms).await;
    let room = a.create_room("small_room_for_video").await;
    let room = room["room_id"].as_str().unwrap().to_owned();
    let mut device = a.device("listener").await;
    device.enter(&room, true, false).await?;
    report(
        "same node (A -> A)",
        delays(&a, &room, &mut device, updates).await,
    );
    report(
        "cross node (B -> A)",
        delays(&b, &room, &mut device, updates).await,
    );
    report(
        "same node again (A -> A)",
        delays(&a, &room, &mut device, updates).await,
    );
    drop(device);
    a.stop().await;
    b.stop().await;
    Ok(())
}
