//! Direct calls: a change and its events commit together, refusals write nothing, listing
//! filters (user and role, end result, duration, time), open calls, push tokens.

use super::fixtures::{categories, items, subscribe_all, user};
use crate::{DirectCallQuery, PageRequest, PushTokenType, Store, StoreError};
use opencalls_domain::direct_call::{CallRecord, DialRequest};
use opencalls_domain::{
    ClientId, DeviceKey, DirectCallId, DirectCallRole, DomainError, EndResult, StreamKey, UserId,
};
use std::sync::Arc;

fn dial(caller: &str, callee: &str) -> DialRequest {
    DialRequest {
        call_id: DirectCallId::generate(),
        caller: user(caller),
        caller_device: ClientId::parse("dev").unwrap(),
        callee: user(callee),
        is_video_call: false,
        is_audio_on: true,
        is_video_on: false,
        custom_items: items(&[("k", "v")]),
    }
}

fn device(user_id: &str) -> DeviceKey {
    DeviceKey::new(
        UserId::parse(user_id).unwrap(),
        ClientId::parse("dev").unwrap(),
    )
}

/// Dials at `at`; the callee accepts at `at + 1` and the caller ends after `talk` ms, unless
/// `talk` is `None` (then the caller cancels).
async fn call(store: &dyn Store, caller: &str, callee: &str, at: i64, talk: Option<i64>) {
    let change = CallRecord::dial(dial(caller, callee), at).unwrap();
    let id = change.record.call.call_id.clone();
    store.insert_call(change).await.unwrap();
    let (caller, callee) = (device(caller), device(callee));
    let end: crate::CallTransition = match talk {
        Some(talk) => Box::new(move |r| {
            let accepted = r.accept(&callee, None, None, at + 1)?.record;
            accepted.end(&caller, at + 1 + talk)
        }),
        None => Box::new(move |r| r.cancel(&caller, at + 1)),
    };
    store.update_call(&id, end).await.unwrap();
}

pub async fn changes_and_their_events_commit_together_and_refusals_write_nothing(
    store: Arc<dyn Store>,
) {
    subscribe_all(&*store, 0).await;
    let change = CallRecord::dial(dial("alice", "bob"), 1_000).unwrap();
    let id = change.record.call.call_id.clone();
    store.insert_call(change.clone()).await.unwrap();
    assert_eq!(store.call(&id).await.unwrap(), Some(change.record.clone()));
    let again = store.insert_call(change).await;
    assert!(matches!(again, Err(StoreError::Conflict)), "{again:?}");

    let refused = store
        .update_call(&id, Box::new(|r| r.cancel(&device("bob"), 2_000)))
        .await;
    assert!(matches!(
        refused,
        Err(StoreError::Rejected(DomainError::NotCallParticipant(_)))
    ));
    let accepted = store
        .update_call(
            &id,
            Box::new(|r| r.accept(&device("bob"), None, None, 2_000)),
        )
        .await
        .unwrap();
    let stored = store.call(&id).await.unwrap().unwrap();
    assert_eq!(stored, accepted.record);
    assert_eq!(stored.callee_device, Some(ClientId::parse("dev").unwrap()));
    assert_eq!(
        categories(&*store).await,
        ["direct_call:dial", "direct_call:accept"]
    );
    let queued = super::fixtures::outbox(&*store).await;
    assert_eq!(queued[0].stream, StreamKey::DirectCall(id.clone()));
    let unknown = store
        .update_call(&DirectCallId::generate(), Box::new(|r| r.interrupt(1)))
        .await;
    assert!(matches!(unknown, Err(StoreError::NotFound)));
}

pub async fn listing_filters_return_exactly_the_matching_calls_newest_first(store: Arc<dyn Store>) {
    call(&*store, "alice", "bob", 1_000, Some(10_000)).await;
    call(&*store, "bob", "carol", 2_000, None).await;
    call(&*store, "carol", "alice", 3_000, Some(500)).await;
    let ids = |page: crate::Page<opencalls_domain::DirectCall>| {
        page.items
            .iter()
            .map(|c| (c.started_at, c.user_role))
            .collect::<Vec<_>>()
    };
    let all = store.list_calls(DirectCallQuery::default()).await.unwrap();
    assert_eq!(ids(all), [(3_000, None), (2_000, None), (1_000, None)]);
    let alice = UserId::parse("alice").unwrap();
    let of_alice = DirectCallQuery {
        user_id: Some(alice.clone()),
        ..Default::default()
    };
    let calls = store.list_calls(of_alice.clone()).await.unwrap();
    let (caller, callee) = (Some(DirectCallRole::Caller), Some(DirectCallRole::Callee));
    assert_eq!(ids(calls), [(3_000, callee), (1_000, caller)]);
    let as_callee = DirectCallQuery {
        role: callee,
        ..of_alice
    };
    assert_eq!(
        ids(store.list_calls(as_callee).await.unwrap()),
        [(3_000, callee)]
    );
    let canceled = DirectCallQuery {
        end_results: vec![EndResult::Canceled],
        ..Default::default()
    };
    assert_eq!(
        ids(store.list_calls(canceled).await.unwrap()),
        [(2_000, None)]
    );
    let long = DirectCallQuery {
        duration_gte: Some(1_000),
        ..Default::default()
    };
    assert_eq!(ids(store.list_calls(long).await.unwrap()), [(1_000, None)]);
    let window = DirectCallQuery {
        started_at_start: Some(2_000),
        started_at_end: Some(3_000),
        ..Default::default()
    };
    assert_eq!(
        ids(store.list_calls(window).await.unwrap()),
        [(2_000, None)]
    );
    let first = DirectCallQuery {
        page: PageRequest {
            limit: 2,
            cursor: None,
        },
        ..Default::default()
    };
    let page = store.list_calls(first).await.unwrap();
    let rest = DirectCallQuery {
        page: PageRequest {
            limit: 2,
            cursor: page.next,
        },
        ..Default::default()
    };
    let page = store.list_calls(rest).await.unwrap();
    assert_eq!(ids(page.clone()), [(1_000, None)]);
    assert!(page.next.is_none());
    let counts = store.call_counts(&alice).await.unwrap();
    assert_eq!((counts.as_caller, counts.as_callee), (1, 1));
}

pub async fn open_calls_are_those_not_ended(store: Arc<dyn Store>) {
    call(&*store, "alice", "bob", 1_000, Some(10)).await;
    let ringing = CallRecord::dial(dial("bob", "carol"), 2_000).unwrap();
    let id = ringing.record.call.call_id.clone();
    store.insert_call(ringing).await.unwrap();
    assert_eq!(store.open_calls().await.unwrap(), std::slice::from_ref(&id));
    let carol = UserId::parse("carol").unwrap();
    let open = store.open_calls_of(&carol, 10).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].call.call_id, id);
    let alice = UserId::parse("alice").unwrap();
    assert!(store.open_calls_of(&alice, 10).await.unwrap().is_empty());
}

pub async fn push_tokens_are_bounded_unique_on_request_and_removable(store: Arc<dyn Store>) {
    let bob = UserId::parse("bob").unwrap();
    let apns = PushTokenType::ApnsVoip;
    for i in 0..25 {
        let token = format!("t{i}");
        store
            .add_push_token(&bob, apns, &token, false, i)
            .await
            .unwrap();
    }
    let tokens = store.push_tokens(&bob, apns).await.unwrap();
    assert_eq!(tokens.len(), crate::direct_calls::MAX_PUSH_TOKENS_PER_TYPE);
    assert_eq!(tokens[0], "t24");
    let fcm = PushTokenType::FcmVoip;
    assert!(store.push_tokens(&bob, fcm).await.unwrap().is_empty());
    assert_eq!(
        store
            .remove_push_tokens(&bob, apns, Some("t24"))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .remove_push_tokens(&bob, apns, Some("t24"))
            .await
            .unwrap(),
        0
    );
    store
        .add_push_token(&bob, apns, "only", true, 100)
        .await
        .unwrap();
    assert_eq!(store.push_tokens(&bob, apns).await.unwrap(), ["only"]);
    assert_eq!(store.remove_push_tokens(&bob, apns, None).await.unwrap(), 1);
    assert!(store.push_tokens(&bob, apns).await.unwrap().is_empty());
}
