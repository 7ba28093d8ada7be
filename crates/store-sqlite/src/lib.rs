//! The embedded SQLite implementation of the `opencalls-store` traits.
//!
//! One writer thread owns the only write connection and commits in groups: it takes every
//! write waiting in its queue, runs each inside its own savepoint (a refused write rolls
//! back alone), commits once with a full fsync, then acknowledges them all. That makes
//! durable writes cheap without ever acknowledging one before it is on disk. Reads run on a
//! small pool of read connections in WAL mode, so they never wait for the writer.
//!
//! Errors: every module works in the crate's own `error::Error`; it becomes a
//! [`StoreError`] once, in the read and write helpers below, where a store call returns.
#![forbid(unsafe_code)]

mod api_tokens;
mod backup;
mod cluster;
mod direct_calls;
mod error;
mod live_events;
mod room_cache;
mod room_listing;
mod rooms;
mod rows;
mod schema;
mod seats;
mod users;
mod webhooks;
mod writer;

pub use backup::{BackupSummary, backup};
use error::Error;
use opencalls_domain::RoomId;
use opencalls_store::StoreError;
use room_cache::RoomCache;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;
use writer::Writer;

/// How many read connections exist, and so how many reads run at once. Reads beyond this
/// wait for a connection instead of opening a new one: opening costs far more than a point
/// read (file open, schema parse, an empty statement cache), and on a loaded server a
/// connection opened per overflowing read and closed after it was most of the read cost.
const READ_POOL_SIZE: usize = 8;

/// How much of the database file is memory-mapped for reading.
const MMAP_BYTES: i64 = 1 << 30;
/// Page cache of each read connection, in KiB when negative (SQLite's convention).
const READ_CACHE_KIB: i64 = -16 * 1024;

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Writer,
    readers: Mutex<Vec<Connection>>,
    /// One permit per read connection; held for the whole read.
    read_permits: Arc<Semaphore>,
    /// Rooms read by id; the writer invalidates it after every commit.
    room_cache: Arc<RoomCache>,
    /// The leases of the one-node cluster (`cluster.rs`).
    leases: Mutex<cluster::Leases>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Backend(format!("creating {}: {e}", dir.display())))?;
        }
        let mut conn = open_connection(&path, false)?;
        schema::migrate(&mut conn)?;
        let writer = Writer::start(conn)?;
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                writer,
                readers: Mutex::new(Vec::new()),
                read_permits: Arc::new(Semaphore::new(READ_POOL_SIZE)),
                room_cache: Arc::default(),
                leases: Mutex::default(),
            }),
        })
    }

    /// Whether the writer thread is alive (health checks): without it no write commits.
    pub fn is_writing(&self) -> bool {
        self.inner.writer.is_running()
    }

    /// Runs `f` in the write transaction; resolves once it is durably committed.
    /// The room cache is emptied after the commit, since `f` may change anything a room
    /// shows (e.g. a user's profile inside its participants).
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        let cache = self.inner.room_cache.clone();
        self.inner
            .writer
            .submit(f, move || cache.all_written())
            .await
            .map_err(StoreError::from)
    }

    /// Like [`Self::write`] for a write that changes only the room `id` (its row, its
    /// participants, its outbox events, and users only as first seen), so only that room
    /// leaves the cache.
    pub(crate) async fn write_room<T, F>(&self, id: RoomId, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        let cache = self.inner.room_cache.clone();
        self.inner
            .writer
            .submit(f, move || cache.room_written(&id))
            .await
            .map_err(StoreError::from)
    }

    /// Like [`Self::write`] for a write that changes nothing a cached room shows (live
    /// events, webhooks, tokens, new users): the room cache stays warm, which matters because
    /// such writes (webhook outcomes above all) are frequent.
    pub(crate) async fn write_outside_rooms<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        self.inner
            .writer
            .submit(f, || {})
            .await
            .map_err(StoreError::from)
    }

    pub(crate) fn room_cache(&self) -> &RoomCache {
        &self.inner.room_cache
    }

    /// Runs `f` on a read connection right here, on the async worker thread.
    ///
    /// Only for reads whose work is small and bounded (one row by unique key and its few
    /// current participants): a hop to the blocking pool and back costs two thread
    /// wake-ups, several times the read itself. Readers never wait for the writer in WAL
    /// mode, so this does not block on locks.
    pub(crate) async fn read_point<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, Error>,
    {
        let _permit = self
            .inner
            .read_permits
            .acquire()
            .await
            .map_err(|_| StoreError::Closed)?;
        let pooled = self
            .inner
            .readers
            .lock()
            .map_err(|_| StoreError::Closed)?
            .pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => open_connection(&self.inner.path, true)?,
        };
        let result = f(&conn);
        let mut readers = self.inner.readers.lock().map_err(|_| StoreError::Closed)?;
        if readers.len() < READ_POOL_SIZE {
            readers.push(conn);
        }
        Ok(result?)
    }

    /// Runs `f` on a read connection on the blocking pool.
    pub(crate) async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Error> + Send + 'static,
    {
        let inner = self.inner.clone();
        // Owned and moved into the task: a cancelled caller can't free the connection early.
        let permit = (self.inner.read_permits.clone())
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Closed)?;
        let result = tokio::task::spawn_blocking(move || {
            let pooled = inner.readers.lock().map_err(|_| StoreError::Closed)?.pop();
            let conn = match pooled {
                Some(conn) => conn,
                None => open_connection(&inner.path, true)?,
            };
            let result = f(&conn);
            let mut readers = inner.readers.lock().map_err(|_| StoreError::Closed)?;
            if readers.len() < READ_POOL_SIZE {
                readers.push(conn);
            }
            drop(permit);
            result
        })
        .await
        .map_err(|e| StoreError::Backend(format!("read task failed: {e}")))?;
        Ok(result?)
    }
}

fn open_connection(path: &Path, read_only: bool) -> Result<Connection, Error> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    if !read_only {
        // WAL lets readers run beside the writer; FULL makes every commit durable.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
    }
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // Pages are read through a memory map instead of a read() copy per page: index
    // lookups on a large store touch many pages that SQLite's small page cache misses.
    conn.pragma_update(None, "mmap_size", MMAP_BYTES)?;
    if read_only {
        // Hot index pages stay parsed in SQLite's own cache (the default is 2 MB).
        conn.pragma_update(None, "cache_size", READ_CACHE_KIB)?;
    }
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}
