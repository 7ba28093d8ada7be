//! The SQLite webhook queue: events judged against the settings in force at commit, only
//! stream heads due, retries holding their stream, the log's status filter.

use opencalls_domain::{CustomItems, Room, RoomId, RoomType};
use opencalls_store::sqlite::SqliteStore;
use opencalls_store::webhooks::{AttemptOutcome, DeliveryStatus, NextStep, WebhookSettingsUpdate};
use opencalls_store::{PageRequest, RoomStore, WebhookStore};

fn update(enabled: bool, events: &[&str]) -> WebhookSettingsUpdate {
    WebhookSettingsUpdate {
        enabled: Some(enabled),
        url: Some("http://127.0.0.1:9/hook".into()),
        enabled_events: Some(events.iter().map(|e| (*e).to_owned()).collect()),
    }
}

async fn new_room(store: &SqliteStore, now: i64) -> RoomId {
    let change = Room::create(
        RoomId::generate(),
        RoomType::SmallRoomForVideo,
        CustomItems::default(),
        String::new(),
        now,
    );
    let id = change.room.room_id.clone();
    store.insert_room(change).await.unwrap();
    id
}

fn outcome(seq: i64, next: NextStep) -> AttemptOutcome {
    AttemptOutcome {
        delivery_seq: seq,
        attempted_at: 50,
        status_code: Some(500),
        error: Some("boom".into()),
        next,
    }
}

#[tokio::test]
async fn events_are_judged_by_the_settings_at_commit_and_streams_stay_ordered() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("db")).unwrap();

    new_room(&store, 1).await; // webhooks never configured: never queued
    store
        .update_webhook_settings(update(true, &["*"]), 2)
        .await
        .unwrap();
    let a = new_room(&store, 3).await;
    // Not yet queued by the worker when the subscription narrows: judged by the old one.
    store
        .update_webhook_settings(update(true, &["room:delete"]), 4)
        .await
        .unwrap();
    new_room(&store, 5).await; // room:create no longer subscribed
    store
        .update_room(&a, Box::new(|room| room.delete(String::new(), 6)))
        .await
        .unwrap();
    assert_eq!(store.enqueue_webhook_deliveries(100, 7).await.unwrap(), 2);

    // Only the head of room a's stream is due.
    let due = store.due_webhook_deliveries(10, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].category, "room:create");
    assert_eq!(due[0].stream, format!("room:{a}"));

    // A retry holds the stream until it falls due.
    store
        .record_webhook_attempts(vec![outcome(due[0].seq, NextStep::RetryAt(100))])
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

    // Given up: the stream moves on to the delete.
    store
        .record_webhook_attempts(vec![outcome(due[0].seq, NextStep::Failed)])
        .await
        .unwrap();
    let next = store.due_webhook_deliveries(100, 10).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].category, "room:delete");

    let failed = store
        .list_webhook_deliveries(Some(DeliveryStatus::Failed), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(failed.items.len(), 1);
    assert_eq!(failed.items[0].attempts, 2);
    assert_eq!(failed.items[0].last_error.as_deref(), Some("boom"));
    let all = store
        .list_webhook_deliveries(None, PageRequest::default())
        .await
        .unwrap();
    assert_eq!(all.items.len(), 2);
}
