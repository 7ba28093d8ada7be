//! Store-level durable room creates per second on PostgreSQL, without HTTP: `workers`
//! concurrent `insert_room`s for `seconds` on a fresh database of
//! `OPENCALLS_TEST_POSTGRES_URL`'s server, then one `sequence_outbox` over everything.
//!
//! `cargo run --release -p opencalls-store-postgres --example create_rate -- 256 8 32`
//! (workers, seconds, pool size)
//! (the HTTP-level number is `opencalls-bench --database-url … --only creates`).

use opencalls_domain::{CustomItems, Room, RoomId, RoomType};
use opencalls_store::RoomStore;
use opencalls_store_postgres::PostgresStore;
use opencalls_store_postgres::testing::TestDatabase;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let workers: usize = args.next().map_or(Ok(256), |a| a.parse())?;
    let seconds: u64 = args.next().map_or(Ok(8), |a| a.parse())?;
    let pool: usize = args.next().map_or(Ok(32), |a| a.parse())?;
    let db = TestDatabase::create().await?;
    let store = PostgresStore::open(db.url(), pool).await?;
    let done = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (store, done) = (store.clone(), done.clone());
            tokio::spawn(async move {
                while Instant::now() < until {
                    let change = Room::create(
                        RoomId::generate(),
                        RoomType::SmallRoomForVideo,
                        CustomItems::default(),
                        String::new(),
                        1,
                    );
                    store.insert_room(change).await.expect("insert");
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let n = done.load(Ordering::Relaxed);
    let numbering = Instant::now();
    let head = store.sequence_outbox().await?;
    println!(
        "{n} durable room creates in {elapsed:.1} s with {workers} workers: {:.0}/s; \
         numbering {head} outbox events afterwards took {:.2} s",
        n as f64 / elapsed,
        numbering.elapsed().as_secs_f64()
    );
    Ok(())
}
