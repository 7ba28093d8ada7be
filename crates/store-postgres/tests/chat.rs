//! Chat shared by nodes on one database: one bucket per user however many nodes send at
//! once, a refused message relayed to nobody, every feed hearing messages in their order
//! (frames too big for a notification included), and a feed whose connection is killed
//! failing so that its owner listens again.

use opencalls_domain::{LiveEventId, UserId};
use opencalls_store::{ChatBucket, ChatFeed, ChatStore, NodeId, OutgoingChat};
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

async fn next_frame(feed: &mut Box<dyn ChatFeed>) -> String {
    let next = tokio::time::timeout(WAIT, feed.next()).await;
    next.expect("a message in time").unwrap().frame
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_bucket_per_user_across_nodes_and_ordered_feeds() {
    let db = TestDatabase::create().await.unwrap();
    let (a, store_a) = node(&db, "a").await;
    let (b, store_b) = node(&db, "b").await;
    let mut feed = store_b.listen_chat().await.unwrap();

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
    let mut feed = store.listen_chat().await.unwrap();
    let client = store_admin(&db).await;
    let killed = client
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE application_name = $1 AND datname = current_database()",
            &[&LISTENER_NAME],
        )
        .await
        .unwrap();
    assert_eq!(killed.len(), 1);
    let next = tokio::time::timeout(WAIT, feed.next()).await;
    assert!(next.expect("the feed fails in time").is_err());
    let mut feed = store.listen_chat().await.unwrap();
    assert!(send(&store, &a, "u", "{\"again\":1}").await);
    assert_eq!(next_frame(&mut feed).await, "{\"again\":1}");
}

/// A plain connection to the test database.
async fn store_admin(db: &TestDatabase) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}
