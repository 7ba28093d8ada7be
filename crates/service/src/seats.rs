//! Which node holds each device's seats, for a cluster (docs/cluster.md, "Node failure").
//!
//! The hub of the node a device says `hello` to records itself as the holder
//! ([`SeatHolders::hold`]); when the device was held by another node, it resumes the seats
//! the store lists for it ([`SeatHolders::seats_of`]). Whoever wants to exit a device's
//! seats (its node when the reconnect grace runs out, or the survivor that claimed its dead
//! node) first releases it ([`SeatHolders::release_for`]): only the holder can, atomically,
//! so a device that moved is never exited by the node it left.

use crate::ServiceError;
use opencalls_domain::DeviceKey;
use opencalls_runtime::Clock;
use opencalls_store::{ClusterStore, NodeId};
pub use opencalls_store::{DeviceSeats, HeldLiveSeat};
use std::sync::Arc;

/// The seat holders as seen from one node.
#[derive(Clone)]
pub struct SeatHolders {
    cluster: Arc<dyn ClusterStore>,
    node: NodeId,
    clock: Arc<dyn Clock>,
}

impl SeatHolders {
    pub fn new(cluster: Arc<dyn ClusterStore>, node: NodeId, clock: Arc<dyn Clock>) -> Self {
        Self {
            cluster,
            node,
            clock,
        }
    }

    /// This node.
    pub fn node(&self) -> &NodeId {
        &self.node
    }

    /// Makes this node the device's holder; returns the node that held it before, if
    /// another one did (its seats are then this node's to resume).
    pub async fn hold(&self, device: &DeviceKey) -> Result<Option<NodeId>, ServiceError> {
        let now = self.clock.now();
        self.cluster
            .hold_device(device, &self.node, now)
            .await
            .map_err(store_error)
    }

    /// Makes `node` the device's holder again (undoing a [`SeatHolders::hold`] whose
    /// seats this node could not take over).
    pub async fn hold_for(&self, device: &DeviceKey, node: &NodeId) -> Result<(), ServiceError> {
        let now = self.clock.now();
        self.cluster
            .hold_device(device, node, now)
            .await
            .map(drop)
            .map_err(store_error)
    }

    /// The node holding the device's seats now, if any.
    pub async fn holder(&self, device: &DeviceKey) -> Result<Option<NodeId>, ServiceError> {
        self.cluster
            .device_holder(device)
            .await
            .map_err(store_error)
    }

    /// Releases the device if this node holds it: `true` if so (the caller exits its seats).
    pub async fn release(&self, device: &DeviceKey) -> Result<bool, ServiceError> {
        self.release_for(device, &self.node.clone()).await
    }

    /// Releases the device if `node` holds it (a survivor acting for a dead node).
    pub async fn release_for(
        &self,
        device: &DeviceKey,
        node: &NodeId,
    ) -> Result<bool, ServiceError> {
        self.cluster
            .release_device(device, node)
            .await
            .map_err(store_error)
    }

    /// Forgets every holder record (this node starts alone, before it serves; see
    /// `ClusterStore::forget_device_holders`).
    pub async fn forget_all(&self) -> Result<u64, ServiceError> {
        self.cluster
            .forget_device_holders()
            .await
            .map_err(store_error)
    }

    /// Up to `limit` devices `node` holds.
    pub async fn held_by(
        &self,
        node: &NodeId,
        limit: usize,
    ) -> Result<Vec<DeviceKey>, ServiceError> {
        self.cluster
            .devices_held_by(node, limit)
            .await
            .map_err(store_error)
    }

    /// The device's seats that have not exited, as the store has them.
    pub async fn seats_of(&self, device: &DeviceKey) -> Result<DeviceSeats, ServiceError> {
        self.cluster.device_seats(device).await.map_err(store_error)
    }
}

fn store_error(err: opencalls_store::StoreError) -> ServiceError {
    ServiceError::from_store("device")(err)
}
