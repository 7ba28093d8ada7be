//! What `opencalls serve` refuses at start-up, with a message naming the fix.

use std::time::Duration;
use tokio::process::Command;

#[tokio::test]
async fn a_short_master_token_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_opencalls"))
        .arg("serve")
        .env("OPENCALLS_HTTP_ADDR", "127.0.0.1:0")
        .env("OPENCALLS_DATA_DIR", dir.path())
        .env("OPENCALLS_API_TOKEN", "short-but-not-empty-token")
        .env("OPENCALLS_LOG", "warn")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the server exits instead of serving")
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("at least 32") && stderr.contains("OPENCALLS_API_TOKEN"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains("listening"));
}
