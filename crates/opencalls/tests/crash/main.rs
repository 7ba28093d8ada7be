//! The real binary: crash safety (`opencalls serve` is SIGKILLed mid-flight and restarted
//! on the same data), online backups, and start-up refusals. One test binary; these tests live in this package because only here
//! does cargo build the binary for them (`CARGO_BIN_EXE_opencalls`). The in-process
//! end-to-end suite is `crates/e2e`.

mod backup;
mod faults;
mod rooms;
mod soak;
mod startup;
mod webhooks;

use opencalls_testkit::binary::Spawned;
use std::path::Path;

/// The master token of every spawned server.
const TOKEN: &str = "crash-test-master-token-0123456789abcdef";

/// Starts this package's `opencalls serve` on `data_dir` with `extra_env`.
async fn serve(data_dir: &Path, extra_env: &[(&str, &str)]) -> Spawned {
    let exe = Path::new(env!("CARGO_BIN_EXE_opencalls"));
    Spawned::serve(exe, data_dir, TOKEN, extra_env).await
}
