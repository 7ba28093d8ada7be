//! `WebhookStore` on SQLite: the settings row, the outbox cursor and the delivery queue.
//!
//! Every queue change runs on the single writer, so judging outbox events against the
//! settings and changing the settings are serialized: an event is always judged by the
//! settings in force when it was committed.

use crate::SqliteStore;
use crate::error::Error;
use crate::rows::{into_page, page_clause, stream_from_column};
use async_trait::async_trait;
use opencalls_domain::Millis;
use opencalls_domain::webhook_categories::subscribed;
use opencalls_store::webhooks::{
    AttemptOutcome, Delivery, DeliveryId, DeliveryStatus, NextStep, Pruned, WebhookSettings,
    WebhookSettingsUpdate,
};
use opencalls_store::{Page, PageRequest, StoreError, WebhookStore};
use rusqlite::{Connection, OptionalExtension, Row, params};

/// Outbox rows judged per transaction when settings change (the rest follow in the worker).
const SETTINGS_CHANGE_BATCH: usize = 10_000;

const DELIVERY_COLUMNS: &str = "d.seq, (SELECT install_id FROM webhook_state WHERE id = 1), d.stream, \
     o.category, o.occurred_at, o.payload, d.status, d.attempts, d.created_at, d.next_attempt_at, \
     d.last_attempt_at, d.last_status_code, d.last_error, d.finished_at";

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn webhook_settings(&self) -> Result<WebhookSettings, StoreError> {
        self.read(load_settings).await
    }

    async fn update_webhook_settings(
        &self,
        update: WebhookSettingsUpdate,
        now: Millis,
    ) -> Result<WebhookSettings, StoreError> {
        self.write_outside_rooms(move |conn| {
            // Events committed before the change are judged by the old settings.
            while enqueue(conn, SETTINGS_CHANGE_BATCH, now)? == SETTINGS_CHANGE_BATCH {}
            let current = load_settings(conn)?;
            let next = WebhookSettings {
                enabled: update.enabled.unwrap_or(current.enabled),
                url: update.url.unwrap_or(current.url),
                enabled_events: update.enabled_events.unwrap_or(current.enabled_events),
            };
            conn.prepare_cached(
                "INSERT INTO webhook_settings (id, enabled, url, enabled_events, updated_at)
                 VALUES (1, ?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET enabled = ?1, url = ?2, enabled_events = ?3, updated_at = ?4",
            )?
            .execute(params![
                next.enabled,
                next.url,
                serde_json::to_string(&next.enabled_events)?,
                now
            ])?;
            Ok(next)
        })
        .await
    }

    async fn enqueue_webhook_deliveries(
        &self,
        limit: usize,
        now: Millis,
    ) -> Result<usize, StoreError> {
        self.write_outside_rooms(move |conn| enqueue(conn, limit, now))
            .await
    }

    async fn due_webhook_deliveries(
        &self,
        now: Millis,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.read(move |conn| {
            let sql = format!(
                "{HEADS} SELECT {DELIVERY_COLUMNS} FROM heads
                 JOIN webhook_deliveries d ON d.seq = heads.seq JOIN outbox o ON o.seq = d.seq
                 WHERE d.next_attempt_at <= ?1 ORDER BY d.seq LIMIT ?2"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![now, limit as i64], delivery_from_row)?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await
    }

    async fn next_webhook_due(&self, now: Millis) -> Result<Option<Millis>, StoreError> {
        self.read(move |conn| {
            let sql = format!(
                "{HEADS} SELECT MIN(d.next_attempt_at) FROM heads
                 JOIN webhook_deliveries d ON d.seq = heads.seq WHERE d.next_attempt_at > ?1"
            );
            Ok(conn.query_row(&sql, [now], |r| r.get(0))?)
        })
        .await
    }

    async fn record_webhook_attempts(
        &self,
        outcomes: Vec<AttemptOutcome>,
    ) -> Result<(), StoreError> {
        self.write_outside_rooms(move |conn| {
            let mut stmt = conn.prepare_cached(
                "UPDATE webhook_deliveries SET attempts = attempts + 1, last_attempt_at = ?2,
                     last_status_code = ?3, last_error = ?4, status = ?5,
                     next_attempt_at = COALESCE(?6, next_attempt_at), finished_at = ?7
                 WHERE seq = ?1 AND status = 'pending'",
            )?;
            for o in &outcomes {
                let (status, retry_at, finished_at) = match o.next {
                    NextStep::Delivered => (DeliveryStatus::Delivered, None, Some(o.attempted_at)),
                    NextStep::RetryAt(at) => (DeliveryStatus::Pending, Some(at), None),
                    NextStep::Failed => (DeliveryStatus::Failed, None, Some(o.attempted_at)),
                };
                stmt.execute(params![
                    o.delivery_seq,
                    o.attempted_at,
                    o.status_code,
                    o.error,
                    status.as_str(),
                    retry_at,
                    finished_at
                ])?;
            }
            Ok(())
        })
        .await
    }

    async fn prune_webhook_events(
        &self,
        after_seq: i64,
        delivered_before: Millis,
        failed_before: Millis,
        limit: usize,
    ) -> Result<Pruned, StoreError> {
        self.write_outside_rooms(move |conn| {
            prune(conn, after_seq, (delivered_before, failed_before), limit)
        })
        .await
    }

    async fn list_webhook_deliveries(
        &self,
        status: Option<DeliveryStatus>,
        page: PageRequest,
    ) -> Result<Page<Delivery>, StoreError> {
        self.read(move |conn| {
            let (cond, order, limit) = page_clause(&page, "d.seq");
            let status_cond = status
                .map(|s| match s {
                    // Undelivered ones are found through their partial index; delivered
                    // ones are the bulk of the table, so a scan by seq meets them at once.
                    DeliveryStatus::Delivered => " AND d.status = 'delivered'".to_owned(),
                    other => format!(" AND d.status = '{}' AND d.status <> 'delivered'", other.as_str()),
                })
                .unwrap_or_default();
            let sql = format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN outbox o ON o.seq = d.seq
                 WHERE 1 = 1{status_cond}{cond} ORDER BY d.seq {order} LIMIT ?1"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt
                .query_map([limit], |row| Ok((row.get::<_, i64>(0)?, delivery_from_row(row)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            into_page(&page, rows, |seq| {
                let sql = format!(
                    "SELECT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.seq > ?1{status_cond})"
                );
                Ok(conn.query_row(&sql, [seq], |r| r.get(0))?)
            })
        })
        .await
    }
}

/// `heads(seq)`: the oldest pending delivery of each stream with pending deliveries. It
/// walks the partial index `webhook_deliveries_pending (stream, seq)` from one stream to the
/// next (each step one index seek), so it costs a few seeks per stream however long the
/// streams' backlogs are; a scan of the pending rows would cost the whole backlog on every
/// round while a receiver is down.
const HEADS: &str = "WITH RECURSIVE streams(stream) AS (
         SELECT (SELECT MIN(stream) FROM webhook_deliveries WHERE status = 'pending')
         UNION ALL
         SELECT (SELECT MIN(e.stream) FROM webhook_deliveries e
                 WHERE e.status = 'pending' AND e.stream > streams.stream)
         FROM streams WHERE streams.stream IS NOT NULL
     ),
     heads(seq) AS (
         SELECT (SELECT MIN(h.seq) FROM webhook_deliveries h
                 WHERE h.status = 'pending' AND h.stream = streams.stream)
         FROM streams WHERE streams.stream IS NOT NULL
     )";

fn load_settings(conn: &Connection) -> Result<WebhookSettings, Error> {
    let row = conn
        .prepare_cached("SELECT enabled, url, enabled_events FROM webhook_settings WHERE id = 1")?
        .query_row([], |r| {
            Ok((
                r.get::<_, bool>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .optional()?;
    let Some((enabled, url, events)) = row else {
        return Ok(WebhookSettings::default());
    };
    Ok(WebhookSettings {
        enabled,
        url,
        enabled_events: serde_json::from_str(&events)?,
    })
}

/// Judges up to `limit` new outbox rows against the current settings, queueing the
/// subscribed ones; returns how many rows it judged.
fn enqueue(conn: &Connection, limit: usize, now: Millis) -> Result<usize, Error> {
    let cursor: i64 = conn
        .prepare_cached("SELECT outbox_seq FROM webhook_state WHERE id = 1")?
        .query_row([], |r| r.get(0))?;
    let mut stmt = conn.prepare_cached(
        "SELECT seq, stream, category FROM outbox WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt
        .query_map(params![cursor, limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let Some((last, ..)) = rows.last() else {
        return Ok(0);
    };
    let settings = load_settings(conn)?;
    if settings.enabled && !settings.url.is_empty() {
        let mut insert = conn.prepare_cached(
            "INSERT INTO webhook_deliveries (seq, stream, status, created_at, next_attempt_at)
             VALUES (?1, ?2, 'pending', ?3, ?3)",
        )?;
        for (seq, stream, category) in &rows {
            if subscribed(&settings.enabled_events, category) {
                insert.execute(params![seq, stream, now])?;
            }
        }
    }
    conn.prepare_cached("UPDATE webhook_state SET outbox_seq = ?1 WHERE id = 1")?
        .execute([last])?;
    Ok(rows.len())
}

/// One batch of [`WebhookStore::prune_webhook_events`]; `before` is (delivered, failed).
fn prune(
    conn: &Connection,
    after_seq: i64,
    (delivered_before, failed_before): (Millis, Millis),
    limit: usize,
) -> Result<Pruned, Error> {
    // Walks the outbox by rowid (no index needed); the judged cursor bounds it.
    let rows = conn
        .prepare_cached(
            "SELECT o.seq, o.occurred_at, d.status, d.finished_at FROM outbox o
             LEFT JOIN webhook_deliveries d ON d.seq = o.seq
             WHERE o.seq > ?1 AND o.seq <= (SELECT outbox_seq FROM webhook_state WHERE id = 1)
             ORDER BY o.seq LIMIT ?2",
        )?
        .query_map(params![after_seq, limit as i64], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Millis>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<Millis>>(3)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut delete_event = conn.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?;
    let mut delete_delivery =
        conn.prepare_cached("DELETE FROM webhook_deliveries WHERE seq = ?1")?;
    let mut deleted = 0;
    for (seq, occurred_at, status, finished_at) in &rows {
        if *occurred_at >= delivered_before {
            return Ok(Pruned {
                deleted,
                next: None,
            });
        }
        let finished = finished_at.unwrap_or(Millis::MAX);
        let old = match status.as_deref().map(DeliveryStatus::parse) {
            None => true,
            Some(Some(DeliveryStatus::Delivered)) => finished < delivered_before,
            Some(Some(DeliveryStatus::Failed)) => finished < failed_before,
            Some(Some(DeliveryStatus::Pending) | None) => false,
        };
        if old {
            delete_delivery.execute([seq])?;
            delete_event.execute([seq])?;
            deleted += 1;
        }
    }
    let next = if rows.len() < limit {
        None
    } else {
        rows.last().map(|(seq, ..)| *seq)
    };
    Ok(Pruned { deleted, next })
}

fn delivery_from_row(row: &Row<'_>) -> rusqlite::Result<Delivery> {
    let status: String = row.get(6)?;
    let status = DeliveryStatus::parse(&status).unwrap_or(DeliveryStatus::Failed);
    let next_attempt_at: i64 = row.get(9)?;
    let seq: i64 = row.get(0)?;
    Ok(Delivery {
        seq,
        delivery_id: DeliveryId {
            installation: row.get(1)?,
            seq,
        },
        stream: stream_from_column(row, 2)?,
        category: row.get(3)?,
        occurred_at: row.get(4)?,
        payload: row.get(5)?,
        status,
        attempts: row.get(7)?,
        created_at: row.get(8)?,
        next_attempt_at: (status == DeliveryStatus::Pending).then_some(next_attempt_at),
        last_attempt_at: row.get(10)?,
        last_status_code: row.get(11)?,
        last_error: row.get(12)?,
        finished_at: row.get(13)?,
    })
}
