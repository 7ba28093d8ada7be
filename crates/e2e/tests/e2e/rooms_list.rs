//! `GET /v1/rooms`: ordering, every filter and their combinations, paging, limits.

use crate::common;

use common::{TestServer, assert_error, enter, id_of};
use serde_json::{Value, json};

const DAY: i64 = 24 * 60 * 60 * 1000;

async fn list(server: &TestServer, query: &str) -> Vec<String> {
    let (status, body) = server.get(&format!("/v1/rooms?{query}")).await;
    assert_eq!(status, 200, "{query}: {body}");
    body["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect()
}

/// Creates a room through the service layer, so `created_by` can be a user.
async fn create_by(server: &TestServer, room_type: &str, creator: &str) -> String {
    server
        .services
        .rooms
        .create(room_type, None, common::user_actor(creator))
        .await
        .unwrap()
        .room_id
        .to_string()
}

#[tokio::test]
async fn newest_first_default_limit_and_limit_bounds() {
    let server = TestServer::start().await;
    let mut ids = Vec::new();
    for _ in 0..12 {
        ids.push(id_of(&server.create_room("small_room_for_video").await));
    }
    ids.reverse();
    let (_, body) = server.get("/v1/rooms").await;
    let got: Vec<String> = body["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(id_of)
        .collect();
    assert_eq!(got, ids[..10]);
    assert!(body["next"].is_string());
    assert_eq!(body["prev"], Value::Null);

    assert_eq!(list(&server, "limit=1").await, ids[..1]);
    assert_eq!(list(&server, "limit=100").await, ids);
    for bad in [
        "limit=0",
        "limit=101",
        "limit=-1",
        "limit=ten",
        "limit=1.5",
        "limit=",
    ] {
        assert_error(&server.get(&format!("/v1/rooms?{bad}")).await, 400, 400100);
    }
}

#[tokio::test]
async fn paging_is_stable_while_rooms_are_added() {
    let server = TestServer::start().await;
    let mut ids = Vec::new();
    for _ in 0..7 {
        ids.push(id_of(&server.create_room("small_room_for_video").await));
    }
    ids.reverse();
    let (_, page1) = server.get("/v1/rooms?limit=3").await;
    // New rooms arrive between pages: they must not shift or repeat what follows.
    for _ in 0..4 {
        server.create_room("small_room_for_video").await;
    }
    let next = page1["next"].as_str().unwrap();
    let (_, page2) = server.get(&format!("/v1/rooms?limit=3&next={next}")).await;
    let next = page2["next"].as_str().unwrap();
    let (_, page3) = server.get(&format!("/v1/rooms?limit=3&next={next}")).await;
    let all: Vec<String> = [&page1, &page2, &page3]
        .iter()
        .flat_map(|p| {
            p["rooms"]
                .as_array()
                .unwrap()
                .iter()
                .map(id_of)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(all, ids);
    assert_eq!(page3["next"], Value::Null);

    // Walking back with prev returns the same pages.
    let prev = page3["prev"].as_str().unwrap();
    let (_, back2) = server.get(&format!("/v1/rooms?limit=3&prev={prev}")).await;
    assert_eq!(back2["rooms"], page2["rooms"]);
    let prev = back2["prev"].as_str().unwrap();
    let (_, back1) = server.get(&format!("/v1/rooms?limit=3&prev={prev}")).await;
    assert_eq!(back1["rooms"], page1["rooms"]);
    // The rooms added meanwhile are newer than page 1: prev from there finds them.
    let prev = back1["prev"].as_str().unwrap();
    let (_, newer) = server.get(&format!("/v1/rooms?limit=10&prev={prev}")).await;
    assert_eq!(newer["rooms"].as_array().unwrap().len(), 4);
    assert_eq!(newer["prev"], Value::Null);
}

#[tokio::test]
async fn malformed_cursors_are_client_errors() {
    let server = TestServer::start().await;
    server.create_room("small_room_for_video").await;
    for bad in [
        "next=abc",
        "next=%00%01",
        "prev=djE6cjpuOng",
        "next=djE6cnA6bjox",
        "next=a&prev=b",
    ] {
        assert_error(&server.get(&format!("/v1/rooms?{bad}")).await, 400, 400100);
    }
    let long = "a".repeat(10_000);
    assert_error(
        &server.get(&format!("/v1/rooms?next={long}")).await,
        400,
        400100,
    );
}

#[tokio::test]
async fn type_state_and_id_filters() {
    let server = TestServer::start().await;
    let video = id_of(&server.create_room("small_room_for_video").await);
    let audio = id_of(&server.create_room("large_room_for_audio_only").await);
    let gone = id_of(&server.create_room("small_room_for_video").await);
    server.delete(&format!("/v1/rooms/{gone}"), None).await;

    assert_eq!(
        list(&server, "type=small_room_for_video").await,
        [gone.clone(), video.clone()]
    );
    assert_eq!(
        list(&server, "type=large_room_for_audio_only").await,
        vec![audio.clone()]
    );
    assert_eq!(list(&server, "type=all").await.len(), 3);
    assert_eq!(
        list(&server, "state=open").await,
        [audio.clone(), video.clone()]
    );
    assert_eq!(list(&server, "state=deleted").await, vec![gone.clone()]);
    assert_eq!(list(&server, "state=open,deleted").await.len(), 3);
    assert_eq!(
        list(&server, "type=small_room_for_video&state=open").await,
        vec![video.clone()]
    );
    assert_eq!(
        list(&server, &format!("room_id={audio}")).await,
        vec![audio.clone()]
    );
    assert_eq!(
        list(&server, &format!("room_ids={video},%20{gone}")).await,
        [gone.clone(), video.clone()]
    );
    assert_eq!(
        list(&server, &format!("room_ids={video},{gone}&state=open")).await,
        vec![video.clone()]
    );
    assert!(list(&server, "room_id=unknown").await.is_empty());

    let ten: Vec<String> = (0..10).map(|i| format!("r{i}")).collect();
    assert_eq!(
        server
            .get(&format!("/v1/rooms?room_ids={}", ten.join(",")))
            .await
            .0,
        200
    );
    let eleven: Vec<String> = (0..11).map(|i| format!("r{i}")).collect();
    assert_error(
        &server
            .get(&format!("/v1/rooms?room_ids={}", eleven.join(",")))
            .await,
        400,
        400100,
    );
    assert_error(
        &server
            .get(&format!("/v1/rooms?room_id={video}&room_ids={audio}"))
            .await,
        400,
        400100,
    );
    assert_error(&server.get("/v1/rooms?type=huge_room").await, 400, 400100);
    assert_error(&server.get("/v1/rooms?state=closed").await, 400, 400100);
}

#[tokio::test]
async fn creator_filters() {
    let server = TestServer::start().await;
    let a = create_by(&server, "small_room_for_video", "alice").await;
    let b = create_by(&server, "small_room_for_video", "bob").await;
    let c = create_by(&server, "large_room_for_audio_only", "carol").await;
    let api = id_of(&server.create_room("small_room_for_video").await);
    let (_, body) = server.get(&format!("/v1/rooms/{a}")).await;
    assert_eq!(body["room"]["created_by"], "alice");

    assert_eq!(
        list(&server, "created_by_user_id=bob").await,
        vec![b.clone()]
    );
    assert_eq!(
        list(&server, "created_by_user_ids=alice,carol").await,
        [c.clone(), a.clone()]
    );
    assert_eq!(
        list(
            &server,
            "created_by_user_ids=alice,carol&type=small_room_for_video"
        )
        .await,
        vec![a.clone()]
    );
    assert_eq!(list(&server, "").await, [api, c, b, a]);
    let eleven: Vec<String> = (0..11).map(|i| format!("u{i}")).collect();
    assert_error(
        &server
            .get(&format!(
                "/v1/rooms?created_by_user_ids={}",
                eleven.join(",")
            ))
            .await,
        400,
        400100,
    );
    assert_error(
        &server
            .get("/v1/rooms?created_by_user_id=a&created_by_user_ids=b")
            .await,
        400,
        400100,
    );
}

#[tokio::test]
async fn date_filters_and_the_two_week_default() {
    let server = TestServer::start().await;
    server.clock.shift(-20 * DAY);
    let old = id_of(&server.create_room("small_room_for_video").await);
    let old_at = server.get(&format!("/v1/rooms/{old}")).await.1["room"]["created_at"]
        .as_i64()
        .unwrap();
    server.clock.shift(10 * DAY);
    let mid = id_of(&server.create_room("small_room_for_video").await);
    let mid_at = server.get(&format!("/v1/rooms/{mid}")).await.1["room"]["created_at"]
        .as_i64()
        .unwrap();
    server.clock.shift(10 * DAY);
    let new = id_of(&server.create_room("small_room_for_video").await);

    // Neither bound: only the last two weeks.
    assert_eq!(list(&server, "").await, [new.clone(), mid.clone()]);
    // Start is inclusive, end is exclusive.
    assert_eq!(
        list(&server, &format!("created_at_start_date={old_at}")).await,
        [new.clone(), mid.clone(), old.clone()]
    );
    assert_eq!(
        list(&server, &format!("created_at_start_date={}", old_at + 1)).await,
        [new.clone(), mid.clone()]
    );
    assert_eq!(
        list(&server, &format!("created_at_end_date={mid_at}")).await,
        vec![old.clone()]
    );
    assert_eq!(
        list(&server, &format!("created_at_end_date={}", mid_at + 1)).await,
        [mid.clone(), old.clone()]
    );
    assert_eq!(
        list(
            &server,
            &format!(
                "created_at_start_date={old_at}&created_at_end_date={}",
                mid_at + 1
            )
        )
        .await,
        [mid, old]
    );
    assert_error(
        &server
            .get("/v1/rooms?created_at_start_date=yesterday")
            .await,
        400,
        400100,
    );
    assert_error(
        &server.get("/v1/rooms?created_at_end_date=1e3").await,
        400,
        400100,
    );
}

#[tokio::test]
async fn participant_count_filters_follow_enters_and_exits() {
    let server = TestServer::start().await;
    let empty = id_of(&server.create_room("small_room_for_video").await);
    let one = id_of(&server.create_room("small_room_for_video").await);
    let three = id_of(&server.create_room("large_room_for_audio_only").await);
    enter(&server, &one, "a").await;
    for user in ["b", "c", "d"] {
        enter(&server, &three, user).await;
    }
    assert_eq!(
        list(&server, "current_participant_range_gte=1").await,
        [three.clone(), one.clone()]
    );
    assert_eq!(
        list(&server, "current_participant_range_gte=2").await,
        vec![three.clone()]
    );
    assert_eq!(
        list(&server, "current_participant_range_lte=0").await,
        vec![empty.clone()]
    );
    assert_eq!(
        list(&server, "current_participant_range_lte=1").await,
        [one.clone(), empty.clone()]
    );
    assert_eq!(
        list(
            &server,
            "current_participant_range_gte=1&current_participant_range_lte=1"
        )
        .await,
        vec![one.clone()]
    );
    assert_eq!(
        list(
            &server,
            "current_participant_range_gte=1&type=large_room_for_audio_only&state=open"
        )
        .await,
        vec![three.clone()]
    );
    // Exits and deletion lower the count.
    let (_, room) = server.get(&format!("/v1/rooms/{one}")).await;
    let pid = room["room"]["current_participants"][0]["participant_id"]
        .as_str()
        .unwrap()
        .to_owned();
    server
        .services
        .rooms
        .exit(
            &common::room_id(&one),
            &opencalls_domain::ParticipantId::parse(&pid).unwrap(),
        )
        .await
        .unwrap();
    server.delete(&format!("/v1/rooms/{three}"), None).await;
    assert!(
        list(&server, "current_participant_range_gte=1")
            .await
            .is_empty()
    );
    assert_error(
        &server
            .get("/v1/rooms?current_participant_range_gte=-1")
            .await,
        400,
        400100,
    );
    assert_error(
        &server
            .get("/v1/rooms?current_participant_range_lte=x")
            .await,
        400,
        400100,
    );
}

#[tokio::test]
async fn filtered_paging_walks_only_matching_rooms() {
    let server = TestServer::start().await;
    let mut audio = Vec::new();
    for i in 0..9 {
        let room = server
            .create_room(if i % 3 == 0 {
                "large_room_for_audio_only"
            } else {
                "small_room_for_video"
            })
            .await;
        if i % 3 == 0 {
            audio.push(id_of(&room));
        }
    }
    audio.reverse();
    let (_, page1) = server
        .get("/v1/rooms?type=large_room_for_audio_only&limit=2")
        .await;
    let next = page1["next"].as_str().unwrap();
    let (_, page2) = server
        .get(&format!(
            "/v1/rooms?type=large_room_for_audio_only&limit=2&next={next}"
        ))
        .await;
    let got: Vec<String> = [page1, page2.clone()]
        .iter()
        .flat_map(|p| {
            p["rooms"]
                .as_array()
                .unwrap()
                .iter()
                .map(id_of)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(got, audio);
    assert_eq!(page2["next"], Value::Null);
    assert_eq!(json!(page2["rooms"].as_array().unwrap().len()), json!(1));
}
