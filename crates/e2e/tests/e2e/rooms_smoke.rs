//! Smoke test of the harness: create, read, restart.

use crate::common;

use common::{TestServer, assert_error};

#[tokio::test]
async fn create_read_and_survive_restart() {
    let server = TestServer::start().await;
    let room = server.create_room("small_room_for_video").await;
    let id = room["room_id"].as_str().unwrap().to_owned();
    let (status, body) = server.get(&format!("/v1/rooms/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(body["room"], room);

    let dir = server.stop().await;
    let server = TestServer::start_in(dir).await;
    let (status, body) = server.get(&format!("/v1/rooms/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(body["room"], room);
    assert_error(&server.get("/v1/rooms/nope").await, 400, 400200);
}
