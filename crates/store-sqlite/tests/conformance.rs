//! The backend conformance suite (`opencalls_store::conformance`) against SQLite: every
//! case on a fresh database file in its own temporary directory.

use opencalls_store::conformance::TestStore;
use opencalls_store_sqlite::SqliteStore;

async fn fresh_store() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("db.sqlite")).unwrap();
    TestStore::new(store, dir)
}

opencalls_store::conformance_tests!(fresh_store);

async fn fresh_cluster() -> opencalls_store::conformance::cluster::TestCluster {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("db.sqlite")).unwrap();
    opencalls_store::conformance::cluster::TestCluster {
        cluster: std::sync::Arc::new(store.clone()),
        store: std::sync::Arc::new(store),
        node: opencalls_store::NodeId::parse("only").unwrap(),
        keep: Box::new(dir),
    }
}

opencalls_store::cluster_conformance_tests!(fresh_cluster);
