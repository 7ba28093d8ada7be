//! Room participants: current ones read with the room, every one ever listed, the users
//! they bring, and the rooms left with someone in them.

use super::fixtures::{enter, enter_request, new_room, user};
use crate::{PageRequest, Store, StoreError};
use opencalls_domain::{ParticipantState, RoomId, UserId};
use std::sync::Arc;

pub async fn entered_participants_are_current_oldest_first_until_they_exit(store: Arc<dyn Store>) {
    let id = new_room(&*store, 1).await;
    let first = enter(&*store, &id, "a", 2).await;
    let second = enter(&*store, &id, "b", 3).await;
    let room = store.room(&id).await.unwrap().unwrap();
    let current: Vec<_> = room
        .current_participants
        .iter()
        .map(|p| &p.participant_id)
        .collect();
    assert_eq!(current, [&first, &second]);
    assert_eq!(room.current_participants[0].user, user("a"));
    assert_eq!(room.current_participants[0].room_id, id);

    let gone = first.clone();
    store
        .update_room(&id, Box::new(move |room| room.participant_exited(&gone, 4)))
        .await
        .unwrap();
    let room = store.room(&id).await.unwrap().unwrap();
    let current: Vec<_> = room
        .current_participants
        .iter()
        .map(|p| &p.participant_id)
        .collect();
    assert_eq!(current, [&second]);
}

pub async fn participants_are_listed_newest_first_with_cursors(store: Arc<dyn Store>) {
    let id = new_room(&*store, 1).await;
    let mut entered = Vec::new();
    for n in 0..5 {
        let pid = enter(&*store, &id, &format!("u{n}"), 10 + n).await;
        entered.push(pid);
    }
    let last = entered[4].clone();
    store
        .update_room(
            &id,
            Box::new(move |room| room.participant_exited(&last, 20)),
        )
        .await
        .unwrap();
    entered.reverse();

    let page = |cursor| PageRequest { limit: 2, cursor };
    let first = store.list_participants(&id, page(None)).await.unwrap();
    let ids = |p: &crate::Page<opencalls_domain::Participant>| {
        p.items
            .iter()
            .map(|p| p.participant_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&first), entered[..2]);
    assert_eq!(
        first.items[0].state,
        ParticipantState::Exited,
        "exited ones are listed too"
    );
    assert!(first.prev.is_none());
    let second = store
        .list_participants(&id, page(first.next))
        .await
        .unwrap();
    assert_eq!(ids(&second), entered[2..4]);
    let third = store
        .list_participants(&id, page(second.next))
        .await
        .unwrap();
    assert_eq!(ids(&third), entered[4..]);
    assert!(third.next.is_none());
    let back = store
        .list_participants(&id, page(third.prev))
        .await
        .unwrap();
    assert_eq!(ids(&back), entered[2..4]);
}

pub async fn listing_participants_of_an_unknown_room_is_not_found(store: Arc<dyn Store>) {
    let listed = store
        .list_participants(&RoomId::generate(), PageRequest::default())
        .await;
    assert!(matches!(listed, Err(StoreError::NotFound)));
}

pub async fn participant_changes_are_stored(store: Arc<dyn Store>) {
    let id = new_room(&*store, 1).await;
    let pid = enter(&*store, &id, "a", 2).await;
    let (connected, media) = (pid.clone(), pid.clone());
    store
        .update_room(
            &id,
            Box::new(move |room| room.participant_connected(&connected, 3)),
        )
        .await
        .unwrap();
    let changed = store
        .update_room(
            &id,
            Box::new(move |room| room.participant_media(&media, Some(false), Some(true), 4)),
        )
        .await
        .unwrap();
    let room = store.room(&id).await.unwrap().unwrap();
    assert_eq!(room, changed.room);
    let p = &room.current_participants[0];
    assert_eq!(p.state, ParticipantState::Connected);
    assert_eq!(p.connected_at, Some(3));
    assert!(!p.is_audio_on && p.is_video_on);
    let listed = store
        .list_participants(&id, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(listed.items, room.current_participants);
}

pub async fn rooms_with_active_participants_are_those_with_someone_not_exited(
    store: Arc<dyn Store>,
) {
    let empty = new_room(&*store, 1).await;
    let occupied = new_room(&*store, 1).await;
    let left = new_room(&*store, 1).await;
    enter(&*store, &occupied, "a", 2).await;
    enter(&*store, &occupied, "b", 2).await;
    let gone = enter(&*store, &left, "c", 2).await;
    store
        .update_room(
            &left,
            Box::new(move |room| room.participant_exited(&gone, 3)),
        )
        .await
        .unwrap();
    let rooms = store.rooms_with_active_participants().await.unwrap();
    assert_eq!(rooms, [occupied]);
    assert!(!rooms.contains(&empty));
}

/// A participant's user is stored when first seen; later sightings don't overwrite it (the
/// users API owns changes to a stored user).
pub async fn a_participant_user_is_stored_on_first_sight_and_kept(store: Arc<dyn Store>) {
    let id = new_room(&*store, 1).await;
    enter(&*store, &id, "a", 2).await;
    let user_id = UserId::parse("a").unwrap();
    assert_eq!(store.user(&user_id).await.unwrap(), Some(user("a")));

    let mut request = enter_request("a");
    request.user.nickname = "renamed".into();
    store
        .update_room(&id, Box::new(move |room| room.enter(request, 3)))
        .await
        .unwrap();
    assert_eq!(store.user(&user_id).await.unwrap(), Some(user("a")));
    assert!(matches!(
        store.insert_user(user("a")).await,
        Err(StoreError::Conflict)
    ));
}
