//! What the PostgreSQL store promises beyond the conformance suite, with several stores
//! (as several nodes would) on one database: the capacity check is atomic across them, the
//! outbox commits gap-free in seq order and wakes listeners, simultaneous starts
//! migrate once, group-committed creates fail one by one, and settling a bulk load leaves
//! no outbox backlog.

use opencalls_domain::participant::EnterRequest;
use opencalls_domain::{
    ClientId, CustomItems, ParticipantId, Room, RoomId, RoomType, User, UserId,
};
use opencalls_store::{RoomStore, StoreError};
use opencalls_store_postgres::PostgresStore;
use opencalls_store_postgres::testing::TestDatabase;
use std::time::{Duration, Instant};
use tokio_postgres::{AsyncMessage, NoTls};

async fn stores(db: &TestDatabase, n: usize) -> Vec<PostgresStore> {
    let mut stores = Vec::new();
    for _ in 0..n {
        stores.push(PostgresStore::open(db.url(), 8).await.unwrap());
    }
    stores
}

async fn new_room(store: &PostgresStore) -> RoomId {
    let change = Room::create(
        RoomId::generate(),
        RoomType::SmallRoomForVideo,
        CustomItems::default(),
        String::new(),
        1,
    );
    let id = change.room.room_id.clone();
    store.insert_room(change).await.unwrap();
    id
}

fn enter_request(i: usize) -> EnterRequest {
    EnterRequest {
        participant_id: ParticipantId::generate(),
        user: User::bare(UserId::parse(&format!("user{i}")).unwrap()),
        client_id: ClientId::generate(),
        is_audio_on: true,
        is_video_on: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_enters_through_three_stores_fill_a_six_seat_room_exactly() {
    let db = TestDatabase::create().await.unwrap();
    let stores = stores(&db, 3).await;
    let room = new_room(&stores[0]).await;
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let (store, room) = (stores[i % 3].clone(), room.clone());
            tokio::spawn(async move {
                let request = enter_request(i);
                store
                    .update_room(&room, Box::new(move |r| r.enter(request, 2)))
                    .await
            })
        })
        .collect();
    let mut admitted = 0;
    for task in tasks {
        if task.await.unwrap().is_ok() {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 6);
    let stored = stores[1].room(&room).await.unwrap().unwrap();
    assert_eq!(stored.current_participants.len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tailer_sees_outbox_seqs_without_gaps_in_commit_order_and_is_notified() {
    let db = TestDatabase::create().await.unwrap();
    let stores = stores(&db, 2).await;
    let (tailer, connection) = tokio_postgres::connect(db.url(), NoTls).await.unwrap();
    let (notified_tx, mut notified) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut connection = connection;
        while let Some(Ok(message)) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            if let AsyncMessage::Notification(n) = message {
                let _ = notified_tx.send(n.payload().to_owned());
            }
        }
    });
    tailer
        .batch_execute("LISTEN opencalls_outbox")
        .await
        .unwrap();

    let writers: Vec<_> = (0..8)
        .map(|w| {
            let store = stores[w % 2].clone();
            tokio::spawn(async move {
                for _ in 0..25 {
                    new_room(&store).await;
                }
            })
        })
        .collect();
    // Tail while the writers run, numbering through either store: every read continues
    // exactly after the last seq seen.
    let total = 8 * 25;
    let mut last = 0i64;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut round = 0;
    while last < total {
        assert!(Instant::now() < deadline, "tail stuck at {last}");
        round += 1;
        let head = stores[round % 2].sequence_outbox().await.unwrap();
        assert!(head >= last);
        let rows = tailer
            .query(
                "SELECT seq FROM outbox WHERE seq > $1 ORDER BY seq",
                &[&last],
            )
            .await
            .unwrap();
        for row in rows {
            let seq: i64 = row.get(0);
            assert_eq!(seq, last + 1, "a gap or a late commit after {last}");
            last = seq;
        }
        if last < total {
            // Polling interval while the writers commit.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    for writer in writers {
        writer.await.unwrap();
    }
    assert_eq!(last, total);
    // Numbering announced the heads it reached; the last one is the total.
    let mut heads = Vec::new();
    while let Ok(Some(head)) =
        tokio::time::timeout(Duration::from_millis(500), notified.recv()).await
    {
        heads.push(head.parse::<i64>().unwrap());
    }
    assert_eq!(heads.last(), Some(&total), "{heads:?}");
    assert!(heads.windows(2).all(|w| w[0] < w[1]), "{heads:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nodes_starting_at_once_apply_each_migration_once() {
    let db = TestDatabase::create().await.unwrap();
    let opens: Vec<_> = (0..6)
        .map(|_| {
            let url = db.url().to_owned();
            tokio::spawn(async move { PostgresStore::open(&url, 2).await })
        })
        .collect();
    for open in opens {
        open.await.unwrap().expect("every node starts");
    }
    let (client, connection) = tokio_postgres::connect(db.url(), NoTls).await.unwrap();
    tokio::spawn(connection);
    let rows = client
        .query(
            "SELECT version, count(*) FROM schema_migrations GROUP BY version",
            &[],
        )
        .await
        .unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        assert_eq!(row.get::<_, i64>(1), 1);
    }
}

/// Creates that arrive together are committed together (create_batch.rs); a duplicate room
/// id among them must fail only its own create, and every acknowledged create must be in
/// the database with its events.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_commit_together_and_a_duplicate_fails_alone() {
    let db = TestDatabase::create().await.unwrap();
    let store = stores(&db, 1).await.remove(0);
    let ids: Vec<RoomId> = (0..300).map(|_| RoomId::generate()).collect();
    // Every tenth create reuses the id of the create before it.
    let creates: Vec<RoomId> = (0..330)
        .map(|i| ids[i - i / 11 - usize::from(i % 11 == 10)].clone())
        .collect();
    let mut events_per_create = 0;
    let tasks: Vec<_> = creates
        .into_iter()
        .map(|id| {
            let change = Room::create(
                id,
                RoomType::SmallRoomForVideo,
                CustomItems::default(),
                String::new(),
                1,
            );
            events_per_create = change.events.len() as i64;
            let store = store.clone();
            tokio::spawn(async move { store.insert_room(change).await })
        })
        .collect();
    let (mut created, mut conflicts) = (0_i64, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => created += 1,
            Err(StoreError::Conflict) => conflicts += 1,
            Err(other) => panic!("unexpected create failure: {other}"),
        }
    }
    assert_eq!((created, conflicts), (300, 30));
    for id in &ids {
        assert!(store.room(id).await.unwrap().is_some(), "{id:?}");
    }
    let (client, connection) = tokio_postgres::connect(db.url(), NoTls).await.unwrap();
    tokio::spawn(connection);
    let count = |sql: &'static str| {
        let client = &client;
        async move { client.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    assert_eq!(count("SELECT count(*) FROM rooms").await, 300);
    assert_eq!(
        count("SELECT count(*) FROM outbox").await,
        300 * events_per_create
    );
}

/// A benchmark seeds through the store with no server running, then settles: the first
/// server to start must find no outbox backlog to number or judge for webhooks (it did a
/// million rows of both during the listing measurement before `settle` took them on).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settling_a_bulk_load_numbers_and_judges_its_outbox() {
    use opencalls_store::{ClusterStore, WebhookStore};
    let db = TestDatabase::create().await.unwrap();
    let store = PostgresStore::open(db.url(), 4).await.unwrap();
    for _ in 0..5 {
        new_room(&store).await;
    }
    let (client, conn) = tokio_postgres::connect(db.url(), NoTls).await.unwrap();
    tokio::spawn(conn);
    let count = |sql: &'static str| {
        let client = &client;
        async move { client.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    let unnumbered = "SELECT count(*) FROM outbox WHERE seq IS NULL";
    let unjudged = "SELECT count(*) FROM outbox o, webhook_state w WHERE w.id = 1 AND (o.seq IS NULL OR o.seq > w.outbox_seq)";
    assert!(
        count(unnumbered).await >= 5,
        "the creates' events wait to be numbered"
    );
    store.settle().await.unwrap();
    assert_eq!(count(unnumbered).await, 0, "every event numbered");
    assert_eq!(count(unjudged).await, 0, "every event judged for webhooks");
    let head = store.outbox_head().await.unwrap();
    assert!(
        head >= 5,
        "the five creates' events are numbered: head {head}"
    );
    let judged = store.enqueue_webhook_deliveries(100, 0).await.unwrap();
    assert_eq!(judged, 0, "every event was already judged for webhooks");
}
