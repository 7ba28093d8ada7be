//! The cost of a webhook delivery round on SQLite: finding the due stream heads costs in
//! the number of streams with pending deliveries, not in the length of their backlogs (a
//! receiver down for hours must not make every round scan every pending event).

use opencalls_store::WebhookStore;
use opencalls_store_sqlite::SqliteStore;
use rusqlite::{Connection, params};
use std::path::Path;
use std::time::{Duration, Instant};

const STREAMS: i64 = 10;
const NOW: i64 = 1_000_000;
/// When the heads (in backoff after failed attempts) are next due.
const RETRY_AT: i64 = NOW + 60_000;

/// `per_stream` pending deliveries on each of [`STREAMS`] streams, as a receiver that has
/// been down leaves them: every head waits for its retry, every later one is "due" but
/// blocked behind its head.
fn backlog(path: &Path, per_stream: i64) {
    let mut conn = Connection::open(path).unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut event = tx
            .prepare("INSERT INTO outbox (stream, category, occurred_at, payload) VALUES (?1, 'room:create', ?2, '{}')")
            .unwrap();
        let mut delivery = tx
            .prepare("INSERT INTO webhook_deliveries (seq, stream, status, attempts, created_at, next_attempt_at) VALUES (?1, ?2, 'pending', ?3, ?4, ?5)")
            .unwrap();
        for i in 0..per_stream {
            for s in 0..STREAMS {
                let stream = format!("room:stream-{s}");
                event.execute(params![stream, i]).unwrap();
                let seq = tx.last_insert_rowid();
                let (attempts, at) = if i == 0 { (5, RETRY_AT) } else { (0, i) };
                delivery
                    .execute(params![seq, stream, attempts, i, at])
                    .unwrap();
            }
        }
    }
    tx.execute(
        "UPDATE webhook_state SET outbox_seq = (SELECT MAX(seq) FROM outbox)",
        [],
    )
    .unwrap();
    tx.commit().unwrap();
}

/// The fastest of several rounds (the least disturbed by other work on the machine).
async fn round_time(store: &SqliteStore) -> Duration {
    let mut best = Duration::MAX;
    for _ in 0..7 {
        let started = Instant::now();
        let due = store.due_webhook_deliveries(NOW, 32).await.unwrap();
        let next = store.next_webhook_due(NOW).await.unwrap();
        best = best.min(started.elapsed());
        assert!(due.is_empty(), "every head waits for its retry: {due:?}");
        assert_eq!(next, Some(RETRY_AT));
    }
    best
}

async fn store_with_backlog(per_stream: i64) -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    drop(SqliteStore::open(&path).unwrap()); // creates the schema
    backlog(&path, per_stream);
    (SqliteStore::open(&path).unwrap(), dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_costs_the_streams_not_the_backlog() {
    let (short, _a) = store_with_backlog(5).await;
    let (long, _b) = store_with_backlog(20_000).await;
    let short_time = round_time(&short).await;
    let long_time = round_time(&long).await;
    // 4,000 times the backlog on the same ten streams: a scan of the pending events would
    // take hundreds of times longer; seeks per stream take about the same time.
    assert!(
        long_time < short_time * 5 + Duration::from_millis(5),
        "10 x 5 pending: {short_time:?}; 10 x 20,000 pending: {long_time:?}"
    );

    // The heads are found, in order, as soon as they fall due; nothing behind them is.
    let due = long.due_webhook_deliveries(RETRY_AT, 32).await.unwrap();
    assert_eq!(due.len() as i64, STREAMS);
    assert!(due.iter().all(|d| d.attempts == 5), "only heads are due");
    assert!(due.windows(2).all(|w| w[0].seq < w[1].seq), "oldest first");
    assert_eq!(
        long.due_webhook_deliveries(RETRY_AT, 3)
            .await
            .unwrap()
            .len(),
        3
    );
}
