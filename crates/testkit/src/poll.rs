//! Polling with a deadline: the one way tests wait for something that happens
//! asynchronously (a delivery, a state change, media flowing). A condition is checked every
//! [`EVERY`]; at the deadline the test fails with what it waited for and, for
//! [`eventually`], the last thing it saw.

use std::fmt::Display;
use std::time::Duration;

/// How often a condition is checked.
pub const EVERY: Duration = Duration::from_millis(20);
/// The usual deadline for signaling and the Platform API.
pub const WAIT: Duration = Duration::from_secs(5);
/// The deadline for media (ICE, DTLS, keyframes) and webhook deliveries.
pub const SLOW: Duration = Duration::from_secs(20);

/// Polls `check` until it holds; panics with `what` once `within` has passed.
pub async fn until(what: &str, within: Duration, mut check: impl AsyncFnMut() -> bool) {
    eventually(what, within, async || {
        if check().await {
            Ok(())
        } else {
            Err("not yet")
        }
    })
    .await
}

/// Polls `check` until it gives `Ok`, and returns that value; panics with `what` and the
/// last `Err` (what was seen instead) once `within` has passed.
pub async fn eventually<T, E: Display>(
    what: &str,
    within: Duration,
    mut check: impl AsyncFnMut() -> Result<T, E>,
) -> T {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(seen) => assert!(
                tokio::time::Instant::now() < deadline,
                "timed out after {within:?}: {what}; last seen: {seen}"
            ),
        }
        tokio::time::sleep(EVERY).await;
    }
}
