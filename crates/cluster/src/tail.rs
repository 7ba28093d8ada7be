//! Other nodes' committed events onto the local `EventBus`.
//!
//! The tailer starts at the outbox head (a node hears what is committed after it started,
//! like a WebSocket hears what happens after it connected) and reads forward from the
//! store's `through` mark, which never passes an event that could still commit, so no
//! event is skipped and each stream keeps its commit order. Its own node's events are
//! left out: the services publish those right after their commit. Each published event's
//! age (now − `occurred_at`) is observed as `opencalls_cluster_event_delay_seconds`.
//! Rounds are serialized by the cursor's lock: the poll loop and `EventBus::catch_up`
//! (which runs one round at once) never publish an event twice or out of order.
//!
//! Catch-ups are shared: every device that enters a room asks for one, and a round per ask
//! made every enter of a node queue behind the one before it (about 240 enters/s on
//! PostgreSQL whatever the load). A caller that waited for the cursor while another
//! caller's round ran is done if that round began after it asked: the round read
//! everything committed before it began, which is what the caller needed.

use opencalls_runtime::{Clock, EventBus, Metrics};
use opencalls_store::{ClusterStore, NodeId, StoreError};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Events read per store call; a full batch is followed by the next one at once.
const BATCH: usize = 512;

/// A running tailer; [`Tailer::stop`] ends it.
pub struct Tailer {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Drop for Tailer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Where the tailer publishes and what it reports to.
pub struct TailTarget {
    pub bus: EventBus,
    pub metrics: Metrics,
    pub clock: Arc<dyn Clock>,
}

impl Tailer {
    /// Starts tailing after the current outbox head, reading every `poll`.
    pub async fn start(
        cluster: Arc<dyn ClusterStore>,
        node_id: NodeId,
        poll: Duration,
        target: TailTarget,
    ) -> Result<Self, StoreError> {
        let after = cluster.outbox_head().await?;
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(run(cluster, node_id, after, poll, target, stopped));
        Ok(Self {
            stop,
            task: Some(task),
        })
    }

    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// The tail's cursor and where it publishes; one round at a time.
struct Tail {
    cluster: Arc<dyn ClusterStore>,
    node_id: NodeId,
    target: TailTarget,
    after: tokio::sync::Mutex<i64>,
    /// Catch-ups asked for so far (each caller's ticket is the count after its own).
    asked: AtomicU64,
    /// Every ticket up to this one is served: a round that began after it was asked ended.
    served: AtomicU64,
}

impl Tail {
    /// Reads and publishes one batch; `true` if the batch was full (more may wait).
    async fn round(&self) -> bool {
        let mut after = self.after.lock().await;
        self.read(&mut after).await.unwrap_or(false)
    }

    /// Publishes everything other nodes committed before this call, sharing the rounds of
    /// concurrent callers (see the module docs).
    async fn catch_up(&self) {
        let ticket = self.asked.fetch_add(1, Ordering::SeqCst) + 1;
        let mut after = self.after.lock().await;
        if self.served.load(Ordering::SeqCst) >= ticket {
            return;
        }
        // Asked before this round begins, so this round serves them.
        let serves = self.asked.load(Ordering::SeqCst);
        loop {
            match self.read(&mut after).await {
                Ok(true) => continue,
                Ok(false) => break,
                // Not served: the callers waiting behind this one read for themselves.
                Err(()) => return,
            }
        }
        self.served.fetch_max(serves, Ordering::SeqCst);
    }

    /// One batch from the cursor `after` (held by the caller); `Ok(true)` if it was full.
    async fn read(&self, after: &mut i64) -> Result<bool, ()> {
        match self
            .cluster
            .events_from_other_nodes(&self.node_id, *after, BATCH)
            .await
        {
            Ok(tail) => {
                let full = tail.events.len() >= BATCH;
                *after = tail.through.max(*after);
                publish(
                    &self.target,
                    tail.events.into_iter().map(|(_, e)| e).collect(),
                );
                Ok(full)
            }
            Err(err) => {
                tracing::error!(%err, "reading other nodes' events failed");
                Err(())
            }
        }
    }
}

async fn run(
    cluster: Arc<dyn ClusterStore>,
    node_id: NodeId,
    after: i64,
    poll: Duration,
    target: TailTarget,
    mut stopped: watch::Receiver<bool>,
) {
    let bus = target.bus.clone();
    let tail = Arc::new(Tail {
        cluster,
        node_id,
        target,
        after: tokio::sync::Mutex::new(after),
        asked: AtomicU64::new(0),
        served: AtomicU64::new(0),
    });
    let weak = Arc::downgrade(&tail);
    bus.set_catch_up(Arc::new(move || {
        let tail = weak.upgrade();
        Box::pin(async move {
            if let Some(tail) = tail {
                tail.catch_up().await;
            }
        })
    }));
    let mut full = false;
    loop {
        if !full {
            tokio::select! {
                _ = stopped.changed() => return,
                () = tokio::time::sleep(poll) => {}
            }
        }
        full = tail.round().await;
    }
}

fn publish(target: &TailTarget, events: Vec<opencalls_domain::Event>) {
    if events.is_empty() {
        return;
    }
    let now = target.clock.now();
    for event in &events {
        target.metrics.observe(
            "opencalls_cluster_event_delay_seconds",
            "From an event's occurrence on another node to its publication on this one.",
            vec![],
            (now - event.occurred_at).max(0) as f64 / 1000.0,
        );
    }
    target.bus.publish_relayed(events);
}
