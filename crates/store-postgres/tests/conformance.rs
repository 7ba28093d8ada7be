//! The backend conformance suite on PostgreSQL: every case in its own fresh database on the
//! server named by `OPENCALLS_TEST_POSTGRES_URL` (see `opencalls_store_postgres::testing`).

use opencalls_store::conformance::TestStore;
use opencalls_store_postgres::PostgresStore;
use opencalls_store_postgres::testing::TestDatabase;

async fn fresh_store() -> TestStore {
    let db = TestDatabase::create().await.expect("test database");
    let store = PostgresStore::open(db.url(), 8).await.expect("open store");
    TestStore::new(store, db)
}

opencalls_store::conformance_tests!(fresh_store);

async fn fresh_cluster() -> opencalls_store::conformance::cluster::TestCluster {
    let db = TestDatabase::create().await.expect("test database");
    let node = opencalls_store::NodeId::parse("n1").unwrap();
    let store = PostgresStore::open_node(db.url(), 8, Some(&node))
        .await
        .expect("open store");
    opencalls_store::conformance::cluster::TestCluster {
        cluster: std::sync::Arc::new(store.clone()),
        store: std::sync::Arc::new(store),
        node,
        keep: Box::new(db),
    }
}

opencalls_store::cluster_conformance_tests!(fresh_cluster);
