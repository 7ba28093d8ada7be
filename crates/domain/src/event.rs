//! Domain events: what happened, named in the past tense, produced by transitions.
//!
//! Storage appends them to the outbox in the transaction that commits the change (webhooks
//! read them from there); services publish them to live clients after the commit. Their
//! wire names (`category`) follow the `room:<verb>` pattern of the hosted service's webhooks.

use crate::direct_call::{CallRecord, DirectCallBody};
use crate::live_event::{LiveEvent, LiveEventBody};
use crate::{CustomItems, Millis, Participant, Room, RoomId, StreamKey};
use serde::Serialize;
use serde_json::{Value, json};

#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub occurred_at: Millis,
    pub body: EventBody,
}

#[derive(Clone, Debug, PartialEq)]
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
