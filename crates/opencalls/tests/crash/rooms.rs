//! Acknowledged writes survive a crash: the real binary is killed with SIGKILL while
//! requests are in flight, restarted on the same data, and every acknowledged room is there.

use crate::serve;
use opencalls_domain::RoomType;
use opencalls_testkit::platform::NewRoom;
use std::collections::BTreeMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_creates_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), &[]).await;
    let items = BTreeMap::from([("k".to_owned(), "v".to_owned())]);
    let room = NewRoom {
        custom_items: items.clone(),
        ..NewRoom::of(RoomType::SmallRoomForVideo)
    };

    let (ack_tx, mut ack_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut workers = Vec::new();
    for _ in 0..16 {
        let (api, room, ack_tx) = (server.api.clone(), room.clone(), ack_tx.clone());
        workers.push(tokio::spawn(async move {
            // Until the server dies: every acknowledged create is reported.
            while let Ok(created) = api.create_room(&room).await {
                let _ = ack_tx.send(created.room_id);
            }
        }));
    }
    drop(ack_tx);
    // Let a few hundred writes be acknowledged, then kill the server mid-flight.
    let mut acknowledged = Vec::new();
    while acknowledged.len() < 300 {
        acknowledged.push(ack_rx.recv().await.expect("acknowledgement"));
    }
    server.kill().await;
    for worker in workers {
        worker.await.unwrap();
    }
    while let Ok(id) = ack_rx.try_recv() {
        acknowledged.push(id);
    }

    let server = serve(dir.path(), &[]).await;
    for id in &acknowledged {
        let room = server.api.room(id).await;
        let room = room.unwrap_or_else(|e| panic!("acknowledged room {id} was lost: {e}"));
        assert_eq!(room.custom_items, items);
    }
    server.kill().await;
}
