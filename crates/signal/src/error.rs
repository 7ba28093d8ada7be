//! Why the signaling layer refuses something: one enum for the whole crate, mapped once to
//! the wire's `{code, message}` ([`WireError`]) at the edge (the connection's answer, the
//! HTTP error body).
//!
//! Invariant: the message of each variant is the one clients have always received; an
//! internal failure never shows its detail (it is logged where it is mapped).

use opencalls_protocol::{ErrorCode, FrameError, RequestKind, WireError};
use opencalls_rtc::MediaError;
use opencalls_rtc::placement::PlacementError;
use opencalls_service::ServiceError;
use opencalls_service::chat::ChatError;
use opencalls_sfu::SfuError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum SignalError {
    /// The frame is not a request this version handles.
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("the room was not found")]
    RoomNotFound,
    #[error("this client is not in the room")]
    NotInRoom,
    #[error("this client already entered the room")]
    AlreadyInRoom,
    #[error("the live event was not found")]
    LiveEventNotFound,
    #[error("this client has not entered the live event")]
    NotEntered,
    #[error("this client already entered the live event")]
    AlreadyInLiveEvent,
    #[error("only the host may {}", .0.as_str())]
    HostOnly(RequestKind),
    /// The session was revoked while the request ran.
    #[error("the session has ended")]
    SessionEnded,
    /// The connection was replaced or revoked before the request took a seat.
    #[error("this connection's session has ended")]
    ConnectionEnded,
    #[error(transparent)]
    Chat(#[from] ChatError),
    #[error("participant_id is not this client's participant in the room")]
    NotYourParticipant,
    #[error("a live-event offer takes live_event_id and sdp, not room_id or participant_id")]
    MixedOffer,
    #[error("a call offer takes call_id and sdp, not room_id, live_event_id or participant_id")]
    MixedCallOffer,
    #[error("the direct call was not found")]
    CallNotFound,
    #[error("this client is not in the call")]
    NotInCall,
    #[error("the call is not accepted yet, or has ended")]
    CallNotLive,
    #[error("this client is already in a call")]
    AlreadyInCall,
    #[error("media is not enabled on this server")]
    MediaDisabled,
    #[error("a layer hint names one media session: room_id, live_event_id or call_id")]
    MixedHint,
    #[error("this client has no media session there: send media.offer first")]
    NoMediaSession,
    // Limits (docs/security.md, "Limits"): refused before anything changes.
    #[error("too many devices of this user are connected (at most {max})")]
    TooManyDevices { max: usize },
    #[error("this user holds too many live-event seats (at most {max})")]
    TooManyLiveSeats { max: usize },
    #[error("this user has too many media connections (at most {max})")]
    TooManyMediaPeers { max: usize },
    #[error("too many requests on this connection: at most {per_sec} per second")]
    TooManyRequests { per_sec: u32 },
    #[error("too many media offers on this connection: at most {per_min} per minute")]
    TooManyOffers { per_min: u32 },
    #[error("too many session requests; try again later")]
    TooManySessionOpens,
    #[error("media: {0}")]
    Media(#[from] MediaError),
    #[error(transparent)]
    Service(#[from] ServiceError),
    // HTTP (session exchange and upgrade).
    #[error("the request body is not valid JSON for this action: {0}")]
    BadBody(String),
    #[error("invalid query: {0}")]
    BadQuery(String),
    #[error("a session token is required")]
    NoSessionToken,
    #[error("the token is invalid, expired or revoked")]
    BadCredentials,
    #[error("client_id must be 1 to 128 characters")]
    BadClientId,
    #[error("not a WebSocket upgrade: {0}")]
    NotUpgrade(String),
}

impl From<SfuError> for SignalError {
    fn from(err: SfuError) -> Self {
        Self::Media(err.into())
    }
}

impl From<opencalls_domain::DomainError> for SignalError {
    fn from(err: opencalls_domain::DomainError) -> Self {
        Self::Service(ServiceError::Rejected(err))
    }
}

impl From<SignalError> for WireError {
    fn from(err: SignalError) -> Self {
        use ErrorCode::*;
        let code = match &err {
            SignalError::Frame(frame) => frame.code(),
            SignalError::Missing(_) => MissingParameter,
            SignalError::RoomNotFound | SignalError::NotInRoom => NotFound,
            SignalError::LiveEventNotFound => NotFound,
            SignalError::AlreadyInRoom => AlreadyEntered,
            SignalError::NotEntered => LiveEventNotEntered,
            SignalError::AlreadyInLiveEvent => LiveEventActionNotAllowed,
            SignalError::HostOnly(_) => LiveEventNotAllowedForUser,
            SignalError::SessionEnded
            | SignalError::ConnectionEnded
            | SignalError::NoSessionToken
            | SignalError::BadCredentials => NotAuthorized,
            SignalError::Chat(ChatError::BadLength { .. }) => InvalidParameter,
            SignalError::Chat(ChatError::RateLimited)
            | SignalError::TooManyDevices { .. }
            | SignalError::TooManyLiveSeats { .. }
            | SignalError::TooManyMediaPeers { .. }
            | SignalError::TooManyRequests { .. }
            | SignalError::TooManyOffers { .. }
            | SignalError::TooManySessionOpens => RateLimited,
            SignalError::CallNotFound => CallNotFound,
            SignalError::NotInCall => CallNotParticipant,
            SignalError::CallNotLive | SignalError::AlreadyInCall => CallInvalidState,
            SignalError::NotYourParticipant
            | SignalError::MixedCallOffer
            | SignalError::MixedOffer
            | SignalError::MixedHint
            | SignalError::NoMediaSession
            | SignalError::BadBody(_)
            | SignalError::BadQuery(_)
            | SignalError::BadClientId
            | SignalError::NotUpgrade(_) => InvalidParameter,
            SignalError::MediaDisabled | SignalError::Chat(ChatError::Unavailable) => Internal,
            SignalError::Media(MediaError::Sfu(sfu)) => return media_error(sfu),
            SignalError::Media(MediaError::Placement(err)) => return placement_error(err),
            SignalError::Service(service) => {
                let (code, message) = opencalls_service::codes::describe(service);
                return WireError::new(code, message);
            }
        };
        WireError::new(code, err.to_string())
    }
}

/// The client's view of a failure between nodes: an internal error; the log says which.
fn placement_error(err: &PlacementError) -> WireError {
    tracing::error!(kind = err.kind(), %err, "remote media failure");
    WireError::new(ErrorCode::Internal, "internal server error")
}

/// The client's view of an SFU refusal.
fn media_error(err: &SfuError) -> WireError {
    match err {
        SfuError::VideoNotAllowed => {
            WireError::invalid("this room is audio-only: the offer must not contain a video m-line")
        }
        SfuError::InvalidOffer(why) => WireError::invalid(format!("invalid SDP offer: {why}")),
        SfuError::InvalidHint(why) => WireError::invalid(format!("invalid layer hint: {why}")),
        // Only live-event participants (viewers) are refused publishing.
        SfuError::PublishNotAllowed => WireError::new(
            ErrorCode::LiveEventNotAllowedForUser,
            "this member may not publish media here: offer receive-only m-lines",
        ),
        SfuError::HostExists | SfuError::RoleNotAllowed(_) => {
            WireError::new(ErrorCode::NotAuthorized, err.to_string())
        }
        SfuError::LimitReached(what) => {
            tracing::warn!(what, "media layer limit reached");
            WireError::new(ErrorCode::Internal, "the media server is at capacity")
        }
        SfuError::GroupExists(_)
        | SfuError::GroupNotFound(_)
        | SfuError::PeerExists(_)
        | SfuError::PeerNotFound(_)
        | SfuError::Stopped
        | SfuError::Io(_) => {
            tracing::error!(%err, "media layer failure");
            WireError::new(ErrorCode::Internal, "internal server error")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opencalls_store::NodeId;

    #[test]
    fn remote_media_failures_reach_the_client_as_internal_errors_without_their_detail() {
        let owner = NodeId::parse("node-secret-7").unwrap();
        let failures = [
            PlacementError::Store("pool timed out at 10.0.0.5".into()),
            PlacementError::Timeout(owner.clone()),
            PlacementError::Send(owner.clone(), "notify failed".into()),
            PlacementError::TooManyInFlight(owner.clone()),
            PlacementError::OwnerUnavailable(owner, "stopped".into()),
            PlacementError::KeptMoving,
            PlacementError::Fenced,
        ];
        for failure in failures {
            let wire = WireError::from(SignalError::Media(failure.into()));
            assert_eq!(wire.code, ErrorCode::Internal);
            assert_eq!(wire.message, "internal server error");
        }
        // A local SFU refusal still reads as before.
        let refused = WireError::from(SignalError::from(SfuError::VideoNotAllowed));
        assert_eq!(refused.code, ErrorCode::InvalidParameter);
    }
}
