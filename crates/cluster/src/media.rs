//! Media placement between nodes (docs/cluster.md, "Media placement"): the
//! [`Placement`] the media bridge of a cluster node uses, over the database
//! ([`MediaStore`]): placements in a table, and notes between nodes through the store's
//! notification channel.
//!
//! - A request (a forwarded offer, `set_media`, a layer hint, …) is a note addressed to
//!   the owner with a correlation id; the owner's bridge serves it in a task of its own
//!   (at most [`MAX_SERVING`] at once; beyond, it answers "unavailable" at once, which
//!   the asker reads as [`PlacementError::OwnerUnavailable`]) and replies with a note
//!   addressed back. The asking side waits at most [`REPLY_TIMEOUT`] (an owner that died
//!   and is not yet declared dead does not answer: [`PlacementError::Timeout`]) and holds
//!   at most [`MAX_PENDING`] requests in flight (beyond, a request fails at once with
//!   [`PlacementError::TooManyInFlight`], nothing sent). [`RelayLimits`] carries these numbers; a
//!   node runs with its default, the constants.
//! - Client events of the groups this node carries for other nodes' devices go to every
//!   node through one bounded queue, sent in order by one task, so they keep their order;
//!   a full queue drops events (counted in the log) rather than slow the SFU's event loop.
//! - While members offered from this node have their peer on other nodes, the relay checks
//!   every tenth of the lease that those nodes are alive; the members of a dead one are
//!   handled as lost transports (`media.disconnected`, a live host `disconnected`, a call
//!   side's media grace) on this node, and offer again.
//! - When the listening connection (the node's one, shared with the chat relay) breaks,
//!   the relay listens again ([`crate::relisten`]: 100 ms, doubling up to 5 s); requests
//!   and replies sent meanwhile are lost, so their askers time out.
//! - Every typed message is encoded as JSON (`Note`); a note that does not decode is
//!   logged and skipped.

use crate::relisten::listen_again;
use opencalls_rtc::placement::{
    MediaEvent, MediaReply, MediaRequest, Placement, PlacementError, RemoteFailure, deliver,
};
use opencalls_rtc::{MediaBridge, MediaGroup, MediaSink};
use opencalls_runtime::Clock;
use opencalls_service::Services;
use opencalls_store::{
    ClusterStore, MediaFeed, MediaNote, MediaStore, NodeId, PlacedGroup, StoreError,
};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;

/// How long a node waits for another node's reply.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(3);

/// How long placing or dropping a placement may take: the bridge waits for it under its
/// tables lock, which the SFU's event handling needs too, so a database that does not
/// answer must not hold it for the pool's much longer wait.
pub const STORE_TIMEOUT: Duration = Duration::from_secs(2);

/// Requests this node may have in flight to other nodes.
pub const MAX_PENDING: usize = 1_024;

/// Requests of other nodes this node serves at once.
pub const MAX_SERVING: usize = 64;

/// The relay's limits; [`RelayLimits::default`] (the constants above) is what a node runs
/// with. A field rather than a constant so the limits can be exercised at a small scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RelayLimits {
    /// How long a request waits for the owner's reply ([`REPLY_TIMEOUT`]).
    pub reply_timeout: Duration,
    /// How long placing or dropping a placement may take ([`STORE_TIMEOUT`]).
    pub store_timeout: Duration,
    /// Requests this node may have in flight to other nodes ([`MAX_PENDING`]).
    pub max_pending: usize,
    /// Requests of other nodes this node serves at once ([`MAX_SERVING`]).
    pub max_serving: usize,
}

impl Default for RelayLimits {
    fn default() -> Self {
        Self {
            reply_timeout: REPLY_TIMEOUT,
            store_timeout: STORE_TIMEOUT,
            max_pending: MAX_PENDING,
            max_serving: MAX_SERVING,
        }
    }
}

/// Client events queued for the other nodes.
const EVENT_QUEUE: usize = 4_096;

/// How often placements of departed nodes and old kept notes are removed.
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// What nodes say to each other.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "note", rename_all = "snake_case")]
enum Note {
    Request { id: u64, request: MediaRequest },
    Reply { id: u64, reply: MediaReply },
    Event { event: MediaEvent },
}

/// What requests and events from other nodes act on (set once the bridge runs).
pub struct Target {
    pub bridge: Weak<MediaBridge>,
    /// This node's devices.
    pub sink: Arc<dyn MediaSink>,
    pub services: Services,
}

/// A running relay; it stops listening when dropped (a crash), or cleanly with
/// [`MediaRelay::stop`], which also drops this node's placements.
pub struct MediaRelay {
    inner: Arc<Relay>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for MediaRelay {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl MediaRelay {
    /// Starts listening before it returns, so every note sent to this node from then on
    /// is seen; with the default [`RelayLimits`].
    pub async fn start(
        store: Arc<dyn MediaStore>,
        cluster: Arc<dyn ClusterStore>,
        clock: Arc<dyn Clock>,
        node: NodeId,
        check_every: Duration,
    ) -> Result<Self, StoreError> {
        let limits = RelayLimits::default();
        Self::start_with_limits(store, cluster, clock, node, check_every, limits).await
    }

    /// Like [`MediaRelay::start`], with `limits` instead of the default ones.
    pub async fn start_with_limits(
        store: Arc<dyn MediaStore>,
        cluster: Arc<dyn ClusterStore>,
        clock: Arc<dyn Clock>,
        node: NodeId,
        check_every: Duration,
        limits: RelayLimits,
    ) -> Result<Self, StoreError> {
        let feed = store.listen_media(&node).await?;
        let (events, queued) = mpsc::channel(EVENT_QUEUE);
        let inner = Arc::new(Relay {
            store,
            clock,
            node,
            next_id: AtomicU64::new(1),
            pending: Mutex::new(HashMap::new()),
            events,
            target: OnceLock::new(),
            serving: Arc::new(Semaphore::new(limits.max_serving)),
            limits,
        });
        let tasks = vec![
            tokio::spawn(inner.clone().listen(feed)),
            tokio::spawn(inner.clone().publish_queued(queued)),
            tokio::spawn(inner.clone().watch_owners(cluster, check_every)),
        ];
        Ok(Self { inner, tasks })
    }

    /// The seam the bridge uses.
    pub fn placement(&self) -> Arc<dyn Placement> {
        self.inner.clone()
    }

    /// How many of this node's requests wait for another node's reply (at most
    /// [`RelayLimits::max_pending`]); an ended wait, however it ended, no longer counts.
    pub fn in_flight(&self) -> usize {
        self.inner.pending().len()
    }

    /// How many requests of other nodes this node is serving now (at most
    /// [`RelayLimits::max_serving`]; the ones answered "unavailable" do not count).
    pub fn serving(&self) -> usize {
        let free = self.inner.serving.available_permits();
        self.inner.limits.max_serving.saturating_sub(free)
    }

    /// Where other nodes' requests and events go from now on.
    pub fn attach(&self, target: Target) {
        let _ = self.inner.target.set(target);
    }

    /// Stops listening and drops this node's placements (it leaves the cluster): the next
    /// offer of each of its groups places it on a live node.
    pub async fn stop(self) {
        for task in &self.tasks {
            task.abort();
        }
        match self
            .inner
            .store
            .drop_node_placements(&self.inner.node)
            .await
        {
            Ok(n) => tracing::info!(placements = n, "dropped this node's media placements"),
            Err(err) => tracing::warn!(%err, "dropping this node's media placements failed"),
        }
    }
}

struct Relay {
    store: Arc<dyn MediaStore>,
    clock: Arc<dyn Clock>,
    node: NodeId,
    next_id: AtomicU64,
    /// Correlation id → the asker waiting for its reply.
    pending: Mutex<HashMap<u64, oneshot::Sender<MediaReply>>>,
    events: mpsc::Sender<MediaEvent>,
    target: OnceLock<Target>,
    /// One permit per request of another node being served ([`RelayLimits::max_serving`]).
    serving: Arc<Semaphore>,
    limits: RelayLimits,
}

/// Forgets a request's correlation id however its wait ends.
struct Waiting<'a> {
    relay: &'a Relay,
    id: u64,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.relay.pending().remove(&self.id);
    }
}

#[async_trait::async_trait]
impl Placement for Relay {
    fn node(&self) -> &NodeId {
        &self.node
    }

    async fn place(&self, group: &MediaGroup) -> Result<NodeId, PlacementError> {
        let now = self.clock.now();
        let placed = PlacedGroup::from(group);
        let placing = self.store.place_media(&placed, &self.node, now);
        match tokio::time::timeout(self.limits.store_timeout, placing).await {
            Ok(placed) => placed.map_err(|e| PlacementError::Store(e.to_string())),
            Err(_) => Err(PlacementError::Store("placing timed out".into())),
        }
    }

    async fn forget(&self, group: &MediaGroup) {
        let placed = PlacedGroup::from(group);
        let dropping = self.store.drop_media_placement(&placed, &self.node);
        let failed = match tokio::time::timeout(self.limits.store_timeout, dropping).await {
            Ok(Ok(())) => return,
            Ok(Err(err)) => err.to_string(),
            Err(_) => "timed out".to_owned(),
        };
        // Harmless: the next offer re-asserts this node or finds it gone.
        tracing::warn!(err = %failed, kind = placed.kind(), id = placed.id(), "dropping a media placement failed");
    }

    async fn request(
        &self,
        node: &NodeId,
        request: MediaRequest,
    ) -> Result<MediaReply, PlacementError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut pending = self.pending();
            if pending.len() >= self.limits.max_pending {
                return Err(PlacementError::TooManyInFlight(node.clone()));
            }
            pending.insert(id, tx);
        }
        let _waiting = Waiting { relay: self, id };
        self.send(Some(node), &Note::Request { id, request })
            .await
            .map_err(|err| PlacementError::Send(node.clone(), err.to_string()))?;
        self.count(Counted::Forwarded);
        match tokio::time::timeout(self.limits.reply_timeout, rx).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) | Err(_) => {
                self.count(Counted::TimedOut);
                Err(PlacementError::Timeout(node.clone()))
            }
        }
    }

    fn publish(&self, event: MediaEvent) {
        if self.events.try_send(event).is_err() {
            self.count(Counted::EventDropped { queue_full: true });
            tracing::warn!("media event queue to other nodes is full; an event was dropped");
        }
    }
}

/// A counter of the relay on `/metrics` (docs/operations.md, "Metrics").
#[derive(Clone, Copy, Debug)]
enum Counted {
    /// This node sent a request to another node's bridge.
    Forwarded,
    /// No reply came within [`RelayLimits::reply_timeout`].
    TimedOut,
    /// This node's bridge served another node's request (`busy`: refused, at
    /// [`RelayLimits::max_serving`]).
    Served { busy: bool },
    /// A client event for the other nodes was dropped (`queue_full`, or its note failed).
    EventDropped { queue_full: bool },
}

impl Counted {
    fn name(self) -> (&'static str, &'static str) {
        match self {
            Self::Forwarded => (
                "opencalls_media_relay_requests_forwarded_total",
                "Media requests this node sent to the node owning the media.",
            ),
            Self::TimedOut => (
                "opencalls_media_relay_requests_timed_out_total",
                "Media requests to another node that got no reply in time.",
            ),
            Self::Served { .. } => (
                "opencalls_media_relay_requests_served_total",
                "Media requests of other nodes this node answered, by result.",
            ),
            Self::EventDropped { .. } => (
                "opencalls_media_relay_events_dropped_total",
                "Client events of media here that other nodes' devices never got, by reason.",
            ),
        }
    }

    fn labels(self) -> Vec<(&'static str, String)> {
        let label = |key, value: &str| vec![(key, value.to_owned())];
        match self {
            Self::Forwarded | Self::TimedOut => Vec::new(),
            Self::Served { busy } => label("result", if busy { "busy" } else { "served" }),
            Self::EventDropped { queue_full } => label(
                "reason",
                if queue_full {
                    "queue_full"
                } else {
                    "send_failed"
                },
            ),
        }
    }
}

impl Relay {
    /// Counts `what` on the node's `/metrics` (from the moment the relay is attached, at
    /// start-up before the node serves anything).
    fn count(&self, what: Counted) {
        if let Some(target) = self.target.get() {
            let (name, help) = what.name();
            target.services.metrics.count(name, help, what.labels(), 1);
        }
    }

    fn pending(&self) -> MutexGuard<'_, HashMap<u64, oneshot::Sender<MediaReply>>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn send(&self, to: Option<&NodeId>, note: &Note) -> Result<(), StoreError> {
        let body = serde_json::to_string(note)
            .map_err(|e| StoreError::Backend(format!("encoding a media note: {e}")))?;
        let note = MediaNote {
            from: self.node.clone(),
            to: to.cloned(),
            body,
        };
        self.store.send_media_note(&note).await
    }

    /// Sends the queued client events to every node, in order.
    async fn publish_queued(self: Arc<Self>, mut queued: mpsc::Receiver<MediaEvent>) {
        while let Some(event) = queued.recv().await {
            if let Err(err) = self.send(None, &Note::Event { event }).await {
                self.count(Counted::EventDropped { queue_full: false });
                tracing::warn!(%err, "a media event for other nodes was lost");
            }
        }
    }

    /// Every `every`, while members offered from here have their peer on other nodes,
    /// checks that those nodes are alive; the members of one that is not are told their
    /// media is gone (see [`MediaBridge::owner_lost`]).
    async fn watch_owners(self: Arc<Self>, cluster: Arc<dyn ClusterStore>, every: Duration) {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let Some(target) = self.target.get() else {
                continue;
            };
            let Some(bridge) = target.bridge.upgrade() else {
                return;
            };
            let owners = bridge.remote_owners();
            if owners.is_empty() {
                continue;
            }
            let alive: HashSet<NodeId> = match cluster.live_nodes(self.clock.now()).await {
                Ok(live) => live.into_iter().map(|n| n.info.node_id).collect(),
                Err(err) => {
                    tracing::warn!(%err, "checking the media owners failed");
                    continue;
                }
            };
            for node in owners.difference(&alive) {
                let told = bridge.owner_lost(node, &target.services, &target.sink);
                tracing::warn!(%node, members = told, "a media owner is gone: its members here were told media.disconnected");
            }
        }
    }

    async fn listen(self: Arc<Self>, mut feed: Box<dyn MediaFeed>) {
        let mut sweep = tokio::time::interval(SWEEP_EVERY);
        loop {
            tokio::select! {
                next = feed.next() => match next {
                    Ok(note) => self.handle(note),
                    Err(err) => {
                        tracing::warn!(%err, "media relay lost its connection; notes sent until it listens again are lost here");
                        feed = listen_again("media", || self.store.listen_media(&self.node)).await;
                    }
                },
                _ = sweep.tick() => {
                    if let Err(err) = self.store.sweep_media().await {
                        tracing::warn!(%err, "sweeping media placements failed");
                    }
                }
            }
        }
    }

    fn handle(self: &Arc<Self>, note: MediaNote) {
        let decoded: Note = match serde_json::from_str(&note.body) {
            Ok(decoded) => decoded,
            Err(err) => {
                tracing::warn!(from = %note.from, %err, "malformed media note; skipped");
                return;
            }
        };
        match decoded {
            Note::Request { id, request } => self.serve(note.from, id, request),
            Note::Reply { id, reply } => {
                if let Some(waiting) = self.pending().remove(&id) {
                    let _ = waiting.send(reply);
                }
            }
            Note::Event { event } => {
                if let Some(target) = self.target.get() {
                    deliver(target.sink.as_ref(), event);
                }
            }
        }
    }

    /// Serves another node's request in a task of its own and replies to it.
    fn serve(self: &Arc<Self>, from: NodeId, id: u64, request: MediaRequest) {
        let relay = self.clone();
        let permit = self.serving.clone().try_acquire_owned();
        tokio::spawn(async move {
            relay.count(Counted::Served {
                busy: permit.is_err(),
            });
            let reply = match permit {
                Ok(_permit) => relay.reply_to(request).await,
                Err(_) => unavailable("this node is serving too many requests"),
            };
            if let Err(err) = relay.send(Some(&from), &Note::Reply { id, reply }).await {
                tracing::warn!(node = %from, %err, "a reply to another node was lost");
            }
        });
    }

    async fn reply_to(&self, request: MediaRequest) -> MediaReply {
        let Some(target) = self.target.get() else {
            return unavailable("this node's media is not running yet");
        };
        match target.bridge.upgrade() {
            Some(bridge) => bridge.serve(request, &target.services.live_events).await,
            None => unavailable("this node's media has stopped"),
        }
    }
}

fn unavailable(why: &str) -> MediaReply {
    MediaReply::Failed {
        failure: RemoteFailure::Unavailable { why: why.into() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The integration tests (`tests/relay_limits.rs`) run two of the limits at a small
    /// scale; this pins the ones a node runs with to those docs/cluster.md states.
    #[test]
    fn a_node_runs_with_the_documented_limits() {
        let limits = RelayLimits::default();
        assert_eq!(limits.reply_timeout, Duration::from_secs(3));
        assert_eq!(limits.store_timeout, Duration::from_secs(2));
        assert_eq!(limits.max_pending, 1_024);
        assert_eq!(limits.max_serving, 64);
    }
}
