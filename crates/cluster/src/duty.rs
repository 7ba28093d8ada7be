//! Cluster-wide singletons: work that must run on exactly one live node (webhook
//! delivery, whose per-stream order and "once in normal operation" need one deliverer).
//!
//! Every third of the lease the node tries to take or renew the duty's lease. It starts
//! the work when it gets the duty and stops it when another node holds it, or when it could
//! not renew for two thirds of the lease (e.g. cut off from the database), so it stops
//! before anyone else can take over. A handover can repeat an attempt whose outcome was not
//! recorded yet: at-least-once across node deaths, never a lost delivery.

use crate::millis;
use async_trait::async_trait;
use opencalls_runtime::Clock;
use opencalls_store::{ClusterStore, NodeId, StoreError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The running work of a duty.
#[async_trait]
pub trait DutyWork: Send {
    /// Stops it (may wait for work in flight).
    async fn stop(self: Box<Self>);
}

/// Starts the duty's work; `None` if it could not start (retried next round).
pub type StartDuty = Box<dyn Fn() -> Option<Box<dyn DutyWork>> + Send + Sync>;

/// A duty this node competes for; [`Duty::stop`] stops its work and releases it.
pub struct Duty {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Drop for Duty {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Who competes for a duty, and for how long a lease on it lasts.
pub struct Contender {
    pub cluster: Arc<dyn ClusterStore>,
    pub clock: Arc<dyn Clock>,
    pub node_id: NodeId,
    pub lease: Duration,
}

impl Duty {
    pub fn spawn(name: &'static str, contender: Contender, start: StartDuty) -> Self {
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(name, contender, start, stopped));
        Self {
            stop,
            task: Some(task),
        }
    }

    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

async fn run(
    name: &'static str,
    c: Contender,
    start: StartDuty,
    mut stopped: watch::Receiver<bool>,
) {
    let lease = millis(c.lease);
    let mut tick = tokio::time::interval((c.lease / 3).max(Duration::from_millis(10)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut work: Option<Box<dyn DutyWork>> = None;
    let mut held_at = Instant::now();
    loop {
        tokio::select! {
            _ = stopped.changed() => break,
            _ = tick.tick() => {}
        }
        // The lease runs from before the call is sent; a call stuck on a cut connection
        // must not keep the work running past two thirds of it.
        let sent = Instant::now();
        let holding = c.cluster.hold_duty(name, &c.node_id, c.clock.now(), lease);
        let until = if work.is_some() {
            held_at + c.lease * 2 / 3
        } else {
            sent + c.lease / 3
        };
        let held = tokio::time::timeout_at(until.into(), holding).await;
        match held.unwrap_or_else(|_| Err(StoreError::Backend("no answer in time".into()))) {
            Ok(true) => {
                held_at = sent;
                if work.is_none() {
                    work = start();
                    if work.is_some() {
                        tracing::info!(duty = name, node = %c.node_id, "took over the duty");
                    }
                }
            }
            Ok(false) => {
                if let Some(w) = work.take() {
                    tracing::warn!(duty = name, "another node holds the duty; stopping it here");
                    w.stop().await;
                }
            }
            Err(err) => tracing::error!(%err, duty = name, "renewing the duty failed"),
        }
        if work.is_some() && held_at.elapsed() > c.lease * 2 / 3 {
            tracing::warn!(
                duty = name,
                "could not renew the duty in time; stopping it here"
            );
            if let Some(w) = work.take() {
                w.stop().await;
            }
        }
    }
    if let Some(w) = work.take() {
        w.stop().await;
    }
    if let Err(err) = c.cluster.release_duty(name, &c.node_id).await {
        tracing::warn!(%err, duty = name, "releasing the duty failed; its lease will run out");
    }
}
