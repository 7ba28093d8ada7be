//! `LiveEventStore` on SQLite: live events, their host and participant records and the
//! outbox rows of their events. The counters live in `live_events` columns (kept by the
//! domain), so filters and listings never count participant rows.

mod columns;

use super::rows::{USER_COLUMNS, append_events, ensure_user, into_page, page_clause};
use crate::SqliteStore;
use crate::error::Error;
use async_trait::async_trait;
use columns::{
    EVENT_SELECT, HOST_COLUMNS, PARTICIPANT_COLUMNS, event_filter, event_from_row, host_from_row,
    participant_from_row,
};
use opencalls_domain::live_event::LiveEventChange;
use opencalls_domain::{Host, LiveEvent, LiveEventId, LiveEventParticipant};
use opencalls_store::{
    LiveEventQuery, LiveEventStore, LiveEventTransition, Page, PageRequest, ParticipantScope,
    StoreError,
};
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

#[async_trait]
impl LiveEventStore for SqliteStore {
    async fn insert_live_event(&self, change: LiveEventChange) -> Result<(), StoreError> {
        self.write_outside_rooms(move |conn| {
            let e = &change.live_event;
            conn.prepare_cached(
                "INSERT INTO live_events (live_event_id, host_type, state, created_at, set_ready_at, started_at,
                     ended_at, is_host_streaming, current_host_id, created_by, set_ready_by, started_by, ended_by,
                     duration, participant_count, peak_participant_count, cumulative_participant_count,
                     user_ids_for_host, custom_items)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
            )?
            .execute(params![
                e.live_event_id.as_str(),
                e.host_type.as_str(),
                e.state.as_str(),
                e.created_at,
                e.set_ready_at,
                e.started_at,
                e.ended_at,
                e.is_host_streaming,
                e.created_by,
                e.set_ready_by,
                e.started_by,
                e.ended_by,
                e.duration,
                e.participant_count,
                e.peak_participant_count,
                e.cumulative_participant_count,
                serde_json::to_string(&e.user_ids_for_host)?,
                serde_json::to_string(&e.custom_items)?,
            ])?;
            let seq = conn.last_insert_rowid();
            save_records(conn, seq, &change)?;
            append_events(conn, &change.events)
        })
        .await
    }

    async fn update_live_event(
        &self,
        id: &LiveEventId,
        scope: ParticipantScope,
        transition: LiveEventTransition,
    ) -> Result<LiveEventChange, StoreError> {
        let id = id.clone();
        self.write_outside_rooms(move |conn| {
            let (seq, event) = load_event(conn, &id)?.ok_or(StoreError::NotFound)?;
            let participants = load_scope(conn, seq, &id, &scope)?;
            let change = transition(&event, &participants)?;
            save_change(conn, seq, &change)?;
            Ok(change)
        })
        .await
    }

    async fn live_event(&self, id: &LiveEventId) -> Result<Option<LiveEvent>, StoreError> {
        let id = id.clone();
        self.read(move |conn| Ok(load_event(conn, &id)?.map(|(_, e)| e)))
            .await
    }

    async fn live_event_host(&self, id: &LiveEventId) -> Result<Option<Host>, StoreError> {
        let id = id.clone();
        self.read(move |conn| {
            let (seq, _) = load_event(conn, &id)?.ok_or(StoreError::NotFound)?;
            // The present host if any (at most one is not exited), else the latest one.
            let sql = format!(
                "SELECT {HOST_COLUMNS}, {USER_COLUMNS} FROM live_event_hosts h JOIN users u ON u.user_id = h.user_id
                 WHERE h.live_event_seq = ?1 ORDER BY (h.state <> 'exited') DESC, h.seq DESC LIMIT 1"
            );
            Ok(conn
                .prepare_cached(&sql)?
                .query_row([seq], |row| host_from_row(row, 0, &id))
                .optional()?)
        })
        .await
    }

    async fn list_live_events(&self, query: LiveEventQuery) -> Result<Page<LiveEvent>, StoreError> {
        self.read(move |conn| list_events(conn, &query)).await
    }

    async fn list_live_event_participants(
        &self,
        id: &LiveEventId,
        page: PageRequest,
    ) -> Result<Page<LiveEventParticipant>, StoreError> {
        let id = id.clone();
        self.read(move |conn| {
            let (seq, _) = load_event(conn, &id)?.ok_or(StoreError::NotFound)?;
            let (cond, order, limit) = page_clause(&page, "p.seq");
            let sql = format!(
                "SELECT {PARTICIPANT_COLUMNS}, {USER_COLUMNS} FROM live_event_participants p
                 JOIN users u ON u.user_id = p.user_id
                 WHERE p.live_event_seq = ?1{cond} ORDER BY p.seq {order} LIMIT ?2"
            );
            let rows = conn
                .prepare_cached(&sql)?
                .query_map(params![seq, limit], |row| {
                    Ok((row.get(0)?, participant_from_row(row, &id)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            into_page(&page, rows, |first| {
                let newer = "SELECT EXISTS (SELECT 1 FROM live_event_participants
                             WHERE live_event_seq = ?1 AND seq > ?2)";
                Ok(conn
                    .prepare_cached(newer)?
                    .query_row(params![seq, first], |r| r.get(0))?)
            })
        })
        .await
    }

    async fn live_events_with_presence(&self) -> Result<Vec<LiveEventId>, StoreError> {
        self.read(|conn| {
            let ids = conn
                .prepare_cached(
                    "SELECT live_event_id FROM live_events
                     WHERE state <> 'ended' AND (participant_count > 0 OR current_host_id IS NOT NULL)",
                )?
                .query_map([], |row| row.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(ids.into_iter().map(LiveEventId::from_trusted).collect())
        })
        .await
    }
}

fn load_event(conn: &Connection, id: &LiveEventId) -> Result<Option<(i64, LiveEvent)>, Error> {
    let sql = format!("{} WHERE e.live_event_id = ?1", *EVENT_SELECT);
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id.as_str()], event_from_row)
        .optional()?)
}

/// The participant records a transition asked for.
fn load_scope(
    conn: &Connection,
    seq: i64,
    id: &LiveEventId,
    scope: &ParticipantScope,
) -> Result<Vec<LiveEventParticipant>, Error> {
    let base = format!(
        "SELECT {PARTICIPANT_COLUMNS}, {USER_COLUMNS} FROM live_event_participants p
         JOIN users u ON u.user_id = p.user_id WHERE p.live_event_seq = ?1"
    );
    let read = |row: &rusqlite::Row<'_>| participant_from_row(row, id);
    let rows = match scope {
        ParticipantScope::Nobody => return Ok(Vec::new()),
        ParticipantScope::One(participant) => conn
            .prepare_cached(&format!("{base} AND p.participant_id = ?2"))?
            .query_map(params![seq, participant.as_str()], read)?
            .collect::<Result<Vec<_>, _>>()?,
        ParticipantScope::Active => conn
            .prepare_cached(&format!("{base} AND p.state <> 'exited' ORDER BY p.seq"))?
            .query_map([seq], read)?
            .collect::<Result<Vec<_>, _>>()?,
    };
    Ok(rows)
}

fn save_change(conn: &Connection, seq: i64, change: &LiveEventChange) -> Result<(), Error> {
    let e = &change.live_event;
    conn.prepare_cached(
        "UPDATE live_events SET state = ?2, set_ready_at = ?3, started_at = ?4, ended_at = ?5,
             is_host_streaming = ?6, set_ready_by = ?7, started_by = ?8, ended_by = ?9, duration = ?10,
             participant_count = ?11, peak_participant_count = ?12, cumulative_participant_count = ?13,
             custom_items = ?14
         WHERE seq = ?1",
    )?
    .execute(params![
        seq,
        e.state.as_str(),
        e.set_ready_at,
        e.started_at,
        e.ended_at,
        e.is_host_streaming,
        e.set_ready_by,
        e.started_by,
        e.ended_by,
        e.duration,
        e.participant_count,
        e.peak_participant_count,
        e.cumulative_participant_count,
        serde_json::to_string(&e.custom_items)?,
    ])?;
    save_records(conn, seq, change)?;
    append_events(conn, &change.events)
}

/// Upserts the touched host and participant records, then points the live event at its
/// present host (after the host rows exist, so the pointer never dangles).
fn save_records(conn: &Connection, seq: i64, change: &LiveEventChange) -> Result<(), Error> {
    // Every transition that changes a host lists it in `hosts`, the present one included.
    for host in &change.hosts {
        save_host(conn, seq, host)?;
    }
    for participant in &change.participants {
        save_participant(conn, seq, participant)?;
    }
    let current = change.live_event.host.as_ref().map(|h| h.host_id.as_str());
    conn.prepare_cached("UPDATE live_events SET current_host_id = ?2 WHERE seq = ?1")?
        .execute(params![seq, current])?;
    Ok(())
}

fn save_host(conn: &Connection, seq: i64, h: &Host) -> Result<(), Error> {
    ensure_user(conn, &h.user)?;
    conn.prepare_cached(
        "INSERT INTO live_event_hosts (host_id, live_event_seq, client_id, user_id, state, duration, entered_at,
             connected_at, disconnected_at, exited_at, is_audio_on, is_video_on)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (host_id) DO UPDATE SET state = excluded.state, duration = excluded.duration,
             connected_at = excluded.connected_at, disconnected_at = excluded.disconnected_at,
             exited_at = excluded.exited_at, is_audio_on = excluded.is_audio_on,
             is_video_on = excluded.is_video_on",
    )?
    .execute(params![
        h.host_id.as_str(),
        seq,
        h.client_id.as_str(),
        h.user.user_id.as_str(),
        h.state.as_str(),
        h.duration,
        h.entered_at,
        h.connected_at,
        h.disconnected_at,
        h.exited_at,
        h.is_audio_on,
        h.is_video_on,
    ])?;
    Ok(())
}

fn save_participant(conn: &Connection, seq: i64, p: &LiveEventParticipant) -> Result<(), Error> {
    ensure_user(conn, &p.user)?;
    conn.prepare_cached(
        "INSERT INTO live_event_participants (participant_id, live_event_seq, client_id, user_id, state, duration,
             entered_at, exited_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (participant_id) DO UPDATE SET state = excluded.state, duration = excluded.duration,
             exited_at = excluded.exited_at",
    )?
    .execute(params![
        p.participant_id.as_str(),
        seq,
        p.client_id.as_str(),
        p.user.user_id.as_str(),
        p.state.as_str(),
        p.duration,
        p.entered_at,
        p.exited_at,
    ])?;
    Ok(())
}

fn list_events(conn: &Connection, query: &LiveEventQuery) -> Result<Page<LiveEvent>, Error> {
    let (filter, args) = event_filter(query);
    let (cond, order, limit) = page_clause(&query.page, "e.seq");
    let sql = format!(
        "{} WHERE {filter}{cond} ORDER BY e.seq {order} LIMIT {limit}",
        *EVENT_SELECT
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args.iter()), event_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    into_page(&query.page, rows, |first| {
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM live_events e WHERE {filter} AND e.seq > {first})"
        );
        Ok(conn
            .prepare_cached(&sql)?
            .query_row(params_from_iter(args.iter()), |r| r.get(0))?)
    })
}
