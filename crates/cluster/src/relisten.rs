//! Listening again after a node's listening connection broke, written once for the chat
//! relay and the media relay (both feeds share that connection, so they both lose it at
//! once and the first to listen again opens the new one).
//!
//! Invariant: the pause between attempts starts at [`FIRST_PAUSE`] and doubles up to
//! [`MAX_BACKOFF`], so a database that is down is not hammered and one that is back is
//! used again within [`MAX_BACKOFF`].

use opencalls_store::StoreError;
use std::future::Future;
use std::time::Duration;

/// The first pause before listening again.
pub const FIRST_PAUSE: Duration = Duration::from_millis(100);

/// The longest pause between two attempts to listen again.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Calls `listen` after a growing pause until it works; `what` names the feed in the log.
pub async fn listen_again<T, F, Fut>(what: &'static str, mut listen: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut pause = FIRST_PAUSE;
    loop {
        tokio::time::sleep(pause).await;
        match listen().await {
            Ok(feed) => {
                tracing::info!(feed = what, "the node listens again");
                return feed;
            }
            Err(err) => {
                let retry_in_ms = pause.as_millis() as u64;
                tracing::warn!(feed = what, %err, retry_in_ms, "the node cannot listen");
                pause = next_pause(pause);
            }
        }
    }
}

/// The pause after `pause` failed to help.
fn next_pause(pause: Duration) -> Duration {
    (pause * 2).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pause_doubles_up_to_the_cap() {
        let pauses: Vec<u128> = std::iter::successors(Some(FIRST_PAUSE), |p| Some(next_pause(*p)))
            .take(8)
            .map(|p| p.as_millis())
            .collect();
        assert_eq!(pauses, [100, 200, 400, 800, 1_600, 3_200, 5_000, 5_000]);
    }

    #[tokio::test]
    async fn it_retries_until_listening_works() {
        let calls = std::sync::atomic::AtomicU32::new(0);
        let got = listen_again("test", || async {
            match calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) {
                0..=1 => Err(StoreError::Backend("down".into())),
                n => Ok(n),
            }
        })
        .await;
        assert_eq!(got, 2);
    }
}
