//! The measurement phases and the markdown report they fill in.

use crate::Args;
use crate::load::{self, Load, MakeReq, Req, Rng, Stats};
use crate::seed::{self, Seeded};
use opencalls_store::{Cursor, CursorKind, Direction};
use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

const WARMUP: Duration = Duration::from_secs(1);
const HOUR_MS: i64 = 3600 * 1000;

pub struct Report {
    header: String,
    throughput: String,
    listings: String,
    creates: String,
}

/// The store under test and what makes its commits durable.
fn backend(args: &Args) -> (&'static str, &'static str) {
    if args.database_url.is_some() {
        ("PostgreSQL", "synchronous_commit=on")
    } else {
        ("SQLite", "synchronous=FULL")
    }
}

impl Report {
    pub fn new(args: &Args, seeded: &Seeded) -> Self {
        let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
        let seeding = seeded
            .seconds
            .map_or_else(|| "cached".to_owned(), |s| format!("{s:.0} s"));
        let backend = backend(args).0;
        let header = format!(
            "Store: {backend}. {} rooms seeded (seeding: {seeding}); {cores} cores shared by servers and load generator; \
             {} s per throughput measurement x {} rounds, {} connections.",
            seeded.rooms, args.seconds, args.rounds, args.workers
        );
        Self {
            header,
            throughput: String::new(),
            listings: String::new(),
            creates: String::new(),
        }
    }

    pub fn render(&self) -> String {
        format!(
            "{}\n\n{}\n{}\n{}",
            self.header, self.throughput, self.listings, self.creates
        )
    }
}

fn timed(workers: usize, duration: Duration) -> Load {
    Load {
        workers,
        duration,
        max_requests: u64::MAX,
    }
}

/// Hello-world vs. `GET /v1/rooms/{id}`, alternating, so drift hits both alike.
pub async fn throughput(
    out: &mut Report,
    args: &Args,
    pace: Duration,
    hello: SocketAddr,
    server: SocketAddr,
    seeded: &Seeded,
) -> anyhow::Result<()> {
    let hello_req: MakeReq = Arc::new(|_| Req::get("/"));
    let ids = Arc::new(seeded.sample_ids.clone());
    let get_req: MakeReq = Arc::new(move |rng| {
        let id = &ids[rng.below(ids.len() as u64) as usize];
        Req::get(format!("/v1/rooms/{id}"))
    });
    let mut table = String::from(
        "| round | hello-world req/s | `GET /v1/rooms/{id}` req/s | ratio | GET p50 ms | GET p99 ms |\n|---|---|---|---|---|---|\n",
    );
    let (mut hello_total, mut get_total) = (0.0, 0.0);
    for round in 1..=args.rounds {
        load::run(hello, timed(args.workers, WARMUP), hello_req.clone()).await?;
        let h = load::run(hello, timed(args.workers, pace), hello_req.clone()).await?;
        load::run(server, timed(args.workers, WARMUP), get_req.clone()).await?;
        let g = load::run(server, timed(args.workers, pace), get_req.clone()).await?;
        eprintln!(
            "round {round}: hello {:.0}/s, get {:.0}/s",
            h.rps(),
            g.rps()
        );
        check(&h, "hello-world")?;
        check(&g, "GET /v1/rooms/{id}")?;
        hello_total += h.rps();
        get_total += g.rps();
        let _ = writeln!(
            table,
            "| {round} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} |",
            h.rps(),
            g.rps(),
            g.rps() / h.rps(),
            g.quantile_ms(0.5),
            g.quantile_ms(0.99)
        );
    }
    let n = args.rounds.max(1) as f64;
    let _ = writeln!(
        table,
        "| **mean** | **{:.0}** | **{:.0}** | **{:.2}** | | |",
        hello_total / n,
        get_total / n,
        get_total / hello_total
    );
    out.throughput = table;
    Ok(())
}

/// Latency of filtered listings; each variant draws fresh random parameters per request.
pub async fn listings(
    out: &mut Report,
    args: &Args,
    server: SocketAddr,
    seeded: &Seeded,
) -> anyhow::Result<()> {
    let mut table = format!(
        "| `GET /v1/rooms` variant ({} requests, {} connection(s)) | p50 ms | p99 ms | max ms | errors |\n|---|---|---|---|---|\n",
        args.list_requests, args.list_workers
    );
    for (name, make) in variants(seeded) {
        let load = Load {
            workers: args.list_workers,
            duration: Duration::from_secs(60),
            max_requests: args.list_requests,
        };
        let warm = Load {
            max_requests: 20,
            ..load
        };
        load::run(server, warm, make.clone()).await?;
        let s = load::run(server, load, make).await?;
        eprintln!(
            "{name}: p50 {:.2} ms, p99 {:.2} ms",
            s.quantile_ms(0.5),
            s.quantile_ms(0.99)
        );
        let _ = writeln!(
            table,
            "| {name} | {:.2} | {:.2} | {:.2} | {} |",
            s.quantile_ms(0.5),
            s.quantile_ms(0.99),
            s.quantile_ms(1.0),
            s.errors
        );
    }
    out.listings = table;
    Ok(())
}

fn variants(seeded: &Seeded) -> Vec<(String, MakeReq)> {
    let fixed = |path: &'static str| -> MakeReq { Arc::new(move |_| Req::get(path)) };
    let ids = Arc::new(seeded.sample_ids.clone());
    let (first, last, rooms) = (
        seeded.first_created_at,
        seeded.last_created_at,
        seeded.rooms,
    );
    let window = move |rng: &mut Rng, width: i64| {
        let start = first + rng.below((last - first - width).max(1) as u64) as i64;
        (start, start + width)
    };
    let deep = move |rng: &mut Rng| {
        let seq = 1 + rng.below(rooms.max(1)) as i64;
        Cursor {
            direction: Direction::Next,
            seq,
        }
        .encode(CursorKind::Rooms)
    };
    vec![
        (
            "no filter (default 14-day window)".into(),
            fixed("/v1/rooms"),
        ),
        ("`limit=100`".into(), fixed("/v1/rooms?limit=100")),
        (
            "`type=small_room_for_video&state=open`".into(),
            fixed("/v1/rooms?type=small_room_for_video&state=open"),
        ),
        (
            "`type=large_room_for_audio_only&state=deleted`".into(),
            fixed("/v1/rooms?type=large_room_for_audio_only&state=deleted"),
        ),
        (
            "`type=large_room_for_audio_only`".into(),
            fixed("/v1/rooms?type=large_room_for_audio_only"),
        ),
        ("`state=deleted`".into(), fixed("/v1/rooms?state=deleted")),
        (
            "`created_by_user_id` (heavy user, ~3,000 rooms)".into(),
            Arc::new(|rng| {
                let user = seed::heavy_user(rng.below(seed::HEAVY_USERS));
                Req::get(format!("/v1/rooms?created_by_user_id={user}"))
            }),
        ),
        (
            "`created_by_user_id` (light user, ~30 rooms)".into(),
            Arc::new(|rng| {
                let user = seed::light_user(rng.below(seed::LIGHT_USERS));
                Req::get(format!("/v1/rooms?created_by_user_id={user}"))
            }),
        ),
        (
            "`created_by_user_ids` (5 light users) `&state=open`".into(),
            Arc::new(|rng| {
                let users: Vec<String> = (0..5)
                    .map(|_| seed::light_user(rng.below(seed::LIGHT_USERS)))
                    .collect();
                Req::get(format!(
                    "/v1/rooms?created_by_user_ids={}&state=open",
                    users.join(",")
                ))
            }),
        ),
        (
            "`current_participant_range_gte=1`".into(),
            fixed("/v1/rooms?current_participant_range_gte=1"),
        ),
        (
            "`current_participant_range_gte=3&type=small_room_for_video`".into(),
            fixed("/v1/rooms?current_participant_range_gte=3&type=small_room_for_video"),
        ),
        ("`room_ids` (3 ids)".into(), {
            let ids = ids.clone();
            Arc::new(move |rng| {
                let pick: Vec<&str> = (0..3)
                    .map(|_| ids[rng.below(ids.len() as u64) as usize].as_str())
                    .collect();
                Req::get(format!("/v1/rooms?room_ids={}", pick.join(",")))
            })
        }),
        (
            "created_at 1-hour window (random, in the past week)".into(),
            Arc::new(move |rng| {
                let (s, e) = window(rng, HOUR_MS);
                Req::get(format!(
                    "/v1/rooms?created_at_start_date={s}&created_at_end_date={e}"
                ))
            }),
        ),
        (
            "created_at 1-day window `&type=large_room_for_audio_only`".into(),
            Arc::new(move |rng| {
                let (s, e) = window(rng, 24 * HOUR_MS);
                Req::get(format!(
                    "/v1/rooms?created_at_start_date={s}&created_at_end_date={e}&type=large_room_for_audio_only"
                ))
            }),
        ),
        (
            "`next` cursor at a random depth".into(),
            Arc::new(move |rng| Req::get(format!("/v1/rooms?next={}", deep(rng)))),
        ),
        (
            "`next` cursor at a random depth `&state=deleted`".into(),
            Arc::new(move |rng| Req::get(format!("/v1/rooms?state=deleted&next={}", deep(rng)))),
        ),
    ]
}

/// Durable creates over HTTP: each 200 means the room is fsync'd.
pub async fn creates(
    out: &mut Report,
    args: &Args,
    pace: Duration,
    server: SocketAddr,
) -> anyhow::Result<()> {
    let make: MakeReq = Arc::new(|rng| {
        if rng.chance(70) {
            Req::post("/v1/rooms", r#"{"type":"small_room_for_video"}"#)
        } else {
            Req::post(
                "/v1/rooms",
                r#"{"type":"large_room_for_audio_only","custom_items":{"topic":"bench"}}"#,
            )
        }
    });
    load::run(server, timed(args.create_workers, WARMUP), make.clone()).await?;
    let s = load::run(server, timed(args.create_workers, pace), make).await?;
    check(&s, "POST /v1/rooms")?;
    eprintln!("creates: {:.0}/s", s.rps());
    out.creates = format!(
        "| durable `POST /v1/rooms` ({} connections, {}, {}) | creates/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|\n| {} s run | {:.0} | {:.2} | {:.2} | {} |\n",
        args.create_workers,
        backend(args).0,
        backend(args).1,
        pace.as_secs(),
        s.rps(),
        s.quantile_ms(0.5),
        s.quantile_ms(0.99),
        s.errors
    );
    Ok(())
}

fn check(stats: &Stats, what: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        stats.ok > 0,
        "{what}: no successful response ({} errors)",
        stats.errors
    );
    if stats.errors > 0 {
        eprintln!("warning: {what}: {} non-2xx responses", stats.errors);
    }
    Ok(())
}
