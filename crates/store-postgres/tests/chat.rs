//! Chat shared by nodes on one database: one bucket per user however many nodes send at
//! once, a refused message relayed to nobody, every feed hearing messages in their order
//! (frames too big for a notification included), and a feed whose connection is killed
//! failing so that its owner listens again. The same feed hears live frames relayed
//! without a bucket, typed node messages and the outbox sequencer's new heads.

use opencalls_domain::{
    ClientId, CustomItems, DeviceKey, LiveEventId, Room, RoomId, RoomType, UserId,
};
use opencalls_store::{
    ChatBucket, ChatStore, ClusterStore, MediaNote, MediaStore, NodeId, NodeMessage, Notice,
    NoticeFeed, OutgoingChat, RoomStore,
};
use opencalls_store_postgres::PostgresStore;
use opencalls_store_postgres::chat::LISTENER_NAME;
use opencalls_store_postgres::testing::TestDatabase;
use std::time::Duration;

const BUCKET: ChatBucket = ChatBucket {
    burst: 10.0,
    per_second: 5.0,
};

/// How long a feed may take to hand over a message.
const WAIT: Duration = Duration::from_secs(10);

async fn node(db: &TestDatabase, id: &str) -> (NodeId, PostgresStore) {
    let id = NodeId::parse(id).unwrap();
    let store = PostgresStore::open_node(db.url(), 8, Some(&id))
        .await
        .unwrap();
    (id, store)
}

async fn send(store: &PostgresStore, node: &NodeId, user: &str, frame: &str) -> bool {
    let (user, live) = (
        UserId::parse(user).unwrap(),
        LiveEventId::parse("le").unwrap(),
    );
    let chat = OutgoingChat {
        user: &user,
        bucket: BUCKET,
        origin: node,
        live_event_id: &live,
        frame,
    };
    store.send_chat(chat).await.unwrap()
}

async fn next_notice(feed: &mut Box<dyn NoticeFeed>) -> Notice {
    let next = tokio::time::timeout(WAIT, feed.next()).await;
    next.expect("a notice in time").unwrap()
}

async fn next_frame(feed: &mut Box<dyn NoticeFeed>) -> String {
    match next_notice(feed).await {
        Notice::Chat(chat) => chat.frame,
        other => panic!("expected a chat frame, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_bucket_per_user_across_nodes_and_ordered_feeds() {
    let db = TestDatabase::create().await.unwrap();
    let (a, store_a) = node(&db, "a").await;
    let (b, store_b) = node(&db, "b").await;
    let mut feed = store_b.listen().await.unwrap();

    // 30 sends of one user at once, half through each node: the burst, and at most the
    // one token the time they take can refill (5 a second).
    let mut sends = Vec::new();
    for n in 0..30 {
        let (node, store) = if n % 2 == 0 {
            (&a, &store_a)
        } else {
            (&b, &store_b)
        };
        let (node, store) = (node.clone(), store.clone());
        sends.push(tokio::spawn(async move {
            send(&store, &node, "u", &format!("{{\"n\":{n}}}")).await
        }));
    }
    let mut taken = 0;
    for s in sends {
        taken += usize::from(s.await.unwrap());
    }
    assert!((10..=11).contains(&taken), "{taken} taken");
    // The feed hears exactly the taken ones, each with its origin; another user's bucket
    // is full.
    for _ in 0..taken {
        next_frame(&mut feed).await;
    }
    assert!(send(&store_a, &a, "v", "{\"after\":1}").await);
    assert_eq!(next_frame(&mut feed).await, "{\"after\":1}");

    // One sender's messages arrive in order, a frame too big for a notification as well.
    let big = format!("{{\"m\":\"{}\"}}", "é".repeat(5_000));
    let frames = ["{\"k\":1}".to_owned(), big, "{\"k\":3}".to_owned()];
    for frame in &frames {
        assert!(send(&store_a, &a, "w", frame).await);
    }
    for frame in &frames {
        assert_eq!(&next_frame(&mut feed).await, frame);
    }
    store_a.sweep_chat(BUCKET).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_listener_fails_and_listening_again_works() {
    let db = TestDatabase::create().await.unwrap();
    let (a, store) = node(&db, "a").await;
    let mut feed = store.listen().await.unwrap();
    assert_eq!(kill_listeners(&db).await, 1);
    let next = tokio::time::timeout(WAIT, feed.next()).await;
    assert!(next.expect("the feed fails in time").is_err());
    let mut feed = store.listen().await.unwrap();
    assert!(send(&store, &a, "u", "{\"again\":1}").await);
    assert_eq!(next_frame(&mut feed).await, "{\"again\":1}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_feed_hears_live_frames_node_messages_and_outbox_heads_in_order() {
    let db = TestDatabase::create().await.unwrap();
    let (a, store_a) = node(&db, "a").await;
    let (_, store_b) = node(&db, "b").await;
    let mut feed = store_b.listen().await.unwrap();
    let live = LiveEventId::parse("le").unwrap();

    // A frame relayed without a bucket, small and too big for a payload, and a message:
    // all in the order sent, with their origin.
    let big = format!("{{\"m\":\"{}\"}}", "é".repeat(5_000));
    store_a
        .relay_live_frame(&a, &live, "{\"k\":1}")
        .await
        .unwrap();
    store_a.relay_live_frame(&a, &live, &big).await.unwrap();
    let revoked = NodeMessage::SessionsRevoked {
        user_id: UserId::parse("u").unwrap(),
    };
    store_a.broadcast(&a, &revoked).await.unwrap();
    let moved = NodeMessage::DeviceMoved {
        device: DeviceKey {
            user_id: UserId::parse("u").unwrap(),
            client_id: ClientId::parse("phone").unwrap(),
        },
    };
    store_a.broadcast(&a, &moved).await.unwrap();
    assert_eq!(next_frame(&mut feed).await, "{\"k\":1}");
    assert_eq!(next_frame(&mut feed).await, big);
    for message in [revoked, moved] {
        let expected = Notice::FromNode {
            origin: a.clone(),
            message,
        };
        assert_eq!(next_notice(&mut feed).await, expected);
    }

    // Sequencing what a write appended tells every feed the new head.
    let head = store_a.outbox_head().await.unwrap();
    assert!(send(&store_a, &a, "u", "{\"x\":1}").await); // chat appends nothing
    next_frame(&mut feed).await;
    let room = Room::create(
        RoomId::generate(),
        RoomType::SmallRoomForVideo,
        CustomItems::default(),
        String::new(),
        1,
    );
    store_a.insert_room(room).await.unwrap();
    let sequenced = store_a.outbox_head().await.unwrap();
    assert!(sequenced > head);
    assert_eq!(
        next_notice(&mut feed).await,
        Notice::OutboxSequenced { head: sequenced }
    );
}

/// A plain connection to the test database.
async fn store_admin(db: &TestDatabase) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

/// Runs `select` (a `pid` expression) over this database's listening connections (by
/// their `application_name`); returns how many there were.
async fn over_listeners(db: &TestDatabase, select: &str) -> usize {
    let sql = format!(
        "SELECT {select} FROM pg_stat_activity
         WHERE application_name = $1 AND datname = current_database()"
    );
    let client = store_admin(db).await;
    client.query(&sql, &[&LISTENER_NAME]).await.unwrap().len()
}

/// How many listening connections this database has.
async fn listeners(db: &TestDatabase) -> usize {
    over_listeners(db, "pid").await
}

/// Kills this database's listening connections; returns how many.
async fn kill_listeners(db: &TestDatabase) -> usize {
    over_listeners(db, "pg_terminate_backend(pid)").await
}

/// Polls until the database shows `n` listening connections.
async fn until_listeners(db: &TestDatabase, n: usize) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while listeners(db).await != n {
        assert!(tokio::time::Instant::now() < deadline, "{n} listeners");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn chat_and_media_feeds_share_one_listening_connection_that_both_survive_losing() {
    let db = TestDatabase::create().await.unwrap();
    let (a, store_a) = node(&db, "a").await;
    let (b, store_b) = node(&db, "b").await;
    let mut chat = store_b.listen().await.unwrap();
    let mut media = store_b.listen_media(&b).await.unwrap();
    assert_eq!(listeners(&db).await, 1);
    let note = MediaNote {
        from: a.clone(),
        to: Some(b.clone()),
        body: "{\"n\":1}".into(),
    };
    // Each feed hears its own channel only, both through the one connection.
    store_a.send_media_note(&note).await.unwrap();
    assert!(send(&store_a, &a, "u", "{\"c\":1}").await);
    assert_eq!(next_frame(&mut chat).await, "{\"c\":1}");
    let heard = tokio::time::timeout(WAIT, media.next()).await;
    assert_eq!(heard.expect("a note in time").unwrap(), note);

    assert_eq!(kill_listeners(&db).await, 1);
    assert!(
        tokio::time::timeout(WAIT, chat.next())
            .await
            .unwrap()
            .is_err()
    );
    assert!(
        tokio::time::timeout(WAIT, media.next())
            .await
            .unwrap()
            .is_err()
    );
    let mut chat = store_b.listen().await.unwrap();
    let mut media = store_b.listen_media(&b).await.unwrap();
    until_listeners(&db, 1).await;
    store_a.send_media_note(&note).await.unwrap();
    assert!(send(&store_a, &a, "u", "{\"c\":2}").await);
    assert_eq!(next_frame(&mut chat).await, "{\"c\":2}");
    let heard = tokio::time::timeout(WAIT, media.next()).await;
    assert_eq!(heard.expect("a note in time").unwrap(), note);

    // The connection lives as long as a feed does.
    drop(chat);
    assert_eq!(listeners(&db).await, 1);
    drop(media);
    until_listeners(&db, 0).await;
}
