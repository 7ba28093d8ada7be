//! Liveness of the server's long-running parts (the store's writer thread, the SFU's media
//! thread, the workers), for `/healthz` and `/readyz`.
//!
//! Invariant: a part is healthy only while its check says so; the checks are cheap, never
//! block and are asked on every probe, so a thread that died shows at the next probe.

use std::sync::{Arc, RwLock};

type Check = Arc<dyn Fn() -> bool + Send + Sync>;

/// The registered checks, shared by everyone holding a clone.
#[derive(Clone, Default)]
pub struct Health {
    checks: Arc<RwLock<Vec<(&'static str, Check)>>>,
}

impl Health {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the part `name`, healthy while `check` answers `true`.
    pub fn register(&self, name: &'static str, check: impl Fn() -> bool + Send + Sync + 'static) {
        self.checks
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push((name, Arc::new(check)));
    }

    /// Every part with whether it is healthy now, in registration order.
    pub fn report(&self) -> Vec<(&'static str, bool)> {
        let checks = self.checks.read().unwrap_or_else(|e| e.into_inner());
        checks
            .iter()
            .map(|(name, check)| (*name, check()))
            .collect()
    }

    /// Whether every part is healthy.
    pub fn is_healthy(&self) -> bool {
        self.report().iter().all(|(_, ok)| *ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn a_failing_part_makes_the_whole_unhealthy() {
        let health = Health::new();
        assert!(health.is_healthy(), "nothing registered is healthy");
        let alive = Arc::new(AtomicBool::new(true));
        let probe = alive.clone();
        health.register("writer", move || probe.load(Ordering::Relaxed));
        assert!(health.is_healthy());
        alive.store(false, Ordering::Relaxed);
        assert_eq!(health.report(), vec![("writer", false)]);
        assert!(!health.is_healthy());
    }
}
