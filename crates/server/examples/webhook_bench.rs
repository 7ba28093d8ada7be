//! Webhook benchmark: API write throughput (room creates/s over HTTP) with webhooks off and
//! on, and events/s delivered to a fast receiver on 127.0.0.1. Everything runs in this one
//! process on loopback. See docs/BENCHMARKS.md (`## Webhooks`); run with
//! `scripts/bench-webhooks.sh` (release build).
//!
//! Usage: webhook_bench [CREATES] [CLIENTS] [ROUNDS]   (defaults 2000 32 3)

use anyhow::bail;
use axum::Router;
use axum::routing::post;
use clap::Parser;
use opencalls_domain::RoomType;
use opencalls_server::{App, Config};
use opencalls_testkit::platform::{NewRoom, PlatformApi, WebhookSettings};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

const TOKEN: &str = "bench-master-token-0123456789abcdef";

/// API creates/s with webhooks off vs on, and events/s delivered to a local receiver.
#[derive(Parser)]
struct Args {
    /// Room creates per phase.
    #[arg(default_value_t = 2000)]
    creates: usize,
    /// Concurrent HTTP clients.
    #[arg(default_value_t = 32)]
    clients: usize,
    /// Rounds (each measures off and on).
    #[arg(default_value_t = 3)]
    rounds: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Args {
        creates,
        clients,
        rounds,
    } = Args::parse();

    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let receiver = TcpListener::bind("127.0.0.1:0").await?;
    let hook_url = format!("http://{}/hook", receiver.local_addr()?);
    let hook = Router::new().route(
        "/hook",
        post(move || {
            counter.fetch_add(1, Ordering::Relaxed);
            async { "ok" }
        }),
    );
    tokio::spawn(async move { axum::serve(receiver, hook).await });

    let dir = tempfile::tempdir()?;
    let config = Config {
        api_token: Some(TOKEN.into()),
        data_dir: dir.path().to_owned(),
        // The receiver listens on loopback.
        webhook_allow_private_targets: true,
        ..Config::default()
    };
    let app = App::open(config).await?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(app.serve(listener, std::future::pending()));
    let api = PlatformApi::new(base, TOKEN);

    println!("{creates} room creates per phase, {clients} concurrent clients, {rounds} rounds");
    let enable = WebhookSettings::to(&hook_url, &["*"]);
    let (mut ratios, mut rates) = (Vec::new(), Vec::new());
    let (mut sum_off, mut sum_on) = (0.0, 0.0);
    for round in 1..=rounds {
        // Alternate which phase goes first, so drift (a growing database, other load on
        // the machine) doesn't favour one side.
        let mut off = 0.0;
        if round % 2 == 1 {
            api.set_webhook(&WebhookSettings::disabled()).await?;
            off = create_rooms(&api, creates, clients).await?;
        }
        api.set_webhook(&enable).await?;
        let before = received.load(Ordering::Relaxed);
        let started = Instant::now();
        let on = create_rooms(&api, creates, clients).await?;
        let deadline = Instant::now() + Duration::from_secs(300);
        while received.load(Ordering::Relaxed) < before + creates {
            if Instant::now() > deadline {
                bail!("deliveries did not finish");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let delivered_per_s = creates as f64 / started.elapsed().as_secs_f64();
        if round % 2 == 0 {
            api.set_webhook(&WebhookSettings::disabled()).await?;
            off = create_rooms(&api, creates, clients).await?;
        }
        let ratio = on / off;
        ratios.push(ratio);
        sum_off += off;
        sum_on += on;
        rates.push(delivered_per_s);
        println!(
            "round {round}: creates/s off {off:.0}, on {on:.0} (ratio {ratio:.2}); \
             {creates} events delivered at {delivered_per_s:.0} events/s"
        );
    }
    ratios.sort_by(f64::total_cmp);
    rates.sort_by(f64::total_cmp);
    println!(
        "mean creates/s off {:.0}, on {:.0}: ratio {:.2}; median round ratio {:.2}; \
         median delivery rate {:.0} events/s",
        sum_off / rounds as f64,
        sum_on / rounds as f64,
        sum_on / sum_off,
        ratios[ratios.len() / 2],
        rates[rates.len() / 2]
    );
    Ok(())
}

/// Creates `n` rooms from `clients` concurrent clients; returns creates per second.
async fn create_rooms(api: &PlatformApi, n: usize, clients: usize) -> anyhow::Result<f64> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let room = NewRoom::of(RoomType::SmallRoomForVideo);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (api, next, room) = (api.clone(), next.clone(), room.clone());
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < n {
                if let Err(e) = api.create_room(&room).await {
                    bail!("create failed: {e}");
                }
            }
            Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(n as f64 / started.elapsed().as_secs_f64())
}
