//! `DirectCallStore` on PostgreSQL: each call is one row, its resource as JSON in `body` and
//! the fields listings filter on as indexed columns; push tokens in `push_tokens`.

use crate::PostgresStore;
use crate::error::Error;
use crate::rows::{Arg, Filter, append_events, has_newer, into_page, page_clause, refs};
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use opencalls_domain::direct_call::{CallChange, CallRecord};
use opencalls_domain::{ClientId, DirectCall, DirectCallId, DirectCallRole, Millis, UserId};
use opencalls_store::direct_calls::MAX_PUSH_TOKENS_PER_TYPE;
use opencalls_store::{
    CallCounts, CallTransition, DirectCallQuery, DirectCallStore, Page, PushTokenType, StoreError,
};
use tokio_postgres::Row;

const CALL_COLUMNS: &str = "seq, caller_device, callee_device, body";

fn record_from_row(row: &Row) -> Result<(i64, CallRecord), Error> {
    let body: String = row.try_get(3)?;
    let call: DirectCall = serde_json::from_str(&body)?;
    let record = CallRecord {
        call,
        caller_device: ClientId::from_trusted(row.try_get(1)?),
        callee_device: row
            .try_get::<_, Option<String>>(2)?
            .map(ClientId::from_trusted),
    };
    Ok((row.try_get(0)?, record))
}

async fn load(
    client: &impl GenericClient,
    id: &DirectCallId,
    lock: bool,
) -> Result<Option<(i64, CallRecord)>, Error> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT {CALL_COLUMNS} FROM direct_calls WHERE call_id = $1{lock}");
    let stmt = client.prepare_cached(&sql).await?;
    client
        .query_opt(&stmt, &[&id.as_str()])
        .await?
        .map(|row| record_from_row(&row))
        .transpose()
}

fn side(record: &CallRecord, role: DirectCallRole) -> String {
    record
        .call
        .side(role)
        .map(|p| p.user_id.to_string())
        .unwrap_or_default()
}

async fn insert(store: &PostgresStore, change: &CallChange) -> Result<(), Error> {
    let mut conn = store.conn().await?;
    let tx = conn.transaction().await?;
    let r = &change.record;
    let c = &r.call;
    let stmt = tx
        .prepare_cached(
            "INSERT INTO direct_calls (call_id, caller_id, callee_id, caller_device, callee_device, state,
                 end_result, started_at, ended_at, duration, body)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .await?;
    tx.execute(
        &stmt,
        &[
            &c.call_id.as_str(),
            &side(r, DirectCallRole::Caller),
            &side(r, DirectCallRole::Callee),
            &r.caller_device.as_str(),
            &r.callee_device.as_ref().map(ClientId::as_str),
            &c.state.as_str(),
            &c.end_result.map(|e| e.as_str()),
            &c.started_at,
            &c.ended_at,
            &c.duration,
            &serde_json::to_string(c)?,
        ],
    )
    .await?;
    append_events(&tx, &change.events).await?;
    tx.commit().await?;
    Ok(())
}

async fn update(
    store: &PostgresStore,
    id: &DirectCallId,
    transition: CallTransition,
) -> Result<CallChange, Error> {
    let mut conn = store.conn().await?;
    let tx = conn.transaction().await?;
    let (seq, record) = load(&tx, id, true).await?.ok_or(StoreError::NotFound)?;
    let change = transition(&record)?;
    let r = &change.record;
    let c = &r.call;
    let stmt = tx
        .prepare_cached(
            "UPDATE direct_calls SET callee_device = $2, state = $3, end_result = $4, ended_at = $5,
                 duration = $6, body = $7
             WHERE seq = $1",
        )
        .await?;
    tx.execute(
        &stmt,
        &[
            &seq,
            &r.callee_device.as_ref().map(ClientId::as_str),
            &c.state.as_str(),
            &c.end_result.map(|e| e.as_str()),
            &c.ended_at,
            &c.duration,
            &serde_json::to_string(c)?,
        ],
    )
    .await?;
    append_events(&tx, &change.events).await?;
    tx.commit().await?;
    Ok(change)
}

/// The `WHERE` condition of a listing and its bound values.
fn filter(query: &DirectCallQuery) -> (String, Vec<Arg>) {
    let mut f = Filter::default();
    if let Some(user) = &query.user_id {
        let id = [user.as_str()];
        match query.role {
            Some(DirectCallRole::Caller) => f.any_of("caller_id", id),
            Some(DirectCallRole::Callee) => f.any_of("callee_id", id),
            None => f.either_of("caller_id", "callee_id", user.as_str()),
        }
    }
    f.any_of("state", query.states.iter().map(|s| s.as_str()));
    f.any_of("end_result", query.end_results.iter().map(|e| e.as_str()));
    f.bound("started_at >= ?", query.started_at_start);
    f.bound("started_at < ?", query.started_at_end);
    f.bound("ended_at <= ?", query.ended_at_end);
    f.bound("duration >= ?", query.duration_gte);
    f.bound("duration <= ?", query.duration_lte);
    f.finish()
}

async fn list(store: &PostgresStore, query: &DirectCallQuery) -> Result<Page<DirectCall>, Error> {
    let conn = store.conn().await?;
    let (cond_sql, args) = filter(query);
    let args = refs(&args);
    let (cond, order, limit) = page_clause(&query.page, "seq");
    let sql = format!(
        "SELECT {CALL_COLUMNS} FROM direct_calls WHERE {cond_sql}{cond} ORDER BY seq {order} LIMIT {limit}"
    );
    let stmt = conn.prepare_cached(&sql).await?;
    let rows = conn
        .query(&stmt, &args)
        .await?
        .iter()
        .map(record_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let rows: Vec<(i64, DirectCall)> = rows
        .into_iter()
        .map(|(seq, r)| match &query.user_id {
            Some(user) => (seq, r.call.for_user(user)),
            None => (seq, r.call),
        })
        .collect();
    let sql =
        format!("SELECT EXISTS (SELECT 1 FROM direct_calls WHERE {cond_sql} AND seq > {{first}})");
    let newer = has_newer(&conn, &query.page, &rows, &sql, &args).await?;
    Ok(into_page(&query.page, rows, newer))
}

#[async_trait]
impl DirectCallStore for PostgresStore {
    async fn insert_call(&self, change: CallChange) -> Result<(), StoreError> {
        Ok(insert(self, &change).await?)
    }

    async fn update_call(
        &self,
        id: &DirectCallId,
        transition: CallTransition,
    ) -> Result<CallChange, StoreError> {
        Ok(update(self, id, transition).await?)
    }

    async fn call(&self, id: &DirectCallId) -> Result<Option<CallRecord>, StoreError> {
        let conn = self.conn().await?;
        Ok(load(&conn, id, false).await?.map(|(_, r)| r))
    }

    async fn list_calls(&self, query: DirectCallQuery) -> Result<Page<DirectCall>, StoreError> {
        Ok(list(self, &query).await?)
    }

    async fn open_calls_of(
        &self,
        user_id: &UserId,
        limit: usize,
    ) -> Result<Vec<CallRecord>, StoreError> {
        let conn = self.conn().await?;
        let sql = format!(
            "SELECT {CALL_COLUMNS} FROM direct_calls
             WHERE state <> 'ended' AND (caller_id = $1 OR callee_id = $1) ORDER BY seq LIMIT $2"
        );
        let rows = conn
            .query(&sql, &[&user_id.as_str(), &(limit as i64)])
            .await
            .map_err(Error::from)?;
        Ok(rows
            .iter()
            .map(|row| record_from_row(row).map(|(_, r)| r))
            .collect::<Result<Vec<_>, _>>()?)
    }

    async fn open_calls(&self) -> Result<Vec<DirectCallId>, StoreError> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT call_id FROM direct_calls WHERE state <> 'ended' ORDER BY seq",
                &[],
            )
            .await
            .map_err(Error::from)?;
        Ok(rows
            .iter()
            .map(|row| DirectCallId::from_trusted(row.get(0)))
            .collect())
    }

    async fn call_counts(&self, user_id: &UserId) -> Result<CallCounts, StoreError> {
        let conn = self.conn().await?;
        let row = conn
            .query_one(
                "SELECT (SELECT COUNT(*) FROM direct_calls WHERE caller_id = $1),
                        (SELECT COUNT(*) FROM direct_calls WHERE callee_id = $1)",
                &[&user_id.as_str()],
            )
            .await
            .map_err(Error::from)?;
        Ok(CallCounts {
            as_caller: row.get(0),
            as_callee: row.get(1),
        })
    }

    async fn add_push_token(
        &self,
        user_id: &UserId,
        kind: PushTokenType,
        token: &str,
        unique: bool,
        now: Millis,
    ) -> Result<(), StoreError> {
        Ok(add_push_token(self, user_id.as_str(), kind.as_str(), token, unique, now).await?)
    }

    async fn push_tokens(
        &self,
        user_id: &UserId,
        kind: PushTokenType,
    ) -> Result<Vec<String>, StoreError> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT token FROM push_tokens WHERE user_id = $1 AND token_type = $2
                 ORDER BY registered_at DESC, id DESC",
                &[&user_id.as_str(), &kind.as_str()],
            )
            .await
            .map_err(Error::from)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn remove_push_tokens(
        &self,
        user_id: &UserId,
        kind: PushTokenType,
        token: Option<&str>,
    ) -> Result<usize, StoreError> {
        let conn = self.conn().await?;
        let removed = conn
            .execute(
                "DELETE FROM push_tokens WHERE user_id = $1 AND token_type = $2
                 AND ($3::text IS NULL OR token = $3)",
                &[&user_id.as_str(), &kind.as_str(), &token],
            )
            .await
            .map_err(Error::from)?;
        Ok(removed as usize)
    }
}

async fn add_push_token(
    store: &PostgresStore,
    user: &str,
    kind: &str,
    token: &str,
    unique: bool,
    now: Millis,
) -> Result<(), Error> {
    let mut conn = store.conn().await?;
    let tx = conn.transaction().await?;
    if unique {
        tx.execute(
            "DELETE FROM push_tokens WHERE user_id = $1 AND token_type = $2 AND token <> $3",
            &[&user, &kind, &token],
        )
        .await?;
    }
    tx.execute(
        "INSERT INTO push_tokens (user_id, token_type, token, registered_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (user_id, token_type, token) DO UPDATE SET registered_at = excluded.registered_at",
        &[&user, &kind, &token, &now],
    )
    .await?;
    // Keep the newest few: a user's tokens are a bounded resource.
    tx.execute(
        "DELETE FROM push_tokens WHERE user_id = $1 AND token_type = $2 AND id NOT IN
             (SELECT id FROM push_tokens WHERE user_id = $1 AND token_type = $2
              ORDER BY registered_at DESC, id DESC LIMIT $3)",
        &[&user, &kind, &(MAX_PUSH_TOKENS_PER_TYPE as i64)],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
