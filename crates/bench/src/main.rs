//! `opencalls-bench`: the Rooms Platform API load benchmark.
//!
//! In one process and one run it measures, all over 127.0.0.1:
//! 1. throughput of `GET /v1/rooms/{id}` against a bare axum hello-world (same axum, same
//!    runtime settings), interleaved in rounds and reported as a ratio, because the machine
//!    is shared and absolute numbers drift;
//! 2. p50/p99 latency of filtered `GET /v1/rooms` variants with the seeded rooms in store;
//! 3. durable room creates per second through `POST /v1/rooms` (acknowledged = fsync'd).
//!
//! The load generator shares the CPU with the servers, so absolute req/s understate what a
//! dedicated server would do; ratios within one run are the meaningful numbers.
#![forbid(unsafe_code)]

mod load;
mod report;
mod seed;
mod servers;

use anyhow::Context;
use std::path::PathBuf;
use std::time::Duration;

const USAGE: &str = "usage: opencalls-bench [--rooms N] [--seconds S] [--rounds R] [--workers W]
                       [--list-requests N] [--list-workers W] [--create-workers W]
                       [--cache DIR] [--fresh] [--only throughput,listings,creates]

Defaults: 1,000,000 rooms, 8 s per throughput measurement, 2 rounds, 50 connections,
500 requests per listing variant on 1 connection, 256 connections for creates, seeded
database cached in target/bench-cache (re-seeded with --fresh or after 2 days).";

/// Command-line settings.
pub struct Args {
    pub rooms: u64,
    pub seconds: u64,
    pub rounds: usize,
    pub workers: usize,
    pub list_requests: u64,
    pub list_workers: usize,
    pub create_workers: usize,
    pub cache: PathBuf,
    pub fresh: bool,
    /// Phases to run (`throughput`, `listings`, `creates`); all when empty.
    pub only: Vec<String>,
}

impl Args {
    fn runs(&self, phase: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|p| p == phase)
    }
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        rooms: 1_000_000,
        seconds: 8,
        rounds: 2,
        workers: 50,
        list_requests: 500,
        list_workers: 1,
        create_workers: 256,
        cache: PathBuf::from("target/bench-cache"),
        fresh: false,
        only: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--rooms" => args.rooms = value()?.parse()?,
            "--seconds" => args.seconds = value()?.parse()?,
            "--rounds" => args.rounds = value()?.parse()?,
            "--workers" => args.workers = value()?.parse()?,
            "--list-requests" => args.list_requests = value()?.parse()?,
            "--list-workers" => args.list_workers = value()?.parse()?,
            "--create-workers" => args.create_workers = value()?.parse()?,
            "--cache" => args.cache = PathBuf::from(value()?),
            "--fresh" => args.fresh = true,
            "--only" => args.only = value()?.split(',').map(str::to_owned).collect(),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => anyhow::bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    Ok(args)
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    // The load generator gets its own runtime; each server builds its own in `servers`.
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let seeded = seed::cached(&args.cache, args.rooms, args.fresh).await?;
    // Every run works on a fresh copy, so the creates of one run don't leak into the next.
    let run_dir = args.cache.join("run");
    if run_dir.exists() {
        std::fs::remove_dir_all(&run_dir)?;
    }
    std::fs::create_dir_all(&run_dir)?;
    std::fs::copy(&seeded.db, run_dir.join("opencalls.db")).context("copying the seed")?;
    let hello = servers::hello()?;
    let server = servers::opencalls(&run_dir, load::TOKEN)?;
    let mut out = report::Report::new(&args, &seeded);
    let pace = Duration::from_secs(args.seconds);
    if args.runs("throughput") {
        report::throughput(&mut out, &args, pace, hello.addr, server.addr, &seeded).await?;
    }
    if args.runs("listings") {
        report::listings(&mut out, &args, server.addr, &seeded).await?;
    }
    if args.runs("creates") {
        report::creates(&mut out, &args, pace, server.addr).await?;
    }
    drop(server);
    drop(hello);
    println!("{}", out.render());
    Ok(())
}
