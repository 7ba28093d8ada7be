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

/// The allocator of the `opencalls` binary, so the server measured here is the one shipped
/// (the hello-world and the load generator in this process get it too).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod load;
mod report;
mod seed;
mod servers;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// The Rooms Platform API load benchmark: GET throughput against a bare axum hello-world,
/// filtered listing latency on the seeded rooms, durable creates/s.
#[derive(Parser)]
#[command(
    name = "opencalls-bench",
    after_help = "The seeded database is cached in --cache and re-seeded with --fresh or after 2 days."
)]
pub struct Args {
    /// Rooms to seed.
    #[arg(long, default_value_t = 1_000_000)]
    pub rooms: u64,
    /// Seconds per throughput and create measurement.
    #[arg(long, default_value_t = 8)]
    pub seconds: u64,
    /// Interleaved throughput rounds.
    #[arg(long, default_value_t = 2)]
    pub rounds: usize,
    /// Connections for the throughput measurement.
    #[arg(long, default_value_t = 50)]
    pub workers: usize,
    /// Requests per listing variant.
    #[arg(long, default_value_t = 500)]
    pub list_requests: u64,
    /// Connections for the listing measurement.
    #[arg(long, default_value_t = 1)]
    pub list_workers: usize,
    /// Connections for the create measurement.
    #[arg(long, default_value_t = 256)]
    pub create_workers: usize,
    /// Where the seeded database is cached.
    #[arg(long, default_value = "target/bench-cache")]
    pub cache: PathBuf,
    /// Seed again even if a cached database fits.
    #[arg(long)]
    pub fresh: bool,
    /// Benchmark on this (empty) PostgreSQL database instead of SQLite: it is seeded
    /// first (not cached), e.g. postgres://postgres@127.0.0.1:5432/bench.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Phases to run, comma-separated; all when absent.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<Phase>,
}

/// One measurement of the benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Phase {
    Throughput,
    Listings,
    Creates,
}

impl Args {
    fn runs(&self, phase: Phase) -> bool {
        self.only.is_empty() || self.only.contains(&phase)
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // The load generator gets its own runtime; each server builds its own in `servers`.
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let run_dir = args.cache.join("run");
    if run_dir.exists() {
        std::fs::remove_dir_all(&run_dir)?;
    }
    std::fs::create_dir_all(&run_dir)?;
    let seeded = match &args.database_url {
        Some(url) => seed::postgres(url, args.rooms).await?,
        None => {
            let seeded = seed::cached(&args.cache, args.rooms, args.fresh).await?;
            // Every run works on a fresh copy, so one run's creates don't leak into the next.
            std::fs::copy(&seeded.db, run_dir.join("opencalls.db")).context("copying the seed")?;
            seeded
        }
    };
    let hello = servers::hello()?;
    let server = servers::opencalls(&run_dir, load::TOKEN, args.database_url.as_deref())?;
    let mut out = report::Report::new(&args, &seeded);
    let pace = Duration::from_secs(args.seconds);
    if args.runs(Phase::Throughput) {
        report::throughput(&mut out, &args, pace, hello.addr, server.addr, &seeded).await?;
    }
    if args.runs(Phase::Listings) {
        report::listings(&mut out, &args, server.addr, &seeded).await?;
    }
    if args.runs(Phase::Creates) {
        report::creates(&mut out, &args, pace, server.addr).await?;
    }
    drop(server);
    drop(hello);
    println!("{}", out.render());
    Ok(())
}
