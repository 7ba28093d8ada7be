//! Load generator for the client protocol: N concurrent devices entering and exiting rooms
//! over real WebSockets against a running server (see scripts/bench-signal.sh).
//!
//! `cargo run --release -p opencalls-client --example load -- --server http://127.0.0.1:8080
//!  --api-token T --clients 2000 --seconds 30 [--per-room 50] [--server-pid PID]`
//!
//! Prints enters/s, enter latency percentiles, server RSS per connected client (when
//! `--server-pid` is given) and checks that no participant is left in any room.

use anyhow::{Context, Result, bail};
use opencalls_client::{Client, open_session};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Barrier, Semaphore};

struct Opts {
    server: String,
    api_token: String,
    clients: usize,
    seconds: u64,
    server_pid: Option<u32>,
    /// Devices per room (at most 100, the seats of an audio room, so enters never fail full).
    per_room: usize,
}

fn opts() -> Result<Opts> {
    let mut o = Opts {
        server: "http://127.0.0.1:8080".into(),
        api_token: String::new(),
        clients: 100,
        seconds: 10,
        server_pid: None,
        per_room: 50,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--server" => o.server = value,
            "--api-token" => o.api_token = value,
            "--clients" => o.clients = value.parse()?,
            "--seconds" => o.seconds = value.parse()?,
            "--server-pid" => o.server_pid = Some(value.parse()?),
            "--per-room" => o.per_room = value.parse::<usize>()?.clamp(1, 100),
            _ => bail!("unknown flag {flag}"),
        }
    }
    Ok(o)
}

async fn api(o: &Opts, method: reqwest::Method, path: &str, body: Value) -> Result<Value> {
    let resp = reqwest::Client::new()
        .request(method, format!("{}{path}", o.server))
        .header("Api-Token", &o.api_token)
        .json(&body)
        .send()
        .await?;
    let status = resp.status();
    let body: Value = resp.json().await?;
    if !status.is_success() {
        bail!("{path}: {status} {body}");
    }
    Ok(body)
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Creates a user with an access token, opens a session and connects one device.
async fn device(o: &Opts, i: usize, run: &str) -> Result<Client> {
    let user_id = format!("load-{run}-{i}");
    let body = api(
        o,
        reqwest::Method::POST,
        "/v1/users",
        json!({"user_id": user_id, "issue_access_token": true}),
    )
    .await?;
    let token = body["access_token"].as_str().context("no access token")?;
    let session = open_session(&o.server, &user_id, token).await?;
    let ws = o.server.replacen("http", "ws", 1);
    Ok(Client::connect(&ws, &session.session_token, None).await?)
}

#[tokio::main]
async fn main() -> Result<()> {
    let o = Arc::new(opts()?);
    let run = format!("{}", std::process::id());
    let room_count = o.clients.div_ceil(o.per_room);
    let mut rooms = Vec::new();
    for _ in 0..room_count {
        let body = api(
            &o,
            reqwest::Method::POST,
            "/v1/rooms",
            json!({"type": "large_room_for_audio_only"}),
        )
        .await?;
        rooms.push(
            body["room"]["room_id"]
                .as_str()
                .context("room id")?
                .to_owned(),
        );
    }
    let rss_before = o.server_pid.and_then(rss_kib);

    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(64));
    let mut connecting = Vec::new();
    for i in 0..o.clients {
        let (o, gate, run) = (o.clone(), gate.clone(), run.clone());
        connecting.push(tokio::spawn(async move {
            let _permit = gate.acquire().await;
            device(&o, i, &run).await
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
    for (i, mut client) in clients.into_iter().enumerate() {
        let room = rooms[i % room_count].clone();
        let barrier = barrier.clone();
        workers.push(tokio::spawn(async move {
            barrier.wait().await;
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while Instant::now() < deadline {
                let t0 = Instant::now();
                match client.enter(&room, true, false).await {
                    Ok(_) => latencies.push(t0.elapsed()),
                    Err(_) => errors += 1,
                }
                if client.exit(&room).await.is_err() {
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

    // Every device exited: no room may still hold anyone (poll briefly for stragglers).
    let wait_until = Instant::now() + Duration::from_secs(10);
    loop {
        let body = api(
            &o,
            reqwest::Method::GET,
            "/v1/rooms?current_participant_range_gte=1&limit=100",
            json!({}),
        )
        .await?;
        let busy = body["rooms"].as_array().map_or(0, Vec::len);
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
