//! `ClusterStore` on SQLite: a cluster of one node. Only one process uses a database file,
//! so the leases live in memory (they mean nothing after a restart: the restarted node is
//! the whole cluster again) and no other node ever commits an event, so the outbox tail
//! is always empty and complete up to the newest seq.

use crate::SqliteStore;
use async_trait::async_trait;
use opencalls_domain::{DeviceKey, Millis};
use opencalls_store::StoreError;
use opencalls_store::cluster::{ClusterStore, DeviceSeats, NodeId, NodeInfo, NodeLease, Tail};
use std::collections::BTreeMap;
use std::sync::MutexGuard;

/// The leases of the one-process cluster.
#[derive(Default)]
pub(crate) struct Leases {
    nodes: BTreeMap<NodeId, NodeLease>,
    /// dead node → the node cleaning up after it
    claims: BTreeMap<NodeId, NodeId>,
    /// duty → (holder, lease end)
    duties: BTreeMap<String, (NodeId, Millis)>,
}

impl Leases {
    fn alive(&self, node_id: &NodeId, now: Millis) -> bool {
        !self.claims.contains_key(node_id)
            && self.nodes.get(node_id).is_some_and(|l| l.expires_at > now)
    }
}

impl SqliteStore {
    fn leases(&self) -> Result<MutexGuard<'_, Leases>, StoreError> {
        self.inner.leases.lock().map_err(|_| StoreError::Closed)
    }
}

#[async_trait]
impl ClusterStore for SqliteStore {
    async fn register_node(
        &self,
        node: &NodeInfo,
        now: Millis,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        let lease = NodeLease {
            info: node.clone(),
            registered_at: now,
            expires_at: now.saturating_add(lease_ms),
        };
        let mut leases = self.leases()?;
        if leases.claims.contains_key(&node.node_id) {
            return Ok(false);
        }
        leases.nodes.insert(node.node_id.clone(), lease);
        Ok(true)
    }

    async fn renew_node_lease(
        &self,
        node_id: &NodeId,
        now: Millis,
        lease_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut leases = self.leases()?;
        if leases.claims.contains_key(node_id) {
            return Ok(false);
        }
        Ok(match leases.nodes.get_mut(node_id) {
            Some(lease) => {
                lease.expires_at = now.saturating_add(lease_ms);
                true
            }
            None => false,
        })
    }

    async fn live_nodes(&self, now: Millis) -> Result<Vec<NodeLease>, StoreError> {
        let leases = self.leases()?;
        Ok(leases
            .nodes
            .values()
            .filter(|l| leases.alive(&l.info.node_id, now))
            .cloned()
            .collect())
    }

    async fn claim_dead_nodes(
        &self,
        claimer: &NodeId,
        now: Millis,
    ) -> Result<Vec<NodeLease>, StoreError> {
        let mut leases = self.leases()?;
        let dead: Vec<NodeLease> = leases
            .nodes
            .values()
            .filter(|l| l.expires_at <= now && l.info.node_id != *claimer)
            .filter(|l| {
                leases
                    .claims
                    .get(&l.info.node_id)
                    .is_none_or(|by| !leases.alive(by, now))
            })
            .cloned()
            .collect();
        for lease in &dead {
            leases
                .claims
                .insert(lease.info.node_id.clone(), claimer.clone());
        }
        Ok(dead)
    }

    async fn forget_node(&self, node_id: &NodeId, claimer: &NodeId) -> Result<(), StoreError> {
        let mut leases = self.leases()?;
        if leases.claims.get(node_id) == Some(claimer) {
            leases.claims.remove(node_id);
            leases.nodes.remove(node_id);
        }
        Ok(())
    }

    async fn leave_cluster(&self, node_id: &NodeId) -> Result<(), StoreError> {
        let mut leases = self.leases()?;
        leases.nodes.remove(node_id);
        leases.claims.remove(node_id);
        Ok(())
    }

    async fn hold_duty(
        &self,
        duty: &str,
        node_id: &NodeId,
        now: Millis,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut leases = self.leases()?;
        let held_by_other = leases
            .duties
            .get(duty)
            .is_some_and(|(holder, until)| holder != node_id && *until > now);
        if !held_by_other {
            let until = now.saturating_add(ttl_ms);
            leases
                .duties
                .insert(duty.to_owned(), (node_id.clone(), until));
        }
        Ok(!held_by_other)
    }

    async fn release_duty(&self, duty: &str, node_id: &NodeId) -> Result<(), StoreError> {
        let mut leases = self.leases()?;
        if leases.duties.get(duty).is_some_and(|(h, _)| h == node_id) {
            leases.duties.remove(duty);
        }
        Ok(())
    }

    async fn outbox_head(&self) -> Result<i64, StoreError> {
        self.read_point(|conn| {
            Ok(conn
                .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM outbox")?
                .query_row([], |row| row.get::<_, i64>(0))?)
        })
        .await
    }

    async fn events_from_other_nodes(
        &self,
        _node_id: &NodeId,
        after_seq: i64,
        _limit: usize,
    ) -> Result<Tail, StoreError> {
        // One process, one node: every event here is the asking node's own.
        let head = self.outbox_head().await?;
        Ok(Tail {
            events: Vec::new(),
            through: head.max(after_seq),
        })
    }

    async fn hold_device(
        &self,
        device: &DeviceKey,
        node: &NodeId,
        since: Millis,
    ) -> Result<Option<NodeId>, StoreError> {
        self.hold_device_row(device, node, since).await
    }

    async fn device_holder(&self, device: &DeviceKey) -> Result<Option<NodeId>, StoreError> {
        self.device_holder_row(device).await
    }

    async fn release_device(&self, device: &DeviceKey, node: &NodeId) -> Result<bool, StoreError> {
        self.release_device_row(device, node).await
    }

    async fn devices_held_by(
        &self,
        node: &NodeId,
        limit: usize,
    ) -> Result<Vec<DeviceKey>, StoreError> {
        self.device_rows_held_by(node, limit).await
    }

    async fn device_seats(&self, device: &DeviceKey) -> Result<DeviceSeats, StoreError> {
        self.device_seat_rows(device).await
    }

    async fn forget_device_holders(&self) -> Result<u64, StoreError> {
        self.forget_holder_rows().await
    }
}
