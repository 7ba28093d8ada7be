//! Why a domain rule refused a request. Each variant is a rule a client can break; the HTTP
//! and signaling edges map them to the spec's error codes.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    /// A value is malformed or out of its documented range (spec code 400100).
    #[error("{0}")]
    InvalidParameter(String),
    /// A required value is absent (spec code 400111).
    #[error("{0}")]
    MissingParameter(String),
    /// The room was deleted: it can't be entered nor its custom items changed (1400126).
    #[error("the room was deleted")]
    RoomDeleted,
    /// The room already holds as many participants as its type allows (1400120).
    #[error("the room is full ({capacity} participants)")]
    RoomFull { capacity: usize },
    /// This client already has an active participant in the room (1400122).
    #[error("this client already entered the room")]
    AlreadyEntered,
    /// The participant is not (or no longer) in the room.
    #[error("the participant is not in the room")]
    ParticipantNotFound,
    /// The live event's state (or its current host) does not allow the action (2800101).
    #[error("action not allowed in the current state: {0}")]
    LiveEventActionNotAllowed(String),
    /// The user is not in the live event's `user_ids_for_host` (2800102).
    #[error("the user is not allowed to host this live event")]
    NotAllowedToHost,
    /// The host or participant is not (or no longer) in the live event (2800103).
    #[error("the user has not entered the live event")]
    NotInLiveEvent,
    /// The direct call's state does not allow the action (1400101).
    #[error("{0}")]
    CallInvalidState(String),
    /// The direct call does not exist (1400102).
    #[error("the direct call was not found")]
    CallNotFound,
    /// The callee does not exist or is not active (1400103).
    #[error("the callee was not found or is not active")]
    CalleeNotFound,
    /// A user dialed itself (1400104).
    #[error("a user cannot dial itself")]
    DialedSelf,
    /// The user or device is not part of the call, or not the side that may act (1400105).
    #[error("{0}")]
    NotCallParticipant(String),
}

impl DomainError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidParameter(message.into())
    }

    pub fn not_allowed(message: impl Into<String>) -> Self {
        Self::LiveEventActionNotAllowed(message.into())
    }
}
