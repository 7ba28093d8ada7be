//! `opencalls backup FILE` while the server keeps serving writes: the backup restores into a
//! working server that holds every write acknowledged before the backup began.

use crate::{TOKEN, serve};
use opencalls_domain::{RoomId, RoomType};
use opencalls_testkit::platform::NewRoom;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::process::Command;

fn backup_command(data_dir: &Path, file: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_opencalls"));
    command
        .arg("backup")
        .arg(file)
        .env("OPENCALLS_DATA_DIR", data_dir)
        .env("OPENCALLS_API_TOKEN", TOKEN)
        .env("OPENCALLS_LOG", "warn");
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_write_load_restores_every_write_acknowledged_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), &[]).await;
    let acknowledged: Arc<Mutex<Vec<RoomId>>> = Arc::default();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut writers = Vec::new();
    for _ in 0..8 {
        let (api, acknowledged) = (server.api.clone(), acknowledged.clone());
        let mut stopped = stopped.clone();
        writers.push(tokio::spawn(async move {
            let room = NewRoom::of(RoomType::SmallRoomForVideo);
            loop {
                tokio::select! {
                    _ = stopped.changed() => return,
                    created = api.create_room(&room) => {
                        let created = created.expect("the server keeps serving during the backup");
                        acknowledged.lock().unwrap().push(created.room_id);
                    }
                }
            }
        }));
    }
    opencalls_testkit::poll::until(
        "writes under way",
        opencalls_testkit::poll::WAIT,
        async || acknowledged.lock().unwrap().len() >= 200,
    )
    .await;

    let file = dir.path().join("backup.db");
    let before_backup: Vec<RoomId> = acknowledged.lock().unwrap().clone();
    let output = backup_command(dir.path(), &file).output().await.unwrap();
    let during_backup = acknowledged.lock().unwrap().len();
    assert!(
        output.status.success(),
        "backup failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("Backed up"));
    // The writers go on after the backup: the server never stopped serving.
    opencalls_testkit::poll::until(
        "writes after the backup",
        opencalls_testkit::poll::WAIT,
        async || acknowledged.lock().unwrap().len() >= during_backup + 50,
    )
    .await;
    stop.send_replace(true);
    for writer in writers {
        writer.await.unwrap();
    }
    server.kill().await;

    // A second backup into the same file is refused and leaves the first intact.
    let again = backup_command(dir.path(), &file).output().await.unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));

    // Restore as docs/operations.md says: the backup becomes the database of a data dir.
    let restored = tempfile::tempdir().unwrap();
    std::fs::copy(&file, restored.path().join("opencalls.db")).unwrap();
    let server = serve(restored.path(), &[]).await;
    for id in &before_backup {
        let room = server.api.room(id).await;
        room.unwrap_or_else(|e| {
            panic!("room {id}, acknowledged before the backup, is missing: {e}")
        });
    }
    // The restored server takes writes.
    server
        .api
        .create_room(&NewRoom::of(RoomType::SmallRoomForVideo))
        .await
        .expect("the restored server serves");
    server.kill().await;
}
