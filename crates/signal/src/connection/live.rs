//! The `live.*` requests of one connection: enter (as host or participant), exit, the
//! host's life-cycle actions and media, and chat.
//!
//! Authorisation follows the seat the device holds in the live event: life-cycle actions
//! and media need this device to be the present host (`2800102` for a participant,
//! `2800103` for a device that has not entered); chat needs any seat.

use super::Connection;
use crate::hub::Audience;
use crate::hub::live::LiveRole;
use crate::live_protocol::{self, ChatParams, EnterParams, EventParams, MediaParams};
use crate::protocol::{self, WireError, code};
use opencalls_domain::live_event::{HostEnterRequest, LiveParticipantEnterRequest};
use opencalls_domain::{HostId, LiveEventId, ParticipantId};
use serde_json::{Value, json};

impl Connection {
    /// Dispatches one `live.*` request.
    pub(super) async fn live(&self, kind: &str, params: Value) -> Result<Value, WireError> {
        match kind {
            "live.enter" => self.live_enter(protocol::params(params)?).await,
            "live.exit" => self.live_exit(protocol::params(params)?).await,
            "live.set_ready" | "live.start" | "live.end" => {
                self.live_lifecycle(kind, protocol::params(params)?).await
            }
            "live.set_media" => self.live_set_media(protocol::params(params)?).await,
            "live.chat" => self.live_chat(protocol::params(params)?).await,
            other => Err(WireError::invalid(format!(
                "unknown message type '{other}'"
            ))),
        }
    }

    async fn live_enter(&self, p: EnterParams) -> Result<Value, WireError> {
        let id = live_event_id(p.live_event_id.clone())?;
        let role = match p.role.as_deref() {
            Some("host") => LiveRole::Host(HostId::generate()),
            Some("participant") => LiveRole::Participant(ParticipantId::generate()),
            Some(other) => {
                return Err(WireError::invalid(format!(
                    "role must be host or participant; got '{other}'"
                )));
            }
            None => return Err(WireError::missing("role")),
        };
        self.hub
            .live_join(&self.key, self.conn_id, &id, role.clone())?;
        let entered = self.live_enter_as(&id, &role, &p).await;
        let mut result = match entered {
            Ok(result) => result,
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
            return Err(WireError::new(
                code::NOT_AUTHORIZED,
                "the session has ended",
            ));
        }
        let live_event = self.hub.services.live_events.get(id.as_str()).await?;
        result["live_event"] = json!(live_event);
        Ok(result)
    }

    async fn live_enter_as(
        &self,
        id: &LiveEventId,
        role: &LiveRole,
        p: &EnterParams,
    ) -> Result<Value, WireError> {
        let live = &self.hub.services.live_events;
        let (user, client_id) = (self.user.clone(), self.key.1.clone());
        Ok(match role {
            LiveRole::Host(host_id) => {
                let request = HostEnterRequest {
                    host_id: host_id.clone(),
                    user,
                    client_id,
                    is_audio_on: p.is_audio_on.unwrap_or(true),
                    is_video_on: p.is_video_on.unwrap_or(true),
                };
                json!({ "host": live.host_enter(id.as_str(), request).await? })
            }
            LiveRole::Participant(participant_id) => {
                let request = LiveParticipantEnterRequest {
                    participant_id: participant_id.clone(),
                    user,
                    client_id,
                };
                json!({ "participant": live.participant_enter(id.as_str(), request).await? })
            }
        })
    }

    async fn live_exit(&self, p: EventParams) -> Result<Value, WireError> {
        let id = live_event_id(p.live_event_id)?;
        let role = self.live_role(&id, true).await?;
        let live = &self.hub.services.live_events;
        let result = match &role {
            LiveRole::Host(host) => live
                .host_exit(id.as_str(), host)
                .await
                .map(|h| json!({ "host": h })),
            LiveRole::Participant(pid) => live
                .participant_exit(id.as_str(), pid)
                .await
                .map(|p| json!({ "participant": p })),
        };
        self.hub.live_leave(&self.key, &id, &role);
        Ok(result?)
    }

    /// `live.set_ready`, `live.start`, `live.end`: the present host's actions.
    async fn live_lifecycle(&self, kind: &str, p: EventParams) -> Result<Value, WireError> {
        let id = live_event_id(p.live_event_id)?;
        self.host_role(&id, kind).await?;
        let live = &self.hub.services.live_events;
        let by = self.user.user_id.to_string();
        let live_event = match kind {
            "live.set_ready" => live.set_ready(id.as_str(), by).await?,
            "live.start" => live.start(id.as_str(), by).await?,
            _ => live.end(id.as_str(), by).await?,
        };
        Ok(json!({ "live_event": live_event }))
    }

    async fn live_set_media(&self, p: MediaParams) -> Result<Value, WireError> {
        let id = live_event_id(p.live_event_id)?;
        if p.is_audio_on.is_none() && p.is_video_on.is_none() {
            return Err(WireError::missing("is_audio_on or is_video_on"));
        }
        let host_id = self.host_role(&id, "live.set_media").await?;
        let live = &self.hub.services.live_events;
        let host = live
            .host_set_media(id.as_str(), &host_id, p.is_audio_on, p.is_video_on)
            .await?;
        if let Some(media) = self.hub.media.get() {
            media
                .set_media(host_id.as_str(), p.is_audio_on, p.is_video_on)
                .await;
        }
        let data = json!({ "host": host });
        let frame =
            live_protocol::event_frame("live.host_media_changed", &id, live.now(), data.clone());
        self.hub.live_broadcast(&id, &self.key, &frame);
        Ok(data)
    }

    async fn live_chat(&self, p: ChatParams) -> Result<Value, WireError> {
        let id = live_event_id(p.live_event_id)?;
        let text = p.message.ok_or_else(|| WireError::missing("message"))?;
        live_protocol::check_chat(&text).map_err(WireError::invalid)?;
        let role = self.live_role(&id, false).await?;
        self.hub.chat_allowed(&self.user.user_id)?;
        let live = &self.hub.services.live_events;
        let sent_at = live.now();
        let message = json!({
            "message_id": uuid::Uuid::new_v4().to_string(),
            "live_event_id": id,
            "user": self.user,
            "role": role.name(),
            "message": text,
            "sent_at": sent_at,
        });
        let data = json!({ "message": message });
        let frame = live_protocol::event_frame("live.chat_message", &id, sent_at, data.clone());
        self.hub.live_broadcast(&id, &self.key, &frame);
        Ok(data)
    }

    /// The device's role in the live event: `400200` for an unknown event, `2800103` if the
    /// device has not entered it.
    async fn live_role(&self, id: &LiveEventId, leaving: bool) -> Result<LiveRole, WireError> {
        if let Some(role) = self.hub.live_seat(&self.key, id, leaving) {
            return Ok(role);
        }
        self.hub.services.live_events.get(id.as_str()).await?;
        Err(WireError::new(
            code::LIVE_EVENT_NOT_ENTERED,
            "this client has not entered the live event",
        ))
    }

    /// The device's host id, or `2800102` when it is a participant.
    async fn host_role(&self, id: &LiveEventId, kind: &str) -> Result<HostId, WireError> {
        match self.live_role(id, false).await? {
            LiveRole::Host(host) => Ok(host),
            LiveRole::Participant(_) => Err(WireError::new(
                code::LIVE_EVENT_NOT_ALLOWED_FOR_USER,
                format!("only the host may {kind}"),
            )),
        }
    }

    /// The live seats kept from an earlier connection, as `hello` lists them.
    pub(super) async fn resumed_live(&self) -> Vec<Value> {
        let mut resumed = Vec::new();
        for (id, role) in self.hub.live_seats(&self.key) {
            if let Ok(live_event) = self.hub.services.live_events.get(id.as_str()).await {
                let (name, role_id) = match &role {
                    LiveRole::Host(h) => ("host_id", h.to_string()),
                    LiveRole::Participant(p) => ("participant_id", p.to_string()),
                };
                resumed
                    .push(json!({ "live_event": live_event, "role": role.name(), name: role_id }));
            }
        }
        resumed
    }
}

fn live_event_id(raw: Option<String>) -> Result<LiveEventId, WireError> {
    let raw = raw.ok_or_else(|| WireError::missing("live_event_id"))?;
    LiveEventId::parse(&raw)
        .ok_or_else(|| WireError::new(code::NOT_FOUND, "the live event was not found"))
}

/// A low-cardinality metric label for a `live.*` request type.
pub(super) fn metric_kind(kind: &str) -> &'static str {
    match kind {
        "live.enter" => "live.enter",
        "live.exit" => "live.exit",
        "live.set_ready" => "live.set_ready",
        "live.start" => "live.start",
        "live.end" => "live.end",
        "live.set_media" => "live.set_media",
        "live.chat" => "live.chat",
        _ => "unknown",
    }
}
