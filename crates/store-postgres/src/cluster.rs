//! `ClusterStore` on PostgreSQL: node and duty leases in their own tables, and the outbox
//! tail.
//!
//! - Each connection of a node's pool carries the node id as the setting
//!   `opencalls.node_id` ([`PostgresStore::open_node`]); the outbox's `origin` column takes
//!   it as its default, so every append records its node without the write paths knowing.
//!   `event` holds the event's full form (`Event::encode`), written by `append_events`.
//! - The tail first runs the sequencer (`outbox::sequence`, which numbers committed rows),
//!   then reads `seq > after ORDER BY seq`: numbered seqs are gap-free and commit-ordered
//!   per stream (see the crate doc), so everything up to the last seq read is final and
//!   `through` can move to it.
//! - A dead node is claimed by an `UPDATE … SET claimed_by = <claimer> … RETURNING` of the
//!   expired rows nobody alive claimed: concurrent claimers block on the row, and the
//!   others find it claimed by a live node when they recheck it. The row stays (not alive:
//!   a claimed node cannot renew) until its claimer deletes it, its clean-up done
//!   (migration 7). A duty is taken by an upsert that only overwrites the holder's own row
//!   or an expired one.
//! - Registering, renewing, claiming and holding duties run on the lease pool
//!   (`PostgresStore::lease_conn`), never queued behind requests: a node whose renewal
//!   waits past its fencing margin closes every WebSocket it serves.

use crate::PostgresStore;
use crate::error::Error;
use async_trait::async_trait;
use opencalls_domain::{DeviceKey, Event, Millis};
use opencalls_store::StoreError;
use opencalls_store::cluster::{ClusterStore, DeviceSeats, NodeId, NodeInfo, NodeLease, Tail};
use tokio_postgres::Row;

/// Migration 2: the cluster's tables and the outbox's origin and full event.
pub(crate) const SCHEMA: &str = r#"
CREATE TABLE cluster_nodes (
    node_id       TEXT PRIMARY KEY,
    http_addr     TEXT NOT NULL,
    media_addr    TEXT NOT NULL,
    registered_at BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE TABLE cluster_duties (
    duty       TEXT PRIMARY KEY,
    node_id    TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
ALTER TABLE outbox
    ADD COLUMN origin TEXT NOT NULL DEFAULT COALESCE(current_setting('opencalls.node_id', true), ''),
    ADD COLUMN event TEXT;
"#;

/// Migration 7: a dead node stays recorded, claimed, until its clean-up is done.
pub(crate) const CLAIMS: &str = r#"
ALTER TABLE cluster_nodes ADD COLUMN claimed_by TEXT;
"#;

/// The connection setting naming the node (a custom, dotted setting).
pub(crate) const NODE_SETTING: &str = "opencalls.node_id";

const NODE_COLUMNS: &str = "node_id, http_addr, media_addr, registered_at, expires_at";

fn lease_from_row(row: &Row) -> Result<NodeLease, Error> {
    let id: String = row.try_get(0)?;
    Ok(NodeLease {
        info: NodeInfo {
            node_id: NodeId::parse(&id).ok_or(Error::Corrupt("node id"))?,
            http_addr: row.try_get(1)?,
            media_addr: row.try_get(2)?,
        },
        registered_at: row.try_get(3)?,
        expires_at: row.try_get(4)?,
    })
}

#[async_trait]
impl ClusterStore for PostgresStore {
    async fn register_node(
        &self,
        node: &NodeInfo,
        now: Millis,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        let conn = self.lease_conn().await?;
        let n = conn.execute(
            "INSERT INTO cluster_nodes (node_id, http_addr, media_addr, registered_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (node_id) DO UPDATE SET http_addr = EXCLUDED.http_addr,
                 media_addr = EXCLUDED.media_addr, registered_at = EXCLUDED.registered_at,
                 expires_at = EXCLUDED.expires_at
             WHERE cluster_nodes.claimed_by IS NULL",
            &[
                &node.node_id.as_str(),
                &node.http_addr,
                &node.media_addr,
                &now,
                &now.saturating_add(lease_ms),
            ],
        )
        .await
        .map_err(Error::from)?;
        Ok(n == 1)
    }

    async fn renew_node_lease(
        &self,
        node_id: &NodeId,
        now: Millis,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        let conn = self.lease_conn().await?;
        let n = conn
            .execute(
                "UPDATE cluster_nodes SET expires_at = $2
                 WHERE node_id = $1 AND claimed_by IS NULL",
                &[&node_id.as_str(), &now.saturating_add(lease_ms)],
            )
            .await
            .map_err(Error::from)?;
        Ok(n == 1)
    }

    async fn live_nodes(&self, now: Millis) -> Result<Vec<NodeLease>, StoreError> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                &format!(
                    "SELECT {NODE_COLUMNS} FROM cluster_nodes
                     WHERE expires_at > $1 AND claimed_by IS NULL ORDER BY node_id"
                ),
                &[&now],
            )
            .await
            .map_err(Error::from)?;
        Ok(rows.iter().map(lease_from_row).collect::<Result<_, _>>()?)
    }

    async fn claim_dead_nodes(
        &self,
        claimer: &NodeId,
        now: Millis,
    ) -> Result<Vec<NodeLease>, StoreError> {
        let conn = self.lease_conn().await?;
        // A claimer blocked on a row another one just claimed rechecks it (READ COMMITTED)
        // and finds it claimed by a live node.
        let rows = conn
            .query(
                &format!(
                    "UPDATE cluster_nodes d SET claimed_by = $2
                     WHERE d.expires_at <= $1 AND d.node_id <> $2
                       AND (d.claimed_by IS NULL OR NOT EXISTS (
                           SELECT 1 FROM cluster_nodes c WHERE c.node_id = d.claimed_by
                               AND c.expires_at > $1 AND c.claimed_by IS NULL))
                     RETURNING {NODE_COLUMNS}"
                ),
                &[&now, &claimer.as_str()],
            )
            .await
            .map_err(Error::from)?;
        Ok(rows.iter().map(lease_from_row).collect::<Result<_, _>>()?)
    }

    async fn forget_node(&self, node_id: &NodeId, claimer: &NodeId) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        conn.execute(
            "DELETE FROM cluster_nodes WHERE node_id = $1 AND claimed_by = $2",
            &[&node_id.as_str(), &claimer.as_str()],
        )
        .await
        .map_err(Error::from)?;
        Ok(())
    }

    async fn leave_cluster(&self, node_id: &NodeId) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        conn.execute(
            "DELETE FROM cluster_nodes WHERE node_id = $1",
            &[&node_id.as_str()],
        )
        .await
        .map_err(Error::from)?;
        Ok(())
    }

    async fn hold_duty(
        &self,
        duty: &str,
        node_id: &NodeId,
        now: Millis,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        let conn = self.lease_conn().await?;
        let rows = conn
            .query(
                "INSERT INTO cluster_duties (duty, node_id, expires_at) VALUES ($1, $2, $4)
                 ON CONFLICT (duty) DO UPDATE
                     SET node_id = EXCLUDED.node_id, expires_at = EXCLUDED.expires_at
                     WHERE cluster_duties.node_id = EXCLUDED.node_id
                        OR cluster_duties.expires_at <= $3
                 RETURNING node_id",
                &[&duty, &node_id.as_str(), &now, &now.saturating_add(ttl_ms)],
            )
            .await
            .map_err(Error::from)?;
        Ok(!rows.is_empty())
    }

    async fn release_duty(&self, duty: &str, node_id: &NodeId) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        conn.execute(
            "DELETE FROM cluster_duties WHERE duty = $1 AND node_id = $2",
            &[&duty, &node_id.as_str()],
        )
        .await
        .map_err(Error::from)?;
        Ok(())
    }

    async fn outbox_head(&self) -> Result<i64, StoreError> {
        // Numbers what has committed so far: the head is then everything committed.
        self.sequence_outbox().await
    }

    async fn events_from_other_nodes(
        &self,
        node_id: &NodeId,
        after_seq: i64,
        limit: usize,
    ) -> Result<Tail, StoreError> {
        // Rows are numbered (commit-ordered, gap-free) by the sequencer, not by writers.
        self.sequence_outbox().await?;
        let conn = self.tail_conn().await?;
        let limit = i64::try_from(limit.max(1)).unwrap_or(i64::MAX);
        let rows = conn
            .query(
                "SELECT seq, origin, event FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2",
                &[&after_seq, &limit],
            )
            .await
            .map_err(Error::from)?;
        let mut tail = Tail {
            events: Vec::new(),
            through: after_seq,
        };
        for row in &rows {
            let seq: i64 = row.try_get(0).map_err(Error::from)?;
            tail.through = seq;
            let origin: &str = row.try_get(1).map_err(Error::from)?;
            if origin == node_id.as_str() {
                continue;
            }
            let raw: Option<&str> = row.try_get(2).map_err(Error::from)?;
            match raw.and_then(Event::decode) {
                Some(event) => tail.events.push((seq, event)),
                // Appended before the cluster migration: nobody live is waiting for it.
                None => tracing::warn!(seq, "outbox event without its full form; not relayed"),
            }
        }
        Ok(tail)
    }

    async fn hold_device(
        &self,
        device: &DeviceKey,
        node: &NodeId,
        since: Millis,
    ) -> Result<Option<NodeId>, StoreError> {
        Ok(self.hold_device_row(device, node, since).await?)
    }

    async fn device_holder(&self, device: &DeviceKey) -> Result<Option<NodeId>, StoreError> {
        Ok(self.device_holder_row(device).await?)
    }

    async fn release_device(&self, device: &DeviceKey, node: &NodeId) -> Result<bool, StoreError> {
        Ok(self.release_device_row(device, node).await?)
    }

    async fn devices_held_by(
        &self,
        node: &NodeId,
        limit: usize,
    ) -> Result<Vec<DeviceKey>, StoreError> {
        Ok(self.device_rows_held_by(node, limit).await?)
    }

    async fn device_seats(&self, device: &DeviceKey) -> Result<DeviceSeats, StoreError> {
        Ok(self.device_seat_rows(device).await?)
    }

    async fn forget_device_holders(&self) -> Result<u64, StoreError> {
        Ok(self.forget_holder_rows().await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDatabase;
    use std::time::Duration;

    /// Far below the request pool's wait (`POOL_WAIT`, 120 s): a renewal queued behind
    /// the busy request connection would miss it.
    const PROMPT: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn the_lease_and_duties_are_renewed_while_every_request_connection_is_busy() {
        let db = TestDatabase::create().await.unwrap();
        let node_id = NodeId::parse("a").unwrap();
        let store = PostgresStore::open_node(db.url(), 1, Some(&node_id))
            .await
            .unwrap();
        let node = NodeInfo {
            node_id: node_id.clone(),
            http_addr: "127.0.0.1:1".into(),
            media_addr: "127.0.0.1:2".into(),
        };
        assert!(store.register_node(&node, 1_000, 10_000).await.unwrap());
        // The request pool's only connection is taken, as by a long burst of requests.
        let busy = store.conn().await.unwrap();
        let renewed = tokio::time::timeout(PROMPT, store.renew_node_lease(&node_id, 2_000, 10_000));
        assert!(
            renewed
                .await
                .expect("renewal waited for a request connection")
                .unwrap()
        );
        let claimed = tokio::time::timeout(PROMPT, store.claim_dead_nodes(&node_id, 3_000));
        let claimed = claimed
            .await
            .expect("the claim waited for a request connection");
        assert!(claimed.unwrap().is_empty());
        let held =
            tokio::time::timeout(PROMPT, store.hold_duty("webhooks", &node_id, 3_000, 10_000));
        assert!(
            held.await
                .expect("the duty waited for a request connection")
                .unwrap()
        );
        drop(busy);
    }
}
