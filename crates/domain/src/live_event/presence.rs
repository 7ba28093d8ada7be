//! Who is in a live event: its host (one at a time for `single_host`) and its participants
//! (one per device), and the transitions that move them.
//!
//! Host: `entered → connected ⇄ disconnected`, and any of those `→ exited`.
//! Participant: `entered → exited`. `exited_at` and `duration` (milliseconds) are set once,
//! on exit; `duration` is 0 before.
//!
//! Rules: only a user listed in `user_ids_for_host` can host, and only while no other host is
//! present and the event has not ended; participants can enter in `ready` and `ongoing`.

use super::{LiveEvent, LiveEventBody, LiveEventChange, LiveEventState};
use crate::{ClientId, DomainError, HostId, LiveEventId, Millis, ParticipantId, User};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum HostState {
    Entered,
    Connected,
    Disconnected,
    Exited,
}

impl HostState {
    pub const ALL: [HostState; 4] = [
        HostState::Entered,
        HostState::Connected,
        HostState::Disconnected,
        HostState::Exited,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Entered => "entered",
            Self::Connected => "connected",
            Self::Disconnected => "disconnected",
            Self::Exited => "exited",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum LiveParticipantState {
    Entered,
    Exited,
}

impl LiveParticipantState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Entered => "entered",
            Self::Exited => "exited",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "entered" => Some(Self::Entered),
            "exited" => Some(Self::Exited),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Host {
    #[schema(value_type = String)]
    pub host_id: HostId,
    #[schema(value_type = String)]
    pub live_event_id: LiveEventId,
    #[schema(value_type = String)]
    pub client_id: ClientId,
    pub state: HostState,
    /// Milliseconds from entering to exiting; 0 until the host exits.
    pub duration: i64,
    pub entered_at: Millis,
    pub connected_at: Option<Millis>,
    pub disconnected_at: Option<Millis>,
    pub exited_at: Option<Millis>,
    pub is_audio_on: bool,
    pub is_video_on: bool,
    pub user: User,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LiveEventParticipant {
    #[schema(value_type = String)]
    pub participant_id: ParticipantId,
    #[schema(value_type = String)]
    pub live_event_id: LiveEventId,
    #[schema(value_type = String)]
    pub client_id: ClientId,
    pub state: LiveParticipantState,
    /// Milliseconds from entering to exiting; 0 until the participant exits.
    pub duration: i64,
    pub entered_at: Millis,
    pub exited_at: Option<Millis>,
    pub user: User,
}

/// What a host's device asks for when it enters.
#[derive(Clone, Debug)]
pub struct HostEnterRequest {
    pub host_id: HostId,
    pub user: User,
    pub client_id: ClientId,
    pub is_audio_on: bool,
    pub is_video_on: bool,
}

/// What a participant's device asks for when it enters.
#[derive(Clone, Debug)]
pub struct LiveParticipantEnterRequest {
    pub participant_id: ParticipantId,
    pub user: User,
    pub client_id: ClientId,
}

impl LiveEvent {
    /// A listed host user enters; nobody else may be hosting.
    pub fn host_enter(
        &self,
        req: HostEnterRequest,
        now: Millis,
    ) -> Result<LiveEventChange, DomainError> {
        self.ensure_not_ended("enter as host")?;
        if !self.user_ids_for_host.contains(&req.user.user_id) {
            return Err(DomainError::NotAllowedToHost);
        }
        if self.host.is_some() {
            return Err(DomainError::not_allowed(
                "another host is already in the live event",
            ));
        }
        let host = Host {
            host_id: req.host_id,
            live_event_id: self.live_event_id.clone(),
            client_id: req.client_id,
            state: HostState::Entered,
            duration: 0,
            entered_at: now,
            connected_at: None,
            disconnected_at: None,
            exited_at: None,
            is_audio_on: req.is_audio_on,
            is_video_on: req.is_video_on,
            user: req.user,
        };
        let mut next = self.clone();
        next.host = Some(host.clone());
        let mut change = next.finish(now, LiveEventBody::HostEntered { host: host.clone() });
        change.hosts.push(host);
        Ok(change)
    }

    /// The host's media started flowing. Connecting while connected changes nothing.
    pub fn host_connected(
        &self,
        host_id: &HostId,
        now: Millis,
    ) -> Result<LiveEventChange, DomainError> {
        self.change_host(host_id, now, |host| match host.state {
            HostState::Connected => None,
            _ => {
                host.state = HostState::Connected;
                host.connected_at = Some(now);
                Some(LiveEventBody::HostConnected { host: host.clone() })
            }
        })
    }

    /// The host's media stopped. Disconnecting when not connected changes nothing.
    pub fn host_disconnected(
        &self,
        host_id: &HostId,
        now: Millis,
    ) -> Result<LiveEventChange, DomainError> {
        self.change_host(host_id, now, |host| match host.state {
            HostState::Connected => {
                host.state = HostState::Disconnected;
                host.disconnected_at = Some(now);
                Some(LiveEventBody::HostDisconnected { host: host.clone() })
            }
            _ => None,
        })
    }

    /// The host leaves; the event keeps its state and another listed user may host.
    pub fn host_exit(&self, host_id: &HostId, now: Millis) -> Result<LiveEventChange, DomainError> {
        self.change_host(host_id, now, |host| {
            let now = now.max(host.entered_at);
            host.state = HostState::Exited;
            host.exited_at = Some(now);
            host.duration = now - host.entered_at;
            Some(LiveEventBody::HostExited { host: host.clone() })
        })
    }

    /// A device enters as a participant (the same user may enter on several devices).
    pub fn participant_enter(
        &self,
        req: LiveParticipantEnterRequest,
        now: Millis,
    ) -> Result<LiveEventChange, DomainError> {
        if !matches!(self.state, LiveEventState::Ready | LiveEventState::Ongoing) {
            return Err(DomainError::not_allowed(format!(
                "participants can't enter a live event that is {}",
                self.state.as_str()
            )));
        }
        let participant = LiveEventParticipant {
            participant_id: req.participant_id,
            live_event_id: self.live_event_id.clone(),
            client_id: req.client_id,
            state: LiveParticipantState::Entered,
            duration: 0,
            entered_at: now,
            exited_at: None,
            user: req.user,
        };
        let mut next = self.clone();
        next.participant_count += 1;
        next.cumulative_participant_count += 1;
        let body = LiveEventBody::ParticipantEntered {
            participant: participant.clone(),
        };
        let mut change = next.finish(now, body);
        change.participants.push(participant);
        Ok(change)
    }

    /// `participant` (as stored) leaves. It must belong to this event and not have exited.
    pub fn participant_exit(
        &self,
        participant: &LiveEventParticipant,
        now: Millis,
    ) -> Result<LiveEventChange, DomainError> {
        if participant.live_event_id != self.live_event_id
            || participant.state != LiveParticipantState::Entered
        {
            return Err(DomainError::NotInLiveEvent);
        }
        let mut exited = participant.clone();
        let now = now.max(exited.entered_at);
        exited.state = LiveParticipantState::Exited;
        exited.exited_at = Some(now);
        exited.duration = now - exited.entered_at;
        let mut next = self.clone();
        next.participant_count = (next.participant_count - 1).max(0);
        let body = LiveEventBody::ParticipantExited {
            participant: exited.clone(),
        };
        let mut change = next.finish(now, body);
        change.participants.push(exited);
        Ok(change)
    }

    /// Applies `f` to the present host named `host_id`; `f` returns the event, or `None`
    /// when nothing changed.
    fn change_host(
        &self,
        host_id: &HostId,
        now: Millis,
        f: impl FnOnce(&mut Host) -> Option<LiveEventBody>,
    ) -> Result<LiveEventChange, DomainError> {
        let mut next = self.clone();
        let host = next
            .host
            .as_mut()
            .filter(|h| h.host_id == *host_id)
            .ok_or(DomainError::NotInLiveEvent)?;
        let Some(body) = f(host) else {
            return Ok(LiveEventChange::unchanged(self));
        };
        let record = host.clone();
        if record.state == HostState::Exited {
            next.host = None;
        }
        let mut change = next.finish(now, body);
        change.hosts.push(record);
        Ok(change)
    }
}

impl LiveEvent {
    /// The present host turns audio and/or video on or off (`None` leaves it as is). The
    /// change is recorded on the host but emits no outbox event (the spec has no webhook
    /// category for it); the client protocol announces it to the audience itself.
    pub fn host_set_media(
        &self,
        host_id: &HostId,
        audio: Option<bool>,
        video: Option<bool>,
    ) -> Result<LiveEventChange, DomainError> {
        if audio.is_none() && video.is_none() {
            return Err(DomainError::MissingParameter(
                "is_audio_on or is_video_on".into(),
            ));
        }
        let mut next = self.clone();
        let host = next
            .host
            .as_mut()
            .filter(|h| h.host_id == *host_id)
            .ok_or(DomainError::NotInLiveEvent)?;
        host.is_audio_on = audio.unwrap_or(host.is_audio_on);
        host.is_video_on = video.unwrap_or(host.is_video_on);
        let record = host.clone();
        let mut change = LiveEventChange::unchanged(&next);
        change.hosts.push(record);
        Ok(change)
    }

    /// Exits every participant in `active` and the present host without changing the
    /// event's state (clean-up of presence left over from a previous run). `active` must be
    /// every participant of this event that has not exited.
    pub fn exit_everyone(
        &self,
        active: &[LiveEventParticipant],
        now: Millis,
    ) -> Result<LiveEventChange, DomainError> {
        let mut change = LiveEventChange::unchanged(self);
        for participant in active {
            let step = change.live_event.participant_exit(participant, now)?;
            change.absorb(step);
        }
        if let Some(host) = &change.live_event.host {
            let host_id = host.host_id.clone();
            let step = change.live_event.host_exit(&host_id, now)?;
            change.absorb(step);
        }
        Ok(change)
    }
}
