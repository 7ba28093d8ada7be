//! Webhook settings and the delivery queue: settings judged at commit, only stream heads
//! due, retries holding their stream, streams independent, stable delivery ids, the log.

use super::fixtures::{new_room, outbox, subscribe_all, subscription};
use crate::webhooks::{
    AttemptOutcome, DeliveryStatus, NextStep, WebhookSettings, WebhookSettingsUpdate,
};
use crate::{PageRequest, Store};
use opencalls_domain::StreamKey;
use std::sync::Arc;

fn outcome(seq: i64, attempted_at: i64, next: NextStep) -> AttemptOutcome {
    AttemptOutcome {
        delivery_seq: seq,
        attempted_at,
        status_code: Some(500),
        error: Some("boom".into()),
        next,
    }
}

pub async fn settings_start_disabled_and_update_partially(store: Arc<dyn Store>) {
    assert_eq!(
        store.webhook_settings().await.unwrap(),
        WebhookSettings::default()
    );
    let all = store
        .update_webhook_settings(subscription(true, &["room:create", "room:delete"]), 1)
        .await
        .unwrap();
    assert_eq!(store.webhook_settings().await.unwrap(), all);
    let partial = WebhookSettingsUpdate {
        enabled: Some(false),
        ..WebhookSettingsUpdate::default()
    };
    let disabled = store.update_webhook_settings(partial, 2).await.unwrap();
    assert_eq!(
        disabled,
        WebhookSettings {
            enabled: false,
            ..all
        }
    );
    assert_eq!(store.webhook_settings().await.unwrap(), disabled);
}

pub async fn events_are_judged_by_the_settings_at_commit_and_streams_stay_ordered(
    store: Arc<dyn Store>,
) {
    new_room(&*store, 1).await; // webhooks never configured: never queued
    subscribe_all(&*store, 2).await;
    let a = new_room(&*store, 3).await;
    // Not yet queued by the worker when the subscription narrows: judged by the old one.
    store
        .update_webhook_settings(subscription(true, &["room:delete"]), 4)
        .await
        .unwrap();
    new_room(&*store, 5).await; // room:create no longer subscribed
    store
        .update_room(&a, Box::new(|room| room.delete(String::new(), 6)))
        .await
        .unwrap();
    assert_eq!(store.enqueue_webhook_deliveries(100, 7).await.unwrap(), 2);

    // Only the head of room a's stream is due.
    let due = store.due_webhook_deliveries(10, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].category, "room:create");
    assert_eq!(due[0].stream, StreamKey::Room(a.clone()));
    assert_eq!(due[0].status, DeliveryStatus::Pending);
    // Queued by the settings change at 4, due at once.
    assert_eq!((due[0].created_at, due[0].next_attempt_at), (4, Some(4)));

    // A retry holds the stream until it falls due.
    store
        .record_webhook_attempts(vec![outcome(due[0].seq, 50, NextStep::RetryAt(100))])
        .await
        .unwrap();
    assert!(
        store
            .due_webhook_deliveries(60, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.next_webhook_due(60).await.unwrap(), Some(100));
    let again = store.due_webhook_deliveries(100, 10).await.unwrap();
    assert_eq!(again[0].seq, due[0].seq);
    assert_eq!(again[0].attempts, 1);
    assert_eq!(again[0].last_attempt_at, Some(50));
    assert_eq!(again[0].last_status_code, Some(500));

    // Given up: the stream moves on to the delete.
    store
        .record_webhook_attempts(vec![outcome(due[0].seq, 100, NextStep::Failed)])
        .await
        .unwrap();
    let next = store.due_webhook_deliveries(100, 10).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].category, "room:delete");
    assert_eq!(store.next_webhook_due(100).await.unwrap(), None);

    let failed = store
        .list_webhook_deliveries(Some(DeliveryStatus::Failed), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(failed.items.len(), 1);
    assert_eq!(failed.items[0].attempts, 2);
    assert_eq!(failed.items[0].last_error.as_deref(), Some("boom"));
    assert_eq!(failed.items[0].finished_at, Some(100));
    assert_eq!(failed.items[0].next_attempt_at, None);
    let all = store
        .list_webhook_deliveries(None, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(all.items.len(), 2);
}

pub async fn streams_are_delivered_independently(store: Arc<dyn Store>) {
    subscribe_all(&*store, 0).await;
    let a = new_room(&*store, 1).await;
    let b = new_room(&*store, 2).await;
    for id in [&a, &b] {
        store
            .update_room(id, Box::new(|room| room.delete(String::new(), 3)))
            .await
            .unwrap();
    }
    store.enqueue_webhook_deliveries(100, 4).await.unwrap();
    let due = store.due_webhook_deliveries(4, 10).await.unwrap();
    let heads: Vec<(&StreamKey, &str)> = due
        .iter()
        .map(|d| (&d.stream, d.category.as_str()))
        .collect();
    let (a, b) = (StreamKey::Room(a), StreamKey::Room(b));
    assert_eq!(heads, [(&a, "room:create"), (&b, "room:create")]);

    // a's head is retried later; b moves on regardless.
    store
        .record_webhook_attempts(vec![
            outcome(due[0].seq, 5, NextStep::RetryAt(1_000)),
            AttemptOutcome {
                status_code: Some(200),
                error: None,
                ..outcome(due[1].seq, 5, NextStep::Delivered)
            },
        ])
        .await
        .unwrap();
    let due = store.due_webhook_deliveries(6, 10).await.unwrap();
    let heads: Vec<(&StreamKey, &str)> = due
        .iter()
        .map(|d| (&d.stream, d.category.as_str()))
        .collect();
    assert_eq!(heads, [(&b, "room:delete")]);
}

pub async fn delivery_ids_are_unique_and_stable_across_retries(store: Arc<dyn Store>) {
    subscribe_all(&*store, 0).await;
    for n in 0..3 {
        new_room(&*store, n).await;
    }
    let queued = outbox(&*store).await;
    let mut ids: Vec<String> = queued.iter().map(|d| d.delivery_id.to_string()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    let first = &queued[0];
    store
        .record_webhook_attempts(vec![outcome(first.seq, 10, NextStep::RetryAt(20))])
        .await
        .unwrap();
    let retried = store.due_webhook_deliveries(20, 10).await.unwrap();
    let again = retried.iter().find(|d| d.seq == first.seq).unwrap();
    assert_eq!(again.delivery_id, first.delivery_id);
}

pub async fn deliveries_are_listed_newest_first_with_cursors_and_by_status(store: Arc<dyn Store>) {
    subscribe_all(&*store, 0).await;
    for n in 0..5 {
        new_room(&*store, n).await;
    }
    let queued = outbox(&*store).await; // oldest first
    let delivered: Vec<_> = queued.iter().step_by(2).collect();
    let outcomes = delivered
        .iter()
        .map(|d| AttemptOutcome {
            status_code: Some(200),
            error: None,
            ..outcome(d.seq, 10, NextStep::Delivered)
        })
        .collect();
    store.record_webhook_attempts(outcomes).await.unwrap();

    let page = |cursor| PageRequest { limit: 2, cursor };
    let seqs =
        |items: &[crate::webhooks::Delivery]| items.iter().map(|d| d.seq).collect::<Vec<_>>();
    let newest: Vec<i64> = queued.iter().rev().map(|d| d.seq).collect();
    let first = store
        .list_webhook_deliveries(None, page(None))
        .await
        .unwrap();
    assert_eq!(seqs(&first.items), newest[..2]);
    assert!(first.prev.is_none());
    let second = store
        .list_webhook_deliveries(None, page(first.next))
        .await
        .unwrap();
    assert_eq!(seqs(&second.items), newest[2..4]);
    let back = store
        .list_webhook_deliveries(None, page(second.prev))
        .await
        .unwrap();
    assert_eq!(seqs(&back.items), newest[..2]);

    let by_status = |status| {
        let store = store.clone();
        async move {
            let listed = store
                .list_webhook_deliveries(Some(status), PageRequest::default())
                .await
                .unwrap();
            assert!(listed.items.iter().all(|d| d.status == status));
            seqs(&listed.items)
        }
    };
    let expected: Vec<i64> = delivered.iter().rev().map(|d| d.seq).collect();
    assert_eq!(by_status(DeliveryStatus::Delivered).await, expected);
    assert_eq!(by_status(DeliveryStatus::Pending).await.len(), 2);
    assert!(by_status(DeliveryStatus::Failed).await.is_empty());
    let done = store
        .list_webhook_deliveries(Some(DeliveryStatus::Delivered), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(done.items[0].finished_at, Some(10));
    assert_eq!(done.items[0].last_status_code, Some(200));
}
