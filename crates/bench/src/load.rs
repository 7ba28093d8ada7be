//! A small closed-loop HTTP/1.1 load generator on hyper.
//!
//! Each worker owns one keep-alive connection and sends its next request as soon as the
//! previous response body has been read completely, so `workers` is the number of requests
//! in flight. Latency is measured per request from send to last body byte; a run stops at
//! its deadline or after `max_requests` responses, whichever comes first.

use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// The API token the benchmarked server is configured with.
pub const TOKEN: &str = "bench-master-token-0123456789abcdef";

/// One request to send: method, path and query, optional JSON body.
pub struct Req {
    pub method: Method,
    pub path: String,
    pub body: Option<Bytes>,
}

impl Req {
    pub fn get(path: impl Into<String>) -> Self {
        Self {
            method: Method::GET,
            path: path.into(),
            body: None,
        }
    }

    pub fn post(path: impl Into<String>, body: &'static str) -> Self {
        Self {
            method: Method::POST,
            path: path.into(),
            body: Some(Bytes::from_static(body.as_bytes())),
        }
    }
}

/// Makes the next request of a worker from its own random stream.
pub type MakeReq = Arc<dyn Fn(&mut Rng) -> Req + Send + Sync>;

/// How long and how hard to drive a target.
#[derive(Clone, Copy)]
pub struct Load {
    pub workers: usize,
    pub duration: Duration,
    pub max_requests: u64,
}

/// What one run measured.
pub struct Stats {
    pub ok: u64,
    pub errors: u64,
    pub elapsed: Duration,
    /// Latencies of the successful requests, in microseconds, sorted.
    pub latencies_us: Vec<u64>,
}

impl Stats {
    pub fn rps(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    /// The `q` quantile (0..=1) of the latency, in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let rank = ((self.latencies_us.len() as f64 - 1.0) * q).round() as usize;
        self.latencies_us[rank] as f64 / 1000.0
    }
}

/// Drives `addr` with `load.workers` connections sending what `make` produces.
pub async fn run(addr: SocketAddr, load: Load, make: MakeReq) -> anyhow::Result<Stats> {
    let sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + load.duration;
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..load.workers {
        let (make, sent) = (make.clone(), sent.clone());
        let mut rng =
            Rng::new(0x9e37_79b9 ^ (worker as u64) << 20 ^ started.elapsed().as_nanos() as u64);
        tasks.spawn(async move {
            worker_loop(addr, deadline, load.max_requests, &sent, &make, &mut rng).await
        });
    }
    let mut stats = Stats {
        ok: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latencies_us: Vec::new(),
    };
    while let Some(joined) = tasks.join_next().await {
        let (lat, errors) = joined.context("load worker panicked")??;
        stats.ok += lat.len() as u64;
        stats.errors += errors;
        stats.latencies_us.extend(lat);
    }
    stats.elapsed = started.elapsed();
    stats.latencies_us.sort_unstable();
    Ok(stats)
}

async fn worker_loop(
    addr: SocketAddr,
    deadline: Instant,
    max_requests: u64,
    sent: &AtomicU64,
    make: &MakeReq,
    rng: &mut Rng,
) -> anyhow::Result<(Vec<u64>, u64)> {
    let stream = TcpStream::connect(addr).await.context("connecting")?;
    stream.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let host = addr.to_string();
    let (mut latencies, mut errors) = (Vec::with_capacity(4096), 0u64);
    while Instant::now() < deadline && sent.fetch_add(1, Ordering::Relaxed) < max_requests {
        let req = make(rng);
        let mut builder = Request::builder()
            .method(req.method)
            .uri(req.path)
            .header("host", &host)
            .header("api-token", TOKEN);
        if req.body.is_some() {
            builder = builder.header("content-type", "application/json");
        }
        let request = builder.body(Full::new(req.body.unwrap_or_default()))?;
        let begun = Instant::now();
        sender.ready().await.context("connection closed")?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        response.into_body().collect().await?;
        if status.is_success() {
            latencies.push(begun.elapsed().as_micros() as u64);
        } else {
            errors += 1;
        }
    }
    Ok((latencies, errors))
}

/// splitmix64: a tiny deterministic generator, enough for picking ids and mixes.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}
