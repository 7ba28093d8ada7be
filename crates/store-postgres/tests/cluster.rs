//! The outbox tail across nodes: three stores on one database, each opened as a node;
//! every node hears every event the others committed, in commit order, with no gap and
//! none of its own, while all three write at once.

use opencalls_domain::{CustomItems, Event, Room, RoomId, RoomType};
use opencalls_store::{ClusterStore, NodeId, RoomStore};
use opencalls_store_postgres::PostgresStore;
use opencalls_store_postgres::testing::TestDatabase;
use std::collections::HashMap;

const ROOMS_PER_NODE: usize = 40;

async fn node(db: &TestDatabase, id: &str) -> (NodeId, PostgresStore) {
    let id = NodeId::parse(id).unwrap();
    let store = PostgresStore::open_node(db.url(), 4, Some(&id))
        .await
        .unwrap();
    (id, store)
}

fn created_room(event: &Event) -> RoomId {
    match &event.body {
        opencalls_domain::EventBody::RoomCreated { room } => room.room_id.clone(),
        other => panic!("unexpected event {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_node_hears_every_other_nodes_events_in_commit_order_without_gaps() {
    let db = TestDatabase::create().await.unwrap();
    let nodes = vec![
        node(&db, "a").await,
        node(&db, "b").await,
        node(&db, "c").await,
    ];
    let start = nodes[0].1.outbox_head().await.unwrap();
    // Every node creates rooms concurrently; remember which node created which.
    let mut writers = Vec::new();
    for (id, store) in &nodes {
        let (id, store) = (id.clone(), store.clone());
        writers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for i in 0..ROOMS_PER_NODE {
                let change = Room::create(
                    RoomId::generate(),
                    RoomType::SmallRoomForVideo,
                    CustomItems::default(),
                    String::new(),
                    i as i64,
                );
                mine.push(change.room.room_id.clone());
                store.insert_room(change).await.unwrap();
            }
            (id, mine)
        }));
    }
    let mut creator = HashMap::new();
    for writer in writers {
        let (id, mine) = writer.await.unwrap();
        for room in mine {
            creator.insert(room, id.clone());
        }
    }
    let head = nodes[0].1.outbox_head().await.unwrap();
    assert_eq!(head - start, (3 * ROOMS_PER_NODE) as i64);
    for (id, store) in &nodes {
        // Read in small batches, as a tailer that falls behind does.
        let (mut after, mut heard) = (start, Vec::new());
        while after < head {
            let tail = store.events_from_other_nodes(id, after, 7).await.unwrap();
            assert!(
                tail.through > after,
                "the tail did not advance past {after}"
            );
            heard.extend(tail.events);
            after = tail.through;
        }
        assert_eq!(after, head);
        let seqs: Vec<i64> = heard.iter().map(|(s, _)| *s).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
        assert_eq!(heard.len(), 2 * ROOMS_PER_NODE, "node {id}");
        for (_, event) in &heard {
            assert_ne!(
                &creator[&created_room(event)],
                id,
                "{id} heard its own event"
            );
        }
    }
}
