//! Application services: the only place business rules run.
//!
//! The Platform API and the client protocol both call these services, so a rule (capacity,
//! limits, state machines) holds the same way whoever asks. A service validates input into
//! domain values, runs the pure domain transition inside a store transaction, and after the
//! commit publishes the resulting events on the in-process [`EventBus`].
#![forbid(unsafe_code)]

mod bus;
mod clock;
mod error;
pub mod metrics;
mod paging;
pub mod rooms;
pub mod sessions;
pub mod users;

pub use bus::EventBus;
pub use clock::{Clock, SystemClock};
pub use error::ServiceError;
pub use metrics::Metrics;
pub use paging::{ListPage, PageParams};
pub use rooms::{RoomList, RoomService};
pub use sessions::{IssuedToken, SessionService};
pub use users::{UserProfile, UserService};

use opencalls_domain::Millis;
use opencalls_store::Store;
use std::sync::Arc;

/// Every service, sharing one store, clock and event bus.
#[derive(Clone)]
pub struct Services {
    pub rooms: RoomService,
    pub bus: EventBus,
    pub metrics: Metrics,
    pub users: UserService,
    pub sessions: SessionService,
}

impl Services {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        let bus = EventBus::new();
        let sessions = SessionService::new(
            store.clone(),
            clock.clone(),
            sessions::DEFAULT_SESSION_TTL_MS,
        );
        Self {
            rooms: RoomService::new(store.clone(), clock.clone(), bus.clone()),
            bus,
            metrics: Metrics::new(),
            users: UserService::new(store.clone(), sessions.clone()),
            sessions,
        }
    }

    /// Sets how long session tokens issued from now on stay valid.
    pub fn with_session_ttl(mut self, ttl_ms: Millis) -> Self {
        self.sessions = self.sessions.with_ttl(ttl_ms);
        self.users = UserService::new(self.users.store(), self.sessions.clone());
        self
    }
}
