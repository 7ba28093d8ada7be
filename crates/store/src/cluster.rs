//! What the nodes of a cluster share through the database: who is alive (node leases),
//! who carries out a cluster-wide duty (duty leases), and the committed events that other
//! nodes must hear (the outbox tail). See docs/cluster.md.
//!
//! Invariants every implementation keeps:
//! - a node is alive while its lease has not run out; [`ClusterStore::claim_dead_nodes`]
//!   hands each node whose lease ran out to exactly one live claimer at a time, and the
//!   node stays recorded (claimed, not alive) until that claimer is done with its clean-up
//!   ([`ClusterStore::forget_node`]); if the claimer dies first, the dead node is claimed
//!   again by another survivor, so every dead node's clean-up is finished by someone;
//! - a duty is held by at most one node at a time: a holder that stops renewing loses it
//!   once its lease runs out, never earlier;
//! - each device (`user_id`, `client_id`) with a connection or a reconnect grace running has
//!   at most one *holder*, the node whose hub keeps its seats: [`ClusterStore::hold_device`]
//!   moves it atomically (compare-and-set on the holder), and [`ClusterStore::release_device`]
//!   removes it only for the node that holds it, so of a device's old node, its new node
//!   and a survivor cleaning up after a dead node, exactly one decides its seats' fate;
//! - [`ClusterStore::events_from_other_nodes`] returns the events other nodes committed
//!   after a seq in an order that keeps each stream's commit order, and never skips one:
//!   `through` only passes an event once it is committed (or can no longer commit).
//!
//! A backend that only one process can use (SQLite) keeps the leases in memory: it is a
//! cluster of one node, so no other node ever commits an event.

use crate::StoreError;
use async_trait::async_trait;
use opencalls_domain::{DeviceKey, Event, HostId, LiveEventId, Millis, ParticipantId, RoomId};
use std::fmt;

/// A node's identity in the cluster (`OPENCALLS_NODE_ID`, or generated at start).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(String);

/// The longest node id accepted from configuration (`OPENCALLS_NODE_ID`).
pub const MAX_NODE_ID_LEN: usize = 64;

/// The hex digits of a run's mark (see [`NodeId::for_run`]).
const RUN_MARK_LEN: usize = 8;

impl NodeId {
    /// `None` unless 1–73 ASCII letters, digits, `-`, `_` or `.` (a configured id of up to
    /// [`MAX_NODE_ID_LEN`] with its run's mark).
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = !raw.is_empty()
            && raw.len() <= MAX_NODE_ID_LEN + 1 + RUN_MARK_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        ok.then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// This id for one run of a node: `<id>.<mark>` (8 hex digits). Each run is a node of
    /// its own in the cluster, so a node restarted under the same configured id before its
    /// lease ran out does not take over its previous run's lease and seat holders: that
    /// run is claimed and cleaned up like any dead node (its devices resume on any node,
    /// this one included, or exit after the grace).
    pub fn for_run(&self, mark: u32) -> Self {
        Self(format!("{}.{mark:08x}", self.0))
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a node tells the others about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInfo {
    pub node_id: NodeId,
    /// Where other nodes reach its HTTP server (node-to-node calls).
    pub http_addr: String,
    /// Its SFU's advertised media address.
    pub media_addr: String,
}

/// A registered node and its lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeLease {
    pub info: NodeInfo,
    /// When it (last) registered.
    pub registered_at: Millis,
    /// It counts as dead from this time on, unless it renews first.
    pub expires_at: Millis,
}

/// Events other nodes committed, and how far the answer is complete.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tail {
    /// `(seq, event)` in an order that keeps each stream's commit order.
    pub events: Vec<(i64, Event)>,
    /// Continue after this seq next time: every event at or below it is either in
    /// `events`, was committed by the asking node, or was returned before.
    pub through: i64,
}

/// A live-event seat as the store knows it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum HeldLiveSeat {
    Host(HostId),
    Participant(ParticipantId),
}

/// The seats a device holds now: its room participants and live-event hosts and
/// participants that have not exited.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceSeats {
    /// By room id.
    pub rooms: Vec<(RoomId, ParticipantId)>,
    /// By live event id.
    pub live: Vec<(LiveEventId, HeldLiveSeat)>,
}

impl DeviceSeats {
    pub fn is_empty(&self) -> bool {
        self.rooms.is_empty() && self.live.is_empty()
    }
}

/// The most seats of each kind [`ClusterStore::device_seats`] returns (a device holds far
/// fewer: see the hub's per-user limits).
pub const MAX_DEVICE_SEATS: usize = 1_000;

#[async_trait]
pub trait ClusterStore: Send + Sync {
    /// Registers `node` (again, after it was declared dead) with a lease until
    /// `now + lease_ms`. `false` (nothing changed) while the node is claimed: a survivor is
    /// cleaning up after it, and it may register again once that is done.
    async fn register_node(
        &self,
        node: &NodeInfo,
        now: Millis,
        lease_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Extends the lease to `now + lease_ms`. `false` if the node is not registered (it
    /// was declared dead and cleaned up meanwhile): it must register again.
    async fn renew_node_lease(
        &self,
        node_id: &NodeId,
        now: Millis,
        lease_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Nodes whose lease runs past `now`, by node id.
    async fn live_nodes(&self, now: Millis) -> Result<Vec<NodeLease>, StoreError>;

    /// Claims for `claimer` and returns the nodes whose lease ran out at or before `now` and
    /// that nobody alive has claimed (never claimed, or claimed by a node that is not
    /// alive at `now`); each one is returned to exactly one caller at a time. A claimed
    /// node is not alive and cannot renew; it stays recorded until
    /// [`ClusterStore::forget_node`].
    async fn claim_dead_nodes(
        &self,
        claimer: &NodeId,
        now: Millis,
    ) -> Result<Vec<NodeLease>, StoreError>;

    /// Forgets `node_id` if `claimer` holds its claim: the clean-up after it is done.
    async fn forget_node(&self, node_id: &NodeId, claimer: &NodeId) -> Result<(), StoreError>;

    /// Removes the node at once (a clean shutdown).
    async fn leave_cluster(&self, node_id: &NodeId) -> Result<(), StoreError>;

    /// Takes or renews the lease on `duty` until `now + ttl_ms`. `true` if `node_id` holds
    /// it; `false` if another node's lease on it has not run out.
    async fn hold_duty(
        &self,
        duty: &str,
        node_id: &NodeId,
        now: Millis,
        ttl_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Gives `duty` up if `node_id` holds it, so another node can take it at once.
    async fn release_duty(&self, duty: &str, node_id: &NodeId) -> Result<(), StoreError>;

    /// The seq of the newest event committed so far: a node starts tailing after it.
    async fn outbox_head(&self) -> Result<i64, StoreError>;

    /// Up to `limit` events committed by nodes other than `node_id` after `after_seq`.
    async fn events_from_other_nodes(
        &self,
        node_id: &NodeId,
        after_seq: i64,
        limit: usize,
    ) -> Result<Tail, StoreError>;

    /// Records `node` as the holder of the device's seats (`since` = now). Returns the
    /// previous holder when it was another node: the device moved, and its seats are now
    /// `node`'s to resume. One atomic step, so concurrent moves and releases of one device
    /// are serialized.
    async fn hold_device(
        &self,
        device: &DeviceKey,
        node: &NodeId,
        since: Millis,
    ) -> Result<Option<NodeId>, StoreError>;

    /// The node that holds the device's seats now, if any.
    async fn device_holder(&self, device: &DeviceKey) -> Result<Option<NodeId>, StoreError>;

    /// Forgets the device's holder if it is `node`, atomically. `true` if it was: the
    /// caller then decides the fate of the device's seats (exits them); `false` if another
    /// node holds them now (the device moved), or nobody does.
    async fn release_device(&self, device: &DeviceKey, node: &NodeId) -> Result<bool, StoreError>;

    /// Up to `limit` devices whose holder is `node`, by user and client id.
    async fn devices_held_by(
        &self,
        node: &NodeId,
        limit: usize,
    ) -> Result<Vec<DeviceKey>, StoreError>;

    /// The seats the device holds now (up to [`MAX_DEVICE_SEATS`] of each kind).
    async fn device_seats(&self, device: &DeviceKey) -> Result<DeviceSeats, StoreError>;

    /// Removes every holder record; returns how many went. For a node that starts alone,
    /// before it serves: the records are left by a previous run, whose seats it exits.
    async fn forget_device_holders(&self) -> Result<u64, StoreError>;
}
