//! `RoomStore::room` is served from a cache for rooms read by id; it must never return a
//! room older than the last acknowledged write, even while other readers race the writes
//! (a reader that read before a write must not put the old room back afterwards).

use opencalls_domain::custom_items::KeyRule;
use opencalls_domain::{CustomItems, CustomItemsMode, Room, RoomId, RoomState, RoomType};
use opencalls_store::RoomStore;
use opencalls_store::sqlite::SqliteStore;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

fn items(value: u32) -> CustomItems {
    let map = BTreeMap::from([("n".to_owned(), value.to_string())]);
    CustomItems::new(map, KeyRule::Plain).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_by_id_see_every_acknowledged_write_while_readers_race() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("db.sqlite")).unwrap());
    let id = RoomId::generate();
    let change = Room::create(
        id.clone(),
        RoomType::SmallRoomForVideo,
        items(0),
        String::new(),
        1,
    );
    store.insert_room(change).await.unwrap();

    let done = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for _ in 0..6 {
        let (store, id, done) = (store.clone(), id.clone(), done.clone());
        readers.push(tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                store.room(&id).await.unwrap().unwrap();
                // A cache hit never waits; let the writer's task run.
                tokio::task::yield_now().await;
            }
        }));
    }
    for n in 1..=200u32 {
        let update = Box::new(move |room: &Room| {
            Ok(room
                .update_custom_items(&items(n), CustomItemsMode::Upsert, 2)?
                .0)
        });
        store.update_room(&id, update).await.unwrap();
        for _ in 0..3 {
            let room = store.room(&id).await.unwrap().unwrap();
            assert_eq!(
                room.custom_items.get("n"),
                Some(n.to_string().as_str()),
                "after write {n}"
            );
        }
    }
    let delete = Box::new(|room: &Room| room.delete(String::new(), 3));
    store.update_room(&id, delete).await.unwrap();
    assert_eq!(
        store.room(&id).await.unwrap().unwrap().state,
        RoomState::Deleted
    );
    done.store(true, Ordering::Relaxed);
    for reader in readers {
        reader.await.unwrap();
    }
}
