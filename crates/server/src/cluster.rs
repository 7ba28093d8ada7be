//! Wiring of the cluster parts (`opencalls-cluster`) into a serving node: its identity,
//! its membership, the tail of other nodes' events, and webhook delivery as a duty held
//! by one live node. With SQLite this is a cluster of one node and behaves as before.

use crate::{Config, ConfigError, ServerError};
use async_trait::async_trait;
use opencalls_cluster::ClusterConfig;
use opencalls_cluster::duty::{Contender, Duty, DutyWork, StartDuty};
use opencalls_cluster::membership::{Membership, OnDead};
use opencalls_cluster::tail::{TailTarget, Tailer};
use opencalls_runtime::Clock;
use opencalls_service::Services;
use opencalls_store::{ClusterStore, NodeId, NodeInfo};
use opencalls_webhook::WebhookWorker;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The duty name of webhook delivery.
const WEBHOOKS: &str = "webhooks";

/// This node's id: `node_id` as configured, else a fresh random one.
pub(crate) fn node_id(config: &Config) -> Result<NodeId, ConfigError> {
    match &config.node_id {
        Some(raw) => NodeId::parse(raw).ok_or(ConfigError::Invalid {
            name: "OPENCALLS_NODE_ID",
            message: format!(
                "expected 1-{} ASCII letters, digits, '-', '_' or '.', got '{raw}'",
                opencalls_store::cluster::MAX_NODE_ID_LEN
            ),
        }),
        None => {
            let id = uuid::Uuid::new_v4().simple().to_string();
            Ok(NodeId::parse(&format!("node-{}", &id[..12])).expect("a valid generated id"))
        }
    }
}

/// What a serving node runs for the cluster; [`NodeParts::stop`] ends it cleanly.
pub(crate) struct NodeParts {
    membership: Membership,
    tailer: Tailer,
    webhooks: Duty,
}

/// What [`join`] needs from the app.
pub(crate) struct NodeSetup {
    pub cluster: Arc<dyn ClusterStore>,
    pub node_id: NodeId,
    pub clock: Arc<dyn Clock>,
    pub services: Services,
    pub http_addr: SocketAddr,
    pub media_addr: SocketAddr,
}

/// Whether no other node is alive: then whatever is still `entered` was left by a previous
/// run of a node that is gone (a restart of this one, or of the whole cluster).
pub(crate) async fn alone(setup: &NodeSetup) -> Result<bool, ServerError> {
    let live = setup.cluster.live_nodes(setup.clock.now()).await?;
    Ok(live.iter().all(|n| n.info.node_id == setup.node_id))
}

/// Joins the cluster and starts the tail and the webhook duty.
pub(crate) async fn join(
    setup: NodeSetup,
    config: &Config,
    start_webhooks: Box<dyn Fn() -> Option<WebhookWorker> + Send + Sync>,
) -> Result<NodeParts, ServerError> {
    let cluster_config = ClusterConfig {
        node: NodeInfo {
            node_id: setup.node_id.clone(),
            http_addr: setup.http_addr.to_string(),
            media_addr: setup.media_addr.to_string(),
        },
        lease: Duration::from_millis(config.node_lease_ms),
        tail_poll: Duration::from_millis(config.cluster_poll_ms),
    };
    let membership = Membership::join(
        setup.cluster.clone(),
        setup.clock.clone(),
        cluster_config.clone(),
        on_dead(),
    )
    .await?;
    let target = TailTarget {
        bus: setup.services.bus.clone(),
        metrics: setup.services.metrics.clone(),
        clock: setup.clock.clone(),
    };
    let tailer = Tailer::start(
        setup.cluster.clone(),
        setup.node_id.clone(),
        cluster_config.tail_poll,
        target,
    )
    .await?;
    let start: StartDuty =
        Box::new(move || start_webhooks().map(|w| Box::new(WebhookWork(w)) as Box<dyn DutyWork>));
    let contender = Contender {
        cluster: setup.cluster,
        clock: setup.clock,
        node_id: setup.node_id,
        lease: cluster_config.lease,
    };
    let webhooks = Duty::spawn(WEBHOOKS, contender, start);
    Ok(NodeParts {
        membership,
        tailer,
        webhooks,
    })
}

impl NodeParts {
    /// Hands webhook delivery over, stops tailing and leaves the cluster.
    pub(crate) async fn stop(self) {
        self.webhooks.stop().await;
        self.tailer.stop().await;
        self.membership.leave().await;
    }
}

/// The clean-up of a dead node, carried out by the one survivor that claimed it.
fn on_dead() -> OnDead {
    Arc::new(|node| {
        Box::pin(async move {
            // Its devices reconnect to live nodes; the seats of those that do not are not
            // attributed to nodes yet, see docs/cluster.md ("Known gaps").
            tracing::warn!(node = %node.info.node_id, http = %node.info.http_addr, "node declared dead");
        })
    })
}

struct WebhookWork(WebhookWorker);

#[async_trait]
impl DutyWork for WebhookWork {
    async fn stop(self: Box<Self>) {
        self.0.stop().await;
    }
}
