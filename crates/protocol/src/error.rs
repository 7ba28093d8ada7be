//! Refusals on the wire: the spec's error codes ([`ErrorCode`]), the `{code, message}` pair
//! an `error` frame carries ([`WireError`]), and why a text frame is not a request at all
//! ([`FrameError`]).
//!
//! Invariant: a code keeps its number forever (clients branch on it); an unknown number read
//! from a newer server is kept as [`ErrorCode::Other`], never dropped.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The spec's error codes (docs/protocol.md §6 and §10, shared with the Platform API).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "u32", into = "u32")]
pub enum ErrorCode {
    /// 400100: malformed frame or parameter, unknown request type, oversized frame.
    InvalidParameter,
    /// 400111: a required field is missing.
    MissingParameter,
    /// 400200: the room or live event doesn't exist, or this device is not in the room.
    NotFound,
    /// 400201: the resource already exists (Platform API).
    AlreadyExists,
    /// 400401: a bad API token (Platform API).
    InvalidApiToken,
    /// 401121: the session ended, or a token is invalid.
    NotAuthorized,
    /// 429100: too many chat messages.
    RateLimited,
    /// 500999: internal error (details only in the server log).
    Internal,
    /// 1400120: the room is full.
    RoomFull,
    /// 1400122: this device already entered the room.
    AlreadyEntered,
    /// 1400126: the room was deleted.
    InvalidRoom,
    /// 1400101: the call's state does not allow the action (already accepted, ended, …).
    CallInvalidState,
    /// 1400102: the direct call doesn't exist.
    CallNotFound,
    /// 1400103: the callee doesn't exist or is not active.
    CalleeNotFound,
    /// 1400104: a user cannot dial itself.
    DialedSelf,
    /// 1400105: this user or device is not part of the call.
    CallNotParticipant,
    /// 2800101: the live event's state does not allow the action.
    LiveEventActionNotAllowed,
    /// 2800102: the action is not allowed for this user.
    LiveEventNotAllowedForUser,
    /// 2800103: this device has not entered the live event.
    LiveEventNotEntered,
    /// A code this version does not know (from a newer server).
    Other(u32),
}

impl ErrorCode {
    /// Every known code, for tables and tests.
    pub const KNOWN: [ErrorCode; 19] = [
        Self::InvalidParameter,
        Self::MissingParameter,
        Self::NotFound,
        Self::AlreadyExists,
        Self::InvalidApiToken,
        Self::NotAuthorized,
        Self::RateLimited,
        Self::Internal,
        Self::RoomFull,
        Self::AlreadyEntered,
        Self::InvalidRoom,
        Self::CallInvalidState,
        Self::CallNotFound,
        Self::CalleeNotFound,
        Self::DialedSelf,
        Self::CallNotParticipant,
        Self::LiveEventActionNotAllowed,
        Self::LiveEventNotAllowedForUser,
        Self::LiveEventNotEntered,
    ];

    /// The number on the wire.
    pub const fn number(self) -> u32 {
        match self {
            Self::InvalidParameter => 400100,
            Self::MissingParameter => 400111,
            Self::NotFound => 400200,
            Self::AlreadyExists => 400201,
            Self::InvalidApiToken => 400401,
            Self::NotAuthorized => 401121,
            Self::RateLimited => 429100,
            Self::Internal => 500999,
            Self::RoomFull => 1400120,
            Self::AlreadyEntered => 1400122,
            Self::InvalidRoom => 1400126,
            Self::CallInvalidState => 1400101,
            Self::CallNotFound => 1400102,
            Self::CalleeNotFound => 1400103,
            Self::DialedSelf => 1400104,
            Self::CallNotParticipant => 1400105,
            Self::LiveEventActionNotAllowed => 2800101,
            Self::LiveEventNotAllowedForUser => 2800102,
            Self::LiveEventNotEntered => 2800103,
            Self::Other(n) => n,
        }
    }
}

impl From<u32> for ErrorCode {
    fn from(n: u32) -> Self {
        Self::KNOWN
            .into_iter()
            .find(|c| c.number() == n)
            .unwrap_or(Self::Other(n))
    }
}

impl From<ErrorCode> for u32 {
    fn from(code: ErrorCode) -> Self {
        code.number()
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number())
    }
}

/// A refused request: the spec's code and a human-readable message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[error("{code}: {message}")]
pub struct WireError {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub code: ErrorCode,
    pub message: String,
}

impl WireError {
    pub fn new(code: impl Into<ErrorCode>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }

    /// 400100 with `message`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParameter, message)
    }

    /// 400111: "`name` is required".
    pub fn missing(name: &str) -> Self {
        Self::new(ErrorCode::MissingParameter, format!("{name} is required"))
    }
}

/// Why a text (or binary) frame is not a request the server can handle. The messages are
/// the ones clients have always received.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("messages are limited to {max} bytes")]
    TooLong { max: usize },
    #[error("the message is not valid JSON: {0}")]
    NotJson(String),
    #[error("a message must be a JSON object")]
    NotObject,
    #[error(
        "id must be a string of 1 to {} characters",
        crate::MAX_REQUEST_ID_CHARS
    )]
    BadId,
    #[error("id is required")]
    MissingId,
    #[error("type must be a string")]
    BadType,
    #[error("type is required")]
    MissingType,
    #[error("unknown message type '{0}'")]
    UnknownType(String),
    #[error("invalid parameters: {0}")]
    InvalidParams(String),
    #[error("binary frames are not part of the protocol")]
    Binary,
}

impl FrameError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::MissingId | Self::MissingType => ErrorCode::MissingParameter,
            Self::TooLong { .. }
            | Self::NotJson(_)
            | Self::NotObject
            | Self::BadId
            | Self::BadType
            | Self::UnknownType(_)
            | Self::InvalidParams(_)
            | Self::Binary => ErrorCode::InvalidParameter,
        }
    }
}

impl From<FrameError> for WireError {
    fn from(err: FrameError) -> Self {
        Self::new(err.code(), err.to_string())
    }
}
