//! What other nodes say without storing it, onto this node (docs/cluster.md, "Chat across
//! nodes" and "Node-to-node messages").
//!
//! The relay listens to every notice any node sends ([`ChatStore::listen`]), skips its own
//! node's live frames and messages (acted on locally when sent) and hands the others over,
//! one at a time in the order they arrive, which keeps each sender's order: live frames
//! (chat, `live.host_media_changed`) to the hub, [`NodeMessage`]s to the node's handler,
//! the outbox sequencer's heads to the event tail ([`TailWaker`]). When the listening
//! connection breaks, it listens again ([`crate::relisten`]: 100 ms, doubling up to
//! 5 s): what was sent meanwhile never reaches this node (none of it is stored), except
//! events, which the tail reads once it is woken after listening again; `relistened` is
//! then told, so the node rechecks what a missed message would have changed (its
//! connections' sessions). It also sweeps the store's chat state
//! every [`SWEEP_EVERY`].

use crate::relisten::listen_again;
use crate::tail::TailWaker;
use opencalls_domain::LiveEventId;
use opencalls_store::{ChatBucket, ChatStore, NodeId, NodeMessage, Notice, NoticeFeed, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// How often full buckets and old relayed frames are removed.
pub const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// Where relayed messages go: a live event and its frame, for that event's local devices.
pub type ChatSink = Arc<dyn Fn(&LiveEventId, &str) + Send + Sync>;

/// Where other nodes' [`NodeMessage`]s go (it must not block: it spawns what waits).
pub type NodeSink = Arc<dyn Fn(NodeMessage) + Send + Sync>;

/// Where the relay hands what it hears.
pub struct Sinks {
    pub chat: ChatSink,
    pub node: NodeSink,
    pub tail: TailWaker,
    /// Called each time the relay listens again after its connection broke.
    pub relistened: Arc<dyn Fn() + Send + Sync>,
}

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
        sinks: Sinks,
    ) -> Result<Self, StoreError> {
        let feed = store.listen().await?;
        // Whatever was sequenced before the listening began is read now.
        sinks.tail.wake();
        let relay = Relay {
            store,
            node_id,
            bucket,
            sinks,
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
    sinks: Sinks,
}

impl Relay {
    async fn run(self, mut feed: Box<dyn NoticeFeed>) {
        let mut sweep = tokio::time::interval(SWEEP_EVERY);
        loop {
            tokio::select! {
                next = feed.next() => match next {
                    Ok(notice) => self.hand_over(notice),
                    Err(err) => {
                        tracing::warn!(%err, "the node's listener lost its connection; chat and messages other nodes send until it listens again are lost here");
                        feed = listen_again("chat", || self.store.listen()).await;
                        self.sinks.tail.wake();
                        (self.sinks.relistened)();
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

    fn hand_over(&self, notice: Notice) {
        match notice {
            Notice::Chat(chat) if chat.origin == self.node_id => {}
            Notice::Chat(chat) => (self.sinks.chat)(&chat.live_event_id, &chat.frame),
            Notice::OutboxSequenced { head } => self.sinks.tail.sequenced(head),
            Notice::FromNode { origin, .. } if origin == self.node_id => {}
            Notice::FromNode { message, .. } => (self.sinks.node)(message),
        }
    }
}
