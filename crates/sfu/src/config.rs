//! Configuration knobs of the media layer and the named limits of its queues and tables.
//!
//! Invariant: every bound on a queue or table is a named constant or a config field here,
//! never a literal elsewhere.

use std::net::SocketAddr;
use std::time::Duration;

/// Capacity of the command queue into the media thread; callers wait when it is full.
pub const COMMAND_QUEUE_LIMIT: usize = 1024;
/// Capacity of the event queue out of the media thread; events are dropped (and counted)
/// when it is full, because the packet path never waits for the signaling layer.
pub const EVENT_QUEUE_LIMIT: usize = 8192;
/// Largest datagram read from the socket; WebRTC stays below ~1200 bytes.
pub const MAX_DATAGRAM: usize = 2048;
/// Most receive slots (recvonly m-lines) one peer may offer per kind.
pub const MAX_SLOTS_PER_KIND: usize = 64;
/// Most source addresses learnt per peer from STUN (candidate pairs of one client).
pub const MAX_ADDRS_PER_PEER: usize = 8;
/// Most bytes of SDP accepted in an offer.
pub const MAX_OFFER_BYTES: usize = 64 * 1024;
/// Most datagrams read in one burst before timers and commands get a turn.
pub const RECV_BURST: usize = 256;
/// Most ICE-TCP connections open at once (each is one client candidate pair).
pub const MAX_TCP_CONNECTIONS: usize = 4096;
/// Datagrams queued for one TCP connection's writer; more are dropped (like a full UDP
/// socket buffer) rather than holding up the media thread.
pub const TCP_SEND_QUEUE: usize = 256;
/// While a fan-out is being sent (and `SfuConfig::fan_out_reads` > 0), the shell looks for
/// newly arrived datagrams between two subscribers' copies at most this often (an audio
/// frame then goes ahead of the rest of a video fan-out); a look that finds nothing costs
/// one `recvfrom` system call.
pub const FAN_OUT_RECV_INTERVAL: Duration = Duration::from_micros(100);
/// Capacity of each worker's queue of messages from the other workers (a spread live
/// group's frames and keyframe requests); a full queue drops the message (counted).
pub const RELAY_QUEUE_LIMIT: usize = 4096;
/// Most datagrams handed to the kernel in one `sendmmsg` (Linux) call.
pub const SEND_BATCH_LIMIT: usize = 64;
/// Most keyframe requests per publisher track and this interval.
pub const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(300);

/// Where a subscriber's bandwidth estimate starts (as Chrome's does): simulcast slots
/// start on the lowest layer and climb as the estimator probes.
pub const INITIAL_ESTIMATE_KBPS: u64 = 300;
/// Most bytes of the `max_height` a subscriber may hint (a sanity bound, 8K video).
pub const MAX_HINT_HEIGHT: u32 = 4320;

/// Settings of one media layer instance.
#[derive(Debug, Clone)]
pub struct SfuConfig {
    /// The UDP address to bind (the server exposes it as `OPENCALLS_MEDIA_ADDR`).
    pub bind: SocketAddr,
    /// Addresses advertised as ICE host candidates; empty = the bound address.
    pub advertised: Vec<SocketAddr>,
    /// TCP address to listen on for ICE over TCP (RFC 6544 passive candidates, RFC 4571
    /// framing); `None` = UDP only.
    pub tcp_bind: Option<SocketAddr>,
    /// IPs of the TURN servers clients are given: datagrams from them arrive through a relay
    /// (counted as `Path::Relay`, like sources the offer listed as `typ relay`).
    pub relay_ips: Vec<std::net::IpAddr>,
    /// Port put in the TCP candidates when it differs from the bound one (port mapping);
    /// their IPs are those of the UDP candidates.
    pub tcp_advertised_port: Option<u16>,
    /// Most peers across all groups.
    pub max_peers: usize,
    /// Most groups.
    pub max_groups: usize,
    /// Default number of forwarded speakers in audio-only groups.
    pub default_active_speakers: usize,
    /// A peer whose ICE+DTLS is not up after this long is removed.
    pub connect_timeout: Duration,
    /// A connected peer from which nothing arrives for this long is removed.
    pub transport_timeout: Duration,
    /// A track with no media for this long is reported stopped.
    pub media_timeout: Duration,
    /// How often active speakers are recomputed and audio levels reported.
    pub speaker_interval: Duration,
    /// How often timeouts (connect, transport, media) are checked.
    pub housekeeping_interval: Duration,
    /// Audio packets str0m may hold back to restore order before forwarding past a gap.
    /// Small on purpose: the subscriber's jitter buffer copes with loss; an SFU must not
    /// stall a speaker for a lost packet.
    pub audio_reorder_packets: usize,
    /// Longest an audio frame waits for missing earlier packets.
    pub audio_reorder_timeout: Duration,
    /// Requested socket send/receive buffer size (the kernel caps it at
    /// `net.core.rmem_max` / `wmem_max`).
    pub socket_buffer_bytes: usize,
    /// Capacity of the event queue (default `EVENT_QUEUE_LIMIT`); events beyond it are
    /// dropped, counted and followed by `SfuEvent::EventsLost` once there is room.
    pub event_queue: usize,
    /// Estimate the downlink of every peer that receives video (str0m's TWCC estimator,
    /// whose pacer then spreads its packets over the estimate) so simulcast slots get the
    /// layer that fits. Off: no pacing, and simulcast slots get the tallest layer their hint
    /// allows.
    pub bandwidth_estimation: bool,
    /// Media worker threads, each with its own core and sockets (ports: the configured ones
    /// + the worker's index); groups are spread over them. 0 = one per core.
    pub workers: usize,
    /// Most datagrams sent per system call (`sendmmsg` on Linux, at most
    /// `SEND_BATCH_LIMIT`); 1 = one `send_to` per datagram (the fallback elsewhere).
    pub send_batch: usize,
    /// Datagrams of later subscribers that may be built before the batch is sent. 0 (the
    /// default) = send as soon as nothing more is already built, so subscriber 1's copy
    /// leaves before subscriber 2's is built; k > 0 trades up to k subscribers' build time
    /// of added latency for fewer system calls (a benchmark knob).
    pub send_ahead: usize,
    /// Datagrams the shell reads (at most) each time it looks at the socket between two
    /// copies of a fan-out (every `FAN_OUT_RECV_INTERVAL`); the core then sends any audio
    /// frame among them before the rest of the fan-out. 0 = never look: datagrams wait in
    /// the socket until the fan-out is sent.
    pub fan_out_reads: usize,
    /// With several workers, spread each live group's viewers over all of them (the host's
    /// frames are relayed to the other workers, which fan them out in parallel); off: a
    /// live group and all its viewers stay on one worker, like other groups.
    pub spread_live_groups: bool,
    /// Run each media worker thread under the real-time `SCHED_FIFO` policy at this
    /// priority (1 to 99; Linux, needs root or `CAP_SYS_NICE`), so no ordinary thread of
    /// this or another process delays a fan-out once it started. `None` (the default):
    /// the normal policy. Refused by the OS: the worker logs a warning and runs normally.
    pub realtime_priority: Option<u8>,
    /// With one worker per CPU the process may run on (2 or more; the default `workers`
    /// on a machine or in a CPU set of its own), pin each to its own (worker `i` to the
    /// `i`-th allowed CPU), so the scheduler never queues a fan-out behind the other
    /// worker's on one core. Any other count floats. Turn it off when several servers
    /// share the machine's CPUs without a CPU set each (their workers would share cores).
    pub pin_workers: bool,
}

impl Default for SfuConfig {
    fn default() -> Self {
        SfuConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            advertised: Vec::new(),
            tcp_bind: None,
            relay_ips: Vec::new(),
            tcp_advertised_port: None,
            max_peers: 10_000,
            max_groups: 10_000,
            default_active_speakers: 3,
            connect_timeout: Duration::from_secs(15),
            transport_timeout: Duration::from_secs(10),
            media_timeout: Duration::from_millis(1500),
            speaker_interval: Duration::from_millis(300),
            housekeeping_interval: Duration::from_millis(250),
            audio_reorder_packets: 2,
            audio_reorder_timeout: Duration::from_millis(40),
            socket_buffer_bytes: 4 * 1024 * 1024,
            event_queue: EVENT_QUEUE_LIMIT,
            bandwidth_estimation: true,
            workers: 0,
            send_batch: SEND_BATCH_LIMIT,
            send_ahead: 0,
            fan_out_reads: 0,
            spread_live_groups: true,
            realtime_priority: None,
            pin_workers: true,
        }
    }
}
