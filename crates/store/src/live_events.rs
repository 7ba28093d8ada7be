//! Storage of live events, their hosts and their participants.
//!
//! Like rooms, every change runs the pure domain transition inside the store's write
//! transaction and commits it together with its outbox events. A transition only gets the
//! participant records it needs ([`ParticipantScope`]), so entering a large live event does
//! not load its whole audience.

use crate::{Page, PageRequest, StoreError};
use async_trait::async_trait;
use opencalls_domain::live_event::LiveEventChange;
use opencalls_domain::{
    DomainError, Host, HostType, LiveEvent, LiveEventId, LiveEventParticipant, LiveEventState,
    Millis, ParticipantId,
};

/// A pure live-event transition run inside the store's transaction. It receives the live
/// event and the participants selected by its [`ParticipantScope`].
pub type LiveEventTransition = Box<
    dyn FnOnce(&LiveEvent, &[LiveEventParticipant]) -> Result<LiveEventChange, DomainError> + Send,
>;

/// Which participant records a transition needs to see.
#[derive(Clone, Debug)]
pub enum ParticipantScope {
    /// None (lifecycle and host transitions, entering).
    Nobody,
    /// One participant by id (exiting); an empty slice when there is no such participant.
    One(ParticipantId),
    /// Every participant that has not exited (ending), oldest first.
    Active,
}

/// Filters of `GET /v1/live-events`; every field narrows the result, empty sets mean "any".
#[derive(Clone, Debug, Default)]
pub struct LiveEventQuery {
    pub host_types: Vec<HostType>,
    pub states: Vec<LiveEventState>,
    pub live_event_ids: Vec<LiveEventId>,
    pub created_by: Vec<String>,
    /// Inclusive lower bound of `created_at`.
    pub created_at_start: Option<Millis>,
    /// Exclusive upper bound of `created_at`.
    pub created_at_end: Option<Millis>,
    pub participants_gte: Option<i64>,
    pub participants_lte: Option<i64>,
    pub duration_gte: Option<i64>,
    pub duration_lte: Option<i64>,
    pub page: PageRequest,
}

#[async_trait]
pub trait LiveEventStore: Send + Sync {
    /// Stores a newly created live event with its events. `Conflict` if the id exists.
    async fn insert_live_event(&self, change: LiveEventChange) -> Result<(), StoreError>;

    /// Loads the live event (and the participants of `scope`), applies `transition` and
    /// stores the resulting change atomically. `NotFound` if there is no such live event;
    /// `Rejected` if the transition refused.
    async fn update_live_event(
        &self,
        id: &LiveEventId,
        scope: ParticipantScope,
        transition: LiveEventTransition,
    ) -> Result<LiveEventChange, StoreError>;

    /// The live event with its present host.
    async fn live_event(&self, id: &LiveEventId) -> Result<Option<LiveEvent>, StoreError>;

    /// The present host, else the host that entered last, else `None`. `NotFound` if there
    /// is no such live event.
    async fn live_event_host(&self, id: &LiveEventId) -> Result<Option<Host>, StoreError>;

    /// Live events matching `query`, newest first.
    async fn list_live_events(&self, query: LiveEventQuery) -> Result<Page<LiveEvent>, StoreError>;

    /// Every participant that ever entered, newest first. `NotFound` if no live event.
    async fn list_live_event_participants(
        &self,
        id: &LiveEventId,
        page: PageRequest,
    ) -> Result<Page<LiveEventParticipant>, StoreError>;

    /// Live events not ended that still have a host present or participants entered
    /// (presence left over by a previous run; see `LiveEventService::exit_leftover_presence`).
    async fn live_events_with_presence(&self) -> Result<Vec<LiveEventId>, StoreError>;
}
