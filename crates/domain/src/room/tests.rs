use super::*;
use crate::{ClientId, ParticipantState, User, UserId};

fn room(room_type: RoomType) -> Room {
    Room::create(
        RoomId::generate(),
        room_type,
        CustomItems::default(),
        String::new(),
        1_000,
    )
    .room
}

fn request(audio: bool, video: bool) -> EnterRequest {
    EnterRequest {
        participant_id: ParticipantId::generate(),
        user: User::bare(UserId::parse("alice").unwrap()),
        client_id: ClientId::generate(),
        is_audio_on: audio,
        is_video_on: video,
    }
}

#[test]
fn create_emits_created_event() {
    let change = Room::create(
        RoomId::generate(),
        RoomType::SmallRoomForVideo,
        CustomItems::default(),
        "u".into(),
        5,
    );
    assert_eq!(change.room.state, RoomState::Open);
    assert_eq!(change.room.created_by, "u");
    assert_eq!(change.events.len(), 1);
    assert_eq!(change.events[0].category(), "room:create");
    assert_eq!(change.room.custom_items_affected_at, None);
}

#[test]
fn capacity_is_enforced_per_type() {
    for room_type in RoomType::ALL {
        let mut room = room(room_type);
        for _ in 0..room_type.capacity() {
            room = room.enter(request(true, false), 2_000).unwrap().room;
        }
        let err = room.enter(request(true, false), 2_000).unwrap_err();
        assert_eq!(
            err,
            DomainError::RoomFull {
                capacity: room_type.capacity()
            }
        );
    }
}

#[test]
fn same_client_cannot_enter_twice_but_same_user_on_two_devices_can() {
    let room = room(RoomType::SmallRoomForVideo);
    let req = request(true, true);
    let again = EnterRequest {
        participant_id: ParticipantId::generate(),
        ..req.clone()
    };
    let room = room.enter(req, 2_000).unwrap().room;
    assert_eq!(
        room.enter(again, 2_000).unwrap_err(),
        DomainError::AlreadyEntered
    );
    let other_device = request(true, true);
    assert_eq!(
        room.enter(other_device, 2_000)
            .unwrap()
            .room
            .current_participants
            .len(),
        2
    );
}

#[test]
fn audio_room_refuses_video() {
    let room = room(RoomType::LargeRoomForAudioOnly);
    assert!(matches!(
        room.enter(request(true, true), 2_000),
        Err(DomainError::InvalidParameter(_))
    ));
}

#[test]
fn delete_exits_everyone_and_freezes_the_room() {
    let mut room = room(RoomType::SmallRoomForVideo);
    room = room.enter(request(true, true), 2_000).unwrap().room;
    room = room.enter(request(true, true), 3_000).unwrap().room;
    let change = room.delete(String::new(), 9_000).unwrap();
    assert_eq!(change.room.state, RoomState::Deleted);
    assert!(change.room.current_participants.is_empty());
    assert_eq!(change.touched.len(), 2);
    assert!(
        change
            .touched
            .iter()
            .all(|p| p.state == ParticipantState::Exited)
    );
    assert_eq!(change.touched[0].duration, Some(7));
    let categories: Vec<_> = change.events.iter().map(|e| e.category()).collect();
    assert_eq!(
        categories,
        [
            "room:participant_exit",
            "room:participant_exit",
            "room:delete"
        ]
    );

    let deleted = change.room;
    assert_eq!(
        deleted.delete(String::new(), 10_000).unwrap_err(),
        DomainError::RoomDeleted
    );
    assert_eq!(
        deleted.enter(request(true, true), 10_000).unwrap_err(),
        DomainError::RoomDeleted
    );
    let items = CustomItems::new([("a".into(), "b".into())].into(), KeyRule::Plain).unwrap();
    assert_eq!(
        deleted
            .update_custom_items(&items, CustomItemsMode::Upsert, 1)
            .unwrap_err(),
        DomainError::RoomDeleted
    );
    assert_eq!(
        deleted.delete_custom_items(None, 1).unwrap_err(),
        DomainError::RoomDeleted
    );
}

#[test]
fn exit_removes_from_current_participants() {
    let room = room(RoomType::SmallRoomForVideo);
    let req = request(true, true);
    let id = req.participant_id.clone();
    let room = room.enter(req, 2_000).unwrap().room;
    let room = room.participant_connected(&id, 2_500).unwrap().room;
    let change = room.participant_exited(&id, 4_000).unwrap();
    assert!(change.room.current_participants.is_empty());
    assert_eq!(change.touched[0].state, ParticipantState::Exited);
    assert_eq!(change.touched[0].connected_at, Some(2_500));
    assert_eq!(
        change.room.participant_exited(&id, 5_000).unwrap_err(),
        DomainError::ParticipantNotFound
    );
}

#[test]
fn custom_items_changes_set_affected_at() {
    let room = room(RoomType::SmallRoomForVideo);
    let items = CustomItems::new([("a".into(), "1".into())].into(), KeyRule::Plain).unwrap();
    let (change, updated) = room
        .update_custom_items(&items, CustomItemsMode::Upsert, 7_000)
        .unwrap();
    assert_eq!(updated, ["a"]);
    assert_eq!(change.room.custom_items_affected_at, Some(7_000));
    assert_eq!(change.room.updated_at, 7_000);
}
