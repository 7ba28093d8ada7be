//! The vocabulary the signaling layer speaks with the media layer: ids, policies, commands'
//! arguments, events and errors. Nothing here knows about HTTP, SQL or rooms' business rules.
//!
//! Invariant: these types are the crate's stable public surface (the signaling layer, the
//! server and tests use them); the core and the shell speak them too.

use std::fmt;
use std::time::Duration;

/// Identifies a forwarding group (a room or a live event, as chosen by the caller).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(pub String);

/// Identifies one media peer (one WebRTC transport), unique across all groups.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub String);

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The forwarding policy of a group, fixed when the group is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Everyone publishes audio and video; every other peer receives them.
    Video,
    /// Audio only; only the `max_active_speakers` loudest publishers are forwarded.
    AudioOnly { max_active_speakers: usize },
    /// One publisher (the host); viewers receive its media only while forwarding is enabled.
    Live,
}

/// What a peer may do in its group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Publishes (if its offer sends media) and receives others' media.
    Participant,
    /// The one publisher of a live group.
    Host,
    /// Receives only; an offer that sends media is refused.
    Viewer,
}

/// The kind of a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Audio,
    Video,
}

/// Whose tracks a peer receives (within the limits of the group's policy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscriptions {
    /// Every other publisher of the group (the default).
    All,
    /// Only these publishers.
    Only(Vec<PeerId>),
}

/// Why a peer left the media layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectReason {
    /// `remove_peer` or `remove_group` was called.
    Removed,
    /// ICE/DTLS never came up within the connect timeout.
    ConnectTimeout,
    /// Nothing was received for the transport timeout, or ICE/DTLS closed.
    TransportLost,
    /// The WebRTC stack reported an unrecoverable error.
    Failed,
}

/// How a peer's media reaches the SFU (the selected candidate pair, as the SFU sees it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Path {
    /// UDP from one of the client's own (host or server-reflexive) addresses.
    Udp,
    /// ICE over TCP (RFC 6544) to the SFU's passive candidate.
    Tcp,
    /// UDP from a TURN relay address the client's offer listed as `typ relay`.
    Relay,
}

impl Path {
    /// The metric label.
    pub const fn as_str(self) -> &'static str {
        match self {
            Path::Udp => "udp",
            Path::Tcp => "tcp",
            Path::Relay => "relay",
        }
    }
}

/// Something that happened in the media layer, delivered on the bounded event queue.
#[derive(Debug, Clone, PartialEq)]
pub enum SfuEvent {
    /// ICE and DTLS are up and (for a publisher) its first media arrived, over `path`.
    PeerConnected {
        group: GroupId,
        peer: PeerId,
        path: Path,
    },
    /// The peer is gone and all its resources are freed.
    PeerDisconnected {
        group: GroupId,
        peer: PeerId,
        reason: DisconnectReason,
    },
    /// A publisher's track of `kind` started (or restarted after a gap) receiving media.
    MediaStarted {
        group: GroupId,
        peer: PeerId,
        kind: Kind,
    },
    /// A publisher's track of `kind` received nothing for the media timeout.
    MediaStopped {
        group: GroupId,
        peer: PeerId,
        kind: Kind,
    },
    /// Smoothed RFC 6464 level of a publisher, in -dBov (0 = loudest, -127 = silence).
    AudioLevel {
        group: GroupId,
        peer: PeerId,
        level: i8,
    },
    /// The set of forwarded speakers of an audio-only group changed (loudest first).
    ActiveSpeakersChanged {
        group: GroupId,
        speakers: Vec<PeerId>,
    },
    /// A keyframe was requested from a publisher (a subscriber joined, asked, or resumed).
    KeyframeRequested {
        group: GroupId,
        peer: PeerId,
        cause: KeyframeCause,
    },
    /// The receive slot `mid` of `peer` now carries `source`'s track (None = idle).
    TrackRouted {
        group: GroupId,
        peer: PeerId,
        mid: String,
        kind: Kind,
        source: Option<PeerId>,
    },
    /// `count` events were dropped because the event queue was full; sent as soon as the
    /// queue has room again. The receiver reconciles its view with `SfuHandle::peers`.
    EventsLost { count: u64 },
}

/// One peer as the media layer sees it now (`SfuHandle::peers`), to reconcile a view that
/// missed events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSnapshot {
    pub group: GroupId,
    pub peer: PeerId,
    /// Whether `PeerConnected` was emitted for it.
    pub connected: bool,
    /// The kinds of its published tracks that are receiving media (between `MediaStarted`
    /// and `MediaStopped`).
    pub media: Vec<Kind>,
}

/// Why a keyframe was requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyframeCause {
    /// A subscriber started receiving this video (join, slot change, forwarding enabled).
    NewSubscriber,
    /// A subscriber sent PLI or FIR.
    SubscriberRequest,
    /// Forwarding of the video was resumed.
    Resumed,
    /// A subscriber's slot switches to this simulcast layer (bandwidth or hint changed).
    LayerSwitch,
}

/// Errors returned to the caller of a command. Input errors change nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SfuError {
    #[error("group {0} already exists")]
    GroupExists(GroupId),
    #[error("group {0} not found")]
    GroupNotFound(GroupId),
    #[error("peer {0} already exists")]
    PeerExists(PeerId),
    #[error("peer {0} not found")]
    PeerNotFound(PeerId),
    #[error("invalid SDP offer: {0}")]
    InvalidOffer(String),
    #[error("this group is audio-only: video is not allowed")]
    VideoNotAllowed,
    #[error("this peer may not publish media in this group")]
    PublishNotAllowed,
    #[error("the group already has a host")]
    HostExists,
    #[error("role {0:?} is not valid for this group's policy")]
    RoleNotAllowed(Role),
    #[error("invalid layer hint: {0}")]
    InvalidHint(String),
    #[error("limit reached: {0}")]
    LimitReached(&'static str),
    #[error("the media layer is not running")]
    Stopped,
    #[error("socket error: {0}")]
    Io(String),
}

/// Counters of the media thread, for tests, metrics and the benchmark.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SfuStats {
    pub groups: usize,
    pub peers: usize,
    /// Entries of the demultiplexing tables (ufrag and 5-tuple); 0 when all peers are gone.
    pub demux_entries: usize,
    pub datagrams_in: u64,
    pub datagrams_out: u64,
    /// Datagrams dropped because the socket would block or the source is unknown.
    pub datagrams_dropped: u64,
    /// Media frames written to subscribers.
    pub frames_forwarded: u64,
    /// RTP packets sent while forwarding frames (one frame may be several packets).
    pub packets_forwarded: u64,
    /// Events dropped because the event queue was full.
    pub events_dropped: u64,
    /// Messages between workers (a spread live group's frames, keyframe requests)
    /// dropped because the receiving worker's queue was full (or that worker stopped).
    pub relays_dropped: u64,
    /// Added forwarding latency per frame, by percentile: from the frame's network time
    /// (when str0m got the datagram that started it) less the time the datagram that
    /// completed it waited in the socket before it was read (the kernel's receive stamp,
    /// Linux), to its forwarded datagrams handed to the socket.
    pub latency_p50: Duration,
    pub latency_p99: Duration,
    pub latency_max: Duration,
    /// The same for audio frames only (one packet each: no wait for the rest of a frame).
    pub audio_latency_p50: Duration,
    pub audio_latency_p99: Duration,
}
