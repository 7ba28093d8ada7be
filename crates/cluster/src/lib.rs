//! A cluster of nodes sharing one database (docs/cluster.md). Each node runs, beside its
//! HTTP server and SFU:
//! - [`membership`]: registers the node, renews its lease, notices dead nodes (their lease
//!   ran out) and hands each one to exactly one survivor's clean-up;
//! - [`tail`]: reads the events other nodes committed, in order and without gaps, and
//!   publishes them on the local `EventBus`, so devices here hear them like local ones;
//! - [`duty`]: runs cluster-wide singletons (webhook delivery) on whichever one live node
//!   holds the duty's lease.
//!
//! All three only talk to the database through [`opencalls_store::ClusterStore`]; a
//! one-process backend (SQLite) makes them a cluster of one node at no cost.
#![forbid(unsafe_code)]

pub mod duty;
pub mod membership;
pub mod tail;

use opencalls_store::NodeInfo;
use std::time::Duration;

/// How a node takes part in the cluster (`OPENCALLS_NODE_*`, docs/configuration.md).
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    pub node: NodeInfo,
    /// A node that has not renewed its lease for this long counts as dead; it renews every
    /// third of it.
    pub lease: Duration,
    /// How often the outbox tail is read for other nodes' events.
    pub tail_poll: Duration,
}

impl ClusterConfig {
    /// How often leases are renewed and dead nodes looked for.
    pub fn renew_every(&self) -> Duration {
        (self.lease / 3).max(Duration::from_millis(10))
    }
}

pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
