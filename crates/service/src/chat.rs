//! Live chat rules: what a message may hold and how fast a user may send (docs/protocol.md,
//! "Chat limits"). Chat is relayed, never stored, so these rules are all there is to it.
//!
//! Invariants: a message holds 1 to [`MAX_CHAT_CHARS`] characters (Unicode scalar values),
//! not only blanks; each user (all of its devices together) has one token bucket of
//! [`CHAT_BURST`] messages refilled at [`CHAT_PER_SECOND`]; a refused message takes no token.
//!
//! One server keeps the buckets in memory ([`ChatLimiter`]). A node of a cluster keeps them
//! in the shared database and relays each message to the other nodes ([`SharedChat`]), so a
//! user's devices on several nodes still share one bucket.

use opencalls_domain::{LiveEventId, UserId};
pub use opencalls_store::NodeMessage;
use opencalls_store::{ChatBucket, ChatStore, NodeId, OutgoingChat};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest chat message, in characters.
pub const MAX_CHAT_CHARS: usize = 1_000;
/// Chat messages a user may send per second, sustained (all of its devices together).
pub const CHAT_PER_SECOND: f64 = 5.0;
/// Chat messages a user may send at once after being quiet.
pub const CHAT_BURST: f64 = 10.0;

/// The bucket of every user, as a [`ChatStore`] keeps it.
pub const BUCKET: ChatBucket = ChatBucket {
    burst: CHAT_BURST,
    per_second: CHAT_PER_SECOND,
};

/// Why a chat message is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChatError {
    #[error("message must hold 1 to {MAX_CHAT_CHARS} characters, not only spaces; got {chars}")]
    BadLength { chars: usize },
    #[error(
        "too many chat messages: at most {CHAT_PER_SECOND} per second (bursts of {CHAT_BURST})"
    )]
    RateLimited,
    /// The shared store could not take the token or relay the message: nothing was sent.
    #[error("chat is unavailable right now; try again")]
    Unavailable,
}

/// Checks a message's text.
pub fn check_message(message: &str) -> Result<(), ChatError> {
    let chars = message.chars().count();
    if message.trim().is_empty() || chars > MAX_CHAT_CHARS {
        return Err(ChatError::BadLength { chars });
    }
    Ok(())
}

/// A token bucket: `tokens` as of `at`.
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The per-user chat rate limit.
#[derive(Default)]
pub struct ChatLimiter {
    buckets: Mutex<HashMap<UserId, Bucket>>,
}

impl ChatLimiter {
    /// Takes one of the user's tokens, or refuses when the user sends too fast.
    pub fn take(&self, user: &UserId) -> Result<(), ChatError> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = buckets.entry(user.clone()).or_insert(Bucket {
            tokens: CHAT_BURST,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * CHAT_PER_SECOND;
        bucket.tokens = (bucket.tokens + refill).min(CHAT_BURST);
        bucket.at = now;
        if bucket.tokens < 1.0 {
            return Err(ChatError::RateLimited);
        }
        bucket.tokens -= 1.0;
        Ok(())
    }

    /// Forgets buckets refilled to the brim: they hold nothing worth remembering.
    pub fn sweep(&self) {
        let full = Duration::from_secs_f64(CHAT_BURST / CHAT_PER_SECOND);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        buckets.retain(|_, b| b.at.elapsed() < full);
    }
}

/// Chat of a cluster node: the user's bucket and the relay to other nodes live in the
/// shared store, one atomic call per message. The same relay carries the other
/// live-event frames that are not stored and typed [`NodeMessage`]s to the other nodes.
#[derive(Clone)]
pub struct SharedChat {
    store: Arc<dyn ChatStore>,
    node: NodeId,
}

impl SharedChat {
    pub fn new(store: Arc<dyn ChatStore>, node: NodeId) -> Self {
        Self { store, node }
    }

    /// Takes one of the user's tokens and relays `frame` to the live event's devices on the
    /// other nodes; refuses (nothing relayed) when the user sends too fast.
    pub async fn send(
        &self,
        user: &UserId,
        live_event_id: &LiveEventId,
        frame: &str,
    ) -> Result<(), ChatError> {
        let chat = OutgoingChat {
            user,
            bucket: BUCKET,
            origin: &self.node,
            live_event_id,
            frame,
        };
        match self.store.send_chat(chat).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(ChatError::RateLimited),
            Err(err) => {
                tracing::error!(%live_event_id, %err, "sending a chat message through the store failed");
                Err(ChatError::Unavailable)
            }
        }
    }

    /// Relays a live-event frame that is not stored (and not chat: no bucket) to the live
    /// event's devices on the other nodes. Best effort: a failure is logged, and those
    /// devices miss the frame as they would with their node's listener down.
    pub async fn relay_live_frame(&self, live_event_id: &LiveEventId, frame: &str) {
        let relayed = self
            .store
            .relay_live_frame(&self.node, live_event_id, frame)
            .await;
        if let Err(err) = relayed {
            tracing::warn!(%live_event_id, %err, "relaying a live frame to the other nodes failed");
        }
    }

    /// Tells the other nodes `message`. Best effort, like [`Self::relay_live_frame`].
    pub async fn broadcast(&self, message: NodeMessage) {
        if let Err(err) = self.store.broadcast(&self.node, &message).await {
            tracing::warn!(?message, %err, "telling the other nodes failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_messages_are_bounded() {
        assert_eq!(check_message("hi"), Ok(()));
        assert!(check_message("").is_err());
        assert!(check_message("  ").is_err());
        let longest = "é".repeat(MAX_CHAT_CHARS);
        assert!(check_message(&longest).is_ok());
        assert!(check_message(&format!("{longest}x")).is_err());
    }

    #[test]
    fn a_burst_then_the_limit() {
        let limiter = ChatLimiter::default();
        let user = UserId::parse("u").unwrap();
        for _ in 0..CHAT_BURST as usize {
            assert_eq!(limiter.take(&user), Ok(()));
        }
        assert_eq!(limiter.take(&user), Err(ChatError::RateLimited));
        let other = UserId::parse("v").unwrap();
        assert_eq!(limiter.take(&other), Ok(()), "buckets are per user");
    }
}
