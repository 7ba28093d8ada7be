//! The media layer of OpenCalls: a selective forwarding unit (SFU) built on str0m.
//!
//! It knows nothing of HTTP, SQL or rooms' business rules. The signaling layer drives it with
//! commands through [`SfuHandle`] (create a group with a [`Policy`], add a peer from an SDP
//! offer and get the answer, set subscriptions, pause/resume, enable live forwarding, remove)
//! and receives [`SfuEvent`]s. Groups are spread over N media workers (`workers`), each a
//! thread owning its own core (pinned to it, `affinity`), UDP socket (sends batched with
//! `sendmmsg`, `batch`; reads stamped with the kernel's receive time, `recv`) and ICE-TCP
//! listener (`tcp`); see `docs/media.md` for the
//! architecture.
//!
//! Layout: [`SfuCore`] (module `engine`) is the sans-IO core: datagrams, commands and `now`
//! in; transmits, events and its next timeout out. `shell` is the thin socket loop of the
//! media worker around it; `workers` places groups on workers; `handle` is the caller's side (commands and events over bounded
//! queues); `api` and `config` are the shared vocabulary.
#![forbid(unsafe_code)]

mod affinity;
mod api;
mod batch;
mod config;
mod engine;
mod handle;
mod recv;
mod shell;
mod tcp;
mod workers;

pub use api::{
    DisconnectReason, GroupId, KeyframeCause, Kind, Path, PeerId, PeerSnapshot, Policy, Role,
    SfuError, SfuEvent, SfuStats, Subscriptions,
};
pub use config::{
    COMMAND_QUEUE_LIMIT, EVENT_QUEUE_LIMIT, KEYFRAME_REQUEST_INTERVAL, MAX_ADDRS_PER_PEER,
    MAX_DATAGRAM, MAX_OFFER_BYTES, MAX_SLOTS_PER_KIND, MAX_TCP_CONNECTIONS, RECV_BURST,
    SEND_BATCH_LIMIT, SfuConfig, TCP_SEND_QUEUE,
};
pub use engine::{SfuCore, Transmit};
pub use handle::{AddPeer, Sfu, SfuEvents, SfuHandle};
