//! Per-user and per-connection limits of the client protocol (docs/security.md, "Limits").
//!
//! Invariants: a request over a limit is refused before it changes anything (`429100`),
//! and the connection stays usable; every limiter is bounded in memory (buckets refilled to
//! the brim are forgotten, and a keyed limiter holds at most [`MAX_KEYS`] keys).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most keys (users, IP addresses) a keyed limiter remembers at once.
pub const MAX_KEYS: usize = 100_000;

/// The limits, each with its default (see docs/configuration.md).
#[derive(Clone, Debug, PartialEq)]
pub struct Limits {
    /// Devices (`client_id`s) one user may have registered at once (connected, or waiting
    /// out the reconnect grace).
    pub devices_per_user: usize,
    /// Live-event seats (host or participant) one user may hold at once, all devices together.
    pub live_seats_per_user: usize,
    /// Seats of one user that may carry a media peer at once, all devices together.
    pub media_peers_per_user: usize,
    /// State-changing requests per second on one connection (bursts of twice as many).
    pub requests_per_sec: u32,
    /// `media.offer` requests per minute on one connection (bursts of a sixth as many, at
    /// least 1).
    pub media_offers_per_min: u32,
    /// `POST /v1/auth/session` per minute for one claimed user id.
    pub session_opens_per_min_per_user: u32,
    /// `POST /v1/auth/session` per minute from one client IP address.
    pub session_opens_per_min_per_ip: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            devices_per_user: 16,
            live_seats_per_user: 16,
            media_peers_per_user: 16,
            requests_per_sec: 20,
            media_offers_per_min: 60,
            session_opens_per_min_per_user: 30,
            session_opens_per_min_per_ip: 300,
        }
    }
}

impl Limits {
    pub(crate) fn requests(&self) -> Rate {
        let per_sec = f64::from(self.requests_per_sec);
        Rate::new(per_sec, per_sec * 2.0)
    }

    pub(crate) fn offers(&self) -> Rate {
        let per_min = f64::from(self.media_offers_per_min);
        Rate::new(per_min / 60.0, (per_min / 6.0).max(1.0))
    }

    pub(crate) fn session_opens_per_user(&self) -> Rate {
        per_minute(self.session_opens_per_min_per_user)
    }

    pub(crate) fn session_opens_per_ip(&self) -> Rate {
        per_minute(self.session_opens_per_min_per_ip)
    }
}

/// `n` per minute, bursts of `n`.
fn per_minute(n: u32) -> Rate {
    let n = f64::from(n);
    Rate::new(n / 60.0, n)
}

/// A sustained rate and the burst allowed after a quiet spell.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rate {
    per_sec: f64,
    burst: f64,
}

impl Rate {
    fn new(per_sec: f64, burst: f64) -> Self {
        Self {
            per_sec,
            burst: burst.max(1.0),
        }
    }

    /// How long an untouched bucket takes to refill to the brim.
    fn refill_time(self) -> Duration {
        if self.per_sec <= 0.0 {
            return Duration::MAX;
        }
        Duration::from_secs_f64(self.burst / self.per_sec)
    }
}

/// A token bucket: `tokens` as of `at`.
#[derive(Debug)]
pub(crate) struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    pub fn full(rate: Rate) -> Self {
        Self {
            tokens: rate.burst,
            at: Instant::now(),
        }
    }

    /// Takes a token if one is there; a refusal takes nothing.
    pub fn take(&mut self, rate: Rate) -> bool {
        let now = Instant::now();
        let refill = now.duration_since(self.at).as_secs_f64() * rate.per_sec;
        self.tokens = (self.tokens + refill).min(rate.burst);
        self.at = now;
        if self.tokens < 1.0 {
            return false;
        }
        self.tokens -= 1.0;
        true
    }
}

/// One token bucket per key (a user, an IP address), bounded in memory.
pub(crate) struct KeyedLimiter<K> {
    rate: Rate,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq> KeyedLimiter<K> {
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            buckets: Mutex::default(),
        }
    }

    /// Takes one of `key`'s tokens, or refuses (also when too many keys are remembered and
    /// none can be forgotten: refusing then is what keeps memory bounded).
    pub fn take(&self, key: K) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(&key) {
            let full = self.rate.refill_time();
            buckets.retain(|_, b| b.at.elapsed() < full);
            if buckets.len() >= MAX_KEYS {
                return false;
            }
        }
        buckets
            .entry(key)
            .or_insert_with(|| Bucket::full(self.rate))
            .take(self.rate)
    }

    /// Forgets buckets refilled to the brim: they hold nothing worth remembering.
    pub fn sweep(&self) {
        let full = self.rate.refill_time();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets.retain(|_, b| b.at.elapsed() < full);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_refusals_per_key() {
        let limiter = KeyedLimiter::new(Rate::new(0.001, 3.0));
        for _ in 0..3 {
            assert!(limiter.take("a"));
        }
        assert!(!limiter.take("a"));
        assert!(limiter.take("b"), "buckets are per key");
    }

    #[test]
    fn offers_get_a_burst_of_at_least_one() {
        let limits = Limits {
            media_offers_per_min: 1,
            ..Limits::default()
        };
        let mut bucket = Bucket::full(limits.offers());
        assert!(bucket.take(limits.offers()));
        assert!(!bucket.take(limits.offers()));
    }
}
