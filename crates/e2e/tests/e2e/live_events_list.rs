//! `GET /v1/live-events`: every filter of the spec page and pagination both ways, over real
//! HTTP. Expected results are computed from the live events the test created.

use crate::common;
use crate::live_common;

use common::{TestServer, assert_error};
use live_common::{End, Ready, Start, act, create, fetch, id, viewer};
use serde_json::Value;

/// The ids of a listing, in order, asserting success.
async fn ids(server: &TestServer, query: &str) -> Vec<String> {
    let (status, body) = server.get(&format!("/v1/live-events?{query}")).await;
    assert_eq!(status, 200, "{query}: {body}");
    body["live_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["live_event_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Ids of `events` (newest first) that satisfy `keep`.
fn expect(events: &[Value], keep: impl Fn(&Value) -> bool) -> Vec<String> {
    events.iter().rev().filter(|e| keep(e)).map(id).collect()
}

/// Six live events in various states, returned oldest first as they are now.
async fn fixture(server: &TestServer) -> Vec<Value> {
    let live = &server.services.live_events;
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(id(&create(server, &["h"]).await));
    }
    // Two made by users (as the client SDK would), not through the Platform API.
    for creator in ["alice", "bob"] {
        let event = live
            .create(
                "single_host",
                vec!["h".into()],
                None,
                common::user_actor(creator),
            )
            .await
            .unwrap();
        ids.push(event.live_event_id.to_string());
    }
    // ids[0]: created; ids[1]: ready with 2 participants; ids[2]: ongoing with 1;
    // ids[3]: ended; ids[4]: ended (alice); ids[5]: created (bob).
    act(server, &ids[1], Ready).await;
    for user in ["v1", "v1"] {
        live.participant_enter(&common::live_event_id(&ids[1]), viewer(user))
            .await
            .unwrap();
    }
    act(server, &ids[2], Ready).await;
    act(server, &ids[2], Start).await;
    live.participant_enter(&common::live_event_id(&ids[2]), viewer("v2"))
        .await
        .unwrap();
    act(server, &ids[3], End).await;
    server.clock.shift(5); // a non-zero duration
    act(server, &ids[4], End).await;
    let mut events = Vec::new();
    for id in &ids {
        events.push(fetch(server, id).await);
    }
    events
}

#[tokio::test]
async fn every_filter_narrows_the_listing() {
    let server = TestServer::start().await;
    let events = fixture(&server).await;
    let all = expect(&events, |_| true);
    assert_eq!(ids(&server, "").await, all, "every state, newest first");
    assert_eq!(ids(&server, "host_type=single_host").await, all);

    let state = |s: &'static str| move |e: &Value| e["state"] == s;
    assert_eq!(
        ids(&server, "state=ongoing").await,
        expect(&events, state("ongoing"))
    );
    assert_eq!(
        ids(&server, "state=created,ready").await,
        expect(&events, |e| state("created")(e) || state("ready")(e))
    );
    assert_eq!(ids(&server, "state=ended").await.len(), 2);

    let created = |e: &Value| e["created_at"].as_i64().unwrap();
    let pivot = created(&events[2]);
    assert_eq!(
        ids(&server, &format!("created_at_start_date={pivot}")).await,
        expect(&events, |e| created(e) >= pivot)
    );
    assert_eq!(
        ids(&server, &format!("created_at_end_date={pivot}")).await,
        expect(&events, |e| created(e) < pivot)
    );
    let count = |e: &Value| e["participant_count"].as_i64().unwrap();
    assert_eq!(
        ids(&server, "participant_count_range_gte=1").await,
        expect(&events, |e| count(e) >= 1)
    );
    assert_eq!(
        ids(
            &server,
            "participant_count_range_gte=1&participant_count_range_lte=1"
        )
        .await,
        vec![id(&events[2])]
    );
    let duration = |e: &Value| e["duration"].as_i64().unwrap();
    let longest = duration(&events[3]).max(duration(&events[4]));
    assert!(longest > 0);
    assert_eq!(
        ids(&server, &format!("duration_range_gte={longest}")).await,
        expect(&events, |e| duration(e) >= longest)
    );
    assert_eq!(
        ids(&server, "duration_range_lte=0").await,
        expect(&events, |e| duration(e) == 0)
    );

    let pair = format!("{},{}", id(&events[0]), id(&events[3]));
    assert_eq!(
        ids(&server, &format!("live_event_ids={pair}")).await,
        vec![id(&events[3]), id(&events[0])]
    );
    assert_eq!(
        ids(&server, &format!("live_event_id={}", id(&events[1]))).await,
        vec![id(&events[1])]
    );
    assert_eq!(
        ids(&server, "created_by_user_id=alice").await,
        vec![id(&events[4])]
    );
    assert_eq!(
        ids(&server, "created_by_user_ids=alice,bob").await,
        vec![id(&events[5]), id(&events[4])]
    );
    assert_eq!(
        ids(&server, "state=ended&created_by_user_ids=bob").await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn bad_filters_are_refused() {
    let server = TestServer::start().await;
    let event = create(&server, &["h"]).await;
    let eleven = ["x"; 11].join(",");
    for query in [
        "host_type=multi_host".to_string(),
        "state=open".into(),
        "state=ongoing,bogus".into(),
        format!("live_event_id={0}&live_event_ids={0}", id(&event)),
        "created_by_user_id=a&created_by_user_ids=a".into(),
        format!("live_event_ids={eleven}"),
        format!("created_by_user_ids={eleven}"),
        "created_at_start_date=yesterday".into(),
        "participant_count_range_gte=-1".into(),
        "duration_range_lte=1.5".into(),
        "limit=0".into(),
        "limit=101".into(),
        "next=not-a-cursor".into(),
        "prev=djE6bDpwOng".into(),
        "next=a&prev=b".into(),
    ] {
        assert_error(
            &server.get(&format!("/v1/live-events?{query}")).await,
            400,
            400100,
        );
    }
    // Ten ids are fine.
    let ten = vec![id(&event); 10].join(",");
    assert_eq!(
        ids(&server, &format!("live_event_ids={ten}")).await,
        vec![id(&event)]
    );
}

#[tokio::test]
async fn pages_walk_forward_with_next_and_back_with_prev() {
    let server = TestServer::start().await;
    let mut created = Vec::new();
    for _ in 0..23 {
        created.push(id(&create(&server, &["h"]).await));
    }
    created.reverse();
    let mut pages: Vec<(Vec<String>, Value, Value)> = Vec::new();
    let mut query = "limit=10".to_string();
    loop {
        let (status, body) = server.get(&format!("/v1/live-events?{query}")).await;
        assert_eq!(status, 200, "{body}");
        let page = body["live_events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["live_event_id"].as_str().unwrap().to_owned())
            .collect();
        pages.push((page, body["prev"].clone(), body["next"].clone()));
        match body["next"].as_str() {
            Some(next) => query = format!("limit=10&next={next}"),
            None => break,
        }
    }
    let sizes: Vec<usize> = pages.iter().map(|p| p.0.len()).collect();
    assert_eq!(sizes, [10, 10, 3]);
    assert_eq!(pages[0].1, Value::Null);
    assert_eq!(
        pages.iter().flat_map(|p| p.0.clone()).collect::<Vec<_>>(),
        created
    );

    let mut prev = pages[2].1.as_str().expect("last page has prev").to_owned();
    for expected in [&pages[1].0, &pages[0].0] {
        let (_, body) = server
            .get(&format!("/v1/live-events?limit=10&prev={prev}"))
            .await;
        let page: Vec<&str> = body["live_events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["live_event_id"].as_str().unwrap())
            .collect();
        assert_eq!(&page, expected);
        assert!(body["next"].is_string(), "a prev page links forward again");
        if let Some(p) = body["prev"].as_str() {
            prev = p.to_owned();
        }
    }
    // Filters apply across pages too.
    let (_, first) = server.get("/v1/live-events?limit=5&state=created").await;
    let next = first["next"].as_str().unwrap();
    let (_, second) = server
        .get(&format!(
            "/v1/live-events?limit=5&state=created&next={next}"
        ))
        .await;
    assert_eq!(
        second["live_events"][0]["live_event_id"],
        created[5].as_str()
    );
}
