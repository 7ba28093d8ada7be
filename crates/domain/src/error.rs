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
}

impl DomainError {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidParameter(message.into())
    }
}
