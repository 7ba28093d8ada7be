//! Throw-away databases for tests: each test (or test server) gets its own database on the
//! server named by `OPENCALLS_TEST_POSTGRES_URL` (an admin connection, default
//! [`DEFAULT_ADMIN_URL`]), dropped when the [`TestDatabase`] is dropped.

use tokio_postgres::NoTls;

/// The admin connection used when `OPENCALLS_TEST_POSTGRES_URL` is not set.
pub const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The admin URL of the test server, from the environment or the default.
pub fn admin_url() -> String {
    std::env::var("OPENCALLS_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned())
}

/// A freshly created, empty database; dropped (with any connections left) on drop.
pub struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// Creates a database with a unique name on the server of [`admin_url`].
    pub async fn create() -> Result<Self, String> {
        let admin_url = admin_url();
        let name = format!("opencalls_test_{}", uuid::Uuid::new_v4().simple());
        run_admin(&admin_url, &format!("CREATE DATABASE {name}")).await?;
        let url = with_database(&admin_url, &name);
        Ok(Self {
            admin_url,
            name,
            url,
        })
    }

    /// The URL of the new database (the admin URL with its database replaced).
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin_url, sql) = (
            self.admin_url.clone(),
            format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
        // Drop may run inside a runtime that must not block: a thread of its own does it.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(run_admin(&admin_url, &sql))
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("dropping test database {}: {e}", self.name);
        }
    }
}

/// The nodes recorded in `cluster_nodes` of the database at `url`, by id: each node's id
/// and the node that claimed it (cleaning up after it), if any.
pub async fn recorded_nodes(url: &str) -> Result<Vec<(String, Option<String>)>, String> {
    let sql = "SELECT node_id, claimed_by FROM cluster_nodes ORDER BY node_id";
    let rows = query(url, sql, &[]).await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Ends the lease of the unclaimed nodes whose id starts with `prefix` in the database at
/// `url`, as if they had stopped renewing (a node cut off from the database); how many.
pub async fn expire_nodes(url: &str, prefix: &str) -> Result<usize, String> {
    let sql = "UPDATE cluster_nodes
               SET expires_at = floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint
               WHERE starts_with(node_id, $1) AND claimed_by IS NULL RETURNING node_id";
    Ok(query(url, sql, &[&prefix]).await?.len())
}

async fn query(
    url: &str,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<tokio_postgres::Row>, String> {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(|e| format!("connecting to {url}: {e}"))?;
    let driver = tokio::spawn(connection);
    let rows = client.query(sql, params).await.map_err(|e| e.to_string());
    drop(client);
    let _ = driver.await;
    rows
}

async fn run_admin(admin_url: &str, sql: &str) -> Result<(), String> {
    let (client, connection) = tokio_postgres::connect(admin_url, NoTls)
        .await
        .map_err(|e| format!("connecting to {admin_url}: {e}"))?;
    let driver = tokio::spawn(connection);
    let result = client.batch_execute(sql).await.map_err(|e| e.to_string());
    drop(client);
    let _ = driver.await;
    result
}

/// `url` with its database name replaced by `name` (query parameters kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let root = match base[authority_start..].find('/') {
        Some(i) => &base[..authority_start + i],
        None => base,
    };
    format!("{root}/{name}{query}")
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_of_a_url_is_replaced() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h:1", "x"), "postgres://h:1/x");
    }
}
