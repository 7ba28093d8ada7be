//! Live events in the hub: which device holds which live seat (host or participant), the
//! audience of each live event, and the routing of live events (and of chat, from this
//! node or relayed from others) to connections.
//!
//! Invariants (as for rooms): a device joins a live event's audience *before* its enter
//! commits, so it misses nothing committed after the snapshot in its response; a device
//! holds at most one live seat per live event; a detached device keeps its live seats for
//! the reconnect grace period.
//!
//! Fan-out: participant enters and exits go to the host only (an audience of thousands
//! would otherwise hear every viewer come and go); everyone else sees the counters in the
//! live event carried by every other event. State changes, host changes and chat go to
//! every member. A device forced out (the event ended) hears of its own exit, and of the end.

use super::{Audience, DeviceKey, Frame, Hub, State, retry_internal};
use crate::error::SignalError;
use crate::protocol;
use opencalls_domain::live_event::LiveEventBody;
use opencalls_domain::{ClientId, HostId, LiveEvent, LiveEventId, Millis, ParticipantId, User};
use opencalls_protocol::{LiveRoleName, LiveSeat as SeatRef};
use opencalls_service::seats::HeldLiveSeat;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// What a device is in a live event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LiveRole {
    Host(HostId),
    Participant(ParticipantId),
}

impl LiveRole {
    pub fn name(&self) -> LiveRoleName {
        match self {
            Self::Host(_) => LiveRoleName::Host,
            Self::Participant(_) => LiveRoleName::Participant,
        }
    }

    /// The seat as `hello.resumed_live` names it.
    pub fn seat(&self) -> SeatRef {
        match self {
            Self::Host(host_id) => SeatRef::Host {
                host_id: host_id.clone(),
            },
            Self::Participant(participant_id) => SeatRef::Participant {
                participant_id: participant_id.clone(),
            },
        }
    }
}

#[derive(Clone)]
pub(crate) struct LiveSeat {
    role: LiveRole,
    /// The device asked to exit; its own exit event needs no forwarding.
    leaving: bool,
}

impl LiveSeat {
    /// A seat the store lists for a device that moved here from another node.
    pub(super) fn held(seat: HeldLiveSeat) -> Self {
        let role = match seat {
            HeldLiveSeat::Host(host_id) => LiveRole::Host(host_id),
            HeldLiveSeat::Participant(participant_id) => LiveRole::Participant(participant_id),
        };
        Self {
            role,
            leaving: false,
        }
    }
}

#[derive(Default)]
pub(super) struct LiveState {
    audiences: HashMap<LiveEventId, HashSet<DeviceKey>>,
    /// Per live event, the devices forced out by its end, so they also get `live.ended`.
    kicked: HashMap<LiveEventId, (Vec<DeviceKey>, Instant)>,
}

impl LiveState {
    pub(super) fn sweep(&mut self, memory: Duration) {
        self.kicked.retain(|_, (_, at)| at.elapsed() < memory);
    }

    fn members(&self, id: &LiveEventId) -> Vec<DeviceKey> {
        self.audiences
            .get(id)
            .map(|m| m.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The device of the live event's present host, if it is connected here. Taken from
    /// the event itself, so a refused second host never stands in for the real one.
    fn host_of(&self, live_event: &LiveEvent) -> Option<DeviceKey> {
        let host = live_event.host.as_ref()?;
        let key = DeviceKey::new(host.user.user_id.clone(), host.client_id.clone());
        let members = self.audiences.get(&live_event.live_event_id)?;
        members.contains(&key).then_some(key)
    }
}

impl State {
    /// Forgets the device's live seats; returns them for the caller to exit.
    pub(super) fn take_live(&mut self, key: &DeviceKey) -> Vec<(LiveEventId, LiveRole)> {
        let Some(device) = self.devices.get_mut(key) else {
            return Vec::new();
        };
        let seats: Vec<_> = device.live.drain().collect();
        device.media.retain(|a| matches!(a, Audience::Room(_)));
        let mut taken = Vec::with_capacity(seats.len());
        for (id, seat) in seats {
            self.forget_member(&id, key);
            taken.push((id, seat.role));
        }
        taken
    }

    /// The device joins the live event's audience.
    pub(super) fn join_audience(&mut self, id: LiveEventId, key: &DeviceKey) {
        self.live
            .audiences
            .entry(id)
            .or_default()
            .insert(key.clone());
    }

    fn forget_member(&mut self, id: &LiveEventId, key: &DeviceKey) {
        if let Some(members) = self.live.audiences.get_mut(id) {
            members.remove(key);
            if members.is_empty() {
                self.live.audiences.remove(id);
            }
        }
    }

    /// Frees the device's seat in the live event if it is still `role`.
    fn remove_live_seat(&mut self, key: &DeviceKey, id: &LiveEventId, role: &LiveRole) {
        let Some(device) = self.devices.get_mut(key) else {
            return;
        };
        if device.live.get(id).is_none_or(|s| s.role != *role) {
            return;
        }
        device.live.remove(id);
        device.media.remove(&Audience::Live(id.clone()));
        if device.conn.is_none() && device.holds_nothing() {
            self.forget(key);
        }
        self.forget_member(id, key);
    }

    /// The owner of an exited host or participant hears of it only if it didn't ask (the
    /// event ended); its seat is freed here.
    fn exited(&mut self, id: &LiveEventId, owner: DeviceKey, role: &LiveRole) -> Option<DeviceKey> {
        let seat = self.devices.get(&owner)?.live.get(id)?;
        if seat.role != *role {
            return None;
        }
        let forced = !seat.leaving;
        self.remove_live_seat(&owner, id, role);
        if !forced {
            return None;
        }
        let entry = self
            .live
            .kicked
            .entry(id.clone())
            .or_insert_with(|| (Vec::new(), Instant::now()));
        entry.0.push(owner.clone());
        Some(owner)
    }

    fn live_targets(&mut self, live_event: &LiveEvent, body: &LiveEventBody) -> Vec<DeviceKey> {
        let id = &live_event.live_event_id;
        let key =
            |user: &User, client: &ClientId| DeviceKey::new(user.user_id.clone(), client.clone());
        match body {
            LiveEventBody::ParticipantEntered { participant } => {
                let owner = key(&participant.user, &participant.client_id);
                self.live
                    .host_of(live_event)
                    .into_iter()
                    .filter(|h| *h != owner)
                    .collect()
            }
            LiveEventBody::ParticipantExited { participant } => {
                let owner = key(&participant.user, &participant.client_id);
                let forced = self.exited(
                    id,
                    owner,
                    &LiveRole::Participant(participant.participant_id.clone()),
                );
                self.live
                    .host_of(live_event)
                    .into_iter()
                    .chain(forced)
                    .collect()
            }
            LiveEventBody::HostEntered { host } => {
                let owner = key(&host.user, &host.client_id);
                let mut targets = self.live.members(id);
                targets.retain(|k| *k != owner);
                targets
            }
            LiveEventBody::HostExited { host } => {
                let owner = key(&host.user, &host.client_id);
                let forced = self.exited(id, owner, &LiveRole::Host(host.host_id.clone()));
                self.live.members(id).into_iter().chain(forced).collect()
            }
            LiveEventBody::Ended => {
                let mut targets = self.live.members(id);
                if let Some((kicked, _)) = self.live.kicked.remove(id) {
                    targets.extend(kicked);
                }
                targets.sort();
                targets.dedup();
                targets
            }
            LiveEventBody::SetReady
            | LiveEventBody::Started
            | LiveEventBody::HostConnected { .. }
            | LiveEventBody::HostDisconnected { .. } => self.live.members(id),
            // Nobody can be in an event being created.
            LiveEventBody::Created => Vec::new(),
        }
    }

    fn send_live(&self, id: &LiveEventId, targets: Vec<DeviceKey>, text: &str) {
        for key in targets {
            let Some(conn) = self.devices.get(&key).and_then(|d| d.conn.as_ref()) else {
                continue;
            };
            conn.send(Frame {
                audience: Audience::Live(id.clone()),
                text: text.to_owned(),
            });
        }
    }
}

impl Hub {
    /// Takes a live seat before entering; refuses a second seat of the device in the live
    /// event, and any seat once the connection was replaced or revoked.
    pub fn live_join(
        &self,
        key: &DeviceKey,
        conn_id: u64,
        id: &LiveEventId,
        role: LiveRole,
    ) -> Result<(), SignalError> {
        let mut state = self.lock();
        let max = self.config.limits.live_seats_per_user;
        let held = state.live_seat_count(&key.user_id);
        let device = match state.devices.get_mut(key) {
            Some(d) if d.conn.as_ref().is_some_and(|c| c.id == conn_id) => d,
            _ => return Err(SignalError::ConnectionEnded),
        };
        if device.live.contains_key(id) {
            return Err(SignalError::AlreadyInLiveEvent);
        }
        if held >= max {
            return Err(SignalError::TooManyLiveSeats { max });
        }
        let seat = LiveSeat {
            role,
            leaving: false,
        };
        device.live.insert(id.clone(), seat);
        state
            .live
            .audiences
            .entry(id.clone())
            .or_default()
            .insert(key.clone());
        Ok(())
    }

    /// Gives a live seat back (enter refused, or exit done).
    pub fn live_leave(&self, key: &DeviceKey, id: &LiveEventId, role: &LiveRole) {
        self.lock().remove_live_seat(key, id, role);
    }

    /// The device's role in the live event, marked as leaving if `leaving`.
    pub fn live_seat(&self, key: &DeviceKey, id: &LiveEventId, leaving: bool) -> Option<LiveRole> {
        let mut state = self.lock();
        let seat = state.devices.get_mut(key)?.live.get_mut(id)?;
        seat.leaving |= leaving;
        Some(seat.role.clone())
    }

    /// The device's live seats (kept from an earlier connection, for `hello`).
    pub fn live_seats(&self, key: &DeviceKey) -> Vec<(LiveEventId, LiveRole)> {
        let state = self.lock();
        state
            .devices
            .get(key)
            .map(|d| {
                d.live
                    .iter()
                    .map(|(id, s)| (id.clone(), s.role.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Routes one committed live-event event to the connections it concerns.
    pub(super) fn route_live(&self, live_event: &LiveEvent, body: &LiveEventBody, at: Millis) {
        let Some(event) = protocol::live_event(live_event, body) else {
            return;
        };
        let id = &live_event.live_event_id;
        let text = protocol::live_frame(id, at, event);
        let mut state = self.lock();
        let targets = state.live_targets(live_event, body);
        state.send_live(id, targets, &text);
    }

    /// Pushes a frame of an event that is not stored (chat, host media; `except` is `None`
    /// for one relayed from another node) to every member of the live event here but
    /// `except`.
    pub fn live_broadcast_frame(&self, id: &LiveEventId, except: Option<&DeviceKey>, text: &str) {
        let state = self.lock();
        let mut targets = state.live.members(id);
        targets.retain(|k| Some(k) != except);
        state.send_live(id, targets, text);
    }

    /// Exits dropped live seats through the services (their events reach the others).
    pub(crate) async fn exit_live_seats(&self, seats: Vec<(LiveEventId, LiveRole)>) {
        let live = &self.services.live_events;
        for (id, role) in seats {
            // Already out (the event ended meanwhile) is fine: the seat is free either way.
            let result = match &role {
                LiveRole::Host(host) => {
                    retry_internal(&self.services.metrics, || live.host_exit(&id, host))
                        .await
                        .map(drop)
                }
                LiveRole::Participant(p) => {
                    retry_internal(&self.services.metrics, || live.participant_exit(&id, p))
                        .await
                        .map(drop)
                }
            };
            if let Err(err) = result {
                tracing::debug!(%id, role = ?role.name(), %err, "exit of a dropped live seat");
            }
        }
    }
}

impl Hub {
    /// Queues a frame (a `media.*` event) for one device, if it still holds a seat in the
    /// live event.
    pub(crate) fn live_push(&self, id: &LiveEventId, key: &DeviceKey, text: String) {
        let state = self.lock();
        if state
            .devices
            .get(key)
            .is_some_and(|d| d.live.contains_key(id))
        {
            state.send_live(id, vec![key.clone()], &text);
        }
    }
}
