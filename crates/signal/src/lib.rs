//! The client protocol: WebSocket signaling at `/v1/ws` and the session exchange at
//! `POST /v1/auth/session` (see docs/protocol.md).
//!
//! A thin adapter like the Platform API: it parses, authorises with a session token (never
//! an API token), calls the application services, and renders. Room state lives in the
//! services; this crate only keeps which connection holds which seat (`hub`) and fans the
//! services' committed events out to the connections of the affected room or live event
//! (live chat is relayed by the hub, to other nodes through the shared store, never stored). Frames are the typed frames of
//! `opencalls-protocol`; calls' media goes through the bridge of `opencalls-rtc`, which
//! decides nothing about seats (checked here, in `media`).
#![forbid(unsafe_code)]

mod connection;
mod error;
mod http;
mod hub;
mod ice;
pub mod limits;
mod media;
pub mod protocol;

pub use ice::{TurnConfig, turn_credential};
pub use limits::Limits;
pub use opencalls_rtc::{MediaBridge, MediaConfig};

use axum::Router;
use hub::Hub;
use opencalls_domain::LiveEventId;
use opencalls_protocol::GoodbyeReason;
use opencalls_service::Services;
use opencalls_service::chat::NodeMessage;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

/// Tunables of the client protocol (see docs/configuration.md).
#[derive(Clone, Debug)]
pub struct SignalConfig {
    /// How often the server pings each connection.
    pub heartbeat_interval: Duration,
    /// A connection silent for this long is closed (its seats then wait the grace period).
    pub heartbeat_timeout: Duration,
    /// How long a dropped device's seats wait for it to reconnect before they exit.
    pub reconnect_grace: Duration,
    /// Largest request frame handled; larger ones get an error (the connection stays).
    pub max_message_bytes: usize,
    /// A write to a connection that takes longer than this closes it (its seats then wait
    /// the grace period): a client that stops reading can't hold its seats forever.
    pub send_timeout: Duration,
    /// Per-user and per-connection limits.
    pub limits: Limits,
    /// TURN servers whose credentials each `hello` carries (`ice_servers`); `None` = none.
    pub turn: Option<TurnConfig>,
}

impl Default for SignalConfig {
    fn default() -> Self {
        Self {
            heartbeat_interval: Duration::from_secs(15),
            heartbeat_timeout: Duration::from_secs(45),
            reconnect_grace: Duration::from_secs(10),
            max_message_bytes: 16 * 1024,
            send_timeout: Duration::from_secs(10),
            limits: Limits::default(),
            turn: None,
        }
    }
}

/// A server connection's admission slot (`opencalls-server` caps connections). The server
/// puts one in every request's extensions; an upgraded WebSocket keeps it until it closes,
/// so WebSockets count against the connection limit for their whole life.
#[derive(Clone)]
pub struct ConnectionSlot(#[allow(dead_code)] Arc<dyn std::any::Any + Send + Sync>);

impl ConnectionSlot {
    pub fn new(slot: impl std::any::Any + Send + Sync) -> Self {
        Self(Arc::new(slot))
    }
}

/// A cluster node's evictions: how often it fenced itself while running (it could not
/// renew its lease in time, or found itself declared dead), and whether it is fenced now
/// (refusing connections until it renews, or registers again after a survivor's clean-up).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Eviction {
    pub count: u64,
    pub waiting: bool,
}

/// Controls the signaling layer's background work.
pub struct SignalHandle {
    hub: Arc<Hub>,
    task: JoinHandle<()>,
    /// The consumer of the SFU's events, when media is on.
    media_task: Option<JoinHandle<()>>,
}

impl SignalHandle {
    /// A health check: `true` while the background tasks run (see `opencalls_runtime::Health`).
    pub fn probe(&self) -> impl Fn() -> bool + Send + Sync + 'static {
        let tasks: Vec<_> = std::iter::once(&self.task)
            .chain(self.media_task.as_ref())
            .map(JoinHandle::abort_handle)
            .collect();
        move || tasks.iter().all(|t| !t.is_finished())
    }

    /// Makes this node's chat go through `shared` (a cluster node: one bucket per user
    /// for all nodes, messages relayed to the other nodes).
    pub fn share_chat(&self, shared: opencalls_service::chat::SharedChat) {
        let _ = self.hub.shared_chat.set(shared);
    }

    /// Where another node's media client events go: to this node's devices.
    pub fn media_sink(&self) -> Arc<dyn opencalls_rtc::MediaSink> {
        self.hub.clone()
    }

    /// Where another node's chat message goes: to the live event's devices on this node.
    pub fn chat_sink(&self) -> impl Fn(&LiveEventId, &str) + Send + Sync + 'static {
        let hub = Arc::downgrade(&self.hub);
        move |id, frame| {
            if let Some(hub) = hub.upgrade() {
                hub.live_broadcast_frame(id, None, frame);
            }
        }
    }

    /// Where another node's [`NodeMessage`] goes: a revocation ends the user's sessions
    /// here, a device that connected to another node closes its older connection here.
    pub fn node_sink(&self) -> impl Fn(NodeMessage) + Send + Sync + 'static {
        let hub = Arc::downgrade(&self.hub);
        move |message| {
            let Some(hub) = hub.upgrade() else {
                return;
            };
            tokio::spawn(async move {
                match message {
                    NodeMessage::SessionsRevoked { user_id } => hub.revoke_user(&user_id).await,
                    NodeMessage::DeviceMoved { device } => hub.moved_elsewhere(&device).await,
                }
            });
        }
    }

    /// Follows this node's membership of a cluster: each time the node fences itself
    /// (it could not renew its lease for most of it, or found itself declared dead) every
    /// connection is closed with `goodbye server_restart` and its media groups are removed
    /// from the SFU, and until it is live again new `hello`s and new groups are refused, so
    /// devices reconnect to live nodes and resume their seats (and media) there. Their
    /// seats here wait the grace as after any drop (the node that holds them now decides).
    /// Once live again, every connection rechecks its session (revocations sent meanwhile
    /// were missed).
    pub fn follow_membership(&self, mut evicted: tokio::sync::watch::Receiver<Eviction>) {
        let _ = self.hub.evicted.set(evicted.clone());
        let hub = Arc::downgrade(&self.hub);
        let mut seen = evicted.borrow().count;
        tokio::spawn(async move {
            while evicted.changed().await.is_ok() {
                let now = *evicted.borrow_and_update();
                let Some(hub) = hub.upgrade() else {
                    return;
                };
                let media = hub.media.get();
                if now.count > seen {
                    // Even if the node is live again already (declared dead and cleaned
                    // up after between two renewals): what it carried was given up.
                    seen = now.count;
                    hub.close_all(GoodbyeReason::ServerRestart);
                    if let Some(media) = media {
                        let removed = media.fence(true).await;
                        tracing::warn!(
                            groups = removed,
                            "fenced: removed this node's media groups"
                        );
                    }
                }
                if !now.waiting {
                    if let Some(media) = media {
                        media.fence(false).await;
                    }
                    tracing::info!("this node accepts WebSockets again");
                    hub.recheck_sessions();
                }
            }
        });
    }

    /// What the cluster's listener calls when it listens again after its connection broke:
    /// node messages sent meanwhile (session revocations) were missed, so every connection
    /// here rechecks its session against the store.
    pub fn relistened(&self) -> impl Fn() + Send + Sync + 'static {
        let hub = Arc::downgrade(&self.hub);
        move || {
            if let Some(hub) = hub.upgrade() {
                tracing::info!("the listener reconnected; rechecking every session");
                hub.recheck_sessions();
            }
        }
    }

    /// Closes every client connection and exits their participants (graceful shutdown).
    pub async fn shutdown(&self) {
        self.task.abort();
        self.hub.shutdown().await;
    }
}

/// The client routes and the handle of the fan-out task. Call inside a Tokio runtime.
pub fn router(services: Services, config: SignalConfig) -> (Router, SignalHandle) {
    router_with_media(services, config, None)
}

/// Like [`router`], with calls' media going through the SFU behind `media` (the bridge and
/// the SFU's event queue, consumed until the SFU stops).
pub fn router_with_media(
    services: Services,
    config: SignalConfig,
    media: Option<(Arc<MediaBridge>, opencalls_sfu::SfuEvents)>,
) -> (Router, SignalHandle) {
    let hub = Hub::new(services, config);
    let media_task = media.map(|(bridge, events)| {
        let _ = hub.media.set(bridge.clone());
        // On a cluster node, client events of groups with members on other nodes reach
        // those nodes' devices too.
        let sink = bridge.relaying_sink(hub.clone());
        let services = hub.services.clone();
        tokio::spawn(opencalls_rtc::run_events(bridge, services, events, sink))
    });
    let task = tokio::spawn(fan_out(hub.clone()));
    let router = http::routes(hub.clone());
    let handle = SignalHandle {
        hub,
        task,
        media_task,
    };
    (router, handle)
}

/// Ends revoked sessions (and, on a cluster node, tells the other nodes to end theirs) and
/// does the hub's housekeeping, until aborted. (Committed events reach the hub
/// synchronously, as a listener of the bus: see [`hub`].) A burst of revocations that
/// overflows the channel makes this node's connections recheck their sessions; the other
/// nodes' connections learn it at their next recheck.
async fn fan_out(hub: Arc<Hub>) {
    let mut revoked = hub.services.sessions.revocations();
    let mut sweep = tokio::time::interval(Duration::from_secs(10));
    let mut purge = tokio::time::interval(Duration::from_secs(600));
    loop {
        tokio::select! {
            user = revoked.recv() => match user {
                Ok(user_id) => {
                    let hub = hub.clone();
                    tokio::spawn(async move {
                        if let Some(shared) = hub.shared_chat.get() {
                            let message = NodeMessage::SessionsRevoked { user_id: user_id.clone() };
                            shared.broadcast(message).await;
                        }
                        hub.revoke_user(&user_id).await
                    });
                }
                Err(RecvError::Lagged(n)) => {
                    // Which users were revoked is lost: every connection checks its own
                    // session against the store instead.
                    tracing::warn!(lost = n, "missed session revocations; rechecking every session");
                    hub.recheck_sessions();
                }
                Err(RecvError::Closed) => return,
            },
            _ = sweep.tick() => hub.sweep(),
            _ = purge.tick() => {
                if let Err(err) = hub.services.sessions.purge_expired().await {
                    tracing::warn!(%err, "purging expired tokens failed");
                }
            }
        }
    }
}
