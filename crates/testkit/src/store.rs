//! The one place outside the server that opens a storage backend directly (benchmark
//! seeding, schema probes). Backends come and go behind the `Store` traits; only this
//! function names one.

use opencalls_store::Store;
use opencalls_store_sqlite::SqliteStore;
use std::path::Path;
use std::sync::Arc;

/// Opens (migrating if needed) the PostgreSQL database at `url`.
pub async fn open_postgres(url: &str) -> Result<Arc<dyn Store>, opencalls_store::StoreError> {
    let store = opencalls_store_postgres::PostgresStore::open(
        url,
        opencalls_store_postgres::DEFAULT_POOL_SIZE,
    )
    .await?;
    Ok(Arc::new(store))
}

/// Settles the PostgreSQL database at `url` after a bulk load as a running server and
/// its background workers would (`PostgresStore::settle`: the outbox numbered
/// and judged for webhooks, vacuum, statistics, checkpoint).
pub async fn settle_postgres(url: &str) -> Result<(), opencalls_store::StoreError> {
    opencalls_store_postgres::PostgresStore::open(url, 1)
        .await?
        .settle()
        .await
}

/// Opens (creating and migrating if needed) the SQLite database at `path`.
pub fn open_sqlite(path: &Path) -> Result<Arc<dyn Store>, opencalls_store::StoreError> {
    Ok(Arc::new(SqliteStore::open(path)?))
}
