//! Media placement shared by the nodes of a cluster (docs/cluster.md, "Media placement"):
//! which node's SFU carries each room's, live event's or direct call's media, and the
//! notes nodes send each other about it (forwarded offers and their answers, the owner's
//! client events).
//!
//! Invariants every implementation keeps:
//! - [`MediaStore::place_media`] returns one owner per group to every caller, concurrent
//!   ones included: the recorded owner while it is alive, else (nobody, or a dead node) the
//!   least-loaded live node, recorded in the same atomic step;
//! - a placement is only removed for the node that owns it, so a node that dropped its
//!   placement cannot remove its successor's;
//! - the notes one node sends one after the other reach every [`MediaFeed`] in that order;
//!   a feed yields only notes from other nodes, addressed to its node or to every node.
//!
//! A one-process backend (SQLite) has no other node: it does not implement this trait and
//! every group's media stays on the one server.

use crate::{NodeId, StoreError};
use async_trait::async_trait;
use opencalls_domain::{DirectCallId, LiveEventId, Millis, RoomId};

/// A group of media placed on one node: the call it carries.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PlacedGroup {
    Room(RoomId),
    Live(LiveEventId),
    Call(DirectCallId),
}

impl PlacedGroup {
    /// The kind, as the placement key records it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Room(_) => "room",
            Self::Live(_) => "live",
            Self::Call(_) => "call",
        }
    }

    /// The id of the room, live event or call.
    pub fn id(&self) -> &str {
        match self {
            Self::Room(id) => id.as_str(),
            Self::Live(id) => id.as_str(),
            Self::Call(id) => id.as_str(),
        }
    }
}

/// A note between nodes: `body` (the sender's typed message, encoded) from `from` to one
/// node, or to every node when `to` is `None`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaNote {
    pub from: NodeId,
    pub to: Option<NodeId>,
    pub body: String,
}

/// The largest note body accepted (an SDP offer with simulcast and its envelope fit).
pub const MAX_NOTE_BODY: usize = 256 * 1024;

#[async_trait]
pub trait MediaStore: Send + Sync {
    /// The node whose SFU carries `group`, placing it if needed (see the module doc). The
    /// candidates are the nodes alive at `now` and `me` (the asking node); on equal load
    /// `me` wins, so a group whose first device is here stays here when the nodes are even.
    async fn place_media(
        &self,
        group: &PlacedGroup,
        me: &NodeId,
        now: Millis,
    ) -> Result<NodeId, StoreError>;

    /// Forgets `group`'s placement if `node` owns it (its media there ended).
    async fn drop_media_placement(
        &self,
        group: &PlacedGroup,
        node: &NodeId,
    ) -> Result<(), StoreError>;

    /// Forgets every placement of `node` (it leaves the cluster); returns how many went.
    async fn drop_node_placements(&self, node: &NodeId) -> Result<u64, StoreError>;

    /// Sends a note (`Backend` if its body is over [`MAX_NOTE_BODY`]: nothing is sent).
    async fn send_media_note(&self, note: &MediaNote) -> Result<(), StoreError>;

    /// Starts listening for `me`: the returned feed yields every note other nodes send to
    /// `me` or to every node from now on, until it fails; then listen again.
    async fn listen_media(&self, me: &NodeId) -> Result<Box<dyn MediaFeed>, StoreError>;

    /// Forgets placements of nodes no longer registered and notes old enough to be read.
    async fn sweep_media(&self) -> Result<(), StoreError>;
}

/// Notes as they are sent, in order.
#[async_trait]
pub trait MediaFeed: Send {
    /// The next note; an error means the feed is broken (listen again).
    async fn next(&mut self) -> Result<MediaNote, StoreError>;
}
