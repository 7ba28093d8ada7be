//! Other nodes' chat messages onto this node's devices (docs/cluster.md, "Chat across
//! nodes").
//!
//! The relay listens to every message any node sends ([`ChatStore::listen_chat`]), skips
//! its own node's (delivered locally when sent) and hands the others to the hub, one at a
//! time in the order they arrive, which keeps each sender's order. When the listening
//! connection breaks, it listens again (after 100 ms, doubling up to 5 s): messages sent
//! meanwhile never reach this node's devices (chat is not stored). It also sweeps the
//! store's chat state every [`SWEEP_EVERY`].

use opencalls_domain::LiveEventId;
use opencalls_store::{ChatBucket, ChatFeed, ChatStore, NodeId, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How often full buckets and old relayed frames are removed.
pub const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// The longest wait between two attempts to listen again.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Where relayed messages go: a live event and its frame, for that event's local devices.
pub type ChatSink = Arc<dyn Fn(&LiveEventId, &str) + Send + Sync>;

/// A running relay; it stops when dropped.
pub struct ChatRelay {
    task: JoinHandle<()>,
}

impl Drop for ChatRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ChatRelay {
    /// Starts listening before it returns, so every message sent after that is relayed.
    pub async fn start(
        store: Arc<dyn ChatStore>,
        node_id: NodeId,
        bucket: ChatBucket,
        sink: ChatSink,
    ) -> Result<Self, StoreError> {
        let feed = store.listen_chat().await?;
        let relay = Relay {
            store,
            node_id,
            bucket,
            sink,
        };
        Ok(Self {
            task: tokio::spawn(relay.run(feed)),
        })
    }
}

struct Relay {
    store: Arc<dyn ChatStore>,
    node_id: NodeId,
    bucket: ChatBucket,
    sink: ChatSink,
}

impl Relay {
    async fn run(self, mut feed: Box<dyn ChatFeed>) {
        let mut sweep = tokio::time::interval(SWEEP_EVERY);
        loop {
            tokio::select! {
                next = feed.next() => match next {
                    Ok(chat) if chat.origin == self.node_id => {}
                    Ok(chat) => (self.sink)(&chat.live_event_id, &chat.frame),
                    Err(err) => {
                        tracing::warn!(%err, "chat relay lost its connection; messages other nodes send until it listens again are lost here");
                        feed = self.listen_again().await;
                    }
                },
                _ = sweep.tick() => {
                    if let Err(err) = self.store.sweep_chat(self.bucket).await {
                        tracing::warn!(%err, "sweeping chat buckets failed");
                    }
                }
            }
        }
    }

    /// Listens again, retrying with a growing pause until it works.
    async fn listen_again(&self) -> Box<dyn ChatFeed> {
        let mut pause = Duration::from_millis(100);
        loop {
            tokio::time::sleep(pause).await;
            match self.store.listen_chat().await {
                Ok(feed) => {
                    tracing::info!("chat relay listens again");
                    return feed;
                }
                Err(err) => {
                    tracing::warn!(%err, retry_in_ms = pause.as_millis() as u64, "chat relay cannot listen");
                    pause = (pause * 2).min(MAX_BACKOFF);
                }
            }
        }
    }
}
