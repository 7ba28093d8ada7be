//! Rooms: stored and read back as created, unique ids, transitions applied atomically and
//! refusals leaving the room untouched, reads by id never older than an acknowledged write.

use super::fixtures::{enter_request, items, new_room};
use crate::{Store, StoreError};
use opencalls_domain::{CustomItemsMode, DomainError, Room, RoomId, RoomState, RoomType};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub async fn created_room_reads_back_identically(store: Arc<dyn Store>) {
    let change = Room::create(
        RoomId::generate(),
        RoomType::LargeRoomForAudioOnly,
        items(&[("k", "v")]),
        "creator".into(),
        1_000,
    );
    let room = change.room.clone();
    store.insert_room(change).await.unwrap();
    assert_eq!(store.room(&room.room_id).await.unwrap(), Some(room));
    assert_eq!(store.room(&RoomId::generate()).await.unwrap(), None);
}

pub async fn inserting_an_existing_room_id_conflicts(store: Arc<dyn Store>) {
    let id = new_room(&*store, 1).await;
    let again = Room::create(
        id.clone(),
        RoomType::SmallRoomForVideo,
        items(&[]),
        "someone else".into(),
        2,
    );
    assert!(matches!(
        store.insert_room(again).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(store.room(&id).await.unwrap().unwrap().created_at, 1);
}

pub async fn updating_an_unknown_room_is_not_found(store: Arc<dyn Store>) {
    let update = store
        .update_room(
            &RoomId::generate(),
            Box::new(|room| room.delete(String::new(), 1)),
        )
        .await;
    assert!(matches!(update, Err(StoreError::NotFound)));
}

pub async fn a_refused_transition_changes_nothing(store: Arc<dyn Store>) {
    let id = new_room(&*store, 1).await;
    let deleted = store
        .update_room(&id, Box::new(|room| room.delete("admin".into(), 2)))
        .await
        .unwrap();
    assert_eq!(deleted.room.state, RoomState::Deleted);
    let request = enter_request("u");
    let refused = store
        .update_room(&id, Box::new(move |room| room.enter(request, 3)))
        .await;
    assert!(matches!(
        refused,
        Err(StoreError::Rejected(DomainError::RoomDeleted))
    ));
    let stored = store.room(&id).await.unwrap().unwrap();
    assert_eq!(stored, deleted.room);
    assert!(stored.current_participants.is_empty());
}

/// A reader that raced a write must never leave the old room visible after the write was
/// acknowledged (backends may cache reads by id).
pub async fn reads_by_id_see_every_acknowledged_write_while_readers_race(store: Arc<dyn Store>) {
    let id = new_room(&*store, 1).await;
    let done = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for _ in 0..6 {
        let (store, id, done) = (store.clone(), id.clone(), done.clone());
        readers.push(tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                store.room(&id).await.unwrap().unwrap();
                // A cached read never waits; let the writer's task run.
                tokio::task::yield_now().await;
            }
        }));
    }
    for n in 1..=200u32 {
        let value = n.to_string();
        let update = Box::new(move |room: &Room| {
            let changes = items(&[("n", &value)]);
            Ok(room
                .update_custom_items(&changes, CustomItemsMode::Upsert, 2)?
                .0)
        });
        store.update_room(&id, update).await.unwrap();
        for _ in 0..3 {
            let room = store.room(&id).await.unwrap().unwrap();
            let expected = n.to_string();
            assert_eq!(
                room.custom_items.get("n"),
                Some(expected.as_str()),
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
