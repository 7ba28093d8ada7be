//! The one source of "now" for services and workers, injectable so tests control time.

use opencalls_domain::Millis;
use std::time::{SystemTime, UNIX_EPOCH};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Millis;
}

/// Wall-clock time in Unix milliseconds.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Millis {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as Millis)
            .unwrap_or(0)
    }
}

/// Wall-clock time shifted by an adjustable offset: lets tests and simulations move time
/// (e.g. create a room "three weeks ago") while the server runs normally.
#[derive(Default)]
pub struct OffsetClock {
    offset: std::sync::atomic::AtomicI64,
}

impl OffsetClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock by `delta` milliseconds (negative goes back).
    pub fn shift(&self, delta: Millis) {
        self.offset
            .fetch_add(delta, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> Millis {
        SystemClock.now() + self.offset.load(std::sync::atomic::Ordering::SeqCst)
    }
}
