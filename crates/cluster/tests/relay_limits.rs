//! The media relay's limits (`opencalls_cluster::media`, docs/cluster.md "Media
//! placement"), between real relays over one PostgreSQL database (a fresh one on
//! `OPENCALLS_TEST_POSTGRES_URL`'s server, dropped at the end):
//! - a request to a node registered alive whose relay is gone fails with `Timeout` after
//!   the reply timeout (the default, 3 s), no sooner, and leaves nothing in flight;
//! - beyond `max_pending` requests in flight, the next one fails at once with
//!   `TooManyInFlight`;
//! - an owner serving `max_serving` requests answers another one "unavailable" at once,
//!   which the asking bridge reads as `OwnerUnavailable`.
//!
//! The last two run with small limits ([`RelayLimits`]), so the cap is reached with a few
//! requests and the ones holding it do not time out meanwhile.

mod common;

use async_trait::async_trait;
use common::{config, until};
use opencalls_cluster::media::{MediaRelay, REPLY_TIMEOUT, RelayLimits, Target};
use opencalls_domain::{
    DeviceKey, DirectCallId, LiveEventId, Millis, ParticipantId, RoomId, RoomType,
};
use opencalls_protocol::{CallEvent, LiveEventEvent, RoomEvent};
use opencalls_rtc::placement::{MediaReply, MediaRequest, PlacementError, RemoteFailure};
use opencalls_rtc::{MediaBridge, MediaConfig, MediaError, MediaGroup, MediaSink, Member};
use opencalls_runtime::{Clock, SystemClock};
use opencalls_service::Services;
use opencalls_sfu::{Sfu, SfuConfig};
use opencalls_store::{
    ClusterStore, MediaFeed, MediaNote, MediaStore, NodeId, PlacedGroup, StoreError,
};
use opencalls_store_postgres::PostgresStore;
use opencalls_store_postgres::testing::TestDatabase;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Room for a loaded machine in every "quickly" and "not much later".
const MARGIN: Duration = Duration::from_secs(10);

fn id(name: &str) -> NodeId {
    NodeId::parse(name).unwrap()
}

async fn node_store(db: &TestDatabase, name: &str) -> PostgresStore {
    let store = PostgresStore::open_node(db.url(), 4, Some(&id(name))).await;
    store.expect("open the node's store")
}

/// Node `name`'s relay on `media` (its store, or a wrapper of it) with `limits`.
async fn relay(
    media: Arc<dyn MediaStore>,
    cluster: &PostgresStore,
    name: &str,
    limits: RelayLimits,
) -> MediaRelay {
    let (cluster, clock) = (Arc::new(cluster.clone()), Arc::new(SystemClock));
    let every = Duration::from_millis(100);
    let relay = MediaRelay::start_with_limits(media, cluster, clock, id(name), every, limits);
    relay.await.expect("start the relay")
}

/// Registers node `name` alive for a minute, as its membership would.
async fn register(cluster: &PostgresStore, name: &str) {
    let node = config(name, 60_000).node;
    let registered = cluster
        .register_node(&node, SystemClock.now(), 60_000)
        .await;
    assert!(registered.expect("register the node"));
}

/// Node `name`, registered alive, whose relay ran and was dropped (the process crashed
/// and its lease has not run out): notes to it go unheard.
async fn crashed_node(db: &TestDatabase, name: &str) -> NodeId {
    let store = node_store(db, name).await;
    register(&store, name).await;
    let media = Arc::new(store.clone());
    drop(relay(media, &store, name, RelayLimits::default()).await);
    id(name)
}

fn set_media(participant: usize) -> MediaRequest {
    let pid = ParticipantId::parse(&format!("p{participant}")).unwrap();
    MediaRequest::SetMedia {
        member: Member::Participant(pid),
        audio: Some(true),
        video: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_to_an_owner_that_does_not_answer_times_out_after_the_reply_timeout() {
    let db = TestDatabase::create().await.expect("test database");
    let store = node_store(&db, "a").await;
    let a = relay(Arc::new(store.clone()), &store, "a", RelayLimits::default()).await;
    let b = crashed_node(&db, "b").await;
    let live = store.live_nodes(SystemClock.now()).await.unwrap();
    assert!(live.iter().any(|n| n.info.node_id == b), "{live:?}");

    let (placement, to) = (a.placement(), b.clone());
    let asked = Instant::now();
    let asking = tokio::spawn(async move { placement.request(&to, set_media(1)).await });
    until("the request to be in flight", || a.in_flight() == 1).await;
    let answer = tokio::time::timeout(REPLY_TIMEOUT + MARGIN, asking).await;
    let waited = asked.elapsed();
    let answer = answer.expect("the request outlived its reply timeout by far");
    let answer = answer.expect("the asking task");
    assert!(
        matches!(answer, Err(PlacementError::Timeout(ref node)) if *node == b),
        "{answer:?}"
    );
    assert!(waited >= REPLY_TIMEOUT, "gave up after only {waited:?}");
    assert_eq!(
        a.in_flight(),
        0,
        "the timed-out correlation id is still pending"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_max_pending_requests_in_flight_the_next_one_fails_at_once() {
    const CAP: usize = 4;
    // A reply timeout far beyond the test: the requests holding the cap stay in flight.
    let limits = RelayLimits {
        max_pending: CAP,
        reply_timeout: Duration::from_secs(120),
        ..RelayLimits::default()
    };
    let db = TestDatabase::create().await.expect("test database");
    let store = node_store(&db, "a").await;
    let a = relay(Arc::new(store.clone()), &store, "a", limits).await;
    let b = crashed_node(&db, "b").await;
    let ask = |participant| {
        let (placement, to) = (a.placement(), b.clone());
        tokio::spawn(async move { placement.request(&to, set_media(participant)).await })
    };
    let waiting: Vec<_> = (0..CAP).map(ask).collect();
    until("the cap's worth of requests in flight", || {
        a.in_flight() == CAP
    })
    .await;

    // Refused before anything is sent or awaited: it ends at its first poll (a timeout
    // of zero polls the request once before giving up).
    let placement = a.placement();
    let over = placement.request(&b, set_media(CAP));
    let refused = tokio::time::timeout(Duration::ZERO, over).await;
    let refused = refused.expect("the request over the cap waited");
    assert!(
        matches!(&refused, Err(PlacementError::TooManyInFlight(node)) if *node == b),
        "{refused:?}"
    );
    assert_eq!(a.in_flight(), CAP, "the refused request was counted");
    assert!(waiting.iter().all(|w| !w.is_finished()));

    // An asker that gives up frees its place, and the next request takes it.
    waiting[0].abort();
    until("the abandoned request to be forgotten", || {
        a.in_flight() == CAP - 1
    })
    .await;
    let next = ask(CAP + 1);
    until("the next request in flight", || a.in_flight() == CAP).await;
    for task in waiting.iter().chain([&next]) {
        task.abort();
    }
    until("every abandoned request to be forgotten", || {
        a.in_flight() == 0
    })
    .await;
}

/// A media store whose `place_media` waits until the gate opens (the rest passes
/// through): a request served by this node's bridge holds its serving place meanwhile.
struct Gated {
    inner: PostgresStore,
    open: watch::Sender<bool>,
}

#[async_trait]
impl MediaStore for Gated {
    async fn place_media(
        &self,
        g: &PlacedGroup,
        me: &NodeId,
        now: Millis,
    ) -> Result<NodeId, StoreError> {
        let _ = self.open.subscribe().wait_for(|open| *open).await;
        self.inner.place_media(g, me, now).await
    }
    async fn drop_media_placement(&self, g: &PlacedGroup, n: &NodeId) -> Result<(), StoreError> {
        self.inner.drop_media_placement(g, n).await
    }
    async fn drop_node_placements(&self, n: &NodeId) -> Result<u64, StoreError> {
        self.inner.drop_node_placements(n).await
    }
    async fn send_media_note(&self, note: &MediaNote) -> Result<(), StoreError> {
        self.inner.send_media_note(note).await
    }
    async fn listen_media(&self, me: &NodeId) -> Result<Box<dyn MediaFeed>, StoreError> {
        self.inner.listen_media(me).await
    }
    async fn sweep_media(&self) -> Result<(), StoreError> {
        self.inner.sweep_media().await
    }
}

/// A node without devices: the client events of other nodes go nowhere.
struct NoDevices;

impl MediaSink for NoDevices {
    fn to_room(&self, _: &RoomId, _: Option<&ParticipantId>, _: RoomEvent) {}
    fn to_live_member(&self, _: &LiveEventId, _: &DeviceKey, _: LiveEventEvent) {}
    fn to_call(&self, _: &DirectCallId, _: &[DeviceKey], _: CallEvent) {}
}

/// A media bridge on its own SFU, connected to `relay` both ways (as the server does).
fn bridge(relay: &MediaRelay, store: &PostgresStore) -> Arc<MediaBridge> {
    let config = SfuConfig {
        workers: 1,
        ..SfuConfig::default()
    };
    let (sfu, _events) = Sfu::start(config).expect("sfu");
    let bridge = Arc::new(MediaBridge::new(sfu, MediaConfig::default()));
    bridge.set_placement(relay.placement());
    relay.attach(Target {
        bridge: Arc::downgrade(&bridge),
        sink: Arc::new(NoDevices),
        services: Services::new(Arc::new(store.clone()), Arc::new(SystemClock)),
    });
    bridge
}

fn room(name: &str) -> RoomId {
    RoomId::parse(name).unwrap()
}

/// An offer into room `name`, as another node forwards it (its SDP is not one: the
/// SFU refuses it, once the request gets that far).
fn offer(name: &str) -> MediaRequest {
    MediaRequest::Offer {
        group: MediaGroup::Room(room(name)),
        member: Member::Participant(ParticipantId::parse("p1").unwrap()),
        room_type: Some(RoomType::SmallRoomForVideo),
        sdp: "v=0".into(),
        device: None,
    }
}

fn is_busy(reply: &MediaReply) -> bool {
    matches!(reply, MediaReply::Failed { failure: RemoteFailure::Unavailable { why } } if why.contains("too many"))
}

/// Node a asking node b, which serves at most `CAP` requests and places nothing until
/// `gate` opens; b's placements and a's replies may take two minutes.
struct Busy {
    a: MediaRelay,
    b: MediaRelay,
    a_store: PostgresStore,
    a_bridge: Arc<MediaBridge>,
    _b_bridge: Arc<MediaBridge>,
    gate: Arc<Gated>,
}

impl Busy {
    const CAP: usize = 2;

    async fn start(db: &TestDatabase) -> Self {
        let (a_store, b_store) = (node_store(db, "a").await, node_store(db, "b").await);
        let (open, _) = watch::channel(false);
        let inner = b_store.clone();
        let gate = Arc::new(Gated { inner, open });
        let slow = Duration::from_secs(120);
        let a_limits = RelayLimits {
            reply_timeout: slow,
            ..RelayLimits::default()
        };
        let b_limits = RelayLimits {
            max_serving: Self::CAP,
            store_timeout: slow,
            ..RelayLimits::default()
        };
        let a = relay(Arc::new(a_store.clone()), &a_store, "a", a_limits).await;
        let b = relay(gate.clone(), &b_store, "b", b_limits).await;
        let (a_bridge, _b_bridge) = (bridge(&a, &a_store), bridge(&b, &b_store));
        register(&b_store, "b").await;
        Self {
            a,
            b,
            a_store,
            a_bridge,
            _b_bridge,
            gate,
        }
    }

    /// Forwards an offer into room `name` from a to b, in a task of its own.
    fn ask(&self, name: &str) -> JoinHandle<Result<MediaReply, PlacementError>> {
        let (placement, request) = (self.a.placement(), offer(name));
        tokio::spawn(async move { placement.request(&id("b"), request).await })
    }

    /// An offer of a device on a into room "busy", placed on b (well before any timeout).
    async fn offer_through_a(&self) -> Result<String, MediaError> {
        let (room, pid) = (room("busy"), ParticipantId::parse("p2").unwrap());
        let kind = RoomType::SmallRoomForVideo;
        let offered = self.a_bridge.offer_room(&room, kind, &pid, "v=0".into());
        let offered = tokio::time::timeout(MARGIN, offered).await;
        offered.expect("an answer to the offer before the timeout")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_serving_max_serving_requests_answers_another_one_unavailable_at_once() {
    let db = TestDatabase::create().await.expect("test database");
    let nodes = Busy::start(&db).await;
    // The first offer waits for its placement, the others for b's bridge.
    let held: Vec<_> = (0..Busy::CAP)
        .map(|i| nodes.ask(&format!("held{i}")))
        .collect();
    until("b to serve its cap of requests", || {
        nodes.b.serving() == Busy::CAP
    })
    .await;

    refused_while_busy(&nodes).await;
    assert!(
        held.iter().all(|h| !h.is_finished()),
        "a held request ended"
    );
    assert_eq!(nodes.b.serving(), Busy::CAP);

    // Once b places again, the held offers are served (the SFU refuses their SDP), and
    // so is the offer refused while b was busy.
    nodes.gate.open.send_replace(true);
    for task in held {
        let reply = tokio::time::timeout(MARGIN, task).await;
        let reply = reply.expect("a held request").unwrap().expect("a reply");
        assert!(!is_busy(&reply), "{reply:?}");
    }
    until("b to serve nothing", || nodes.b.serving() == 0).await;
    let again = nodes.offer_through_a().await;
    assert!(matches!(again, Err(MediaError::Sfu(_))), "{again:?}");
    assert_eq!(nodes.a.in_flight(), 0);
}

/// While b serves its cap: a request from a is answered "unavailable" well before any
/// timeout, and an offer through a's bridge into a room placed on b fails with
/// `OwnerUnavailable` (the client hears an internal error and offers again).
async fn refused_while_busy(nodes: &Busy) {
    let reply = tokio::time::timeout(MARGIN, nodes.ask("other")).await;
    let reply = reply.expect("a reply before the timeout").unwrap();
    assert!(reply.as_ref().is_ok_and(is_busy), "{reply:?}");

    let (busy, b) = (PlacedGroup::Room(room("busy")), id("b"));
    let placed = nodes
        .a_store
        .place_media(&busy, &b, SystemClock.now())
        .await;
    assert_eq!(placed.expect("place the room on b"), b);
    let offered = nodes.offer_through_a().await;
    assert!(
        matches!(&offered, Err(MediaError::Placement(PlacementError::OwnerUnavailable(node, _))) if *node == id("b")),
        "{offered:?}"
    );
}
