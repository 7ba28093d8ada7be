//! `RoomStore` on PostgreSQL: rooms, their participants and the outbox rows of their events.

use crate::PostgresStore;
use crate::error::Error;
use crate::room_listing::list_rooms;
use crate::rows::{
    USER_COLUMNS, append_events, ensure_user, has_newer, into_page, page_clause, user_from_row,
};
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use opencalls_domain::room::RoomChange;
use opencalls_domain::{
    ClientId, CustomItems, Participant, ParticipantId, ParticipantState, Room, RoomId, RoomState,
    RoomType,
};
use opencalls_store::{Page, PageRequest, RoomQuery, RoomStore, RoomTransition, StoreError};
use std::collections::HashMap;
use tokio_postgres::Row;

/// How many columns `ROOM_COLUMNS` selects (what follows them starts at this index).
pub(crate) const ROOM_COLUMN_COUNT: usize = 11;
pub(crate) const ROOM_COLUMNS: &str = "seq, room_id, room_type, state, created_at, updated_at, created_by, \
     deleted_by, custom_items, custom_items_affected_at, participant_count";
pub(crate) const PARTICIPANT_COLUMNS: &str = "p.room_seq, p.seq, p.participant_id, p.client_id, p.state, p.entered_at, \
     p.updated_at, p.exited_at, p.duration, p.connected_at, p.is_audio_on, p.is_video_on";

#[async_trait]
impl RoomStore for PostgresStore {
    async fn insert_room(&self, change: RoomChange) -> Result<(), StoreError> {
        // Batched with concurrent creates into one transaction (see create_batch.rs).
        Ok(self.creates.insert(change).await?)
    }

    async fn update_room(
        &self,
        room_id: &RoomId,
        transition: RoomTransition,
    ) -> Result<RoomChange, StoreError> {
        Ok(update_room(self, room_id, transition).await?)
    }

    async fn room(&self, room_id: &RoomId) -> Result<Option<Room>, StoreError> {
        let conn = self.conn().await?;
        Ok(load_room(&conn, room_id, false)
            .await?
            .map(|(_, room)| room))
    }

    async fn list_rooms(&self, query: RoomQuery) -> Result<Page<Room>, StoreError> {
        let conn = self.conn().await?;
        Ok(list_rooms(&conn, &query).await?)
    }

    async fn list_participants(
        &self,
        room_id: &RoomId,
        page: PageRequest,
    ) -> Result<Page<Participant>, StoreError> {
        Ok(list_participants(self, room_id, page).await?)
    }

    async fn rooms_with_active_participants(&self) -> Result<Vec<RoomId>, StoreError> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT DISTINCT r.room_id FROM room_participants p JOIN rooms r ON r.seq = p.room_seq
                 WHERE p.state <> 'exited'",
                &[],
            )
            .await
            .map_err(Error::from)?;
        Ok(rows
            .iter()
            .map(|r| RoomId::from_trusted(r.get(0)))
            .collect())
    }
}

async fn update_room(
    store: &PostgresStore,
    room_id: &RoomId,
    transition: RoomTransition,
) -> Result<RoomChange, Error> {
    let mut conn = store.conn().await?;
    let tx = conn.transaction().await?;
    // The row lock serializes every change of this room, on every node, until commit.
    let (seq, room) = load_room(&tx, room_id, true)
        .await?
        .ok_or(StoreError::NotFound)?;
    let change = transition(&room)?;
    save_change(&tx, seq, &change).await?;
    tx.commit().await?;
    Ok(change)
}

async fn list_participants(
    store: &PostgresStore,
    room_id: &RoomId,
    page: PageRequest,
) -> Result<Page<Participant>, Error> {
    let conn = store.conn().await?;
    let row = conn
        .query_opt(
            "SELECT seq FROM rooms WHERE room_id = $1",
            &[&room_id.as_str()],
        )
        .await?;
    let seq: i64 = row.ok_or(StoreError::NotFound)?.get(0);
    let (cond, order, limit) = page_clause(&page, "p.seq");
    let sql = format!(
        "SELECT {PARTICIPANT_COLUMNS}, {USER_COLUMNS} FROM room_participants p
         JOIN users u ON u.user_id = p.user_id WHERE p.room_seq = $1{cond} ORDER BY p.seq {order} LIMIT {limit}"
    );
    let stmt = conn.prepare_cached(&sql).await?;
    let rows = conn
        .query(&stmt, &[&seq])
        .await?
        .iter()
        .map(|row| Ok((row.try_get(1)?, participant_from_row(row, room_id)?)))
        .collect::<Result<Vec<_>, Error>>()?;
    let newer = has_newer(
        &conn,
        &page,
        &rows,
        "SELECT EXISTS (SELECT 1 FROM room_participants WHERE room_seq = $1 AND seq > {first})",
        &[&seq],
    )
    .await?;
    Ok(into_page(&page, rows, newer))
}

/// The room with its current participants and its `seq`; `lock` takes its row lock.
async fn load_room(
    client: &impl GenericClient,
    room_id: &RoomId,
    lock: bool,
) -> Result<Option<(i64, Room)>, Error> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE room_id = $1{lock}");
    let stmt = client.prepare_cached(&sql).await?;
    let Some(row) = client.query_opt(&stmt, &[&room_id.as_str()]).await? else {
        return Ok(None);
    };
    let (seq, mut room, occupied) = room_from_row(&row)?;
    if occupied {
        let mut current = current_participants(client, &[(seq, room.room_id.clone())]).await?;
        room.current_participants = current.remove(&seq).unwrap_or_default();
    }
    Ok(Some((seq, room)))
}

/// Active participants of the given rooms (by `seq`), oldest first.
pub(crate) async fn current_participants(
    client: &impl GenericClient,
    rooms: &[(i64, RoomId)],
) -> Result<HashMap<i64, Vec<Participant>>, Error> {
    let mut result: HashMap<i64, Vec<Participant>> = HashMap::new();
    if rooms.is_empty() {
        return Ok(result);
    }
    let ids: HashMap<i64, &RoomId> = rooms.iter().map(|(seq, id)| (*seq, id)).collect();
    let seqs: Vec<i64> = rooms.iter().map(|(seq, _)| *seq).collect();
    let sql = format!(
        "SELECT {PARTICIPANT_COLUMNS}, {USER_COLUMNS} FROM room_participants p JOIN users u ON u.user_id = p.user_id
         WHERE p.room_seq = ANY($1) AND p.state <> 'exited' ORDER BY p.seq"
    );
    let stmt = client.prepare_cached(&sql).await?;
    for row in client.query(&stmt, &[&seqs]).await? {
        let room_seq: i64 = row.try_get(0)?;
        let Some(room_id) = ids.get(&room_seq) else {
            continue;
        };
        result
            .entry(room_seq)
            .or_default()
            .push(participant_from_row(&row, room_id)?);
    }
    Ok(result)
}

async fn save_change(tx: &impl GenericClient, seq: i64, change: &RoomChange) -> Result<(), Error> {
    let room = &change.room;
    let stmt = tx
        .prepare_cached(
            "UPDATE rooms SET state = $2, updated_at = $3, deleted_by = $4, participant_count = $5,
                 custom_items = $6, custom_items_affected_at = $7 WHERE seq = $1",
        )
        .await?;
    tx.execute(
        &stmt,
        &[
            &seq,
            &room.state.as_str(),
            &room.updated_at,
            &room.deleted_by,
            &(room.current_participants.len() as i64),
            &serde_json::to_string(&room.custom_items)?,
            &room.custom_items_affected_at,
        ],
    )
    .await?;
    for participant in &change.touched {
        save_participant(tx, seq, participant).await?;
    }
    append_events(tx, &change.events).await
}

async fn save_participant(
    tx: &impl GenericClient,
    room_seq: i64,
    p: &Participant,
) -> Result<(), Error> {
    ensure_user(tx, &p.user).await?;
    let stmt = tx
        .prepare_cached(
            "INSERT INTO room_participants (participant_id, room_seq, client_id, user_id, state, entered_at,
                 updated_at, exited_at, duration, connected_at, is_audio_on, is_video_on)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (participant_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at,
                 exited_at = excluded.exited_at, duration = excluded.duration,
                 connected_at = excluded.connected_at, is_audio_on = excluded.is_audio_on,
                 is_video_on = excluded.is_video_on",
        )
        .await?;
    tx.execute(
        &stmt,
        &[
            &p.participant_id.as_str(),
            &room_seq,
            &p.client_id.as_str(),
            &p.user.user_id.as_str(),
            &p.state.as_str(),
            &p.entered_at,
            &p.updated_at,
            &p.exited_at,
            &p.duration,
            &p.connected_at,
            &p.is_audio_on,
            &p.is_video_on,
        ],
    )
    .await?;
    Ok(())
}

/// Reads a room selected with `ROOM_COLUMNS`: its `seq`, the room without participants, and
/// whether it has any (`participant_count` is kept equal to the active participants in the
/// transaction that changes them, so rooms without any skip the participants query).
pub(crate) fn room_from_row(row: &Row) -> Result<(i64, Room, bool), Error> {
    let room_type: String = row.try_get(2)?;
    let state: String = row.try_get(3)?;
    let custom_items: String = row.try_get(8)?;
    let room = Room {
        room_id: RoomId::from_trusted(row.try_get(1)?),
        room_type: RoomType::parse(&room_type).ok_or(Error::Corrupt("room_type"))?,
        created_at: row.try_get(4)?,
        updated_at: row.try_get(5)?,
        state: RoomState::parse(&state).ok_or(Error::Corrupt("room state"))?,
        created_by: row.try_get(6)?,
        deleted_by: row.try_get(7)?,
        current_participants: Vec::new(),
        custom_items: CustomItems::from_trusted(serde_json::from_str(&custom_items)?),
        custom_items_affected_at: row.try_get(9)?,
    };
    let participant_count: i64 = row.try_get(10)?;
    Ok((row.try_get(0)?, room, participant_count > 0))
}

/// Reads a participant selected with `PARTICIPANT_COLUMNS, USER_COLUMNS`.
fn participant_from_row(row: &Row, room_id: &RoomId) -> Result<Participant, Error> {
    participant_at(row, 0, room_id)
}

/// Reads a participant selected with `PARTICIPANT_COLUMNS, USER_COLUMNS` from column `at` on.
pub(crate) fn participant_at(row: &Row, at: usize, room_id: &RoomId) -> Result<Participant, Error> {
    let state: String = row.try_get(at + 4)?;
    Ok(Participant {
        room_id: room_id.clone(),
        participant_id: ParticipantId::from_trusted(row.try_get(at + 2)?),
        client_id: ClientId::from_trusted(row.try_get(at + 3)?),
        state: ParticipantState::parse(&state).ok_or(Error::Corrupt("participant state"))?,
        entered_at: row.try_get(at + 5)?,
        updated_at: row.try_get(at + 6)?,
        exited_at: row.try_get(at + 7)?,
        duration: row.try_get(at + 8)?,
        connected_at: row.try_get(at + 9)?,
        is_audio_on: row.try_get(at + 10)?,
        is_video_on: row.try_get(at + 11)?,
        user: user_from_row(row, at + 12)?,
    })
}
