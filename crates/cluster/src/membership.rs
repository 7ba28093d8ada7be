//! The node's lease, and the clean-up of nodes whose lease ran out.
//!
//! Every [`ClusterConfig::check_every`] the node claims the nodes whose lease ran out, and
//! at least every [`ClusterConfig::renew_every`] it renews its own (recorded for
//! [`ClusterConfig::recorded_lease`], so a dead node is claimed within the configured lease
//! of its death); the store hands each dead node to exactly one live claimer at a time,
//! whose `on_dead` carries out its clean-up (it must not wait long: it spawns what does)
//! and then forgets the dead node; a dead node whose claimer dies before that is claimed
//! again by another survivor. A node that finds itself declared dead (it could not renew
//! in time, e.g. cut off from the database) tells `on_evicted(true)` (the server closes
//! its WebSockets and refuses new ones, so its devices reconnect to live nodes and resume
//! there) and registers again once the survivor's clean-up after it is done, then tells
//! `on_evicted(false)`. Store errors are logged and retried on the next round; they never end
//! the loop.

use crate::{ClusterConfig, millis};
use opencalls_runtime::Clock;
use opencalls_store::{ClusterStore, NodeId, NodeLease, StoreError};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

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
        let task = tokio::spawn(run(cluster.clone(), clock, config, hooks, stopped));
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
    mut stopped: watch::Receiver<bool>,
) {
    let lease = millis(config.recorded_lease());
    let mut evicted = false;
    let check = config.check_every();
    let mut tick = tokio::time::interval(check);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut renewed = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            _ = tick.tick() => {}
        }
        // On the last check before a third of the lease has passed since the last renewal.
        if renewed.elapsed() + check >= config.renew_every() {
            let renewal = renew(&*cluster, &*clock, &config, lease).await;
            evicted = track_eviction(renewal, evicted, &hooks.on_evicted);
            renewed = tokio::time::Instant::now();
        }
        match cluster
            .claim_dead_nodes(&config.node.node_id, clock.now())
            .await
        {
            Ok(dead) => {
                for node in dead {
                    tracing::warn!(node = %node.info.node_id, "a node's lease ran out; cleaning up after it");
                    (hooks.on_dead)(node).await;
                }
            }
            Err(err) => tracing::error!(%err, "looking for dead nodes failed"),
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
    /// The store failed: nothing is known.
    Failed,
}

/// Tells `on_evicted` what changed; whether the node is evicted now.
fn track_eviction(renewal: Renewal, evicted: bool, on_evicted: &OnEvicted) -> bool {
    match renewal {
        Renewal::Renewed | Renewal::Failed => evicted,
        Renewal::Rejoined => {
            // Declared dead and cleaned up between two renewals: evicted all the same.
            if !evicted {
                on_evicted(true);
            }
            on_evicted(false);
            false
        }
        Renewal::Waiting => {
            if !evicted {
                on_evicted(true);
            }
            true
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
