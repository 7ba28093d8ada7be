//! What nodes of a cluster tell each other beyond the outbox's events (docs/cluster.md,
//! "Node-to-node messages"), and how soon: an event committed through one node reaches a
//! device on another without waiting for the tail's safety-net poll (the tail is woken by
//! `NOTIFY`); a live-event enter through one node holds, in its snapshot, what another node
//! committed before it, and does not hear it again; a session revoked through one node
//! closes the user's connections on every node at once; `live.host_media_changed` reaches
//! viewers on every node; and a device's second connection on one node closes its older
//! connection on another (`replaced`), which keeps its seats for the new one. And a node
//! restarted under its id before its lease ran out: its previous run's devices resume
//! their seats on it, and the seats of those that never come back exit after the grace;
//! and a dead node's clean-up is finished by another survivor when the one that claimed
//! it dies during the grace; and a node declared dead while it still runs (cut off from
//! the database past its lease) closes its WebSockets and refuses new ones until the
//! clean-up after it is done, so its devices resume on a live node, then serves again.
//!
//! Always on PostgreSQL (`OPENCALLS_TEST_POSTGRES_URL`'s server), like `cluster`.

use crate::cluster::{
    is_event_about, live_with_host_on, node, participant, returning_device, three_nodes,
};
use crate::common::id_of;
use crate::live_common::{create as create_live, id as live_id};
use crate::signal_live_common::{QUIET, expect_events, next_event};
use opencalls_client::{Client, Incoming};
use opencalls_store_postgres::testing::{TestDatabase, expire_nodes, recorded_nodes};
use opencalls_testkit::poll::{SLOW, WAIT};
use serde_json::json;
use std::time::{Duration, Instant};

/// A safety-net poll far longer than any wait below: only a wake-up can explain an arrival.
const NO_POLL_MS: u64 = 600_000;

/// How soon a cross-node event must arrive once the tail no longer waits for its poll
/// (the target is a p99 under 100 ms on loopback; this leaves room for a loaded
/// machine).
const PROMPT: Duration = Duration::from_secs(2);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_cross_nodes_at_once_without_the_tail_polling() {
    let db = TestDatabase::create().await.unwrap();
    let a = node(&db, "a", |c| c.cluster_poll_ms = NO_POLL_MS).await;
    let b = node(&db, "b", |c| c.cluster_poll_ms = NO_POLL_MS).await;
    let room = id_of(&a.create_room("small_room_for_video").await);
    let mut alice = a.device("alice").await;
    alice.enter(&room, false, false).await.unwrap();
    for i in 0..5 {
        let (status, body) = b
            .put(
                &format!("/v1/rooms/{room}/custom_items"),
                json!({"custom_items": {"i": i.to_string()}}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let acked = Instant::now();
        match alice.next_incoming(WAIT).await {
            Some(Incoming::Event { name, data, .. }) if name == "room.custom_items_updated" => {
                assert_eq!(data["custom_items"]["i"], i.to_string());
            }
            other => panic!("expected the update, got {other:?}"),
        }
        assert!(
            acked.elapsed() < PROMPT,
            "update {i} took {:?}",
            acked.elapsed()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_live_enter_never_hears_again_what_another_node_committed_before_it() {
    let db = TestDatabase::create().await.unwrap();
    let a = node(&db, "a", |_| {}).await;
    let b = node(&db, "b", |_| {}).await;
    // Each round: the host starts the event through node a, and right after its answer a
    // viewer enters through node b. The start is in the viewer's snapshot, so the viewer
    // must not hear `live.started` afterwards (without the fence, node b's tail often
    // relays it after the viewer joined).
    for round in 0..5 {
        let name = format!("host{round}");
        let live = live_id(&create_live(&a, &[&name]).await);
        let host = a.device(&name).await;
        host.live_enter(&live, "host", true, true).await.unwrap();
        host.live_set_ready(&live).await.unwrap();
        let viewer = b.device(&format!("viewer{round}")).await;
        host.live_start(&live).await.unwrap();
        let entered = viewer
            .live_enter(&live, "participant", false, false)
            .await
            .unwrap();
        assert_eq!(entered["live_event"]["state"], "ongoing", "round {round}");
        let mut viewer = viewer;
        assert_eq!(viewer.next_incoming(QUIET).await, None, "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_revoked_through_one_node_ends_on_every_node_at_once() {
    let db = TestDatabase::create().await.unwrap();
    let nodes = three_nodes(&db).await;
    let room = id_of(&nodes[0].create_room("small_room_for_video").await);
    let session = nodes[1].session_for("dana").await;
    let mut on_b = Client::connect(&nodes[1].ws_base(), &session, None)
        .await
        .unwrap();
    let mut on_c = Client::connect(&nodes[2].ws_base(), &session, None)
        .await
        .unwrap();
    on_c.enter(&room, false, false).await.unwrap();

    let (status, body) = nodes[0].delete("/v1/users/dana/token", None).await;
    assert_eq!(status, 200, "{body}");
    let revoked = Some(Incoming::Goodbye {
        reason: "session_revoked".into(),
    });
    for device in [&mut on_b, &mut on_c] {
        let goodbye = device
            .wait_for(PROMPT, |m| matches!(m, Incoming::Goodbye { .. }))
            .await;
        assert_eq!(goodbye, revoked);
    }
    // The seat of the revoked device on node c is exited by node c at once.
    opencalls_testkit::poll::eventually("dana's seat exited", WAIT, async || {
        let (_, body) = nodes[0].get(&format!("/v1/rooms/{room}")).await;
        let left = body["current_participants"].as_array().map_or(0, Vec::len);
        if left == 0 { Ok(()) } else { Err(body) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn host_media_changes_reach_viewers_on_every_node() {
    let db = TestDatabase::create().await.unwrap();
    let nodes = three_nodes(&db).await;
    let (live, mut host) = live_with_host_on(&nodes[0]).await;
    let mut viewers = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        let viewer = node.device(&format!("viewer{i}")).await;
        viewer
            .live_enter(&live, "participant", false, false)
            .await
            .unwrap();
        viewers.push(viewer);
    }
    expect_events(&mut host, &live, &["live.participant_entered"; 3]).await;

    let answer = host.live_set_media(&live, Some(false), None).await.unwrap();
    assert_eq!(answer["host"]["is_audio_on"], false);
    for (i, viewer) in viewers.iter_mut().enumerate() {
        let (name, data) = next_event(viewer, &live).await;
        assert_eq!(name, "live.host_media_changed", "viewer on node {i}");
        assert_eq!(data["host"]["is_audio_on"], false, "viewer on node {i}");
        assert_eq!(
            viewer.next_incoming(QUIET).await,
            None,
            "heard twice on node {i}"
        );
    }
    assert_eq!(host.next_incoming(QUIET).await, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_connection_on_another_node_replaces_the_older_one() {
    let db = TestDatabase::create().await.unwrap();
    // Node a's grace is short: were it to exit the seat when it runs out, carol would hear.
    let a = node(&db, "a", |c| c.reconnect_grace_ms = 300).await;
    let b = node(&db, "b", |_| {}).await;
    let room = id_of(&a.create_room("small_room_for_video").await);
    let mut carol = a.device("carol").await;
    carol.enter(&room, false, false).await.unwrap();
    let (mut old, session, client_id) = returning_device(&a, "alice").await;
    let entered = old.enter(&room, true, false).await.unwrap();
    let pid = entered["participant"]["participant_id"].clone();
    assert_eq!(next_event_of(&mut carol).await, "room.participant_entered");

    // The same device (same client id) connects to node b while its node-a connection is
    // open: node a closes the older one, as one node does, and the seat goes with the
    // device to node b.
    let new = Client::connect(&b.ws_base(), &session, Some(&client_id))
        .await
        .unwrap();
    assert_eq!(new.hello["resumed"][0]["participant_id"], pid);
    let goodbye = old
        .wait_for(PROMPT, |m| matches!(m, Incoming::Goodbye { .. }))
        .await;
    assert_eq!(
        goodbye,
        Some(Incoming::Goodbye {
            reason: "replaced".into()
        })
    );
    // The older connection's node does not exit the seat (not even once its grace ran
    // out); the new connection uses it.
    assert_eq!(
        carol.next_incoming(Duration::from_millis(1_000)).await,
        None
    );
    new.set_media(&room, None, Some(true)).await.unwrap();
    assert_eq!(
        next_event_of(&mut carol).await,
        "room.participant_media_changed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_restarted_before_its_lease_ran_out_resumes_or_exits_its_last_runs_seats() {
    const GRACE_MS: u64 = 1_500;
    let db = TestDatabase::create().await.unwrap();
    let a = node(&db, "a", |c| c.reconnect_grace_ms = GRACE_MS).await;
    let b = node(&db, "b", |c| c.reconnect_grace_ms = GRACE_MS).await;
    let room = id_of(&b.create_room("small_room_for_video").await);
    let mut carol = b.device("carol").await;
    carol.enter(&room, false, false).await.unwrap();
    let (alice, session, alice_client) = returning_device(&a, "alice").await;
    let bob = a.device("bob").await;
    let alice_pid =
        alice.enter(&room, true, false).await.unwrap()["participant"]["participant_id"].clone();
    let bob_pid =
        bob.enter(&room, true, false).await.unwrap()["participant"]["participant_id"].clone();

    // Node a crashes and comes back at once under the same id, well within its lease.
    a.kill();
    alice.kill();
    let a = node(&db, "a", |c| c.reconnect_grace_ms = GRACE_MS).await;
    let alice = Client::connect(&a.ws_base(), &session, Some(&alice_client))
        .await
        .unwrap();
    let resumed = &alice.hello["resumed"];
    assert_eq!(resumed[0]["participant_id"], alice_pid, "{resumed}");
    // Bob never comes back (his socket stays open to the crashed run's leftovers in this
    // process): his seat exits once the previous run is claimed and the grace is over.
    let heard = carol
        .wait_for(SLOW, |m| {
            is_event_about(m, "room.participant_exited", &bob_pid)
        })
        .await;
    assert!(heard.is_some(), "bob's exit was not heard");
    // Alice's resumed seat stayed and works through the restarted node.
    alice.set_media(&room, None, Some(true)).await.unwrap();
    let changed = carol
        .wait_for(WAIT, |m| {
            is_event_about(m, "room.participant_media_changed", &alice_pid)
        })
        .await;
    assert!(changed.is_some(), "carol did not hear alice's media change");
    drop(bob);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dead_nodes_clean_up_is_finished_when_its_claimer_dies_during_the_grace() {
    let db = TestDatabase::create().await.unwrap();
    let a = node(&db, "a", |c| c.reconnect_grace_ms = 2_000).await;
    // Node b claims a and waits out a long grace; its lease is long, so node c, started
    // after b's death, finds b alive and exits no leftovers at start (that would hide the
    // gap).
    let b = node(&db, "b", |c| {
        c.reconnect_grace_ms = 60_000;
        c.node_lease_ms = 4_000;
    })
    .await;
    let room = id_of(&a.create_room("small_room_for_video").await);
    let bob = a.device("bob").await;
    let bob_pid =
        bob.enter(&room, true, false).await.unwrap()["participant"]["participant_id"].clone();

    a.kill();
    opencalls_testkit::poll::eventually("node a claimed by node b", SLOW, async || {
        let nodes = recorded_nodes(db.url()).await.unwrap();
        let claimed = nodes.iter().any(|(id, by)| {
            id.starts_with("a.") && by.as_deref().is_some_and(|b| b.starts_with("b."))
        });
        if claimed {
            Ok(())
        } else {
            Err(format!("{nodes:?}"))
        }
    })
    .await;
    // Node b dies during its grace for node a; node c finishes the clean-up of both.
    b.kill();
    let c = node(&db, "c", |c| c.reconnect_grace_ms = 2_000).await;
    opencalls_testkit::poll::eventually("bob's seat exited", SLOW, async || {
        let state = participant(&c, &room, &bob_pid).await["state"].clone();
        if state == "exited" {
            Ok(())
        } else {
            Err(state)
        }
    })
    .await;
    // Once done, the dead nodes are forgotten.
    opencalls_testkit::poll::eventually("dead nodes forgotten", WAIT, async || {
        let nodes = recorded_nodes(db.url()).await.unwrap();
        let only_c = nodes.iter().all(|(id, _)| id.starts_with("c."));
        if only_c {
            Ok(())
        } else {
            Err(format!("{nodes:?}"))
        }
    })
    .await;
    drop(bob);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_declared_dead_while_running_sends_its_devices_away_then_rejoins() {
    let db = TestDatabase::create().await.unwrap();
    let a = node(&db, "a", |_| {}).await;
    let b = node(&db, "b", |c| c.reconnect_grace_ms = 2_000).await;
    let room = id_of(&b.create_room("small_room_for_video").await);
    let (mut alice, session, alice_client) = returning_device(&a, "alice").await;
    let pid =
        alice.enter(&room, true, false).await.unwrap()["participant"]["participant_id"].clone();

    // Node a's lease runs out as if it were cut off from the database; node b claims it.
    opencalls_testkit::poll::eventually("node a claimed by node b", SLOW, async || {
        expire_nodes(db.url(), "a.").await.unwrap();
        let nodes = recorded_nodes(db.url()).await.unwrap();
        let claimed = nodes
            .iter()
            .any(|(id, by)| id.starts_with("a.") && by.is_some());
        if claimed {
            Ok(())
        } else {
            Err(format!("{nodes:?}"))
        }
    })
    .await;
    // Its next renewal finds it dead: it closes its connections, and refuses new ones.
    let goodbye = alice
        .wait_for(PROMPT, |m| matches!(m, Incoming::Goodbye { .. }))
        .await;
    assert_eq!(
        goodbye,
        Some(Incoming::Goodbye {
            reason: "server_restart".into()
        })
    );
    let session_of_bob = a.session_for("bob").await;
    assert!(
        Client::connect(&a.ws_base(), &session_of_bob, None)
            .await
            .is_err()
    );
    // The device reconnects to node b and resumes its seat there.
    let alice = Client::connect(&b.ws_base(), &session, Some(&alice_client))
        .await
        .unwrap();
    assert_eq!(alice.hello["resumed"][0]["participant_id"], pid);
    // Once node b's clean-up after it is done, node a registers again and serves.
    opencalls_testkit::poll::eventually("node a serving again", SLOW, async || {
        match Client::connect(&a.ws_base(), &session_of_bob, None).await {
            Ok(_) => Ok(()),
            Err(err) => Err(format!("{err:?}")),
        }
    })
    .await;
    assert_eq!(participant(&b, &room, &pid).await["state"], "entered");
}

/// The name of the next event the client hears.
async fn next_event_of(client: &mut Client) -> String {
    match client.next_incoming(WAIT).await {
        Some(Incoming::Event { name, .. }) => name,
        other => panic!("expected an event, got {other:?}"),
    }
}
