//! The `live.*` message family of the client protocol (see docs/protocol.md, "Live events").
//!
//! Requests name their live event with `live_event_id`; events carry `live_event_id` where
//! room events carry `room_id`. Every live event frame holds the live event as it was right
//! after the change (`data.live_event`, with its counters), so a client never needs a
//! second read to show the counts.

use opencalls_domain::live_event::LiveEventBody;
use opencalls_domain::{LiveEvent, LiveEventId, Millis};
use serde::Deserialize;
use serde_json::{Value, json};

/// Longest chat message, in characters.
pub const MAX_CHAT_CHARS: usize = 1_000;
/// Chat messages a user may send per second, sustained (all of its devices together).
pub const CHAT_PER_SECOND: f64 = 5.0;
/// Chat messages a user may send at once after being quiet.
pub const CHAT_BURST: f64 = 10.0;

/// Parameters of `live.enter`.
#[derive(Deserialize)]
pub struct EnterParams {
    pub live_event_id: Option<String>,
    /// `host` or `participant`.
    pub role: Option<String>,
    pub is_audio_on: Option<bool>,
    pub is_video_on: Option<bool>,
}

/// Parameters of `live.exit`, `live.set_ready`, `live.start` and `live.end`.
#[derive(Deserialize)]
pub struct EventParams {
    pub live_event_id: Option<String>,
}

/// Parameters of `live.set_media` (host only).
#[derive(Deserialize)]
pub struct MediaParams {
    pub live_event_id: Option<String>,
    pub is_audio_on: Option<bool>,
    pub is_video_on: Option<bool>,
}

/// Parameters of `live.chat`.
#[derive(Deserialize)]
pub struct ChatParams {
    pub live_event_id: Option<String>,
    pub message: Option<String>,
}

/// The client-facing name and data of a live event's domain event, or `None` for those
/// clients don't receive (`live_event:create`: nobody can be in an event being created).
pub fn event(live_event: &LiveEvent, body: &LiveEventBody) -> Option<(&'static str, Value)> {
    let name = match body {
        LiveEventBody::Created => return None,
        LiveEventBody::SetReady => "live.ready",
        LiveEventBody::Started => "live.started",
        LiveEventBody::Ended => "live.ended",
        LiveEventBody::HostEntered { .. } => "live.host_entered",
        LiveEventBody::HostConnected { .. } => "live.host_connected",
        LiveEventBody::HostDisconnected { .. } => "live.host_disconnected",
        LiveEventBody::HostExited { .. } => "live.host_exited",
        LiveEventBody::ParticipantEntered { .. } => "live.participant_entered",
        LiveEventBody::ParticipantExited { .. } => "live.participant_exited",
    };
    // The webhook payload has the same shape: `{live_event, host?|participant?}`.
    Some((name, body.payload(live_event)))
}

/// Renders a live event frame.
pub fn event_frame(name: &str, id: &LiveEventId, occurred_at: Millis, data: Value) -> String {
    json!({ "type": "event", "event": name, "live_event_id": id, "occurred_at": occurred_at, "data": data })
        .to_string()
}

/// Why a chat message is refused, if it is.
pub fn check_chat(message: &str) -> Result<(), String> {
    let chars = message.chars().count();
    if message.trim().is_empty() || chars > MAX_CHAT_CHARS {
        return Err(format!(
            "message must hold 1 to {MAX_CHAT_CHARS} characters, not only spaces; got {chars}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_live_change_but_create_has_a_client_name() {
        use opencalls_domain::{CustomItems, HostType, UserId};
        let change = LiveEvent::create(
            LiveEventId::generate(),
            HostType::SingleHost,
            vec![UserId::parse("h").unwrap()],
            CustomItems::default(),
            String::new(),
            1,
        )
        .unwrap();
        let live = change.live_event;
        assert_eq!(event(&live, &LiveEventBody::Created), None);
        let (name, data) = event(&live, &LiveEventBody::Ended).unwrap();
        assert_eq!(name, "live.ended");
        assert_eq!(
            data["live_event"]["live_event_id"],
            live.live_event_id.as_str()
        );
        let frame: Value =
            serde_json::from_str(&event_frame(name, &live.live_event_id, 5, data)).unwrap();
        assert_eq!(
            (frame["type"].as_str(), frame["occurred_at"].as_i64()),
            (Some("event"), Some(5))
        );
    }

    #[test]
    fn chat_messages_are_bounded() {
        assert_eq!(check_chat("hi"), Ok(()));
        assert!(check_chat("").is_err());
        assert!(check_chat("  ").is_err());
        let longest = "é".repeat(MAX_CHAT_CHARS);
        assert!(check_chat(&longest).is_ok());
        assert!(check_chat(&format!("{longest}x")).is_err());
    }
}
