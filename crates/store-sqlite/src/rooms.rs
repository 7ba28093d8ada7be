//! `RoomStore` on SQLite: rooms, their participants and the outbox rows of their events.

use super::room_listing::list_rooms;
use super::rows::{
    USER_COLUMNS, append_events, corrupt, ensure_user, into_page, page_clause, user_from_row,
};
use crate::SqliteStore;
use crate::error::Error;
use async_trait::async_trait;
use opencalls_domain::room::RoomChange;
use opencalls_domain::{
    ClientId, CustomItems, Participant, ParticipantId, ParticipantState, Room, RoomId, RoomState,
    RoomType,
};
use opencalls_store::{Page, PageRequest, RoomQuery, RoomStore, RoomTransition, StoreError};
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};
use std::collections::HashMap;

pub(super) const ROOM_COLUMNS: &str = "seq, room_id, room_type, state, created_at, updated_at, created_by, deleted_by, \
                            custom_items, custom_items_affected_at, participant_count";
const PARTICIPANT_COLUMNS: &str = "p.room_seq, p.seq, p.participant_id, p.client_id, p.state, p.entered_at, \
     p.updated_at, p.exited_at, p.duration, p.connected_at, p.is_audio_on, p.is_video_on";

#[async_trait]
impl RoomStore for SqliteStore {
    async fn insert_room(&self, change: RoomChange) -> Result<(), StoreError> {
        let id = change.room.room_id.clone();
        self.write_room(id, move |conn| {
            let room = &change.room;
            conn.prepare_cached(
                "INSERT INTO rooms (room_id, room_type, state, created_at, updated_at, created_by, deleted_by,
                     participant_count, custom_items, custom_items_affected_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, ?9)",
            )?
            .execute(params![
                room.room_id.as_str(),
                room.room_type.as_str(),
                room.state.as_str(),
                room.created_at,
                room.updated_at,
                room.created_by,
                room.deleted_by,
                serde_json::to_string(&room.custom_items)?,
                room.custom_items_affected_at,
            ])?;
            append_events(conn, &change.events)
        })
        .await
    }

    async fn update_room(
        &self,
        room_id: &RoomId,
        transition: RoomTransition,
    ) -> Result<RoomChange, StoreError> {
        let room_id = room_id.clone();
        self.write_room(room_id.clone(), move |conn| {
            let (seq, room) = load_room(conn, &room_id)?.ok_or(StoreError::NotFound)?;
            let change = transition(&room)?;
            save_change(conn, seq, &change)?;
            Ok(change)
        })
        .await
    }

    async fn room(&self, room_id: &RoomId) -> Result<Option<Room>, StoreError> {
        if let Some(room) = self.room_cache().get(room_id) {
            return Ok(Some(room));
        }
        // Taken before the read: a write committed meanwhile makes `put` refuse.
        let ticket = self.room_cache().ticket();
        let id = room_id.clone();
        let found = self
            .read_point(move |conn| Ok(load_room(conn, &id)?.map(|(_, room)| room)))
            .await?;
        if let (Some(ticket), Some(room)) = (ticket, &found) {
            self.room_cache().put(ticket, room);
        }
        Ok(found)
    }

    async fn list_rooms(&self, query: RoomQuery) -> Result<Page<Room>, StoreError> {
        self.read(move |conn| list_rooms(conn, &query)).await
    }

    async fn list_participants(
        &self,
        room_id: &RoomId,
        page: PageRequest,
    ) -> Result<Page<Participant>, StoreError> {
        let room_id = room_id.clone();
        self.read(move |conn| {
            let (seq, _, _) = load_room_row(conn, &room_id)?.ok_or(StoreError::NotFound)?;
            let (cond, order, limit) = page_clause(&page, "p.seq");
            let sql = format!(
                "SELECT {PARTICIPANT_COLUMNS}, {USER_COLUMNS} FROM room_participants p
                 JOIN users u ON u.user_id = p.user_id WHERE p.room_seq = ?1{cond} ORDER BY p.seq {order} LIMIT ?2"
            );
            let rows = conn
                .prepare_cached(&sql)?
                .query_map(params![seq, limit], |row| Ok((row.get(1)?, participant_from_row(row, &room_id)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            into_page(&page, rows, |first| {
                let newer = "SELECT EXISTS (SELECT 1 FROM room_participants WHERE room_seq = ?1 AND seq > ?2)";
                Ok(conn.prepare_cached(newer)?.query_row(params![seq, first], |r| r.get(0))?)
            })
        })
        .await
    }

    async fn rooms_with_active_participants(&self) -> Result<Vec<RoomId>, StoreError> {
        self.read(|conn| {
            let ids = conn
                .prepare_cached(
                    "SELECT DISTINCT r.room_id FROM room_participants p JOIN rooms r ON r.seq = p.room_seq
                     WHERE p.state <> 'exited'",
                )?
                .query_map([], |row| row.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(ids.into_iter().map(RoomId::from_trusted).collect())
        })
        .await
    }
}

/// The room row (without participants) with its `seq` and whether anyone is in it.
fn load_room_row(conn: &Connection, room_id: &RoomId) -> Result<Option<(i64, Room, bool)>, Error> {
    let sql = format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE room_id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([room_id.as_str()], room_from_row)
        .optional()?)
}

fn load_room(conn: &Connection, room_id: &RoomId) -> Result<Option<(i64, Room)>, Error> {
    let Some((seq, mut room, occupied)) = load_room_row(conn, room_id)? else {
        return Ok(None);
    };
    if occupied {
        let mut current = current_participants(conn, &[(seq, room.room_id.clone())])?;
        room.current_participants = current.remove(&seq).unwrap_or_default();
    }
    Ok(Some((seq, room)))
}

/// Active participants of the given rooms (by `seq`), oldest first.
pub(super) fn current_participants(
    conn: &Connection,
    rooms: &[(i64, RoomId)],
) -> Result<HashMap<i64, Vec<Participant>>, Error> {
    let mut result: HashMap<i64, Vec<Participant>> = HashMap::new();
    if rooms.is_empty() {
        return Ok(result);
    }
    let ids: HashMap<i64, &RoomId> = rooms.iter().map(|(seq, id)| (*seq, id)).collect();
    let marks = vec!["?"; rooms.len()].join(",");
    let sql = format!(
        "SELECT {PARTICIPANT_COLUMNS}, {USER_COLUMNS} FROM room_participants p JOIN users u ON u.user_id = p.user_id
         WHERE p.room_seq IN ({marks}) AND p.state <> 'exited' ORDER BY p.seq"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(rooms.iter().map(|(seq, _)| *seq)))?;
    while let Some(row) = rows.next()? {
        let room_seq: i64 = row.get(0)?;
        let Some(room_id) = ids.get(&room_seq) else {
            continue;
        };
        result
            .entry(room_seq)
            .or_default()
            .push(participant_from_row(row, room_id)?);
    }
    Ok(result)
}

fn save_change(conn: &Connection, seq: i64, change: &RoomChange) -> Result<(), Error> {
    let room = &change.room;
    conn.prepare_cached(
        "UPDATE rooms SET state = ?2, updated_at = ?3, deleted_by = ?4, participant_count = ?5,
             custom_items = ?6, custom_items_affected_at = ?7 WHERE seq = ?1",
    )?
    .execute(params![
        seq,
        room.state.as_str(),
        room.updated_at,
        room.deleted_by,
        room.current_participants.len() as i64,
        serde_json::to_string(&room.custom_items)?,
        room.custom_items_affected_at,
    ])?;
    for participant in &change.touched {
        save_participant(conn, seq, participant)?;
    }
    append_events(conn, &change.events)
}

fn save_participant(conn: &Connection, room_seq: i64, p: &Participant) -> Result<(), Error> {
    ensure_user(conn, &p.user)?;
    conn.prepare_cached(
        "INSERT INTO room_participants (participant_id, room_seq, client_id, user_id, state, entered_at, updated_at,
             exited_at, duration, connected_at, is_audio_on, is_video_on)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (participant_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at,
             exited_at = excluded.exited_at, duration = excluded.duration, connected_at = excluded.connected_at,
             is_audio_on = excluded.is_audio_on, is_video_on = excluded.is_video_on",
    )?
    .execute(params![
        p.participant_id.as_str(),
        room_seq,
        p.client_id.as_str(),
        p.user.user_id.as_str(),
        p.state.as_str(),
        p.entered_at,
        p.updated_at,
        p.exited_at,
        p.duration,
        p.connected_at,
        p.is_audio_on,
        p.is_video_on,
    ])?;
    Ok(())
}

/// Reads a room selected with `ROOM_COLUMNS`: its `seq`, the room without participants, and
/// whether it has any (`participant_count` is kept equal to the active participants in the
/// transaction that changes them, so rooms without any skip the participants query).
pub(super) fn room_from_row(row: &Row<'_>) -> rusqlite::Result<(i64, Room, bool)> {
    let room_type: String = row.get(2)?;
    let state: String = row.get(3)?;
    let custom_items: String = row.get(8)?;
    let room = Room {
        room_id: RoomId::from_trusted(row.get(1)?),
        room_type: RoomType::parse(&room_type).ok_or_else(|| corrupt(2, "room_type"))?,
        created_at: row.get(4)?,
        updated_at: row.get(5)?,
        state: RoomState::parse(&state).ok_or_else(|| corrupt(3, "state"))?,
        created_by: row.get(6)?,
        deleted_by: row.get(7)?,
        current_participants: Vec::new(),
        custom_items: CustomItems::from_trusted(
            serde_json::from_str(&custom_items).map_err(|_| corrupt(8, "custom_items"))?,
        ),
        custom_items_affected_at: row.get(9)?,
    };
    let participant_count: i64 = row.get(10)?;
    Ok((row.get(0)?, room, participant_count > 0))
}

/// Reads a participant selected with `PARTICIPANT_COLUMNS, USER_COLUMNS`.
fn participant_from_row(row: &Row<'_>, room_id: &RoomId) -> rusqlite::Result<Participant> {
    let state: String = row.get(4)?;
    Ok(Participant {
        room_id: room_id.clone(),
        participant_id: ParticipantId::from_trusted(row.get(2)?),
        client_id: ClientId::from_trusted(row.get(3)?),
        state: ParticipantState::parse(&state).ok_or_else(|| corrupt(4, "state"))?,
        entered_at: row.get(5)?,
        updated_at: row.get(6)?,
        exited_at: row.get(7)?,
        duration: row.get(8)?,
        connected_at: row.get(9)?,
        is_audio_on: row.get(10)?,
        is_video_on: row.get(11)?,
        user: user_from_row(row, 12)?,
    })
}
