//! The PostgreSQL implementation of the `opencalls-store` traits, for one server or for
//! several nodes sharing one database.
//!
//! Every store call takes a connection from a small pool (`deadpool-postgres` over
//! `tokio-postgres`) and, for a write, runs one transaction on it. The guarantees are those
//! of the SQLite backend, kept by the database instead of a single writer thread:
//! - an acknowledged write is committed durably (`synchronous_commit = on` is forced on
//!   every connection);
//! - read-modify-write of one room, live event, call or user locks its row
//!   (`SELECT … FOR UPDATE`) before the pure transition runs, so concurrent changes of one
//!   resource are serialized on every node (50 enters into a 6-seat room → exactly 6);
//! - domain events go into `outbox` in the transaction of their change;
//! - room creates that arrive together are committed together, in one transaction, each
//!   acknowledged only after that commit (group commit: see `create_batch`).
//!
//! **Outbox tail guarantee.** Writers append events with `seq` NULL; a sequencer
//! ([`PostgresStore::sequence_outbox`], see `outbox`) numbers committed rows afterwards,
//! one sequencing transaction at a time, and sends `NOTIFY opencalls_outbox` (payload: the
//! new head seq). So numbered seqs are gap-free and commit-ordered: a reader that sees seq
//! `n` sees every seq below `n`, and a tailer on any node may call `sequence_outbox`, read
//! `WHERE seq > last ORDER BY seq` and advance its cursor to the last row read without
//! ever missing an event; events of one stream are numbered in their commit order. Writers
//! never wait for each other's commits, so PostgreSQL's group commit keeps durable writes
//! fast.
//!
//! Migrations run at [`PostgresStore::open`] under an advisory lock (see `schema`), so
//! nodes starting together are safe.
//!
//! Errors: every module works in the crate's own `error::Error`; it becomes a
//! [`StoreError`] once, where a store call returns.
#![forbid(unsafe_code)]

mod api_tokens;
pub mod chat;
mod cluster;
mod create_batch;
mod direct_calls;
mod error;
mod live_events;
pub mod media;
mod notify;
mod outbox;
mod room_listing;
mod rooms;
mod rows;
mod schema;
mod seats;
pub mod testing;
mod users;
mod webhooks;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use error::Error;
use opencalls_store::StoreError;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio_postgres::NoTls;

/// Connections in the pool unless configured otherwise (the server's
/// `OPENCALLS_DATABASE_POOL_SIZE`).
pub const DEFAULT_POOL_SIZE: usize = 16;

/// How long connecting to the server may take before a store call fails.
const POOL_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a store call waits for a free pooled connection. Generous: a burst of writes
/// to one row (hundreds of enters into one live event) queues here as it would in the
/// SQLite writer's queue, each holding the row lock in turn.
const POOL_WAIT: Duration = Duration::from_secs(120);

/// Connections kept for the cluster's event tail (the outbox sequencer and the read after
/// it), apart from the request pool: under load the request pool has a queue, and a tail
/// read waiting in it delayed every other node's events by as long (seconds at 2,000
/// busy devices), so cross-node events trailed the changes they announce.
const TAIL_POOL_SIZE: usize = 2;

/// Connections kept for the node's lease and its duties (one each for the membership loop
/// and the duty loop), apart from the request pool: a renewal queued behind a burst of
/// requests (500 live-event enters at once on a pool of 4) waited longer than the fencing
/// margin, so a healthy node fenced itself and closed every WebSocket it served.
const LEASE_POOL_SIZE: usize = 2;

#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    /// The event tail's own connections (see [`TAIL_POOL_SIZE`]).
    tail_pool: Pool,
    /// The lease and duty renewals' own connections (see [`LEASE_POOL_SIZE`]).
    lease_pool: Pool,
    /// How to connect: a chat listener opens a connection of its own (see `chat`).
    config: tokio_postgres::Config,
    /// The node's one listening connection, while a feed uses it (see `notify`).
    listener: notify::ListenerSlot,
    /// Room creates, group-committed (see `create_batch`).
    creates: create_batch::CreateQueue,
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user[:password]@host[:port]/db`),
    /// brings its schema up to date and keeps up to `pool_size` connections.
    pub async fn open(url: &str, pool_size: usize) -> Result<Self, StoreError> {
        Self::open_node(url, pool_size, None).await
    }

    /// Like [`PostgresStore::open`] for a node of a cluster: the outbox records `node` as
    /// the origin of the events this store appends (see `cluster.rs`).
    pub async fn open_node(
        url: &str,
        pool_size: usize,
        node: Option<&opencalls_store::NodeId>,
    ) -> Result<Self, StoreError> {
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|e| StoreError::Backend(format!("database URL: {e}")))?;
        // Acknowledged = durable, whatever the server's default says.
        let mut options = "-c synchronous_commit=on".to_owned();
        if let Some(node) = node {
            // Node ids are letters, digits, '-', '_' and '.': nothing to escape.
            options.push_str(&format!(" -c {}={node}", cluster::NODE_SETTING));
        }
        config.options(&options);
        config.application_name("opencalls");
        config.connect_timeout(POOL_TIMEOUT);
        let pool = connection_pool(&config, pool_size)?;
        let tail_pool = connection_pool(&config, TAIL_POOL_SIZE)?;
        let lease_pool = connection_pool(&config, LEASE_POOL_SIZE)?;
        let creates = create_batch::CreateQueue::start(pool.clone());
        let store = Self {
            pool,
            tail_pool,
            lease_pool,
            config,
            listener: notify::ListenerSlot::default(),
            creates,
        };
        let mut conn = store.conn().await?;
        schema::migrate(&mut conn).await?;
        Ok(store)
    }

    /// Whether the server answers on a pooled connection (the health probe).
    pub async fn is_reachable(&self) -> bool {
        match self.conn().await {
            Ok(conn) => conn.simple_query("SELECT 1").await.is_ok(),
            Err(_) => false,
        }
    }

    /// A flag kept up to date with [`Self::is_reachable`], checked every `every` by a task
    /// of the current runtime, for synchronous health probes. The task ends once the flag
    /// is dropped by everyone else.
    pub fn watch_reachability(&self, every: Duration) -> Arc<AtomicBool> {
        let flag = Arc::new(AtomicBool::new(true));
        let (store, watched) = (self.clone(), flag.clone());
        tokio::spawn(async move {
            while Arc::strong_count(&watched) > 1 {
                let ok = tokio::time::timeout(every, store.is_reachable()).await;
                watched.store(matches!(ok, Ok(true)), Ordering::Relaxed);
                tokio::time::sleep(every).await;
            }
        });
        flag
    }

    /// Numbers the outbox rows committed so far (see the crate doc's tail guarantee) and
    /// returns the highest seq given; a tailer calls it before reading past its cursor.
    pub async fn sequence_outbox(&self) -> Result<i64, StoreError> {
        let mut conn = self.tail_conn().await?;
        Ok(outbox::sequence(&mut conn).await?)
    }

    /// Does what a running server and the database's background workers would have done
    /// some time after a bulk load written straight through the store, for a benchmark that
    /// measures right after seeding. In order: the load's outbox rows are numbered (a
    /// server's sequencer numbers each commit as it happens; left undone, the first server
    /// to start numbers a million rows during the measurement) and judged for webhooks (the
    /// delivery queue's cursor, likewise); `VACUUM (ANALYZE)` (autovacuum: planner
    /// statistics, hint bits, the visibility map and the rows the numbering replaced); then
    /// `CHECKPOINT` when the role may (the checkpointer: the load's dirty pages are flushed
    /// before, not during, the measurement).
    pub async fn settle(&self) -> Result<(), StoreError> {
        use opencalls_store::WebhookStore;
        /// Events judged per webhook transaction while catching up.
        const JUDGE_BATCH: usize = 10_000;
        self.sequence_outbox().await?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        while self.enqueue_webhook_deliveries(JUDGE_BATCH, now).await? == JUDGE_BATCH {}
        let conn = self.conn().await?;
        conn.batch_execute("VACUUM (ANALYZE)")
            .await
            .map_err(Error::from)?;
        if let Err(err) = conn.batch_execute("CHECKPOINT").await {
            // Needs superuser or pg_checkpoint: without it the checkpointer does it later.
            tracing::warn!(%err, "CHECKPOINT after the load was refused");
        }
        Ok(())
    }

    /// A pooled connection.
    pub(crate) async fn conn(&self) -> Result<Object, Error> {
        Ok(self.pool.get().await?)
    }

    /// A connection of the event tail's own pool.
    pub(crate) async fn tail_conn(&self) -> Result<Object, Error> {
        Ok(self.tail_pool.get().await?)
    }

    /// A connection of the lease and duty renewals' own pool.
    pub(crate) async fn lease_conn(&self) -> Result<Object, Error> {
        Ok(self.lease_pool.get().await?)
    }
}

/// A pool of up to `size` connections configured as `config`.
fn connection_pool(config: &tokio_postgres::Config, size: usize) -> Result<Pool, StoreError> {
    let manager = Manager::from_config(
        config.clone(),
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size.max(1))
        .wait_timeout(Some(POOL_WAIT))
        .create_timeout(Some(POOL_TIMEOUT))
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .build()
        .map_err(|e| StoreError::Backend(format!("connection pool: {e}")))
}
