//! The outbox: appending events in the writer's transaction, and the sequencer that makes
//! them a gap-free, commit-ordered log other nodes can tail.
//!
//! Why two steps: a sequence number taken inside the writing transaction is not
//! commit-ordered (a transaction holding seq 10 may commit after one holding seq 11, so a
//! tailer that read 11 would skip 10 for good), and making writers take numbers under one
//! lock until they commit serializes every commit, WAL flush included, which defeats
//! PostgreSQL's group commit (a few hundred durable writes per second on this machine's
//! disks). So writers only insert rows with `seq` NULL (their `id` is a plain bigserial);
//! [`sequence`] later numbers the rows that have committed, in `id` order, under an
//! advisory lock, in a transaction of its own, and sends `NOTIFY opencalls_outbox`.
//!
//! Guarantees: sequencing transactions commit one after another, each numbering after the
//! last, so once a reader sees `seq = n` every seq below `n` is visible too, with no gaps.
//! Events of one stream (room, live event, call) keep their commit order: their changes are
//! serialized by the resource's row lock, so a later change's rows get a higher `id` and
//! are committed (hence numbered) no earlier. Whoever tails calls [`sequence`] first (the
//! webhook queue does); a row is numbered by the first call after its commit.

use crate::error::Error;
use deadpool_postgres::GenericClient;
use opencalls_domain::Event;
use tokio_postgres::types::ToSql;

/// The advisory lock held while numbering ("ocseq" in ASCII).
const SEQUENCER_LOCK: i64 = 0x006f_6373_6571;

/// Rows numbered per sequencing transaction.
const SEQUENCE_BATCH: i64 = 10_000;

/// The outbox columns an append fills (with the rows of [`append_rows`]).
pub(crate) const APPEND_COLUMNS: &str = "outbox (stream, category, occurred_at, payload, event)";

/// The rows of an append, from five bound arrays starting at `$first`.
pub(crate) fn append_rows(first: usize) -> String {
    let n = |i: usize| first + i;
    format!(
        "SELECT * FROM unnest(${}::text[], ${}::text[], ${}::bigint[], ${}::text[], ${}::text[])",
        n(0),
        n(1),
        n(2),
        n(3),
        n(4)
    )
}

/// Events as the column arrays of an append (see [`append_rows`]).
pub(crate) struct EventArrays {
    streams: Vec<String>,
    categories: Vec<String>,
    times: Vec<i64>,
    payloads: Vec<String>,
    /// The full form, which other nodes of a cluster relay to their devices (cluster.rs).
    full: Vec<String>,
}

impl EventArrays {
    pub(crate) fn new<'a>(events: impl IntoIterator<Item = &'a Event>) -> Result<Self, Error> {
        let mut arrays = Self {
            streams: Vec::new(),
            categories: Vec::new(),
            times: Vec::new(),
            payloads: Vec::new(),
            full: Vec::new(),
        };
        for event in events {
            arrays.full.push(event.encode());
            arrays.streams.push(event.stream().encode());
            arrays.categories.push(event.category().to_owned());
            arrays.times.push(event.occurred_at);
            arrays
                .payloads
                .push(serde_json::to_string(&event.payload())?);
        }
        Ok(arrays)
    }

    /// The bound values, in the order of [`append_rows`].
    pub(crate) fn params(&self) -> [&(dyn ToSql + Sync); 5] {
        [
            &self.streams,
            &self.categories,
            &self.times,
            &self.payloads,
            &self.full,
        ]
    }
}

/// Appends events to the outbox, unnumbered; call it inside the write transaction of their
/// change.
pub(crate) async fn append_events(tx: &impl GenericClient, events: &[Event]) -> Result<(), Error> {
    if events.is_empty() {
        return Ok(());
    }
    let sql = format!("INSERT INTO {APPEND_COLUMNS} {}", append_rows(1));
    let insert = tx.prepare_cached(&sql).await?;
    let arrays = EventArrays::new(events)?;
    tx.execute(&insert, &arrays.params()).await?;
    Ok(())
}

/// Numbers every committed, unnumbered outbox row (in batches) and returns the last seq
/// given so far. Runs its own transactions on `client` (which must not be in one).
pub(crate) async fn sequence(client: &mut deadpool_postgres::Client) -> Result<i64, Error> {
    loop {
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SEQUENCER_LOCK])
            .await?;
        let head: i64 = tx
            .query_one("SELECT seq FROM outbox_head WHERE id = 1", &[])
            .await?
            .get(0);
        let numbered = tx
            .execute(
                "UPDATE outbox o SET seq = $1 + r.n FROM (
                     SELECT id, row_number() OVER (ORDER BY id) AS n FROM outbox
                     WHERE seq IS NULL ORDER BY id LIMIT $2
                 ) r WHERE o.id = r.id",
                &[&head, &SEQUENCE_BATCH],
            )
            .await? as i64;
        if numbered == 0 {
            return Ok(head);
        }
        let head = head + numbered;
        tx.execute("UPDATE outbox_head SET seq = $1 WHERE id = 1", &[&head])
            .await?;
        tx.execute(
            "SELECT pg_notify('opencalls_outbox', $1)",
            &[&head.to_string()],
        )
        .await?;
        tx.commit().await?;
        if numbered < SEQUENCE_BATCH {
            return Ok(head);
        }
    }
}
