//! Results of requests (the `result` of a `response` frame) and the values they share with
//! events (a chat message, a live seat).
//!
//! Invariant: each request type has exactly one result type ([`crate::Call::Output`]); the
//! server renders them through [`Reply`], so what it sends is what a client decodes.

use crate::ids::MessageId;
use crate::request::LiveRoleName;
use opencalls_domain::{
    DirectCall, DirectCallId, Host, HostId, LiveEvent, LiveEventId, LiveEventParticipant, Millis,
    Participant, ParticipantId, Room, User,
};
use serde::{Deserialize, Serialize};

/// The result of `ping`: `{}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Pong {}

/// The result of `media.set_layer_hint`: the hint as it now applies.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LayerHintSet {
    pub mid: String,
    /// `null` = no cap.
    pub max_height: Option<u32>,
}

/// The result of `room.enter`: the room right after the enter and the new participant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RoomEntered {
    pub room: Room,
    pub participant: Participant,
}

/// The result of `room.exit`: the participant, `exited`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RoomExited {
    pub participant: Participant,
}

/// The result of `room.set_media`: the participant as it is now (`null` if it exited
/// meanwhile).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RoomMediaSet {
    pub participant: Option<Participant>,
}

/// A host or a participant of a live event: `{"host": …}` or `{"participant": …}` (the
/// result of `live.exit`, and half of `live.enter`'s).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LiveMember {
    Host(Box<Host>),
    Participant(Box<LiveEventParticipant>),
}

/// The result of `live.enter`: the live event (with its counters) and the new seat.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LiveEntered {
    pub live_event: LiveEvent,
    #[serde(flatten)]
    pub member: LiveMember,
}

/// The result of `live.set_ready`, `live.start` and `live.end`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LiveEventResult {
    pub live_event: LiveEvent,
}

/// The result of `live.set_media` (and the data of `live.host_media_changed`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HostResult {
    pub host: Host,
}

/// A relayed (never stored) chat message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChatMessage {
    pub message_id: MessageId,
    pub live_event_id: LiveEventId,
    pub user: User,
    pub role: LiveRoleName,
    pub message: String,
    pub sent_at: Millis,
}

/// The result of `live.chat` (and the data of `live.chat_message`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ChatSent {
    pub message: ChatMessage,
}

/// A live-event member's id: `"host_id"` or `"participant_id"`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum MemberRef {
    #[serde(rename = "host_id")]
    Host(HostId),
    #[serde(rename = "participant_id")]
    Participant(ParticipantId),
}

/// The result of `media.offer`: the SDP answer for a room's participant or a live event's
/// member.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(untagged)]
pub enum OfferAnswer {
    Live {
        live_event_id: LiveEventId,
        #[serde(flatten)]
        member: MemberRef,
        sdp: String,
    },
    Room {
        participant_id: ParticipantId,
        sdp: String,
    },
    Call {
        call_id: DirectCallId,
        sdp: String,
    },
}

impl OfferAnswer {
    /// The SDP answer.
    pub fn sdp(&self) -> &str {
        match self {
            Self::Live { sdp, .. } | Self::Room { sdp, .. } | Self::Call { sdp, .. } => sdp,
        }
    }
}

/// The result of every `call.*` request: the call as it is right after the request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CallResult {
    pub call: DirectCall,
}

/// A live seat kept from an earlier connection (in `hello.resumed_live`): `role` plus the
/// matching id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum LiveSeat {
    Host { host_id: HostId },
    Participant { participant_id: ParticipantId },
}

/// Any request's result, as the server renders it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(untagged)]
pub enum Reply {
    Pong(Pong),
    RoomEntered(Box<RoomEntered>),
    RoomExited(Box<RoomExited>),
    RoomMediaSet(Box<RoomMediaSet>),
    Offer(OfferAnswer),
    LayerHint(LayerHintSet),
    LiveEntered(Box<LiveEntered>),
    LiveMember(LiveMember),
    LiveEvent(Box<LiveEventResult>),
    Host(Box<HostResult>),
    Chat(Box<ChatSent>),
    Call(Box<CallResult>),
}
