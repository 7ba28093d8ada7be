//! Media across the nodes of a cluster (docs/cluster.md, "Media placement"): a call's
//! media lives on one node's SFU; devices connected to other nodes get their answers from
//! that SFU and send their media there, what they do about their media (mute, exit)
//! reaches it, and its client events (`media.track`, ...) reach them, for rooms, live
//! events and direct calls. When the owner dies, its members elsewhere hear
//! `media.disconnected` and their next offer places the media on a live node.
//!
//! These tests always run on PostgreSQL (`OPENCALLS_TEST_POSTGRES_URL`'s server): a
//! cluster needs a shared database. Media flows over real UDP on 127.0.0.1 between
//! `opencalls-media-peer` clients and the owner's SFU.

use crate::calls_common::{TestUser, connected_with_track_of, dial_accepted, event as call_event};
use crate::common::{TestServer, id_of, metric, told_transport_lost, video_off_pauses_video};
use crate::live_common::{Ready, act, create as create_live, fetch as fetch_live, id as live_id};
use crate::media_rooms::{self as rooms, Member, participants};
use opencalls_client::media::{
    PeerConfig, PeerHandle, join_call_media, join_live_media, join_media,
};
use opencalls_client::{Client, DialOptions, Incoming};
use opencalls_store_postgres::testing::TestDatabase;
use opencalls_testkit::poll::{SLOW as WAIT, until};
use serde_json::json;
use std::time::Duration;

/// A node on `db`, named `id`, with the cluster tests' lease.
async fn node(db: &TestDatabase, id: &str) -> TestServer {
    crate::cluster::node(db, id, |_| {}).await
}

/// A peer tagged `tag` sending audio and video, receiving 3 slots of each.
pub(crate) fn peer_config(tag: u32) -> PeerConfig {
    rooms::peer_config(tag, 3, true)
}

/// A device of `user` on `server` that enters the room and offers audio and video.
pub(crate) async fn join(server: &TestServer, room: &str, user: &str, tag: u32) -> Member {
    rooms::join(server, room, user, tag, true).await
}

pub(crate) async fn sfu_peers(server: &TestServer) -> usize {
    server.sfu.stats().await.expect("sfu stats").peers
}

/// Waits until `to` receives audio and video (from a keyframe) from the peer tagged `from`.
pub(crate) async fn receives(to: &PeerHandle, from: u32, what: &str) {
    until(what, WAIT, async || {
        let got = to.stats().from_source(from);
        got.audio_frames > 5 && got.video_frames > 5 && got.keyframes > 0
    })
    .await;
}

/// Waits for a `media.track` event on `client` naming `source` as the participant of a
/// slot of `kind`; returns the slot's mid.
async fn track_from(client: &mut Client, source: &str, kind: &str) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no media.track naming {source}"
        );
        if let Some(Incoming::Event { name, data, .. }) =
            client.next_incoming(Duration::from_millis(50)).await
            && name == "media.track"
            && data["participant_id"] == source
            && data["kind"] == kind
        {
            return data["mid"].as_str().unwrap_or_default().to_owned();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_video_room_with_devices_on_two_nodes_exchanges_media_on_one_sfu() {
    let db = TestDatabase::create().await.unwrap();
    let (a, b) = (node(&db, "a").await, node(&db, "b").await);
    let room = id_of(&a.create_room("small_room_for_video").await);
    // Alice's offer places the room on node a (the nodes are even: the asker wins); bob's,
    // through node b, gets its answer from a's SFU.
    let alice = join(&a, &room, "alice", 1).await;
    let mut bob = join(&b, &room, "bob", 2).await;
    receives(&alice.peer, 2, "alice receives bob's audio and video").await;
    receives(&bob.peer, 1, "bob receives alice's audio and video").await;
    assert_eq!((sfu_peers(&a).await, sfu_peers(&b).await), (2, 0));
    until("both participants connected", WAIT, async || {
        let list = participants(&b, &room).await;
        list.len() == 2 && list.iter().all(|p| p["state"] == "connected")
    })
    .await;
    // a's client events reach bob on node b, and his layer hint through b reaches a's SFU.
    let mid = track_from(&mut bob.client, &alice.pid, "video").await;
    let hint = json!({"room_id": room, "mid": mid, "max_height": 180});
    let set = bob.client.request("media.set_layer_hint", hint).await;
    assert_eq!(set.expect("a layer hint through node b")["max_height"], 180);

    // Bob turns his video off through node b: a's SFU stops forwarding it.
    video_off_pauses_video(&bob.client, &room, &alice.peer, 2).await;

    // Bob's exit through node b frees his peer on a's SFU; alice's exit frees the rest.
    bob.client.exit(&room).await.expect("exit");
    until("bob's peer on node a is freed", WAIT, async || {
        sfu_peers(&a).await == 1
    })
    .await;
    alice.client.exit(&room).await.expect("exit");
    until("node a's SFU is empty", WAIT, async || {
        sfu_peers(&a).await == 0
    })
    .await;
    let _ = bob.pid;

    // /metrics: b forwarded bob's requests (offer, layer hint, media off, …), a served
    // each of them, nothing timed out, and a (alice's node, the owner) forwarded nothing.
    const FORWARDED: &str = "opencalls_media_relay_requests_forwarded_total";
    const SERVED: &str = r#"opencalls_media_relay_requests_served_total{result="served"}"#;
    until("every forwarded request was served", WAIT, async || {
        let forwarded = metric(&b, FORWARDED).await;
        forwarded >= 3 && forwarded == metric(&a, SERVED).await
    })
    .await;
    assert_eq!(metric(&a, FORWARDED).await, 0);
    assert_eq!(
        metric(&b, "opencalls_media_relay_requests_timed_out_total").await,
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn viewers_on_two_other_nodes_receive_the_live_hosts_media() {
    let db = TestDatabase::create().await.unwrap();
    let nodes = [
        node(&db, "a").await,
        node(&db, "b").await,
        node(&db, "c").await,
    ];
    let id = live_id(&create_live(&nodes[0], &["host"]).await);
    let host = nodes[0].device("host").await;
    host.live_enter(&id, "host", true, true)
        .await
        .expect("host enters");
    let (host_peer, _) = join_live_media(&host, &id, peer_config(1))
        .await
        .expect("host offer");
    assert_eq!(act(&nodes[0], &id, Ready).await.0, 200);
    let mut viewers = Vec::new();
    for (i, server) in nodes[1..].iter().enumerate() {
        let user = format!("viewer{i}");
        let client = server.device(&user).await;
        client
            .live_enter(&id, "participant", false, false)
            .await
            .expect("viewer enters");
        let tag = 10 + i as u32;
        let (peer, _) = join_live_media(&client, &id, PeerConfig::viewer(tag))
            .await
            .expect("viewer offer");
        viewers.push((client, peer));
    }
    until("the host is connected", WAIT, async || {
        fetch_live(&nodes[2], &id).await["host"]["state"] == "connected"
    })
    .await;
    // Started through node c: node a's SFU hears of it through the event tail.
    host.live_start(&id).await.expect("start");
    for (_, peer) in &viewers {
        receives(peer, 1, "a viewer on another node receives the host").await;
    }
    let counts = [
        sfu_peers(&nodes[0]).await,
        sfu_peers(&nodes[1]).await,
        sfu_peers(&nodes[2]).await,
    ];
    assert_eq!(counts, [3, 0, 0], "every peer on the host's node");
    assert!(host_peer.stats().audio_sent > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn when_the_owner_dies_the_next_offer_places_the_media_on_a_live_node() {
    let db = TestDatabase::create().await.unwrap();
    let (a, b) = (node(&db, "a").await, node(&db, "b").await);
    let room = id_of(&b.create_room("small_room_for_video").await);
    let alice = join(&a, &room, "alice", 1).await;
    let mut bob = join(&b, &room, "bob", 2).await;
    let carol = join(&b, &room, "carol", 3).await;
    receives(&bob.peer, 1, "bob receives alice through node a").await;
    assert_eq!(sfu_peers(&a).await, 3);
    // Node a dies with the room's media on it; alice's device goes with it.
    alice.peer.stop().await;
    a.kill();
    // Node b notices a is gone (its lease ran out) and tells bob his media is.
    let what = "bob was not told his media on node a is gone";
    told_transport_lost(&mut bob.client, WAIT, what).await;
    bob.peer.stop().await;
    carol.peer.stop().await;
    // a's lease ran out, so the media is placed on node b.
    offer_again_on_b(&b, &room, &bob.client, &carol.client).await;
}

/// Bob (tag 2) and carol (tag 3), devices on node `b`, offer again after their media's
/// node went away: the media is placed on `b` and flows between them there.
pub(crate) async fn offer_again_on_b(b: &TestServer, room: &str, bob: &Client, carol: &Client) {
    let (bob_peer, _) = join_media(bob, room, peer_config(2))
        .await
        .expect("bob's new offer");
    let (carol_peer, _) = join_media(carol, room, peer_config(3))
        .await
        .expect("carol's new offer");
    receives(&bob_peer, 3, "bob receives carol on node b").await;
    receives(&carol_peer, 2, "carol receives bob on node b").await;
    assert_eq!(sfu_peers(b).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_direct_call_between_devices_on_two_nodes_connects_and_ends_completed() {
    let db = TestDatabase::create().await.unwrap();
    let (a, b) = (node(&db, "a").await, node(&db, "b").await);
    let alice = TestUser::create(&a, "alice").await;
    let bob = TestUser::create(&a, "bob").await;
    let mut caller = alice.device(&a, None).await;
    let mut phone = bob.device(&b, None).await;
    let video = DialOptions {
        is_video_call: true,
        ..DialOptions::default()
    };
    let id = dial_accepted(&caller, &mut phone, "bob", video).await;
    // The caller's offer places the call on node a; the phone's, through b, is answered
    // there.
    let caller_peer = join_call_media(&caller, &id, peer_config(1)).await.unwrap();
    let phone_peer = join_call_media(&phone, &id, peer_config(2)).await.unwrap();
    receives(&caller_peer, 2, "the caller receives the phone").await;
    receives(&phone_peer, 1, "the phone receives the caller").await;
    assert_eq!((sfu_peers(&a).await, sfu_peers(&b).await), (2, 0));
    // Both sides' media up on a's SFU: the call is connected, and the phone on node b
    // hears it and which side its slots carry (a's `media.track`, relayed).
    call_event(&mut caller, "call.connected").await;
    connected_with_track_of(&mut phone, "alice").await;
    // Ended through node b: a frees both peers.
    let ended = phone.end_call(&id).await.unwrap();
    assert_eq!(ended.end_result.map(|r| r.as_str()), Some("completed"));
    until("node a's SFU freed both peers", WAIT, async || {
        sfu_peers(&a).await == 0
    })
    .await;
    for peer in [caller_peer, phone_peer] {
        peer.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_call_goes_to_the_least_loaded_node_and_its_sides_lose_media_when_it_dies() {
    let db = TestDatabase::create().await.unwrap();
    let nodes = [
        node(&db, "a").await,
        node(&db, "b").await,
        node(&db, "c").await,
    ];
    // Nodes b and c carry one room each (each placed on the node its device offered on).
    let mut busy = Vec::new();
    for (i, server) in nodes[1..].iter().enumerate() {
        let room = id_of(&server.create_room("small_room_for_video").await);
        busy.push(join(server, &room, &format!("busy{i}"), 10 + i as u32).await);
    }
    assert_eq!(sfu_peers(&nodes[1]).await, 1);
    assert_eq!(sfu_peers(&nodes[2]).await, 1);
    // A call between devices on b and c goes to a, the node with the fewest groups.
    let alice = TestUser::create(&nodes[1], "alice").await;
    let bob = TestUser::create(&nodes[1], "bob").await;
    let mut caller = alice.device(&nodes[1], None).await;
    let mut phone = bob.device(&nodes[2], None).await;
    let id = dial_accepted(&caller, &mut phone, "bob", DialOptions::default()).await;
    let caller_peer = join_call_media(&caller, &id, peer_config(1)).await.unwrap();
    let phone_peer = join_call_media(&phone, &id, peer_config(2)).await.unwrap();
    receives(
        &caller_peer,
        2,
        "the caller receives the phone through node a",
    )
    .await;
    assert_eq!(sfu_peers(&nodes[0]).await, 2);
    // Node a dies: b and c notice, and each side is handled as a lost transport.
    let [a, b, c] = nodes;
    a.kill();
    for device in [&mut caller, &mut phone] {
        // Its own `media.disconnected`, and `call.media_lost` of both sides (in any order).
        let mut heard = Vec::new();
        let all = device
            .wait_for(WAIT, |m| {
                if let Incoming::Event { name, data, .. } = m {
                    match name.as_str() {
                        "media.disconnected" => heard.push(format!("{name} {}", data["reason"])),
                        "call.media_lost" => heard.push(format!("{name} {}", data["user_id"])),
                        _ => {}
                    }
                }
                heard.len() == 3
            })
            .await;
        assert!(all.is_some(), "heard only {heard:?}");
        heard.sort();
        assert_eq!(heard[0], "call.media_lost \"alice\"", "{heard:?}");
        assert_eq!(heard[1], "call.media_lost \"bob\"", "{heard:?}");
        assert_eq!(
            heard[2], "media.disconnected \"transport_lost\"",
            "{heard:?}"
        );
    }
    for peer in [caller_peer, phone_peer] {
        peer.stop().await;
    }
    drop((b, c, busy));
}
