//! `WebhookStore` on PostgreSQL: the settings row, the outbox cursor and the delivery queue.
//!
//! Judging outbox events against the settings and changing the settings both lock the
//! `webhook_state` row first, so on every node they are serialized: an event is always
//! judged once, by the settings in force when it was numbered. The outbox is read past the
//! cursor safely because numbered seqs commit in order (see `outbox`).

use crate::PostgresStore;
use crate::error::Error;
use crate::outbox::sequence;
use crate::rows::{has_newer, into_page, page_clause};
use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use opencalls_domain::webhook_categories::subscribed;
use opencalls_domain::{Millis, StreamKey};
use opencalls_store::webhooks::{
    AttemptOutcome, Delivery, DeliveryId, DeliveryStatus, NextStep, Pruned, WebhookSettings,
    WebhookSettingsUpdate,
};
use opencalls_store::{Page, PageRequest, StoreError, WebhookStore};
use tokio_postgres::Row;

/// Outbox rows judged per statement when settings change.
const SETTINGS_CHANGE_BATCH: usize = 10_000;

const DELIVERY_COLUMNS: &str = "d.seq, (SELECT install_id FROM webhook_state WHERE id = 1), d.stream, \
     o.category, o.occurred_at, o.payload, d.status, d.attempts, d.created_at, d.next_attempt_at, \
     d.last_attempt_at, d.last_status_code, d.last_error, d.finished_at";

/// `heads(seq)`: the oldest pending delivery of each stream with pending deliveries, found
/// by skipping from one stream to the next on the partial index (a few seeks per stream,
/// however long the streams' backlogs are).
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

#[async_trait]
impl WebhookStore for PostgresStore {
    async fn webhook_settings(&self) -> Result<WebhookSettings, StoreError> {
        let conn = self.conn().await?;
        Ok(load_settings(&conn).await?)
    }

    async fn update_webhook_settings(
        &self,
        update: WebhookSettingsUpdate,
        now: Millis,
    ) -> Result<WebhookSettings, StoreError> {
        Ok(update_settings(self, update, now).await?)
    }

    async fn enqueue_webhook_deliveries(
        &self,
        limit: usize,
        now: Millis,
    ) -> Result<usize, StoreError> {
        let mut conn = self.conn().await?;
        sequence(&mut conn).await?;
        let tx = conn.transaction().await.map_err(Error::from)?;
        let judged = enqueue(&tx, limit, now).await?;
        tx.commit().await.map_err(Error::from)?;
        Ok(judged)
    }

    async fn due_webhook_deliveries(
        &self,
        now: Millis,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let conn = self.conn().await?;
        let sql = format!(
            "{HEADS} SELECT {DELIVERY_COLUMNS} FROM heads
             JOIN webhook_deliveries d ON d.seq = heads.seq JOIN outbox o ON o.seq = d.seq
             WHERE d.next_attempt_at <= $1 ORDER BY d.seq LIMIT $2"
        );
        let rows = conn
            .query(&sql, &[&now, &(limit as i64)])
            .await
            .map_err(Error::from)?;
        Ok(rows
            .iter()
            .map(delivery_from_row)
            .collect::<Result<_, _>>()?)
    }

    async fn next_webhook_due(&self, now: Millis) -> Result<Option<Millis>, StoreError> {
        let conn = self.conn().await?;
        let sql = format!(
            "{HEADS} SELECT MIN(d.next_attempt_at) FROM heads
             JOIN webhook_deliveries d ON d.seq = heads.seq WHERE d.next_attempt_at > $1"
        );
        let row = conn.query_one(&sql, &[&now]).await.map_err(Error::from)?;
        Ok(row.get(0))
    }

    async fn record_webhook_attempts(
        &self,
        outcomes: Vec<AttemptOutcome>,
    ) -> Result<(), StoreError> {
        Ok(record_attempts(self, &outcomes).await?)
    }

    async fn prune_webhook_events(
        &self,
        after_seq: i64,
        delivered_before: Millis,
        failed_before: Millis,
        limit: usize,
    ) -> Result<Pruned, StoreError> {
        Ok(prune(self, after_seq, (delivered_before, failed_before), limit).await?)
    }

    async fn list_webhook_deliveries(
        &self,
        status: Option<DeliveryStatus>,
        page: PageRequest,
    ) -> Result<Page<Delivery>, StoreError> {
        Ok(list_deliveries(self, status, page).await?)
    }
}

async fn load_settings(client: &impl GenericClient) -> Result<WebhookSettings, Error> {
    let row = client
        .query_opt(
            "SELECT enabled, url, enabled_events FROM webhook_settings WHERE id = 1",
            &[],
        )
        .await?;
    let Some(row) = row else {
        return Ok(WebhookSettings::default());
    };
    let events: String = row.try_get(2)?;
    Ok(WebhookSettings {
        enabled: row.try_get(0)?,
        url: row.try_get(1)?,
        enabled_events: serde_json::from_str(&events)?,
    })
}

async fn update_settings(
    store: &PostgresStore,
    update: WebhookSettingsUpdate,
    now: Millis,
) -> Result<WebhookSettings, Error> {
    let mut conn = store.conn().await?;
    sequence(&mut conn).await?;
    let tx = conn.transaction().await?;
    // Events committed before the change are judged by the old settings (those committed
    // after the numbering above and before the lock below count as after the change).
    while enqueue(&tx, SETTINGS_CHANGE_BATCH, now).await? == SETTINGS_CHANGE_BATCH {}
    let current = load_settings(&tx).await?;
    let next = WebhookSettings {
        enabled: update.enabled.unwrap_or(current.enabled),
        url: update.url.unwrap_or(current.url),
        enabled_events: update.enabled_events.unwrap_or(current.enabled_events),
    };
    tx.execute(
        "INSERT INTO webhook_settings (id, enabled, url, enabled_events, updated_at)
         VALUES (1, $1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET enabled = $1, url = $2, enabled_events = $3, updated_at = $4",
        &[
            &next.enabled,
            &next.url,
            &serde_json::to_string(&next.enabled_events)?,
            &now,
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(next)
}

/// Judges up to `limit` new outbox rows against the current settings, queueing the
/// subscribed ones; returns how many rows it judged. Locks the cursor row until commit.
async fn enqueue(tx: &impl GenericClient, limit: usize, now: Millis) -> Result<usize, Error> {
    let cursor: i64 = tx
        .query_one(
            "SELECT outbox_seq FROM webhook_state WHERE id = 1 FOR UPDATE",
            &[],
        )
        .await?
        .get(0);
    let rows = tx
        .query(
            "SELECT seq, stream, category FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&cursor, &(limit as i64)],
        )
        .await?;
    let Some(last) = rows.last().map(|r| r.get::<_, i64>(0)) else {
        return Ok(0);
    };
    let settings = load_settings(tx).await?;
    if settings.enabled && !settings.url.is_empty() {
        let (mut seqs, mut streams) = (Vec::new(), Vec::new());
        for row in &rows {
            let category: String = row.try_get(2)?;
            if subscribed(&settings.enabled_events, &category) {
                seqs.push(row.try_get::<_, i64>(0)?);
                streams.push(row.try_get::<_, String>(1)?);
            }
        }
        tx.execute(
            "INSERT INTO webhook_deliveries (seq, stream, status, created_at, next_attempt_at)
             SELECT s, st, 'pending', $3, $3 FROM unnest($1::bigint[], $2::text[]) AS t(s, st)",
            &[&seqs, &streams, &now],
        )
        .await?;
    }
    tx.execute(
        "UPDATE webhook_state SET outbox_seq = $1 WHERE id = 1",
        &[&last],
    )
    .await?;
    Ok(rows.len())
}

async fn record_attempts(store: &PostgresStore, outcomes: &[AttemptOutcome]) -> Result<(), Error> {
    let mut conn = store.conn().await?;
    let tx = conn.transaction().await?;
    let stmt = tx
        .prepare_cached(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, last_attempt_at = $2,
                 last_status_code = $3, last_error = $4, status = $5,
                 next_attempt_at = COALESCE($6, next_attempt_at), finished_at = $7
             WHERE seq = $1 AND status = 'pending'",
        )
        .await?;
    for o in outcomes {
        let (status, retry_at, finished_at) = match o.next {
            NextStep::Delivered => (DeliveryStatus::Delivered, None, Some(o.attempted_at)),
            NextStep::RetryAt(at) => (DeliveryStatus::Pending, Some(at), None),
            NextStep::Failed => (DeliveryStatus::Failed, None, Some(o.attempted_at)),
        };
        tx.execute(
            &stmt,
            &[
                &o.delivery_seq,
                &o.attempted_at,
                &o.status_code.map(i32::from),
                &o.error,
                &status.as_str(),
                &retry_at,
                &finished_at,
            ],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// One batch of [`WebhookStore::prune_webhook_events`]; `before` is (delivered, failed).
async fn prune(
    store: &PostgresStore,
    after_seq: i64,
    (delivered_before, failed_before): (Millis, Millis),
    limit: usize,
) -> Result<Pruned, Error> {
    let mut conn = store.conn().await?;
    let tx = conn.transaction().await?;
    let rows = tx
        .query(
            "SELECT o.seq, o.occurred_at, d.status, d.finished_at FROM outbox o
             LEFT JOIN webhook_deliveries d ON d.seq = o.seq
             WHERE o.seq > $1 AND o.seq <= (SELECT outbox_seq FROM webhook_state WHERE id = 1)
             ORDER BY o.seq LIMIT $2",
            &[&after_seq, &(limit as i64)],
        )
        .await?;
    let mut doomed = Vec::new();
    let mut stopped = false;
    for row in &rows {
        let (seq, occurred_at): (i64, Millis) = (row.try_get(0)?, row.try_get(1)?);
        if occurred_at >= delivered_before {
            stopped = true;
            break;
        }
        let status: Option<String> = row.try_get(2)?;
        let finished = row.try_get::<_, Option<Millis>>(3)?.unwrap_or(Millis::MAX);
        let old = match status.as_deref().map(DeliveryStatus::parse) {
            None => true,
            Some(Some(DeliveryStatus::Delivered)) => finished < delivered_before,
            Some(Some(DeliveryStatus::Failed)) => finished < failed_before,
            Some(Some(DeliveryStatus::Pending) | None) => false,
        };
        if old {
            doomed.push(seq);
        }
    }
    tx.execute(
        "DELETE FROM webhook_deliveries WHERE seq = ANY($1)",
        &[&doomed],
    )
    .await?;
    tx.execute("DELETE FROM outbox WHERE seq = ANY($1)", &[&doomed])
        .await?;
    tx.commit().await?;
    let next = if stopped || rows.len() < limit {
        None
    } else {
        rows.last().map(|r| r.get::<_, i64>(0))
    };
    Ok(Pruned {
        deleted: doomed.len(),
        next,
    })
}

async fn list_deliveries(
    store: &PostgresStore,
    status: Option<DeliveryStatus>,
    page: PageRequest,
) -> Result<Page<Delivery>, Error> {
    let conn = store.conn().await?;
    let (cond, order, limit) = page_clause(&page, "d.seq");
    let status_cond = status
        .map(|s| match s {
            // Undelivered ones are found through their partial index.
            DeliveryStatus::Delivered => " AND d.status = 'delivered'".to_owned(),
            other => format!(
                " AND d.status = '{}' AND d.status <> 'delivered'",
                other.as_str()
            ),
        })
        .unwrap_or_default();
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d JOIN outbox o ON o.seq = d.seq
         WHERE TRUE{status_cond}{cond} ORDER BY d.seq {order} LIMIT {limit}"
    );
    let rows = conn
        .query(&sql, &[])
        .await?
        .iter()
        .map(|row| Ok((row.try_get::<_, i64>(0)?, delivery_from_row(row)?)))
        .collect::<Result<Vec<_>, Error>>()?;
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.seq > {{first}}{status_cond})"
    );
    let newer = has_newer(&conn, &page, &rows, &sql, &[]).await?;
    Ok(into_page(&page, rows, newer))
}

fn delivery_from_row(row: &Row) -> Result<Delivery, Error> {
    let status: String = row.try_get(6)?;
    let status = DeliveryStatus::parse(&status).unwrap_or(DeliveryStatus::Failed);
    let next_attempt_at: i64 = row.try_get(9)?;
    let seq: i64 = row.try_get(0)?;
    let stream: String = row.try_get(2)?;
    let attempts: i64 = row.try_get(7)?;
    let status_code: Option<i32> = row.try_get(11)?;
    Ok(Delivery {
        seq,
        delivery_id: DeliveryId {
            installation: row.try_get(1)?,
            seq,
        },
        stream: StreamKey::decode(&stream).ok_or(Error::Corrupt("stream"))?,
        category: row.try_get(3)?,
        occurred_at: row.try_get(4)?,
        payload: row.try_get(5)?,
        status,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        created_at: row.try_get(8)?,
        next_attempt_at: (status == DeliveryStatus::Pending).then_some(next_attempt_at),
        last_attempt_at: row.try_get(10)?,
        last_status_code: status_code.and_then(|c| u16::try_from(c).ok()),
        last_error: row.try_get(12)?,
        finished_at: row.try_get(13)?,
    })
}
