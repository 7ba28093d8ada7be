//! A node cut off from the database fences itself (docs/cluster.md, "Failures"): before
//! a survivor can claim it, it closes its WebSockets (`goodbye server_restart`) and removes
//! its media groups, so its devices resume on a live node and a group is never carried by
//! two nodes; once it reaches the database again and the clean-up after it is done, it
//! serves again. And a node whose listening connection broke rechecks every session once it
//! listens again, so a revocation sent meanwhile still ends the session.
//!
//! The cut is a TCP proxy between the node and PostgreSQL, run by the test: cutting it
//! drops every connection through it and holds new ones unanswered (a black hole, like a
//! network partition) until it is restored.
//!
//! Always on PostgreSQL (`OPENCALLS_TEST_POSTGRES_URL`'s server), like `cluster`.

use crate::cluster::{node, participant, returning_device};
use crate::cluster_media::{join, offer_again_on_b, receives, sfu_peers};
use crate::common::{TestServer, id_of, told_transport_lost};
use opencalls_client::{Client, Incoming};
use opencalls_store_postgres::testing::{TestDatabase, recorded_nodes};
use opencalls_testkit::poll::{self, SLOW, WAIT};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// The cut-off node's lease: long enough that "fenced before claimed" is not a race with
/// the test reading the database (the margin is a fifth of it).
const LEASE_MS: u64 = 3_000;

/// The survivor's reconnect grace.
const GRACE_MS: u64 = 1_500;

/// A TCP proxy to PostgreSQL that the test can cut and restore.
struct DbProxy {
    url: String,
    cut: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DbProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DbProxy {
    /// A proxy to the server of `db_url` (`postgres://user@host:port/db`).
    async fn start(db_url: &str) -> Self {
        let (scheme, rest) = db_url.split_once("://").expect("a URL");
        let (user, rest) = rest.rsplit_once('@').map_or(("", rest), |(u, r)| (u, r));
        let (authority, path) = rest.split_once('/').expect("a database name");
        let upstream: SocketAddr = authority.parse().expect("an IP:port");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let at = if user.is_empty() { "" } else { "@" };
        let url = format!("{scheme}://{user}{at}{addr}/{path}");
        let (cut, _) = watch::channel(false);
        let task = tokio::spawn(accept(listener, upstream, cut.clone()));
        Self { url, cut, task }
    }

    /// Drops every connection through the proxy and leaves new ones unanswered.
    fn cut(&self) {
        self.cut.send_replace(true);
    }

    fn restore(&self) {
        self.cut.send_replace(false);
    }
}

async fn accept(listener: TcpListener, upstream: SocketAddr, cut: watch::Sender<bool>) {
    while let Ok((inbound, _)) = listener.accept().await {
        tokio::spawn(pipe(inbound, upstream, cut.subscribe()));
    }
}

/// Carries one connection until the proxy is cut; while it is cut, holds a new connection
/// unanswered until it is restored, then drops it.
async fn pipe(mut inbound: TcpStream, upstream: SocketAddr, mut cut: watch::Receiver<bool>) {
    if *cut.borrow_and_update() {
        let _ = cut.wait_for(|cut| !*cut).await;
        return;
    }
    let Ok(mut outbound) = TcpStream::connect(upstream).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
        _ = cut.wait_for(|cut| *cut) => {}
    }
}

/// Node `id` with a lease of `lease_ms`, reaching `db` only through a proxy of its own.
async fn node_behind_proxy(db: &TestDatabase, id: &str, lease_ms: u64) -> (DbProxy, TestServer) {
    let proxy = DbProxy::start(db.url()).await;
    let url = proxy.url.clone();
    let node = node(db, id, |c| {
        c.database_url = Some(url);
        c.node_lease_ms = lease_ms;
    })
    .await;
    (proxy, node)
}

fn server_restart() -> Option<Incoming> {
    Some(Incoming::Goodbye {
        reason: "server_restart".into(),
    })
}

/// Whether node `prefix` (its run id starts so) is recorded and not claimed by a survivor.
async fn unclaimed(db: &TestDatabase, prefix: &str) -> Result<(), String> {
    let nodes = recorded_nodes(db.url()).await?;
    let mine = nodes.iter().find(|(id, _)| id.starts_with(prefix));
    match mine {
        Some((_, None)) => Ok(()),
        _ => Err(format!("{nodes:?}")),
    }
}

/// Waits until node `prefix` is claimed by a survivor.
async fn claimed(db: &TestDatabase, prefix: &str) {
    poll::eventually(
        "the cut-off node claimed",
        SLOW,
        async || match unclaimed(db, prefix).await {
            Ok(()) => Err("not claimed yet".to_owned()),
            Err(_) => Ok(()),
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_cut_off_from_the_database_sends_its_devices_away_before_it_can_be_claimed() {
    let db = TestDatabase::create().await.unwrap();
    let (proxy, a) = node_behind_proxy(&db, "a", LEASE_MS).await;
    let b = node(&db, "b", |c| c.reconnect_grace_ms = GRACE_MS).await;
    let room = id_of(&b.create_room("small_room_for_video").await);
    let (mut alice, session, alice_client) = returning_device(&a, "alice").await;
    let pid =
        alice.enter(&room, true, false).await.unwrap()["participant"]["participant_id"].clone();

    proxy.cut();
    let cut_at = Instant::now();
    let goodbye = alice
        .wait_for(SLOW, |m| matches!(m, Incoming::Goodbye { .. }))
        .await;
    assert_eq!(goodbye, server_restart());
    // Fenced within the lease of the cut, and before the survivor could claim it.
    assert!(cut_at.elapsed() < Duration::from_millis(LEASE_MS));
    unclaimed(&db, "a.").await.unwrap();

    // The device resumes its seat on node b.
    let alice = Client::connect(&b.ws_base(), &session, Some(&alice_client))
        .await
        .unwrap();
    assert_eq!(alice.hello["resumed"][0]["participant_id"], pid);

    // Node b claims node a; once a reaches the database again and b's clean-up after it
    // (the grace) is done, a registers again and serves; the moved seat stays entered.
    claimed(&db, "a.").await;
    proxy.restore();
    let session_of_bob = b.session_for("bob").await;
    poll::eventually(
        "node a serving again",
        SLOW,
        async || match Client::connect(&a.ws_base(), &session_of_bob, None).await {
            Ok(_) => Ok(()),
            Err(err) => Err(format!("{err:?}")),
        },
    )
    .await;
    assert_eq!(participant(&b, &room, &pid).await["state"], "entered");
    drop(alice);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cut_off_node_drops_its_media_before_a_live_node_places_it_again() {
    let db = TestDatabase::create().await.unwrap();
    let (proxy, a) = node_behind_proxy(&db, "a", LEASE_MS).await;
    let b = node(&db, "b", |_| {}).await;
    let room = id_of(&b.create_room("small_room_for_video").await);
    let mut alice = join(&a, &room, "alice", 1).await;
    let mut bob = join(&b, &room, "bob", 2).await;
    let carol = join(&b, &room, "carol", 3).await;
    receives(&bob.peer, 1, "bob receives alice through node a").await;
    assert_eq!(sfu_peers(&a).await, 3, "the room's media is on node a");

    proxy.cut();
    let goodbye = alice
        .client
        .wait_for(SLOW, |m| matches!(m, Incoming::Goodbye { .. }))
        .await;
    assert_eq!(goodbye, server_restart());
    poll::until("node a removed its media", WAIT, async || {
        sfu_peers(&a).await == 0
    })
    .await;
    // Node b finds a dead and tells bob his media there is gone: a carries none of it.
    let what = "bob was not told his media on node a is gone";
    told_transport_lost(&mut bob.client, SLOW, what).await;
    assert_eq!(sfu_peers(&a).await, 0, "the group is split over a and b");

    alice.peer.stop().await;
    bob.peer.stop().await;
    carol.peer.stop().await;
    offer_again_on_b(&b, &room, &bob.client, &carol.client).await;
    assert_eq!(sfu_peers(&a).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_revocation_sent_while_a_nodes_listener_was_down_ends_the_session_when_it_listens_again()
{
    let db = TestDatabase::create().await.unwrap();
    // A long lease: the cut below is far shorter than the time before fencing, so only
    // the listener's reconnection can explain the recheck.
    let (proxy, a) = node_behind_proxy(&db, "a", 30_000).await;
    let b = node(&db, "b", |_| {}).await;
    let session = b.session_for("dana").await;
    let mut on_a = Client::connect(&a.ws_base(), &session, None).await.unwrap();
    let mut on_b = Client::connect(&b.ws_base(), &session, None).await.unwrap();

    proxy.cut();
    let (status, body) = b.delete("/v1/users/dana/token", None).await;
    assert_eq!(status, 200, "{body}");
    // Node b broadcast the revocation before ending its own connection of dana.
    let revoked = Some(Incoming::Goodbye {
        reason: "session_revoked".into(),
    });
    let goodbye = on_b
        .wait_for(WAIT, |m| matches!(m, Incoming::Goodbye { .. }))
        .await;
    assert_eq!(goodbye, revoked);
    proxy.restore();
    let goodbye = on_a
        .wait_for(SLOW, |m| matches!(m, Incoming::Goodbye { .. }))
        .await;
    assert_eq!(goodbye, revoked);
}
