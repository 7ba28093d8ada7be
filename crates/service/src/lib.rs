//! Application services: the only place business rules run.
//!
//! The Platform API and the client protocol both call these services, so a rule (capacity,
//! limits, state machines) holds the same way whoever asks. Services take typed ids and a
//! typed [`domain::Actor`]: the edges parse raw ids once with [`ids`], so a malformed id is
//! refused alike from HTTP and the protocol. A service validates other input into domain
//! values, runs the pure domain transition inside a store transaction, and after the commit
//! publishes the resulting events on the in-process [`runtime::EventBus`].
//!
//! Adapters (HTTP, signaling) depend on this crate, never on storage: the listing, page and
//! webhook types they need are re-exported here.
#![forbid(unsafe_code)]

pub mod api_tokens;
pub mod chat;
pub mod codes;
pub mod direct_calls;
mod error;
pub mod ids;
pub mod live_events;
mod paging;
pub mod rooms;
pub mod seats;
pub mod sessions;
pub mod users;
pub mod webhooks;

pub use api_tokens::ApiTokenService;
pub use direct_calls::DirectCallService;
pub use error::ServiceError;
pub use live_events::{LiveEventList, LiveEventService};
pub use paging::{ListPage, PageParams};
pub use rooms::{RoomList, RoomService};
pub use seats::SeatHolders;
pub use sessions::{IssuedToken, SessionService};
pub use users::{UserProfile, UserService};
pub use webhooks::WebhookService;

/// The domain vocabulary (resources, ids, errors) that adapters render, so the HTTP and
/// protocol edges depend on the services alone.
pub use opencalls_domain as domain;

use opencalls_domain::Millis;
use opencalls_runtime as runtime;
use opencalls_store::Store;
use std::sync::Arc;

/// Every service, sharing one store, clock and event bus.
#[derive(Clone)]
pub struct Services {
    pub rooms: RoomService,
    pub direct_calls: DirectCallService,
    pub live_events: LiveEventService,
    pub bus: runtime::EventBus,
    pub metrics: runtime::Metrics,
    /// Liveness of the server's threads and workers (`/healthz`, `/readyz`).
    pub health: runtime::Health,
    pub webhooks: WebhookService,
    pub users: UserService,
    pub sessions: SessionService,
    pub api_tokens: ApiTokenService,
    /// Who holds each device's seats (a serving node sets it: [`Services::with_seat_holders`]);
    /// without it a device resumes only on the node that kept its seats in memory.
    pub seats: Option<SeatHolders>,
}

impl Services {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn runtime::Clock>) -> Self {
        let bus = runtime::EventBus::new();
        let sessions = SessionService::new(
            store.clone(),
            clock.clone(),
            sessions::DEFAULT_SESSION_TTL_MS,
        );
        Self {
            live_events: LiveEventService::new(store.clone(), clock.clone(), bus.clone()),
            rooms: RoomService::new(store.clone(), clock.clone(), bus.clone()),
            direct_calls: DirectCallService::new(store.clone(), clock.clone(), bus.clone()),
            bus,
            metrics: runtime::Metrics::new(),
            health: runtime::Health::new(),
            users: UserService::new(store.clone(), sessions.clone()),
            sessions,
            api_tokens: ApiTokenService::new(store.clone(), clock.clone()),
            webhooks: WebhookService::new(store, clock, webhooks::DEFAULT_APP_ID),
            seats: None,
        }
    }

    /// Names the application these services act for (`Config::app_id`).
    pub fn with_app_id(mut self, app_id: &str) -> Self {
        self.webhooks = WebhookService::new(
            self.webhooks.store.clone(),
            self.webhooks.clock.clone(),
            app_id,
        );
        self
    }

    /// Accepts (or refuses) webhook URLs naming loopback, private, link-local or metadata
    /// addresses (`Config::webhook_allow_private_targets`).
    pub fn with_private_webhook_targets(mut self, allow: bool) -> Self {
        self.webhooks = self.webhooks.allow_private_targets(allow);
        self
    }

    /// Sets the direct calls' timers (ring, connect, media grace).
    pub fn with_call_timeouts(mut self, timeouts: domain::direct_call::CallTimeouts) -> Self {
        self.direct_calls = self.direct_calls.with_timeouts(timeouts);
        self
    }

    /// Records which node holds each device's seats in `cluster`, as node `node`.
    pub fn with_seat_holders(
        mut self,
        cluster: Arc<dyn opencalls_store::ClusterStore>,
        node: opencalls_store::NodeId,
        clock: Arc<dyn runtime::Clock>,
    ) -> Self {
        self.seats = Some(SeatHolders::new(cluster, node, clock));
        self
    }

    /// Sets how long session tokens issued from now on stay valid.
    pub fn with_session_ttl(mut self, ttl_ms: Millis) -> Self {
        self.sessions = self.sessions.with_ttl(ttl_ms);
        self.users = UserService::new(self.users.store(), self.sessions.clone());
        self
    }
}
