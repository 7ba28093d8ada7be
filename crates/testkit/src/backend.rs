//! Which storage backend test servers run on: `OPENCALLS_TEST_BACKEND=postgres` puts each
//! data directory's state in its own database on `OPENCALLS_TEST_POSTGRES_URL`'s server
//! (see `opencalls_store_postgres::testing`); anything else (or nothing) keeps SQLite in
//! the data directory.
//!
//! A data directory keeps its database for the whole test binary, so a server restarted
//! on the same directory finds its state; the database is dropped when the last server on
//! the directory is dropped and nobody holds the directory any more (left-overs of restart
//! tests are dropped by `scripts/test`).

use opencalls_store_postgres::testing::TestDatabase;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The backend chosen by `OPENCALLS_TEST_BACKEND`.
pub fn backend() -> Backend {
    match std::env::var("OPENCALLS_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

/// Whether a test that holds only on SQLite should skip on the current backend; prints
/// `why` when it does. Every use is a known gap, listed in the test's comment.
pub fn skip_unless_sqlite(test: &str, why: &str) -> bool {
    let skip = backend() != Backend::Sqlite;
    if skip {
        eprintln!("{test}: skipped on {:?}: {why}", backend());
    }
    skip
}

static DATABASES: LazyLock<Mutex<HashMap<PathBuf, Arc<TestDatabase>>>> =
    LazyLock::new(Mutex::default);

/// The database URL of the data directory `dir`, creating its database on first use.
pub(crate) async fn postgres_url(dir: &Path) -> String {
    if let Some(db) = databases().get(dir) {
        return db.url().to_owned();
    }
    let db = TestDatabase::create()
        .await
        .expect("creating a test database");
    let url = db.url().to_owned();
    databases().insert(dir.to_owned(), Arc::new(db));
    url
}

/// Drops the database of `dir`, if it has one.
pub(crate) fn forget(dir: &Path) {
    let db = databases().remove(dir);
    drop(db);
}

fn databases() -> std::sync::MutexGuard<'static, HashMap<PathBuf, Arc<TestDatabase>>> {
    DATABASES.lock().unwrap_or_else(|e| e.into_inner())
}
