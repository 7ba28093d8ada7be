//! A str0m-based WebRTC client peer for tests and the load generator. It offers Opus audio
//! and VP8 video (send and/or receive slots as asked), publishes synthetic RTP once ICE and
//! DTLS are up (audio: 50 packets/s with an RFC 6464 level; video: frames sized for a
//! configured bitrate, a keyframe first and on each PLI/FIR, optionally as three simulcast
//! layers like the browser SDK's), and counts what it receives
//! per kind and per source. Each synthetic payload starts with a small header naming its
//! source and stamping its send time, so counting needs no help from signaling and a
//! receiver in the same process measures each frame's latency (sender to receiver, through
//! whatever server forwards it).
#![forbid(unsafe_code)]

mod latency;
pub mod load;
mod payload;
mod run;
mod turn;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind, Mid, Simulcast, SimulcastLayer};
use str0m::net::TcpType;
use str0m::{Candidate, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

pub use latency::Histogram;
pub use payload::{HEADER_LEN, Header, now_us, parse_header};
pub use turn::TurnServer;

/// What the peer offers and sends.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// Tag written into every payload this peer sends (identifies the source to receivers).
    pub tag: u32,
    pub send_audio: bool,
    pub send_video: bool,
    /// Number of recvonly audio / video m-lines (receive slots) in the offer.
    pub recv_audio_slots: usize,
    pub recv_video_slots: usize,
    /// RFC 6464 level sent with audio, in -dBov (0 = loudest, -127 = silence).
    pub audio_level: i8,
    /// Opus-sized audio payload, bytes.
    pub audio_bytes: usize,
    pub video_bitrate_bps: u32,
    pub video_fps: u32,
    /// Send video as simulcast layers (`SIMULCAST_LAYERS`), as the browser SDK does: the
    /// top layer at `video_bitrate_bps`, each lower one at a quarter of the one above.
    pub simulcast: bool,
    /// Also offer ICE over TCP (an RFC 6544 active candidate): the peer connects to the
    /// SFU's passive TCP candidate if UDP does not get through.
    pub ice_tcp: bool,
    /// Also offer a relay candidate allocated on this TURN server (over TCP).
    pub turn: Option<TurnServer>,
}

impl PeerConfig {
    /// A receive-only peer (a live event's viewer): one audio and one video slot, sends
    /// nothing.
    pub fn viewer(tag: u32) -> Self {
        PeerConfig {
            tag,
            send_audio: false,
            send_video: false,
            recv_audio_slots: 1,
            recv_video_slots: 1,
            ..PeerConfig::default()
        }
    }
}

impl Default for PeerConfig {
    fn default() -> Self {
        PeerConfig {
            tag: 0,
            send_audio: true,
            send_video: true,
            recv_audio_slots: 0,
            recv_video_slots: 0,
            audio_level: -30,
            audio_bytes: 80,
            video_bitrate_bps: 300_000,
            video_fps: 30,
            simulcast: false,
            ice_tcp: false,
            turn: None,
        }
    }
}

/// The simulcast layers a `simulcast` peer sends, lowest first (the browser SDK's rids).
pub const SIMULCAST_LAYERS: [&str; 3] = ["q", "h", "f"];

fn simulcast_layers() -> Simulcast {
    let mut simulcast = Simulcast::new();
    for rid in SIMULCAST_LAYERS {
        simulcast.add_send_layer(SimulcastLayer::new(rid));
    }
    simulcast
}

/// Per-source receive counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceCounts {
    pub audio_frames: u64,
    pub video_frames: u64,
    pub keyframes: u64,
    pub bytes: u64,
}

/// Everything the peer observed so far.
#[derive(Debug, Clone, Default)]
pub struct PeerStats {
    pub connected: bool,
    pub audio_sent: u64,
    pub video_frames_sent: u64,
    pub keyframes_sent: u64,
    pub keyframe_requests: u64,
    /// PLIs this peer sent on its receive slots.
    pub plis_sent: u64,
    /// Received frames by source tag.
    pub received: HashMap<u32, SourceCounts>,
    /// Received frames whose payload had no recognizable header.
    pub unknown_frames: u64,
    /// Latency (µs, receive time − the payload's send stamp) of received audio frames.
    pub audio_latency: Histogram,
    /// Latency of received video frames, to the frame's last packet (so it includes the
    /// sender's pacing of the frame's packets).
    pub video_latency: Histogram,
    /// Receive slot (m-line) → tag of the last source seen in it.
    pub slot_sources: HashMap<String, u32>,
    /// Set when the peer's loop ended, with the reason.
    pub ended: Option<String>,
}

impl PeerStats {
    pub fn from_source(&self, tag: u32) -> SourceCounts {
        self.received.get(&tag).copied().unwrap_or_default()
    }
}

/// Errors of the media peer.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    #[error("sdp: {0}")]
    Sdp(String),
}

fn sdp_err(e: impl std::fmt::Display) -> PeerError {
    PeerError::Sdp(e.to_string())
}

/// A peer that has made its offer and waits for the answer.
pub struct MediaPeer {
    cfg: PeerConfig,
    rtc: Rtc,
    socket: UdpSocket,
    pending: SdpPendingOffer,
    audio_mid: Option<Mid>,
    video_mid: Option<Mid>,
    recv_video: Vec<Mid>,
    relay: Option<turn::Allocation>,
}

impl MediaPeer {
    /// Binds a UDP socket on `ip` (use 127.0.0.1) and creates the SDP offer.
    pub async fn new(
        cfg: PeerConfig,
        ip: std::net::IpAddr,
    ) -> Result<(MediaPeer, String), PeerError> {
        let socket = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
        let local = socket.local_addr()?;
        let mut rtc = Rtc::builder()
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp").map_err(sdp_err)?);
        if cfg.ice_tcp {
            let candidate = Candidate::builder()
                .tcp()
                .host(run::tcp_candidate(ip))
                .tcptype(TcpType::Active)
                .build()
                .map_err(sdp_err)?;
            rtc.add_local_candidate(candidate);
        }
        let relay = match &cfg.turn {
            Some(server) => {
                let allocation = turn::allocate(server).await?;
                let candidate =
                    Candidate::relayed(allocation.relay, local, "udp").map_err(sdp_err)?;
                rtc.add_local_candidate(candidate);
                Some(allocation)
            }
            None => None,
        };
        let mut api = rtc.sdp_api();
        let audio_mid = cfg
            .send_audio
            .then(|| api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None));
        let layers = cfg.simulcast.then(simulcast_layers);
        let video_mid = cfg
            .send_video
            .then(|| api.add_media(MediaKind::Video, Direction::SendOnly, None, None, layers));
        for _ in 0..cfg.recv_audio_slots {
            api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
        }
        let recv_video: Vec<Mid> = (0..cfg.recv_video_slots)
            .map(|_| api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None))
            .collect();
        let (offer, pending) = api
            .apply()
            .ok_or_else(|| PeerError::Sdp("nothing to offer".into()))?;
        let peer = MediaPeer {
            cfg,
            rtc,
            socket,
            pending,
            audio_mid,
            video_mid,
            recv_video,
            relay,
        };
        Ok((peer, offer.to_sdp_string()))
    }

    /// Applies the SFU's answer and starts the peer's task on the current tokio runtime.
    pub fn start(mut self, answer: &str) -> Result<PeerHandle, PeerError> {
        let answer =
            SdpAnswer::from_sdp_string(answer).map_err(|e| PeerError::Sdp(e.to_string()))?;
        self.rtc
            .sdp_api()
            .accept_answer(self.pending, answer)
            .map_err(|e| PeerError::Sdp(e.to_string()))?;
        let runner = run::Runner::new(
            self.cfg,
            self.rtc,
            self.socket,
            self.audio_mid,
            self.video_mid,
        );
        Ok(spawn(runner, self.recv_video, self.relay))
    }

    /// Answers a server's offer with a receive-only peer (for servers that offer to their
    /// subscribers, e.g. Janus's VideoRoom), binding a UDP socket on `ip`, and starts the
    /// peer's task. Returns the peer and the SDP answer. `cfg`'s send and slot settings are
    /// not used: the offer decides what is received.
    pub async fn answer(
        cfg: PeerConfig,
        ip: std::net::IpAddr,
        offer: &str,
    ) -> Result<(PeerHandle, String), PeerError> {
        let socket = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
        let local = socket.local_addr()?;
        let mut rtc = Rtc::builder()
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp").map_err(sdp_err)?);
        let offer = SdpOffer::from_sdp_string(offer).map_err(sdp_err)?;
        let answer = rtc.sdp_api().accept_offer(offer).map_err(sdp_err)?;
        let runner = run::Runner::new(cfg, rtc, socket, None, None);
        Ok((spawn(runner, Vec::new(), None), answer.to_sdp_string()))
    }
}

/// Starts `runner` on the current tokio runtime.
fn spawn(runner: run::Runner, recv_video: Vec<Mid>, relay: Option<turn::Allocation>) -> PeerHandle {
    let stats = runner.stats();
    let (stop_tx, stop_rx) = watch::channel(false);
    let pli = Arc::new(Notify::new());
    let runner = runner
        .with_keyframe_requests(recv_video, pli.clone())
        .with_relay(relay);
    let task = tokio::spawn(runner.run(stop_rx));
    PeerHandle {
        pli,
        stats,
        stop: stop_tx,
        task,
    }
}

/// A running peer.
pub struct PeerHandle {
    pli: Arc<Notify>,
    stats: Arc<Mutex<PeerStats>>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl PeerHandle {
    /// A copy of the counters.
    pub fn stats(&self) -> PeerStats {
        match self.stats.lock() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Whether ICE and DTLS are up (cheaper than [`PeerHandle::stats`]).
    pub fn is_connected(&self) -> bool {
        match self.stats.lock() {
            Ok(s) => s.connected,
            Err(poisoned) => poisoned.into_inner().connected,
        }
    }

    /// Sends a PLI (picture loss indication) on every receive video slot, as a browser does
    /// when its decoder is lost.
    pub fn request_keyframes(&self) {
        self.pli.notify_one();
    }

    /// Stops the peer abruptly (no DTLS close): to the SFU this looks like a lost transport.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}
