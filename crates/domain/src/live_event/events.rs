//! What happened to a live event, in the past tense. Each occurrence travels inside
//! [`EventBody::LiveEvent`] together with the live event as it was right after it, so a
//! webhook payload always shows the resource's state at that moment.
//!
//! Wire names follow `live_event:<verb>`; the stream is the live event's
//! ([`StreamKey::LiveEvent`]), so the events of one live event are delivered in order.

use super::{Host, LiveEvent, LiveEventParticipant};
use crate::{EventBody, StreamKey};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LiveEventBody {
    Created,
    SetReady,
    Started,
    Ended,
    HostEntered { host: Host },
    HostConnected { host: Host },
    HostDisconnected { host: Host },
    HostExited { host: Host },
    ParticipantEntered { participant: LiveEventParticipant },
    ParticipantExited { participant: LiveEventParticipant },
}

impl LiveEventBody {
    pub(super) fn into_event_body(self, live_event: LiveEvent) -> EventBody {
        EventBody::LiveEvent {
            live_event: Box::new(live_event),
            body: Box::new(self),
        }
    }

    /// The stable wire name (webhook category).
    pub fn category(&self) -> &'static str {
        match self {
            Self::Created => "live_event:create",
            Self::SetReady => "live_event:ready",
            Self::Started => "live_event:start",
            Self::Ended => "live_event:end",
            Self::HostEntered { .. } => "live_event:host_enter",
            Self::HostConnected { .. } => "live_event:host_connect",
            Self::HostDisconnected { .. } => "live_event:host_disconnect",
            Self::HostExited { .. } => "live_event:host_exit",
            Self::ParticipantEntered { .. } => "live_event:participant_enter",
            Self::ParticipantExited { .. } => "live_event:participant_exit",
        }
    }

    /// `{"live_event": …}` plus `"host"` or `"participant"` when one is involved.
    pub fn payload(&self, live_event: &LiveEvent) -> Value {
        let mut payload = json!({ "live_event": to_value(live_event) });
        match self {
            Self::HostEntered { host }
            | Self::HostConnected { host }
            | Self::HostDisconnected { host }
            | Self::HostExited { host } => payload["host"] = to_value(host),
            Self::ParticipantEntered { participant } | Self::ParticipantExited { participant } => {
                payload["participant"] = to_value(participant)
            }
            Self::Created | Self::SetReady | Self::Started | Self::Ended => {}
        }
        payload
    }

    pub fn stream(live_event: &LiveEvent) -> StreamKey {
        StreamKey::LiveEvent(live_event.live_event_id.clone())
    }
}

fn to_value(value: &impl Serialize) -> Value {
    // Domain resources are plain data with string keys; serializing them cannot fail.
    serde_json::to_value(value).unwrap_or(Value::Null)
}
