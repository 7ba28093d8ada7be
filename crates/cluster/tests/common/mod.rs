//! Helpers shared by the cluster crate's integration tests (each test file is its own
//! binary and includes this module).

use opencalls_cluster::ClusterConfig;
use opencalls_store::{NodeId, NodeInfo};
use std::time::{Duration, Instant};

/// A node `id` with a lease of `lease_ms` and a 10 ms tail poll.
pub fn config(id: &str, lease_ms: u64) -> ClusterConfig {
    ClusterConfig {
        node: NodeInfo {
            node_id: NodeId::parse(id).unwrap(),
            http_addr: "127.0.0.1:1".into(),
            media_addr: "127.0.0.1:2".into(),
        },
        lease: Duration::from_millis(lease_ms),
        tail_poll: Duration::from_millis(10),
    }
}

/// Polls `ok` every 5 ms until it holds; fails the test after 10 s.
pub async fn until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
