//! The `live.*` requests of one connection: enter (as host or participant), exit, the
//! host's life-cycle actions and media, and chat.
//!
//! Authorisation follows the seat the device holds in the live event: life-cycle actions
//! and media need this device to be the present host (`2800102` for a participant,
//! `2800103` for a device that has not entered); chat needs any seat.

use super::Connection;
use crate::error::SignalError;
use crate::hub::Audience;
use crate::hub::live::LiveRole;
use crate::protocol;
use opencalls_domain::live_event::{HostEnterRequest, LiveParticipantEnterRequest};
use opencalls_domain::{Actor, HostId, LiveEvent, LiveEventId, ParticipantId};
use opencalls_protocol::request::{LiveChat, LiveEnter, LiveSetMedia};
use opencalls_protocol::response::{
    ChatMessage, ChatSent, HostResult, LiveEntered, LiveEventResult, LiveMember,
};
use opencalls_protocol::{LiveEventEvent, LiveRoleName, MessageId, RequestKind, ResumedLive};
use opencalls_service::chat;

/// The host's life-cycle actions.
#[derive(Clone, Copy, Debug)]
pub(super) enum Lifecycle {
    SetReady,
    Start,
    End,
}

impl Connection {
    pub(super) async fn live_enter(&self, p: LiveEnter) -> Result<LiveEntered, SignalError> {
        let id = live_event_id(p.live_event_id.clone())?;
        let role = match p.role.ok_or(SignalError::Missing("role"))? {
            LiveRoleName::Host => LiveRole::Host(HostId::generate()),
            LiveRoleName::Participant => LiveRole::Participant(ParticipantId::generate()),
        };
        // In a cluster: what other nodes finished before this request is relayed first, so
        // it is in the snapshot below and not heard again after it (as `room.enter`).
        self.hub.services.bus.catch_up().await;
        self.hub
            .live_join(&self.key, self.conn_id, &id, role.clone())?;
        let member = match self.live_enter_as(&id, &role, &p).await {
            Ok(member) => member,
            Err(err) => {
                self.hub.live_leave(&self.key, &id, &role);
                self.mark_refused_audience(Audience::Live(id));
                return Err(err);
            }
        };
        // The session may have been revoked while the enter committed: give the seat back.
        if self.hub.live_seat(&self.key, &id, false).as_ref() != Some(&role) {
            self.hub.exit_live_seats(vec![(id.clone(), role)]).await;
            self.mark_refused_audience(Audience::Live(id));
            return Err(SignalError::SessionEnded);
        }
        let live_event = self.hub.services.live_events.get(&id).await?;
        Ok(LiveEntered { live_event, member })
    }

    async fn live_enter_as(
        &self,
        id: &LiveEventId,
        role: &LiveRole,
        p: &LiveEnter,
    ) -> Result<LiveMember, SignalError> {
        let live = &self.hub.services.live_events;
        let (user, client_id) = (self.user.clone(), self.key.client_id.clone());
        Ok(match role {
            LiveRole::Host(host_id) => {
                let request = HostEnterRequest {
                    host_id: host_id.clone(),
                    user,
                    client_id,
                    is_audio_on: p.is_audio_on.unwrap_or(true),
                    is_video_on: p.is_video_on.unwrap_or(true),
                };
                LiveMember::Host(Box::new(live.host_enter(id, request).await?))
            }
            LiveRole::Participant(participant_id) => {
                let request = LiveParticipantEnterRequest {
                    participant_id: participant_id.clone(),
                    user,
                    client_id,
                };
                let participant = live.participant_enter(id, request).await?;
                LiveMember::Participant(Box::new(participant))
            }
        })
    }

    pub(super) async fn live_exit(
        &self,
        id: Option<LiveEventId>,
    ) -> Result<LiveMember, SignalError> {
        let id = live_event_id(id)?;
        let role = self.live_role(&id, true).await?;
        let live = &self.hub.services.live_events;
        let result = match &role {
            LiveRole::Host(host) => live
                .host_exit(&id, host)
                .await
                .map(|h| LiveMember::Host(Box::new(h))),
            LiveRole::Participant(pid) => live
                .participant_exit(&id, pid)
                .await
                .map(|p| LiveMember::Participant(Box::new(p))),
        };
        self.hub.live_leave(&self.key, &id, &role);
        Ok(result?)
    }

    /// `live.set_ready`, `live.start`, `live.end`: the present host's actions.
    pub(super) async fn live_lifecycle(
        &self,
        action: Lifecycle,
        id: Option<LiveEventId>,
    ) -> Result<LiveEventResult, SignalError> {
        let id = live_event_id(id)?;
        let kind = match action {
            Lifecycle::SetReady => RequestKind::LiveSetReady,
            Lifecycle::Start => RequestKind::LiveStart,
            Lifecycle::End => RequestKind::LiveEnd,
        };
        self.host_role(&id, kind).await?;
        let live = &self.hub.services.live_events;
        let by = Actor::User(self.user.user_id.clone());
        let live_event: LiveEvent = match action {
            Lifecycle::SetReady => live.set_ready(&id, by).await?,
            Lifecycle::Start => live.start(&id, by).await?,
            Lifecycle::End => live.end(&id, by).await?,
        };
        Ok(LiveEventResult { live_event })
    }

    pub(super) async fn live_set_media(&self, p: LiveSetMedia) -> Result<HostResult, SignalError> {
        let id = live_event_id(p.live_event_id)?;
        if p.is_audio_on.is_none() && p.is_video_on.is_none() {
            return Err(SignalError::Missing("is_audio_on or is_video_on"));
        }
        let host_id = self.host_role(&id, RequestKind::LiveSetMedia).await?;
        let live = &self.hub.services.live_events;
        let host = live
            .host_set_media(&id, &host_id, p.is_audio_on, p.is_video_on)
            .await?;
        if let Some(media) = self.hub.media.get() {
            let member = opencalls_rtc::Member::Host(host_id.clone());
            media.set_media(&member, p.is_audio_on, p.is_video_on).await;
        }
        let event = LiveEventEvent::HostMediaChanged {
            host: Box::new(host.clone()),
        };
        // Not stored, so not in the outbox: other nodes' viewers hear it through the relay.
        let frame = protocol::live_frame(&id, live.now(), event);
        self.hub.live_broadcast_frame(&id, Some(&self.key), &frame);
        if let Some(shared) = self.hub.shared_chat.get() {
            shared.relay_live_frame(&id, &frame).await;
        }
        Ok(HostResult { host })
    }

    pub(super) async fn live_chat(&self, p: LiveChat) -> Result<ChatSent, SignalError> {
        let id = live_event_id(p.live_event_id)?;
        let text = p.message.ok_or(SignalError::Missing("message"))?;
        chat::check_message(&text)?;
        let role = self.live_role(&id, false).await?;
        let shared = self.hub.shared_chat.get();
        if shared.is_none() {
            self.hub.chat.take(&self.user.user_id)?;
        }
        let sent_at = self.hub.services.live_events.now();
        let message = ChatMessage {
            message_id: MessageId::generate(),
            live_event_id: id.clone(),
            user: self.user.clone(),
            role: role.name(),
            message: text,
            sent_at,
        };
        let event = LiveEventEvent::ChatMessageSent {
            message: Box::new(message.clone()),
        };
        let frame = protocol::live_frame(&id, sent_at, event);
        if let Some(shared) = shared {
            // Takes the user's token on every node's behalf and relays to the other nodes;
            // refused, nobody hears it.
            shared.send(&self.user.user_id, &id, &frame).await?;
        }
        self.hub.live_broadcast_frame(&id, Some(&self.key), &frame);
        Ok(ChatSent { message })
    }

    /// The device's role in the live event: `400200` for an unknown event, `2800103` if the
    /// device has not entered it.
    async fn live_role(&self, id: &LiveEventId, leaving: bool) -> Result<LiveRole, SignalError> {
        if let Some(role) = self.hub.live_seat(&self.key, id, leaving) {
            return Ok(role);
        }
        self.hub.services.live_events.get(id).await?;
        Err(SignalError::NotEntered)
    }

    /// The device's host id, or `2800102` when it is a participant.
    async fn host_role(&self, id: &LiveEventId, kind: RequestKind) -> Result<HostId, SignalError> {
        match self.live_role(id, false).await? {
            LiveRole::Host(host) => Ok(host),
            LiveRole::Participant(_) => Err(SignalError::HostOnly(kind)),
        }
    }

    /// The live seats kept from an earlier connection, as `hello` lists them.
    pub(super) async fn resumed_live(&self) -> Vec<ResumedLive> {
        let mut resumed = Vec::new();
        for (id, role) in self.hub.live_seats(&self.key) {
            if let Ok(live_event) = self.hub.services.live_events.get(&id).await {
                resumed.push(ResumedLive {
                    live_event,
                    seat: role.seat(),
                });
            }
        }
        resumed
    }
}

/// A live event id from the wire: 400111 when missing, 400200 when it can't name one.
fn live_event_id(raw: Option<LiveEventId>) -> Result<LiveEventId, SignalError> {
    let raw = raw.ok_or(SignalError::Missing("live_event_id"))?;
    LiveEventId::parse(raw.as_str()).ok_or(SignalError::LiveEventNotFound)
}
