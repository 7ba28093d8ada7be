//! A str0m client peer on the virtual network: it offers send tracks and receive slots,
//! publishes synthetic Opus/VP8 frames on the virtual clock once connected (a keyframe
//! first and after each PLI/FIR), and counts what it receives per source tag.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::config::DtlsCert;
use str0m::media::{Direction, Frequency, KeyframeRequestKind, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};

const AUDIO_PERIOD: Duration = Duration::from_millis(20);
/// 15 frames/s: half a camera's rate keeps debug-build tests fast.
const VIDEO_PERIOD: Duration = Duration::from_millis(66);
/// Frame tag, video flag, marker, source tag (4 bytes), send time (8 bytes).
const HEADER: usize = 16;
/// Most per-frame video delays a client keeps (a test reads a few hundred).
const MAX_DELAYS: usize = 10_000;

/// What a client offers and sends.
#[derive(Debug, Clone, Copy)]
pub struct ClientConfig {
    /// Written into every payload: receivers count frames by it.
    pub tag: u32,
    pub send_audio: bool,
    pub send_video: bool,
    pub audio_slots: usize,
    pub video_slots: usize,
    /// RFC 6464 level sent with audio (0 = loudest, -127 = silence).
    pub audio_level: i8,
    /// Size of a video delta frame (a keyframe is three times it, at least 1500 bytes).
    pub video_bytes: usize,
    /// Time between video frames.
    pub video_period: Duration,
}

impl ClientConfig {
    /// Publishes audio and video and offers `slots` receive slots of each kind.
    pub fn publisher(tag: u32, slots: usize) -> Self {
        ClientConfig {
            tag,
            send_audio: true,
            send_video: true,
            audio_slots: slots,
            video_slots: slots,
            audio_level: -30,
            video_bytes: 400,
            video_period: VIDEO_PERIOD,
        }
    }

    /// Like `publisher`, with video of about `kbps` kbit/s at 30 frames per second.
    pub fn video_at(tag: u32, slots: usize, kbps: usize) -> Self {
        let video_period = Duration::from_millis(33);
        ClientConfig {
            video_bytes: kbps * 1000 / 8 / 30,
            video_period,
            ..Self::publisher(tag, slots)
        }
    }

    /// Audio only, at `level`, with `slots` audio receive slots.
    pub fn speaker(tag: u32, level: i8, slots: usize) -> Self {
        ClientConfig {
            send_video: false,
            video_slots: 0,
            audio_level: level,
            ..Self::publisher(tag, slots)
        }
    }

    /// Receives only: one audio and one video slot.
    pub fn viewer(tag: u32) -> Self {
        ClientConfig {
            send_audio: false,
            send_video: false,
            ..Self::publisher(tag, 1)
        }
    }
}

/// Frames received from one source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub audio: u64,
    pub video: u64,
    pub keyframes: u64,
    /// Whether the first video frame from this source was a keyframe.
    pub first_video_was_key: Option<bool>,
}

/// One client: its `Rtc`, its publishing schedule and its counters.
pub struct Client {
    pub addr: SocketAddr,
    pub cfg: ClientConfig,
    rtc: Rtc,
    pending: Option<SdpPendingOffer>,
    audio_mid: Option<Mid>,
    video_mid: Option<Mid>,
    recv_video: Vec<Mid>,
    pub connected: bool,
    /// False once the client vanished: it neither sends nor receives anything.
    pub online: bool,
    /// While false the client stays connected but publishes nothing.
    publishing: bool,
    next_timeout: Instant,
    next_audio: Instant,
    next_video: Instant,
    audio_seq: u32,
    video_seq: u32,
    keyframe_due: bool,
    pub received: HashMap<u32, Counts>,
    /// Virtual time every client measures send times from (the network's start).
    pub epoch: Instant,
    /// How long each received video frame took from its sender's `write` (at most
    /// `MAX_DELAYS`).
    pub video_delays: Vec<Duration>,
    pub keyframe_requests: u64,
    pub keyframes_sent: u64,
    /// Datagrams to the SFU, waiting for the network to carry them.
    pub outbox: Vec<Vec<u8>>,
}

impl Client {
    /// Creates the client and its SDP offer.
    pub fn new(cfg: ClientConfig, addr: SocketAddr, now: Instant) -> (Client, String) {
        let mut rtc = Rtc::builder()
            .set_dtls_cert(shared_cert(0))
            .clear_codecs()
            .enable_opus(true, false)
            .enable_vp8(true)
            .build(now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").expect("candidate"));
        let mut api = rtc.sdp_api();
        let send = |api: &mut str0m::change::SdpApi, kind, on: bool| {
            on.then(|| api.add_media(kind, Direction::SendOnly, None, None, None))
        };
        let audio_mid = send(&mut api, MediaKind::Audio, cfg.send_audio);
        let video_mid = send(&mut api, MediaKind::Video, cfg.send_video);
        for _ in 0..cfg.audio_slots {
            api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
        }
        let recv_video = (0..cfg.video_slots)
            .map(|_| api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None))
            .collect();
        let (offer, pending) = api.apply().expect("something to offer");
        let client = Client {
            addr,
            cfg,
            rtc,
            pending: Some(pending),
            audio_mid,
            video_mid,
            recv_video,
            connected: false,
            online: true,
            publishing: true,
            next_timeout: now,
            next_audio: now,
            next_video: now,
            audio_seq: 0,
            video_seq: 0,
            keyframe_due: true,
            received: HashMap::new(),
            epoch: now,
            video_delays: Vec::new(),
            keyframe_requests: 0,
            keyframes_sent: 0,
            outbox: Vec::new(),
        };
        (client, offer.to_sdp_string())
    }

    pub fn accept_answer(&mut self, answer: &str, now: Instant) {
        let answer = SdpAnswer::from_sdp_string(answer).expect("answer parses");
        let pending = self.pending.take().expect("an offer is pending");
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .expect("answer accepted");
        self.drain(now);
    }

    /// Frames received from the client tagged `tag`.
    pub fn from(&self, tag: u32) -> Counts {
        self.received.get(&tag).copied().unwrap_or_default()
    }

    /// When the client next needs `handle_timeout`.
    pub fn wake(&self) -> Instant {
        let mut at = self.next_timeout;
        if self.connected && self.publishing {
            if self.audio_mid.is_some() {
                at = at.min(self.next_audio);
            }
            if self.video_mid.is_some() {
                at = at.min(self.next_video);
            }
        }
        at
    }

    pub fn receive(&mut self, now: Instant, source: SocketAddr, data: &[u8]) {
        let receive = Receive::new(Protocol::Udp, source, self.addr, data).expect("datagram");
        let _ = self.rtc.handle_input(Input::Receive(now, receive));
        self.drain(now);
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if now >= self.next_timeout {
            let _ = self.rtc.handle_input(Input::Timeout(now));
        }
        if self.connected && self.publishing {
            self.publish(now);
            // str0m packetizes written frames on its next timeout.
            let _ = self.rtc.handle_input(Input::Timeout(now));
        }
        self.drain(now);
    }

    /// Stops or restarts publishing (the transport stays up); restarts without a burst.
    pub fn set_publishing(&mut self, on: bool, now: Instant) {
        self.publishing = on;
        (self.next_audio, self.next_video) = (now, now);
    }

    /// Sends a PLI on every video receive slot, as a decoder that lost its picture does.
    pub fn request_keyframes(&mut self, now: Instant) {
        for mid in self.recv_video.clone() {
            if let Some(mut writer) = self.rtc.writer(mid) {
                let _ = writer.request_keyframe(None, KeyframeRequestKind::Pli);
            }
        }
        self.drain(now);
    }

    fn drain(&mut self, now: Instant) {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(at)) => {
                    self.next_timeout = at;
                    return;
                }
                Ok(Output::Transmit(t)) => self.outbox.push(t.contents.into()),
                Ok(Output::Event(e)) => self.on_event(now, e),
                Err(_) => {
                    self.online = false;
                    return;
                }
            }
        }
    }

    fn on_event(&mut self, now: Instant, event: Event) {
        match event {
            Event::Connected => {
                self.connected = true;
                (self.next_audio, self.next_video) = (now, now);
            }
            Event::MediaData(data) => {
                let Some((tag, video, sent)) = parse(&data.data) else {
                    return;
                };
                let counts = self.received.entry(tag).or_default();
                if video {
                    if self.video_delays.len() < MAX_DELAYS {
                        let delay = now.saturating_duration_since(self.epoch + sent);
                        self.video_delays.push(delay);
                    }
                    counts.video += 1;
                    counts.keyframes += u64::from(data.is_keyframe());
                    counts.first_video_was_key.get_or_insert(data.is_keyframe());
                } else {
                    counts.audio += 1;
                }
            }
            Event::KeyframeRequest(_) => {
                self.keyframe_due = true;
                self.keyframe_requests += 1;
            }
            _ => {}
        }
    }

    fn publish(&mut self, now: Instant) {
        if let Some(mid) = self.audio_mid.filter(|_| now >= self.next_audio) {
            self.next_audio += AUDIO_PERIOD;
            let time = MediaTime::new(u64::from(self.audio_seq) * 960, Frequency::FORTY_EIGHT_KHZ);
            let sent = now.saturating_duration_since(self.epoch);
            let data = payload(self.cfg.tag, false, false, sent, 80);
            if let Some(writer) = self.rtc.writer(mid) {
                let pt = writer
                    .payload_params()
                    .next()
                    .map(|p| p.pt())
                    .expect("opus");
                let level = self.cfg.audio_level;
                let _ = writer.audio_level(level, true).write(pt, now, time, data);
            }
            self.audio_seq += 1;
        }
        if let Some(mid) = self.video_mid.filter(|_| now >= self.next_video) {
            self.next_video += self.cfg.video_period;
            let key = std::mem::take(&mut self.keyframe_due);
            self.keyframes_sent += u64::from(key);
            let ticks = self.cfg.video_period.as_micros() as u64 * 90 / 1000;
            let time = MediaTime::new(u64::from(self.video_seq) * ticks, Frequency::NINETY_KHZ);
            let size = self.cfg.video_bytes;
            let len = if key { (3 * size).max(1500) } else { size };
            let sent = now.saturating_duration_since(self.epoch);
            let data = payload(self.cfg.tag, true, key, sent, len);
            if let Some(writer) = self.rtc.writer(mid) {
                let pt = writer.payload_params().next().map(|p| p.pt()).expect("vp8");
                let _ = writer.write(pt, now, time, data);
            }
            self.video_seq += 1;
        }
    }
}

/// Certificate `n` of a process-wide pair (0: clients, 1: the SFU), generated once: a fresh
/// certificate per `Rtc` costs tens of milliseconds in a debug build.
pub fn shared_cert(n: usize) -> DtlsCert {
    static CERTS: OnceLock<[DtlsCert; 2]> = OnceLock::new();
    let certs = CERTS.get_or_init(|| {
        let provider = str0m::crypto::from_feature_flags();
        let make = || {
            provider
                .dtls_provider
                .generate_certificate()
                .expect("certificate")
        };
        [make(), make()]
    });
    certs[n].clone()
}

/// A synthetic payload: a VP8 frame tag byte (bit 0 clear = keyframe, which str0m's VP8
/// depacketizer reads), a video flag, the marker bytes, the source tag and the send time
/// (microseconds since the epoch).
fn payload(tag: u32, video: bool, key: bool, sent: Duration, len: usize) -> Vec<u8> {
    let mut buf = vec![if key { 0x10 } else { 0x11 }, u8::from(video), 0xa5, 0xa5];
    buf.extend_from_slice(&tag.to_be_bytes());
    buf.extend_from_slice(&(sent.as_micros() as u64).to_be_bytes());
    buf.resize(len.max(HEADER), 0x5a);
    buf
}

/// `(source tag, video, send time)` of a synthetic payload.
fn parse(data: &[u8]) -> Option<(u32, bool, Duration)> {
    if data.len() < HEADER || data[2..4] != [0xa5, 0xa5] {
        return None;
    }
    let tag = u32::from_be_bytes(data[4..8].try_into().ok()?);
    let sent = u64::from_be_bytes(data[8..16].try_into().ok()?);
    Some((tag, data[1] == 1, Duration::from_micros(sent)))
}
