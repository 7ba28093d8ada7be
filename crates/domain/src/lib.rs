//! Pure domain of OpenCalls: typed ids, resources, validation and state machines.
//!
//! Invariants kept here, for every layer above:
//! - nothing in this crate does I/O, reads a clock or spawns tasks: time comes in as an
//!   argument (`now: Millis`), so every transition is a deterministic function;
//! - a transition either returns the new state together with the events it caused, or an
//!   error and leaves its input untouched (callers apply it to a copy);
//! - resources serialize to exactly the JSON shape of the Platform API spec pages.
#![forbid(unsafe_code)]

pub mod actor;
pub mod custom_items;
pub mod device;
pub mod direct_call;
pub mod error;
pub mod event;
pub mod ids;
pub mod live_event;
pub mod participant;
pub mod room;
pub mod stream;
pub mod user;
pub mod webhook_categories;
pub mod webhook_target;

pub use actor::Actor;
pub use custom_items::{CustomItems, CustomItemsMode};
pub use device::DeviceKey;
pub use direct_call::{
    CallRecord, CallType, DirectCall, DirectCallParticipant, DirectCallRole, DirectCallState,
    EndResult,
};
pub use error::DomainError;
pub use event::{Event, EventBody};
pub use ids::{ClientId, DirectCallId, HostId, LiveEventId, ParticipantId, RoomId, UserId};
pub use live_event::{
    Host, HostState, HostType, LiveEvent, LiveEventParticipant, LiveEventState,
    LiveParticipantState,
};
pub use participant::{Participant, ParticipantState};
pub use room::{Room, RoomState, RoomType};
pub use stream::StreamKey;
pub use user::User;

/// A point in time or a span, in Unix milliseconds, as every timestamp of the Platform API.
pub type Millis = i64;
