//! `LiveEventStore` on PostgreSQL: live events, their host and participant records and the
//! outbox rows of their events. The counters live in `live_events` columns (kept by the
//! domain), so filters and listings never count participant rows.

mod columns;

use crate::PostgresStore;
use crate::error::Error;
use crate::rows::{
    USER_COLUMNS, append_events, ensure_user, has_newer, into_page, page_clause, refs,
};
use async_trait::async_trait;
use columns::{
    EVENT_SELECT, HOST_COLUMNS, PARTICIPANT_COLUMNS, event_filter, event_from_row, host_from_row,
    participant_from_row,
};
use deadpool_postgres::GenericClient;
use opencalls_domain::live_event::LiveEventChange;
use opencalls_domain::{Host, LiveEvent, LiveEventId, LiveEventParticipant};
use opencalls_store::{
    LiveEventQuery, LiveEventStore, LiveEventTransition, Page, PageRequest, ParticipantScope,
    StoreError,
};

#[async_trait]
impl LiveEventStore for PostgresStore {
    async fn insert_live_event(&self, change: LiveEventChange) -> Result<(), StoreError> {
        Ok(insert(self, &change).await?)
    }

    async fn update_live_event(
        &self,
        id: &LiveEventId,
        scope: ParticipantScope,
        transition: LiveEventTransition,
    ) -> Result<LiveEventChange, StoreError> {
        Ok(update(self, id, &scope, transition).await?)
    }

    async fn live_event(&self, id: &LiveEventId) -> Result<Option<LiveEvent>, StoreError> {
        let conn = self.conn().await?;
        Ok(load_event(&conn, id).await?.map(|(_, e)| e))
    }

    async fn live_event_host(&self, id: &LiveEventId) -> Result<Option<Host>, StoreError> {
        Ok(load_host(self, id).await?)
    }

    async fn list_live_events(&self, query: LiveEventQuery) -> Result<Page<LiveEvent>, StoreError> {
        Ok(list_events(self, &query).await?)
    }

    async fn list_live_event_participants(
        &self,
        id: &LiveEventId,
        page: PageRequest,
    ) -> Result<Page<LiveEventParticipant>, StoreError> {
        Ok(list_participants(self, id, page).await?)
    }

    async fn live_events_with_presence(&self) -> Result<Vec<LiveEventId>, StoreError> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT live_event_id FROM live_events
                 WHERE state <> 'ended' AND (participant_count > 0 OR current_host_id IS NOT NULL)",
                &[],
            )
            .await
            .map_err(Error::from)?;
        Ok(rows
            .iter()
            .map(|r| LiveEventId::from_trusted(r.get(0)))
            .collect())
    }
}

async fn insert(store: &PostgresStore, change: &LiveEventChange) -> Result<(), Error> {
    let mut conn = store.conn().await?;
    let tx = conn.transaction().await?;
    let e = &change.live_event;
    let stmt = tx
        .prepare_cached(
            "INSERT INTO live_events (live_event_id, host_type, state, created_at, set_ready_at, started_at,
                 ended_at, is_host_streaming, current_host_id, created_by, set_ready_by, started_by, ended_by,
                 duration, participant_count, peak_participant_count, cumulative_participant_count,
                 user_ids_for_host, custom_items)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
             RETURNING seq",
        )
        .await?;
    let seq: i64 = tx
        .query_one(
            &stmt,
            &[
                &e.live_event_id.as_str(),
                &e.host_type.as_str(),
                &e.state.as_str(),
                &e.created_at,
                &e.set_ready_at,
                &e.started_at,
                &e.ended_at,
                &e.is_host_streaming,
                &e.created_by,
                &e.set_ready_by,
                &e.started_by,
                &e.ended_by,
                &e.duration,
                &e.participant_count,
                &e.peak_participant_count,
                &e.cumulative_participant_count,
                &serde_json::to_string(&e.user_ids_for_host)?,
                &serde_json::to_string(&e.custom_items)?,
            ],
        )
        .await?
        .get(0);
    save_records(&tx, seq, change).await?;
    append_events(&tx, &change.events).await?;
    tx.commit().await?;
    Ok(())
}

async fn update(
    store: &PostgresStore,
    id: &LiveEventId,
    scope: &ParticipantScope,
    transition: LiveEventTransition,
) -> Result<LiveEventChange, Error> {
    let mut conn = store.conn().await?;
    let tx = conn.transaction().await?;
    // The row lock serializes every change of this live event, on every node. It is taken
    // alone, before the read: a locking read that waited re-reads only the locked row, and
    // would pair it with the host row as it was before the wait.
    tx.query_opt(
        "SELECT 1 FROM live_events WHERE live_event_id = $1 FOR UPDATE",
        &[&id.as_str()],
    )
    .await?
    .ok_or(StoreError::NotFound)?;
    let (seq, event) = load_event(&tx, id).await?.ok_or(StoreError::NotFound)?;
    let participants = load_scope(&tx, seq, id, scope).await?;
    let change = transition(&event, &participants)?;
    save_change(&tx, seq, &change).await?;
    tx.commit().await?;
    Ok(change)
}

async fn load_event(
    client: &impl GenericClient,
    id: &LiveEventId,
) -> Result<Option<(i64, LiveEvent)>, Error> {
    let sql = format!("{} WHERE e.live_event_id = $1", *EVENT_SELECT);
    let stmt = client.prepare_cached(&sql).await?;
    client
        .query_opt(&stmt, &[&id.as_str()])
        .await?
        .map(|row| event_from_row(&row))
        .transpose()
}

async fn load_host(store: &PostgresStore, id: &LiveEventId) -> Result<Option<Host>, Error> {
    let conn = store.conn().await?;
    let (seq, _) = load_event(&conn, id).await?.ok_or(StoreError::NotFound)?;
    // The present host if any (at most one is not exited), else the latest one.
    let sql = format!(
        "SELECT {HOST_COLUMNS}, {USER_COLUMNS} FROM live_event_hosts h JOIN users u ON u.user_id = h.user_id
         WHERE h.live_event_seq = $1 ORDER BY (h.state <> 'exited') DESC, h.seq DESC LIMIT 1"
    );
    let stmt = conn.prepare_cached(&sql).await?;
    conn.query_opt(&stmt, &[&seq])
        .await?
        .map(|row| host_from_row(&row, 0, id))
        .transpose()
}

/// The participant records a transition asked for.
async fn load_scope(
    client: &impl GenericClient,
    seq: i64,
    id: &LiveEventId,
    scope: &ParticipantScope,
) -> Result<Vec<LiveEventParticipant>, Error> {
    let base = format!(
        "SELECT {PARTICIPANT_COLUMNS}, {USER_COLUMNS} FROM live_event_participants p
         JOIN users u ON u.user_id = p.user_id WHERE p.live_event_seq = $1"
    );
    let rows = match scope {
        ParticipantScope::Nobody => return Ok(Vec::new()),
        ParticipantScope::One(participant) => {
            let stmt = client
                .prepare_cached(&format!("{base} AND p.participant_id = $2"))
                .await?;
            client.query(&stmt, &[&seq, &participant.as_str()]).await?
        }
        ParticipantScope::Active => {
            let stmt = client
                .prepare_cached(&format!("{base} AND p.state <> 'exited' ORDER BY p.seq"))
                .await?;
            client.query(&stmt, &[&seq]).await?
        }
    };
    rows.iter()
        .map(|row| participant_from_row(row, id))
        .collect()
}

async fn save_change(
    tx: &impl GenericClient,
    seq: i64,
    change: &LiveEventChange,
) -> Result<(), Error> {
    let e = &change.live_event;
    let stmt = tx
        .prepare_cached(
            "UPDATE live_events SET state = $2, set_ready_at = $3, started_at = $4, ended_at = $5,
                 is_host_streaming = $6, set_ready_by = $7, started_by = $8, ended_by = $9, duration = $10,
                 participant_count = $11, peak_participant_count = $12, cumulative_participant_count = $13,
                 custom_items = $14
             WHERE seq = $1",
        )
        .await?;
    tx.execute(
        &stmt,
        &[
            &seq,
            &e.state.as_str(),
            &e.set_ready_at,
            &e.started_at,
            &e.ended_at,
            &e.is_host_streaming,
            &e.set_ready_by,
            &e.started_by,
            &e.ended_by,
            &e.duration,
            &e.participant_count,
            &e.peak_participant_count,
            &e.cumulative_participant_count,
            &serde_json::to_string(&e.custom_items)?,
        ],
    )
    .await?;
    save_records(tx, seq, change).await?;
    append_events(tx, &change.events).await
}

/// Upserts the touched host and participant records, then points the live event at its
/// present host (after the host rows exist, so the pointer never dangles).
async fn save_records(
    tx: &impl GenericClient,
    seq: i64,
    change: &LiveEventChange,
) -> Result<(), Error> {
    // Every transition that changes a host lists it in `hosts`, the present one included.
    for host in &change.hosts {
        save_host(tx, seq, host).await?;
    }
    for participant in &change.participants {
        save_participant(tx, seq, participant).await?;
    }
    let current = change.live_event.host.as_ref().map(|h| h.host_id.as_str());
    let stmt = tx
        .prepare_cached("UPDATE live_events SET current_host_id = $2 WHERE seq = $1")
        .await?;
    tx.execute(&stmt, &[&seq, &current]).await?;
    Ok(())
}

async fn save_host(tx: &impl GenericClient, seq: i64, h: &Host) -> Result<(), Error> {
    ensure_user(tx, &h.user).await?;
    let stmt = tx
        .prepare_cached(
            "INSERT INTO live_event_hosts (host_id, live_event_seq, client_id, user_id, state, duration,
                 entered_at, connected_at, disconnected_at, exited_at, is_audio_on, is_video_on)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
             ON CONFLICT (host_id) DO UPDATE SET state = excluded.state, duration = excluded.duration,
                 connected_at = excluded.connected_at, disconnected_at = excluded.disconnected_at,
                 exited_at = excluded.exited_at, is_audio_on = excluded.is_audio_on,
                 is_video_on = excluded.is_video_on",
        )
        .await?;
    tx.execute(
        &stmt,
        &[
            &h.host_id.as_str(),
            &seq,
            &h.client_id.as_str(),
            &h.user.user_id.as_str(),
            &h.state.as_str(),
            &h.duration,
            &h.entered_at,
            &h.connected_at,
            &h.disconnected_at,
            &h.exited_at,
            &h.is_audio_on,
            &h.is_video_on,
        ],
    )
    .await?;
    Ok(())
}

async fn save_participant(
    tx: &impl GenericClient,
    seq: i64,
    p: &LiveEventParticipant,
) -> Result<(), Error> {
    ensure_user(tx, &p.user).await?;
    let stmt = tx
        .prepare_cached(
            "INSERT INTO live_event_participants (participant_id, live_event_seq, client_id, user_id, state,
                 duration, entered_at, exited_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (participant_id) DO UPDATE SET state = excluded.state, duration = excluded.duration,
                 exited_at = excluded.exited_at",
        )
        .await?;
    tx.execute(
        &stmt,
        &[
            &p.participant_id.as_str(),
            &seq,
            &p.client_id.as_str(),
            &p.user.user_id.as_str(),
            &p.state.as_str(),
            &p.duration,
            &p.entered_at,
            &p.exited_at,
        ],
    )
    .await?;
    Ok(())
}

async fn list_events(
    store: &PostgresStore,
    query: &LiveEventQuery,
) -> Result<Page<LiveEvent>, Error> {
    let conn = store.conn().await?;
    let (filter, args) = event_filter(query);
    let args = refs(&args);
    let (cond, order, limit) = page_clause(&query.page, "e.seq");
    let sql = format!(
        "{} WHERE {filter}{cond} ORDER BY e.seq {order} LIMIT {limit}",
        *EVENT_SELECT
    );
    let stmt = conn.prepare_cached(&sql).await?;
    let rows = conn
        .query(&stmt, &args)
        .await?
        .iter()
        .map(event_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let sql =
        format!("SELECT EXISTS (SELECT 1 FROM live_events e WHERE {filter} AND e.seq > {{first}})");
    let newer = has_newer(&conn, &query.page, &rows, &sql, &args).await?;
    Ok(into_page(&query.page, rows, newer))
}

async fn list_participants(
    store: &PostgresStore,
    id: &LiveEventId,
    page: PageRequest,
) -> Result<Page<LiveEventParticipant>, Error> {
    let conn = store.conn().await?;
    let seq: i64 = conn
        .query_opt(
            "SELECT seq FROM live_events WHERE live_event_id = $1",
            &[&id.as_str()],
        )
        .await?
        .ok_or(StoreError::NotFound)?
        .get(0);
    let (cond, order, limit) = page_clause(&page, "p.seq");
    let sql = format!(
        "SELECT {PARTICIPANT_COLUMNS}, {USER_COLUMNS} FROM live_event_participants p
         JOIN users u ON u.user_id = p.user_id
         WHERE p.live_event_seq = $1{cond} ORDER BY p.seq {order} LIMIT {limit}"
    );
    let stmt = conn.prepare_cached(&sql).await?;
    let rows = conn
        .query(&stmt, &[&seq])
        .await?
        .iter()
        .map(|row| Ok((row.try_get(0)?, participant_from_row(row, id)?)))
        .collect::<Result<Vec<_>, Error>>()?;
    let sql = "SELECT EXISTS (SELECT 1 FROM live_event_participants
               WHERE live_event_seq = $1 AND seq > {first})";
    let newer = has_newer(&conn, &page, &rows, sql, &[&seq]).await?;
    Ok(into_page(&page, rows, newer))
}
