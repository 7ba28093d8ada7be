//! The wire format of the client protocol, version 1 (see docs/protocol.md).
//!
//! Every frame is one JSON object with a `type`. Clients send requests
//! `{"id", "type", ...params}`; the server answers each with exactly one `response` or
//! `error` carrying the same `id`, and pushes `event`s. Message families are named by
//! prefix: `room.*` here, `live.*` in [`crate::live_protocol`]; an unknown type is an
//! error, never a disconnect.

use opencalls_domain::{DomainError, Event, EventBody, Millis, RoomId};
use opencalls_service::ServiceError;
use serde::Deserialize;
use serde_json::{Value, json};

/// The protocol name and version announced in `hello`.
pub const PROTOCOL: &str = "opencalls/1";
/// Longest request id accepted.
pub const MAX_REQUEST_ID_CHARS: usize = 64;

/// Error codes, shared with the Platform API's error table.
pub use opencalls_service::codes::code;

/// A refused request: the spec's code and a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    pub code: u32,
    pub message: String,
}

impl WireError {
    pub fn new(code: u32, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(code::INVALID_PARAMETER, message)
    }

    pub fn missing(name: &str) -> Self {
        Self::new(code::MISSING_PARAMETER, format!("{name} is required"))
    }
}

impl From<DomainError> for WireError {
    fn from(err: DomainError) -> Self {
        Self::from(ServiceError::Rejected(err))
    }
}

impl From<ServiceError> for WireError {
    fn from(err: ServiceError) -> Self {
        let (code, message) = opencalls_service::codes::describe(&err);
        Self::new(code, message)
    }
}

/// A parsed request frame.
#[derive(Debug)]
pub struct Request {
    /// Echoed in the answer; `None` only when the frame was too broken to carry one.
    pub id: Option<String>,
    pub kind: String,
    pub params: Value,
}

/// Parses a text frame into a request, or the error to answer with (and the id, if any).
pub fn parse_request(text: &str, max_bytes: usize) -> Result<Request, (Option<String>, WireError)> {
    if text.len() > max_bytes {
        return Err((
            None,
            WireError::invalid(format!("messages are limited to {max_bytes} bytes")),
        ));
    }
    let value: Value = serde_json::from_str(text).map_err(|e| {
        (
            None,
            WireError::invalid(format!("the message is not valid JSON: {e}")),
        )
    })?;
    let Value::Object(mut fields) = value else {
        return Err((None, WireError::invalid("a message must be a JSON object")));
    };
    let id = match fields.remove("id") {
        Some(Value::String(id)) if !id.is_empty() && id.chars().count() <= MAX_REQUEST_ID_CHARS => {
            id
        }
        Some(_) => {
            return Err((
                None,
                WireError::invalid(format!(
                    "id must be a string of 1 to {MAX_REQUEST_ID_CHARS} characters"
                )),
            ));
        }
        None => return Err((None, WireError::missing("id"))),
    };
    let kind = match fields.remove("type") {
        Some(Value::String(kind)) => kind,
        Some(_) => return Err((Some(id), WireError::invalid("type must be a string"))),
        None => return Err((Some(id), WireError::missing("type"))),
    };
    Ok(Request {
        id: Some(id),
        kind,
        params: Value::Object(fields),
    })
}

/// Decodes a request's parameters, naming the bad field in the error.
pub fn params<T: for<'de> Deserialize<'de>>(params: Value) -> Result<T, WireError> {
    serde_json::from_value(params)
        .map_err(|e| WireError::invalid(format!("invalid parameters: {e}")))
}

/// Parameters of `room.enter`.
#[derive(Deserialize)]
pub struct EnterParams {
    pub room_id: Option<String>,
    pub is_audio_on: Option<bool>,
    pub is_video_on: Option<bool>,
}

/// Parameters of `room.exit`.
#[derive(Deserialize)]
pub struct ExitParams {
    pub room_id: Option<String>,
}

/// Parameters of `room.set_media`.
#[derive(Deserialize)]
pub struct MediaParams {
    pub room_id: Option<String>,
    pub is_audio_on: Option<bool>,
    pub is_video_on: Option<bool>,
}

pub fn response(id: &str, result: Value) -> String {
    json!({ "type": "response", "id": id, "result": result }).to_string()
}

pub fn error(id: Option<&str>, err: &WireError) -> String {
    json!({ "type": "error", "id": id, "code": err.code, "message": err.message }).to_string()
}

/// Sent just before the server closes the socket on purpose.
pub fn goodbye(reason: &str, message: &str) -> String {
    json!({ "type": "goodbye", "reason": reason, "message": message }).to_string()
}

/// The client-facing name of a room event and its data, or `None` for events clients
/// don't receive (e.g. `room:create`, or families routed elsewhere).
pub fn room_event(event: &Event) -> Option<(RoomId, &'static str, Value)> {
    let (room_id, name, data) = match &event.body {
        EventBody::ParticipantEntered { participant } => (
            participant.room_id.clone(),
            "room.participant_entered",
            json!({ "participant": participant }),
        ),
        EventBody::ParticipantConnected { participant } => (
            participant.room_id.clone(),
            "room.participant_connected",
            json!({ "participant": participant }),
        ),
        EventBody::ParticipantExited { participant } => (
            participant.room_id.clone(),
            "room.participant_exited",
            json!({ "participant": participant }),
        ),
        EventBody::ParticipantMediaChanged { participant } => (
            participant.room_id.clone(),
            "room.participant_media_changed",
            json!({ "participant": participant }),
        ),
        EventBody::RoomCustomItemsUpdated {
            room_id,
            custom_items,
            updated,
        } => (
            room_id.clone(),
            "room.custom_items_updated",
            json!({ "custom_items": custom_items, "updated": updated }),
        ),
        EventBody::RoomCustomItemsDeleted {
            room_id,
            custom_items,
            deleted,
        } => (
            room_id.clone(),
            "room.custom_items_deleted",
            json!({ "custom_items": custom_items, "deleted": deleted }),
        ),
        EventBody::RoomDeleted { room } => (
            room.room_id.clone(),
            "room.deleted",
            json!({ "room": room }),
        ),
        #[allow(unreachable_patterns)]
        _ => return None,
    };
    Some((room_id, name, data))
}

/// Renders an event frame.
pub fn event_frame(name: &str, room_id: &RoomId, occurred_at: Millis, data: Value) -> String {
    json!({ "type": "event", "event": name, "room_id": room_id, "occurred_at": occurred_at, "data": data })
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_or_explain_why_not() {
        let ok = parse_request(r#"{"id":"7","type":"room.exit","room_id":"r"}"#, 1024).unwrap();
        assert_eq!(
            (ok.id.as_deref(), ok.kind.as_str()),
            (Some("7"), "room.exit")
        );
        assert_eq!(ok.params["room_id"], "r");
        let code_of = |text: &str| parse_request(text, 64).unwrap_err().1.code;
        assert_eq!(code_of("{"), code::INVALID_PARAMETER);
        assert_eq!(code_of(r#"{"type":"ping"}"#), code::MISSING_PARAMETER);
        assert_eq!(code_of(r#"{"id":"1"}"#), code::MISSING_PARAMETER);
        assert_eq!(
            code_of(&format!(r#"{{"id":"{}","type":"ping"}}"#, "i".repeat(65))),
            code::INVALID_PARAMETER
        );
        assert_eq!(code_of(&" ".repeat(65)), code::INVALID_PARAMETER);
        let (id, _) = parse_request(r#"{"id":"9","type":3}"#, 64).unwrap_err();
        assert_eq!(
            id.as_deref(),
            Some("9"),
            "the answer still names the request"
        );
    }
}
