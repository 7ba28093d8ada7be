//! The media layer of OpenCalls: a selective forwarding unit (SFU) built on str0m.
//!
//! It knows nothing of HTTP, SQL or rooms' business rules. The signaling layer drives it with
//! commands through [`SfuHandle`] (create a group with a [`Policy`], add a peer from an SDP
//! offer and get the answer, set subscriptions, pause/resume, enable live forwarding, remove)
//! and receives [`SfuEvent`]s. One media thread owns the UDP socket and all state; see
//! `docs/media.md` for the architecture.
#![forbid(unsafe_code)]

mod api;
mod commands;
mod config;
mod demux;
mod engine;
mod group;
mod handle;
mod media;
mod offer;
mod peer;
mod stats;

pub use api::{
    DisconnectReason, GroupId, KeyframeCause, Kind, PeerId, Policy, Role, SfuError, SfuEvent,
    SfuStats, Subscriptions,
};
pub use config::{
    COMMAND_QUEUE_LIMIT, EVENT_QUEUE_LIMIT, KEYFRAME_REQUEST_INTERVAL, MAX_ADDRS_PER_PEER,
    MAX_DATAGRAM, MAX_OFFER_BYTES, MAX_SLOTS_PER_KIND, RECV_BURST, SfuConfig,
};
pub use handle::{AddPeer, Sfu, SfuEvents, SfuHandle};
