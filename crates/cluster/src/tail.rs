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
//! **When it reads.** On a store that notifies (PostgreSQL), a round runs as soon as
//! something may be waiting, and otherwise only every `poll` (a slow safety net, for a
//! notification lost while the listening connection was down):
//! - after this node committed something ([`EventBus::subscribe_local`] hears it): the
//!   round's sequencing numbers it, and the sequencer's `NOTIFY opencalls_outbox` wakes the
//!   other nodes (writers do not notify: a `NOTIFY` in every write transaction would
//!   serialize their commits);
//! - when the sequencer announces a head past this tail's cursor ([`TailWaker`], fed by
//!   the node's listening connection, see `chat`).
//!
//! Wake-ups that arrive while a round runs are coalesced into one next round, which starts
//! no sooner than `MIN_ROUND_GAP` after the last one began. An idle cluster then reads
//! nothing but the safety-net poll.
//!
//! Catch-ups are shared: every device that enters a room asks for one, and a round per ask
//! made every enter of a node queue behind the one before it (about 240 enters/s on
//! PostgreSQL whatever the load). A caller that waited for the cursor while another
//! caller's round ran is done if that round began after it asked: the round read
//! everything committed before it began, which is what the caller needed.

use opencalls_domain::Event;
use opencalls_runtime::{Clock, EventBus, Metrics};
use opencalls_store::{ClusterStore, NodeId, StoreError};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::broadcast::error::TryRecvError;
use tokio::sync::{Notify, broadcast, watch};
use tokio::task::JoinHandle;

/// Events read per store call; a full batch is followed by the next one at once.
const BATCH: usize = 512;

/// The least time from the start of one woken round to the next: a busy node's wake-ups
/// (one per commit) then cost at most 100 rounds a second, as the old 10 ms poll did,
/// instead of a round after every other; the first wake-up after a quiet spell is served
/// at once.
const MIN_ROUND_GAP: Duration = Duration::from_millis(10);

/// A running tailer; [`Tailer::stop`] ends it.
pub struct Tailer {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    waker: TailWaker,
}

/// Wakes the tail when the outbox has something for it (cheap to clone).
#[derive(Clone, Default)]
pub struct TailWaker {
    wake: Arc<Notify>,
    /// The tail's cursor as of its last round.
    cursor: Arc<AtomicI64>,
}

impl TailWaker {
    /// The sequencer numbered events up to `head`: the tail reads unless it has already.
    pub fn sequenced(&self, head: i64) {
        if head > self.cursor.load(Ordering::SeqCst) {
            self.wake.notify_one();
        }
    }

    /// Something may have been missed (the listening connection was down): read now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
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

/// How the tail is woken besides its poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wakes {
    /// Only the poll (a store that cannot notify; a one-process store has nothing to read).
    PollOnly,
    /// Also this node's commits and [`TailWaker`] (a store that notifies).
    OnCommit,
}

impl Tailer {
    /// Starts tailing after the current outbox head, reading every `poll` and when woken.
    pub async fn start(
        cluster: Arc<dyn ClusterStore>,
        node_id: NodeId,
        poll: Duration,
        wakes: Wakes,
        target: TailTarget,
    ) -> Result<Self, StoreError> {
        let after = cluster.outbox_head().await?;
        let (stop, stopped) = watch::channel(false);
        let waker = TailWaker::default();
        waker.cursor.store(after, Ordering::SeqCst);
        let commits = (wakes == Wakes::OnCommit).then(|| target.bus.subscribe_local());
        let tail = Arc::new(Tail {
            cluster,
            node_id,
            target,
            after: tokio::sync::Mutex::new(after),
            cursor: waker.cursor.clone(),
            asked: AtomicU64::new(0),
            served: AtomicU64::new(0),
        });
        let wake = Wake {
            poll,
            woken: waker.wake.clone(),
            commits,
        };
        let task = tokio::spawn(run(tail, wake, stopped));
        Ok(Self {
            stop,
            task: Some(task),
            waker,
        })
    }

    /// What wakes this tail when the sequencer announces a new head.
    pub fn waker(&self) -> TailWaker {
        self.waker.clone()
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
    /// A copy of `after` readable without the lock (see [`TailWaker::sequenced`]).
    cursor: Arc<AtomicI64>,
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
                self.cursor.store(*after, Ordering::SeqCst);
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

/// What starts a round besides a full batch.
struct Wake {
    poll: Duration,
    woken: Arc<Notify>,
    /// This node's committed events, when its commits wake the tail.
    commits: Option<broadcast::Receiver<Arc<Event>>>,
}

impl Wake {
    /// Returns when the poll is due or something woke the tail; then drops the wake-ups
    /// queued so far (the round that follows covers them).
    async fn next(&mut self) {
        tokio::select! {
            () = tokio::time::sleep(self.poll) => {}
            () = self.woken.notified() => {}
            () = committed(&mut self.commits) => {}
        }
        if let Some(commits) = &mut self.commits {
            while !matches!(
                commits.try_recv(),
                Err(TryRecvError::Empty | TryRecvError::Closed)
            ) {}
        }
    }
}

/// Returns when this node committed something (never without a subscription).
async fn committed(commits: &mut Option<broadcast::Receiver<Arc<Event>>>) {
    let Some(commits) = commits else {
        return std::future::pending().await;
    };
    match commits.recv().await {
        // Lagged: events were committed, which is all this needs to know.
        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
        Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
    }
}

async fn run(tail: Arc<Tail>, mut wake: Wake, mut stopped: watch::Receiver<bool>) {
    let bus = tail.target.bus.clone();
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
    let mut began = tokio::time::Instant::now();
    loop {
        if !full {
            tokio::select! {
                _ = stopped.changed() => return,
                () = wake.next() => {}
            }
            // Woken again right after a round: let the next round gather more.
            tokio::time::sleep_until(began + MIN_ROUND_GAP).await;
        }
        began = tokio::time::Instant::now();
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
