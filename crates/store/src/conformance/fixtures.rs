//! Builders shared by the conformance cases: rooms, participants, live events, and a view
//! of the outbox through the webhook queue (the only way the traits expose it).

use crate::webhooks::{Delivery, WebhookSettingsUpdate};
use crate::{PageRequest, Store};
use opencalls_domain::custom_items::KeyRule;
use opencalls_domain::live_event::{HostEnterRequest, LiveParticipantEnterRequest};
use opencalls_domain::participant::EnterRequest;
use opencalls_domain::{
    ClientId, CustomItems, HostId, HostType, LiveEvent, LiveEventId, Millis, ParticipantId, Room,
    RoomId, RoomType, User, UserId,
};
use std::collections::BTreeMap;

pub(crate) fn user(id: &str) -> User {
    User {
        nickname: format!("nick {id}"),
        ..User::bare(UserId::parse(id).unwrap())
    }
}

pub(crate) fn items(pairs: &[(&str, &str)]) -> CustomItems {
    let map: BTreeMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    CustomItems::new(map, KeyRule::Plain).unwrap()
}

/// Stores a new open room created at `now`.
pub(crate) async fn new_room(store: &dyn Store, now: Millis) -> RoomId {
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

pub(crate) fn enter_request(user_id: &str) -> EnterRequest {
    EnterRequest {
        participant_id: ParticipantId::generate(),
        user: user(user_id),
        client_id: ClientId::generate(),
        is_audio_on: true,
        is_video_on: false,
    }
}

/// `user_id` enters the room at `now`; returns the participant id.
pub(crate) async fn enter(
    store: &dyn Store,
    room: &RoomId,
    user_id: &str,
    now: Millis,
) -> ParticipantId {
    let request = enter_request(user_id);
    let id = request.participant_id.clone();
    store
        .update_room(room, Box::new(move |r| r.enter(request, now)))
        .await
        .unwrap();
    id
}

/// A live event hosted by `h`, created at `now`, not stored.
pub(crate) fn live_event(
    host_type: HostType,
    now: Millis,
) -> opencalls_domain::live_event::LiveEventChange {
    LiveEvent::create(
        LiveEventId::generate(),
        host_type,
        vec![UserId::parse("h").unwrap()],
        CustomItems::default(),
        String::new(),
        now,
    )
    .unwrap()
}

/// Stores a new live event and makes it `ready` (so participants may enter).
pub(crate) async fn ready_live_event(store: &dyn Store, now: Millis) -> LiveEventId {
    let change = live_event(HostType::SingleHost, now);
    let id = change.live_event.live_event_id.clone();
    store.insert_live_event(change).await.unwrap();
    store
        .update_live_event(
            &id,
            crate::ParticipantScope::Nobody,
            Box::new(move |e, _| e.set_ready(String::new(), now)),
        )
        .await
        .unwrap();
    id
}

pub(crate) fn live_participant(user_id: &str) -> LiveParticipantEnterRequest {
    LiveParticipantEnterRequest {
        participant_id: ParticipantId::generate(),
        user: user(user_id),
        client_id: ClientId::generate(),
    }
}

pub(crate) fn host(user_id: &str) -> HostEnterRequest {
    HostEnterRequest {
        host_id: HostId::generate(),
        user: user(user_id),
        client_id: ClientId::generate(),
        is_audio_on: true,
        is_video_on: true,
    }
}

/// Subscribes a webhook URL to every category, so every event committed from now on is
/// queued (and so visible through [`outbox`]).
pub(crate) async fn subscribe_all(store: &dyn Store, now: Millis) {
    store
        .update_webhook_settings(subscription(true, &["*"]), now)
        .await
        .unwrap();
}

pub(crate) fn subscription(enabled: bool, events: &[&str]) -> WebhookSettingsUpdate {
    WebhookSettingsUpdate {
        enabled: Some(enabled),
        url: Some("http://127.0.0.1:9/hook".into()),
        enabled_events: Some(events.iter().map(|e| (*e).to_owned()).collect()),
    }
}

/// Every event queued so far, oldest first (queues what the outbox holds first).
pub(crate) async fn outbox(store: &dyn Store) -> Vec<Delivery> {
    while store.enqueue_webhook_deliveries(1000, 0).await.unwrap() == 1000 {}
    let mut page = PageRequest {
        limit: 100,
        cursor: None,
    };
    let mut all = Vec::new();
    loop {
        let found = store.list_webhook_deliveries(None, page).await.unwrap();
        all.extend(found.items);
        match found.next {
            Some(next) => page.cursor = Some(next),
            None => break,
        }
    }
    all.reverse();
    all
}

/// The categories of [`outbox`].
pub(crate) async fn categories(store: &dyn Store) -> Vec<String> {
    outbox(store)
        .await
        .into_iter()
        .map(|d| d.category)
        .collect()
}
