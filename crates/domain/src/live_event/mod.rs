//! The live event: a one-host broadcast with its `created → ready → ongoing → ended` life
//! cycle, its host and the counters of its audience.
//!
//! State machine (only forward, checked by [`LiveEventState::next`]):
//!
//! ```text
//! created ──ready──▶ ready ──start──▶ ongoing
//!    │                 │                 │
//!    └─────end─────────┴──────end────────┴──▶ ended
//! ```
//!
//! Starting requires `ready` first (the spec's start example carries `set_ready_at`, and the
//! hosted SDK sets an event ready before starting it). Anything else, including ending twice,
//! is refused with [`DomainError::LiveEventActionNotAllowed`] and changes nothing.
//!
//! Invariants kept by every transition (`LiveEvent::settle`):
//! - `participant_count` is the number of participants that entered and have not exited,
//!   `peak_participant_count` is its maximum ever, `cumulative_participant_count` counts every
//!   entry (the same user on two devices counts twice);
//! - `is_host_streaming` is true exactly while the event is `ongoing` and its host is
//!   `connected`;
//! - `duration` is `ended_at - created_at` once ended and 0 before;
//! - `host` is the host currently present (not exited), if any.

mod events;
mod presence;

pub use events::LiveEventBody;
pub use presence::{
    Host, HostEnterRequest, HostState, LiveEventParticipant, LiveParticipantEnterRequest,
    LiveParticipantState,
};

use crate::custom_items::KeyRule;
use crate::{CustomItems, DomainError, Event, LiveEventId, Millis, UserId};
use serde::{Deserialize, Serialize};

/// Most users that may host one live event.
pub const MAX_HOST_USER_IDS: usize = 10;
/// Key rule of live-event custom items: keys must not contain a comma.
pub const CUSTOM_ITEMS_RULE: KeyRule = KeyRule::NoComma;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum HostType {
    /// Exactly one host at a time.
    SingleHost,
}

impl HostType {
    pub const ALL: [HostType; 1] = [HostType::SingleHost];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SingleHost => "single_host",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum LiveEventState {
    Created,
    Ready,
    Ongoing,
    Ended,
}

/// A Platform API action that moves a live event along its state machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LifecycleAction {
    SetReady,
    Start,
    End,
}

impl LifecycleAction {
    fn verb(self) -> &'static str {
        match self {
            Self::SetReady => "set ready",
            Self::Start => "start",
            Self::End => "end",
        }
    }
}

impl LiveEventState {
    pub const ALL: [LiveEventState; 4] = [
        LiveEventState::Created,
        LiveEventState::Ready,
        LiveEventState::Ongoing,
        LiveEventState::Ended,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Ready => "ready",
            Self::Ongoing => "ongoing",
            Self::Ended => "ended",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// The state machine itself: where `action` leads from `self`, or why it can't.
    pub fn next(self, action: LifecycleAction) -> Result<Self, DomainError> {
        use LifecycleAction::*;
        use LiveEventState::*;
        match (self, action) {
            (Created, SetReady) => Ok(Ready),
            (Ready, Start) => Ok(Ongoing),
            (Created | Ready | Ongoing, End) => Ok(Ended),
            (state, action) => Err(DomainError::not_allowed(format!(
                "a live event can't {} when it is {}",
                action.verb(),
                state.as_str()
            ))),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LiveEvent {
    #[schema(value_type = String)]
    pub live_event_id: LiveEventId,
    pub host_type: HostType,
    pub state: LiveEventState,
    pub created_at: Millis,
    pub set_ready_at: Option<Millis>,
    pub started_at: Option<Millis>,
    pub ended_at: Option<Millis>,
    pub is_host_streaming: bool,
    /// The host currently present, `null` when nobody hosts.
    pub host: Option<Host>,
    /// `""` when done through the Platform API (likewise for the other `*_by`).
    pub created_by: String,
    pub set_ready_by: String,
    pub started_by: String,
    pub ended_by: String,
    /// Milliseconds from creation to end; 0 until ended.
    pub duration: i64,
    pub participant_count: i64,
    pub peak_participant_count: i64,
    pub cumulative_participant_count: i64,
    #[schema(value_type = Vec<String>)]
    pub user_ids_for_host: Vec<UserId>,
    pub custom_items: CustomItems,
}

/// The outcome of a live-event transition, ready to be stored atomically.
#[derive(Clone, Debug)]
pub struct LiveEventChange {
    pub live_event: LiveEvent,
    /// Host records created or modified (an exited host is no longer in `live_event.host`).
    pub hosts: Vec<Host>,
    /// Participant records created or modified.
    pub participants: Vec<LiveEventParticipant>,
    pub events: Vec<Event>,
}

impl LiveEventChange {
    fn unchanged(live_event: &LiveEvent) -> Self {
        Self {
            live_event: live_event.clone(),
            hosts: Vec::new(),
            participants: Vec::new(),
            events: Vec::new(),
        }
    }
}

impl LiveEvent {
    /// A new live event in `created` and its `live_event:create` event.
    pub fn create(
        live_event_id: LiveEventId,
        host_type: HostType,
        user_ids_for_host: Vec<UserId>,
        custom_items: CustomItems,
        created_by: String,
        now: Millis,
    ) -> Result<LiveEventChange, DomainError> {
        check_host_ids(&user_ids_for_host)?;
        let live_event = LiveEvent {
            live_event_id,
            host_type,
            state: LiveEventState::Created,
            created_at: now,
            set_ready_at: None,
            started_at: None,
            ended_at: None,
            is_host_streaming: false,
            host: None,
            created_by,
            set_ready_by: String::new(),
            started_by: String::new(),
            ended_by: String::new(),
            duration: 0,
            participant_count: 0,
            peak_participant_count: 0,
            cumulative_participant_count: 0,
            user_ids_for_host,
            custom_items,
        };
        let mut change = LiveEventChange::unchanged(&live_event);
        change
            .events
            .push(live_event.event(now, LiveEventBody::Created));
        Ok(change)
    }

    /// `created → ready`: participants may enter from now on.
    pub fn set_ready(&self, by: String, now: Millis) -> Result<LiveEventChange, DomainError> {
        let mut next = self.clone();
        next.state = self.state.next(LifecycleAction::SetReady)?;
        next.set_ready_at = Some(now);
        next.set_ready_by = by;
        Ok(next.finish(now, LiveEventBody::SetReady))
    }

    /// `ready → ongoing`: participants receive the host's media.
    pub fn start(&self, by: String, now: Millis) -> Result<LiveEventChange, DomainError> {
        let mut next = self.clone();
        next.state = self.state.next(LifecycleAction::Start)?;
        next.started_at = Some(now);
        next.started_by = by;
        Ok(next.finish(now, LiveEventBody::Started))
    }

    /// Any state but `ended` `→ ended`: every participant in `active` is forced out and the
    /// host exits. `active` must be every participant of this event that has not exited.
    pub fn end(
        &self,
        active: &[LiveEventParticipant],
        by: String,
        now: Millis,
    ) -> Result<LiveEventChange, DomainError> {
        let state = self.state.next(LifecycleAction::End)?;
        let mut change = LiveEventChange::unchanged(self);
        for participant in active {
            let step = change.live_event.participant_exit(participant, now)?;
            change.absorb(step);
        }
        if let Some(host) = &change.live_event.host {
            let host_id = host.host_id.clone();
            let step = change.live_event.host_exit(&host_id, now)?;
            change.absorb(step);
        }
        let mut next = change.live_event.clone();
        next.state = state;
        next.ended_at = Some(now);
        next.ended_by = by;
        let last = next.finish(now, LiveEventBody::Ended);
        change.absorb(last);
        Ok(change)
    }

    /// Builds an event of this live event's stream.
    fn event(&self, now: Millis, body: LiveEventBody) -> Event {
        Event::new(now, body.into_event_body(self.clone()))
    }

    /// Re-derives the invariants after a change and records `body` as its event.
    fn finish(mut self, now: Millis, body: LiveEventBody) -> LiveEventChange {
        self.settle();
        let mut change = LiveEventChange::unchanged(&self);
        change.events.push(self.event(now, body));
        change
    }

    /// Keeps the derived fields consistent with the state (see the module invariants).
    fn settle(&mut self) {
        self.peak_participant_count = self.peak_participant_count.max(self.participant_count);
        self.is_host_streaming = self.state == LiveEventState::Ongoing
            && self
                .host
                .as_ref()
                .is_some_and(|h| h.state == HostState::Connected);
        self.duration = match self.ended_at {
            Some(ended_at) => (ended_at - self.created_at).max(0),
            None => 0,
        };
    }

    fn ensure_not_ended(&self, action: &str) -> Result<(), DomainError> {
        if self.state == LiveEventState::Ended {
            return Err(DomainError::not_allowed(format!(
                "can't {action}: the live event has ended"
            )));
        }
        Ok(())
    }
}

impl LiveEventChange {
    /// Appends a later step of the same transition: its state replaces ours.
    fn absorb(&mut self, step: LiveEventChange) {
        self.live_event = step.live_event;
        self.hosts.extend(step.hosts);
        self.participants.extend(step.participants);
        self.events.extend(step.events);
    }
}

/// Validates the `user_ids_for_host` of a new live event.
fn check_host_ids(ids: &[UserId]) -> Result<(), DomainError> {
    if ids.is_empty() {
        return Err(DomainError::invalid(
            "user_ids_for_host must name at least one user",
        ));
    }
    if ids.len() > MAX_HOST_USER_IDS {
        return Err(DomainError::invalid(format!(
            "user_ids_for_host can name at most {MAX_HOST_USER_IDS} users"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
