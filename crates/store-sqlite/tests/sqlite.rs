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
    assert_eq!(applied_migrations(&path), [1, 2, 3, 4, 5, 6]);
    for _ in 0..2 {
        let store = SqliteStore::open(&path).unwrap();
        assert!(store.room(&id).await.unwrap().is_some());
    }
    assert_eq!(applied_migrations(&path), [1, 2, 3, 4, 5, 6]);
}

#[tokio::test]
async fn a_path_that_cannot_be_a_database_is_a_backend_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, b"not a directory").unwrap();
    let opened = SqliteStore::open(file.join("db.sqlite"));
    assert!(matches!(opened, Err(StoreError::Backend(_))));
}
