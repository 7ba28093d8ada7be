//! The node's lease, and the clean-up of nodes whose lease ran out.
//!
//! Every [`ClusterConfig::check_every`] the node claims the nodes whose lease ran out, and
//! at least every [`ClusterConfig::renew_every`] it renews its own (recorded for
//! [`ClusterConfig::recorded_lease`], so a dead node is claimed within the configured lease
//! of its death); the store hands each dead node to exactly one live claimer at a time,
//! whose `on_dead` carries out its clean-up (it must not wait long: it spawns what does)
//! and then forgets the dead node; a dead node whose claimer dies before that is claimed
//! again by another survivor.
//!
//! Self-fencing: a node that has not managed to renew for [`ClusterConfig::fence_after`]
//! (e.g. cut off from the database) tells `on_evicted(true)` *before* its record runs out
//! and a survivor may claim it (the server closes its WebSockets, drops its media groups
//! and refuses new connections, so its devices reconnect to live nodes and resume there);
//! so does a node that finds itself declared dead. Every store call of the loop is bounded
//! by that deadline, so a call stuck on a cut connection never delays it. A fenced node
//! tells `on_evicted(false)` once a renewal succeeds (its record had not run out) or, if it
//! was declared dead, once it registered again after the survivor's clean-up. Store errors
//! are logged and retried at the next check; they never end the loop.

use crate::{ClusterConfig, millis};
use opencalls_runtime::Clock;
use opencalls_store::{ClusterStore, NodeId, NodeLease, StoreError};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The clean-up of a node found dead (exactly one survivor runs it per dead node).
pub type OnDead = Arc<dyn Fn(NodeLease) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Told `true` when this node finds itself declared dead, `false` once it registered
/// again (it must not block).
pub type OnEvicted = Arc<dyn Fn(bool) + Send + Sync>;

/// What the membership calls back.
pub struct Hooks {
    pub on_dead: OnDead,
    pub on_evicted: OnEvicted,
}

/// This node's membership; [`Membership::leave`] ends it cleanly.
pub struct Membership {
    cluster: Arc<dyn ClusterStore>,
    node_id: NodeId,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Drop for Membership {
    /// Dropped without `leave` (the server future was cancelled): stop renewing, like a
    /// crash; the lease runs out and a survivor cleans up.
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Membership {
    /// Registers the node (errors surface here, at start) and keeps its lease alive.
    pub async fn join(
        cluster: Arc<dyn ClusterStore>,
        clock: Arc<dyn Clock>,
        config: ClusterConfig,
        hooks: Hooks,
    ) -> Result<Self, StoreError> {
        let lease = millis(config.recorded_lease());
        let sent = Instant::now();
        let registered = cluster
            .register_node(&config.node, clock.now(), lease)
            .await?;
        if !registered {
            return Err(StoreError::Backend(format!(
                "node id {} is being cleaned up after",
                config.node.node_id
            )));
        }
        tracing::info!(node = %config.node.node_id, "joined the cluster");
        let (stop, stopped) = watch::channel(false);
        let node_id = config.node.node_id.clone();
        let task = tokio::spawn(run(cluster.clone(), clock, config, hooks, (sent, stopped)));
        Ok(Self {
            cluster,
            node_id,
            stop,
            task: Some(task),
        })
    }

    pub fn node_id(&self) -> &NodeId {
        &self.node_id
    }

    /// Stops renewing and leaves at once, so nobody waits for the lease to run out.
    pub async fn leave(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Err(err) = self.cluster.leave_cluster(&self.node_id).await {
            tracing::warn!(%err, "leaving the cluster failed; the lease will run out");
        }
    }
}

async fn run(
    cluster: Arc<dyn ClusterStore>,
    clock: Arc<dyn Clock>,
    config: ClusterConfig,
    hooks: Hooks,
    (registered, mut stopped): (Instant, watch::Receiver<bool>),
) {
    let lease = millis(config.recorded_lease());
    let check = config.check_every();
    let mut fence = Fence::new(config.fence_after(), hooks.on_evicted.clone(), registered);
    let mut tick = tokio::time::interval(check);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut tried = Instant::now();
    let mut failed = false;
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = tick.tick() => {}
            _ = tokio::time::sleep_until(fence.deadline()), if !fence.fenced => {
                fence.fence_now();
                continue;
            }
        }
        // On the last check before a third of the lease has passed since the last try,
        // or on every check while renewing fails.
        if failed || tried.elapsed() + check >= config.renew_every() {
            tried = Instant::now();
            let renewing = renew(&*cluster, &*clock, &config, lease);
            let renewal = fence.bounded(renewing, config.renew_every()).await;
            let renewal = renewal.unwrap_or(Renewal::Failed);
            failed = renewal == Renewal::Failed;
            fence.track(renewal, tried);
        }
        let claiming = cluster.claim_dead_nodes(&config.node.node_id, clock.now());
        match fence.bounded(claiming, check).await {
            Some(Ok(dead)) => {
                for node in dead {
                    tracing::warn!(node = %node.info.node_id, "a node's lease ran out; cleaning up after it");
                    (hooks.on_dead)(node).await;
                }
            }
            Some(Err(err)) => tracing::error!(%err, "looking for dead nodes failed"),
            None => tracing::warn!("looking for dead nodes timed out"),
        }
    }
}

/// What a renewal found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Renewal {
    Renewed,
    /// The node had been declared dead and cleaned up after: it registered again.
    Rejoined,
    /// The node is declared dead and a survivor is cleaning up after it (or registering
    /// again failed): it tries again at the next renewal.
    Waiting,
    /// The store failed (or did not answer in time): nothing is known.
    Failed,
}

/// Whether this node acts as a live one, and when it must stop: a node fences itself
/// (`on_evicted(true)`) when it finds itself declared dead, or when
/// [`ClusterConfig::fence_after`] has passed since it sent its last successful renewal
/// (survivors may claim it soon after); it is live again (`on_evicted(false)`) once a
/// renewal succeeds or it registered again.
struct Fence {
    after: Duration,
    on_evicted: OnEvicted,
    /// When the last successful renewal was sent (or the node registered).
    renewed: Instant,
    fenced: bool,
}

impl Fence {
    fn new(after: Duration, on_evicted: OnEvicted, registered: Instant) -> Self {
        Self {
            after,
            on_evicted,
            renewed: registered,
            fenced: false,
        }
    }

    /// When the node fences itself unless a renewal succeeds first.
    fn deadline(&self) -> Instant {
        self.renewed + self.after
    }

    fn fence_now(&mut self) {
        if !self.fenced {
            tracing::warn!(
                after_ms = self.after.as_millis() as u64,
                "this node could not renew its lease in time; it stops acting as a live node before a survivor may claim it"
            );
            self.fenced = true;
            (self.on_evicted)(true);
        }
    }

    fn unfence(&mut self) {
        if self.fenced {
            self.fenced = false;
            (self.on_evicted)(false);
        }
    }

    /// Runs a store call, but never past the fence deadline while the node is live (a
    /// call stuck on a cut connection must not delay fencing), nor longer than `limit`
    /// once it is fenced. `None` if it did not finish in time.
    async fn bounded<T>(&self, call: impl Future<Output = T>, limit: Duration) -> Option<T> {
        let until = if self.fenced {
            Instant::now() + limit
        } else {
            self.deadline()
        };
        tokio::time::timeout_at(until, call).await.ok()
    }

    /// Acts on a renewal sent at `sent`.
    fn track(&mut self, renewal: Renewal, sent: Instant) {
        match renewal {
            Renewal::Failed => {
                if Instant::now() >= self.deadline() {
                    self.fence_now();
                }
            }
            Renewal::Renewed => {
                self.renewed = sent;
                self.unfence();
            }
            Renewal::Rejoined => {
                // Declared dead and cleaned up between two renewals: fenced all the same.
                self.fence_now();
                self.renewed = sent;
                self.unfence();
            }
            Renewal::Waiting => self.fence_now(),
        }
    }
}

/// Renews the lease, or registers again if the node was declared dead and its clean-up is
/// done.
async fn renew(
    cluster: &dyn ClusterStore,
    clock: &dyn Clock,
    config: &ClusterConfig,
    lease: i64,
) -> Renewal {
    let node = &config.node;
    match cluster
        .renew_node_lease(&node.node_id, clock.now(), lease)
        .await
    {
        Ok(true) => Renewal::Renewed,
        Ok(false) => match cluster.register_node(node, clock.now(), lease).await {
            Ok(true) => {
                tracing::warn!(node = %node.node_id, "this node was declared dead; registered again");
                Renewal::Rejoined
            }
            Ok(false) => {
                tracing::warn!(node = %node.node_id, "this node was declared dead; registering again once a survivor has cleaned up after it");
                Renewal::Waiting
            }
            Err(err) => {
                tracing::error!(%err, "registering the node again failed");
                Renewal::Waiting
            }
        },
        Err(err) => {
            tracing::error!(%err, "renewing the node's lease failed");
            Renewal::Failed
        }
    }
}
