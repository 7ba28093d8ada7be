//! Live chat shared by the nodes of a cluster (docs/cluster.md, "Chat across nodes"): one
//! rate-limit bucket per user for all nodes, and a relay of each sent message to the other
//! nodes. Chat is never stored: a message that a node misses (its relay connection was
//! down) is lost for that node's devices.
//!
//! Invariants every implementation keeps:
//! - [`ChatStore::send_chat`] takes a token of the user's bucket and relays the message in
//!   one atomic step: a refused message takes no token and reaches nobody;
//! - the messages one sender sends one after the other (each awaited) reach every
//!   [`ChatFeed`] in that order.
//!
//! A one-process backend (SQLite) has no other node: it does not implement this trait and
//! the hub keeps its in-memory limiter.

use crate::{NodeId, StoreError};
use async_trait::async_trait;
use opencalls_domain::{LiveEventId, UserId};

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

/// A message some node sent, as a feed hands it over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayedChat {
    pub origin: NodeId,
    pub live_event_id: LiveEventId,
    pub frame: String,
}

#[async_trait]
pub trait ChatStore: Send + Sync {
    /// Takes one token of the user's bucket and relays the message; `false` (nothing
    /// taken, nothing relayed) when the bucket holds less than one token.
    async fn send_chat(&self, chat: OutgoingChat<'_>) -> Result<bool, StoreError>;

    /// Starts listening: the returned feed yields every message sent from now on, by any
    /// node (its own included), until it fails; then listen again.
    async fn listen_chat(&self) -> Result<Box<dyn ChatFeed>, StoreError>;

    /// Forgets buckets full again by now and relayed messages old enough to be read.
    async fn sweep_chat(&self, bucket: ChatBucket) -> Result<(), StoreError>;
}

/// Messages as they are sent, in order.
#[async_trait]
pub trait ChatFeed: Send {
    /// The next message; an error means the feed is broken (listen again).
    async fn next(&mut self) -> Result<RelayedChat, StoreError>;
}
