//! The bridge's side of media placement, driven against three real SFUs on 127.0.0.1 and a
//! scripted stand-in for the cluster (which node the placement store names, and a request
//! reaching the other bridge directly): an offer through a node that does not carry the
//! group is answered by the owner's SFU and the media peer connects there; an owner that
//! finds the group placed elsewhere when the offer arrives answers "moved", and the asking
//! bridge places again and forwards to the new owner; the owner drops its placement when
//! its group empties, and a removal through the asking node reaches the owner.

use async_trait::async_trait;
use opencalls_domain::{ParticipantId, RoomId, RoomType};
use opencalls_media_peer::{MediaPeer, PeerConfig, PeerHandle};
use opencalls_rtc::placement::{MediaEvent, MediaReply, MediaRequest, Placement, PlacementError};
use opencalls_rtc::{MediaBridge, MediaConfig, MediaGroup, Member};
use opencalls_runtime::SystemClock;
use opencalls_service::Services;
use opencalls_sfu::{Sfu, SfuConfig, SfuHandle};
use opencalls_store::NodeId;
use opencalls_store_sqlite::SqliteStore;
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What the nodes share: the placement store's scripted answers, what was dropped, and
/// every node's bridge.
#[derive(Default)]
struct World {
    /// The owners `place` returns, in order, whoever asks.
    answers: Mutex<VecDeque<NodeId>>,
    forgotten: Mutex<Vec<(NodeId, MediaGroup)>>,
    bridges: Mutex<HashMap<NodeId, Weak<MediaBridge>>>,
    services: Mutex<Option<Services>>,
}

struct Node {
    id: NodeId,
    world: Arc<World>,
}

#[async_trait]
impl Placement for Node {
    fn node(&self) -> &NodeId {
        &self.id
    }

    async fn place(&self, _group: &MediaGroup) -> Result<NodeId, PlacementError> {
        let next = self.world.answers.lock().unwrap().pop_front();
        next.ok_or_else(|| PlacementError::Store("no scripted answer left".into()))
    }

    async fn forget(&self, group: &MediaGroup) {
        let dropped = (self.id.clone(), group.clone());
        self.world.forgotten.lock().unwrap().push(dropped);
    }

    async fn request(
        &self,
        node: &NodeId,
        request: MediaRequest,
    ) -> Result<MediaReply, PlacementError> {
        let bridge = self.world.bridges.lock().unwrap().get(node).cloned();
        let bridge = bridge.and_then(|b| b.upgrade());
        let bridge = bridge.ok_or_else(|| PlacementError::Timeout(node.clone()))?;
        let services = self.world.services.lock().unwrap().clone().unwrap();
        Ok(bridge.serve(request, &services.live_events).await)
    }

    fn publish(&self, _event: MediaEvent) {}
}

fn id(name: &str) -> NodeId {
    NodeId::parse(name).unwrap()
}

/// A node's bridge on its own SFU, part of `world`.
fn bridge(world: &Arc<World>, name: &str) -> (Arc<MediaBridge>, SfuHandle) {
    let (sfu, _events) = Sfu::start(SfuConfig::default()).expect("sfu");
    let bridge = Arc::new(MediaBridge::new(sfu.clone(), MediaConfig::default()));
    let node = Node {
        id: id(name),
        world: world.clone(),
    };
    bridge.set_placement(Arc::new(node));
    let weak = Arc::downgrade(&bridge);
    world.bridges.lock().unwrap().insert(id(name), weak);
    (bridge, sfu)
}

async fn peers(sfu: &SfuHandle) -> usize {
    sfu.stats().await.expect("stats").peers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offer_reaches_the_owner_even_when_the_group_moved_on_the_way() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("db")).unwrap());
    let services = Services::new(store, Arc::new(SystemClock));
    let world = Arc::new(World::default());
    *world.services.lock().unwrap() = Some(services);
    let (a, sfu_a) = bridge(&world, "a");
    let (b, sfu_b) = bridge(&world, "b");
    let (_c, sfu_c) = bridge(&world, "c");
    let room = RoomId::parse("room").unwrap();
    let member = Member::Participant(ParticipantId::parse("p1").unwrap());
    // b is told a carries the room; a, asked to add the peer, finds it placed on c (a
    // dropped it and c took it meanwhile): a answers "moved", b places again (c) and c,
    // re-asserting, carries it.
    for owner in ["a", "c", "c", "c"] {
        world.answers.lock().unwrap().push_back(id(owner));
    }
    let config = PeerConfig {
        tag: 1,
        ..PeerConfig::default()
    };
    let (peer, sdp) = MediaPeer::new(config, IpAddr::V4(Ipv4Addr::LOCALHOST))
        .await
        .expect("peer");
    let answer = b
        .offer_room(&room, RoomType::SmallRoomForVideo, member_pid(&member), sdp)
        .await
        .expect("an answer from c");
    let peer: PeerHandle = peer.start(&answer).expect("start");
    assert!(
        world.answers.lock().unwrap().is_empty(),
        "every placement asked"
    );
    assert_eq!(
        (
            peers(&sfu_a).await,
            peers(&sfu_b).await,
            peers(&sfu_c).await
        ),
        (0, 0, 1)
    );
    until("the peer's transport is up with c's SFU", async || {
        peer.stats().connected
    })
    .await;
    // The member's removal through b reaches c; c's group empties and c drops its
    // placement (only c: a and b never carried it).
    b.remove(&member).await;
    until("c freed the peer", async || peers(&sfu_c).await == 0).await;
    let forgotten = world.forgotten.lock().unwrap().clone();
    assert_eq!(forgotten, vec![(id("c"), MediaGroup::Room(room))]);
    drop(a);
    peer.stop().await;
}

fn member_pid(member: &Member) -> &ParticipantId {
    match member {
        Member::Participant(pid) => pid,
        other => panic!("not a room participant: {other:?}"),
    }
}
