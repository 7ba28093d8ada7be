//! Three nodes on one PostgreSQL database behave as one server (docs/cluster.md): a device
//! hears changes committed through any node, capacity holds across nodes, webhooks of
//! changes made anywhere arrive once each and in order, webhook delivery moves when its
//! node stops or dies, a restart of every node keeps everything, and the devices of a node
//! that dies resume their seats on another node or exit (and end their calls) after the
//! reconnect grace; live chat reaches every member on every node in its sender's order,
//! and a user's devices on two nodes share one chat rate limit.
//!
//! These tests always run on PostgreSQL (`OPENCALLS_TEST_POSTGRES_URL`'s server), whatever
//! `OPENCALLS_TEST_BACKEND` says: a cluster needs a shared database.

use crate::common::{TestServer, id_of};
use crate::live_common::{create as create_live, fetch as fetch_live, id as live_id};
use crate::signal_live_common::{QUIET, expect_events};
use opencalls_client::{Client, DialOptions, Incoming};
use opencalls_server::Config;
use opencalls_store_postgres::testing::TestDatabase;
use opencalls_testkit::WebhookSettings;
use opencalls_testkit::poll::{self, SLOW, WAIT};
use opencalls_testkit::receiver::{Hit, Receiver};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The test nodes' lease: short, so a dead node is noticed well within the tests' waits.
/// Not shorter: a node fences itself when it cannot renew for 70 % of its lease, and on a
/// loaded 2-core CI machine PostgreSQL has taken more than 420 ms (a 600 ms lease's
/// margin) to answer, so healthy nodes fenced themselves mid-test.
const TEST_LEASE_MS: u64 = 2_000;

/// A node on `db`, named `id`, with the test lease.
pub(crate) async fn node(
    db: &TestDatabase,
    id: &str,
    tune: impl FnOnce(&mut Config),
) -> TestServer {
    let (url, id) = (db.url().to_owned(), id.to_owned());
    TestServer::start_with(move |c| {
        c.database_url = Some(url);
        c.node_id = Some(id);
        c.node_lease_ms = TEST_LEASE_MS;
        c.webhook_backoff_base_ms = 20;
        c.webhook_backoff_max_ms = 100;
        tune(c);
    })
    .await
}

pub(crate) async fn three_nodes(db: &TestDatabase) -> Vec<TestServer> {
    vec![
        node(db, "a", |_| {}).await,
        node(db, "b", |_| {}).await,
        node(db, "c", |_| {}).await,
    ]
}

/// The next event (anything else pushed fails the test).
async fn next_event(client: &mut Client) -> (String, Value) {
    match client.next_incoming(WAIT).await {
        Some(Incoming::Event { name, data, .. }) => (name, data),
        other => panic!("expected an event, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_device_hears_changes_committed_through_other_nodes() {
    let db = TestDatabase::create().await.unwrap();
    let nodes = three_nodes(&db).await;
    let room = id_of(&nodes[0].create_room("small_room_for_video").await);
    let mut alice = nodes[0].device("alice").await;
    let mut bob = nodes[1].device("bob").await;
    bob.enter(&room, false, false).await.unwrap();
    let entered = alice.enter(&room, true, true).await.unwrap();
    assert_eq!(
        entered["room"]["current_participants"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "node a sees bob, who entered through node b"
    );
    let (name, data) = next_event(&mut bob).await;
    assert_eq!(name, "room.participant_entered");
    assert_eq!(data["participant"]["user"]["user_id"], "alice");
    // Carol enters through node c right after: alice and bob are in her snapshot, and she
    // does not hear their (earlier, other-node) entries again afterwards.
    let mut carol = nodes[2].device("carol").await;
    let entered = carol.enter(&room, false, false).await.unwrap();
    let current = entered["room"]["current_participants"].as_array().unwrap();
    assert_eq!(current.len(), 3);
    assert_eq!(next_event(&mut alice).await.0, "room.participant_entered");
    assert_eq!(next_event(&mut bob).await.0, "room.participant_entered");

    // A Platform API change through the third node reaches both devices.
    let (status, body) = nodes[2]
        .put(
            &format!("/v1/rooms/{room}/custom_items"),
            json!({"custom_items": {"topic": "cluster"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for device in [&mut alice, &mut bob, &mut carol] {
        let (name, data) = next_event(device).await;
        assert_eq!(name, "room.custom_items_updated");
        assert_eq!(data["custom_items"]["topic"], "cluster");
    }

    // Changes keep their order across nodes, and nobody hears their own changes twice.
    bob.set_media(&room, Some(true), None).await.unwrap();
    bob.exit(&room).await.unwrap();
    assert_eq!(
        next_event(&mut alice).await.0,
        "room.participant_media_changed"
    );
    let (name, data) = next_event(&mut alice).await;
    assert_eq!(name, "room.participant_exited");
    assert_eq!(data["participant"]["user"]["user_id"], "bob");
    assert_eq!(
        bob.next_incoming(std::time::Duration::from_millis(300))
            .await,
        None
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_enters_spread_over_three_nodes_fill_exactly_six_seats() {
    let db = TestDatabase::create().await.unwrap();
    let nodes = three_nodes(&db).await;
    let room = id_of(&nodes[0].create_room("small_room_for_video").await);
    let mut clients = Vec::new();
    for i in 0..50 {
        clients.push(nodes[i % 3].device(&format!("racer-{i}")).await);
    }
    let attempts = clients.iter().map(|c| c.enter(&room, true, false));
    let results = futures_util::future::join_all(attempts).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let full = results
        .iter()
        .filter(|r| r.as_ref().err().and_then(|e| e.code()) == Some(1400120))
        .count();
    assert_eq!((ok, full), (6, 44), "{results:?}");
    for node in &nodes {
        let (_, body) = node.get(&format!("/v1/rooms/{room}")).await;
        let current = body["room"]["current_participants"].as_array().unwrap();
        assert_eq!(current.len(), 6, "{body}");
    }
}

/// Deliveries per room, in arrival order, as (category, delivery id).
fn by_room(hits: &[Hit]) -> BTreeMap<String, Vec<(String, String)>> {
    let mut rooms: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for hit in hits {
        let room = hit.json["room"]["room_id"]
            .as_str()
            .or(hit.json["room_id"].as_str())
            .unwrap_or_default()
            .to_owned();
        rooms
            .entry(room)
            .or_default()
            .push((hit.category().to_owned(), hit.delivery_id().to_owned()));
    }
    rooms
}

/// Creates a room through `node`, sets its custom items through the next node and deletes
/// it through the one after: three events per room, committed on three nodes.
async fn churn(nodes: &[TestServer], first: usize) -> String {
    let at = |k: usize| &nodes[(first + k) % nodes.len()];
    let room = at(0).create_room("small_room_for_video").await;
    let id = room["room_id"].as_str().unwrap().to_owned();
    let (status, _) = at(1)
        .put(
            &format!("/v1/rooms/{id}/custom_items"),
            json!({"custom_items": {"k": "v"}}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = at(2).delete(&format!("/v1/rooms/{id}"), None).await;
    assert_eq!(status, 200);
    id
}

const ROOM_LIFE: [&str; 3] = ["room:create", "room:custom_items_update", "room:delete"];

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhooks_of_changes_on_every_node_arrive_once_each_in_order() {
    let receiver = Receiver::ok().await;
    let db = TestDatabase::create().await.unwrap();
    let nodes = three_nodes(&db).await;
    let settings = WebhookSettings::to(&receiver.url, &["*"]);
    nodes[1].api.set_webhook(&settings).await.unwrap();
    let mut rooms = Vec::new();
    for i in 0..6 {
        rooms.push(churn(&nodes, i).await);
    }
    let hits = receiver
        .wait_until(SLOW, |hits| hits.len() >= rooms.len() * 3)
        .await;
    let seen = by_room(&hits);
    for room in &rooms {
        let categories: Vec<&str> = seen[room].iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(categories, ROOM_LIFE, "room {room}");
    }
    let ids: BTreeSet<&str> = hits.iter().map(|h| h.delivery_id()).collect();
    assert_eq!(ids.len(), hits.len(), "a delivery arrived twice");
    // One node delivered each event once: the log shows every delivery done in one attempt,
    // and the receiver has nothing beyond them.
    poll::until("every delivery to be recorded", WAIT, async || {
        let (_, log) = nodes[2]
            .get("/v1/applications/opencalls/webhook/deliveries?limit=100")
            .await;
        let log = log["deliveries"].as_array().cloned().unwrap_or_default();
        log.len() == hits.len()
            && log
                .iter()
                .all(|d| d["status"] == "delivered" && d["attempts"] == 1)
    })
    .await;
    assert_eq!(receiver.hits().len(), hits.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhook_delivery_moves_when_its_node_stops_or_dies() {
    let receiver = Receiver::ok().await;
    let db = TestDatabase::create().await.unwrap();
    let mut nodes = three_nodes(&db).await;
    let settings = WebhookSettings::to(&receiver.url, &["*"]);
    nodes[0].api.set_webhook(&settings).await.unwrap();
    churn(&nodes, 0).await;
    receiver.wait_until(SLOW, |h| h.len() >= 3).await;

    // Whoever delivers, stop one node cleanly and kill another: the last one delivers.
    let stopped = nodes.remove(0);
    stopped.stop().await;
    let killed = nodes.remove(0);
    killed.kill();
    let survivor = nodes.remove(0);
    let room = churn(std::slice::from_ref(&survivor), 0).await;
    let hits = receiver.wait_until(SLOW, |h| h.len() >= 6).await;
    let categories: Vec<String> = by_room(&hits)[&room]
        .iter()
        .map(|(c, _)| c.clone())
        .collect();
    assert_eq!(categories, ROOM_LIFE);
    let ids: BTreeSet<&str> = hits.iter().map(|h| h.delivery_id()).collect();
    assert_eq!(ids.len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restarting_every_node_keeps_everything() {
    let db = TestDatabase::create().await.unwrap();
    let nodes = three_nodes(&db).await;
    let room = nodes[0].create_room("large_room_for_audio_only").await;
    let id = room["room_id"].as_str().unwrap().to_owned();
    let (status, _) = nodes[1]
        .put(
            &format!("/v1/rooms/{id}/custom_items"),
            json!({"custom_items": {"kept": "yes"}}),
        )
        .await;
    assert_eq!(status, 200);
    let device = nodes[2].device("stays").await;
    device.enter(&id, true, false).await.unwrap();
    drop(device);
    for node in nodes {
        node.stop().await;
    }
    let nodes = three_nodes(&db).await;
    for node in &nodes {
        let (status, body) = node.get(&format!("/v1/rooms/{id}")).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["room"]["custom_items"]["kept"], "yes");
    }
    // The participant was exited when its node stopped; it is no one's leftover now.
    poll::until("the participant to be exited", WAIT, async || {
        let (_, body) = nodes[0].get(&format!("/v1/rooms/{id}/participants")).await;
        body["participants"][0]["state"] == "exited"
    })
    .await;
    // The cluster works after the restart: a change through one node reaches another.
    let mut listener = nodes[0].device("listener").await;
    listener.enter(&id, true, false).await.unwrap();
    let other = nodes[1].device("other").await;
    other.enter(&id, true, false).await.unwrap();
    assert_eq!(
        next_event(&mut listener).await.0,
        "room.participant_entered"
    );
}

/// The reconnect grace of the nodes that survive in the node-failure tests: long enough for
/// a device to reconnect, short enough for a test.
const GRACE_MS: u64 = 2_000;

/// Whether `incoming` is the event `name` about the participant `pid`.
/// Whether `incoming` is the room event `name` about participant `pid`.
pub(crate) fn is_event_about(incoming: &Incoming, name: &str, pid: &Value) -> bool {
    matches!(incoming, Incoming::Event { name: n, data, .. }
        if n == name && data["participant"]["participant_id"] == *pid)
}

/// The participant `pid` of the room as the Platform API lists it.
pub(crate) async fn participant(node: &TestServer, room: &str, pid: &Value) -> Value {
    let (status, body) = node
        .get(&format!("/v1/rooms/{room}/participants?limit=100"))
        .await;
    assert_eq!(status, 200, "{body}");
    let all = body["participants"].as_array().cloned().unwrap_or_default();
    all.into_iter()
        .find(|p| p["participant_id"] == *pid)
        .unwrap_or_else(|| panic!("participant {pid} not listed: {body}"))
}

/// A device of a new user on `node` that can come back with the same client id: the client,
/// its session token and its client id.
pub(crate) async fn returning_device(node: &TestServer, user: &str) -> (Client, String, String) {
    let session = node.session_for(user).await;
    let client = Client::connect(&node.ws_base(), &session, None)
        .await
        .unwrap();
    let client_id = client.client_id();
    (client, session, client_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn devices_of_a_killed_node_resume_elsewhere_and_the_others_exit_after_the_grace() {
    let db = TestDatabase::create().await.unwrap();
    // Node a's own grace is short: if it (still running inside this test process after its
    // "kill") exited seats whose device moved away, the test would see it.
    let a = node(&db, "a", |c| c.reconnect_grace_ms = 500).await;
    let b = node(&db, "b", |c| c.reconnect_grace_ms = GRACE_MS).await;
    let c = node(&db, "c", |c| c.reconnect_grace_ms = GRACE_MS).await;
    let room = id_of(&a.create_room("small_room_for_video").await);
    let live = live_id(&create_live(&a, &["host"]).await);
    let mut host = c.device("host").await;
    host.live_enter(&live, "host", true, true).await.unwrap();
    host.live_set_ready(&live).await.unwrap();
    let mut carol = c.device("carol").await;
    carol.enter(&room, true, false).await.unwrap();

    // Alice and Bob are in the room and the live event through node a.
    let (alice, session, alice_client) = returning_device(&a, "alice").await;
    let bob = a.device("bob").await;
    let mut pids = Vec::new();
    let mut live_pids = Vec::new();
    for device in [&alice, &bob] {
        let entered = device.enter(&room, true, false).await.unwrap();
        pids.push(entered["participant"]["participant_id"].clone());
        let entered = device
            .live_enter(&live, "participant", false, false)
            .await
            .unwrap();
        live_pids.push(entered["participant"]["participant_id"].clone());
    }
    let (alice_pid, bob_pid) = (pids[0].clone(), pids[1].clone());
    // Bob is also in a direct call with Dave, whose phone is on node c.
    let mut dave = c.device("dave").await;
    let call = bob.dial("dave", DialOptions::default()).await.unwrap();
    let call_id = call.call_id.to_string();
    let rang = dave
        .wait_for(
            WAIT,
            |m| matches!(m, Incoming::Event { name, .. } if name == "call.dialed"),
        )
        .await;
    assert!(rang.is_some(), "dave's phone did not ring");
    dave.accept(&call_id, Some(true), Some(false))
        .await
        .unwrap();

    let killed = std::time::Instant::now();
    a.kill();
    // Alice's device loses node a and reconnects to node b with the same client id.
    alice.kill();
    let mut alice = Client::connect(&b.ws_base(), &session, Some(&alice_client))
        .await
        .unwrap();
    let resumed = &alice.hello["resumed"];
    assert_eq!(resumed.as_array().map(Vec::len), Some(1), "{resumed}");
    assert_eq!(resumed[0]["room"]["room_id"], room.as_str(), "{resumed}");
    assert_eq!(resumed[0]["participant_id"], alice_pid, "{resumed}");
    let resumed_live = &alice.hello["resumed_live"];
    assert_eq!(
        resumed_live[0]["live_event"]["live_event_id"],
        live.as_str()
    );
    assert_eq!(
        (&resumed_live[0]["role"], &resumed_live[0]["participant_id"]),
        (&json!("participant"), &live_pids[0]),
        "{resumed_live}"
    );

    // Bob never comes back (his socket stays open to the dead node's leftovers in this
    // process, which in real life are gone): a survivor exits him once the grace is over,
    // and everyone in the room hears it, on both surviving nodes.
    for device in [&mut carol, &mut alice] {
        let heard = device
            .wait_for(SLOW, |m| {
                is_event_about(m, "room.participant_exited", &bob_pid)
            })
            .await;
        assert!(heard.is_some(), "bob's exit was not heard");
    }
    // Node a was noticed within its lease (TEST_LEASE_MS), and bob waited out the grace
    // from there.
    let after = killed.elapsed();
    eprintln!(
        "bob exited {} ms after node a was killed",
        after.as_millis()
    );
    assert!(
        after >= std::time::Duration::from_millis(GRACE_MS),
        "{after:?}"
    );
    let heard = host
        .wait_for(SLOW, |m| {
            is_event_about(m, "live.participant_exited", &live_pids[1])
        })
        .await;
    assert!(
        heard.is_some(),
        "the host did not hear bob leave the live event"
    );
    assert_eq!(participant(&b, &room, &bob_pid).await["state"], "exited");
    // Bob's call ended as his lost device's would on one node.
    let ended = dave
        .wait_for(
            WAIT,
            |m| matches!(m, Incoming::Event { name, .. } if name == "call.ended"),
        )
        .await;
    match ended {
        Some(Incoming::Event {
            data, call_id: id, ..
        }) => {
            assert_eq!(id, call_id, "{data}");
            assert_eq!(data["end_result"], "connection_lost", "{data}");
        }
        other => panic!("dave did not hear the call end: {other:?}"),
    }

    // Alice's seats stayed: node a's grace ran out long before (it let go of what moved),
    // and the survivor's clean-up left her alone. Her resumed seat works through node b.
    assert_eq!(participant(&c, &room, &alice_pid).await["state"], "entered");
    assert_eq!(fetch_live(&b, &live).await["participant_count"], 1);
    alice.set_media(&room, Some(false), None).await.unwrap();
    let changed = carol
        .wait_for(WAIT, |m| {
            is_event_about(m, "room.participant_media_changed", &alice_pid)
        })
        .await;
    assert!(changed.is_some(), "carol did not hear alice's media change");
    alice.live_chat(&live, "still here").await.unwrap();
    drop(bob);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_device_that_moved_keeps_its_seats_when_its_old_node_stops() {
    let db = TestDatabase::create().await.unwrap();
    // Node a keeps the dropped device for long: it still holds it in memory when it stops.
    let a = node(&db, "a", |c| c.reconnect_grace_ms = 60_000).await;
    let b = node(&db, "b", |c| c.reconnect_grace_ms = GRACE_MS).await;
    let room = id_of(&a.create_room("small_room_for_video").await);
    let mut carol = b.device("carol").await;
    carol.enter(&room, true, false).await.unwrap();
    let (alice, session, alice_client) = returning_device(&a, "alice").await;
    let entered = alice.enter(&room, true, false).await.unwrap();
    let alice_pid = entered["participant"]["participant_id"].clone();
    assert_eq!(next_event(&mut carol).await.0, "room.participant_entered");

    // The device leaves node a (alive) for node b, then node a stops cleanly: its shutdown
    // exits the seats it still holds, which are not alice's any more.
    alice.kill();
    let alice = Client::connect(&b.ws_base(), &session, Some(&alice_client))
        .await
        .unwrap();
    assert_eq!(alice.hello["resumed"][0]["participant_id"], alice_pid);
    a.stop().await;
    assert_eq!(participant(&b, &room, &alice_pid).await["state"], "entered");
    alice.set_media(&room, None, Some(true)).await.unwrap();
    let (name, data) = next_event(&mut carol).await;
    assert_eq!(
        (name.as_str(), &data["participant"]["participant_id"]),
        ("room.participant_media_changed", &alice_pid),
        "carol heard something else first: {data}"
    );
    // Leaving through node b is an ordinary exit.
    alice.exit(&room).await.unwrap();
    assert_eq!(participant(&b, &room, &alice_pid).await["state"], "exited");
}

/// The chat messages (their `message` objects) the client hears until it is quiet.
async fn chat_heard(client: &mut Client, live: &str) -> Vec<Value> {
    let mut heard = Vec::new();
    while let Some(incoming) = client.next_incoming(QUIET).await {
        match incoming {
            Incoming::Event {
                name,
                live_event_id,
                data,
                ..
            } if name == "live.chat_message" && live_event_id == live => {
                heard.push(data["message"].clone())
            }
            other => panic!("expected a chat message, got {other:?}"),
        }
    }
    heard
}

/// A live event whose host is on node a (ready, so viewers may enter), with the host's
/// client.
pub(crate) async fn live_with_host_on(a: &TestServer) -> (String, Client) {
    let live = live_id(&create_live(a, &["host"]).await);
    let mut host = a.device("host").await;
    host.live_enter(&live, "host", true, true).await.unwrap();
    host.live_set_ready(&live).await.unwrap();
    expect_events(&mut host, &live, &["live.ready"]).await;
    (live, host)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chat_reaches_every_member_on_every_node_in_order() {
    let db = TestDatabase::create().await.unwrap();
    let nodes = three_nodes(&db).await;
    let (live, mut host) = live_with_host_on(&nodes[0]).await;
    let mut bob = nodes[1].device("bob").await;
    // Carol's profile is large: her longest messages exceed a notification's payload and
    // travel through the relay table.
    let session = nodes[2].session_for("carol").await;
    let (status, body) = nodes[2]
        .put(
            "/v1/users/carol",
            json!({"profile_url": format!("https://x/{}", "p".repeat(2_000)),
                   "metadata": {"a": "é".repeat(190), "b": "é".repeat(190)}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut carol = Client::connect(&nodes[2].ws_base(), &session, None)
        .await
        .unwrap();
    for viewer in [&bob, &carol] {
        viewer
            .live_enter(&live, "participant", false, false)
            .await
            .unwrap();
    }
    expect_events(&mut host, &live, &["live.participant_entered"; 2]).await;

    // Carol (node c) talks: the host (node a) and Bob (node b) hear every message as she
    // sent it, in her order; a message of control characters (6 bytes each in JSON) is
    // the biggest frame there is.
    let longest = "\u{1}".repeat(1_000);
    let mut sent = Vec::new();
    for text in ["one", "two", longest.as_str(), "three", "four"] {
        sent.push(carol.live_chat(&live, text).await.unwrap()["message"].clone());
    }
    for client in [&mut host, &mut bob] {
        assert_eq!(chat_heard(client, &live).await, sent);
    }
    assert_eq!(chat_heard(&mut carol, &live).await, Vec::<Value>::new());

    // The host answers from node a: both viewers hear it once.
    let reply = host.live_chat(&live, "welcome").await.unwrap();
    for client in [&mut bob, &mut carol] {
        assert_eq!(
            chat_heard(client, &live).await,
            vec![reply["message"].clone()]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_user_on_two_nodes_has_one_chat_bucket() {
    let db = TestDatabase::create().await.unwrap();
    let nodes = three_nodes(&db).await;
    let (live, mut host) = live_with_host_on(&nodes[2]).await;
    // Dana's phone is on node a, her laptop on node b.
    let session = nodes[0].session_for("dana").await;
    let phone = Client::connect(&nodes[0].ws_base(), &session, None)
        .await
        .unwrap();
    let laptop = Client::connect(&nodes[1].ws_base(), &session, None)
        .await
        .unwrap();
    for device in [&phone, &laptop] {
        device
            .live_enter(&live, "participant", false, false)
            .await
            .unwrap();
    }
    expect_events(&mut host, &live, &["live.participant_entered"; 2]).await;

    // Ten from the phone take the whole burst (a fresh bucket holds ten); then the laptop,
    // on another node, is refused: 5 tokens a second come back, so at most one more per
    // fifth of a second since the burst began may pass.
    let began = std::time::Instant::now();
    for n in 0..10 {
        phone.live_chat(&live, &format!("m{n}")).await.unwrap();
    }
    let mut extra = 0;
    let refused = loop {
        match laptop.live_chat(&live, "one too many").await {
            Ok(_) => extra += 1,
            Err(err) => break err.code(),
        }
        assert!(extra <= 10, "the laptop has a bucket of its own");
    };
    assert_eq!(refused, Some(429100));
    let refill = (began.elapsed().as_secs_f64() * 5.0).floor() as usize;
    assert!(
        extra <= refill,
        "{extra} more passed after the burst within {:?}",
        began.elapsed()
    );
    // Nobody hears the refused message: the host hears the ten and what the refill let
    // through, nothing more.
    let heard = chat_heard(&mut host, &live).await;
    assert_eq!(heard.len(), 10 + extra, "{heard:?}");
    for (n, message) in heard.iter().take(10).enumerate() {
        assert_eq!(message["message"], format!("m{n}"));
    }
    phone.ping().await.expect("the connection stays usable");
}
