//! Ids received from outside, parsed once at the edge (HTTP path segments, request bodies)
//! before a service is called.
//!
//! Invariant: an id that is malformed (empty or too long) can't name an existing resource,
//! so it is reported exactly like an unknown one (`NotFound`); only a create, whose id is
//! new, refuses it as invalid input.

use crate::ServiceError;
use crate::live_events::LIVE_EVENT;
use crate::rooms::ROOM;
use crate::users::USER;
use opencalls_domain::{DirectCallId, DomainError, LiveEventId, RoomId, UserId};

/// A room id naming an existing room.
pub fn room_id(raw: &str) -> Result<RoomId, ServiceError> {
    RoomId::parse(raw).ok_or(ServiceError::NotFound(ROOM))
}

/// A live-event id naming an existing live event.
pub fn live_event_id(raw: &str) -> Result<LiveEventId, ServiceError> {
    LiveEventId::parse(raw).ok_or(ServiceError::NotFound(LIVE_EVENT))
}

/// A direct-call id naming an existing call (1400102 otherwise, as the protocol says).
pub fn direct_call_id(raw: &str) -> Result<DirectCallId, ServiceError> {
    DirectCallId::parse(raw).ok_or_else(|| DomainError::CallNotFound.into())
}

/// A user id naming an existing user.
pub fn user_id(raw: &str) -> Result<UserId, ServiceError> {
    UserId::parse(raw).ok_or(ServiceError::NotFound(USER))
}

/// The id of a user about to be created.
pub fn new_user_id(raw: &str) -> Result<UserId, ServiceError> {
    UserId::parse(raw).ok_or_else(|| {
        DomainError::invalid("user_id must be 1 to 128 characters".to_owned()).into()
    })
}

/// The user id a client claims when it opens a session: a malformed one is refused like
/// a wrong access token, so a guesser learns nothing.
pub fn claimed_user_id(raw: &str) -> Result<UserId, ServiceError> {
    UserId::parse(raw).ok_or_else(crate::sessions::unauthorized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_ids_read_as_unknown_resources() {
        let long = "x".repeat(opencalls_domain::ids::MAX_ID_LEN + 1);
        for raw in ["", long.as_str()] {
            assert!(matches!(room_id(raw), Err(ServiceError::NotFound("room"))));
            assert!(matches!(
                live_event_id(raw),
                Err(ServiceError::NotFound("live event"))
            ));
            assert!(matches!(user_id(raw), Err(ServiceError::NotFound("user"))));
            assert!(matches!(new_user_id(raw), Err(ServiceError::Rejected(_))));
            assert!(matches!(
                claimed_user_id(raw),
                Err(ServiceError::Unauthorized(_))
            ));
        }
        assert_eq!(room_id("r1").unwrap().as_str(), "r1");
    }
}
