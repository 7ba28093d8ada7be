//! A cluster of nodes sharing one database (docs/cluster.md). Each node runs, beside its
//! HTTP server and SFU:
//! - [`membership`]: registers the node, renews its lease, notices dead nodes (their lease
//!   ran out) and hands each one to exactly one survivor's clean-up;
//! - [`tail`]: reads the events other nodes committed, in order and without gaps, and
//!   publishes them on the local `EventBus`, so devices here hear them like local ones;
//! - [`duty`]: runs cluster-wide singletons (webhook delivery) on whichever one live node
//!   holds the duty's lease;
//! - [`chat`]: listens to what other nodes say without storing it: chat and other live
//!   frames for this node's devices, node-to-node messages (revocations, moved devices),
//!   and the outbox sequencer's wake-ups for the tail.
//! - [`media`]: places each call's media on one node's SFU and carries what other nodes'
//!   devices do about it there, and its client events back.
//!
//! They only talk to the database through [`opencalls_store::ClusterStore`] (chat through
//! [`opencalls_store::ChatStore`], media through [`opencalls_store::MediaStore`]); a
//! one-process backend (SQLite) makes them a cluster of one node at no cost (and has no
//! chat relay nor media placement).
#![forbid(unsafe_code)]

pub mod chat;
pub mod duty;
pub mod media;
pub mod membership;
pub mod relisten;
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
    /// How often the outbox tail is read for other nodes' events when nothing woke it.
    pub tail_poll: Duration,
}

impl ClusterConfig {
    /// How often the node renews its lease (at least this often, while it can).
    pub fn renew_every(&self) -> Duration {
        (self.lease / 3).max(Duration::from_millis(10))
    }

    /// How often dead nodes are looked for.
    pub fn check_every(&self) -> Duration {
        (self.lease / 10).max(Duration::from_millis(10))
    }

    /// The lease a node records for itself: `lease` less one check, so a node that dies
    /// is claimed by a survivor within `lease` of its death (its record runs out at most
    /// this long after its last renewal, and a survivor looks within one check after).
    pub fn recorded_lease(&self) -> Duration {
        self.lease
            .saturating_sub(self.check_every())
            .max(Duration::from_millis(10))
    }

    /// How long a node that cannot renew its lease keeps acting as a live node: it fences
    /// itself (closes its WebSockets, drops its media groups, refuses new `hello`s) once
    /// this long has passed since it *sent* its last successful renewal. Its record runs
    /// out [`ClusterConfig::recorded_lease`] after that same instant (the renewal's `now`
    /// is taken before it is sent), and survivors claim it only then: the margin is two
    /// checks (a fifth of the lease, 2 s by default), which must cover the clock
    /// difference between nodes (survivors compare the record with their own clock) and
    /// the time the fencing takes.
    pub fn fence_after(&self) -> Duration {
        self.recorded_lease()
            .saturating_sub(self.check_every() * 2)
            .max(Duration::from_millis(5))
    }
}

pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opencalls_store::NodeId;

    fn config(lease_ms: u64) -> ClusterConfig {
        ClusterConfig {
            node: NodeInfo {
                node_id: NodeId::parse("n").unwrap(),
                http_addr: String::new(),
                media_addr: String::new(),
            },
            lease: Duration::from_millis(lease_ms),
            tail_poll: Duration::from_millis(10),
        }
    }

    #[test]
    fn a_dead_node_is_claimed_within_the_lease_and_a_live_one_renews_twice_per_record() {
        for lease_ms in [300, 600, 10_000, 60_000] {
            let c = config(lease_ms);
            // Death right after a renewal: the record runs out, then one check at most.
            assert!(
                c.recorded_lease() + c.check_every() <= c.lease,
                "{lease_ms}"
            );
            // A live node gets two renewals in before its record runs out.
            assert!(
                c.renew_every() * 2 + c.check_every() < c.recorded_lease(),
                "{lease_ms}"
            );
            // A node that cannot renew fences itself two checks before survivors may
            // claim it, and not before two renewals failed.
            assert!(
                c.fence_after() + c.check_every() * 2 <= c.recorded_lease(),
                "{lease_ms}"
            );
            assert!(c.fence_after() > c.renew_every() * 2, "{lease_ms}");
        }
    }
}
