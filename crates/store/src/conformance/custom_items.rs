//! Custom items: stored with the room, changed by transitions, with the time they changed.

use super::fixtures::items;
use crate::Store;
use opencalls_domain::{CustomItemsMode, Room, RoomId, RoomType};
use std::sync::Arc;

pub async fn custom_items_given_at_creation_read_back(store: Arc<dyn Store>) {
    let change = Room::create(
        RoomId::generate(),
        RoomType::SmallRoomForVideo,
        items(&[("a", "1"), ("b", "two words")]),
        String::new(),
        10,
    );
    let id = change.room.room_id.clone();
    store.insert_room(change).await.unwrap();
    let room = store.room(&id).await.unwrap().unwrap();
    assert_eq!(room.custom_items, items(&[("a", "1"), ("b", "two words")]));
    assert_eq!(room.custom_items_affected_at, Some(10));
}

pub async fn updated_and_deleted_custom_items_are_stored_with_their_time(store: Arc<dyn Store>) {
    let change = Room::create(
        RoomId::generate(),
        RoomType::SmallRoomForVideo,
        items(&[("a", "1")]),
        String::new(),
        10,
    );
    let id = change.room.room_id.clone();
    store.insert_room(change).await.unwrap();

    let upsert = items(&[("a", "2"), ("c", "3")]);
    let updated = store
        .update_room(
            &id,
            Box::new(move |room| {
                Ok(room
                    .update_custom_items(&upsert, CustomItemsMode::Upsert, 20)?
                    .0)
            }),
        )
        .await
        .unwrap();
    let room = store.room(&id).await.unwrap().unwrap();
    assert_eq!(room, updated.room);
    assert_eq!(room.custom_items, items(&[("a", "2"), ("c", "3")]));
    assert_eq!(room.custom_items_affected_at, Some(20));

    let keys = vec!["a".to_owned()];
    store
        .update_room(
            &id,
            Box::new(move |room| Ok(room.delete_custom_items(Some(&keys), 30)?.0)),
        )
        .await
        .unwrap();
    let room = store.room(&id).await.unwrap().unwrap();
    assert_eq!(room.custom_items, items(&[("c", "3")]));
    assert_eq!(room.custom_items_affected_at, Some(30));

    store
        .update_room(
            &id,
            Box::new(|room| Ok(room.delete_custom_items(None, 40)?.0)),
        )
        .await
        .unwrap();
    assert!(
        store
            .room(&id)
            .await
            .unwrap()
            .unwrap()
            .custom_items
            .is_empty()
    );
}
