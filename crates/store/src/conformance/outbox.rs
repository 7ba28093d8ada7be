//! The outbox: every committed change appends the events it caused, in the same
//! transaction, in commit order, with their payload; refused changes append none. The
//! traits expose the outbox only through the webhook queue, so that is where it is read.

use super::fixtures::{categories, enter, new_room, outbox, subscribe_all};
use crate::Store;
use opencalls_domain::{Room, RoomId, RoomType, StreamKey};
use std::sync::Arc;

pub async fn events_committed_before_webhooks_were_configured_are_never_queued(
    store: Arc<dyn Store>,
) {
    new_room(&*store, 1).await;
    assert_eq!(store.enqueue_webhook_deliveries(100, 2).await.unwrap(), 1);
    subscribe_all(&*store, 3).await;
    let later = new_room(&*store, 4).await;
    let queued = outbox(&*store).await;
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].stream, StreamKey::Room(later));
}

pub async fn every_change_appends_its_events_in_commit_order_with_their_payload(
    store: Arc<dyn Store>,
) {
    subscribe_all(&*store, 0).await;
    let change = Room::create(
        RoomId::generate(),
        RoomType::SmallRoomForVideo,
        super::fixtures::items(&[("k", "v")]),
        String::new(),
        10,
    );
    let id = change.room.room_id.clone();
    let created = change.events.clone();
    store.insert_room(change).await.unwrap();
    let pid = enter(&*store, &id, "a", 20).await;
    let exited = store
        .update_room(&id, Box::new(move |room| room.participant_exited(&pid, 30)))
        .await
        .unwrap();
    store
        .update_room(&id, Box::new(|room| room.delete(String::new(), 40)))
        .await
        .unwrap();

    let queued = outbox(&*store).await;
    let seen: Vec<(&str, i64)> = queued
        .iter()
        .map(|d| (d.category.as_str(), d.occurred_at))
        .collect();
    assert_eq!(
        seen,
        [
            ("room:create", 10),
            ("room:participant_enter", 20),
            ("room:participant_exit", 30),
            ("room:delete", 40)
        ]
    );
    assert!(
        queued
            .iter()
            .all(|d| d.stream == StreamKey::Room(id.clone()))
    );
    assert!(
        queued.windows(2).all(|w| w[0].seq < w[1].seq),
        "seq follows commit order"
    );
    let payload = |raw: &str| serde_json_value(raw);
    assert_eq!(payload(&queued[0].payload), created[0].payload());
    assert_eq!(payload(&queued[2].payload), exited.events[0].payload());
}

/// Parses a stored payload; it must be a JSON object.
fn serde_json_value(raw: &str) -> serde_json::Value {
    let value: serde_json::Value = serde_json::from_str(raw).expect("the payload is JSON");
    assert!(value.is_object(), "the payload is an object: {raw}");
    value
}

pub async fn refused_changes_append_no_events(store: Arc<dyn Store>) {
    subscribe_all(&*store, 0).await;
    let id = new_room(&*store, 1).await;
    store
        .update_room(&id, Box::new(|room| room.delete(String::new(), 2)))
        .await
        .unwrap();
    let refused = store
        .update_room(&id, Box::new(|room| room.delete(String::new(), 3)))
        .await;
    assert!(refused.is_err());
    let request = super::fixtures::enter_request("a");
    let refused = store
        .update_room(&id, Box::new(move |room| room.enter(request, 4)))
        .await;
    assert!(refused.is_err());
    assert_eq!(categories(&*store).await, ["room:create", "room:delete"]);
}
