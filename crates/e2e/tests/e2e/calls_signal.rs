//! Direct calls through the client protocol on a real server: multi-device ringing with the
//! first accept winning, every end result with its `ended_by` and `duration`, the server's
//! timers, refusals with their codes, media toggles, and the reconnect grace.

use crate::calls_common::{TestUser, dial_accepted, event, no_call_event};
use opencalls_client::DialOptions;
use opencalls_testkit::TestServer;
use opencalls_testkit::poll::{WAIT, until};
use serde_json::json;

fn video() -> DialOptions {
    DialOptions {
        is_video_call: true,
        ..DialOptions::default()
    }
}

#[tokio::test]
async fn every_callee_device_rings_and_the_first_accept_wins() {
    let server = TestServer::start().await;
    let alice = TestUser::create(&server, "alice").await;
    let bob = TestUser::create(&server, "bob").await;
    let mut caller = alice.device(&server, None).await;
    let mut phones = Vec::new();
    for _ in 0..3 {
        phones.push(bob.device(&server, None).await);
    }

    let call = caller.dial("bob", video()).await.unwrap();
    assert_eq!(call.state.as_str(), "ringing");
    let id = call.call_id.to_string();
    for phone in &mut phones {
        let rang = event(phone, "call.dialed").await;
        assert_eq!(rang["call"]["call_id"], id.as_str());
        assert_eq!(rang["call"]["participants"][0]["user_id"], "alice");
        assert_eq!(rang["call"]["is_video_call"], true);
    }

    let accepted = phones[1]
        .accept(&id, Some(true), Some(false))
        .await
        .unwrap();
    assert_eq!(accepted.state.as_str(), "accepted");
    let late = phones[2].accept(&id, None, None).await.unwrap_err();
    assert_eq!(late.code(), Some(1400101), "{late:?}");
    let heard = event(&mut caller, "call.accepted").await;
    assert_eq!(heard["call"]["participants"][1]["is_video_on"], false);
    for i in [0, 2] {
        let other = event(&mut phones[i], "call.other_device_accepted").await;
        assert_eq!(other["call"]["state"], "accepted");
    }
    // A device that did not accept has no say in the call any more.
    let err = phones[0].end_call(&id).await.unwrap_err();
    assert_eq!(err.code(), Some(1400105), "{err:?}");

    let ended = caller.end_call(&id).await.unwrap();
    assert_eq!(ended.end_result.map(|r| r.as_str()), Some("completed"));
    assert_eq!(ended.ended_by.as_ref().map(|u| u.as_str()), Some("alice"));
    let accepted_at = ended.accepted_at.unwrap();
    assert_eq!(ended.duration, ended.ended_at.unwrap() - accepted_at);
    let told = event(&mut phones[1], "call.ended").await;
    assert_eq!(told["end_result"], "completed");
    assert_eq!(told["ended_by"], "alice");
    assert_eq!(told["duration"], ended.duration);
    for i in [0, 2] {
        no_call_event(&mut phones[i]).await;
    }
    // The Platform API shows the same call.
    let (status, body) = server.get(&format!("/v1/direct_calls/{id}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["end_result"], "completed");
    assert_eq!(body["duration"], ended.duration);
}

#[tokio::test]
async fn cancel_and_decline_end_the_call_before_an_answer() {
    let server = TestServer::start().await;
    let alice = TestUser::create(&server, "alice").await;
    let bob = TestUser::create(&server, "bob").await;
    let mut caller = alice.device(&server, None).await;
    let (mut phone, mut laptop) = (
        bob.device(&server, None).await,
        bob.device(&server, None).await,
    );

    let id = caller
        .dial("bob", DialOptions::default())
        .await
        .unwrap()
        .call_id
        .to_string();
    event(&mut phone, "call.dialed").await;
    event(&mut laptop, "call.dialed").await;
    let wrong = phone.cancel(&id).await.unwrap_err();
    assert_eq!(
        wrong.code(),
        Some(1400105),
        "the callee cannot cancel: {wrong:?}"
    );
    let canceled = caller.cancel(&id).await.unwrap();
    assert_eq!(canceled.end_result.map(|r| r.as_str()), Some("canceled"));
    for device in [&mut phone, &mut laptop] {
        let told = event(device, "call.ended").await;
        assert_eq!(
            (
                told["end_result"].clone(),
                told["ended_by"].clone(),
                told["duration"].clone()
            ),
            (json!("canceled"), json!("alice"), json!(0))
        );
    }
    no_call_event(&mut caller).await;

    let id = caller
        .dial("bob", DialOptions::default())
        .await
        .unwrap()
        .call_id
        .to_string();
    event(&mut phone, "call.dialed").await;
    event(&mut laptop, "call.dialed").await;
    let declined = laptop.decline(&id).await.unwrap();
    assert_eq!(declined.end_result.map(|r| r.as_str()), Some("declined"));
    for device in [&mut caller, &mut phone] {
        let told = event(device, "call.ended").await;
        assert_eq!(told["end_result"], "declined");
        assert_eq!(told["ended_by"], "bob");
        assert_eq!(told["duration"], 0);
    }
    let again = caller.end_call(&id).await.unwrap_err();
    assert_eq!(again.code(), Some(1400101), "{again:?}");
}

#[tokio::test]
async fn the_server_ends_unanswered_and_unconnected_calls() {
    let server = TestServer::start_with(|c| {
        c.call_ring_timeout_ms = 300;
        c.call_connect_timeout_ms = 300;
    })
    .await;
    let alice = TestUser::create(&server, "alice").await;
    let bob = TestUser::create(&server, "bob").await;
    let mut caller = alice.device(&server, None).await;
    let mut phone = bob.device(&server, None).await;

    let call = caller.dial("bob", DialOptions::default()).await.unwrap();
    event(&mut phone, "call.dialed").await;
    for device in [&mut caller, &mut phone] {
        let told = event(device, "call.ended").await;
        assert_eq!(told["end_result"], "no_answer");
        assert_eq!(told["ended_by"], "bob");
        let waited = told["call"]["ended_at"].as_i64().unwrap() - call.started_at;
        assert!(waited >= 300, "ended after {waited} ms");
    }

    // Accepted, but nobody offers media: the connect timeout ends it `timed_out`.
    let id = caller
        .dial("bob", DialOptions::default())
        .await
        .unwrap()
        .call_id
        .to_string();
    event(&mut phone, "call.dialed").await;
    let accepted = phone.accept(&id, None, None).await.unwrap();
    for device in [&mut caller, &mut phone] {
        let told = event(device, "call.ended").await;
        assert_eq!(told["end_result"], "timed_out");
        assert_eq!(
            told["ended_by"], "bob",
            "the callee when neither side connected"
        );
        let duration = told["duration"].as_i64().unwrap();
        let ended_at = told["call"]["ended_at"].as_i64().unwrap();
        assert_eq!(duration, ended_at - accepted.accepted_at.unwrap());
        assert!(duration >= 300);
    }
}

#[tokio::test]
async fn refusals_carry_their_documented_codes() {
    let server = TestServer::start().await;
    let alice = TestUser::create(&server, "alice").await;
    let bob = TestUser::create(&server, "bob").await;
    TestUser::create(&server, "carol").await;
    let dave = TestUser::create(&server, "dave").await;
    let caller = alice.device(&server, None).await;
    let phone = bob.device(&server, None).await;
    let stranger = dave.device(&server, None).await;

    let code = |r: Result<_, opencalls_client::ClientError>| r.unwrap_err().code();
    assert_eq!(
        code(caller.dial("alice", DialOptions::default()).await),
        Some(1400104)
    );
    assert_eq!(
        code(caller.dial("nobody", DialOptions::default()).await),
        Some(1400103)
    );
    let missing = caller.request("call.dial", json!({})).await;
    assert_eq!(missing.unwrap_err().code(), Some(400111));
    let items = DialOptions {
        custom_items: Some([("a,b".to_owned(), "v".to_owned())].into()),
        ..DialOptions::default()
    };
    assert_eq!(code(caller.dial("bob", items).await), Some(400100));
    let (status, _) = server.delete("/v1/users/carol", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        code(caller.dial("carol", DialOptions::default()).await),
        Some(1400103)
    );

    let id = caller
        .dial("bob", DialOptions::default())
        .await
        .unwrap()
        .call_id
        .to_string();
    assert_eq!(
        code(caller.dial("bob", DialOptions::default()).await),
        Some(1400101)
    );
    assert_eq!(code(stranger.accept(&id, None, None).await), Some(1400105));
    assert_eq!(code(stranger.end_call(&id).await), Some(1400105));
    assert_eq!(code(caller.accept(&id, None, None).await), Some(1400105));
    assert_eq!(
        code(phone.accept("no-such-call", None, None).await),
        Some(1400102)
    );
    let offer = caller
        .request("media.offer", json!({"call_id": id, "sdp": "v=0"}))
        .await;
    let code_of = |r: Result<_, opencalls_client::ClientError>| r.unwrap_err().code();
    assert_eq!(code_of(offer), Some(1400101), "no media before the accept");
    let offer = phone
        .request("media.offer", json!({"call_id": id, "sdp": "v=0"}))
        .await;
    assert_eq!(
        code_of(offer),
        Some(1400105),
        "a ringing device holds no side"
    );
    // Nothing changed: the call still rings.
    let (_, body) = server.get(&format!("/v1/direct_calls/{id}")).await;
    assert_eq!(body["state"], "ringing");
}

#[tokio::test]
async fn media_toggles_reach_the_other_side() {
    let server = TestServer::start().await;
    let alice = TestUser::create(&server, "alice").await;
    let bob = TestUser::create(&server, "bob").await;
    let mut caller = alice.device(&server, None).await;
    let mut phone = bob.device(&server, None).await;
    let id = caller
        .dial("bob", video())
        .await
        .unwrap()
        .call_id
        .to_string();
    event(&mut phone, "call.dialed").await;
    phone.accept(&id, None, None).await.unwrap();
    event(&mut caller, "call.accepted").await;

    let muted = phone.call_set_media(&id, Some(false), None).await.unwrap();
    assert!(!muted.participants[1].is_audio_on && muted.participants[1].is_video_on);
    let told = event(&mut caller, "call.media_changed").await;
    assert_eq!(
        (
            told["user_id"].clone(),
            told["is_audio_on"].clone(),
            told["is_video_on"].clone()
        ),
        (json!("bob"), json!(false), json!(true))
    );
    caller.call_set_media(&id, None, Some(false)).await.unwrap();
    let told = event(&mut phone, "call.media_changed").await;
    assert_eq!(told["user_id"], "alice");
    assert_eq!(told["is_video_on"], false);
    let none = phone
        .request("call.set_media", json!({"call_id": id}))
        .await;
    assert_eq!(none.unwrap_err().code(), Some(400111));
}

#[tokio::test]
async fn a_dropped_socket_keeps_the_call_through_the_grace_period() {
    let server = TestServer::start_with(|c| c.reconnect_grace_ms = 1_000).await;
    let alice = TestUser::create(&server, "alice").await;
    let bob = TestUser::create(&server, "bob").await;
    let caller = alice.device(&server, None).await;
    let mut phone = bob.device(&server, None).await;
    let id = dial_accepted(&caller, &mut phone, "bob", DialOptions::default()).await;

    let client_id = caller.client_id();
    caller.kill();
    let mut caller = alice.device(&server, Some(&client_id)).await;
    let resumed = &caller.hello["resumed_calls"];
    assert_eq!(resumed[0]["call_id"], id.as_str(), "{resumed}");
    assert_eq!(resumed[0]["user_role"], "dc_caller");
    let ended = phone.end_call(&id).await.unwrap();
    assert_eq!(ended.end_result.map(|r| r.as_str()), Some("completed"));
    let told = event(&mut caller, "call.ended").await;
    assert_eq!(told["ended_by"], "bob");

    // Past the grace, the call ends `connection_lost`, named after the lost side.
    let id = caller
        .dial("bob", DialOptions::default())
        .await
        .unwrap()
        .call_id
        .to_string();
    event(&mut phone, "call.dialed").await;
    phone.accept(&id, None, None).await.unwrap();
    caller.kill();
    let told = event(&mut phone, "call.ended").await;
    assert_eq!(told["end_result"], "connection_lost");
    assert_eq!(told["ended_by"], "alice");
    until("the call is stored as lost", WAIT, async || {
        let (_, body) = server.get(&format!("/v1/direct_calls/{id}")).await;
        body["end_result"] == "connection_lost"
    })
    .await;
}

#[tokio::test]
async fn calls_left_open_by_a_stopped_server_end_unknown_at_the_next_start() {
    let server = TestServer::start().await;
    let alice = TestUser::create(&server, "alice").await;
    let bob = TestUser::create(&server, "bob").await;
    let caller = alice.device(&server, None).await;
    let mut phone = bob.device(&server, None).await;
    let id = caller
        .dial("bob", DialOptions::default())
        .await
        .unwrap()
        .call_id
        .to_string();
    event(&mut phone, "call.dialed").await;
    let accepted = phone.accept(&id, None, None).await.unwrap();
    let dir = server.stop().await;

    let server = TestServer::start_in(dir).await;
    let (status, call) = server.get(&format!("/v1/direct_calls/{id}")).await;
    assert_eq!(status, 200, "{call}");
    assert_eq!(call["state"], "ended");
    assert_eq!(call["end_result"], "unknown");
    assert_eq!(call["ended_by"], serde_json::Value::Null);
    let duration = call["ended_at"].as_i64().unwrap() - accepted.accepted_at.unwrap();
    assert_eq!(call["duration"], duration);
}
