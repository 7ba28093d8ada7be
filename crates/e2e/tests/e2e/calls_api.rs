//! The Platform API of direct calls on a real server: listing filters and paging, one call,
//! custom items, users' call history for both roles, the call summary, VoIP push tokens,
//! and refusals in the spec's error body.

use crate::calls_common::{TestUser, event};
use opencalls_client::{Client, DialOptions};
use opencalls_testkit::{TestServer, assert_error};
use serde_json::{Value, json};

/// Users alice, bob and carol with one device each.
async fn devices(server: &TestServer) -> [Client; 3] {
    let mut all = Vec::new();
    for id in ["alice", "bob", "carol"] {
        all.push(
            TestUser::create(server, id)
                .await
                .device(server, None)
                .await,
        );
    }
    all.try_into().unwrap_or_else(|_| unreachable!())
}

/// Three ended calls: alice→bob completed, bob→carol canceled, carol→alice declined.
async fn history(server: &TestServer) -> (Vec<String>, [Client; 3]) {
    let [mut alice, mut bob, mut carol] = devices(server).await;
    let mut ids = Vec::new();
    let id = alice
        .dial("bob", DialOptions::default())
        .await
        .unwrap()
        .call_id
        .to_string();
    event(&mut bob, "call.dialed").await;
    bob.accept(&id, None, None).await.unwrap();
    alice.end_call(&id).await.unwrap();
    ids.push(id);
    let id = bob
        .dial("carol", DialOptions::default())
        .await
        .unwrap()
        .call_id
        .to_string();
    event(&mut carol, "call.dialed").await;
    bob.cancel(&id).await.unwrap();
    ids.push(id);
    let id = carol
        .dial("alice", DialOptions::default())
        .await
        .unwrap()
        .call_id
        .to_string();
    event(&mut alice, "call.dialed").await;
    alice.decline(&id).await.unwrap();
    ids.push(id);
    (ids, [alice, bob, carol])
}

fn call_ids(body: &Value) -> Vec<&str> {
    body["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["call_id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn calls_are_listed_newest_first_with_filters_and_paging() {
    let server = TestServer::start().await;
    let (ids, _devices) = history(&server).await;
    let (status, all) = server.get("/v1/direct_calls").await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(call_ids(&all), [&ids[2], &ids[1], &ids[0]]);
    assert_eq!(all["has_next"], false);
    assert!(all["calls"][0].get("user_role").is_none());

    let (_, page) = server.get("/v1/direct_calls?limit=2").await;
    assert_eq!(call_ids(&page), [&ids[2], &ids[1]]);
    assert_eq!(page["has_next"], true);
    let next = page["next"].as_str().unwrap();
    let (_, rest) = server
        .get(&format!("/v1/direct_calls?limit=2&next={next}"))
        .await;
    assert_eq!(call_ids(&rest), [&ids[0]]);
    assert_eq!(
        (rest["has_next"].clone(), rest["next"].clone()),
        (json!(false), json!(""))
    );

    let (_, done) = server
        .get("/v1/direct_calls?end_result=completed,declined")
        .await;
    assert_eq!(call_ids(&done), [&ids[2], &ids[0]]);
    let (_, of_bob) = server.get("/v1/direct_calls?user_id=bob").await;
    assert_eq!(call_ids(&of_bob), [&ids[1], &ids[0]]);
    assert_eq!(of_bob["calls"][0]["user_role"], "dc_caller");
    assert_eq!(of_bob["calls"][1]["user_role"], "dc_callee");
    let (_, bob_callee) = server
        .get("/v1/direct_calls?user_id=bob&role=dc_callee")
        .await;
    assert_eq!(call_ids(&bob_callee), [&ids[0]]);
    let completed = &all["calls"][2];
    let duration = completed["duration"].as_i64().unwrap();
    let query =
        format!("/v1/direct_calls?duration_range_min={duration}&duration_range_max={duration}");
    let (_, by_duration) = server.get(&query).await;
    assert!(
        call_ids(&by_duration).contains(&ids[0].as_str()),
        "{by_duration}"
    );
    let started = all["calls"][1]["started_at"].as_i64().unwrap();
    let query = format!("/v1/direct_calls?start_ts={started}&end_ts={}", started + 1);
    let (_, window) = server.get(&query).await;
    assert_eq!(call_ids(&window), [&ids[1]]);
    let (_, current) = server.get("/v1/direct_calls?state=current").await;
    assert!(call_ids(&current).is_empty());

    for bad in [
        "limit=0",
        "limit=101",
        "end_result=exploded",
        "role=dc_caller",
        "next=garbage",
        "duration_range_min=5&duration_range_max=1",
    ] {
        let reply = server.get(&format!("/v1/direct_calls?{bad}")).await;
        assert_error(&reply, 400, 400100);
    }
}

#[tokio::test]
async fn one_call_and_its_custom_items() {
    let server = TestServer::start().await;
    let [alice, mut bob, _carol] = devices(&server).await;
    let options = DialOptions {
        custom_items: Some([("ticket".to_owned(), "T-42".to_owned())].into()),
        ..DialOptions::default()
    };
    let id = alice
        .dial("bob", options)
        .await
        .unwrap()
        .call_id
        .to_string();
    let (status, call) = server.get(&format!("/v1/direct_calls/{id}")).await;
    assert_eq!(status, 200, "{call}");
    assert_eq!(call["call_type"], "direct");
    assert_eq!(call["state"], "ringing");
    assert_eq!(call["end_result"], Value::Null);
    assert_eq!(call["started_by"], "alice");
    assert_eq!(call["participants"][1]["role"], "dc_callee");
    assert_eq!(call["custom_items"], json!({"ticket": "T-42"}));

    let path = format!("/v1/direct_calls/{id}/custom_items");
    let body = json!({"custom_items": {"topic": "billing", "ticket": "T-43"}, "mode": "insert"});
    let (status, updated) = server.put(&path, body).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["updated"], json!(["topic"]));
    assert_eq!(
        updated["custom_items"],
        json!({"ticket": "T-42", "topic": "billing"})
    );
    let told = event(&mut bob, "call.custom_items_updated").await;
    assert_eq!(told["updated"], json!(["topic"]));
    let (_, upserted) = server
        .put(&path, json!({"custom_items": {"ticket": "T-43"}}))
        .await;
    assert_eq!(upserted["updated"], json!(["ticket"]));
    let (_, deleted) = server
        .delete(&path, Some(json!({"keys": ["topic", "nope"]})))
        .await;
    assert_eq!(deleted["deleted"], json!(["topic"]));
    assert_eq!(deleted["custom_items"], json!({"ticket": "T-43"}));

    let too_many: serde_json::Map<String, Value> =
        (0..11).map(|i| (format!("k{i}"), json!("v"))).collect();
    let reply = server.put(&path, json!({"custom_items": too_many})).await;
    assert_error(&reply, 400, 400100);
    assert_error(
        &server
            .put(&path, json!({"custom_items": {"a,b": "v"}}))
            .await,
        400,
        400100,
    );
    assert_error(&server.put(&path, json!({})).await, 400, 400111);
    // Allowed after the end too (call logs keep their items editable).
    alice.cancel(&id).await.unwrap();
    let (_, all_gone) = server.delete(&path, None).await;
    assert_eq!(all_gone["deleted"], json!(["ticket"]));
    let unknown = server.get("/v1/direct_calls/no-such-call").await;
    assert_error(&unknown, 400, 1400102);
}

#[tokio::test]
async fn users_calls_summary_and_history_for_both_roles() {
    let server = TestServer::start().await;
    let (ids, _devices) = history(&server).await;
    let (status, alice) = server.get("/v1/users/alice/calls").await;
    assert_eq!(status, 200, "{alice}");
    assert_eq!(call_ids(&alice), [&ids[2], &ids[0]]);
    assert_eq!(alice["calls"][0]["user_role"], "dc_callee");
    assert_eq!(alice["calls"][1]["user_role"], "dc_caller");
    let (_, as_caller) = server
        .get("/v1/users/alice/calls?role=dc_caller&type=direct")
        .await;
    assert_eq!(call_ids(&as_caller), [&ids[0]]);
    let (_, declined) = server
        .get("/v1/users/alice/calls?end_result=declined")
        .await;
    assert_eq!(call_ids(&declined), [&ids[2]]);
    let (_, paged) = server.get("/v1/users/alice/calls?limit=1").await;
    assert_eq!(
        (call_ids(&paged), paged["has_next"].clone()),
        (vec![ids[2].as_str()], json!(true))
    );
    // start_ts in seconds (as the hosted API documents it): nothing started in the future.
    let future = (alice["calls"][0]["started_at"].as_i64().unwrap() / 1000) + 3600;
    let (_, none) = server
        .get(&format!("/v1/users/alice/calls?start_ts={future}"))
        .await;
    assert!(call_ids(&none).is_empty());

    let (status, summary) = server.get("/v1/users/alice/call_summary").await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(
        summary["call_count"],
        json!({"total": 2, "direct_call": {"caller": 1, "callee": 1}})
    );
    assert_eq!(summary["last_call"]["call_id"], ids[2].as_str());
    assert_eq!(summary["last_call"]["user_role"], "dc_callee");

    assert_error(&server.get("/v1/users/nobody/calls").await, 400, 400200);
    assert_error(
        &server.get("/v1/users/nobody/call_summary").await,
        400,
        400200,
    );
    assert_error(
        &server.get("/v1/users/alice/calls?type=group").await,
        400,
        400100,
    );
    // An empty value means "not given", as the OpenAPI document's enum says.
    let (status, body) = server.get("/v1/users/alice/calls?type=").await;
    assert_eq!(status, 200, "{body}");
    assert_error(
        &server.get("/v1/users/alice/calls?role=host").await,
        400,
        400100,
    );
}

#[tokio::test]
async fn voip_push_tokens_are_registered_listed_and_removed() {
    let server = TestServer::start().await;
    TestUser::create(&server, "bob").await;
    let apns = "/v1/users/bob/push/apns_voip";
    for token in ["a1", "a2"] {
        let (status, body) = server.post(apns, json!({"token": token})).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body,
            json!({"user_id": "bob", "type": "apns_voip", "token": token})
        );
    }
    let (_, listed) = server.get(apns).await;
    assert_eq!(listed["tokens"], json!(["a2", "a1"]));
    let fcm = "/v1/users/bob/push/fcm_voip";
    server.post(fcm, json!({"token": "f1"})).await;
    let (_, listed) = server.get(fcm).await;
    assert_eq!(listed["tokens"], json!(["f1"]));
    let (status, _) = server.delete(&format!("{apns}/a1"), None).await;
    assert_eq!(status, 200);
    assert_error(
        &server.delete(&format!("{apns}/a1"), None).await,
        400,
        400200,
    );
    server
        .post(apns, json!({"token": "a3", "is_unique": true}))
        .await;
    let (_, listed) = server.get(apns).await;
    assert_eq!(listed["tokens"], json!(["a3"]));
    let (_, removed) = server.delete(apns, None).await;
    assert_eq!(removed["removed"], 1);
    let (_, listed) = server.get(apns).await;
    assert_eq!(listed["tokens"], json!([]));
    let (_, listed) = server.get(fcm).await;
    assert_eq!(listed["tokens"], json!(["f1"]), "other types are untouched");

    assert_error(&server.post(apns, json!({})).await, 400, 400111);
    assert_error(
        &server.post(apns, json!({"token": "has space"})).await,
        400,
        400100,
    );
    let long = "x".repeat(1025);
    assert_error(
        &server.post(apns, json!({"token": long})).await,
        400,
        400100,
    );
    assert_error(
        &server
            .post("/v1/users/bob/push/gcm", json!({"token": "t"}))
            .await,
        400,
        400100,
    );
    assert_error(
        &server
            .post("/v1/users/nobody/push/fcm_voip", json!({"token": "t"}))
            .await,
        400,
        400200,
    );
}

#[tokio::test]
async fn the_openapi_document_lists_the_direct_call_endpoints() {
    let server = TestServer::start().await;
    let (status, doc) = server.get("/v1/openapi.json").await;
    assert_eq!(status, 200);
    for path in [
        "/v1/direct_calls",
        "/v1/direct_calls/{call_id}",
        "/v1/direct_calls/{call_id}/custom_items",
        "/v1/users/{user_id}/calls",
        "/v1/users/{user_id}/call_summary",
        "/v1/users/{user_id}/push/{token_type}",
        "/v1/users/{user_id}/push/{token_type}/{token}",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
}
