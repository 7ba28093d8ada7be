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
