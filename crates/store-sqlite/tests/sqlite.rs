//! What only the SQLite backend promises (the shared behaviour is in `conformance.rs`):
//! acknowledged writes are on disk, one write group isolates a refused write, and
//! migrations apply once.

use opencalls_domain::{CustomItems, Room, RoomId, RoomType, User, UserId};
use opencalls_store::webhooks::WebhookSettingsUpdate;
use opencalls_store::{RoomStore, StoreError, UserStore, WebhookStore};
use opencalls_store_sqlite::SqliteStore;
use std::path::Path;
use std::sync::Arc;

fn room(id: RoomId, now: i64) -> opencalls_domain::room::RoomChange {
    Room::create(
        id,
        RoomType::SmallRoomForVideo,
        CustomItems::default(),
        String::new(),
        now,
    )
}

#[tokio::test]
async fn acknowledged_writes_survive_reopening_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/dir/db.sqlite");
    let id = RoomId::generate();
    {
        let store = SqliteStore::open(&path).unwrap();
        store.insert_room(room(id.clone(), 1)).await.unwrap();
        store
            .insert_user(User::bare(UserId::parse("u").unwrap()))
            .await
            .unwrap();
        let settings = WebhookSettingsUpdate {
            enabled: Some(true),
            url: Some("http://127.0.0.1:9/hook".into()),
            enabled_events: Some(vec!["*".into()]),
        };
        store.update_webhook_settings(settings, 2).await.unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.room(&id).await.unwrap().unwrap().created_at, 1);
    assert!(
        store
            .user(&UserId::parse("u").unwrap())
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.webhook_settings().await.unwrap().enabled);
}

/// Writes submitted together share one commit; a write refused inside the group (a
/// duplicate id) rolls back alone and the others are acknowledged and stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_write_in_a_commit_group_rolls_back_alone() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("db.sqlite")).unwrap());
    let taken = RoomId::generate();
    store.insert_room(room(taken.clone(), 1)).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..400 {
        let (store, taken) = (store.clone(), taken.clone());
        tasks.spawn(async move {
            let id = if n % 4 == 0 {
                taken
            } else {
                RoomId::generate()
            };
            (id.clone(), store.insert_room(room(id, 2)).await)
        });
    }
    let (mut stored, mut refused) = (0, 0);
    while let Some(done) = tasks.join_next().await {
        let (id, result) = done.unwrap();
        match result {
            Ok(()) => {
                stored += 1;
                assert!(store.room(&id).await.unwrap().is_some());
            }
            Err(StoreError::Conflict) => refused += 1,
            Err(other) => panic!("unexpected {other}"),
        }
    }
    assert_eq!((stored, refused), (300, 100));
    assert_eq!(store.room(&taken).await.unwrap().unwrap().created_at, 1);
}

fn applied_migrations(path: &Path) -> Vec<i64> {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.prepare("SELECT version FROM schema_migrations ORDER BY version")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test]
async fn migrations_apply_once_and_reopening_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let id = RoomId::generate();
    {
        let store = SqliteStore::open(&path).unwrap();
        store.insert_room(room(id.clone(), 1)).await.unwrap();
    }
    assert_eq!(applied_migrations(&path), [1, 2, 3, 4, 5, 6, 7, 8]);
    for _ in 0..2 {
        let store = SqliteStore::open(&path).unwrap();
        assert!(store.room(&id).await.unwrap().is_some());
    }
    assert_eq!(applied_migrations(&path), [1, 2, 3, 4, 5, 6, 7, 8]);
}

#[tokio::test]
async fn a_path_that_cannot_be_a_database_is_a_backend_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, b"not a directory").unwrap();
    let opened = SqliteStore::open(file.join("db.sqlite"));
    assert!(matches!(opened, Err(StoreError::Backend(_))));
}

/// Migration 7 fills the time buckets from the rooms an older build stored, so date
/// windows over them keep listing every room (including one whose clock ran backwards).
#[tokio::test]
async fn date_windows_list_rooms_stored_before_the_time_buckets_existed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    const HOUR: i64 = 3_600_000;
    let created = [10 * HOUR, 11 * HOUR, 3 * HOUR, 12 * HOUR, -HOUR];
    let mut ids = Vec::new();
    {
        let store = SqliteStore::open(&path).unwrap();
        for at in created {
            let id = RoomId::generate();
            store.insert_room(room(id.clone(), at)).await.unwrap();
            ids.push(id);
        }
    }
    // Back to the schema of migration 6.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TRIGGER rooms_time_bucket; DROP TABLE room_time_buckets;
         CREATE INDEX rooms_by_created_at ON rooms (created_at, room_type, state);
         DELETE FROM schema_migrations WHERE version = 7;",
    )
    .unwrap();
    drop(conn);
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(applied_migrations(&path), [1, 2, 3, 4, 5, 6, 7, 8]);
    let window = |start: i64, end: i64| opencalls_store::RoomQuery {
        created_at_start: Some(start),
        created_at_end: Some(end),
        ..Default::default()
    };
    let listed = |page: opencalls_store::Page<Room>| -> Vec<RoomId> {
        page.items.into_iter().map(|r| r.room_id).collect()
    };
    let early = store.list_rooms(window(-2 * HOUR, 4 * HOUR)).await.unwrap();
    assert_eq!(listed(early), [ids[4].clone(), ids[2].clone()]);
    let late = store
        .list_rooms(window(10 * HOUR, 12 * HOUR))
        .await
        .unwrap();
    assert_eq!(listed(late), [ids[1].clone(), ids[0].clone()]);
    // Rooms created after the migration land in the buckets too.
    let new = RoomId::generate();
    store
        .insert_room(room(new.clone(), 5 * HOUR))
        .await
        .unwrap();
    let middle = store.list_rooms(window(4 * HOUR, 10 * HOUR)).await.unwrap();
    assert_eq!(listed(middle), [new]);
}
