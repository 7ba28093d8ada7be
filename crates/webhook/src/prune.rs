//! Retention: old webhook events and their delivery-log rows are deleted, so the outbox and
//! the log stay bounded by time instead of growing forever.
//!
//! A task of its own, beside the delivery loop (pruning a large backlog never delays a
//! delivery): at start and every `prune_interval` it walks the judged outbox from the oldest
//! event in batches of [`PRUNE_BATCH`] (one short write transaction each) and deletes what
//! the store's rule allows: events older than `retention` unless their delivery is pending,
//! failed deliveries only after `failed_retention`. Times come from the runtime clock.

use crate::attempt::millis;
use opencalls_runtime::{Clock, Metrics};
use opencalls_store::Store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Events looked at per write transaction.
const PRUNE_BATCH: usize = 1000;

/// How long events are kept; see docs/configuration.md (`## Webhooks`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Retention {
    pub delivered: Duration,
    pub failed: Duration,
    pub interval: Duration,
}

/// Prunes now and every `retention.interval` until `stopped` turns true.
pub(crate) async fn run(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    metrics: Metrics,
    retention: Retention,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let deleted = prune_once(store.as_ref(), clock.as_ref(), retention).await;
        if deleted > 0 {
            tracing::info!(deleted, "pruned old webhook events");
            metrics.count(
                "opencalls_webhook_events_pruned_total",
                "Webhook events (with their delivery-log rows) deleted after their retention period.",
                vec![],
                deleted as u64,
            );
        }
        tokio::select! {
            _ = stopped.changed() => return,
            () = tokio::time::sleep(retention.interval) => {}
        }
        if *stopped.borrow() {
            return;
        }
    }
}

/// One walk over the old events; returns how many were deleted. A store error ends the
/// walk (logged); the next interval tries again.
async fn prune_once(store: &dyn Store, clock: &dyn Clock, retention: Retention) -> usize {
    let now = clock.now();
    let delivered_before = now.saturating_sub(millis(retention.delivered));
    let failed_before = now.saturating_sub(millis(retention.failed));
    let (mut after, mut deleted) = (0, 0);
    loop {
        match store
            .prune_webhook_events(after, delivered_before, failed_before, PRUNE_BATCH)
            .await
        {
            Ok(pruned) => {
                deleted += pruned.deleted;
                match pruned.next {
                    Some(next) => after = next,
                    None => return deleted,
                }
            }
            Err(err) => {
                tracing::error!(%err, "pruning old webhook events failed");
                return deleted;
            }
        }
    }
}
