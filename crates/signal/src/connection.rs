//! One WebSocket connection: reads requests, answers them in order, forwards the events the
//! hub queues for it, and keeps a heartbeat.
//!
//! Invariants: requests are handled one at a time and answered before any event queued
//! meanwhile is written, so an event never overtakes the response that explains it; a bad
//! frame gets an `error` frame and the connection carries on; only transport failure,
//! silence past the heartbeat timeout, or the hub closes it.

mod call;
mod live;

use crate::error::SignalError;
use crate::hub::{self, Attached, Audience, DeviceKey, Hub};
use crate::protocol;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use opencalls_domain::participant::EnterRequest;
use opencalls_domain::{ParticipantId, RoomId, User};
use opencalls_protocol::request::{Request, RoomEnter, RoomExit, RoomSetMedia};
use opencalls_protocol::response::{Pong, Reply, RoomEntered, RoomExited, RoomMediaSet};
use opencalls_protocol::{FrameError, GoodbyeReason, Hello, RequestKind, ResumedRoom, WireError};
use std::sync::Arc;
use std::time::Instant;

pub(crate) struct Connection {
    hub: Arc<Hub>,
    user: User,
    key: DeviceKey,
    conn_id: u64,
    /// Set when a `room.enter` or `live.enter` that had joined an audience is refused.
    refused: std::sync::Mutex<Option<Audience>>,
}

pub(crate) async fn run(socket: WebSocket, hub: Arc<Hub>, user: User, key: DeviceKey) {
    let attached = hub.attach(&key);
    let Attached {
        conn_id,
        mut frames,
        mut close,
        resumed,
    } = attached;
    let conn = Connection {
        hub: hub.clone(),
        user,
        key: key.clone(),
        conn_id,
        refused: std::sync::Mutex::new(None),
    };
    let (mut sink, mut stream) = socket.split();
    let hello = conn.hello(resumed).await;
    if sink.send(Message::Text(hello.into())).await.is_err() {
        hub.detach(&key, conn_id);
        return;
    }
    let mut heartbeat = tokio::time::interval(hub.config.heartbeat_interval);
    heartbeat.tick().await;
    let mut last_seen = Instant::now();
    let reason: Option<GoodbyeReason> = 'conn: loop {
        let outgoing: Vec<Message> = tokio::select! {
            inbound = stream.next() => match inbound {
                Some(Ok(Message::Text(text))) => {
                    last_seen = Instant::now();
                    let (answer, refused) = conn.answer(text.as_str()).await;
                    let mut out = vec![Message::Text(answer.into())];
                    if let Some(audience) = refused {
                        out.extend(drain_except(&mut frames, &audience));
                    }
                    out
                }
                Some(Ok(Message::Binary(_))) => {
                    last_seen = Instant::now();
                    let err = WireError::from(FrameError::Binary);
                    vec![Message::Text(protocol::error(None, err).into())]
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                    last_seen = Instant::now();
                    Vec::new()
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break 'conn None,
            },
            frame = frames.recv() => match frame {
                Some(frame) => vec![Message::Text(frame.text.into())],
                // The hub let go of this connection; its close reason says why.
                None => break 'conn Some((*close.borrow()).unwrap_or(GoodbyeReason::Replaced)),
            },
            changed = close.changed() => {
                let reason = *close.borrow();
                match (changed, reason) {
                    (Ok(()), Some(reason)) => break 'conn Some(reason),
                    _ => continue,
                }
            }
            _ = heartbeat.tick() => {
                if last_seen.elapsed() > hub.config.heartbeat_timeout {
                    break 'conn Some(GoodbyeReason::HeartbeatTimeout);
                }
                vec![Message::Ping(Default::default())]
            }
        };
        for message in outgoing {
            if sink.send(message).await.is_err() {
                break 'conn None;
            }
        }
    };
    if let Some(reason) = reason {
        let _ = sink
            .send(Message::Text(protocol::goodbye(reason).into()))
            .await;
        let frame = CloseFrame {
            code: reason.close_code(),
            reason: reason.as_str().into(),
        };
        let _ = sink.send(Message::Close(Some(frame))).await;
    }
    hub.detach(&key, conn_id);
}

impl Connection {
    async fn hello(&self, resumed: Vec<(RoomId, ParticipantId)>) -> String {
        let mut rooms = Vec::new();
        for (room_id, participant_id) in resumed {
            if let Ok(room) = self.hub.services.rooms.get(&room_id).await {
                rooms.push(ResumedRoom {
                    room,
                    participant_id,
                });
            }
        }
        let config = &self.hub.config;
        protocol::hello(Hello {
            protocol: opencalls_protocol::PROTOCOL.to_owned(),
            client_id: self.key.client_id.clone(),
            user: self.user.clone(),
            heartbeat_interval_ms: config.heartbeat_interval.as_millis() as u64,
            heartbeat_timeout_ms: config.heartbeat_timeout.as_millis() as u64,
            reconnect_grace_ms: config.reconnect_grace.as_millis() as u64,
            max_message_bytes: config.max_message_bytes,
            resumed: rooms,
            resumed_live: self.resumed_live().await,
            resumed_calls: self.resumed_calls().await,
        })
    }

    /// Handles one text frame and renders its answer; also names the room or live event of
    /// a refused `room.enter` / `live.enter`, whose events queued meanwhile must not reach
    /// the client.
    async fn answer(&self, text: &str) -> (String, Option<Audience>) {
        // SDP offers are bigger than any other request: they get their own bound.
        let max = self.hub.config.max_message_bytes;
        let bound = max.max(opencalls_rtc::MAX_OFFER_FRAME);
        let envelope = match opencalls_protocol::parse_request(text, bound) {
            Ok(envelope)
                if text.len() > max && envelope.kind() != Some(RequestKind::MediaOffer) =>
            {
                let err = FrameError::TooLong { max };
                return (protocol::error(Some(envelope.id), err.into()), None);
            }
            Ok(envelope) => envelope,
            Err((id, err)) => return (protocol::error(id, err.into()), None),
        };
        let id = envelope.id.clone();
        let started = Instant::now();
        let kind = envelope.kind().map_or("unknown", RequestKind::as_str);
        let result = match envelope.decode() {
            Ok(request) => self.dispatch(request).await,
            Err(err) => Err(err.into()),
        };
        self.hub.services.metrics.observe(
            "opencalls_signal_request_seconds",
            "Time to answer a client-protocol request.",
            vec![("type", kind.to_owned())],
            started.elapsed().as_secs_f64(),
        );
        match result {
            Ok(reply) => (protocol::response(id, reply), None),
            Err(err) => {
                let err = WireError::from(err);
                tracing::debug!(kind, code = %err.code, "request refused");
                let refused = self.refused.lock().ok().and_then(|mut r| r.take());
                (protocol::error(Some(id), err), refused)
            }
        }
    }

    /// The message families: `room.*` and `ping` here, `media.*` in [`crate::media`],
    /// `live.*` in [`live`], `call.*` in [`call`].
    async fn dispatch(&self, request: Request) -> Result<Reply, SignalError> {
        Ok(match request {
            Request::Ping(_) => Reply::Pong(Pong {}),
            Request::RoomEnter(p) => Reply::RoomEntered(Box::new(self.enter(p).await?)),
            Request::RoomExit(p) => Reply::RoomExited(Box::new(self.exit(p).await?)),
            Request::RoomSetMedia(p) => Reply::RoomMediaSet(Box::new(self.set_media(p).await?)),
            Request::MediaOffer(p) => {
                Reply::Offer(crate::media::offer(&self.hub, &self.key, p).await?)
            }
            Request::LiveEnter(p) => Reply::LiveEntered(Box::new(self.live_enter(p).await?)),
            Request::LiveExit(p) => Reply::LiveMember(self.live_exit(p.live_event_id).await?),
            Request::LiveSetReady(p) => Reply::LiveEvent(Box::new(
                self.live_lifecycle(live::Lifecycle::SetReady, p.live_event_id)
                    .await?,
            )),
            Request::LiveStart(p) => Reply::LiveEvent(Box::new(
                self.live_lifecycle(live::Lifecycle::Start, p.live_event_id)
                    .await?,
            )),
            Request::LiveEnd(p) => Reply::LiveEvent(Box::new(
                self.live_lifecycle(live::Lifecycle::End, p.live_event_id)
                    .await?,
            )),
            Request::LiveSetMedia(p) => Reply::Host(Box::new(self.live_set_media(p).await?)),
            Request::LiveChat(p) => Reply::Chat(Box::new(self.live_chat(p).await?)),
            Request::CallDial(p) => Reply::Call(Box::new(self.call_dial(p).await?)),
            Request::CallAccept(p) => Reply::Call(Box::new(self.call_accept(p).await?)),
            Request::CallDecline(p) => Reply::Call(Box::new(self.call_decline(p.call_id).await?)),
            Request::CallCancel(p) => Reply::Call(Box::new(self.call_cancel(p.call_id).await?)),
            Request::CallEnd(p) => Reply::Call(Box::new(self.call_end(p.call_id).await?)),
            Request::CallSetMedia(p) => Reply::Call(Box::new(self.call_set_media(p).await?)),
        })
    }

    async fn enter(&self, p: RoomEnter) -> Result<RoomEntered, SignalError> {
        let room_id = room_id(p.room_id)?;
        let participant_id = ParticipantId::generate();
        self.hub
            .join(&self.key, self.conn_id, &room_id, &participant_id)?;
        let request = EnterRequest {
            participant_id: participant_id.clone(),
            user: self.user.clone(),
            client_id: self.key.client_id.clone(),
            is_audio_on: p.is_audio_on.unwrap_or(true),
            is_video_on: p.is_video_on.unwrap_or(false),
        };
        let rooms = &self.hub.services.rooms;
        let (participant, room) = match rooms.enter_with_room(&room_id, request).await {
            Ok(entered) => entered,
            Err(err) => {
                self.hub.leave(&self.key, &room_id, &participant_id);
                self.mark_refused(&room_id);
                return Err(err.into());
            }
        };
        // The session may have been revoked while the enter committed: give the seat back.
        if self.hub.seat(&self.key, &room_id, false).as_ref() != Some(&participant_id) {
            let _ = rooms.exit(&room_id, &participant_id).await;
            self.mark_refused(&room_id);
            return Err(SignalError::SessionEnded);
        }
        Ok(RoomEntered { room, participant })
    }

    fn mark_refused(&self, room_id: &RoomId) {
        self.mark_refused_audience(Audience::Room(room_id.clone()));
    }

    fn mark_refused_audience(&self, audience: Audience) {
        if let Ok(mut refused) = self.refused.lock() {
            *refused = Some(audience);
        }
    }

    async fn exit(&self, p: RoomExit) -> Result<RoomExited, SignalError> {
        let room_id = room_id(p.room_id)?;
        let pid = self
            .hub
            .seat(&self.key, &room_id, true)
            .ok_or(SignalError::NotInRoom)?;
        let result = self.hub.services.rooms.exit(&room_id, &pid).await;
        self.hub.leave(&self.key, &room_id, &pid);
        let participant = result?;
        Ok(RoomExited { participant })
    }

    async fn set_media(&self, p: RoomSetMedia) -> Result<RoomMediaSet, SignalError> {
        let room_id = room_id(p.room_id)?;
        if p.is_audio_on.is_none() && p.is_video_on.is_none() {
            return Err(SignalError::Missing("is_audio_on or is_video_on"));
        }
        let pid = self
            .hub
            .seat(&self.key, &room_id, false)
            .ok_or(SignalError::NotInRoom)?;
        let rooms = &self.hub.services.rooms;
        rooms
            .set_media(&room_id, &pid, p.is_audio_on, p.is_video_on)
            .await?;
        if let Some(media) = self.hub.media.get() {
            let member = opencalls_rtc::Member::Participant(pid.clone());
            media.set_media(&member, p.is_audio_on, p.is_video_on).await;
        }
        let room = rooms.get(&room_id).await?;
        let participant = room
            .current_participants
            .into_iter()
            .find(|x| x.participant_id == pid);
        Ok(RoomMediaSet { participant })
    }
}

/// Takes every frame queued so far, dropping those of `audience`: the device was in that
/// room's (or live event's) audience only while its refused enter ran (it held no seat
/// there before, or the enter would have been refused without joining).
fn drain_except(
    frames: &mut tokio::sync::mpsc::Receiver<hub::Frame>,
    audience: &Audience,
) -> Vec<Message> {
    let mut kept = Vec::new();
    while let Ok(frame) = frames.try_recv() {
        if &frame.audience != audience {
            kept.push(Message::Text(frame.text.into()));
        }
    }
    kept
}

/// A room id from the wire: 400111 when missing, 400200 when it can't name a room.
fn room_id(raw: Option<RoomId>) -> Result<RoomId, SignalError> {
    let raw = raw.ok_or(SignalError::Missing("room_id"))?;
    RoomId::parse(raw.as_str()).ok_or(SignalError::RoomNotFound)
}
