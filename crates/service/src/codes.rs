//! The spec's error codes, shared by every adapter (the Platform API and the client
//! protocol), so one refusal carries the same code whichever way it is asked.
//!
//! Invariant: the public message of an internal error never carries its detail; the detail
//! is logged here, once.

use crate::ServiceError;
use opencalls_domain::DomainError;

/// Codes of the spec's error table (see docs/api.md).
pub mod code {
    pub const INVALID_PARAMETER: u32 = 400100;
    pub const MISSING_PARAMETER: u32 = 400111;
    pub const NOT_FOUND: u32 = 400200;
    pub const ALREADY_EXISTS: u32 = 400201;
    pub const INVALID_ROOM: u32 = 1400126;
    pub const ROOM_FULL: u32 = 1400120;
    pub const ALREADY_ENTERED: u32 = 1400122;
    pub const INVALID_API_TOKEN: u32 = 400401;
    pub const NOT_ALLOWED: u32 = 401120;
    pub const NOT_AUTHORIZED: u32 = 401121;
    pub const RATE_LIMITED: u32 = 429100;
    pub const INTERNAL: u32 = 500999;
    /// The live event's state does not allow the action (hosted client code).
    pub const LIVE_EVENT_ACTION_NOT_ALLOWED: u32 = 2800101;
    /// The action is not allowed for this user (e.g. hosting without being listed).
    pub const LIVE_EVENT_NOT_ALLOWED_FOR_USER: u32 = 2800102;
    /// The user (host or participant) has not entered the live event.
    pub const LIVE_EVENT_NOT_ENTERED: u32 = 2800103;
    /// The direct call's state does not allow the action.
    pub const CALL_INVALID_STATE: u32 = 1400101;
    /// The direct call does not exist.
    pub const CALL_NOT_FOUND: u32 = 1400102;
    /// The callee does not exist or is not active.
    pub const CALLEE_NOT_FOUND: u32 = 1400103;
    /// A user dialed itself.
    pub const DIALED_SELF: u32 = 1400104;
    /// The user or device is not part of the call.
    pub const CALL_NOT_PARTICIPANT: u32 = 1400105;
}

/// The code of a broken domain rule.
pub fn domain_code(err: &DomainError) -> u32 {
    match err {
        DomainError::InvalidParameter(_) => code::INVALID_PARAMETER,
        DomainError::MissingParameter(_) => code::MISSING_PARAMETER,
        DomainError::RoomDeleted => code::INVALID_ROOM,
        DomainError::RoomFull { .. } => code::ROOM_FULL,
        DomainError::AlreadyEntered => code::ALREADY_ENTERED,
        DomainError::ParticipantNotFound => code::NOT_FOUND,
        DomainError::LiveEventActionNotAllowed(_) => code::LIVE_EVENT_ACTION_NOT_ALLOWED,
        DomainError::NotAllowedToHost => code::LIVE_EVENT_NOT_ALLOWED_FOR_USER,
        DomainError::NotInLiveEvent => code::LIVE_EVENT_NOT_ENTERED,
        DomainError::CallInvalidState(_) => code::CALL_INVALID_STATE,
        DomainError::CallNotFound => code::CALL_NOT_FOUND,
        DomainError::CalleeNotFound => code::CALLEE_NOT_FOUND,
        DomainError::DialedSelf => code::DIALED_SELF,
        DomainError::NotCallParticipant(_) => code::CALL_NOT_PARTICIPANT,
    }
}

/// The code and the client-facing message of a service error.
pub fn describe(err: &ServiceError) -> (u32, String) {
    match err {
        ServiceError::Rejected(e) => (domain_code(e), e.to_string()),
        ServiceError::NotFound(what) => (code::NOT_FOUND, format!("the {what} was not found")),
        ServiceError::AlreadyExists(what) => {
            (code::ALREADY_EXISTS, format!("the {what} already exists"))
        }
        ServiceError::Unauthorized(message) => (code::NOT_AUTHORIZED, message.clone()),
        ServiceError::Internal(detail) => {
            tracing::error!(%detail, "internal error");
            (code::INTERNAL, "internal server error".to_owned())
        }
    }
}
