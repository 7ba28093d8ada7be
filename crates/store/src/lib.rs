//! Storage for OpenCalls: one set of traits, split by concern, and the types they share
//! (queries, pages, cursors, the error). Backends live in their own crates
//! (`opencalls-store-sqlite` now; PostgreSQL drops in beside it) and are chosen once at
//! start-up. Every backend must pass the conformance suite (`conformance_tests!`, feature
//! `conformance`).
//!
//! Invariants every implementation keeps:
//! - a state change and the domain events it caused commit in one transaction (the events
//!   land in the outbox that webhooks deliver from), so neither exists without the other;
//! - a write is acknowledged only after it is durable (fsync'd);
//! - read-modify-write goes through [`RoomStore::update_room`], which runs the pure domain
//!   transition inside the transaction, so concurrent changes of one room are serialized;
//! - listings are keyset-paginated on an insertion sequence, so cursors stay valid while
//!   rows are added.
#![forbid(unsafe_code)]

pub mod api_tokens;
pub mod chat;
pub mod cluster;
#[cfg(feature = "conformance")]
pub mod conformance;
mod cursor;
pub mod direct_calls;
mod error;
mod live_events;
pub mod media;
mod query;
pub mod users;
pub mod webhooks;

pub use api_tokens::{ApiTokenStore, StoredApiToken};
pub use chat::{ChatBucket, ChatStore, NodeMessage, Notice, NoticeFeed, OutgoingChat, RelayedChat};
pub use cluster::{ClusterStore, DeviceSeats, HeldLiveSeat, NodeId, NodeInfo, NodeLease, Tail};
pub use cursor::{Cursor, CursorKind, Direction};
pub use direct_calls::{
    CallCounts, CallTransition, DirectCallQuery, DirectCallStore, PushTokenType,
};
pub use error::StoreError;
pub use live_events::{LiveEventQuery, LiveEventStore, LiveEventTransition, ParticipantScope};
pub use media::{MediaFeed, MediaNote, MediaStore, PlacedGroup};
pub use query::{Page, PageRequest, RoomQuery};
pub use users::{StoredToken, TokenKind, UserStore, UserUpdate};
pub use webhooks::WebhookStore;

use async_trait::async_trait;
use opencalls_domain::room::RoomChange;
use opencalls_domain::{DomainError, Participant, Room, RoomId};

/// A pure room transition run inside the store's transaction.
pub type RoomTransition = Box<dyn FnOnce(&Room) -> Result<RoomChange, DomainError> + Send>;

/// Rooms and their participants.
#[async_trait]
pub trait RoomStore: Send + Sync {
    /// Stores a newly created room with its events. Fails with `Conflict` if the id exists.
    async fn insert_room(&self, change: RoomChange) -> Result<(), StoreError>;

    /// Loads the room, applies `transition` and stores the resulting change atomically.
    /// `NotFound` if there is no such room; `Rejected` if the transition refused.
    async fn update_room(
        &self,
        room_id: &RoomId,
        transition: RoomTransition,
    ) -> Result<RoomChange, StoreError>;

    /// The room with its current participants.
    async fn room(&self, room_id: &RoomId) -> Result<Option<Room>, StoreError>;

    /// Rooms matching `query`, newest first.
    async fn list_rooms(&self, query: RoomQuery) -> Result<Page<Room>, StoreError>;

    /// Every participant that ever entered the room, newest first. `NotFound` if no room.
    async fn list_participants(
        &self,
        room_id: &RoomId,
        page: PageRequest,
    ) -> Result<Page<Participant>, StoreError>;

    /// Rooms that still hold participants that have not exited (after a restart these are
    /// left over from the previous run).
    async fn rooms_with_active_participants(&self) -> Result<Vec<RoomId>, StoreError>;
}

/// Everything the application needs from storage.
pub trait Store:
    RoomStore
    + LiveEventStore
    + DirectCallStore
    + WebhookStore
    + UserStore
    + ApiTokenStore
    + Send
    + Sync
    + 'static
{
}

impl<
    T: RoomStore
        + LiveEventStore
        + DirectCallStore
        + WebhookStore
        + UserStore
        + ApiTokenStore
        + Send
        + Sync
        + 'static,
> Store for T
{
}
