//! The client protocol `opencalls/1` (docs/protocol.md) as typed serde frames, shared by the
//! server (`opencalls-signal`) and the Rust client (`opencalls-client`).
//!
//! Every frame is one JSON object with a `type`. Clients send [`ClientFrame`]s (a request id
//! plus a [`Request`]); the server answers each with exactly one `response` or `error`
//! carrying the same id and pushes `hello`, `event`s and `goodbye` ([`ServerFrame`]).
//!
//! Invariants:
//! - the serde derives *are* the wire format: no frame is assembled from strings or
//!   dispatched on a `type` string by hand; tagged enums do both, and every match over
//!   them is exhaustive, so a new frame cannot be silently dropped;
//! - the JSON produced here is the JSON recorded from the server before this crate existed
//!   (tests/fixtures, checked by tests/fixtures.rs);
//! - resources inside frames (`Room`, `Participant`, `LiveEvent`, `Host`, `User`) are the
//!   domain's own types, so they have exactly the Platform API's shapes.
#![forbid(unsafe_code)]

pub mod error;
pub mod event;
pub mod frame;
pub mod ids;
pub mod request;
pub mod response;
pub mod session;

pub use error::{ErrorCode, FrameError, WireError};
pub use event::{
    CallEvent, CallEventFrame, EventFrame, LiveEventEvent, LiveEventFrame, MediaDisconnectReason,
    MediaKind, RoomEvent, RoomEventFrame,
};
pub use frame::{
    ClientFrame, ErrorFrame, Goodbye, GoodbyeReason, Hello, IceServer, ResponseFrame, ResumedLive,
    ResumedRoom, ServerFrame,
};
pub use ids::{MessageId, RequestId};
pub use request::{Call, LiveRoleName, Request, RequestKind, parse_request};
pub use response::{CallResult, ChatMessage, LiveSeat, OfferAnswer};

/// The protocol name and version announced in `hello`.
pub const PROTOCOL: &str = "opencalls/1";
/// Longest request id accepted, in characters.
pub const MAX_REQUEST_ID_CHARS: usize = 64;
