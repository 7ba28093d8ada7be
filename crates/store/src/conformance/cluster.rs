//! Cluster membership, duties and the outbox tail ([`crate::ClusterStore`]): leases run
//! out exactly when they say, a dead node is claimed by one caller, a duty has one holder,
//! a node never hears back its own events, and a device's seats have one holder that moves
//! and is released atomically. Run by [`crate::cluster_conformance_tests!`].

use super::fixtures::{enter_request, host, live_participant, new_room, ready_live_event};
use crate::cluster::{ClusterStore, DeviceSeats, HeldLiveSeat, NodeId, NodeInfo};
use crate::{ParticipantScope, Store};
use opencalls_domain::{ClientId, DeviceKey, LiveEventId, ParticipantId, RoomId, UserId};
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
    let live = NodeId::parse("c").unwrap();
    c.renew_node_lease(&live, 50, 1_000).await.unwrap();
    assert!(c.claim_dead_nodes(&live, 99).await.unwrap().is_empty());
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let (c, live) = (c.clone(), live.clone());
            tokio::spawn(async move { c.claim_dead_nodes(&live, 100).await.unwrap() })
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
    // A claimed node learns it was declared dead when it next renews, and comes back once
    // its clean-up is done (not before).
    let a = NodeId::parse("a").unwrap();
    assert!(!c.renew_node_lease(&a, 120, 100).await.unwrap());
    assert!(!c.register_node(&node("a"), 120, 100).await.unwrap());
    assert_eq!(ids(&c.live_nodes(121).await.unwrap()), ["c"]);
    c.forget_node(&a, &live).await.unwrap();
    assert!(c.register_node(&node("a"), 120, 100).await.unwrap());
    assert_eq!(ids(&c.live_nodes(121).await.unwrap()), ["a", "c"]);
}

pub async fn a_dead_node_stays_claimed_until_forgotten_and_outlives_a_dead_claimer(t: TestCluster) {
    let c = &*t.cluster;
    let id = |id: &str| NodeId::parse(id).unwrap();
    c.register_node(&node("a"), 0, 100).await.unwrap();
    c.register_node(&node("b"), 0, 200).await.unwrap();
    c.register_node(&node("c"), 0, 1_000).await.unwrap();
    // b claims a; while b is alive nobody claims a again, and a stays dead.
    assert_eq!(
        ids(&c.claim_dead_nodes(&id("b"), 150).await.unwrap()),
        ["a"]
    );
    assert!(c.claim_dead_nodes(&id("c"), 150).await.unwrap().is_empty());
    assert_eq!(ids(&c.live_nodes(150).await.unwrap()), ["b", "c"]);
    assert!(!c.renew_node_lease(&id("a"), 150, 100).await.unwrap());
    // b dies before it is done: c claims both b and a (its clean-up was not finished).
    let mut claimed = c.claim_dead_nodes(&id("c"), 250).await.unwrap();
    claimed.sort_by(|x, y| x.info.node_id.cmp(&y.info.node_id));
    assert_eq!(ids(&claimed), ["a", "b"]);
    // Only the claimer forgets a node, and a forgotten node is gone for good.
    c.forget_node(&id("a"), &id("b")).await.unwrap();
    assert_eq!(c.claim_dead_nodes(&id("b"), 300).await.unwrap().len(), 0);
    c.forget_node(&id("a"), &id("c")).await.unwrap();
    c.forget_node(&id("b"), &id("c")).await.unwrap();
    c.register_node(&node("d"), 300, 1_000).await.unwrap();
    assert_eq!(ids(&c.live_nodes(300).await.unwrap()), ["c", "d"]);
    assert_eq!(
        ids(&c.claim_dead_nodes(&id("d"), 1_100).await.unwrap()),
        ["c"]
    );
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

fn device(user: &str) -> DeviceKey {
    DeviceKey::new(UserId::parse(user).unwrap(), ClientId::generate())
}

/// The device enters the room; returns its participant id.
async fn enter_as(store: &dyn Store, room: &RoomId, key: &DeviceKey) -> ParticipantId {
    let mut request = enter_request(key.user_id.as_str());
    request.client_id = key.client_id.clone();
    let pid = request.participant_id.clone();
    store
        .update_room(room, Box::new(move |r| r.enter(request, 10)))
        .await
        .unwrap();
    pid
}

/// The device enters a new ready live event as its host ("h" may host) or a participant.
async fn live_enter_as(
    store: &dyn Store,
    key: &DeviceKey,
    as_host: bool,
) -> (LiveEventId, HeldLiveSeat) {
    let id = ready_live_event(store, 1).await;
    let (seat, transition): (HeldLiveSeat, crate::LiveEventTransition) = if as_host {
        let mut request = host(key.user_id.as_str());
        request.client_id = key.client_id.clone();
        let seat = HeldLiveSeat::Host(request.host_id.clone());
        (seat, Box::new(move |e, _| e.host_enter(request, 2)))
    } else {
        let mut request = live_participant(key.user_id.as_str());
        request.client_id = key.client_id.clone();
        let seat = HeldLiveSeat::Participant(request.participant_id.clone());
        (seat, Box::new(move |e, _| e.participant_enter(request, 2)))
    };
    store
        .update_live_event(&id, ParticipantScope::Nobody, transition)
        .await
        .unwrap();
    (id, seat)
}

pub async fn a_device_seats_are_its_rooms_and_live_seats_not_exited(t: TestCluster) {
    let (c, store) = (&*t.cluster, &*t.store);
    let key = device("h");
    assert_eq!(c.device_seats(&key).await.unwrap(), DeviceSeats::default());
    let (kept, left) = (new_room(store, 1).await, new_room(store, 2).await);
    let kept_pid = enter_as(store, &kept, &key).await;
    let left_pid = enter_as(store, &left, &key).await;
    store
        .update_room(
            &left,
            Box::new(move |r| r.participant_exited(&left_pid, 20)),
        )
        .await
        .unwrap();
    // Another device of the same user, and another user, hold seats of their own.
    enter_as(store, &kept, &device("h")).await;
    enter_as(store, &kept, &device("other")).await;
    let mut live = vec![
        live_enter_as(store, &key, true).await,
        live_enter_as(store, &key, false).await,
    ];
    live.sort();
    let seats = c.device_seats(&key).await.unwrap();
    assert_eq!(seats.rooms, vec![(kept, kept_pid)]);
    assert_eq!(seats.live, live);
    assert!(!seats.is_empty());
}

pub async fn a_device_holder_moves_and_is_released_by_its_holder_only(t: TestCluster) {
    let c = &*t.cluster;
    let node = |id: &str| NodeId::parse(id).unwrap();
    let (a, b) = (node("a"), node("b"));
    let key = device("u");
    assert_eq!(c.hold_device(&key, &a, 1).await.unwrap(), None);
    // Holding again on the same node is no move.
    assert_eq!(c.hold_device(&key, &a, 2).await.unwrap(), None);
    assert_eq!(c.devices_held_by(&a, 10).await.unwrap(), vec![key.clone()]);
    assert_eq!(c.hold_device(&key, &b, 3).await.unwrap(), Some(a.clone()));
    assert_eq!(c.device_holder(&key).await.unwrap(), Some(b.clone()));
    // The old node cannot release what moved away; the new one can, once.
    assert!(!c.release_device(&key, &a).await.unwrap());
    assert!(c.devices_held_by(&a, 10).await.unwrap().is_empty());
    assert_eq!(c.devices_held_by(&b, 10).await.unwrap(), vec![key.clone()]);
    assert!(c.release_device(&key, &b).await.unwrap());
    assert!(!c.release_device(&key, &b).await.unwrap());
    assert_eq!(c.device_holder(&key).await.unwrap(), None);
    // Released, nobody held it: holding it is no move.
    assert_eq!(c.hold_device(&key, &a, 4).await.unwrap(), None);
    // The listing is bounded and ordered.
    let mut more: Vec<DeviceKey> = (0..5).map(|_| device("v")).collect();
    for k in &more {
        c.hold_device(k, &b, 5).await.unwrap();
    }
    more.sort();
    assert_eq!(c.devices_held_by(&b, 3).await.unwrap(), more[..3].to_vec());
    // A node starting alone forgets the records of a previous run.
    assert_eq!(c.forget_device_holders().await.unwrap(), 6);
    assert!(c.devices_held_by(&b, 10).await.unwrap().is_empty());
    assert!(c.devices_held_by(&a, 10).await.unwrap().is_empty());
    assert_eq!(c.hold_device(&key, &b, 6).await.unwrap(), None);
}

pub async fn a_move_racing_a_release_has_one_winner(t: TestCluster) {
    let c = t.cluster.clone();
    let (a, b) = (NodeId::parse("a").unwrap(), NodeId::parse("b").unwrap());
    for _ in 0..20 {
        let key = device("racer");
        c.hold_device(&key, &a, 1).await.unwrap();
        let (c1, k1, a1) = (c.clone(), key.clone(), a.clone());
        let release = tokio::spawn(async move { c1.release_device(&k1, &a1).await.unwrap() });
        let (c2, k2, b2) = (c.clone(), key.clone(), b.clone());
        let hold = tokio::spawn(async move { c2.hold_device(&k2, &b2, 2).await.unwrap() });
        let (released, moved) = (release.await.unwrap(), hold.await.unwrap());
        // Either the old node released first (the move found nothing to resume), or the
        // move came first (the old node's release found it gone): never both, never neither.
        assert_ne!(
            released,
            moved == Some(a.clone()),
            "released {released}, moved {moved:?}"
        );
        assert!(c.devices_held_by(&b, 100).await.unwrap().contains(&key));
    }
}
