//! Writes that fail inside the store are not swallowed: a seat whose exit fails is retried
//! until it commits, and the start-up clean-up of a previous run's seats goes on past a room
//! it cannot clean.
//!
//! The faults are real SQLite failures: a trigger the test adds to the server's database
//! file makes the exit of one room's participants fail with an SQL error (it evaluates
//! malformed JSON; a `RAISE` would read as a constraint conflict, which is a refusal, not a
//! failure), as a failing disk or a corrupt row would, and dropping the trigger heals it.

use crate::serve;
use opencalls_client::{Client, open_session};
use opencalls_domain::{RoomId, RoomType};
use opencalls_testkit::platform::{NewRoom, PlatformApi, Room};
use opencalls_testkit::poll;
use std::path::Path;
use std::time::Duration;

const DEADLINE: Duration = Duration::from_secs(30);

/// Makes every exit from `room` fail until [`heal`].
fn break_exits_of(data_dir: &Path, room: &RoomId) {
    let db = rusqlite::Connection::open(data_dir.join("opencalls.db")).unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    db.execute_batch(&format!(
        "CREATE TRIGGER injected_fault BEFORE UPDATE OF state ON room_participants
         WHEN NEW.state = 'exited'
          AND NEW.room_seq = (SELECT seq FROM rooms WHERE room_id = '{}')
         BEGIN SELECT json('injected fault: not JSON'); END;",
        room.as_str()
    ))
    .unwrap();
}

fn heal(data_dir: &Path) {
    let db = rusqlite::Connection::open(data_dir.join("opencalls.db")).unwrap();
    db.busy_timeout(Duration::from_secs(10)).unwrap();
    db.execute_batch("DROP TRIGGER injected_fault").unwrap();
}

/// A device of a new user, entered into `room`.
async fn seated(api: &PlatformApi, user: &str, room: &RoomId) -> Client {
    let issued = api.create_user_with_token(user).await.unwrap();
    let session = open_session(api.base(), user, &issued.access_token)
        .await
        .unwrap();
    let client = Client::connect(&api.ws_base(), &session.session_token, None)
        .await
        .unwrap();
    client.enter(room.as_str(), true, false).await.unwrap();
    client
}

async fn room(api: &PlatformApi, id: &RoomId) -> Room {
    api.room(id).await.unwrap()
}

async fn new_room(api: &PlatformApi) -> RoomId {
    let room = NewRoom::of(RoomType::SmallRoomForVideo);
    api.create_room(&room).await.unwrap().room_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exit_that_fails_to_commit_is_retried_until_it_does() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), &[("OPENCALLS_RECONNECT_GRACE_MS", "0")]).await;
    let id = new_room(&server.api).await;
    let device = seated(&server.api, "alice", &id).await;
    break_exits_of(dir.path(), &id);
    device.kill();

    // The exit failed and was scheduled again; the seat is still taken meanwhile.
    poll::until("the failed exit is retried", DEADLINE, async || {
        server
            .api
            .counter("opencalls_seat_exit_retries_total")
            .await
            >= 2
    })
    .await;
    assert_eq!(room(&server.api, &id).await.current_participants.len(), 1);

    heal(dir.path());
    poll::until("a retry exits the seat", DEADLINE, async || {
        room(&server.api, &id).await.current_participants.is_empty()
    })
    .await;
    assert_eq!(
        server
            .api
            .counter("opencalls_seat_exits_failed_total")
            .await,
        0
    );
    server.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_clean_up_goes_on_past_a_room_it_cannot_clean() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), &[]).await;
    let (stuck, other) = (new_room(&server.api).await, new_room(&server.api).await);
    let _a = seated(&server.api, "alice", &stuck).await;
    let _b = seated(&server.api, "bob", &other).await;
    server.kill().await;

    // Restarted with the first room's clean-up failing: the other room is still cleaned.
    break_exits_of(dir.path(), &stuck);
    let server = serve(dir.path(), &[]).await;
    poll::until(
        "the other room's leftover seat is exited",
        DEADLINE,
        async || {
            room(&server.api, &other)
                .await
                .current_participants
                .is_empty()
        },
    )
    .await;
    assert_eq!(
        room(&server.api, &stuck).await.current_participants.len(),
        1
    );
    server.kill().await;

    // Once the fault is gone, the next start-up cleans the room it could not.
    heal(dir.path());
    let server = serve(dir.path(), &[]).await;
    poll::until("the stuck room's seat is exited", DEADLINE, async || {
        room(&server.api, &stuck)
            .await
            .current_participants
            .is_empty()
    })
    .await;
    server.kill().await;
}
