//! What the nodes of a cluster tell each other without storing it (docs/cluster.md, "Chat
//! across nodes" and "Node-to-node messages"): live chat (one rate-limit bucket per user
//! for all nodes, each sent message relayed to the other nodes), other live-event frames
//! that are not stored (`live.host_media_changed`), typed [`NodeMessage`]s (session
//! revocations, a device that moved), and the outbox sequencer's wake-ups. None of it is
//! stored: what a node misses while its listening connection is down is lost for it
//! (the outbox tail's slow poll catches up on events, which are stored).
//!
//! Invariants every implementation keeps:
//! - [`ChatStore::send_chat`] takes a token of the user's bucket and relays the message in
//!   one atomic step: a refused message takes no token and reaches nobody;
//! - what one sender relays one after the other (each awaited) reaches every
//!   [`NoticeFeed`] in that order;
//! - a feed hands over [`Notice::OutboxSequenced`] after the sequenced events are visible
//!   to the feed's store.
//!
//! A one-process backend (SQLite) has no other node: it does not implement this trait and
//! the hub keeps its in-memory limiter.

use crate::{NodeId, StoreError};
use async_trait::async_trait;
use opencalls_domain::{DeviceKey, LiveEventId, UserId};
use serde::{Deserialize, Serialize};

/// A user's token bucket: `burst` tokens at most, refilled at `per_second`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChatBucket {
    pub burst: f64,
    pub per_second: f64,
}

/// A message to send: charged to `user`'s bucket, relayed to every node as `frame` (the
/// live-event frame its devices get, as it is).
#[derive(Clone, Copy, Debug)]
pub struct OutgoingChat<'a> {
    pub user: &'a UserId,
    pub bucket: ChatBucket,
    /// The sending node (its own feed skips the message: it delivered it already).
    pub origin: &'a NodeId,
    pub live_event_id: &'a LiveEventId,
    pub frame: &'a str,
}

/// A live-event frame some node relayed (a chat message, or another frame that is not
/// stored), as a feed hands it over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayedChat {
    pub origin: NodeId,
    pub live_event_id: LiveEventId,
    pub frame: String,
}

/// A typed message from one node to the others, about something that is not stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NodeMessage {
    /// Every session of the user was revoked (token revocation, deactivation): its
    /// connections on every node close with `session_revoked`.
    SessionsRevoked { user_id: UserId },
    /// The device said `hello` to the sending node, which now holds its seats: a
    /// connection of the device on another node is an older one and closes (`replaced`).
    DeviceMoved { device: DeviceKey },
}

/// What a node hears on its listening connection, in the order the database sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// A live-event frame for the live event's devices.
    Chat(RelayedChat),
    /// The outbox sequencer numbered the committed events up to `head`: a tail behind it
    /// has events to read.
    OutboxSequenced { head: i64 },
    /// A [`NodeMessage`] some node (this one included) broadcast.
    FromNode {
        origin: NodeId,
        message: NodeMessage,
    },
}

#[async_trait]
pub trait ChatStore: Send + Sync {
    /// Takes one token of the user's bucket and relays the message; `false` (nothing
    /// taken, nothing relayed) when the bucket holds less than one token.
    async fn send_chat(&self, chat: OutgoingChat<'_>) -> Result<bool, StoreError>;

    /// Relays a live-event frame that is not chat (no bucket) to every node's feed.
    async fn relay_live_frame(
        &self,
        origin: &NodeId,
        live_event_id: &LiveEventId,
        frame: &str,
    ) -> Result<(), StoreError>;

    /// Sends `message` to every node's feed (this node's included), as sent by `origin`.
    async fn broadcast(&self, origin: &NodeId, message: &NodeMessage) -> Result<(), StoreError>;

    /// Starts listening: the returned feed yields every notice sent from now on, by any
    /// node (its own included), until it fails; then listen again.
    async fn listen(&self) -> Result<Box<dyn NoticeFeed>, StoreError>;

    /// Forgets buckets full again by now and relayed messages old enough to be read.
    async fn sweep_chat(&self, bucket: ChatBucket) -> Result<(), StoreError>;
}

/// Notices as they are sent, in order.
#[async_trait]
pub trait NoticeFeed: Send {
    /// The next notice; an error means the feed is broken (listen again).
    async fn next(&mut self) -> Result<Notice, StoreError>;
}
