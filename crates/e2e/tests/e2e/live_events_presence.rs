//! Hosts, participants and counters, driven through the live-event service of the running
//! server (the WebSocket layer will call the same methods) and observed over HTTP.

use crate::common;
use crate::live_common;

use common::{TestServer, assert_error};
use live_common::{End, Ready, Start, act, counters, create, fetch, host, id, viewer};
use opencalls_domain::DomainError;
use opencalls_service::ServiceError;
use serde_json::{Value, json};

fn refused(result: Result<impl std::fmt::Debug, ServiceError>) -> DomainError {
    match result {
        Err(ServiceError::Rejected(e)) => e,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn counters_follow_a_scripted_audience() {
    let server = TestServer::start().await;
    let live = &server.services.live_events;
    let id = id(&create(&server, &["h"]).await);
    let live_id = common::live_event_id(&id);
    assert!(matches!(
        refused(live.participant_enter(&live_id, viewer("early")).await),
        DomainError::LiveEventActionNotAllowed(_)
    ));
    assert_eq!(counters(&server, &id).await, (0, 0, 0), "refused entry");
    act(&server, &id, Ready).await;

    // The same user on two devices is two participants.
    let a1 = live
        .participant_enter(&live_id, viewer("alice"))
        .await
        .unwrap();
    let a2 = live
        .participant_enter(&live_id, viewer("alice"))
        .await
        .unwrap();
    let b = live
        .participant_enter(&live_id, viewer("bob"))
        .await
        .unwrap();
    assert_eq!(counters(&server, &id).await, (3, 3, 3));
    let exited = live
        .participant_exit(&live_id, &a1.participant_id)
        .await
        .unwrap();
    assert_eq!(exited.state.as_str(), "exited");
    assert_eq!(
        exited.duration,
        exited.exited_at.unwrap() - exited.entered_at
    );
    assert_eq!(counters(&server, &id).await, (2, 3, 3));
    assert!(matches!(
        refused(live.participant_exit(&live_id, &a1.participant_id).await),
        DomainError::NotInLiveEvent
    ));
    assert_eq!(counters(&server, &id).await, (2, 3, 3), "double exit");

    act(&server, &id, Start).await;
    let c = live
        .participant_enter(&live_id, viewer("carol"))
        .await
        .unwrap();
    live.participant_exit(&live_id, &b.participant_id)
        .await
        .unwrap();
    assert_eq!(counters(&server, &id).await, (2, 3, 4));
    let _d = live
        .participant_enter(&live_id, viewer("dave"))
        .await
        .unwrap();
    let _e = live
        .participant_enter(&live_id, viewer("erin"))
        .await
        .unwrap();
    assert_eq!(counters(&server, &id).await, (4, 4, 6));

    let filtered = server
        .get("/v1/live-events?participant_count_range_gte=4&participant_count_range_lte=4")
        .await;
    assert_eq!(filtered.1["live_events"][0]["live_event_id"], id.as_str());

    let (status, ended) = act(&server, &id, End).await;
    assert_eq!(status, 200);
    let ended = &ended["live_event"];
    assert_eq!(
        (
            &ended["participant_count"],
            &ended["peak_participant_count"],
            &ended["cumulative_participant_count"]
        ),
        (&json!(0), &json!(4), &json!(6))
    );
    let ended_at = ended["ended_at"].clone();
    let (_, list) = server
        .get(&format!("/v1/live-events/{id}/participants?limit=100"))
        .await;
    let list = list["participants"].as_array().unwrap().clone();
    assert_eq!(list.len(), 6);
    for p in &list {
        assert_eq!(p["state"], "exited", "{p}");
        let (entered, exited) = (p["entered_at"].as_i64(), p["exited_at"].as_i64());
        assert_eq!(
            p["duration"].as_i64(),
            Some(exited.unwrap() - entered.unwrap())
        );
    }
    // Those still in at the end were forced out at the end.
    for forced in [&a2, &c] {
        let p = list
            .iter()
            .find(|p| p["participant_id"] == forced.participant_id.as_str())
            .unwrap();
        assert_eq!(p["exited_at"], ended_at);
    }
    assert!(matches!(
        refused(live.participant_enter(&live_id, viewer("late")).await),
        DomainError::LiveEventActionNotAllowed(_)
    ));
    assert_eq!(counters(&server, &id).await, (0, 4, 6));
}

#[tokio::test]
async fn host_presence_and_streaming_flag() {
    let server = TestServer::start().await;
    let live = &server.services.live_events;
    let id = id(&create(&server, &["anna", "ben"]).await);
    let live_id = common::live_event_id(&id);
    assert!(matches!(
        refused(live.host_enter(&live_id, host("mallory")).await),
        DomainError::NotAllowedToHost
    ));
    let anna = live.host_enter(&live_id, host("anna")).await.unwrap();
    assert!(matches!(
        refused(live.host_enter(&live_id, host("ben")).await),
        DomainError::LiveEventActionNotAllowed(_)
    ));
    let event = fetch(&server, &id).await;
    assert_eq!(event["host"]["host_id"], anna.host_id.as_str());
    assert_eq!(event["host"]["state"], "entered");
    assert_eq!(event["host"]["user"]["user_id"], "anna");
    assert_eq!(event["host"]["exited_at"], Value::Null);

    live.host_connected(&live_id, &anna.host_id).await.unwrap();
    assert_eq!(
        fetch(&server, &id).await["is_host_streaming"],
        false,
        "created"
    );
    act(&server, &id, Ready).await;
    assert_eq!(
        fetch(&server, &id).await["is_host_streaming"],
        false,
        "ready"
    );
    let (_, started) = act(&server, &id, Start).await;
    assert_eq!(started["live_event"]["is_host_streaming"], true);
    live.host_disconnected(&live_id, &anna.host_id)
        .await
        .unwrap();
    let event = fetch(&server, &id).await;
    assert_eq!(event["is_host_streaming"], false);
    assert_eq!(event["host"]["state"], "disconnected");
    assert!(event["host"]["disconnected_at"].is_i64());
    live.host_connected(&live_id, &anna.host_id).await.unwrap();
    assert_eq!(fetch(&server, &id).await["is_host_streaming"], true);

    let (status, hosts) = server.get(&format!("/v1/live-events/{id}/hosts")).await;
    assert_eq!(status, 200);
    assert_eq!(hosts["host"]["state"], "connected");
    assert_eq!(hosts["host"]["live_event_id"], id.as_str());
    assert_eq!(hosts["host"]["duration"], 0);

    let exited = live.host_exit(&live_id, &anna.host_id).await.unwrap();
    let event = fetch(&server, &id).await;
    assert_eq!(event["host"], Value::Null);
    assert_eq!(event["is_host_streaming"], false);
    assert_eq!(
        event["state"], "ongoing",
        "the host leaving does not end the event"
    );
    let (_, hosts) = server.get(&format!("/v1/live-events/{id}/hosts")).await;
    assert_eq!(hosts["host"]["state"], "exited");
    assert_eq!(
        hosts["host"]["duration"].as_i64(),
        Some(exited.exited_at.unwrap() - exited.entered_at)
    );
    assert!(matches!(
        refused(live.host_connected(&live_id, &anna.host_id).await),
        DomainError::NotInLiveEvent
    ));

    // Another listed user may take over; ending forces the host out.
    let ben = live.host_enter(&live_id, host("ben")).await.unwrap();
    let (_, ended) = act(&server, &id, End).await;
    assert_eq!(ended["live_event"]["host"], Value::Null);
    let (_, hosts) = server.get(&format!("/v1/live-events/{id}/hosts")).await;
    assert_eq!(hosts["host"]["host_id"], ben.host_id.as_str());
    assert_eq!(hosts["host"]["state"], "exited");
    assert_eq!(hosts["host"]["exited_at"], ended["live_event"]["ended_at"]);
    assert!(matches!(
        refused(live.host_enter(&live_id, host("anna")).await),
        DomainError::LiveEventActionNotAllowed(_)
    ));
}

#[tokio::test]
async fn events_are_published_with_their_documented_names() {
    let server = TestServer::start().await;
    let mut bus = server.services.bus.subscribe();
    let live = &server.services.live_events;
    let id = id(&create(&server, &["h"]).await);
    let live_id = common::live_event_id(&id);
    let h = live.host_enter(&live_id, host("h")).await.unwrap();
    live.host_connected(&live_id, &h.host_id).await.unwrap();
    act(&server, &id, Ready).await;
    let p = live.participant_enter(&live_id, viewer("v")).await.unwrap();
    act(&server, &id, Start).await;
    live.host_disconnected(&live_id, &h.host_id).await.unwrap();
    live.participant_exit(&live_id, &p.participant_id)
        .await
        .unwrap();
    live.participant_enter(&live_id, viewer("w")).await.unwrap();
    act(&server, &id, End).await;

    let mut seen = Vec::new();
    while let Ok(event) = bus.try_recv() {
        assert_eq!(
            event.stream(),
            opencalls_domain::StreamKey::LiveEvent(
                opencalls_domain::LiveEventId::parse(&id).unwrap()
            )
        );
        let payload = event.payload();
        assert_eq!(payload["live_event"]["live_event_id"], id.as_str());
        seen.push(event.category());
    }
    assert_eq!(
        seen,
        [
            "live_event:create",
            "live_event:host_enter",
            "live_event:host_connect",
            "live_event:ready",
            "live_event:participant_enter",
            "live_event:start",
            "live_event:host_disconnect",
            "live_event:participant_exit",
            "live_event:participant_enter",
            "live_event:participant_exit",
            "live_event:host_exit",
            "live_event:end",
        ]
    );
}

#[tokio::test]
async fn participants_page_both_ways_newest_first() {
    let server = TestServer::start().await;
    let live = &server.services.live_events;
    let id = id(&create(&server, &["h"]).await);
    let live_id = common::live_event_id(&id);
    act(&server, &id, Ready).await;
    let mut entered = Vec::new();
    for i in 0..13 {
        let p = live
            .participant_enter(&live_id, viewer(&format!("v{i}")))
            .await
            .unwrap();
        entered.push(p.participant_id.to_string());
    }
    entered.reverse();
    let path = format!("/v1/live-events/{id}/participants");
    let mut pages = Vec::new();
    let mut query = "limit=5".to_string();
    loop {
        let (status, body) = server.get(&format!("{path}?{query}")).await;
        assert_eq!(status, 200, "{body}");
        let ids: Vec<String> = body["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["participant_id"].as_str().unwrap().to_owned())
            .collect();
        pages.push((ids, body["prev"].clone(), body["next"].clone()));
        match body["next"].as_str() {
            Some(next) => query = format!("limit=5&next={next}"),
            None => break,
        }
    }
    assert_eq!(pages.len(), 3);
    assert_eq!(pages[0].1, Value::Null, "the first page has no prev");
    let all: Vec<String> = pages.iter().flat_map(|p| p.0.clone()).collect();
    assert_eq!(all, entered);
    // Walk back from the last page with prev.
    let mut prev = pages[2].1.as_str().unwrap().to_owned();
    for expected in [&pages[1].0, &pages[0].0] {
        let (_, body) = server.get(&format!("{path}?limit=5&prev={prev}")).await;
        let ids: Vec<&str> = body["participants"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["participant_id"].as_str().unwrap())
            .collect();
        assert_eq!(&ids, expected);
        match body["prev"].as_str() {
            Some(p) => prev = p.to_owned(),
            None => assert_eq!(expected, &pages[0].0),
        }
    }

    for bad in [
        "limit=0",
        "limit=101",
        "limit=ten",
        "next=garbage",
        "prev=%%%",
    ] {
        assert_error(&server.get(&format!("{path}?{bad}")).await, 400, 400100);
    }
    // A cursor of the live-event listing is refused by the participant listing.
    for _ in 0..11 {
        create(&server, &["h"]).await;
    }
    let (_, events) = server.get("/v1/live-events").await;
    let foreign = events["next"].as_str().unwrap();
    assert_error(
        &server.get(&format!("{path}?next={foreign}")).await,
        400,
        400100,
    );
}

#[tokio::test]
async fn concurrent_enters_and_exits_keep_exact_counters() {
    let server = TestServer::start().await;
    let id = id(&create(&server, &["h"]).await);
    act(&server, &id, Ready).await;
    let live_id = common::live_event_id(&id);
    let enters = (0..40).map(|i| {
        let live = server.services.live_events.clone();
        let live_id = live_id.clone();
        tokio::spawn(async move {
            live.participant_enter(&live_id, viewer(&format!("u{}", i % 7)))
                .await
        })
    });
    let mut entered = Vec::new();
    for task in enters.collect::<Vec<_>>() {
        entered.push(task.await.unwrap().unwrap());
    }
    assert_eq!(counters(&server, &id).await, (40, 40, 40));
    let exits = entered.iter().take(15).map(|p| {
        let live = server.services.live_events.clone();
        let (live_id, pid) = (live_id.clone(), p.participant_id.clone());
        tokio::spawn(async move { live.participant_exit(&live_id, &pid).await })
    });
    for task in exits.collect::<Vec<_>>() {
        task.await.unwrap().unwrap();
    }
    assert_eq!(counters(&server, &id).await, (25, 40, 40));
}
