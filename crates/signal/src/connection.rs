//! One WebSocket connection: reads requests, answers them in order, forwards the events the
//! hub queues for it, and keeps a heartbeat.
//!
//! Invariants: requests are handled one at a time and answered before any event queued
//! meanwhile is written, so an event never overtakes the response that explains it; a bad
//! frame or a request over a rate limit gets an `error` frame and the connection carries
//! on; only transport failure, silence past the heartbeat timeout, a write slower than the
//! send timeout, the session's expiry or revocation, or the hub closes it.

mod call;
mod live;

use crate::error::SignalError;
use crate::hub::{self, Attached, Audience, DeviceKey, Hub};
use crate::limits::Bucket;
use crate::protocol;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use opencalls_domain::participant::EnterRequest;
use opencalls_domain::{Millis, ParticipantId, RoomId, User};
use opencalls_protocol::request::{Request, RoomEnter, RoomExit, RoomSetMedia};
use opencalls_protocol::response::{Pong, Reply, RoomEntered, RoomExited, RoomMediaSet};
use opencalls_protocol::{FrameError, GoodbyeReason, Hello, RequestKind, ResumedRoom, WireError};
use opencalls_service::ServiceError;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

pub(crate) struct Connection {
    hub: Arc<Hub>,
    user: User,
    key: DeviceKey,
    conn_id: u64,
    session: Session,
    /// Set when a `room.enter` or `live.enter` that had joined an audience is refused.
    refused: std::sync::Mutex<Option<Audience>>,
    /// This connection's budgets of state-changing requests and of `media.offer`s.
    requests: std::sync::Mutex<Bucket>,
    offers: std::sync::Mutex<Bucket>,
}

/// The session a connection was opened with.
pub(crate) struct Session {
    pub token: String,
    /// When the session expires: the connection is closed then (`session_expired`).
    pub expires_at: Option<Millis>,
}

type Sink = SplitSink<WebSocket, Message>;

/// Longest wait for the `goodbye` and close frames once the connection is ending.
const GOODBYE_TIMEOUT: Duration = Duration::from_secs(1);

pub(crate) async fn run(
    socket: WebSocket,
    hub: Arc<Hub>,
    user: User,
    mut attached: Attached,
    session: Session,
) {
    let limits = &hub.config.limits;
    let conn = Connection {
        hub: hub.clone(),
        user,
        key: attached.key.clone(),
        conn_id: attached.conn_id,
        session,
        refused: std::sync::Mutex::new(None),
        requests: std::sync::Mutex::new(Bucket::full(limits.requests())),
        offers: std::sync::Mutex::new(Bucket::full(limits.offers())),
    };
    let (mut sink, mut stream) = socket.split();
    let hello = conn.hello(std::mem::take(&mut attached.resumed)).await;
    let hello = Message::Text(hello.into());
    let sent = tokio::time::timeout(hub.config.send_timeout, sink.send(hello)).await;
    if !matches!(sent, Ok(Ok(()))) {
        return; // dropping `attached` detaches
    }
    let reason = conn.serve(&mut sink, &mut stream, &mut attached).await;
    if let Some(reason) = reason {
        let goodbye = Message::Text(protocol::goodbye(reason).into());
        let frame = CloseFrame {
            code: reason.close_code(),
            reason: reason.as_str().into(),
        };
        let _ = tokio::time::timeout(GOODBYE_TIMEOUT, async {
            sink.send(goodbye).await?;
            sink.send(Message::Close(Some(frame))).await
        })
        .await;
    }
    drop(attached);
}

/// What one turn of the connection loop decided.
enum Turn {
    Send(Vec<Message>),
    /// End the connection, with a `goodbye` when there is a reason.
    End(Option<GoodbyeReason>),
}

impl Connection {
    /// Serves the connection until it ends; returns why, if the server ends it.
    async fn serve(
        &self,
        sink: &mut Sink,
        stream: &mut SplitStream<WebSocket>,
        attached: &mut Attached,
    ) -> Option<GoodbyeReason> {
        let config = &self.hub.config;
        let mut heartbeat = tokio::time::interval(config.heartbeat_interval);
        heartbeat.tick().await;
        let mut recheck = self.hub.recheck.subscribe();
        recheck.borrow_and_update();
        let mut last_seen = Instant::now();
        loop {
            let turn = tokio::select! {
                inbound = stream.next() => self.inbound(inbound, &mut last_seen, attached).await,
                frame = attached.frames.recv() => match frame {
                    Some(frame) => Turn::Send(vec![Message::Text(frame.text.into())]),
                    // The hub let go of this connection; its close reason says why.
                    None => Turn::End(Some(
                        (*attached.close.borrow()).unwrap_or(GoodbyeReason::Replaced),
                    )),
                },
                changed = attached.close.changed() => match (changed, *attached.close.borrow()) {
                    (Ok(()), Some(reason)) => Turn::End(Some(reason)),
                    _ => Turn::Send(Vec::new()),
                },
                _ = heartbeat.tick() => self.beat(last_seen),
                Ok(()) = recheck.changed() => self.recheck().await,
            };
            match turn {
                Turn::End(reason) => return reason,
                Turn::Send(messages) => {
                    if let Some(end) = self.write(sink, messages, &mut attached.close).await {
                        return end;
                    }
                }
            }
        }
    }

    /// Writes `messages`, each within the send timeout. A write that takes longer ends the
    /// connection as too slow, and one blocked by a client that stopped reading never hides
    /// the hub closing the connection (revocation, replacement, too slow).
    async fn write(
        &self,
        sink: &mut Sink,
        messages: Vec<Message>,
        close: &mut watch::Receiver<Option<GoodbyeReason>>,
    ) -> Option<Option<GoodbyeReason>> {
        let within = self.hub.config.send_timeout;
        for message in messages {
            tokio::select! {
                sent = tokio::time::timeout(within, sink.send(message)) => match sent {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => return Some(None),
                    Err(_) => {
                        tracing::debug!(user = %self.key.user_id, "send timed out: closing a slow reader");
                        return Some(Some(GoodbyeReason::TooSlow));
                    }
                },
                Ok(()) = close.changed() => {
                    if let Some(reason) = *close.borrow() {
                        return Some(Some(reason));
                    }
                }
            }
        }
        None
    }

    async fn inbound(
        &self,
        inbound: Option<Result<Message, axum::Error>>,
        last_seen: &mut Instant,
        attached: &mut Attached,
    ) -> Turn {
        match inbound {
            Some(Ok(Message::Text(text))) => {
                *last_seen = Instant::now();
                let (answer, refused) = self.answer(text.as_str()).await;
                let mut out = vec![Message::Text(answer.into())];
                if let Some(audience) = refused {
                    out.extend(drain_except(&mut attached.frames, &audience));
                }
                Turn::Send(out)
            }
            Some(Ok(Message::Binary(_))) => {
                *last_seen = Instant::now();
                let err = WireError::from(FrameError::Binary);
                Turn::Send(vec![Message::Text(protocol::error(None, err).into())])
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                *last_seen = Instant::now();
                Turn::Send(Vec::new())
            }
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => Turn::End(None),
        }
    }

    /// A heartbeat: silence past the timeout or an expired session ends the connection.
    fn beat(&self, last_seen: Instant) -> Turn {
        if last_seen.elapsed() > self.hub.config.heartbeat_timeout {
            return Turn::End(Some(GoodbyeReason::HeartbeatTimeout));
        }
        if self.expired() {
            return Turn::End(Some(GoodbyeReason::SessionExpired));
        }
        Turn::Send(vec![Message::Ping(Default::default())])
    }

    fn expired(&self) -> bool {
        let now = self.hub.services.sessions.now();
        self.session.expires_at.is_some_and(|at| now >= at)
    }

    /// Revocations may have been missed: a session no longer valid ends like a revoked one.
    async fn recheck(&self) -> Turn {
        let sessions = &self.hub.services.sessions;
        if self.expired() {
            return Turn::End(Some(GoodbyeReason::SessionExpired));
        }
        match sessions.authenticate(&self.session.token).await {
            Err(ServiceError::Unauthorized(_)) => {
                self.hub.revoke_devices(vec![self.key.clone()]).await;
                Turn::End(Some(GoodbyeReason::SessionRevoked))
            }
            // Valid, or the store could not tell (the next recheck or expiry will).
            Ok(_) | Err(_) => Turn::Send(Vec::new()),
        }
    }

    /// Refuses a request over this connection's rate limits (before it changes anything).
    fn admit(&self, request: &Request) -> Result<(), SignalError> {
        let limits = &self.hub.config.limits;
        let changes_state = match request {
            // Chat has its own per-user limit; pings change nothing.
            Request::Ping(_) | Request::LiveChat(_) => false,
            Request::RoomEnter(_)
            | Request::RoomExit(_)
            | Request::RoomSetMedia(_)
            | Request::MediaOffer(_)
            | Request::MediaSetLayerHint(_)
            | Request::LiveEnter(_)
            | Request::LiveExit(_)
            | Request::LiveSetReady(_)
            | Request::LiveStart(_)
            | Request::LiveEnd(_)
            | Request::LiveSetMedia(_)
            | Request::CallDial(_)
            | Request::CallAccept(_)
            | Request::CallDecline(_)
            | Request::CallCancel(_)
            | Request::CallEnd(_)
            | Request::CallSetMedia(_) => true,
        };
        let take = |bucket: &std::sync::Mutex<Bucket>, rate| {
            bucket.lock().unwrap_or_else(|e| e.into_inner()).take(rate)
        };
        if matches!(request, Request::MediaOffer(_)) && !take(&self.offers, limits.offers()) {
            let per_min = limits.media_offers_per_min;
            return Err(SignalError::TooManyOffers { per_min });
        }
        if changes_state && !take(&self.requests, limits.requests()) {
            let per_sec = limits.requests_per_sec;
            return Err(SignalError::TooManyRequests { per_sec });
        }
        Ok(())
    }

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
            ice_servers: crate::ice::ice_servers(config.turn.as_ref(), &self.user.user_id),
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
            Ok(request) => match self.admit(&request) {
                Ok(()) => self.dispatch(request).await,
                Err(err) => Err(err),
            },
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
            Request::MediaSetLayerHint(p) => {
                Reply::LayerHint(crate::media::set_layer_hint(&self.hub, &self.key, p).await?)
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
        // In a cluster: what other nodes finished before this request is relayed first, so
        // it is in the snapshot below and not heard again after it.
        self.hub.services.bus.catch_up().await;
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
