//! Real-time media workers (`SfuConfig::realtime_priority`), in a test binary of their own:
//! it reads the scheduling policy of every `sfu-media-*` thread of the process, so no
//! other test's workers may run beside it.

mod common;

use common::*;
use opencalls_sfu::{Policy, SfuConfig};

/// The scheduling policy (`/proc/self/task/<tid>/stat`, field 41) of each `sfu-media-*`
/// thread of this process.
fn media_thread_policies() -> Vec<u32> {
    let mut policies = Vec::new();
    for (_, dir) in media_threads() {
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap();
        // Fields after the command name (which may hold spaces) start at field 3.
        let after = &stat[stat.rfind(')').unwrap() + 1..];
        let policy = after.split_whitespace().nth(41 - 3).unwrap();
        policies.push(policy.parse().unwrap());
    }
    policies
}

/// Whether this process runs as root (it may then take real-time scheduling).
fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|uids| uids.split_whitespace().nth(1))
        == Some("0")
}

/// With `realtime_priority`, every media worker thread runs under `SCHED_FIFO` (policy 1)
/// when the process may take it (root, as in CI; otherwise each worker logs a warning and
/// keeps the normal policy), and forwarding works as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_workers_run_real_time_when_asked() {
    let h = Harness::start(SfuConfig {
        workers: 2,
        realtime_priority: Some(1),
        ..SfuConfig::default()
    });
    h.sfu.create_group(gid("r"), Policy::Video).await.unwrap();
    let _pair = h.join_pair("r").await;
    let policies = media_thread_policies();
    assert_eq!(policies.len(), 2, "{policies:?}");
    let expected = if is_root() { 1 } else { 0 };
    assert!(policies.iter().all(|p| *p == expected), "{policies:?}");
    h.sfu.shutdown().await;
}
