//! Media placement across nodes: three stores on one database agree on one owner for a
//! group even when their first offers race, the least-loaded live node is chosen, a dead
//! owner is replaced, only the owner drops its placement, and notes reach the nodes they
//! are addressed to (a big one through the overflow table).

use opencalls_domain::{LiveEventId, RoomId};
use opencalls_store::{ClusterStore, MediaNote, MediaStore, NodeId, NodeInfo, PlacedGroup};
use opencalls_store_postgres::PostgresStore;
use opencalls_store_postgres::testing::TestDatabase;
use std::collections::BTreeSet;
use std::time::Duration;

const NOW: i64 = 1_000_000;

/// A store opened as node `id`, registered with a lease until `NOW + lease_ms`.
async fn node(db: &TestDatabase, id: &str, lease_ms: i64) -> (NodeId, PostgresStore) {
    let id = NodeId::parse(id).unwrap();
    let store = PostgresStore::open_node(db.url(), 4, Some(&id))
        .await
        .unwrap();
    let info = NodeInfo {
        node_id: id.clone(),
        http_addr: String::new(),
        media_addr: String::new(),
    };
    store.register_node(&info, NOW, lease_ms).await.unwrap();
    (id, store)
}

fn room(i: usize) -> PlacedGroup {
    PlacedGroup::Room(RoomId::parse(&format!("room-{i}")).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_first_offers_agree_and_groups_spread_by_load() {
    let db = TestDatabase::create().await.unwrap();
    let nodes = vec![
        node(&db, "a", 60_000).await,
        node(&db, "b", 60_000).await,
        node(&db, "c", 60_000).await,
    ];
    // 30 groups, each placed by the three nodes at once.
    let mut owners = Vec::new();
    for i in 0..30 {
        let mut racers = Vec::new();
        for (id, store) in &nodes {
            let (id, store, group) = (id.clone(), store.clone(), room(i));
            racers.push(tokio::spawn(async move {
                store.place_media(&group, &id, NOW + 1).await.unwrap()
            }));
        }
        let mut answers = BTreeSet::new();
        for racer in racers {
            answers.insert(racer.await.unwrap());
        }
        assert_eq!(
            answers.len(),
            1,
            "group {i}: one owner for all: {answers:?}"
        );
        owners.push(answers.into_iter().next().unwrap());
    }
    // Chosen by load: every node carries 10 of the 30.
    for (id, _) in &nodes {
        let carried = owners.iter().filter(|o| *o == id).count();
        assert_eq!(carried, 10, "node {id} carries {carried} of 30: {owners:?}");
    }
    // On equal load the asking node wins; later askers get the recorded owner.
    let (a, store_a) = &nodes[0];
    let fresh = PlacedGroup::Live(LiveEventId::parse("ev").unwrap());
    assert_eq!(&store_a.place_media(&fresh, a, NOW + 2).await.unwrap(), a);
    let (b, store_b) = &nodes[1];
    assert_eq!(&store_b.place_media(&fresh, b, NOW + 3).await.unwrap(), a);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dead_owner_is_replaced_and_only_the_owner_drops_a_placement() {
    let db = TestDatabase::create().await.unwrap();
    let (a, store_a) = node(&db, "a", 1_000).await;
    let (b, store_b) = node(&db, "b", 60_000).await;
    let group = room(1);
    assert_eq!(store_a.place_media(&group, &a, NOW + 10).await.unwrap(), a);
    assert_eq!(store_b.place_media(&group, &b, NOW + 20).await.unwrap(), a);
    // a's lease ran out: the next placement moves to a live node, for good.
    assert_eq!(
        store_b.place_media(&group, &b, NOW + 1_000).await.unwrap(),
        b
    );
    assert_eq!(
        store_a.place_media(&group, &a, NOW + 1_001).await.unwrap(),
        b
    );
    // a no longer owns it: its drop changes nothing; b's drop frees the group.
    store_a.drop_media_placement(&group, &a).await.unwrap();
    assert_eq!(
        store_a.place_media(&group, &a, NOW + 1_002).await.unwrap(),
        b
    );
    store_b.drop_media_placement(&group, &b).await.unwrap();
    let other = room(2);
    assert_eq!(
        store_b.place_media(&other, &b, NOW + 1_003).await.unwrap(),
        b
    );
    // b now carries one group, a (the asker, counted as a candidate) none.
    assert_eq!(
        store_a.place_media(&group, &a, NOW + 1_004).await.unwrap(),
        a
    );
    assert_eq!(store_b.drop_node_placements(&b).await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn notes_reach_their_addressee_in_order_and_big_ones_through_the_relay_table() {
    let db = TestDatabase::create().await.unwrap();
    let (a, store_a) = node(&db, "a", 60_000).await;
    let (b, store_b) = node(&db, "b", 60_000).await;
    let (c, store_c) = node(&db, "c", 60_000).await;
    let mut feed_b = store_b.listen_media(&b).await.unwrap();
    let mut feed_c = store_c.listen_media(&c).await.unwrap();
    let note = |to: Option<&NodeId>, body: String| MediaNote {
        from: a.clone(),
        to: to.cloned(),
        body,
    };
    let big = format!("{{\"sdp\": \"{}\"}}", "v=0 ".repeat(5_000));
    store_a
        .send_media_note(&note(Some(&c), "{\"n\":1}".into()))
        .await
        .unwrap();
    store_a
        .send_media_note(&note(Some(&b), "{\"n\":2}".into()))
        .await
        .unwrap();
    store_a
        .send_media_note(&note(None, big.clone()))
        .await
        .unwrap();
    store_a
        .send_media_note(&note(None, "{\"n\":3}".into()))
        .await
        .unwrap();
    let next = async |feed: &mut Box<dyn opencalls_store::MediaFeed>| {
        tokio::time::timeout(Duration::from_secs(5), feed.next())
            .await
            .expect("a note in time")
            .unwrap()
    };
    assert_eq!(next(&mut feed_b).await.body, "{\"n\":2}");
    assert_eq!(next(&mut feed_b).await.body, big);
    assert_eq!(next(&mut feed_b).await.body, "{\"n\":3}");
    let first_c = next(&mut feed_c).await;
    assert_eq!(
        (first_c.from, first_c.to, first_c.body.as_str()),
        (a.clone(), Some(c.clone()), "{\"n\":1}")
    );
    assert_eq!(next(&mut feed_c).await.body, big);
    // A node does not hear its own notes.
    let mut feed_a = store_a.listen_media(&a).await.unwrap();
    store_a
        .send_media_note(&note(None, "{\"own\":1}".into()))
        .await
        .unwrap();
    let own = tokio::time::timeout(Duration::from_millis(300), feed_a.next()).await;
    assert!(own.is_err(), "{own:?}");
    // Oversized bodies are refused before anything is sent.
    let huge = "x".repeat(opencalls_store::media::MAX_NOTE_BODY + 1);
    assert!(store_a.send_media_note(&note(None, huge)).await.is_err());
}
