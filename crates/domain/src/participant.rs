//! A room participant: one device's stay in a room.
//!
//! State machine (only forward): `entered → connected → exited`, or `entered → exited`.
//! `exited_at` and `duration` (whole seconds) are set exactly once, on exit.

use crate::{ClientId, DomainError, Millis, ParticipantId, RoomId, User};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum ParticipantState {
    Entered,
    Connected,
    Exited,
}

impl ParticipantState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Entered => "entered",
            Self::Connected => "connected",
            Self::Exited => "exited",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "entered" => Some(Self::Entered),
            "connected" => Some(Self::Connected),
            "exited" => Some(Self::Exited),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Participant {
    #[schema(value_type = String)]
    pub room_id: RoomId,
    #[schema(value_type = String)]
    pub participant_id: ParticipantId,
    pub entered_at: Millis,
    pub updated_at: Millis,
    pub exited_at: Option<Millis>,
    /// Seconds between entering and exiting; `None` until the participant exits.
    pub duration: Option<i64>,
    pub connected_at: Option<Millis>,
    #[schema(value_type = String)]
    pub client_id: ClientId,
    pub state: ParticipantState,
    pub user: User,
    pub is_audio_on: bool,
    pub is_video_on: bool,
}

/// What a device asks for when it enters.
#[derive(Clone, Debug)]
pub struct EnterRequest {
    pub participant_id: ParticipantId,
    pub user: User,
    pub client_id: ClientId,
    pub is_audio_on: bool,
    pub is_video_on: bool,
}

impl Participant {
    pub fn entered(room_id: RoomId, req: EnterRequest, now: Millis) -> Self {
        Self {
            room_id,
            participant_id: req.participant_id,
            entered_at: now,
            updated_at: now,
            exited_at: None,
            duration: None,
            connected_at: None,
            client_id: req.client_id,
            state: ParticipantState::Entered,
            user: req.user,
            is_audio_on: req.is_audio_on,
            is_video_on: req.is_video_on,
        }
    }

    pub fn is_active(&self) -> bool {
        self.state != ParticipantState::Exited
    }

    /// `entered → connected`; media flows. Connecting twice is a no-op (`Ok(false)`).
    pub fn connect(&mut self, now: Millis) -> Result<bool, DomainError> {
        match self.state {
            ParticipantState::Entered => {
                self.state = ParticipantState::Connected;
                self.connected_at = Some(now);
                self.updated_at = now;
                Ok(true)
            }
            ParticipantState::Connected => Ok(false),
            ParticipantState::Exited => Err(DomainError::ParticipantNotFound),
        }
    }

    /// Any active state `→ exited`, fixing `exited_at` and `duration`.
    pub fn exit(&mut self, now: Millis) -> Result<(), DomainError> {
        if !self.is_active() {
            return Err(DomainError::ParticipantNotFound);
        }
        let now = now.max(self.entered_at);
        self.state = ParticipantState::Exited;
        self.exited_at = Some(now);
        self.duration = Some((now - self.entered_at) / 1000);
        self.updated_at = now;
        Ok(())
    }

    /// Turns audio and/or video on or off; returns whether anything changed.
    pub fn set_media(
        &mut self,
        audio: Option<bool>,
        video: Option<bool>,
        now: Millis,
    ) -> Result<bool, DomainError> {
        if !self.is_active() {
            return Err(DomainError::ParticipantNotFound);
        }
        let before = (self.is_audio_on, self.is_video_on);
        self.is_audio_on = audio.unwrap_or(self.is_audio_on);
        self.is_video_on = video.unwrap_or(self.is_video_on);
        let changed = before != (self.is_audio_on, self.is_video_on);
        if changed {
            self.updated_at = now;
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UserId;

    fn participant() -> Participant {
        let req = EnterRequest {
            participant_id: ParticipantId::generate(),
            user: User::bare(UserId::parse("u").unwrap()),
            client_id: ClientId::generate(),
            is_audio_on: true,
            is_video_on: false,
        };
        Participant::entered(RoomId::generate(), req, 1_000)
    }

    #[test]
    fn states_only_move_forward() {
        let mut p = participant();
        assert!(p.connect(2_000).unwrap());
        assert!(!p.connect(3_000).unwrap());
        assert_eq!(p.connected_at, Some(2_000));
        p.exit(4_999).unwrap();
        assert_eq!(p.state, ParticipantState::Exited);
        assert_eq!(p.duration, Some(3));
        assert_eq!(p.connect(6_000), Err(DomainError::ParticipantNotFound));
        assert_eq!(p.exit(6_000), Err(DomainError::ParticipantNotFound));
    }

    #[test]
    fn media_toggles_report_changes() {
        let mut p = participant();
        assert!(!p.set_media(Some(true), None, 2_000).unwrap());
        assert!(p.set_media(None, Some(true), 3_000).unwrap());
        assert_eq!(p.updated_at, 3_000);
        assert!(p.is_video_on);
    }
}
