//! The room actions over real HTTP: create, retrieve, delete, custom items, participants.

use crate::common;

use common::{TestServer, assert_error, enter, id_of};
use serde_json::{Value, json};

fn keys(value: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = value
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

#[tokio::test]
async fn create_returns_the_spec_room_resource() {
    let server = TestServer::start().await;
    for room_type in ["small_room_for_video", "large_room_for_audio_only"] {
        let (status, body) = server.post("/v1/rooms", json!({ "type": room_type })).await;
        assert_eq!(status, 200, "{body}");
        let room = &body["room"];
        assert_eq!(
            keys(room),
            [
                "created_at",
                "created_by",
                "current_participants",
                "custom_items",
                "deleted_by",
                "room_id",
                "room_type",
                "state",
                "updated_at"
            ]
        );
        assert_eq!(room["room_type"], room_type);
        assert_eq!(room["state"], "open");
        assert_eq!(room["created_by"], "");
        assert_eq!(room["deleted_by"], "");
        assert_eq!(room["current_participants"], json!([]));
        assert_eq!(room["custom_items"], json!({}));
        assert!(room["created_at"].as_i64().unwrap() > 1_600_000_000_000);
    }
}

#[tokio::test]
async fn create_with_custom_items_at_the_limits() {
    let server = TestServer::start().await;
    let long = "x".repeat(128);
    let items: serde_json::Map<String, Value> = (0..10)
        .map(|i| (format!("{i}{}", &long[1..]), Value::String(long.clone())))
        .collect();
    let (status, body) = server
        .post(
            "/v1/rooms",
            json!({ "type": "small_room_for_video", "custom_items": items }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["room"]["custom_items"].as_object().unwrap().len(), 10);
    let (_, got) = server
        .get(&format!("/v1/rooms/{}/custom_items", id_of(&body["room"])))
        .await;
    assert_eq!(got["custom_items"], body["room"]["custom_items"]);
    assert_eq!(got["affected_at"], body["room"]["created_at"]);
}

#[tokio::test]
async fn get_room_shows_current_participants_with_user() {
    let server = TestServer::start().await;
    let id = id_of(&server.create_room("small_room_for_video").await);
    let alice = enter(&server, &id, "alice").await;
    let (status, body) = server.get(&format!("/v1/rooms/{id}")).await;
    assert_eq!(status, 200);
    let current = body["room"]["current_participants"].as_array().unwrap();
    assert_eq!(current.len(), 1);
    let p = &current[0];
    assert_eq!(
        keys(p),
        [
            "client_id",
            "connected_at",
            "duration",
            "entered_at",
            "exited_at",
            "is_audio_on",
            "is_video_on",
            "participant_id",
            "room_id",
            "state",
            "updated_at",
            "user"
        ]
    );
    assert_eq!(p["participant_id"], alice.participant_id.as_str());
    assert_eq!(p["state"], "entered");
    assert_eq!(p["exited_at"], Value::Null);
    assert_eq!(p["duration"], Value::Null);
    assert_eq!(p["connected_at"], Value::Null);
    assert_eq!(
        p["user"],
        json!({"user_id": "alice", "nickname": "", "profile_url": "", "metadata": {}, "is_active": true, "role": null})
    );
}

#[tokio::test]
async fn delete_removes_participants_and_freezes_the_room() {
    let server = TestServer::start().await;
    let id = id_of(&server.create_room("small_room_for_video").await);
    server
        .put(
            &format!("/v1/rooms/{id}/custom_items"),
            json!({"custom_items": {"k": "v"}}),
        )
        .await;
    enter(&server, &id, "alice").await;
    enter(&server, &id, "bob").await;
    server.clock.shift(3_000);

    let (status, body) = server.delete(&format!("/v1/rooms/{id}"), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["room"]["state"], "deleted");
    assert_eq!(body["room"]["deleted_by"], "");
    assert_eq!(body["room"]["current_participants"], json!([]));

    let (_, list) = server.get(&format!("/v1/rooms/{id}/participants")).await;
    for p in list["participants"].as_array().unwrap() {
        assert_eq!(p["state"], "exited");
        assert!(p["exited_at"].is_i64());
        assert!(p["duration"].as_i64().unwrap() >= 3, "{p}");
    }
    // Deleted rooms stay readable, but nothing can change them.
    let (status, body) = server.get(&format!("/v1/rooms/{id}")).await;
    assert_eq!(
        (status, body["room"]["state"].as_str()),
        (200, Some("deleted"))
    );
    assert_error(
        &server.delete(&format!("/v1/rooms/{id}"), None).await,
        400,
        1400126,
    );
    let put = server
        .put(
            &format!("/v1/rooms/{id}/custom_items"),
            json!({"custom_items": {"k": "w"}}),
        )
        .await;
    assert_error(&put, 400, 1400126);
    assert_error(
        &server
            .delete(&format!("/v1/rooms/{id}/custom_items"), None)
            .await,
        400,
        1400126,
    );
    let (_, items) = server.get(&format!("/v1/rooms/{id}/custom_items")).await;
    assert_eq!(items["custom_items"], json!({"k": "v"}));
    let err = server
        .services
        .rooms
        .enter(&common::room_id(&id), common::enter_request("late", true))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("deleted"), "{err}");
}

#[tokio::test]
async fn custom_items_upsert_insert_and_delete() {
    let server = TestServer::start().await;
    let id = id_of(&server.create_room("large_room_for_audio_only").await);
    let path = format!("/v1/rooms/{id}/custom_items");

    let (_, empty) = server.get(&path).await;
    assert_eq!(
        empty,
        json!({"custom_items": {}}),
        "no affected_at without items"
    );

    let (status, body) = server
        .put(
            &path,
            json!({"custom_items": {"is_paid_call": "Y", "call_quality": "HIGH"}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["room_id"], id);
    assert_eq!(body["updated"], json!(["call_quality", "is_paid_call"]));
    let first_affected = body["affected_at"].as_i64().unwrap();

    server.clock.shift(5);
    let (_, body) = server
        .put(&path, json!({"custom_items": {"is_paid_call": "Y", "call_quality": "LOW", "score": "5"}, "mode": "upsert"}))
        .await;
    assert_eq!(body["updated"], json!(["call_quality", "score"]));
    assert_eq!(
        body["custom_items"],
        json!({"is_paid_call": "Y", "call_quality": "LOW", "score": "5"})
    );
    assert!(body["affected_at"].as_i64().unwrap() > first_affected);

    let (_, body) = server
        .put(
            &path,
            json!({"custom_items": {"score": "1", "comment": "ok"}, "mode": "insert"}),
        )
        .await;
    assert_eq!(body["updated"], json!(["comment"]));
    assert_eq!(body["custom_items"]["score"], "5");

    let (status, body) = server
        .delete(&path, Some(json!({"keys": ["score", "missing"]})))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["deleted"], json!(["score"]));
    assert_eq!(
        body["custom_items"],
        json!({"is_paid_call": "Y", "call_quality": "LOW", "comment": "ok"})
    );
    assert!(body["affected_at"].is_i64());

    let (_, body) = server.delete(&path, Some(json!({}))).await;
    assert_eq!(
        body["deleted"],
        json!(["call_quality", "comment", "is_paid_call"])
    );
    assert_eq!(body["custom_items"], json!({}));
    let (_, room) = server.get(&format!("/v1/rooms/{id}")).await;
    assert_eq!(room["room"]["custom_items"], json!({}));
}

#[tokio::test]
async fn custom_items_limits_refuse_and_change_nothing() {
    let server = TestServer::start().await;
    let id = id_of(&server.create_room("small_room_for_video").await);
    let path = format!("/v1/rooms/{id}/custom_items");
    let nine: serde_json::Map<String, Value> =
        (0..9).map(|i| (format!("k{i}"), json!("v"))).collect();
    assert_eq!(
        server.put(&path, json!({"custom_items": nine})).await.0,
        200
    );
    // The tenth fits; an eleventh does not, even alongside a valid update.
    assert_eq!(
        server
            .put(&path, json!({"custom_items": {"k9": "v"}}))
            .await
            .0,
        200
    );
    let (_, before) = server.get(&path).await;
    assert_error(
        &server
            .put(
                &path,
                json!({"custom_items": {"k0": "changed", "k10": "v"}}),
            )
            .await,
        400,
        400100,
    );
    assert_error(
        &server
            .put(&path, json!({"custom_items": {"k0": "x".repeat(129)}}))
            .await,
        400,
        400100,
    );
    assert_error(
        &server
            .put(&path, json!({"custom_items": {"y".repeat(129): "v"}}))
            .await,
        400,
        400100,
    );
    assert_error(
        &server.put(&path, json!({"custom_items": {"k0": 5}})).await,
        400,
        400100,
    );
    assert_error(
        &server
            .put(&path, json!({"custom_items": {"k0": "v"}, "mode": "merge"}))
            .await,
        400,
        400100,
    );
    assert_error(
        &server.put(&path, json!({"mode": "upsert"})).await,
        400,
        400111,
    );
    assert_error(
        &server.delete(&path, Some(json!({"keys": "k0"}))).await,
        400,
        400100,
    );
    assert_error(
        &server
            .delete(&path, Some(json!({"keys": ["z".repeat(129)]})))
            .await,
        400,
        400100,
    );
    let (_, after) = server.get(&path).await;
    assert_eq!(before, after);
    // At the limit exactly: 128-character key and value are fine when replacing an item.
    assert_eq!(
        server.delete(&path, Some(json!({"keys": ["k9"]}))).await.0,
        200
    );
    let (status, _) = server
        .put(
            &path,
            json!({"custom_items": {"k".repeat(128): "v".repeat(128)}}),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn participants_list_newest_first_with_paging() {
    let server = TestServer::start().await;
    let id = id_of(&server.create_room("large_room_for_audio_only").await);
    let mut ids = Vec::new();
    // Real time passes too while 25 enters commit (more on a loaded machine).
    let started = std::time::Instant::now();
    for i in 0..25 {
        ids.push(
            enter(&server, &id, &format!("user{i}"))
                .await
                .participant_id
                .to_string(),
        );
    }
    server.clock.shift(2_500);
    server
        .services
        .rooms
        .exit(
            &common::room_id(&id),
            &opencalls_domain::ParticipantId::parse(&ids[0]).unwrap(),
        )
        .await
        .unwrap();

    let mut seen = Vec::new();
    let mut path = format!("/v1/rooms/{id}/participants?limit=10");
    let mut pages = Vec::new();
    loop {
        let (status, body) = server.get(&path).await;
        assert_eq!(status, 200, "{body}");
        pages.push(body.clone());
        seen.extend(
            body["participants"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["participant_id"].as_str().unwrap().to_owned()),
        );
        match body["next"].as_str() {
            Some(next) => path = format!("/v1/rooms/{id}/participants?limit=10&next={next}"),
            None => break,
        }
    }
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);
    assert_eq!(pages.len(), 3);
    let oldest = pages[2]["participants"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(oldest["state"], "exited");
    // Whole seconds between its enter and its exit: the 2.5 s shift plus the real time.
    let duration = oldest["duration"].as_i64().unwrap();
    let most = (2_500 + started.elapsed().as_millis() as i64) / 1000;
    assert!(
        (2..=most).contains(&duration),
        "{duration} not in 2..={most}"
    );
    // prev of the last page is the middle page.
    let prev = pages[2]["prev"].as_str().unwrap();
    let (_, back) = server
        .get(&format!("/v1/rooms/{id}/participants?limit=10&prev={prev}"))
        .await;
    assert_eq!(back["participants"], pages[1]["participants"]);
    assert_error(
        &server.get("/v1/rooms/unknown/participants").await,
        400,
        400200,
    );
    assert_error(
        &server
            .get(&format!("/v1/rooms/{id}/participants?next=garbage"))
            .await,
        400,
        400100,
    );
    assert_error(
        &server
            .get(&format!("/v1/rooms/{id}/participants?limit=0"))
            .await,
        400,
        400100,
    );
}

#[tokio::test]
async fn restart_keeps_rooms_custom_items_and_participants() {
    let server = TestServer::start().await;
    let open = server.create_room("small_room_for_video").await;
    let id = id_of(&open);
    server
        .put(
            &format!("/v1/rooms/{id}/custom_items"),
            json!({"custom_items": {"a": "1"}}),
        )
        .await;
    enter(&server, &id, "alice").await;
    let deleted = id_of(&server.create_room("large_room_for_audio_only").await);
    server.delete(&format!("/v1/rooms/{deleted}"), None).await;
    let (_, before_open) = server.get(&format!("/v1/rooms/{id}")).await;
    let (_, before_deleted) = server.get(&format!("/v1/rooms/{deleted}")).await;
    let (_, before_items) = server.get(&format!("/v1/rooms/{id}/custom_items")).await;

    let server = TestServer::start_in(server.stop().await).await;
    // The room and its custom items are as they were; the participant, whose device went
    // away with the old process, was exited at start-up.
    let (_, after_open) = server.get(&format!("/v1/rooms/{id}")).await;
    for field in [
        "room_id",
        "room_type",
        "state",
        "created_at",
        "created_by",
        "deleted_by",
        "custom_items",
    ] {
        assert_eq!(
            after_open["room"][field], before_open["room"][field],
            "{field}"
        );
    }
    assert_eq!(
        before_open["room"]["current_participants"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(after_open["room"]["current_participants"], json!([]));
    let (_, participants) = server.get(&format!("/v1/rooms/{id}/participants")).await;
    assert_eq!(participants["participants"][0]["user"]["user_id"], "alice");
    assert_eq!(participants["participants"][0]["state"], "exited");
    assert!(participants["participants"][0]["exited_at"].is_i64());
    assert_eq!(
        server.get(&format!("/v1/rooms/{deleted}")).await.1,
        before_deleted
    );
    assert_eq!(
        server.get(&format!("/v1/rooms/{id}/custom_items")).await.1,
        before_items
    );
    let (_, list) = server.get("/v1/rooms").await;
    assert_eq!(list["rooms"].as_array().unwrap().len(), 2);
}
