//! Domain events: what happened, named in the past tense, produced by transitions.
//!
//! Storage appends them to the outbox in the transaction that commits the change (webhooks
//! read them from there); services publish them to live clients after the commit. Their
//! wire names (`category`) follow the `room:<verb>` pattern of the hosted service's webhooks.

use crate::direct_call::{CallRecord, DirectCallBody};
use crate::live_event::{LiveEvent, LiveEventBody};
use crate::{CustomItems, Millis, Participant, Room, RoomId, StreamKey};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Serde gives the full-fidelity form nodes of a cluster pass to each other (see
/// [`Event::encode`]); the webhook/API shape is [`Event::payload`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub occurred_at: Millis,
    pub body: EventBody,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventBody {
    RoomCreated {
        room: Room,
    },
    RoomDeleted {
        room: Room,
    },
    RoomCustomItemsUpdated {
        room_id: RoomId,
        custom_items: CustomItems,
        updated: Vec<String>,
    },
    RoomCustomItemsDeleted {
        room_id: RoomId,
        custom_items: CustomItems,
        deleted: Vec<String>,
    },
    ParticipantEntered {
        participant: Participant,
    },
    ParticipantConnected {
        participant: Participant,
    },
    ParticipantExited {
        participant: Participant,
    },
    ParticipantMediaChanged {
        participant: Participant,
    },
    /// Something happened to a live event; `live_event` is its state right after.
    LiveEvent {
        live_event: Box<LiveEvent>,
        body: Box<LiveEventBody>,
    },
    /// Something happened to a direct call; `record` is its state right after.
    DirectCall {
        record: Box<CallRecord>,
        body: DirectCallBody,
    },
}

impl Event {
    pub fn new(occurred_at: Millis, body: EventBody) -> Self {
        Self { occurred_at, body }
    }

    /// The form in which nodes of a cluster hand committed events to each other (stored
    /// beside the outbox row). Complete except for `Room::custom_items_affected_at`, which
    /// no event consumer reads.
    pub fn encode(&self) -> String {
        // Plain data with string keys: serializing cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads [`Event::encode`]'s form back; `None` for anything else.
    pub fn decode(raw: &str) -> Option<Self> {
        serde_json::from_str(raw).ok()
    }

    /// The stable wire name of the event.
    pub fn category(&self) -> &'static str {
        match &self.body {
            EventBody::RoomCreated { .. } => "room:create",
            EventBody::RoomDeleted { .. } => "room:delete",
            EventBody::RoomCustomItemsUpdated { .. } => "room:custom_items_update",
            EventBody::RoomCustomItemsDeleted { .. } => "room:custom_items_delete",
            EventBody::ParticipantEntered { .. } => "room:participant_enter",
            EventBody::ParticipantConnected { .. } => "room:participant_connect",
            EventBody::ParticipantExited { .. } => "room:participant_exit",
            EventBody::ParticipantMediaChanged { .. } => "room:participant_media_change",
            EventBody::LiveEvent { body, .. } => body.category(),
            EventBody::DirectCall { body, .. } => body.category(),
        }
    }

    /// The resource the event belongs to; events of one stream must be delivered in order.
    pub fn stream(&self) -> StreamKey {
        let room_id = match &self.body {
            EventBody::RoomCreated { room } | EventBody::RoomDeleted { room } => &room.room_id,
            EventBody::RoomCustomItemsUpdated { room_id, .. }
            | EventBody::RoomCustomItemsDeleted { room_id, .. } => room_id,
            EventBody::ParticipantEntered { participant }
            | EventBody::ParticipantConnected { participant }
            | EventBody::ParticipantExited { participant }
            | EventBody::ParticipantMediaChanged { participant } => &participant.room_id,
            EventBody::LiveEvent { live_event, .. } => return LiveEventBody::stream(live_event),
            EventBody::DirectCall { record, .. } => {
                return StreamKey::DirectCall(record.call.call_id.clone());
            }
        };
        StreamKey::Room(room_id.clone())
    }

    /// The resource part of the payload, using the Platform API's JSON shapes.
    pub fn payload(&self) -> Value {
        match &self.body {
            EventBody::RoomCreated { room } | EventBody::RoomDeleted { room } => {
                json!({ "room": to_value(room) })
            }
            EventBody::RoomCustomItemsUpdated {
                room_id,
                custom_items,
                updated,
            } => {
                json!({ "room_id": room_id, "custom_items": custom_items, "updated": updated })
            }
            EventBody::RoomCustomItemsDeleted {
                room_id,
                custom_items,
                deleted,
            } => {
                json!({ "room_id": room_id, "custom_items": custom_items, "deleted": deleted })
            }
            EventBody::ParticipantEntered { participant }
            | EventBody::ParticipantConnected { participant }
            | EventBody::ParticipantExited { participant }
            | EventBody::ParticipantMediaChanged { participant } => {
                json!({ "room_id": participant.room_id, "participant": to_value(participant) })
            }
            EventBody::LiveEvent { live_event, body } => body.payload(live_event),
            EventBody::DirectCall { record, body } => body.payload(&record.call, self.occurred_at),
        }
    }
}

fn to_value(value: &impl Serialize) -> Value {
    // Domain resources are plain data with string keys; serializing them cannot fail.
    serde_json::to_value(value).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::direct_call::{CallRecord, DialRequest};
    use crate::live_event::HostType;
    use crate::participant::EnterRequest;
    use crate::{ClientId, DeviceKey, DirectCallId, LiveEventId, ParticipantId, RoomType, User};
    use crate::{UserId, live_event::LiveEvent};

    fn user(id: &str) -> User {
        User::bare(UserId::parse(id).unwrap())
    }

    /// Events of every family, as transitions produce them.
    fn samples() -> Vec<Event> {
        let mut events = Vec::new();
        let created = Room::create(
            RoomId::generate(),
            RoomType::LargeRoomForAudioOnly,
            CustomItems::default(),
            "alice".into(),
            1_000,
        );
        events.extend(created.events.clone());
        let enter = EnterRequest {
            participant_id: ParticipantId::generate(),
            user: user("alice"),
            client_id: ClientId::parse("c1").unwrap(),
            is_audio_on: true,
            is_video_on: false,
        };
        events.extend(created.room.enter(enter, 2_000).unwrap().events);
        let live = LiveEvent::create(
            LiveEventId::generate(),
            HostType::SingleHost,
            vec![UserId::parse("host").unwrap()],
            CustomItems::default(),
            String::new(),
            3_000,
        )
        .unwrap();
        events.extend(live.events.clone());
        let dial = DialRequest {
            call_id: DirectCallId::generate(),
            caller: user("alice"),
            caller_device: ClientId::parse("a1").unwrap(),
            callee: user("bob"),
            is_video_call: true,
            is_audio_on: true,
            is_video_on: true,
            custom_items: CustomItems::default(),
        };
        let rung = CallRecord::dial(dial, 4_000).unwrap();
        events.extend(rung.events.clone());
        let caller = DeviceKey::new(
            UserId::parse("alice").unwrap(),
            ClientId::parse("a1").unwrap(),
        );
        events.extend(rung.record.end(&caller, 5_000).unwrap().events);
        events
    }

    #[test]
    fn every_event_family_survives_the_cluster_encoding() {
        let events = samples();
        assert!(events.len() >= 5, "{events:?}");
        for event in events {
            let decoded = Event::decode(&event.encode());
            assert_eq!(decoded.as_ref(), Some(&event), "{}", event.encode());
        }
    }

    #[test]
    fn anything_else_does_not_decode() {
        assert_eq!(Event::decode("{}"), None);
        assert_eq!(Event::decode("not json"), None);
    }
}
