//! Load generator for the client protocol: N concurrent devices entering and exiting rooms
//! over real WebSockets against a running server (see scripts/bench-signal.sh).
//!
//! `cargo run --release -p opencalls-client --example load -- --server http://127.0.0.1:8080
//!  --api-token T --clients 2000 --seconds 30 [--per-room 50] [--cycle-ms 0] [--server-pid PID]`
//!
//! Prints enters/s, enter latency percentiles, server RSS per connected client (when
//! `--server-pid` is given) and checks that no participant is left in any room.
//!
//! With `--also-server URL` (repeatable), the devices are spread round-robin over the nodes
//! of a cluster (device i on node i mod N, its session opened there too), so most of a
//! room's events cross nodes; it then also prints the cross-node event delay from the
//! nodes' `opencalls_cluster_event_delay_seconds` histograms (scripts/bench-cluster.sh).

use anyhow::{Result, bail};
use clap::Parser;
use opencalls_client::Client;
use opencalls_domain::{RoomId, RoomType};
use opencalls_testkit::cli::ServerArgs;
use opencalls_testkit::platform::{NewRoom, PlatformApi};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Barrier, Semaphore};

/// N concurrent devices entering and exiting rooms over real WebSockets.
#[derive(Parser)]
struct Opts {
    #[command(flatten)]
    target: ServerArgs,
    /// Connected devices.
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// How long to measure.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// The server's process id, to read its RSS.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Devices per room (clamped to 1..=100: an audio room's seats, so enters never fail full).
    #[arg(long, default_value_t = 50)]
    per_room: usize,
    /// More nodes of the same cluster (HTTP base URLs); devices are spread over all of them.
    #[arg(long)]
    also_server: Vec<String>,
    /// Each device starts an enter/exit cycle every this many ms (first ones spread over
    /// one period), so the offered rate is clients / period; 0 (default): a closed loop,
    /// as fast as the server answers, which measures capacity and saturates it.
    #[arg(long, default_value_t = 0)]
    cycle_ms: u64,
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A new user's connected device.
async fn device(api: &PlatformApi, i: usize, run: &str) -> Result<Client> {
    Ok(api.device(&format!("load-{run}-{i}")).await?)
}

#[tokio::main]
async fn main() -> Result<()> {
    let o = Opts::parse();
    let api = o.target.api();
    let run = format!("{}", std::process::id());
    let room_count = o.clients.div_ceil(o.per_room.clamp(1, 100));
    let mut rooms: Vec<RoomId> = Vec::new();
    for _ in 0..room_count {
        let room = NewRoom::of(RoomType::LargeRoomForAudioOnly);
        rooms.push(api.create_room(&room).await?.room_id);
    }
    let rss_before = o.server_pid.and_then(rss_kib);

    let nodes: Vec<PlatformApi> = std::iter::once(api.clone())
        .chain(
            o.also_server
                .iter()
                .map(|url| PlatformApi::new(url.clone(), o.target.api_token.clone())),
        )
        .collect();
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(64));
    let mut connecting = Vec::new();
    for i in 0..o.clients {
        let (api, gate, run) = (nodes[i % nodes.len()].clone(), gate.clone(), run.clone());
        connecting.push(tokio::spawn(async move {
            let _permit = gate.acquire().await;
            device(&api, i, &run).await
        }));
    }
    let mut clients = Vec::new();
    for task in connecting {
        clients.push(task.await??);
    }
    println!(
        "connected {} clients in {:.1}s",
        clients.len(),
        started.elapsed().as_secs_f64()
    );
    let rss_connected = o.server_pid.and_then(rss_kib);

    let barrier = Arc::new(Barrier::new(clients.len()));
    let deadline = Instant::now() + Duration::from_secs(o.seconds) + Duration::from_millis(200);
    let mut workers = Vec::new();
    let cycle = Duration::from_millis(o.cycle_ms);
    let clients_n = clients.len().max(1) as u32;
    for (i, mut client) in clients.into_iter().enumerate() {
        let room = rooms[i % room_count].clone();
        let barrier = barrier.clone();
        workers.push(tokio::spawn(async move {
            barrier.wait().await;
            // Paced devices start evenly spread over one period, not all at once.
            let mut next = Instant::now() + cycle * i as u32 / clients_n;
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline && next < deadline {
                tokio::time::sleep_until(next.into()).await;
                next += cycle;
                let t0 = Instant::now();
                match client.enter(room.as_str(), true, false).await {
                    Ok(_) => latencies.push(t0.elapsed()),
                    Err(_) => errors += 1,
                }
                if client.exit(room.as_str()).await.is_err() {
                    errors += 1;
                }
                while client.next_incoming(Duration::ZERO).await.is_some() {}
            }
            client.close().await;
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for w in workers {
        let (l, e) = w.await?;
        latencies.extend(l);
        errors += e;
    }
    let elapsed = Duration::from_secs(o.seconds).as_secs_f64();
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "enters: {} ({:.0}/s), errors: {errors}",
        latencies.len(),
        latencies.len() as f64 / elapsed
    );
    println!(
        "enter latency p50 {:?} p99 {:?} max {:?}",
        pct(0.50),
        pct(0.99),
        latencies.last().copied().unwrap_or_default()
    );
    if let (Some(before), Some(connected)) = (rss_before, rss_connected) {
        println!(
            "server RSS: {before} KiB idle, {connected} KiB with {} clients connected ({:.1} KiB per client)",
            o.clients,
            (connected.saturating_sub(before)) as f64 / o.clients as f64
        );
    }

    if nodes.len() > 1 {
        cross_node_delay(&nodes).await?;
    }

    // Every device exited: no room may still hold anyone (poll briefly for stragglers).
    let wait_until = Instant::now() + Duration::from_secs(10);
    loop {
        let page = api
            .list_rooms("current_participant_range_gte=1&limit=100")
            .await?;
        let busy = page.rooms.len();
        if busy == 0 {
            println!("check: no participant left in any room");
            break;
        }
        if Instant::now() > wait_until {
            bail!("{busy} rooms still hold participants");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// Prints p50/p99 of the cross-node event delay over every node, from their histograms:
/// the upper bound of the bucket the quantile falls in (the buckets are 0.5, 1, 2.5, 5, 10,
/// 25, 50, 100 ms, ...).
async fn cross_node_delay(nodes: &[PlatformApi]) -> Result<()> {
    const NAME: &str = "opencalls_cluster_event_delay_seconds_bucket";
    let mut buckets: Vec<(f64, u64)> = Vec::new();
    for node in nodes {
        let text = node.metrics().await?;
        for line in text.lines().filter(|l| l.starts_with(NAME)) {
            let Some((labels, count)) = line.rsplit_once(' ') else {
                continue;
            };
            let le = labels
                .split("le=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or("+Inf");
            let bound = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse()?
            };
            let count: u64 = count.parse()?;
            match buckets.iter_mut().find(|(b, _)| *b == bound) {
                Some((_, total)) => *total += count,
                None => buckets.push((bound, count)),
            }
        }
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = buckets.last().map_or(0, |(_, n)| *n);
    let quantile = |q: f64| {
        let rank = (total as f64 * q).ceil() as u64;
        buckets
            .iter()
            .find(|(_, n)| *n >= rank)
            .map(|(b, _)| *b * 1000.0)
    };
    println!(
        "cross-node events: {total}; delay p50 <= {:?} ms, p99 <= {:?} ms (histogram bucket bounds)",
        quantile(0.50),
        quantile(0.99)
    );
    Ok(())
}
