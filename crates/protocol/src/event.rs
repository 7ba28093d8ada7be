//! Events (server → client): `{"type": "event", "event": <name>, "room_id" |
//! "live_event_id": …, "occurred_at": …, "data": {…}}`.
//!
//! Room-scoped frames ([`RoomEventFrame`]) carry `room_id`, live-scoped ones
//! ([`LiveEventFrame`]) `live_event_id`, call-scoped ones ([`CallEventFrame`]) `call_id`; `media.*` events exist in both scopes with the
//! member named for the scope (`participant_id` in a room, `host_id` or `participant_id` in
//! a live event). Names are in the past tense of what happened.

use crate::response::{ChatMessage, MemberRef};
use opencalls_domain::{
    CustomItems, DirectCall, DirectCallId, EndResult, Host, HostId, LiveEvent, LiveEventId,
    LiveEventParticipant, Millis, Participant, ParticipantId, Room, RoomId, UserId,
};
use serde::{Deserialize, Serialize};

/// A media track's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    Audio,
    Video,
}

/// Why a member's media transport went away (`media.disconnected`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum MediaDisconnectReason {
    /// Nothing received for the transport timeout, or ICE/DTLS closed.
    TransportLost,
    /// ICE+DTLS did not come up in time after the answer.
    ConnectTimeout,
    Failed,
}

/// The events of a room (`room.*`, and `media.*` in a room).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "event", content = "data")]
pub enum RoomEvent {
    #[serde(rename = "room.participant_entered")]
    ParticipantEntered { participant: Box<Participant> },
    #[serde(rename = "room.participant_connected")]
    ParticipantConnected { participant: Box<Participant> },
    #[serde(rename = "room.participant_exited")]
    ParticipantExited { participant: Box<Participant> },
    #[serde(rename = "room.participant_media_changed")]
    ParticipantMediaChanged { participant: Box<Participant> },
    #[serde(rename = "room.custom_items_updated")]
    CustomItemsUpdated {
        custom_items: CustomItems,
        updated: Vec<String>,
    },
    #[serde(rename = "room.custom_items_deleted")]
    CustomItemsDeleted {
        custom_items: CustomItems,
        deleted: Vec<String>,
    },
    #[serde(rename = "room.deleted")]
    Deleted { room: Box<Room> },
    /// A receive slot (`mid`) now carries `participant_id`'s track (`null`: idle).
    #[serde(rename = "media.track")]
    TrackRouted {
        mid: String,
        kind: MediaKind,
        participant_id: Option<ParticipantId>,
    },
    /// The forwarded speakers of an audio-only room, loudest first.
    #[serde(rename = "media.active_speakers")]
    ActiveSpeakersChanged { participant_ids: Vec<ParticipantId> },
    #[serde(rename = "media.disconnected")]
    MediaDisconnected {
        participant_id: ParticipantId,
        reason: MediaDisconnectReason,
    },
}

impl RoomEvent {
    /// The wire name (`room.participant_entered`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::ParticipantEntered { .. } => "room.participant_entered",
            Self::ParticipantConnected { .. } => "room.participant_connected",
            Self::ParticipantExited { .. } => "room.participant_exited",
            Self::ParticipantMediaChanged { .. } => "room.participant_media_changed",
            Self::CustomItemsUpdated { .. } => "room.custom_items_updated",
            Self::CustomItemsDeleted { .. } => "room.custom_items_deleted",
            Self::Deleted { .. } => "room.deleted",
            Self::TrackRouted { .. } => "media.track",
            Self::ActiveSpeakersChanged { .. } => "media.active_speakers",
            Self::MediaDisconnected { .. } => "media.disconnected",
        }
    }
}

/// The events of a live event (`live.*`, and `media.*` for one member's device).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "event", content = "data")]
pub enum LiveEventEvent {
    #[serde(rename = "live.ready")]
    Ready { live_event: Box<LiveEvent> },
    #[serde(rename = "live.started")]
    Started { live_event: Box<LiveEvent> },
    #[serde(rename = "live.ended")]
    Ended { live_event: Box<LiveEvent> },
    #[serde(rename = "live.host_entered")]
    HostEntered {
        live_event: Box<LiveEvent>,
        host: Box<Host>,
    },
    #[serde(rename = "live.host_connected")]
    HostConnected {
        live_event: Box<LiveEvent>,
        host: Box<Host>,
    },
    #[serde(rename = "live.host_disconnected")]
    HostDisconnected {
        live_event: Box<LiveEvent>,
        host: Box<Host>,
    },
    #[serde(rename = "live.host_exited")]
    HostExited {
        live_event: Box<LiveEvent>,
        host: Box<Host>,
    },
    /// Relayed by the host's connection, not stored.
    #[serde(rename = "live.host_media_changed")]
    HostMediaChanged { host: Box<Host> },
    #[serde(rename = "live.participant_entered")]
    ParticipantEntered {
        live_event: Box<LiveEvent>,
        participant: Box<LiveEventParticipant>,
    },
    #[serde(rename = "live.participant_exited")]
    ParticipantExited {
        live_event: Box<LiveEvent>,
        participant: Box<LiveEventParticipant>,
    },
    /// Relayed by the sender's connection, not stored.
    #[serde(rename = "live.chat_message")]
    ChatMessageSent { message: Box<ChatMessage> },
    /// A receive slot (`mid`) now carries the host's track (`null`: idle).
    #[serde(rename = "media.track")]
    TrackRouted {
        mid: String,
        kind: MediaKind,
        host_id: Option<HostId>,
    },
    #[serde(rename = "media.disconnected")]
    MediaDisconnected {
        #[serde(flatten)]
        member: MemberRef,
        reason: MediaDisconnectReason,
    },
}

impl LiveEventEvent {
    /// The wire name (`live.started`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Ready { .. } => "live.ready",
            Self::Started { .. } => "live.started",
            Self::Ended { .. } => "live.ended",
            Self::HostEntered { .. } => "live.host_entered",
            Self::HostConnected { .. } => "live.host_connected",
            Self::HostDisconnected { .. } => "live.host_disconnected",
            Self::HostExited { .. } => "live.host_exited",
            Self::HostMediaChanged { .. } => "live.host_media_changed",
            Self::ParticipantEntered { .. } => "live.participant_entered",
            Self::ParticipantExited { .. } => "live.participant_exited",
            Self::ChatMessageSent { .. } => "live.chat_message",
            Self::TrackRouted { .. } => "media.track",
            Self::MediaDisconnected { .. } => "media.disconnected",
        }
    }
}

/// The events of a direct call (`call.*`, and `media.*` for one side's device). Every
/// `call.*` event carries the call as it is right after what happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "event", content = "data")]
pub enum CallEvent {
    /// The call rings: sent to every connected device of the callee.
    #[serde(rename = "call.dialed")]
    Dialed { call: Box<DirectCall> },
    /// A callee device accepted: sent to the caller's device.
    #[serde(rename = "call.accepted")]
    Accepted { call: Box<DirectCall> },
    /// Another device of the callee accepted: this one stops ringing.
    #[serde(rename = "call.other_device_accepted")]
    OtherDeviceAccepted { call: Box<DirectCall> },
    /// Media flows both ways: sent to both sides' devices.
    #[serde(rename = "call.connected")]
    Connected { call: Box<DirectCall> },
    /// The other side turned its audio or video on or off.
    #[serde(rename = "call.media_changed")]
    MediaChanged {
        call: Box<DirectCall>,
        user_id: UserId,
        is_audio_on: bool,
        is_video_on: bool,
    },
    /// `user_id`'s media transport was lost; the call ends `connection_lost` unless it
    /// comes back within the media grace period.
    #[serde(rename = "call.media_lost")]
    MediaLost {
        call: Box<DirectCall>,
        user_id: UserId,
    },
    /// `user_id`'s media transport is back in time.
    #[serde(rename = "call.media_recovered")]
    MediaRecovered {
        call: Box<DirectCall>,
        user_id: UserId,
    },
    #[serde(rename = "call.custom_items_updated")]
    CustomItemsUpdated {
        call: Box<DirectCall>,
        updated: Vec<String>,
    },
    #[serde(rename = "call.custom_items_deleted")]
    CustomItemsDeleted {
        call: Box<DirectCall>,
        deleted: Vec<String>,
    },
    /// The call ended: sent to every device still involved (the caller's, the ringing or
    /// the accepted callee devices). `end_result`, `ended_by` and `duration` repeat the
    /// call's fields.
    #[serde(rename = "call.ended")]
    Ended {
        call: Box<DirectCall>,
        end_result: EndResult,
        ended_by: Option<UserId>,
        duration: Millis,
    },
    /// A receive slot (`mid`) now carries `user_id`'s track (`null`: idle).
    #[serde(rename = "media.track")]
    TrackRouted {
        mid: String,
        kind: MediaKind,
        user_id: Option<UserId>,
    },
    /// This device's media transport went away.
    #[serde(rename = "media.disconnected")]
    MediaDisconnected {
        user_id: UserId,
        reason: MediaDisconnectReason,
    },
}

impl CallEvent {
    /// The wire name (`call.dialed`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Dialed { .. } => "call.dialed",
            Self::Accepted { .. } => "call.accepted",
            Self::OtherDeviceAccepted { .. } => "call.other_device_accepted",
            Self::Connected { .. } => "call.connected",
            Self::MediaChanged { .. } => "call.media_changed",
            Self::MediaLost { .. } => "call.media_lost",
            Self::MediaRecovered { .. } => "call.media_recovered",
            Self::CustomItemsUpdated { .. } => "call.custom_items_updated",
            Self::CustomItemsDeleted { .. } => "call.custom_items_deleted",
            Self::Ended { .. } => "call.ended",
            Self::TrackRouted { .. } => "media.track",
            Self::MediaDisconnected { .. } => "media.disconnected",
        }
    }
}

/// An event of a room.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RoomEventFrame {
    pub room_id: RoomId,
    pub occurred_at: Millis,
    #[serde(flatten)]
    pub event: RoomEvent,
}

/// An event of a live event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LiveEventFrame {
    pub live_event_id: LiveEventId,
    pub occurred_at: Millis,
    #[serde(flatten)]
    pub event: LiveEventEvent,
}

/// An event of a direct call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CallEventFrame {
    pub call_id: DirectCallId,
    pub occurred_at: Millis,
    #[serde(flatten)]
    pub event: CallEvent,
}

/// Any event frame (told apart by its scope: `room_id`, `live_event_id` or `call_id`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(untagged)]
pub enum EventFrame {
    Room(RoomEventFrame),
    Live(LiveEventFrame),
    Call(CallEventFrame),
}

impl EventFrame {
    /// The event's wire name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Room(frame) => frame.event.name(),
            Self::Live(frame) => frame.event.name(),
            Self::Call(frame) => frame.event.name(),
        }
    }
}
