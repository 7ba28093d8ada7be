//! `DirectCallStore` on SQLite: each call is one row, its resource as JSON in `body` and the
//! fields listings filter on as indexed columns; push tokens in `push_tokens`.

use super::rows::{Filter, append_events, corrupt, into_page, page_clause};
use crate::SqliteStore;
use crate::error::Error;
use async_trait::async_trait;
use opencalls_domain::direct_call::{CallChange, CallRecord};
use opencalls_domain::{ClientId, DirectCall, DirectCallId, DirectCallRole, Millis, UserId};
use opencalls_store::direct_calls::MAX_PUSH_TOKENS_PER_TYPE;
use opencalls_store::{
    CallCounts, CallTransition, DirectCallQuery, DirectCallStore, Page, PushTokenType, StoreError,
};
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

const CALL_COLUMNS: &str = "seq, caller_device, callee_device, body";

fn record_from_row(row: &Row<'_>) -> rusqlite::Result<(i64, CallRecord)> {
    let body: String = row.get(3)?;
    let call: DirectCall = serde_json::from_str(&body).map_err(|_| corrupt(3, "body"))?;
    let record = CallRecord {
        call,
        caller_device: ClientId::from_trusted(row.get(1)?),
        callee_device: row.get::<_, Option<String>>(2)?.map(ClientId::from_trusted),
    };
    Ok((row.get(0)?, record))
}

fn load(conn: &Connection, id: &DirectCallId) -> Result<Option<(i64, CallRecord)>, Error> {
    let sql = format!("SELECT {CALL_COLUMNS} FROM direct_calls WHERE call_id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id.as_str()], record_from_row)
        .optional()?)
}

fn side(record: &CallRecord, role: DirectCallRole) -> String {
    record
        .call
        .side(role)
        .map(|p| p.user_id.to_string())
        .unwrap_or_default()
}

fn insert(conn: &Connection, change: &CallChange) -> Result<(), Error> {
    let r = &change.record;
    let c = &r.call;
    conn.prepare_cached(
        "INSERT INTO direct_calls (call_id, caller_id, callee_id, caller_device, callee_device, state,
             end_result, started_at, ended_at, duration, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        c.call_id.as_str(),
        side(r, DirectCallRole::Caller),
        side(r, DirectCallRole::Callee),
        r.caller_device.as_str(),
        r.callee_device.as_ref().map(ClientId::as_str),
        c.state.as_str(),
        c.end_result.map(|e| e.as_str()),
        c.started_at,
        c.ended_at,
        c.duration,
        serde_json::to_string(c)?,
    ])?;
    append_events(conn, &change.events)
}

fn save(conn: &Connection, seq: i64, change: &CallChange) -> Result<(), Error> {
    let r = &change.record;
    let c = &r.call;
    conn.prepare_cached(
        "UPDATE direct_calls SET callee_device = ?2, state = ?3, end_result = ?4, ended_at = ?5,
             duration = ?6, body = ?7
         WHERE seq = ?1",
    )?
    .execute(params![
        seq,
        r.callee_device.as_ref().map(ClientId::as_str),
        c.state.as_str(),
        c.end_result.map(|e| e.as_str()),
        c.ended_at,
        c.duration,
        serde_json::to_string(c)?,
    ])?;
    append_events(conn, &change.events)
}

/// The `WHERE` condition of a listing and its bound values.
fn filter(query: &DirectCallQuery) -> (String, Vec<rusqlite::types::Value>) {
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

fn list(conn: &Connection, query: &DirectCallQuery) -> Result<Page<DirectCall>, Error> {
    let (cond_sql, args) = filter(query);
    let (cond, order, limit) = page_clause(&query.page, "seq");
    let sql = format!(
        "SELECT {CALL_COLUMNS} FROM direct_calls WHERE {cond_sql}{cond} ORDER BY seq {order} LIMIT {limit}"
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args.iter()), record_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    let user = query.user_id.clone();
    let rows = rows
        .into_iter()
        .map(|(seq, r)| {
            let call = match &user {
                Some(user) => r.call.for_user(user),
                None => r.call,
            };
            (seq, call)
        })
        .collect();
    into_page(&query.page, rows, |first| {
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM direct_calls WHERE {cond_sql} AND seq > {first})"
        );
        Ok(conn
            .prepare_cached(&sql)?
            .query_row(params_from_iter(args.iter()), |r| r.get(0))?)
    })
}

#[async_trait]
impl DirectCallStore for SqliteStore {
    async fn insert_call(&self, change: CallChange) -> Result<(), StoreError> {
        self.write_outside_rooms(move |conn| insert(conn, &change))
            .await
    }

    async fn update_call(
        &self,
        id: &DirectCallId,
        transition: CallTransition,
    ) -> Result<CallChange, StoreError> {
        let id = id.clone();
        self.write_outside_rooms(move |conn| {
            let (seq, record) = load(conn, &id)?.ok_or(StoreError::NotFound)?;
            let change = transition(&record)?;
            save(conn, seq, &change)?;
            Ok(change)
        })
        .await
    }

    async fn call(&self, id: &DirectCallId) -> Result<Option<CallRecord>, StoreError> {
        let id = id.clone();
        self.read_point(move |conn| Ok(load(conn, &id)?.map(|(_, r)| r)))
            .await
    }

    async fn list_calls(&self, query: DirectCallQuery) -> Result<Page<DirectCall>, StoreError> {
        self.read(move |conn| list(conn, &query)).await
    }

    async fn open_calls_of(
        &self,
        user_id: &UserId,
        limit: usize,
    ) -> Result<Vec<CallRecord>, StoreError> {
        let user = user_id.to_string();
        self.read(move |conn| {
            let sql = format!(
                "SELECT {CALL_COLUMNS} FROM direct_calls
                 WHERE state <> 'ended' AND (caller_id = ?1 OR callee_id = ?1) ORDER BY seq LIMIT ?2"
            );
            let rows = conn
                .prepare_cached(&sql)?
                .query_map(params![user, limit as i64], record_from_row)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows.into_iter().map(|(_, r)| r).collect())
        })
        .await
    }

    async fn open_calls(&self) -> Result<Vec<DirectCallId>, StoreError> {
        self.read(|conn| {
            let ids = conn
                .prepare_cached(
                    "SELECT call_id FROM direct_calls WHERE state <> 'ended' ORDER BY seq",
                )?
                .query_map([], |row| row.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(ids.into_iter().map(DirectCallId::from_trusted).collect())
        })
        .await
    }

    async fn call_counts(&self, user_id: &UserId) -> Result<CallCounts, StoreError> {
        let user = user_id.to_string();
        self.read(move |conn| {
            let count = |column: &str| -> Result<i64, Error> {
                let sql = format!("SELECT COUNT(*) FROM direct_calls WHERE {column} = ?1");
                Ok(conn
                    .prepare_cached(&sql)?
                    .query_row([&user], |r| r.get(0))?)
            };
            Ok(CallCounts {
                as_caller: count("caller_id")?,
                as_callee: count("callee_id")?,
            })
        })
        .await
    }

    async fn add_push_token(
        &self,
        user_id: &UserId,
        kind: PushTokenType,
        token: &str,
        unique: bool,
        now: Millis,
    ) -> Result<(), StoreError> {
        let (user, token) = (user_id.to_string(), token.to_owned());
        self.write_outside_rooms(move |conn| {
            if unique {
                conn.prepare_cached(
                    "DELETE FROM push_tokens WHERE user_id = ?1 AND token_type = ?2 AND token <> ?3",
                )?
                .execute(params![user, kind.as_str(), token])?;
            }
            conn.prepare_cached(
                "INSERT INTO push_tokens (user_id, token_type, token, registered_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (user_id, token_type, token) DO UPDATE SET registered_at = excluded.registered_at",
            )?
            .execute(params![user, kind.as_str(), token, now])?;
            // Keep the newest few: a user's tokens are a bounded resource.
            conn.prepare_cached(
                "DELETE FROM push_tokens WHERE user_id = ?1 AND token_type = ?2 AND token NOT IN
                     (SELECT token FROM push_tokens WHERE user_id = ?1 AND token_type = ?2
                      ORDER BY registered_at DESC, rowid DESC LIMIT ?3)",
            )?
            .execute(params![user, kind.as_str(), MAX_PUSH_TOKENS_PER_TYPE as i64])?;
            Ok(())
        })
        .await
    }

    async fn push_tokens(
        &self,
        user_id: &UserId,
        kind: PushTokenType,
    ) -> Result<Vec<String>, StoreError> {
        let user = user_id.to_string();
        self.read(move |conn| {
            Ok(conn
                .prepare_cached(
                    "SELECT token FROM push_tokens WHERE user_id = ?1 AND token_type = ?2
                     ORDER BY registered_at DESC, rowid DESC",
                )?
                .query_map(params![user, kind.as_str()], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?)
        })
        .await
    }

    async fn remove_push_tokens(
        &self,
        user_id: &UserId,
        kind: PushTokenType,
        token: Option<&str>,
    ) -> Result<usize, StoreError> {
        let (user, token) = (user_id.to_string(), token.map(str::to_owned));
        self.write_outside_rooms(move |conn| {
            let removed = match token {
                Some(token) => conn
                    .prepare_cached(
                        "DELETE FROM push_tokens WHERE user_id = ?1 AND token_type = ?2 AND token = ?3",
                    )?
                    .execute(params![user, kind.as_str(), token])?,
                None => conn
                    .prepare_cached("DELETE FROM push_tokens WHERE user_id = ?1 AND token_type = ?2")?
                    .execute(params![user, kind.as_str()])?,
            };
            Ok(removed)
        })
        .await
    }
}
