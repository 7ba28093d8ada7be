//! The registry of connected devices and the fan-out of committed events to them.
//!
//! A *device* is `(user_id, client_id)`; it holds at most one seat (participant) per room, at
//! most one live seat (host or participant) per live event (see [`live`]) and at most one
//! attached connection. Invariants:
//! - a device is registered as a member of a room *before* its enter commits, so it never
//!   misses an event committed after the snapshot in its `room.enter` response;
//! - a detached device keeps its seats for the reconnect grace period; a reconnect with the
//!   same `client_id` resumes them, otherwise every seat is exited (no seat leaks);
//! - in a cluster, the node a device says `hello` to records itself as the holder of its
//!   seats ([`Hub::claim`]) and resumes those another node held (that node closes its
//!   older connection of the device: [`Hub::moved_elsewhere`]); a node exits a device's
//!   seats (grace expiry, shutdown) only after releasing it in the store, so a device that
//!   moved to another node is never exited by the node it left;
//! - the lock is never held across an await; frames are queued with `try_send` and a
//!   connection whose queue is full is dropped (the client reconnects and resyncs);
//! - a user has at most `devices_per_user` devices, `live_seats_per_user` live seats and
//!   `media_peers_per_user` seats carrying media (see [`crate::limits`]); `users` indexes
//!   the devices by user, and changes with `devices` only through `register`/`forget`;
//! - an attachment is detached exactly once: by its connection, or by the drop of its
//!   [`Attached`] when the upgrade never ran.

pub(crate) mod call;
pub(crate) mod live;

use crate::SignalConfig;
use crate::error::SignalError;
use crate::limits::KeyedLimiter;
use crate::protocol;
use futures_util::StreamExt;
pub(crate) use opencalls_domain::DeviceKey;
use opencalls_domain::{
    ClientId, DirectCallId, Event, EventBody, LiveEventId, Millis, ParticipantId, RoomId, UserId,
};
use opencalls_protocol::{GoodbyeReason, RoomEvent};
use opencalls_runtime::Metrics;
use opencalls_service::chat::NodeMessage;
use opencalls_service::chat::{ChatLimiter, SharedChat};
use opencalls_service::{ServiceError, Services};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// Frames queued per connection before it counts as too slow.
const QUEUE_FRAMES: usize = 512;
/// How many devices a graceful shutdown releases and exits at once.
const SHUTDOWN_DEVICES_AT_ONCE: usize = 16;
/// How long the participants exited by a room deletion are remembered, so they also get
/// `room.deleted`.
const KICKED_MEMORY: Duration = Duration::from_secs(30);

/// An event frame queued for a connection, tagged with its room or live event.
pub(crate) struct Frame {
    pub audience: Audience,
    pub text: String,
}

/// What a frame concerns: a room, a live event or a direct call.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Audience {
    Room(RoomId),
    Live(LiveEventId),
    Call(DirectCallId),
}

/// The hub's end of a connection.
#[derive(Clone)]
struct Conn {
    id: u64,
    frames: mpsc::Sender<Frame>,
    close: watch::Sender<Option<GoodbyeReason>>,
}

impl Conn {
    /// Queues `frame` without waiting; a connection whose queue is full is told to close as
    /// too slow (its device reconnects and resyncs). Returns whether the frame was queued.
    fn send(&self, frame: Frame) -> bool {
        let queued = self.frames.try_send(frame).is_ok();
        if !queued {
            let _ = self.close.send(Some(GoodbyeReason::TooSlow));
        }
        queued
    }
}

/// The connection task's end. Dropping it detaches the connection (its seats then wait
/// the grace period), so an upgrade that never completes leaks nothing.
pub(crate) struct Attached {
    pub conn_id: u64,
    pub frames: mpsc::Receiver<Frame>,
    pub close: watch::Receiver<Option<GoodbyeReason>>,
    /// Seats kept from an earlier connection of the same device (here, or on another node:
    /// see [`Hub::claim`]).
    pub resumed: Vec<(RoomId, ParticipantId)>,
    hub: Arc<Hub>,
    pub key: DeviceKey,
}

impl Drop for Attached {
    fn drop(&mut self) {
        self.hub.detach(&self.key, self.conn_id);
    }
}

#[derive(Clone)]
struct Seat {
    participant_id: ParticipantId,
    /// The device asked to exit; its own exit event needs no forwarding.
    leaving: bool,
}

#[derive(Default)]
struct Device {
    conn: Option<Conn>,
    seats: HashMap<RoomId, Seat>,
    /// Live-event seats (host or participant), at most one per live event.
    live: HashMap<LiveEventId, live::LiveSeat>,
    /// Direct calls this device dialed or accepted and that have not ended (as far as the
    /// routed events tell; the store is the authority when the grace runs out).
    calls: std::collections::HashSet<DirectCallId>,
    /// Bumped on every attach/detach; a grace timer only acts on its own generation.
    generation: u64,
    /// Seats (rooms, live events) for which the device made a media offer.
    media: HashSet<Audience>,
    /// The connection whose claim on the device's holder record completed (cluster): only
    /// it can be older than a connection on another node (see [`Hub::moved_elsewhere`]).
    claimed: Option<u64>,
    /// Another node said the device moved there while this connection's claim ran: the
    /// claim checks again once done.
    moved_pending: bool,
}

impl Device {
    /// Holds nothing a reconnect could resume.
    fn holds_nothing(&self) -> bool {
        self.seats.is_empty() && self.live.is_empty() && self.calls.is_empty()
    }
}

#[derive(Default)]
struct State {
    devices: HashMap<DeviceKey, Device>,
    /// The registered devices of each user (the index behind the per-user limits).
    users: HashMap<UserId, HashSet<ClientId>>,
    rooms: HashMap<RoomId, HashMap<ParticipantId, DeviceKey>>,
    /// Per room, the devices whose participants exited last, and when (see `KICKED_MEMORY`).
    kicked: HashMap<RoomId, (Millis, Vec<DeviceKey>, Instant)>,
    next_conn: u64,
    live: live::LiveState,
}

pub(crate) struct Hub {
    state: Mutex<State>,
    pub services: Services,
    pub config: SignalConfig,
    /// The media bridge, when the server runs an SFU (set once at start).
    pub media: std::sync::OnceLock<Arc<opencalls_rtc::MediaBridge>>,
    /// The per-user live chat rate limit of a single server.
    pub chat: ChatLimiter,
    /// On a cluster node, the shared chat bucket and relay (set once at start), used
    /// instead of `chat`.
    pub shared_chat: std::sync::OnceLock<SharedChat>,
    /// `POST /v1/auth/session` per claimed user and per client address.
    pub session_opens_user: KeyedLimiter<UserId>,
    pub session_opens_ip: KeyedLimiter<IpAddr>,
    /// Bumped when revocations may have been missed: every connection rechecks its session.
    pub recheck: watch::Sender<u64>,
    /// On a cluster node, `waiting` while the node is fenced (it could not renew its lease
    /// in time, or is declared dead; set once at start, see
    /// `SignalHandle::follow_membership`): new connections are refused.
    pub evicted: std::sync::OnceLock<watch::Receiver<crate::Eviction>>,
}

/// The hub as a listener of the event bus: every committed event is routed as it is
/// published, so the hub never falls behind the bus (only a slow connection can).
struct BusListener(Weak<Hub>);

impl opencalls_runtime::EventListener for BusListener {
    fn on_event(&self, event: &Arc<Event>) {
        let Some(hub) = self.0.upgrade() else {
            return;
        };
        hub.route(event);
        if let Some(media) = hub.media.get() {
            media.on_event(event, &hub.services.live_events);
        }
    }
}

impl Hub {
    pub fn new(services: Services, config: SignalConfig) -> Arc<Self> {
        let limits = &config.limits;
        let hub = Arc::new(Self {
            state: Mutex::new(State::default()),
            session_opens_user: KeyedLimiter::new(limits.session_opens_per_user()),
            session_opens_ip: KeyedLimiter::new(limits.session_opens_per_ip()),
            recheck: watch::channel(0).0,
            services,
            config,
            media: std::sync::OnceLock::new(),
            chat: ChatLimiter::default(),
            shared_chat: std::sync::OnceLock::new(),
            evicted: std::sync::OnceLock::new(),
        });
        let listener = Arc::new(BusListener(Arc::downgrade(&hub)));
        hub.services.bus.listen(listener);
        hub
    }

    /// Asks every connection to check that its session is still valid (revocations may
    /// have been missed).
    pub fn recheck_sessions(&self) {
        self.recheck.send_modify(|n| *n += 1);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock can only come from a bug; keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Attaches a new connection to the device, replacing (closing) any older one; refuses
    /// a new device of a user who has `devices_per_user` already.
    pub fn attach(self: &Arc<Self>, key: &DeviceKey) -> Result<Attached, SignalError> {
        let (frames_tx, frames) = mpsc::channel(QUEUE_FRAMES);
        let (close_tx, close) = watch::channel(None);
        let mut state = self.lock();
        let max = self.config.limits.devices_per_user;
        if !state.devices.contains_key(key) && state.device_count(&key.user_id) >= max {
            return Err(SignalError::TooManyDevices { max });
        }
        state.next_conn += 1;
        let conn_id = state.next_conn;
        let device = state.register(key);
        if let Some(old) = device.conn.take() {
            let _ = old.close.send(Some(GoodbyeReason::Replaced));
        }
        device.generation += 1;
        device.conn = Some(Conn {
            id: conn_id,
            frames: frames_tx,
            close: close_tx,
        });
        let resumed = device
            .seats
            .iter()
            .map(|(room, seat)| (room.clone(), seat.participant_id.clone()))
            .collect();
        Ok(Attached {
            conn_id,
            frames,
            close,
            resumed,
            hub: self.clone(),
            key: key.clone(),
        })
    }

    /// The connection ended. Its seats wait `reconnect_grace` for the device to come back.
    pub fn detach(self: &Arc<Self>, key: &DeviceKey, conn_id: u64) {
        let mut state = self.lock();
        let Some(device) = state.devices.get_mut(key) else {
            return;
        };
        if device.conn.as_ref().is_none_or(|c| c.id != conn_id) {
            return; // already replaced or revoked
        }
        device.conn = None;
        device.generation += 1;
        let nothing = device.holds_nothing();
        if nothing {
            state.forget(key);
        }
        let generation = device_generation(&state, key);
        drop(state);
        let (hub, key, grace) = (self.clone(), key.clone(), self.config.reconnect_grace);
        // Detaching may run from a drop ([`Attached`]) outside any runtime (process exit):
        // then there is no grace period left to wait.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(async move {
            if nothing {
                // Nothing to resume: the device's holder record can go now.
                hub.release_hold(&key).await;
                return;
            }
            tokio::time::sleep(grace).await;
            hub.grace_expired(&key, generation).await;
        });
    }

    async fn grace_expired(&self, key: &DeviceKey, generation: u64) {
        let seats = {
            let mut state = self.lock();
            match state.devices.get(key) {
                Some(d) if d.conn.is_none() && d.generation == generation => {
                    Some((state.take_live(key), state.remove_device(key)))
                }
                Some(_) => return,
                // Forgotten meanwhile (its last seat went): only its holder record is left.
                None => None,
            }
        };
        let Some(seats) = seats else {
            self.release_hold(key).await;
            return;
        };
        if !self.release_hold(key).await {
            // The device moved to another node (or a survivor took over): its seats are
            // that node's now, and this node must not exit them.
            tracing::debug!(user = %key.user_id, "device moved away; its seats stay");
            return;
        }
        self.exit_live_seats(seats.0).await;
        self.exit_seats(seats.1).await;
        self.lose_calls(key).await;
    }

    /// Gives up this node's hold on a device it no longer keeps (see
    /// [`opencalls_service::SeatHolders`]). `true` if this node held it, so the device's
    /// seats are this node's to exit; `true` also when the store cannot tell after the
    /// retries (a seat must not be left taken) or there is no cluster record.
    async fn release_hold(&self, key: &DeviceKey) -> bool {
        let Some(seats) = self.services.seats.clone() else {
            return true;
        };
        let released = retry_internal(&self.services.metrics, || seats.release(key)).await;
        // The device may have come back to this node meanwhile: its hold must stand (the
        // hold of that new connection may have run before the release above).
        if self
            .lock()
            .devices
            .get(key)
            .is_some_and(|d| d.conn.is_some())
            && let Err(err) = seats.hold(key).await
        {
            tracing::warn!(user = %key.user_id, %err, "recording a device's holder again failed");
        }
        released.unwrap_or_else(|err| {
            tracing::warn!(user = %key.user_id, %err, "releasing a device failed; exiting its seats");
            true
        })
    }

    /// Records this node as the holder of the device's seats. When another node held them
    /// (the device moved here, or its node died), the seats the store lists for it are
    /// registered here as a reconnect to its old node would have found them, before the
    /// `hello` snapshot is read, and join `hello.resumed`.
    pub async fn claim(&self, attached: &mut Attached) -> Result<(), SignalError> {
        let Some(seats) = self.services.seats.clone() else {
            return Ok(());
        };
        if self.evicted.get().is_some_and(|e| e.borrow().waiting) {
            // Fenced: survivors may count this node dead (and exit what it held): a device
            // must go to a live node.
            let refused = ServiceError::Internal("this node is fenced off the cluster".into());
            return Err(refused.into());
        }
        let from = seats.hold(&attached.key).await?;
        if self.lock().mark_claimed(&attached.key, attached.conn_id) {
            // Which of the two holds came last decides which connection stays.
            self.moved_elsewhere(&attached.key).await;
        }
        let Some(from) = from else {
            return Ok(());
        };
        let key = &attached.key;
        // The device may still be connected to the node it left: that connection closes.
        if let Some(shared) = self.shared_chat.get() {
            shared
                .broadcast(NodeMessage::DeviceMoved {
                    device: key.clone(),
                })
                .await;
        }
        let held = match retry_internal(&self.services.metrics, || seats.seats_of(key)).await {
            Ok(held) => held,
            Err(err) => {
                // This node cannot resume what it now holds: hand the device back, so the
                // node it came from (or the survivor of that node) still exits its seats.
                if let Err(back) = seats.hold_for(key, &from).await {
                    tracing::error!(user = %key.user_id, %back, "handing a device back failed; its seats stay until a restart");
                }
                return Err(err.into());
            }
        };
        tracing::info!(user = %attached.key.user_id, from = %from, rooms = held.rooms.len(),
            live = held.live.len(), "device moved here from another node; resuming its seats");
        let adopted = self.lock().adopt(&attached.key, attached.conn_id, held);
        attached.resumed.extend(adopted);
        Ok(())
    }

    /// Another node says the device connected there (a [`NodeMessage::DeviceMoved`]):
    /// this node's connection of the device closes (`replaced`) if it is the older one,
    /// that is if its claim completed and the device's holder is another node now. Its
    /// seats are not exited: their holder is the other node (the grace expiry here finds
    /// the record gone).
    pub async fn moved_elsewhere(&self, key: &DeviceKey) {
        let Some(seats) = self.services.seats.clone() else {
            return;
        };
        let conn_id = {
            let mut state = self.lock();
            match state.devices.get_mut(key) {
                Some(d) if d.claimed.is_some() && d.claimed == d.conn.as_ref().map(|c| c.id) => {
                    d.claimed
                }
                Some(d) if d.conn.is_some() => {
                    // Its claim is running: it checks again when done.
                    d.moved_pending = true;
                    return;
                }
                _ => return, // not connected here
            }
        };
        match seats.holder(key).await {
            Ok(holder) if holder.as_ref() == Some(seats.node()) => {}
            Ok(_) => {
                let state = self.lock();
                if let Some(conn) = state.devices.get(key).and_then(|d| d.conn.as_ref())
                    && Some(conn.id) == conn_id
                {
                    tracing::debug!(user = %key.user_id, "device connected to another node; closing its older connection here");
                    let _ = conn.close.send(Some(GoodbyeReason::Replaced));
                }
            }
            Err(err) => {
                tracing::warn!(user = %key.user_id, %err, "reading a device's holder failed; its connection here stays");
            }
        }
    }

    /// Closes every connection with `reason`; their seats wait the grace as after any drop.
    pub fn close_all(&self, reason: GoodbyeReason) {
        let state = self.lock();
        let conns = state.devices.values().filter_map(|d| d.conn.as_ref());
        let mut closed = 0usize;
        for conn in conns {
            let _ = conn.close.send(Some(reason));
            closed += 1;
        }
        tracing::warn!(closed, ?reason, "closed every connection of this node");
    }

    /// Ends every session of the user now: connections closed, seats exited.
    pub async fn revoke_user(&self, user_id: &UserId) {
        let keys = self.lock().keys_of(user_id);
        self.revoke_devices(keys).await;
    }

    /// Ends the sessions of these devices now: connections closed, seats exited.
    pub async fn revoke_devices(&self, keys: Vec<DeviceKey>) {
        let (mut live, mut lost) = (Vec::new(), Vec::new());
        let seats = {
            let mut state = self.lock();
            let mut seats = Vec::new();
            for key in &keys {
                if let Some(conn) = state.devices.get(key).and_then(|d| d.conn.clone()) {
                    let _ = conn.close.send(Some(GoodbyeReason::SessionRevoked));
                }
                live.extend(state.take_live(key));
                seats.extend(state.remove_device(key));
            }
            lost.extend(keys);
            seats
        };
        self.exit_live_seats(live).await;
        self.exit_seats(seats).await;
        for key in lost {
            self.lose_calls(&key).await;
            // Exited whoever holds it: the holder record has nothing left to decide.
            self.release_hold(&key).await;
        }
    }

    /// Closes every connection and exits every seat this node still holds (graceful
    /// shutdown); the seats of devices that moved to another node stay.
    pub async fn shutdown(&self) {
        let devices = {
            let mut state = self.lock();
            let keys: Vec<DeviceKey> = state.devices.keys().cloned().collect();
            let mut devices = Vec::with_capacity(keys.len());
            for key in keys {
                if let Some(conn) = state.devices.get(&key).and_then(|d| d.conn.clone()) {
                    let _ = conn.close.send(Some(GoodbyeReason::ServerRestart));
                }
                let live = state.take_live(&key);
                let seats = state.remove_device(&key);
                devices.push((key, live, seats));
            }
            devices
        };
        // Several devices at a time: each costs a release and its exits (store writes).
        futures_util::stream::iter(devices)
            .for_each_concurrent(SHUTDOWN_DEVICES_AT_ONCE, |(key, live, seats)| async move {
                if self.release_hold(&key).await {
                    self.exit_live_seats(live).await;
                    self.exit_seats(seats).await;
                }
            })
            .await;
    }

    async fn exit_seats(&self, seats: Vec<(RoomId, ParticipantId)>) {
        for (room_id, participant_id) in seats {
            let rooms = &self.services.rooms;
            let exited = retry_internal(&self.services.metrics, || {
                rooms.exit(&room_id, &participant_id)
            })
            .await;
            // Already exited (room deleted meanwhile) is fine: the seat is free either way.
            if let Err(err) = exited {
                tracing::debug!(%room_id, %participant_id, %err, "exit of a dropped seat");
            }
        }
    }

    /// Takes a seat before entering; refuses a second seat of the device in the room, and
    /// any seat once the connection was replaced or revoked.
    pub fn join(
        &self,
        key: &DeviceKey,
        conn_id: u64,
        room_id: &RoomId,
        pid: &ParticipantId,
    ) -> Result<(), SignalError> {
        let mut state = self.lock();
        let device = match state.devices.get_mut(key) {
            Some(d) if d.conn.as_ref().is_some_and(|c| c.id == conn_id) => d,
            _ => return Err(SignalError::ConnectionEnded),
        };
        if device.seats.contains_key(room_id) {
            return Err(SignalError::AlreadyInRoom);
        }
        device.seats.insert(
            room_id.clone(),
            Seat {
                participant_id: pid.clone(),
                leaving: false,
            },
        );
        state
            .rooms
            .entry(room_id.clone())
            .or_default()
            .insert(pid.clone(), key.clone());
        Ok(())
    }

    /// Gives a seat back (enter refused, or exit done).
    pub fn leave(&self, key: &DeviceKey, room_id: &RoomId, pid: &ParticipantId) {
        let mut state = self.lock();
        state.remove_seat(key, room_id, pid);
    }

    /// The device's participant in the room, marked as leaving if `leaving`.
    pub fn seat(&self, key: &DeviceKey, room_id: &RoomId, leaving: bool) -> Option<ParticipantId> {
        let mut state = self.lock();
        let seat = state.devices.get_mut(key)?.seats.get_mut(room_id)?;
        seat.leaving |= leaving;
        Some(seat.participant_id.clone())
    }

    /// Routes one committed event to the connections it concerns.
    pub fn route(&self, event: &Event) {
        if let EventBody::LiveEvent { live_event, body } = &event.body {
            return self.route_live(live_event, body, event.occurred_at);
        }
        if let EventBody::DirectCall { record, body } = &event.body {
            return self.route_call(record, body, event.occurred_at);
        }
        let Some((room_id, room_event)) = protocol::room_event(event) else {
            return;
        };
        let name = room_event.name();
        let mut state = self.lock();
        let targets = match &room_event {
            RoomEvent::Deleted { room } => state.deleted_targets(&room_id, room.updated_at),
            RoomEvent::ParticipantExited { participant } => state.exited_targets(participant),
            RoomEvent::ParticipantEntered { participant }
            | RoomEvent::ParticipantMediaChanged { participant } => {
                // The device that caused it learns from its response.
                state.members_except(&room_id, Some(&participant.participant_id))
            }
            RoomEvent::ParticipantConnected { .. }
            | RoomEvent::CustomItemsUpdated { .. }
            | RoomEvent::CustomItemsDeleted { .. }
            | RoomEvent::TrackRouted { .. }
            | RoomEvent::ActiveSpeakersChanged { .. }
            | RoomEvent::MediaDisconnected { .. } => state.members_except(&room_id, None),
        };
        let frame = protocol::room_frame(&room_id, event.occurred_at, room_event);
        let mut slow = 0;
        for key in targets {
            let Some(conn) = state.devices.get(&key).and_then(|d| d.conn.as_ref()) else {
                continue;
            };
            let queued = Frame {
                audience: Audience::Room(room_id.clone()),
                text: frame.clone(),
            };
            if !conn.send(queued) {
                slow += 1;
            }
        }
        drop(state);
        tracing::trace!(event = name, slow, "routed");
    }

    /// Queues a frame for the room's devices, or only for the device holding seat `to`.
    pub fn push(&self, room_id: &RoomId, to: Option<&ParticipantId>, text: String) {
        let state = self.lock();
        let Some(members) = state.rooms.get(room_id) else {
            return;
        };
        for (pid, key) in members {
            if to.is_some_and(|to| to != pid) {
                continue;
            }
            let Some(conn) = state.devices.get(key).and_then(|d| d.conn.as_ref()) else {
                continue;
            };
            conn.send(Frame {
                audience: Audience::Room(room_id.clone()),
                text: text.clone(),
            });
        }
    }

    /// Forgets the memory of deletion-exited devices older than `KICKED_MEMORY`.
    pub fn sweep(&self) {
        let mut state = self.lock();
        state
            .kicked
            .retain(|_, (_, _, at)| at.elapsed() < KICKED_MEMORY);
        state.live.sweep(KICKED_MEMORY);
        drop(state);
        self.chat.sweep();
        self.session_opens_user.sweep();
        self.session_opens_ip.sweep();
    }

    /// Counts `audience` among the device's seats carrying media, unless the user has
    /// `media_peers_per_user` such seats already. Returns whether it was newly counted (an
    /// offer that then fails gives it back with [`Hub::release_media`]).
    pub fn reserve_media(&self, key: &DeviceKey, audience: &Audience) -> Result<bool, SignalError> {
        let mut state = self.lock();
        let max = self.config.limits.media_peers_per_user;
        let in_use = state.media_count(&key.user_id);
        let device = state
            .devices
            .get_mut(key)
            .ok_or(SignalError::ConnectionEnded)?;
        if device.media.contains(audience) {
            return Ok(false);
        }
        if in_use >= max {
            return Err(SignalError::TooManyMediaPeers { max });
        }
        device.media.insert(audience.clone());
        Ok(true)
    }

    /// Gives back a media reservation whose offer failed.
    pub fn release_media(&self, key: &DeviceKey, audience: &Audience) {
        if let Some(device) = self.lock().devices.get_mut(key) {
            device.media.remove(audience);
        }
    }
}

/// The device's generation (0 once forgotten).
fn device_generation(state: &State, key: &DeviceKey) -> u64 {
    state.devices.get(key).map_or(0, |d| d.generation)
}

/// Delays between the attempts of a write that failed inside (the store), before giving up.
const RETRY_DELAYS: [Duration; 6] = [
    Duration::from_millis(50),
    Duration::from_millis(200),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(5),
];

/// Runs `write` again while it fails inside (`ServiceError::Internal`: the store could not
/// commit), so a seat whose exit failed once is not left taken; refusals are final. Each
/// retry and each exit given up is counted on `/metrics` (operators alert on the latter:
/// that seat stays taken until the next restart's clean-up).
pub(crate) async fn retry_internal<T, F, Fut>(
    metrics: &Metrics,
    mut write: F,
) -> Result<T, ServiceError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ServiceError>>,
{
    let mut delays = RETRY_DELAYS.iter();
    loop {
        match write().await {
            Err(ServiceError::Internal(err)) => match delays.next() {
                Some(delay) => {
                    tracing::warn!(%err, retry_in_ms = delay.as_millis() as u64, "exit failed; retrying");
                    metrics.count(
                        "opencalls_seat_exit_retries_total",
                        "Exits of dropped seats retried after the store failed to commit them.",
                        vec![],
                        1,
                    );
                    tokio::time::sleep(*delay).await;
                }
                None => {
                    tracing::error!(%err, "exit failed; giving up");
                    metrics.count(
                        "opencalls_seat_exits_failed_total",
                        "Exits of dropped seats given up after every retry failed (the seat stays taken until the next start-up clean-up).",
                        vec![],
                        1,
                    );
                    return Err(ServiceError::Internal(err));
                }
            },
            done => return done,
        }
    }
}

impl State {
    /// The device, registered (and indexed under its user) if it is new.
    fn register(&mut self, key: &DeviceKey) -> &mut Device {
        if !self.devices.contains_key(key) {
            self.users
                .entry(key.user_id.clone())
                .or_default()
                .insert(key.client_id.clone());
        }
        self.devices.entry(key.clone()).or_default()
    }

    /// Forgets the device (and its place in the user index).
    fn forget(&mut self, key: &DeviceKey) -> Option<Device> {
        let device = self.devices.remove(key)?;
        if let Some(clients) = self.users.get_mut(&key.user_id) {
            clients.remove(&key.client_id);
            if clients.is_empty() {
                self.users.remove(&key.user_id);
            }
        }
        Some(device)
    }

    fn keys_of(&self, user_id: &UserId) -> Vec<DeviceKey> {
        self.users
            .get(user_id)
            .map(|clients| {
                clients
                    .iter()
                    .map(|c| DeviceKey::new(user_id.clone(), c.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn device_count(&self, user_id: &UserId) -> usize {
        self.users.get(user_id).map_or(0, HashSet::len)
    }

    /// The user's devices, as registered.
    fn devices_of<'a>(&'a self, user_id: &'a UserId) -> impl Iterator<Item = &'a Device> + 'a {
        self.users
            .get(user_id)
            .into_iter()
            .flatten()
            .filter_map(move |c| {
                self.devices
                    .get(&DeviceKey::new(user_id.clone(), c.clone()))
            })
    }

    fn media_count(&self, user_id: &UserId) -> usize {
        self.devices_of(user_id).map(|d| d.media.len()).sum()
    }

    fn live_seat_count(&self, user_id: &UserId) -> usize {
        self.devices_of(user_id).map(|d| d.live.len()).sum()
    }

    fn members_except(&self, room_id: &RoomId, skip: Option<&ParticipantId>) -> Vec<DeviceKey> {
        self.rooms
            .get(room_id)
            .map(|m| {
                m.iter()
                    .filter(|(pid, _)| Some(*pid) != skip)
                    .map(|(_, key)| key.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Everyone in the room hears of an exit; the exiting device only if it didn't ask for
    /// it (room deleted, session ended elsewhere). Its seat is freed here.
    fn exited_targets(&mut self, participant: &opencalls_domain::Participant) -> Vec<DeviceKey> {
        let room_id = &participant.room_id;
        let pid = &participant.participant_id;
        let mut targets = self.members_except(room_id, Some(pid));
        let owner = self.rooms.get(room_id).and_then(|m| m.get(pid)).cloned();
        if let Some(key) = owner {
            let asked = self
                .devices
                .get(&key)
                .and_then(|d| d.seats.get(room_id))
                .is_some_and(|s| s.leaving);
            if !asked {
                targets.push(key.clone());
            }
            let exited_at = participant.exited_at.unwrap_or(participant.updated_at);
            let entry = self
                .kicked
                .entry(room_id.clone())
                .or_insert_with(|| (exited_at, Vec::new(), Instant::now()));
            if entry.0 != exited_at {
                *entry = (exited_at, Vec::new(), Instant::now());
            }
            entry.1.push(key.clone());
            self.remove_seat(&key, room_id, pid);
        }
        targets
    }

    /// Members plus the devices whose participants the deletion itself exited.
    fn deleted_targets(&mut self, room_id: &RoomId, deleted_at: Millis) -> Vec<DeviceKey> {
        let mut targets = self.members_except(room_id, None);
        if let Some((at, kicked, _)) = self.kicked.remove(room_id)
            && at == deleted_at
        {
            targets.extend(kicked);
        }
        targets.sort();
        targets.dedup();
        targets
    }

    fn remove_seat(&mut self, key: &DeviceKey, room_id: &RoomId, pid: &ParticipantId) {
        if let Some(members) = self.rooms.get_mut(room_id) {
            members.remove(pid);
            if members.is_empty() {
                self.rooms.remove(room_id);
            }
        }
        if let Some(device) = self.devices.get_mut(key) {
            if device
                .seats
                .get(room_id)
                .is_some_and(|s| &s.participant_id == pid)
            {
                device.seats.remove(room_id);
                device.media.remove(&Audience::Room(room_id.clone()));
            }
            if device.conn.is_none() && device.holds_nothing() {
                self.forget(key);
            }
        }
    }

    /// Records that the claim of connection `conn_id` completed (if it is still the
    /// device's connection); `true` if another node said meanwhile that the device moved
    /// there (see [`Hub::moved_elsewhere`]).
    fn mark_claimed(&mut self, key: &DeviceKey, conn_id: u64) -> bool {
        match self.devices.get_mut(key) {
            Some(device) if device.conn.as_ref().is_some_and(|c| c.id == conn_id) => {
                device.claimed = Some(conn_id);
                std::mem::take(&mut device.moved_pending)
            }
            _ => false,
        }
    }

    /// Registers seats the store lists for the device (it moved here from another node)
    /// on its connection `conn_id`; returns the room seats newly registered. Seats the
    /// device holds here already are kept as they are.
    fn adopt(
        &mut self,
        key: &DeviceKey,
        conn_id: u64,
        held: opencalls_service::seats::DeviceSeats,
    ) -> Vec<(RoomId, ParticipantId)> {
        let Some(device) = self.devices.get_mut(key) else {
            return Vec::new();
        };
        if device.conn.as_ref().is_none_or(|c| c.id != conn_id) {
            return Vec::new(); // replaced meanwhile: the newer connection claims again
        }
        let mut adopted = Vec::new();
        for (room_id, pid) in held.rooms {
            if device.seats.contains_key(&room_id) {
                continue;
            }
            let seat = Seat {
                participant_id: pid.clone(),
                leaving: false,
            };
            device.seats.insert(room_id.clone(), seat);
            adopted.push((room_id, pid));
        }
        let mut live_ids = Vec::new();
        for (id, seat) in held.live {
            if !device.live.contains_key(&id) {
                device.live.insert(id.clone(), live::LiveSeat::held(seat));
                live_ids.push(id);
            }
        }
        for (room_id, pid) in &adopted {
            let members = self.rooms.entry(room_id.clone()).or_default();
            members.insert(pid.clone(), key.clone());
        }
        for id in live_ids {
            self.join_audience(id, key);
        }
        adopted
    }

    /// Forgets the device; returns its seats for the caller to exit.
    fn remove_device(&mut self, key: &DeviceKey) -> Vec<(RoomId, ParticipantId)> {
        let Some(device) = self.forget(key) else {
            return Vec::new();
        };
        let mut seats = Vec::new();
        for (room_id, seat) in device.seats {
            if let Some(members) = self.rooms.get_mut(&room_id) {
                members.remove(&seat.participant_id);
                if members.is_empty() {
                    self.rooms.remove(&room_id);
                }
            }
            seats.push((room_id, seat.participant_id));
        }
        seats
    }
}
