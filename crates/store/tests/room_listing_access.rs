//! Room listings return exactly the rooms their filters name, newest first, whichever index
//! the store picks to find them (see `Access` in `sqlite/room_listing.rs`): every filter
//! combination is paged through with `next` and compared with a plain filter over the
//! unfiltered listing. The store holds more rooms than the date-window threshold, so the
//! date-window path runs too, and some `created_at`s run backwards, so no path may rely on
//! `created_at` following insertion order.

use opencalls_domain::custom_items::KeyRule;
use opencalls_domain::participant::EnterRequest;
use opencalls_domain::{
    ClientId, CustomItems, ParticipantId, Room, RoomId, RoomState, RoomType, User, UserId,
};
use opencalls_store::sqlite::SqliteStore;
use opencalls_store::{PageRequest, RoomQuery, RoomStore};
use std::collections::BTreeMap;
use std::sync::Arc;

const ROOMS: i64 = 7000;
const BASE: i64 = 1_700_000_000_000;

fn created_at(i: i64) -> i64 {
    // Every 7th room claims to be older than all the others.
    if i % 7 == 3 {
        BASE - i
    } else {
        BASE + i * 1000
    }
}

fn enter_request(i: i64) -> EnterRequest {
    let user = format!("user-{i}");
    EnterRequest {
        participant_id: ParticipantId::generate(),
        user: User {
            user_id: UserId::parse(&user).unwrap(),
            nickname: user,
            profile_url: String::new(),
            metadata: BTreeMap::new(),
            is_active: true,
            role: None,
        },
        client_id: ClientId::generate(),
        is_audio_on: true,
        is_video_on: false,
    }
}

async fn seed(store: Arc<SqliteStore>) {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..ROOMS {
        let store = store.clone();
        tasks.spawn(async move {
            let room_type = [RoomType::SmallRoomForVideo, RoomType::LargeRoomForAudioOnly]
                [(i % 3 == 0) as usize];
            let creator = ["", "alice", "bob", "carol"][(i % 4) as usize].to_owned();
            let items = CustomItems::new(BTreeMap::new(), KeyRule::Plain).unwrap();
            let change = Room::create(RoomId::generate(), room_type, items, creator, created_at(i));
            let id = change.room.room_id.clone();
            store.insert_room(change).await.unwrap();
            if i % 5 == 0 {
                let delete = Box::new(|room: &Room| room.delete(String::new(), BASE));
                store.update_room(&id, delete).await.unwrap();
            } else if i % 11 == 0 {
                for n in 0..(1 + i % 3) {
                    let req = enter_request(i * 10 + n);
                    let enter = Box::new(move |room: &Room| room.enter(req, BASE));
                    store.update_room(&id, enter).await.unwrap();
                }
            }
        });
        if tasks.len() >= 256 {
            tasks.join_next().await.unwrap().unwrap();
        }
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
}

/// Every page of the listing, following `next`, as room ids.
async fn all_pages(store: &SqliteStore, mut query: RoomQuery, limit: usize) -> Vec<Room> {
    query.page = PageRequest {
        limit,
        cursor: None,
    };
    let mut rooms = Vec::new();
    for _ in 0..=ROOMS {
        let page = store.list_rooms(query.clone()).await.unwrap();
        assert!(page.items.len() <= limit);
        rooms.extend(page.items);
        match page.next {
            Some(cursor) => query.page.cursor = Some(cursor),
            None => return rooms,
        }
    }
    panic!("the `next` cursors of {query:?} never reached the end");
}

fn matches(q: &RoomQuery, r: &Room) -> bool {
    let n = r.current_participants.len() as i64;
    (q.types.is_empty() || q.types.contains(&r.room_type))
        && (q.states.is_empty() || q.states.contains(&r.state))
        && (q.room_ids.is_empty() || q.room_ids.contains(&r.room_id))
        && (q.created_by.is_empty() || q.created_by.contains(&r.created_by))
        && q.created_at_start.is_none_or(|s| r.created_at >= s)
        && q.created_at_end.is_none_or(|e| r.created_at < e)
        && q.participants_gte.is_none_or(|g| n >= g)
        && q.participants_lte.is_none_or(|l| n <= l)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_access_path_returns_exactly_the_matching_rooms_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("db.sqlite")).unwrap());
    seed(store.clone()).await;
    let everything = all_pages(&store, RoomQuery::default(), 100).await;
    assert_eq!(everything.len() as i64, ROOMS);

    let some_ids: Vec<RoomId> = everything
        .iter()
        .step_by(617)
        .map(|r| r.room_id.clone())
        .collect();
    let q = RoomQuery::default;
    let queries = vec![
        RoomQuery {
            types: vec![RoomType::LargeRoomForAudioOnly],
            ..q()
        },
        RoomQuery {
            states: vec![RoomState::Deleted],
            ..q()
        },
        RoomQuery {
            types: vec![RoomType::SmallRoomForVideo],
            states: vec![RoomState::Open],
            ..q()
        },
        RoomQuery {
            types: vec![RoomType::LargeRoomForAudioOnly],
            states: vec![RoomState::Deleted],
            created_at_start: Some(BASE + 1_000_000),
            ..q()
        },
        RoomQuery {
            states: vec![RoomState::Open, RoomState::Deleted],
            ..q()
        },
        RoomQuery {
            created_by: vec!["bob".into()],
            ..q()
        },
        RoomQuery {
            created_by: vec!["alice".into(), "".into()],
            states: vec![RoomState::Open],
            ..q()
        },
        RoomQuery {
            room_ids: some_ids.clone(),
            ..q()
        },
        RoomQuery {
            room_ids: some_ids,
            states: vec![RoomState::Deleted],
            ..q()
        },
        RoomQuery {
            participants_gte: Some(1),
            ..q()
        },
        RoomQuery {
            participants_gte: Some(2),
            types: vec![RoomType::LargeRoomForAudioOnly],
            ..q()
        },
        RoomQuery {
            participants_gte: Some(0),
            participants_lte: Some(0),
            ..q()
        },
        RoomQuery {
            participants_lte: Some(1),
            created_at_start: Some(BASE),
            ..q()
        },
        // Windows ending before thousands of newer rooms (the date-index path) ...
        RoomQuery {
            created_at_start: Some(BASE + 100_000),
            created_at_end: Some(BASE + 400_000),
            ..q()
        },
        RoomQuery {
            created_at_start: Some(BASE - ROOMS),
            created_at_end: Some(BASE + 1000),
            ..q()
        },
        RoomQuery {
            created_at_end: Some(BASE + 500_000),
            types: vec![RoomType::SmallRoomForVideo],
            states: vec![RoomState::Open],
            ..q()
        },
        RoomQuery {
            created_at_end: Some(BASE + 300_000),
            participants_lte: Some(0),
            ..q()
        },
        // ... and near the newest rooms (the seq-walk path).
        RoomQuery {
            created_at_start: Some(BASE + 5_000_000),
            created_at_end: Some(BASE + 6_000_000),
            ..q()
        },
    ];
    for query in queries {
        let expected: Vec<&RoomId> = everything
            .iter()
            .filter(|r| matches(&query, r))
            .map(|r| &r.room_id)
            .collect();
        for limit in [7, 100] {
            let got = all_pages(&store, query.clone(), limit).await;
            let got: Vec<&RoomId> = got.iter().map(|r| &r.room_id).collect();
            assert_eq!(got, expected, "{query:?} with limit {limit}");
        }
    }
}
