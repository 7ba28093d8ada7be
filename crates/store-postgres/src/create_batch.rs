//! Group commit of room creates: concurrent `insert_room`s go into one transaction.
//!
//! Why: a create is two small inserts; what it costs is the statement's round trip and its
//! transaction on the database server (which shares this machine's two cores), not the
//! rows. Creates that arrive while others are being written wait in a bounded queue and go
//! in together, as one statement inserting every room and every event of the batch in its
//! own implicit transaction (one round trip, one commit).
//!
//! Guarantees, the same as one create at a time:
//! - a caller is answered only after the transaction holding its room has committed (with
//!   `synchronous_commit = on`: flushed), or with the error that kept its room out;
//! - a room and the events of its creation are in one transaction: both or neither;
//! - one create's failure (a duplicate room id) fails only that create: when the database
//!   rejects a batch (so nothing of it was committed), its creates are retried one by one.
//!   A batch whose outcome is unknown (the connection broke) is not retried: each of its
//!   callers gets the error, as a lone create would.
//!
//! Bounded: the queue holds [`QUEUE`] creates (callers wait for room), a batch at most
//! [`MAX_BATCH`], and [`WRITERS`] batches are written at once, each on a pooled connection.
//! The writers end when the last store handle (the queue's sender) is dropped.

use crate::error::Error;
use crate::outbox::{APPEND_COLUMNS, EventArrays, append_rows};
use crate::room_listing::TIME_BUCKET_MS;
use deadpool_postgres::Pool;
use opencalls_domain::room::RoomChange;
use opencalls_store::StoreError;
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_postgres::types::ToSql;

/// Creates waiting to be written.
const QUEUE: usize = 4_096;
/// Creates per transaction.
const MAX_BATCH: usize = 128;
/// Batches written at once: while some commit (a WAL flush), others are being filled.
const WRITERS: usize = 4;

/// A create waiting for its batch, and where its outcome goes.
struct Pending {
    change: RoomChange,
    done: oneshot::Sender<Result<(), Error>>,
}

/// The sending end of the create queue (one per store, shared by its clones).
#[derive(Clone)]
pub(crate) struct CreateQueue {
    queue: mpsc::Sender<Pending>,
}

impl CreateQueue {
    /// Starts the writers on the current runtime.
    pub(crate) fn start(pool: Pool) -> Self {
        let (queue, waiting) = mpsc::channel(QUEUE);
        let waiting = Arc::new(Mutex::new(waiting));
        for _ in 0..WRITERS {
            tokio::spawn(writer(pool.clone(), waiting.clone()));
        }
        Self { queue }
    }

    /// Inserts a new room and the events of its creation; returns once they are committed.
    pub(crate) async fn insert(&self, change: RoomChange) -> Result<(), Error> {
        let (done, outcome) = oneshot::channel();
        self.queue
            .send(Pending { change, done })
            .await
            .map_err(|_| StoreError::Closed)?;
        outcome.await.map_err(|_| StoreError::Closed)?
    }
}

/// Takes the creates waiting (up to a batch) and writes them, until the queue closes.
async fn writer(pool: Pool, waiting: Arc<Mutex<mpsc::Receiver<Pending>>>) {
    loop {
        let batch = {
            let mut waiting = waiting.lock().await;
            let Some(first) = waiting.recv().await else {
                return;
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match waiting.try_recv() {
                    Ok(next) => batch.push(next),
                    Err(_) => break,
                }
            }
            batch
        };
        write(&pool, batch).await;
    }
}

/// Writes a batch and answers its callers (see the module doc for a failed batch).
async fn write(pool: &Pool, mut batch: Vec<Pending>) {
    let changes: Vec<&RoomChange> = batch.iter().map(|p| &p.change).collect();
    match insert_all(pool, &changes).await {
        Ok(()) => batch.into_iter().for_each(|p| answer(p, Ok(()))),
        Err(e) if batch.len() == 1 => {
            if let Some(alone) = batch.pop() {
                answer(alone, Err(e));
            }
        }
        Err(Error::Postgres(e)) if e.as_db_error().is_some() => {
            for pending in batch {
                let outcome = insert_all(pool, &[&pending.change]).await;
                answer(pending, outcome);
            }
        }
        Err(e) => {
            let message = e.to_string();
            for pending in batch {
                let outcome = Err(StoreError::Backend(message.clone()).into());
                answer(pending, outcome);
            }
        }
    }
}

/// Hands a create its outcome; a caller that went away needs none.
fn answer(pending: Pending, outcome: Result<(), Error>) {
    let _ = pending.done.send(outcome);
}

/// Inserts the rooms, all their events and their time buckets' `seq` bounds (see
/// `ROOM_TIME_BUCKETS` in schema.rs) in one statement (its own transaction). Concurrent
/// batches of one bucket wait for each other's commit on its row; that costs one commit at
/// a time per 10 minutes of `created_at`, not per create, as the batches grow meanwhile.
/// Buckets are locked in order, so two batches can't deadlock over two buckets.
async fn insert_all(pool: &Pool, changes: &[&RoomChange]) -> Result<(), Error> {
    let conn = pool.get().await?;
    let sql = format!(
        "WITH room AS (
             INSERT INTO rooms (room_id, room_type, state, created_at, updated_at, created_by, deleted_by,
                 participant_count, custom_items, custom_items_affected_at)
             SELECT room_id, room_type, state, created_at, updated_at, created_by, deleted_by,
                 0, custom_items, custom_items_affected_at
             FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[],
                 $7::text[], $8::text[], $9::bigint[])
                 AS r (room_id, room_type, state, created_at, updated_at, created_by, deleted_by,
                     custom_items, custom_items_affected_at)
             RETURNING seq, created_at
         ), bucket AS (
             INSERT INTO room_time_buckets (bucket, min_seq, max_seq)
             SELECT created_at / {TIME_BUCKET_MS}, min(seq), max(seq) FROM room GROUP BY 1 ORDER BY 1
             ON CONFLICT (bucket) DO UPDATE SET
                 min_seq = LEAST(room_time_buckets.min_seq, EXCLUDED.min_seq),
                 max_seq = GREATEST(room_time_buckets.max_seq, EXCLUDED.max_seq)
         )
         INSERT INTO {APPEND_COLUMNS} {}",
        append_rows(10)
    );
    let stmt = conn.prepare_cached(&sql).await?;
    let rooms = RoomArrays::new(changes)?;
    let events = EventArrays::new(changes.iter().flat_map(|c| &c.events))?;
    let mut params = rooms.params().to_vec();
    params.extend(events.params());
    conn.execute(&stmt, &params).await?;
    Ok(())
}

/// The rooms of a batch as the column arrays of [`insert_all`] (`$1..$9`).
struct RoomArrays {
    ids: Vec<String>,
    types: Vec<&'static str>,
    states: Vec<&'static str>,
    created_at: Vec<i64>,
    updated_at: Vec<i64>,
    created_by: Vec<String>,
    deleted_by: Vec<String>,
    custom_items: Vec<String>,
    custom_items_affected_at: Vec<Option<i64>>,
}

impl RoomArrays {
    fn new(changes: &[&RoomChange]) -> Result<Self, Error> {
        let mut arrays = Self {
            ids: Vec::with_capacity(changes.len()),
            types: Vec::with_capacity(changes.len()),
            states: Vec::with_capacity(changes.len()),
            created_at: Vec::with_capacity(changes.len()),
            updated_at: Vec::with_capacity(changes.len()),
            created_by: Vec::with_capacity(changes.len()),
            deleted_by: Vec::with_capacity(changes.len()),
            custom_items: Vec::with_capacity(changes.len()),
            custom_items_affected_at: Vec::with_capacity(changes.len()),
        };
        for room in changes.iter().map(|c| &c.room) {
            arrays.ids.push(room.room_id.as_str().to_owned());
            arrays.types.push(room.room_type.as_str());
            arrays.states.push(room.state.as_str());
            arrays.created_at.push(room.created_at);
            arrays.updated_at.push(room.updated_at);
            arrays.created_by.push(room.created_by.clone());
            arrays.deleted_by.push(room.deleted_by.clone());
            arrays
                .custom_items
                .push(serde_json::to_string(&room.custom_items)?);
            arrays
                .custom_items_affected_at
                .push(room.custom_items_affected_at);
        }
        Ok(arrays)
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 9] {
        [
            &self.ids,
            &self.types,
            &self.states,
            &self.created_at,
            &self.updated_at,
            &self.created_by,
            &self.deleted_by,
            &self.custom_items,
            &self.custom_items_affected_at,
        ]
    }
}
