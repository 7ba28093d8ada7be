//! Wiring of the cluster parts (`opencalls-cluster`) into a serving node: its identity,
//! its membership, the tail of other nodes' events, and webhook delivery as a duty held
//! by one live node, and the clean-up of dead nodes (their devices' seats exit after the
//! reconnect grace unless the devices came back to a live node), chat shared by the
//! nodes (one bucket per user, messages relayed), and media placed on one node per call
//! (the relay of requests and client events between nodes). With SQLite this is a
//! cluster of one node and behaves as before.

use crate::{Config, ConfigError, ServerError};
use async_trait::async_trait;
use opencalls_cluster::ClusterConfig;
use opencalls_cluster::chat::{ChatRelay, Sinks};
use opencalls_cluster::duty::{Contender, Duty, DutyWork, StartDuty};
use opencalls_cluster::media::{self, MediaRelay};
use opencalls_cluster::membership::{Hooks, Membership, OnDead};
use opencalls_cluster::tail::{TailTarget, TailWaker, Tailer, Wakes};
use opencalls_domain::DeviceKey;
use opencalls_runtime::Clock;
use opencalls_service::chat::{self, SharedChat};
use opencalls_service::seats::{DeviceSeats, HeldLiveSeat};
use opencalls_service::{ServiceError, Services};
use opencalls_signal::{Eviction, MediaBridge, SignalHandle};
use opencalls_store::{ChatStore, ClusterStore, MediaStore, NodeId, NodeInfo};
use opencalls_webhook::WebhookWorker;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// The duty name of webhook delivery.
const WEBHOOKS: &str = "webhooks";

/// This run's node id: `node_id` as configured with a random mark of this run (see
/// [`NodeId::for_run`]), else a fresh random one.
pub(crate) fn node_id(config: &Config) -> Result<NodeId, ConfigError> {
    match &config.node_id {
        Some(raw) => NodeId::parse(raw)
            .filter(|_| raw.len() <= opencalls_store::cluster::MAX_NODE_ID_LEN)
            .map(|id| id.for_run(uuid::Uuid::new_v4().as_u128() as u32))
            .ok_or(ConfigError::Invalid {
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
    /// This node's evictions (fenced while running: see `Membership`) so far.
    evicted: tokio::sync::watch::Receiver<Eviction>,
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
    /// Whether the store notifies (PostgreSQL): then commits and the sequencer's
    /// notifications wake the tail, and the poll is only a safety net.
    pub notifies: bool,
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
    let grace = Duration::from_millis(config.reconnect_grace_ms);
    let (evicted_tx, evicted) = tokio::sync::watch::channel(Eviction::default());
    let hooks = Hooks {
        on_dead: on_dead(
            setup.services.clone(),
            setup.cluster.clone(),
            setup.node_id.clone(),
            setup.clock.clone(),
            grace,
        ),
        on_evicted: Arc::new(move |now_evicted| {
            evicted_tx.send_modify(|e| {
                e.count += u64::from(now_evicted);
                e.waiting = now_evicted;
            });
        }),
    };
    let membership = Membership::join(
        setup.cluster.clone(),
        setup.clock.clone(),
        cluster_config.clone(),
        hooks,
    )
    .await?;
    let target = TailTarget {
        bus: setup.services.bus.clone(),
        metrics: setup.services.metrics.clone(),
        clock: setup.clock.clone(),
    };
    let wakes = if setup.notifies {
        Wakes::OnCommit
    } else {
        Wakes::PollOnly
    };
    let tailer = Tailer::start(
        setup.cluster.clone(),
        setup.node_id.clone(),
        cluster_config.tail_poll,
        wakes,
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
        evicted,
        tailer,
        webhooks,
    })
}

impl NodeParts {
    /// Whether this node is declared dead and waits to register again (see
    /// `opencalls_signal::SignalHandle::follow_membership`).
    pub(crate) fn evictions(&self) -> tokio::sync::watch::Receiver<Eviction> {
        self.evicted.clone()
    }

    /// What wakes the event tail when another node's events were sequenced.
    pub(crate) fn tail_waker(&self) -> TailWaker {
        self.tailer.waker()
    }

    /// Hands webhook delivery over, stops tailing and leaves the cluster.
    pub(crate) async fn stop(self) {
        self.webhooks.stop().await;
        self.tailer.stop().await;
        self.membership.leave().await;
    }
}

/// Sends this node's chat and node messages through the shared store and hands the other
/// nodes' to its devices, listening before it returns (docs/cluster.md, "Chat across
/// nodes" and "Node-to-node messages"); the sequencer's notifications wake the tail.
pub(crate) async fn relay_chat(
    store: Arc<dyn ChatStore>,
    node_id: &NodeId,
    signal: &SignalHandle,
    tail: TailWaker,
) -> Result<ChatRelay, ServerError> {
    let sinks = Sinks {
        chat: Arc::new(signal.chat_sink()),
        node: Arc::new(signal.node_sink()),
        tail,
        relistened: Arc::new(signal.relistened()),
    };
    let relay = ChatRelay::start(store.clone(), node_id.clone(), chat::BUCKET, sinks).await?;
    signal.share_chat(SharedChat::new(store, node_id.clone()));
    Ok(relay)
}

/// The clean-up of a dead node, carried out by the survivor that claimed it: once the
/// reconnect grace has run from the end of the dead node's lease, the seats of every device
/// it still holds are exited, as its own hub would have done when the grace of each device
/// ran out. (Devices that came back to a live node meanwhile moved their holder record
/// there and are left alone.) Then the dead node is forgotten; until then it stays
/// claimed, so if this node dies first another survivor finishes (the grace counted from
/// the same point). Runs in its own task, so waiting out the grace never delays the lease
/// renewals.
fn on_dead(
    services: Services,
    cluster: Arc<dyn ClusterStore>,
    me: NodeId,
    clock: Arc<dyn Clock>,
    grace: Duration,
) -> OnDead {
    Arc::new(move |node| {
        let (services, cluster, me) = (services.clone(), cluster.clone(), me.clone());
        let since_end = clock.now().saturating_sub(node.expires_at).max(0);
        Box::pin(async move {
            let dead = node.info.node_id;
            let wait = grace.saturating_sub(Duration::from_millis(since_end as u64));
            tracing::warn!(node = %dead, http = %node.info.http_addr, wait_ms = wait.as_millis() as u64, "node declared dead; its devices' seats exit after the reconnect grace unless they come back");
            tokio::spawn(async move {
                tokio::time::sleep(wait).await;
                let mut pause = Duration::from_millis(500);
                while !exit_devices_of(&services, &dead).await {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(10));
                }
                if let Err(err) = cluster.forget_node(&dead, &me).await {
                    tracing::warn!(node = %dead, %err, "forgetting a cleaned-up node failed; another survivor may clean up again (nothing left to exit)");
                }
            });
        })
    })
}

/// How many of a dead node's devices are read at a time.
const DEAD_DEVICES_BATCH: usize = 200;

/// Exits the seats of every device `dead` still holds, releasing each first (so a device
/// moving to a live node at the same moment either moves or is exited, never both).
/// `false` if the store failed before all were done (call again: the rest are still held).
async fn exit_devices_of(services: &Services, dead: &NodeId) -> bool {
    let Some(holders) = &services.seats else {
        return true;
    };
    let mut exited = 0usize;
    loop {
        let devices = match holders.held_by(dead, DEAD_DEVICES_BATCH).await {
            Ok(devices) if devices.is_empty() => break,
            Ok(devices) => devices,
            Err(err) => {
                tracing::error!(node = %dead, %err, "listing a dead node's devices failed; retrying");
                return false;
            }
        };
        for device in devices {
            match holders.release_for(&device, dead).await {
                Ok(true) => {
                    exit_device(services, &device).await;
                    exited += 1;
                }
                Ok(false) => {} // it moved to a live node meanwhile
                Err(err) => {
                    tracing::error!(node = %dead, user = %device.user_id, %err, "releasing a dead node's device failed; retrying");
                    return false; // the next listing returns it again
                }
            }
        }
    }
    tracing::info!(node = %dead, devices = exited, "exited the seats of a dead node's devices");
    true
}

/// Exits what the device holds (rooms, live events) through the services, so the exits
/// are ordinary events, and ends its direct calls (`connection_lost`), like a node's hub
/// does when a device's grace runs out.
async fn exit_device(services: &Services, device: &DeviceKey) {
    let seats = match services.seats.as_ref().map(|h| h.seats_of(device)) {
        Some(read) => read.await,
        None => return,
    };
    let seats = seats.unwrap_or_else(|err| {
        tracing::error!(user = %device.user_id, %err, "reading a dead node's device's seats failed");
        DeviceSeats::default()
    });
    for (room_id, participant_id) in seats.rooms {
        let exited = retried(|| services.rooms.exit(&room_id, &participant_id)).await;
        if let Err(err) = exited {
            tracing::warn!(%room_id, %participant_id, %err, "exit of a dead node's seat");
        }
    }
    for (id, seat) in seats.live {
        let live = &services.live_events;
        let result = match &seat {
            HeldLiveSeat::Host(host) => retried(|| live.host_exit(&id, host)).await.map(drop),
            HeldLiveSeat::Participant(p) => {
                retried(|| live.participant_exit(&id, p)).await.map(drop)
            }
        };
        if let Err(err) = result {
            tracing::warn!(%id, %err, "exit of a dead node's live seat");
        }
    }
    if let Err(err) = services.direct_calls.device_lost(device).await {
        tracing::warn!(user = %device.user_id, %err, "ending a dead node's device's calls");
    }
}

/// How often an exit of a dead node's seat is tried while the store fails inside.
const EXIT_ATTEMPTS: u32 = 5;

/// Runs `write` again (after 100 ms, doubling) while it fails inside (the store could not
/// commit), so one failed commit does not leave a seat taken; refusals (already exited)
/// are final.
async fn retried<T, F, Fut>(mut write: F) -> Result<T, ServiceError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ServiceError>>,
{
    let mut delay = Duration::from_millis(100);
    for _ in 1..EXIT_ATTEMPTS {
        match write().await {
            Err(ServiceError::Internal(err)) => {
                tracing::warn!(%err, retry_in_ms = delay.as_millis() as u64, "exit of a dead node's seat failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            done => return done,
        }
    }
    write().await
}

struct WebhookWork(WebhookWorker);

#[async_trait]
impl DutyWork for WebhookWork {
    async fn stop(self: Box<Self>) {
        self.0.stop().await;
    }
}

/// Starts the media relay of this node (listening before it returns) and connects the
/// bridge to it: each group's media is placed on one node's SFU (docs/cluster.md, "Media
/// placement").
pub(crate) async fn place_media(
    store: Arc<dyn MediaStore>,
    cluster: Arc<dyn ClusterStore>,
    node_id: &NodeId,
    clock: &Arc<dyn Clock>,
    config: &Config,
    bridge: &MediaBridge,
) -> Result<MediaRelay, ServerError> {
    // Owners are checked as often as dead nodes are looked for.
    let lease = Duration::from_millis(config.node_lease_ms);
    let check_every = (lease / 10).max(Duration::from_millis(10));
    let (clock, node) = (clock.clone(), node_id.clone());
    let relay = MediaRelay::start(store, cluster, clock, node, check_every).await?;
    bridge.set_placement(relay.placement());
    Ok(relay)
}

/// Hands other nodes' media requests to the bridge and their client events to this
/// node's devices.
pub(crate) fn attach_media(
    relay: &MediaRelay,
    bridge: &Arc<MediaBridge>,
    signal: &SignalHandle,
    services: &Services,
) {
    relay.attach(media::Target {
        bridge: Arc::downgrade(bridge),
        sink: signal.media_sink(),
        services: services.clone(),
    });
}
