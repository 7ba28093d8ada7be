//! Webhooks of a direct call through the durable outbox to a real receiver:
//! `direct_call:dial`, `:accept` and `:end` in order, with the spec sheet's fields and both
//! spellings of the time (`occurred_at` and `occured_at`).

use crate::calls_common::{TestUser, event};
use opencalls_client::DialOptions;
use opencalls_testkit::poll::SLOW;
use opencalls_testkit::receiver::{Hit, Receiver};
use opencalls_testkit::{TestServer, WebhookSettings};

#[tokio::test]
async fn dial_accept_and_end_arrive_in_order_with_the_calls_fields() {
    let receiver = Receiver::ok().await;
    let server = TestServer::start().await;
    let events = ["direct_call:dial", "direct_call:accept", "direct_call:end"];
    let settings = WebhookSettings::to(&receiver.url, &events);
    server.api.set_webhook(&settings).await.expect("subscribe");
    let alice = TestUser::create(&server, "alice").await;
    let bob = TestUser::create(&server, "bob").await;
    let caller = alice.device(&server, None).await;
    let mut phone = bob.device(&server, None).await;

    let video = DialOptions {
        is_video_call: true,
        ..DialOptions::default()
    };
    let id = caller.dial("bob", video).await.unwrap().call_id.to_string();
    event(&mut phone, "call.dialed").await;
    phone.accept(&id, None, None).await.unwrap();
    // Not subscribed: media changes stay out of the receiver's way.
    phone.call_set_media(&id, Some(false), None).await.unwrap();
    let ended = phone.end_call(&id).await.unwrap();

    let hits = receiver
        .wait_until(SLOW, |h| {
            h.iter().any(|h| h.category() == "direct_call:end")
        })
        .await;
    let categories: Vec<&str> = hits.iter().map(Hit::category).collect();
    assert_eq!(categories, events);
    for hit in &hits {
        let call = &hit.json["direct_call"];
        assert_eq!(call["call_id"], id.as_str());
        assert_eq!(call["caller_id"], "alice");
        assert_eq!(call["callee_id"], "bob");
        assert_eq!(call["is_video_call"], true);
        assert_eq!(call["created_at"], call["started_at"]);
        assert_eq!(
            hit.json["occurred_at"], hit.json["occured_at"],
            "{}",
            hit.json
        );
        assert_eq!(hit.json["application_id"], "opencalls");
    }
    assert_eq!(hits[0].json["direct_call"]["state"], "ringing");
    assert_eq!(hits[1].json["direct_call"]["state"], "accepted");
    let end = &hits[2].json["direct_call"];
    assert_eq!(end["end_result"], "completed");
    assert_eq!(end["ended_by"], "bob");
    assert_eq!(end["duration"], ended.duration);
    assert_eq!(end["ended_at"], hits[2].json["occurred_at"]);
}
