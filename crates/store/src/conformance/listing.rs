//! Listings: every filter combination returns exactly the matching resources, newest
//! first, and cursors page both ways and stay valid while rows are added.
//!
//! The room store holds more rooms than a backend might treat as "many", spread over about
//! two hours of `created_at` (SQLite walks date windows by 10-minute buckets), and some
//! `created_at`s run backwards, so no access path may rely on `created_at` following
//! insertion order.

use super::fixtures::{enter_request, live_event, new_room};
use crate::{LiveEventQuery, Page, PageRequest, ParticipantScope, RoomQuery, Store};
use opencalls_domain::{
    CustomItems, HostType, LiveEvent, LiveEventId, LiveEventState, Room, RoomId, RoomState,
    RoomType,
};
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

async fn seed_rooms(store: Arc<dyn Store>) {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..ROOMS {
        let store = store.clone();
        tasks.spawn(async move {
            let room_type = [RoomType::SmallRoomForVideo, RoomType::LargeRoomForAudioOnly]
                [(i % 3 == 0) as usize];
            let creator = ["", "alice", "bob", "carol"][(i % 4) as usize].to_owned();
            let change = Room::create(
                RoomId::generate(),
                room_type,
                CustomItems::default(),
                creator,
                created_at(i),
            );
            let id = change.room.room_id.clone();
            store.insert_room(change).await.unwrap();
            if i % 5 == 0 {
                let delete = Box::new(|room: &Room| room.delete(String::new(), BASE));
                store.update_room(&id, delete).await.unwrap();
            } else if i % 11 == 0 {
                for n in 0..(1 + i % 3) {
                    let req = enter_request(&format!("user-{}", i * 10 + n));
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

/// Every page of the room listing, following `next`.
async fn all_rooms(store: &dyn Store, mut query: RoomQuery, limit: usize) -> Vec<Room> {
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

fn room_matches(q: &RoomQuery, r: &Room) -> bool {
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

fn room_queries(some_ids: Vec<RoomId>) -> Vec<RoomQuery> {
    let q = RoomQuery::default;
    vec![
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
        // Windows ending before thousands of newer rooms ...
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
        // ... and near the newest rooms.
        RoomQuery {
            created_at_start: Some(BASE + 5_000_000),
            created_at_end: Some(BASE + 6_000_000),
            ..q()
        },
    ]
}

/// Each filter combination is paged through with `next` and compared with a plain filter
/// over the unfiltered listing.
pub async fn every_room_filter_returns_exactly_the_matching_rooms_newest_first(
    store: Arc<dyn Store>,
) {
    seed_rooms(store.clone()).await;
    let everything = all_rooms(&*store, RoomQuery::default(), 100).await;
    assert_eq!(everything.len() as i64, ROOMS);
    // A listed room is the room as read alone, current participants included.
    let occupied: Vec<&Room> = everything
        .iter()
        .filter(|r| !r.current_participants.is_empty())
        .collect();
    assert!(occupied.len() > 10, "the seed has rooms with participants");
    for room in occupied {
        let alone = store.room(&room.room_id).await.unwrap().unwrap();
        assert_eq!(&alone, room);
    }
    let some_ids = everything
        .iter()
        .step_by(617)
        .map(|r| r.room_id.clone())
        .collect();
    for query in room_queries(some_ids) {
        let expected: Vec<&RoomId> = everything
            .iter()
            .filter(|r| room_matches(&query, r))
            .map(|r| &r.room_id)
            .collect();
        for limit in [7, 100] {
            let got = all_rooms(&*store, query.clone(), limit).await;
            let got: Vec<&RoomId> = got.iter().map(|r| &r.room_id).collect();
            assert_eq!(got, expected, "{query:?} with limit {limit}");
        }
    }
}

fn room_ids(page: &Page<Room>) -> Vec<RoomId> {
    page.items.iter().map(|r| r.room_id.clone()).collect()
}

pub async fn cursors_page_both_ways_and_stay_valid_while_rooms_are_added(store: Arc<dyn Store>) {
    let mut created = Vec::new();
    for n in 0..25 {
        created.push(new_room(&*store, n).await);
    }
    created.reverse(); // newest first
    let query = |cursor| RoomQuery {
        page: PageRequest { limit: 10, cursor },
        ..RoomQuery::default()
    };
    let first = store.list_rooms(query(None)).await.unwrap();
    assert_eq!(room_ids(&first), created[..10]);
    assert!(first.prev.is_none(), "nothing is newer than the first page");
    let second = store.list_rooms(query(first.next)).await.unwrap();
    assert_eq!(room_ids(&second), created[10..20]);
    assert!(second.prev.is_some());

    // Rooms added meanwhile appear before the first page, and cursors stay valid.
    let mut newer = Vec::new();
    for n in 0..3 {
        newer.push(new_room(&*store, 100 + n).await);
    }
    let third = store.list_rooms(query(second.next)).await.unwrap();
    assert_eq!(room_ids(&third), created[20..]);
    assert!(third.next.is_none(), "the last page has no next");
    let back = store.list_rooms(query(second.prev)).await.unwrap();
    assert_eq!(room_ids(&back), created[..10]);
    let newest = store.list_rooms(query(back.prev)).await.unwrap();
    newer.reverse();
    assert_eq!(room_ids(&newest), newer);
    assert!(newest.prev.is_none());
}

/// Live events of every host type and state, with participants and creators.
async fn seed_live_events(store: &dyn Store) -> Vec<LiveEvent> {
    let mut all = Vec::new();
    for i in 0..24i64 {
        let mut change = live_event(HostType::SingleHost, 1_000 + i * 10);
        change.live_event.created_by = ["", "alice", "bob"][(i % 3) as usize].to_owned();
        let id = change.live_event.live_event_id.clone();
        store.insert_live_event(change).await.unwrap();
        let steps = i % 4; // 0 created, 1 ready, 2 ongoing (+ participants), 3 ended
        for step in 0..steps {
            let now = 2_000 + i * 10 + step;
            store
                .update_live_event(
                    &id,
                    ParticipantScope::Active,
                    Box::new(move |e, active| match step {
                        0 => e.set_ready(String::new(), now),
                        1 => e.start(String::new(), now),
                        _ => e.end(active, String::new(), now + 5_000),
                    }),
                )
                .await
                .unwrap();
            if step == 1 {
                for n in 0..(i % 3) {
                    let req = super::fixtures::live_participant(&format!("v{i}-{n}"));
                    store
                        .update_live_event(
                            &id,
                            ParticipantScope::Nobody,
                            Box::new(move |e, _| e.participant_enter(req, now)),
                        )
                        .await
                        .unwrap();
                }
            }
        }
        all.push(store.live_event(&id).await.unwrap().unwrap());
    }
    all.reverse();
    all
}

fn live_event_matches(q: &LiveEventQuery, e: &LiveEvent) -> bool {
    (q.host_types.is_empty() || q.host_types.contains(&e.host_type))
        && (q.states.is_empty() || q.states.contains(&e.state))
        && (q.live_event_ids.is_empty() || q.live_event_ids.contains(&e.live_event_id))
        && (q.created_by.is_empty() || q.created_by.contains(&e.created_by))
        && q.created_at_start.is_none_or(|s| e.created_at >= s)
        && q.created_at_end.is_none_or(|x| e.created_at < x)
        && q.participants_gte.is_none_or(|g| e.participant_count >= g)
        && q.participants_lte.is_none_or(|l| e.participant_count <= l)
        && q.duration_gte.is_none_or(|g| e.duration >= g)
        && q.duration_lte.is_none_or(|l| e.duration <= l)
}

async fn all_live_events(store: &dyn Store, mut query: LiveEventQuery) -> Vec<LiveEventId> {
    query.page = PageRequest {
        limit: 5,
        cursor: None,
    };
    let mut ids = Vec::new();
    loop {
        let page = store.list_live_events(query.clone()).await.unwrap();
        ids.extend(page.items.into_iter().map(|e| e.live_event_id));
        match page.next {
            Some(cursor) => query.page.cursor = Some(cursor),
            None => return ids,
        }
    }
}

pub async fn live_event_filters_return_exactly_the_matching_events_newest_first(
    store: Arc<dyn Store>,
) {
    let everything = seed_live_events(&*store).await;
    let listed = all_live_events(&*store, LiveEventQuery::default()).await;
    let ids: Vec<_> = everything.iter().map(|e| e.live_event_id.clone()).collect();
    assert_eq!(listed, ids);
    let q = LiveEventQuery::default;
    let queries = vec![
        LiveEventQuery {
            host_types: vec![HostType::SingleHost],
            states: vec![LiveEventState::Ready],
            ..q()
        },
        LiveEventQuery {
            states: vec![LiveEventState::Ongoing, LiveEventState::Ended],
            ..q()
        },
        LiveEventQuery {
            live_event_ids: ids.iter().step_by(5).cloned().collect(),
            ..q()
        },
        LiveEventQuery {
            created_by: vec!["alice".into(), "".into()],
            ..q()
        },
        LiveEventQuery {
            created_at_start: Some(1_050),
            created_at_end: Some(1_150),
            ..q()
        },
        LiveEventQuery {
            participants_gte: Some(1),
            ..q()
        },
        LiveEventQuery {
            participants_lte: Some(0),
            states: vec![LiveEventState::Ongoing],
            ..q()
        },
        LiveEventQuery {
            duration_gte: Some(1),
            ..q()
        },
        LiveEventQuery {
            duration_lte: Some(0),
            host_types: vec![HostType::SingleHost],
            ..q()
        },
    ];
    for query in queries {
        let expected: Vec<LiveEventId> = everything
            .iter()
            .filter(|e| live_event_matches(&query, e))
            .map(|e| e.live_event_id.clone())
            .collect();
        assert!(!expected.is_empty(), "{query:?} matches something");
        assert_eq!(
            all_live_events(&*store, query.clone()).await,
            expected,
            "{query:?}"
        );
    }
}
