//! Cluster membership, duties and the outbox tail ([`crate::ClusterStore`]): leases run
//! out exactly when they say, a dead node is claimed by one caller, a duty has one holder,
//! and a node never hears back its own events. Run by [`crate::cluster_conformance_tests!`].

use super::fixtures::new_room;
use crate::Store;
use crate::cluster::{ClusterStore, NodeId, NodeInfo};
use std::sync::Arc;

/// A fresh store seen both ways, and the node its own commits are recorded as.
pub struct TestCluster {
    pub cluster: Arc<dyn ClusterStore>,
    pub store: Arc<dyn Store>,
    pub node: NodeId,
    pub keep: Box<dyn std::any::Any + Send>,
}

fn node(id: &str) -> NodeInfo {
    NodeInfo {
        node_id: NodeId::parse(id).unwrap(),
        http_addr: format!("{id}.test:8080"),
        media_addr: format!("{id}.test:3478"),
    }
}

fn ids(nodes: &[crate::NodeLease]) -> Vec<&str> {
    nodes.iter().map(|n| n.info.node_id.as_str()).collect()
}

pub async fn nodes_are_alive_until_their_lease_runs_out(t: TestCluster) {
    let c = &*t.cluster;
    c.register_node(&node("a"), 1_000, 500).await.unwrap();
    c.register_node(&node("b"), 1_000, 900).await.unwrap();
    let live = c.live_nodes(1_000).await.unwrap();
    assert_eq!(ids(&live), ["a", "b"]);
    assert_eq!(live[0].info, node("a"));
    assert_eq!((live[0].registered_at, live[0].expires_at), (1_000, 1_500));
    assert_eq!(ids(&c.live_nodes(1_499).await.unwrap()), ["a", "b"]);
    assert_eq!(ids(&c.live_nodes(1_500).await.unwrap()), ["b"]);
    // Renewing moves the end of the lease, not the registration time.
    let a = NodeId::parse("a").unwrap();
    assert!(c.renew_node_lease(&a, 1_400, 500).await.unwrap());
    let live = c.live_nodes(1_800).await.unwrap();
    assert_eq!(ids(&live), ["a", "b"]);
    assert_eq!((live[0].registered_at, live[0].expires_at), (1_000, 1_900));
    c.leave_cluster(&a).await.unwrap();
    assert_eq!(ids(&c.live_nodes(1_000).await.unwrap()), ["b"]);
    assert!(!c.renew_node_lease(&a, 1_000, 500).await.unwrap());
}

pub async fn each_dead_node_is_claimed_by_exactly_one_caller(t: TestCluster) {
    let c = t.cluster.clone();
    for id in ["a", "b", "c"] {
        c.register_node(&node(id), 0, 100).await.unwrap();
    }
    c.renew_node_lease(&NodeId::parse("c").unwrap(), 50, 1_000)
        .await
        .unwrap();
    assert!(c.claim_dead_nodes(99).await.unwrap().is_empty());
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.claim_dead_nodes(100).await.unwrap() })
        })
        .collect();
    let mut claimed = Vec::new();
    for racer in racers {
        claimed.extend(racer.await.unwrap());
    }
    claimed.sort_by(|x, y| x.info.node_id.cmp(&y.info.node_id));
    assert_eq!(ids(&claimed), ["a", "b"]);
    assert_eq!(claimed[0].info, node("a"));
    assert_eq!(ids(&c.live_nodes(100).await.unwrap()), ["c"]);
    // A claimed node learns it was declared dead when it next renews, and comes back.
    let a = NodeId::parse("a").unwrap();
    assert!(!c.renew_node_lease(&a, 120, 100).await.unwrap());
    c.register_node(&node("a"), 120, 100).await.unwrap();
    assert_eq!(ids(&c.live_nodes(121).await.unwrap()), ["a", "c"]);
}

pub async fn a_duty_has_one_holder_until_its_lease_runs_out(t: TestCluster) {
    let c = &*t.cluster;
    let (a, b) = (NodeId::parse("a").unwrap(), NodeId::parse("b").unwrap());
    assert!(c.hold_duty("webhooks", &a, 0, 100).await.unwrap());
    assert!(!c.hold_duty("webhooks", &b, 50, 100).await.unwrap());
    // Another duty is independent.
    assert!(c.hold_duty("janitor", &b, 50, 100).await.unwrap());
    // The holder renews; the other still waits until the renewed lease runs out.
    assert!(c.hold_duty("webhooks", &a, 90, 100).await.unwrap());
    assert!(!c.hold_duty("webhooks", &b, 189, 100).await.unwrap());
    assert!(c.hold_duty("webhooks", &b, 190, 100).await.unwrap());
    assert!(!c.hold_duty("webhooks", &a, 200, 100).await.unwrap());
    // Releasing hands it over at once; releasing what one does not hold changes nothing.
    c.release_duty("webhooks", &a).await.unwrap();
    assert!(!c.hold_duty("webhooks", &a, 201, 100).await.unwrap());
    c.release_duty("webhooks", &b).await.unwrap();
    assert!(c.hold_duty("webhooks", &a, 202, 100).await.unwrap());
}

pub async fn a_node_does_not_hear_its_own_events_and_the_tail_reaches_the_head(t: TestCluster) {
    let (c, store) = (&*t.cluster, &*t.store);
    let start = c.outbox_head().await.unwrap();
    new_room(store, 1).await;
    new_room(store, 2).await;
    let head = c.outbox_head().await.unwrap();
    assert!(head > start, "head {head} did not pass {start}");
    let tail = c
        .events_from_other_nodes(&t.node, start, 100)
        .await
        .unwrap();
    assert!(tail.events.is_empty(), "{:?}", tail.events);
    assert_eq!(tail.through, head);
    let later = c.events_from_other_nodes(&t.node, head, 100).await.unwrap();
    assert!(later.events.is_empty());
    assert_eq!(later.through, head);
}
