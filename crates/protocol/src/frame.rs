//! Whole frames: what a client sends ([`ClientFrame`]) and what the server sends
//! ([`ServerFrame`]: `hello`, `response`, `error`, `event`, `goodbye`), with their text
//! rendering.
//!
//! Invariant: the server's first frame is `hello`, its last (when it closes on purpose)
//! `goodbye` followed by a close frame with [`GoodbyeReason::close_code`].

use crate::error::{ErrorCode, WireError};
use crate::event::EventFrame;
use crate::ids::RequestId;
use crate::request::Request;
use crate::response::LiveSeat;
use opencalls_domain::{ClientId, DirectCall, LiveEvent, ParticipantId, Room, User};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A request frame as a client sends it: `{"id", "type", ...params}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ClientFrame {
    pub id: RequestId,
    #[serde(flatten)]
    pub request: Request,
}

/// Every frame the server sends, by `type`. `R` is the type of a response's result: the
/// server renders typed results ([`crate::response::Reply`]); a client reads them as JSON
/// and decodes them knowing the request ([`crate::Call::Output`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<R = Value> {
    Hello(Box<Hello>),
    Response(ResponseFrame<R>),
    Error(ErrorFrame),
    Event(EventFrame),
    Goodbye(Goodbye),
}

impl<R: Serialize> ServerFrame<R> {
    /// The frame as the text of a WebSocket message.
    pub fn to_text(&self) -> String {
        // Frames are plain data with string keys; serializing them cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The first frame of a connection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Hello {
    /// Always [`crate::PROTOCOL`].
    pub protocol: String,
    /// The device's id: send it again when reconnecting to resume its seats.
    pub client_id: ClientId,
    pub user: User,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub heartbeat_interval_ms: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub heartbeat_timeout_ms: u64,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub reconnect_grace_ms: u64,
    pub max_message_bytes: usize,
    /// Rooms in which this device still holds a participant, with fresh snapshots.
    pub resumed: Vec<ResumedRoom>,
    /// Live seats this device still holds, with fresh snapshots.
    pub resumed_live: Vec<ResumedLive>,
    /// STUN/TURN servers for the device's `RTCPeerConnection` (`iceServers`), with
    /// time-limited TURN credentials; empty when the server has no TURN configured. Absent
    /// from servers older than this field, hence the default.
    #[serde(default)]
    pub ice_servers: Vec<IceServer>,
    /// Direct calls not yet ended that this device dialed, accepted, or that ring on it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub resumed_calls: Vec<DirectCall>,
}

/// One entry of `RTCConfiguration.iceServers`: the same field names, so a browser passes it
/// through unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct IceServer {
    /// `turn:host:port?transport=udp|tcp`, `turns:…` or `stun:…` URLs of one server.
    pub urls: Vec<String>,
    /// TURN REST API user name, `<expiry unix seconds>:<user id>`; absent for STUN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub username: Option<String>,
    /// base64(HMAC-SHA1(shared secret, username)); absent for STUN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional))]
    pub credential: Option<String>,
}

/// A room seat kept across a reconnect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ResumedRoom {
    pub room: Room,
    pub participant_id: ParticipantId,
}

/// A live seat kept across a reconnect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ResumedLive {
    pub live_event: LiveEvent,
    #[serde(flatten)]
    pub seat: LiveSeat,
}

/// The answer to a request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ResponseFrame<R = Value> {
    pub id: RequestId,
    pub result: R,
}

/// A refusal: of a request (`id`), or of a frame that was no request at all (`id` null).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ErrorFrame {
    pub id: Option<RequestId>,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub code: ErrorCode,
    pub message: String,
}

impl ErrorFrame {
    pub fn new(id: Option<RequestId>, err: WireError) -> Self {
        Self {
            id,
            code: err.code,
            message: err.message,
        }
    }
}

/// Sent just before the server closes the socket on purpose.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Goodbye {
    pub reason: GoodbyeReason,
    pub message: String,
}

/// Why the server closes a connection (docs/protocol.md §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum GoodbyeReason {
    /// Access tokens revoked or the user deleted; participants exit now.
    SessionRevoked,
    /// The same device connected again; the new connection owns the seats.
    Replaced,
    /// Nothing heard for the heartbeat timeout.
    HeartbeatTimeout,
    /// The device didn't read its events fast enough.
    TooSlow,
    /// The server lost track of events it owed the device: reconnect and resync.
    Resync,
    /// The server is shutting down.
    ServerRestart,
    /// The session token expired: reconnect with a fresh one and the same `client_id`.
    SessionExpired,
}

impl GoodbyeReason {
    /// The WebSocket close code that follows the `goodbye`.
    pub const fn close_code(self) -> u16 {
        match self {
            Self::SessionRevoked => 4001,
            Self::Replaced => 4002,
            Self::HeartbeatTimeout => 4003,
            Self::TooSlow => 4004,
            Self::Resync => 4005,
            Self::ServerRestart => 1012,
            Self::SessionExpired => 4006,
        }
    }

    /// The wire name (also the close frame's reason).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SessionRevoked => "session_revoked",
            Self::Replaced => "replaced",
            Self::HeartbeatTimeout => "heartbeat_timeout",
            Self::TooSlow => "too_slow",
            Self::Resync => "resync",
            Self::ServerRestart => "server_restart",
            Self::SessionExpired => "session_expired",
        }
    }
}
