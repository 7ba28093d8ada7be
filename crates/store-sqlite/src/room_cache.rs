//! A bounded cache of rooms read by id (`GET /v1/rooms/{id}`), kept exact by the writer.
//!
//! Invariant: a cached room never outlives a committed write that could change it past the
//! moment that write is acknowledged. Every write runs on the one writer thread, and after
//! its group commits (before its caller hears back) it invalidates: a room write drops that
//! room, any other write (users, anything a room's JSON might embed) drops everything. A
//! reader takes a [`Ticket`] before it reads the database and may store what it read only
//! if no invalidation happened since, so a read that raced a write can't put back what the
//! write replaced.

use opencalls_domain::{Room, RoomId};
use std::collections::HashMap;
use std::sync::Mutex;

/// Size bound, in rooms plus their current participants (~1 KB each in memory, so about
/// 32 MB at most); when full the cache starts over (simple, and bounded).
const CAPACITY: usize = 32 * 1024;

#[derive(Default)]
pub(crate) struct RoomCache {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Bumped by every invalidation.
    version: u64,
    rooms: HashMap<RoomId, Room>,
    /// Rooms plus participants held (an upper bound: replaced rooms are not subtracted).
    weight: usize,
}

fn weight(room: &Room) -> usize {
    1 + room.current_participants.len()
}

/// The cache's version before a database read.
#[derive(Clone, Copy)]
pub(crate) struct Ticket(u64);

impl RoomCache {
    pub(crate) fn get(&self, id: &RoomId) -> Option<Room> {
        self.state.lock().ok()?.rooms.get(id).cloned()
    }

    pub(crate) fn ticket(&self) -> Option<Ticket> {
        Some(Ticket(self.state.lock().ok()?.version))
    }

    /// Keeps `room` if nothing was invalidated since `ticket` was taken.
    pub(crate) fn put(&self, ticket: Ticket, room: &Room) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        if state.version != ticket.0 {
            return;
        }
        if state.weight + weight(room) > CAPACITY {
            state.rooms.clear();
            state.weight = 0;
        }
        state.weight += weight(room);
        state.rooms.insert(room.room_id.clone(), room.clone());
    }

    /// After a committed write of one room (or its participants).
    pub(crate) fn room_written(&self, id: &RoomId) {
        self.invalidate(|state| {
            state.rooms.remove(id);
        });
    }

    /// After any other committed write.
    pub(crate) fn all_written(&self) {
        self.invalidate(|state| {
            state.rooms.clear();
            state.weight = 0;
        });
    }

    fn invalidate(&self, drop_rooms: impl FnOnce(&mut State)) {
        // A poisoned lock means a panic while holding it; start over rather than trust it.
        let mut state = self.state.lock().unwrap_or_else(|poisoned| {
            let mut state = poisoned.into_inner();
            state.rooms.clear();
            state.weight = 0;
            state
        });
        state.version += 1;
        drop_rooms(&mut state);
    }
}
