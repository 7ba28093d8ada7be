//! A webhook receiver for tests: a real HTTP server on 127.0.0.1 that records every request
//! and answers as the test tells it (status and delay per request number), plus an HMAC
//! check written independently of the server's (SHA-256 from `sha2`, HMAC by hand).

use crate::poll;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How to answer request number `n` (0-based): status and delay before answering.
pub type Behavior = dyn Fn(usize) -> (u16, Duration) + Send + Sync;

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Hit {
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub json: Value,
    pub at: Instant,
}

impl Hit {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn category(&self) -> &str {
        self.json["category"].as_str().unwrap_or("")
    }

    pub fn delivery_id(&self) -> &str {
        self.header("x-opencalls-delivery-id")
    }
}

/// The number of distinct deliveries (by delivery id) among `hits`.
pub fn distinct(hits: &[Hit]) -> usize {
    let mut ids: Vec<&str> = hits.iter().map(Hit::delivery_id).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.len()
}

struct Shared {
    hits: Mutex<Vec<Hit>>,
    behavior: Box<Behavior>,
}

/// The running receiver; stops when dropped.
pub struct Receiver {
    pub url: String,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    /// Answers 200 at once.
    pub async fn ok() -> Self {
        Self::start(|_| (200, Duration::ZERO)).await
    }

    pub async fn start(
        behavior: impl Fn(usize) -> (u16, Duration) + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        Self::start_on(listener, behavior)
    }

    /// On a listener the test bound itself (e.g. to know the URL before the receiver runs).
    pub fn start_on(
        listener: TcpListener,
        behavior: impl Fn(usize) -> (u16, Duration) + Send + Sync + 'static,
    ) -> Self {
        let address = listener.local_addr().expect("receiver address");
        let url = format!("http://{address}/hook");
        let shared = Arc::new(Shared {
            hits: Mutex::new(Vec::new()),
            behavior: Box::new(behavior),
        });
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, shared, task }
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.shared.hits.lock().expect("hits").clone()
    }

    /// Polls until `done(hits)` holds; panics after `limit`.
    pub async fn wait_until(&self, limit: Duration, done: impl Fn(&[Hit]) -> bool) -> Vec<Hit> {
        poll::eventually("the receiver's condition", limit, async || {
            let hits = self.hits();
            if done(&hits) {
                return Ok(hits);
            }
            let categories: Vec<&str> = hits.iter().map(Hit::category).collect();
            Err(format!("{} hits: {categories:?}", hits.len()))
        })
        .await
    }
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let n = {
        let mut hits = shared.hits.lock().expect("hits");
        hits.push(Hit {
            json: serde_json::from_slice(&body).unwrap_or(Value::Null),
            headers,
            body: body.to_vec(),
            at: Instant::now(),
        });
        hits.len() - 1
    };
    let (status, delay) = (shared.behavior)(n);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    StatusCode::from_u16(status).expect("a valid status")
}

/// HMAC-SHA256 (RFC 2104) built from plain SHA-256, as lowercase hex.
pub fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&ipad)
        .chain_update(message)
        .finalize();
    let outer = Sha256::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize();
    outer.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_made_hmac_matches_rfc4231() {
        assert_eq!(
            hmac_sha256_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
