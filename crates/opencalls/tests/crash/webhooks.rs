//! Crash safety of webhooks with the real binary: 1,000 events happen while the receiver is
//! down, the server is SIGKILLed, restarted on the same data, the receiver comes up, and
//! every event arrives, in order per room; a repeat is only ever the same delivery (same
//! `x-opencalls-delivery-id`, same body) again.

use crate::serve;
use opencalls_domain::{RoomId, RoomType};
use opencalls_testkit::platform::{NewRoom, PlatformApi, WebhookSettings};
use opencalls_testkit::poll;
use opencalls_testkit::receiver::{Hit, Receiver, distinct};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

const ROOMS: usize = 200;
const ITEM_UPDATES: usize = 3;
/// Fast retries, so deliveries to a receiver that comes up late start soon.
const FAST_RETRIES: [(&str, &str); 2] = [
    ("OPENCALLS_WEBHOOK_BACKOFF_BASE_MS", "50"),
    ("OPENCALLS_WEBHOOK_BACKOFF_MAX_MS", "300"),
];
const EIGHT_SLOTS: [(&str, &str); 3] = [
    FAST_RETRIES[0],
    FAST_RETRIES[1],
    ("OPENCALLS_WEBHOOK_CONCURRENCY", "8"),
];

/// One room's full life: create, custom item updates, delete. Returns the room id.
async fn room_life(api: PlatformApi) -> RoomId {
    let room = api
        .create_room(&NewRoom::of(RoomType::SmallRoomForVideo))
        .await
        .expect("create");
    for i in 0..ITEM_UPDATES {
        let items = BTreeMap::from([("step".to_owned(), i.to_string())]);
        api.update_custom_items(&room.room_id, &items)
            .await
            .expect("custom items");
    }
    api.delete_room(&room.room_id).await.expect("delete");
    room.room_id
}

/// Runs `rooms` room lives concurrently; returns their ids.
async fn room_lives(api: &PlatformApi, rooms: usize) -> Vec<RoomId> {
    let tasks: Vec<_> = (0..rooms)
        .map(|_| tokio::spawn(room_life(api.clone())))
        .collect();
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    ids
}

/// What arrived, first deliveries only, per room; asserts that every repeat is the same
/// delivery again. Returns the categories per room and the number of repeats.
fn per_room(hits: &[Hit]) -> (BTreeMap<String, Vec<String>>, usize) {
    let mut first: HashMap<String, Vec<u8>> = HashMap::new();
    let mut rooms: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut repeats = 0;
    for hit in hits {
        if let Some(body) = first.get(hit.delivery_id()) {
            assert_eq!(body, &hit.body, "a repeat differs from the first delivery");
            repeats += 1;
            continue;
        }
        first.insert(hit.delivery_id().to_owned(), hit.body.clone());
        let room_id = hit.json["room"]["room_id"]
            .as_str()
            .or_else(|| hit.json["room_id"].as_str())
            .unwrap()
            .to_owned();
        rooms
            .entry(room_id)
            .or_default()
            .push(hit.category().to_owned());
    }
    (rooms, repeats)
}

/// The categories of one room's life, in order.
fn expected_life() -> Vec<String> {
    let mut expected = vec!["room:create".to_owned()];
    expected.extend(std::iter::repeat_n(
        "room:custom_items_update".to_owned(),
        ITEM_UPDATES,
    ));
    expected.push("room:delete".to_owned());
    expected
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_event_survives_a_kill_and_arrives_in_order() {
    let dir = tempfile::tempdir().unwrap();
    // A port nobody listens on yet: the receiver is down while events happen.
    let receiver_addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://{receiver_addr}/hook");

    let server = serve(dir.path(), &FAST_RETRIES).await;
    server
        .api
        .set_webhook(&WebhookSettings::to(&url, &["*"]))
        .await
        .unwrap();
    let rooms = room_lives(&server.api, ROOMS).await;
    let total = ROOMS * (ITEM_UPDATES + 2);
    assert_eq!(total, 1000);

    server.kill().await;
    let server = serve(dir.path(), &FAST_RETRIES).await;
    let listener = tokio::net::TcpListener::bind(receiver_addr).await.unwrap();
    let receiver = Receiver::start_on(listener, |_| (200, Duration::ZERO));

    let hits = receiver
        .wait_until(Duration::from_secs(120), |hits| distinct(hits) >= total)
        .await;
    let (per_room, repeats) = per_room(&hits);
    assert_eq!(hits.len() - repeats, total, "lost or extra events");
    assert_eq!(per_room.len(), ROOMS);
    for id in &rooms {
        assert_eq!(
            per_room.get(id.as_str()),
            Some(&expected_life()),
            "room {id}"
        );
    }
    eprintln!("{} deliveries, {repeats} repeats", hits.len());

    // The log agrees: nothing pending or failed.
    poll::eventually(
        "no pending deliveries",
        Duration::from_secs(10),
        async || {
            let pending = server.api.webhook_deliveries("pending").await.unwrap();
            if pending.is_empty() {
                Ok(())
            } else {
                Err(format!("{pending:?}"))
            }
        },
    )
    .await;
    let failed = server.api.webhook_deliveries("failed").await.unwrap();
    assert_eq!(failed, Vec::<serde_json::Value>::new());
    server.kill().await;
}

/// Killed while attempts are in flight to a slow receiver: after restart the unrecorded
/// attempts are repeated (same id, same body), at most one per delivery slot, and nothing
/// is lost or reordered.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_kill_mid_attempt_repeats_only_unrecorded_attempts() {
    const SLOTS: usize = 8;
    const SLOW_ROOMS: usize = 40;
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::start(|_| (200, Duration::from_millis(100))).await;
    let server = serve(dir.path(), &EIGHT_SLOTS).await;
    server
        .api
        .set_webhook(&WebhookSettings::to(&receiver.url, &["*"]))
        .await
        .unwrap();
    room_lives(&server.api, SLOW_ROOMS).await;
    let total = SLOW_ROOMS * (ITEM_UPDATES + 2);
    // Kill once deliveries are well under way (attempts take 100 ms, so some are in flight).
    receiver
        .wait_until(Duration::from_secs(60), |h| h.len() >= total / 4)
        .await;
    server.kill().await;
    let before_restart = receiver.hits().len();
    let server = serve(dir.path(), &EIGHT_SLOTS).await;

    let hits = receiver
        .wait_until(Duration::from_secs(120), |hits| distinct(hits) >= total)
        .await;
    let (per_room, repeats) = per_room(&hits);
    assert_eq!(hits.len() - repeats, total, "lost or extra events");
    assert_eq!(per_room.len(), SLOW_ROOMS);
    assert!(
        per_room.values().all(|c| *c == expected_life()),
        "{per_room:?}"
    );
    eprintln!("killed after {before_restart} hits; {repeats} repeats");
    // Only attempts whose outcome was not recorded repeat: at most one per slot.
    assert!(
        repeats <= SLOTS,
        "{repeats} repeats with {SLOTS} delivery slots"
    );
    server.kill().await;
}
