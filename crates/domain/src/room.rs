//! The group-call room: its type, its `open → deleted` life cycle, its custom items and the
//! participants currently in it.
//!
//! Every transition works on `&self` and returns a [`RoomChange`]: the next room, the
//! participant records it touched (including ones that just exited and so left
//! `current_participants`) and the events it caused. Storage persists exactly that.

use crate::custom_items::KeyRule;
use crate::participant::EnterRequest;
use crate::{
    CustomItems, CustomItemsMode, DomainError, Event, EventBody, Millis, Participant,
    ParticipantId, RoomId,
};
use serde::{Deserialize, Serialize};

/// Key rule of room custom items: any non-empty key up to the length limit.
pub const CUSTOM_ITEMS_RULE: KeyRule = KeyRule::Plain;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum RoomType {
    /// Audio and video, up to 6 participants.
    SmallRoomForVideo,
    /// Audio only, up to 100 participants.
    LargeRoomForAudioOnly,
}

impl RoomType {
    pub const ALL: [RoomType; 2] = [RoomType::SmallRoomForVideo, RoomType::LargeRoomForAudioOnly];

    pub fn capacity(self) -> usize {
        match self {
            Self::SmallRoomForVideo => 6,
            Self::LargeRoomForAudioOnly => 100,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SmallRoomForVideo => "small_room_for_video",
            Self::LargeRoomForAudioOnly => "large_room_for_audio_only",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum RoomState {
    Open,
    Deleted,
}

impl RoomState {
    pub const ALL: [RoomState; 2] = [RoomState::Open, RoomState::Deleted];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Deleted => "deleted",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Room {
    #[schema(value_type = String)]
    pub room_id: RoomId,
    pub room_type: RoomType,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub state: RoomState,
    /// `""` when created through the Platform API.
    pub created_by: String,
    /// `""` until deleted, and when deleted through the Platform API.
    pub deleted_by: String,
    /// Participants that have not exited, oldest first.
    pub current_participants: Vec<Participant>,
    pub custom_items: CustomItems,
    /// When the custom items last changed; not part of the room JSON (the custom-items
    /// endpoints report it as `affected_at`).
    #[serde(skip)]
    pub custom_items_affected_at: Option<Millis>,
}

/// The outcome of a room transition, ready to be stored atomically.
#[derive(Clone, Debug)]
pub struct RoomChange {
    pub room: Room,
    /// Participant records created or modified by the transition.
    pub touched: Vec<Participant>,
    pub events: Vec<Event>,
}

impl Room {
    /// A new open room and its `RoomCreated` event.
    pub fn create(
        room_id: RoomId,
        room_type: RoomType,
        custom_items: CustomItems,
        created_by: String,
        now: Millis,
    ) -> RoomChange {
        let room = Room {
            room_id,
            room_type,
            created_at: now,
            updated_at: now,
            state: RoomState::Open,
            created_by,
            deleted_by: String::new(),
            current_participants: Vec::new(),
            custom_items_affected_at: (!custom_items.is_empty()).then_some(now),
            custom_items,
        };
        let events = vec![Event::new(
            now,
            EventBody::RoomCreated { room: room.clone() },
        )];
        RoomChange {
            room,
            touched: Vec::new(),
            events,
        }
    }

    /// `open → deleted`: every current participant exits; the room can't be reopened.
    pub fn delete(&self, deleted_by: String, now: Millis) -> Result<RoomChange, DomainError> {
        self.ensure_open()?;
        let mut room = self.clone();
        let mut touched = Vec::new();
        let mut events = Vec::new();
        for mut participant in std::mem::take(&mut room.current_participants) {
            participant.exit(now)?;
            events.push(Event::new(
                now,
                EventBody::ParticipantExited {
                    participant: participant.clone(),
                },
            ));
            touched.push(participant);
        }
        room.state = RoomState::Deleted;
        room.deleted_by = deleted_by;
        room.updated_at = now;
        events.push(Event::new(
            now,
            EventBody::RoomDeleted { room: room.clone() },
        ));
        Ok(RoomChange {
            room,
            touched,
            events,
        })
    }

    /// Merges custom items; returns the change and the keys added or changed.
    pub fn update_custom_items(
        &self,
        changes: &CustomItems,
        mode: CustomItemsMode,
        now: Millis,
    ) -> Result<(RoomChange, Vec<String>), DomainError> {
        self.ensure_open()?;
        let (items, updated) = self.custom_items.merged(changes, mode)?;
        let mut room = self.clone();
        room.custom_items = items;
        room.touch_custom_items(now);
        let body = EventBody::RoomCustomItemsUpdated {
            room_id: room.room_id.clone(),
            custom_items: room.custom_items.clone(),
            updated: updated.clone(),
        };
        let events = vec![Event::new(now, body)];
        Ok((
            RoomChange {
                room,
                touched: Vec::new(),
                events,
            },
            updated,
        ))
    }

    /// Removes the given keys (all when `None`); returns the change and the removed keys.
    pub fn delete_custom_items(
        &self,
        keys: Option<&[String]>,
        now: Millis,
    ) -> Result<(RoomChange, Vec<String>), DomainError> {
        self.ensure_open()?;
        let (items, deleted) = self.custom_items.without(keys, CUSTOM_ITEMS_RULE)?;
        let mut room = self.clone();
        room.custom_items = items;
        room.touch_custom_items(now);
        let body = EventBody::RoomCustomItemsDeleted {
            room_id: room.room_id.clone(),
            custom_items: room.custom_items.clone(),
            deleted: deleted.clone(),
        };
        let events = vec![Event::new(now, body)];
        Ok((
            RoomChange {
                room,
                touched: Vec::new(),
                events,
            },
            deleted,
        ))
    }

    /// A device enters: the room must be open, have a free seat, and the client must not
    /// already be in it.
    pub fn enter(&self, req: EnterRequest, now: Millis) -> Result<RoomChange, DomainError> {
        self.ensure_open()?;
        if self
            .current_participants
            .iter()
            .any(|p| p.client_id == req.client_id)
        {
            return Err(DomainError::AlreadyEntered);
        }
        let capacity = self.room_type.capacity();
        if self.current_participants.len() >= capacity {
            return Err(DomainError::RoomFull { capacity });
        }
        if self.room_type == RoomType::LargeRoomForAudioOnly && req.is_video_on {
            return Err(DomainError::invalid(
                "video is not available in a large_room_for_audio_only",
            ));
        }
        let participant = Participant::entered(self.room_id.clone(), req, now);
        let mut room = self.clone();
        room.current_participants.push(participant.clone());
        room.updated_at = now;
        let events = vec![Event::new(
            now,
            EventBody::ParticipantEntered {
                participant: participant.clone(),
            },
        )];
        Ok(RoomChange {
            room,
            touched: vec![participant],
            events,
        })
    }

    /// The media layer saw this participant's transport up and media flowing.
    pub fn participant_connected(
        &self,
        id: &ParticipantId,
        now: Millis,
    ) -> Result<RoomChange, DomainError> {
        self.change_participant(id, now, |p| {
            Ok(p.connect(now)?.then(|| EventBody::ParticipantConnected {
                participant: p.clone(),
            }))
        })
    }

    /// The participant left (or was dropped); it leaves `current_participants`.
    pub fn participant_exited(
        &self,
        id: &ParticipantId,
        now: Millis,
    ) -> Result<RoomChange, DomainError> {
        let mut change = self.change_participant(id, now, |p| {
            p.exit(now)?;
            Ok(Some(EventBody::ParticipantExited {
                participant: p.clone(),
            }))
        })?;
        change
            .room
            .current_participants
            .retain(|p| p.participant_id != *id);
        Ok(change)
    }

    /// Audio and/or video turned on or off.
    pub fn participant_media(
        &self,
        id: &ParticipantId,
        audio: Option<bool>,
        video: Option<bool>,
        now: Millis,
    ) -> Result<RoomChange, DomainError> {
        if self.room_type == RoomType::LargeRoomForAudioOnly && video == Some(true) {
            return Err(DomainError::invalid(
                "video is not available in a large_room_for_audio_only",
            ));
        }
        self.change_participant(id, now, |p| {
            Ok(p.set_media(audio, video, now)?
                .then(|| EventBody::ParticipantMediaChanged {
                    participant: p.clone(),
                }))
        })
    }

    fn change_participant(
        &self,
        id: &ParticipantId,
        now: Millis,
        f: impl FnOnce(&mut Participant) -> Result<Option<EventBody>, DomainError>,
    ) -> Result<RoomChange, DomainError> {
        let mut room = self.clone();
        let participant = room
            .current_participants
            .iter_mut()
            .find(|p| p.participant_id == *id)
            .ok_or(DomainError::ParticipantNotFound)?;
        let Some(body) = f(participant)? else {
            return Ok(RoomChange {
                room,
                touched: Vec::new(),
                events: Vec::new(),
            });
        };
        let touched = vec![participant.clone()];
        room.updated_at = now;
        Ok(RoomChange {
            room,
            touched,
            events: vec![Event::new(now, body)],
        })
    }

    fn ensure_open(&self) -> Result<(), DomainError> {
        match self.state {
            RoomState::Open => Ok(()),
            RoomState::Deleted => Err(DomainError::RoomDeleted),
        }
    }

    fn touch_custom_items(&mut self, now: Millis) {
        self.updated_at = now;
        self.custom_items_affected_at = Some(now);
    }
}

#[cfg(test)]
mod tests;
