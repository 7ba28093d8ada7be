//! The peer's task: one loop that feeds received datagrams and timeouts to the `Rtc`, sends
//! its transmits, publishes synthetic media on schedule and counts received frames.
//! ICE-TCP transmits (RFC 4571 framing) go over connections the loop opens on demand to
//! their destination (the SFU's passive candidate); their frames come back as `Tcp`
//! receives.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use str0m::media::{Frequency, KeyframeRequestKind, MediaData, MediaTime, Mid, Rid};
use str0m::net::{Protocol, Receive};
use str0m::{Event, IceConnectionState, Input, Output, Rtc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{Notify, mpsc, watch};

use crate::payload::{self, Header};
use crate::{PeerConfig, PeerStats, SIMULCAST_LAYERS};

const AUDIO_PERIOD: Duration = Duration::from_millis(20);
const AUDIO_SAMPLES: u64 = 960;
const KEYFRAME_SCALE: usize = 3;
/// Datagrams queued per ICE-TCP connection (more are dropped, like a full socket buffer).
const TCP_QUEUE: usize = 256;
/// The discard port: RFC 6544 active candidates name no real port.
const ACTIVE_TCP_PORT: u16 = 9;

/// The address of the peer's active TCP candidate on `ip`.
pub fn tcp_candidate(ip: IpAddr) -> SocketAddr {
    SocketAddr::new(ip, ACTIVE_TCP_PORT)
}

/// The peer's ICE-TCP connections by destination, and the frames they received.
struct TcpLinks {
    local: SocketAddr,
    writers: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>,
    frames_tx: mpsc::Sender<(SocketAddr, Vec<u8>)>,
    frames_rx: mpsc::Receiver<(SocketAddr, Vec<u8>)>,
}

impl TcpLinks {
    fn new(local: SocketAddr) -> Self {
        let (frames_tx, frames_rx) = mpsc::channel(TCP_QUEUE);
        TcpLinks {
            local,
            writers: HashMap::new(),
            frames_tx,
            frames_rx,
        }
    }

    /// Queues a datagram for `to`, connecting first if needed.
    fn send(&mut self, to: SocketAddr, datagram: Vec<u8>) {
        let writer = self.writers.entry(to).or_insert_with(|| {
            let (tx, rx) = mpsc::channel(TCP_QUEUE);
            tokio::spawn(tcp_link(to, rx, self.frames_tx.clone()));
            tx
        });
        let _ = writer.try_send(datagram);
    }
}

/// One ICE-TCP connection: connects to `to`, writes queued datagrams as RFC 4571 frames and
/// hands received frames back, until either side ends.
async fn tcp_link(
    to: SocketAddr,
    mut outgoing: mpsc::Receiver<Vec<u8>>,
    frames: mpsc::Sender<(SocketAddr, Vec<u8>)>,
) {
    let Ok(stream) = TcpStream::connect(to).await else {
        return;
    };
    let _ = stream.set_nodelay(true);
    let (mut read, mut write) = stream.into_split();
    let reader = tokio::spawn(async move {
        loop {
            let mut len = [0u8; 2];
            if read.read_exact(&mut len).await.is_err() {
                return;
            }
            let mut frame = vec![0u8; usize::from(u16::from_be_bytes(len))];
            if read.read_exact(&mut frame).await.is_err() || frames.send((to, frame)).await.is_err()
            {
                return;
            }
        }
    });
    while let Some(datagram) = outgoing.recv().await {
        let Ok(len) = u16::try_from(datagram.len()) else {
            continue;
        };
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(&datagram);
        if write.write_all(&framed).await.is_err() {
            break;
        }
    }
    reader.abort();
}

pub struct Runner {
    cfg: PeerConfig,
    rtc: Rtc,
    socket: UdpSocket,
    audio_mid: Option<Mid>,
    video_mid: Option<Mid>,
    stats: Arc<Mutex<PeerStats>>,
    connected: bool,
    next_audio: Instant,
    next_video: Instant,
    audio_seq: u32,
    video_seq: u32,
    /// The video layers sent, lowest first (see [`video_layers`]).
    layers: Vec<VideoLayer>,
    recv_video: Vec<Mid>,
    pli: Arc<Notify>,
    tcp: Option<TcpLinks>,
    relay: Option<Relay>,
}

/// The TURN allocation in use: datagrams from the relay candidate go out through it.
struct Relay {
    addr: SocketAddr,
    outgoing: mpsc::Sender<(SocketAddr, Vec<u8>)>,
    incoming: mpsc::Receiver<(SocketAddr, Vec<u8>)>,
}

impl Relay {
    /// Starts the tasks that write Send indications and read Data indications.
    fn start(allocation: crate::turn::Allocation) -> Self {
        let (outgoing, mut to_send) = mpsc::channel::<(SocketAddr, Vec<u8>)>(TCP_QUEUE);
        let (received, incoming) = mpsc::channel(TCP_QUEUE);
        let mut sender = allocation.sender;
        tokio::spawn(async move {
            while let Some((peer, data)) = to_send.recv().await {
                if sender.send(peer, &data).await.is_err() {
                    return;
                }
            }
        });
        let mut reader = allocation.reader;
        tokio::spawn(async move {
            while let Ok(datagram) = crate::turn::next_data(&mut reader).await {
                if received.send(datagram).await.is_err() {
                    return;
                }
            }
        });
        Relay {
            addr: allocation.relay,
            outgoing,
            incoming,
        }
    }
}

impl Runner {
    pub fn new(
        cfg: PeerConfig,
        rtc: Rtc,
        socket: UdpSocket,
        audio_mid: Option<Mid>,
        video_mid: Option<Mid>,
    ) -> Self {
        let now = Instant::now();
        let tcp = cfg
            .ice_tcp
            .then(|| socket.local_addr().ok())
            .flatten()
            .map(|local| TcpLinks::new(tcp_candidate(local.ip())));
        let layers = video_layers(&cfg);
        Runner {
            tcp,
            relay: None,
            cfg,
            rtc,
            socket,
            audio_mid,
            video_mid,
            stats: Arc::new(Mutex::new(PeerStats::default())),
            connected: false,
            next_audio: now,
            next_video: now,
            audio_seq: 0,
            video_seq: 0,
            layers,
            recv_video: Vec::new(),
            pli: Arc::new(Notify::new()),
        }
    }

    /// The counters this runner updates.
    pub fn stats(&self) -> Arc<Mutex<PeerStats>> {
        self.stats.clone()
    }

    /// Lets the owner trigger PLIs on the receive video slots.
    pub fn with_keyframe_requests(mut self, recv_video: Vec<Mid>, pli: Arc<Notify>) -> Self {
        self.recv_video = recv_video;
        self.pli = pli;
        self
    }

    /// Sends and receives through a TURN allocation (its relay is a candidate of the offer).
    pub fn with_relay(mut self, allocation: Option<crate::turn::Allocation>) -> Self {
        self.relay = allocation.map(Relay::start);
        self
    }

    fn send_plis(&mut self) {
        for mid in self.recv_video.clone() {
            if let Some(mut writer) = self.rtc.writer(mid) {
                let sent = writer
                    .request_keyframe(None, KeyframeRequestKind::Pli)
                    .is_ok();
                self.with_stats(|s| s.plis_sent += u64::from(sent));
            }
        }
    }

    fn video_period(&self) -> Duration {
        Duration::from_secs(1) / self.cfg.video_fps.max(1)
    }

    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut buf = vec![0u8; 2048];
        let local = match self.socket.local_addr() {
            Ok(a) => a,
            Err(e) => return self.end(format!("socket: {e}")),
        };
        loop {
            let timeout = match self.drain() {
                Ok(t) => t,
                Err(reason) => return self.end(reason),
            };
            let mut deadline = timeout;
            if self.connected {
                if self.audio_mid.is_some() {
                    deadline = deadline.min(self.next_audio);
                }
                if self.video_mid.is_some() {
                    deadline = deadline.min(self.next_video);
                }
            }
            let pli = self.pli.clone();
            tokio::select! {
                _ = stop.changed() => return self.end("stopped".into()),
                _ = pli.notified() => self.send_plis(),
                r = self.socket.recv_from(&mut buf) => {
                    let Ok((n, source)) = r else { continue };
                    let Ok(receive) = Receive::new(Protocol::Udp, source, local, &buf[..n]) else { continue };
                    let _ = self.rtc.handle_input(Input::Receive(Instant::now(), receive));
                }
                Some((source, datagram)) = relayed(&mut self.relay) => {
                    let Some(relay) = &self.relay else { continue };
                    let Ok(receive) = Receive::new(Protocol::Udp, source, relay.addr, &datagram) else { continue };
                    let _ = self.rtc.handle_input(Input::Receive(Instant::now(), receive));
                }
                Some((source, frame)) = tcp_frame(&mut self.tcp) => {
                    let Some(tcp) = &self.tcp else { continue };
                    let Ok(receive) = Receive::new(Protocol::Tcp, source, tcp.local, &frame) else { continue };
                    let _ = self.rtc.handle_input(Input::Receive(Instant::now(), receive));
                }
                _ = tokio::time::sleep_until(deadline.into()) => {
                    let now = Instant::now();
                    if self.rtc.handle_input(Input::Timeout(now)).is_err() {
                        return self.end("rtc timeout failed".into());
                    }
                    self.publish(now);
                }
            }
        }
    }

    fn end(&mut self, reason: String) {
        self.rtc.disconnect();
        if let Ok(mut s) = self.stats.lock() {
            s.ended = Some(reason);
        }
    }

    /// Sends the transmits and handles the events; returns the next timeout.
    fn drain(&mut self) -> Result<Instant, String> {
        loop {
            match self.rtc.poll_output().map_err(|e| e.to_string())? {
                Output::Timeout(t) => return Ok(t),
                Output::Transmit(t) => match (t.proto, &mut self.tcp) {
                    (Protocol::Tcp, Some(tcp)) => tcp.send(t.destination, t.contents.to_vec()),
                    _ if self.relay.as_ref().is_some_and(|r| r.addr == t.source) => {
                        if let Some(relay) = &self.relay {
                            let _ = relay
                                .outgoing
                                .try_send((t.destination, t.contents.to_vec()));
                        }
                    }
                    _ => {
                        let _ = self.socket.try_send_to(&t.contents, t.destination);
                    }
                },
                Output::Event(e) => self.on_event(e)?,
            }
        }
    }

    fn on_event(&mut self, event: Event) -> Result<(), String> {
        match event {
            Event::Connected => {
                self.connected = true;
                let now = Instant::now();
                (self.next_audio, self.next_video) = (now, now);
                self.with_stats(|s| s.connected = true);
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) | Event::Closed => {
                return Err("transport closed".into());
            }
            Event::MediaData(data) => self.on_media(&data),
            Event::KeyframeRequest(req) => {
                let named = self
                    .layers
                    .iter_mut()
                    .find(|l| l.rid.is_some() && l.rid == req.rid);
                match named {
                    Some(layer) => layer.keyframe_due = true,
                    None => self.layers.iter_mut().for_each(|l| l.keyframe_due = true),
                }
                self.with_stats(|s| s.keyframe_requests += 1);
            }
            _ => {}
        }
        Ok(())
    }

    fn on_media(&mut self, data: &MediaData) {
        let header = payload::parse_header(&data.data);
        let keyframe = data.is_keyframe();
        let len = data.data.len() as u64;
        let slot = data.mid.to_string();
        let now = payload::now_us();
        self.with_stats(|s| {
            let Some(h) = header else {
                s.unknown_frames += 1;
                return;
            };
            let counts = s.received.entry(h.tag).or_default();
            counts.bytes += len;
            let latency = now.saturating_sub(h.sent_us);
            if h.video {
                counts.video_frames += 1;
                counts.keyframes += u64::from(keyframe);
                s.video_latency.record(latency);
            } else {
                counts.audio_frames += 1;
                s.audio_latency.record(latency);
            }
            s.slot_sources.insert(slot, h.tag);
        });
    }

    fn with_stats(&self, f: impl FnOnce(&mut PeerStats)) {
        if let Ok(mut s) = self.stats.lock() {
            f(&mut s);
        }
    }

    /// Writes the audio packet and video frame that are due.
    fn publish(&mut self, now: Instant) {
        if !self.connected {
            return;
        }
        if let Some(mid) = self.audio_mid.filter(|_| now >= self.next_audio) {
            self.send_audio(mid, now);
            self.next_audio = catch_up(self.next_audio + AUDIO_PERIOD, now);
        }
        if let Some(mid) = self.video_mid.filter(|_| now >= self.next_video) {
            self.send_video(mid, now);
            self.next_video = catch_up(self.next_video + self.video_period(), now);
        }
    }

    fn send_audio(&mut self, mid: Mid, now: Instant) {
        let header = Header {
            keyframe: false,
            video: false,
            tag: self.cfg.tag,
            seq: self.audio_seq,
            sent_us: payload::now_us(),
        };
        let data = payload::build(header, self.cfg.audio_bytes);
        let time = MediaTime::new(
            u64::from(self.audio_seq) * AUDIO_SAMPLES,
            Frequency::FORTY_EIGHT_KHZ,
        );
        let level = self.cfg.audio_level;
        let Some(writer) = self.rtc.writer(mid) else {
            return;
        };
        let Some(pt) = writer.payload_params().next().map(|p| p.pt()) else {
            return;
        };
        if writer
            .audio_level(level, true)
            .write(pt, now, time, data)
            .is_ok()
        {
            self.audio_seq += 1;
            self.with_stats(|s| s.audio_sent += 1);
        }
    }

    /// Writes this tick's video frame: one frame, or one per simulcast layer (the top one
    /// at `video_bitrate_bps`, each lower one at a quarter of the one above), all with the
    /// same header so a receiver counts and times the frame whichever layer it gets.
    fn send_video(&mut self, mid: Mid, now: Instant) {
        let fps = u64::from(self.cfg.video_fps.max(1));
        let top = (u64::from(self.cfg.video_bitrate_bps) / 8 / fps) as usize;
        let time = MediaTime::new(
            u64::from(self.video_seq) * 90_000 / fps,
            Frequency::NINETY_KHZ,
        );
        let layers = self.layers.len();
        let mut written = 0;
        let mut keyframes = 0;
        for i in 0..layers {
            let rid = self.layers[i].rid;
            let keyframe = std::mem::take(&mut self.layers[i].keyframe_due);
            let len = (top >> (2 * (layers - 1 - i))) * if keyframe { KEYFRAME_SCALE } else { 1 };
            let header = Header {
                keyframe,
                video: true,
                tag: self.cfg.tag,
                seq: self.video_seq,
                sent_us: payload::now_us(),
            };
            if self.write_video(mid, rid, now, time, payload::build(header, len)) {
                written += 1;
                keyframes += u64::from(keyframe);
            } else {
                self.layers[i].keyframe_due |= keyframe;
            }
        }
        if written > 0 {
            self.video_seq += 1;
            self.with_stats(|s| {
                s.video_frames_sent += 1;
                s.keyframes_sent += keyframes;
            });
        }
    }

    /// Writes one video frame (of layer `rid`, if simulcast); false if str0m refused it.
    fn write_video(
        &mut self,
        mid: Mid,
        rid: Option<Rid>,
        now: Instant,
        time: MediaTime,
        data: Vec<u8>,
    ) -> bool {
        let Some(writer) = self.rtc.writer(mid) else {
            return false;
        };
        let Some(pt) = writer.payload_params().next().map(|p| p.pt()) else {
            return false;
        };
        let writer = match rid {
            Some(rid) => writer.rid(rid),
            None => writer,
        };
        writer.write(pt, now, time, data).is_ok()
    }
}

/// A video layer the peer sends: its rid (none without simulcast) and whether its next
/// frame must be a keyframe.
struct VideoLayer {
    rid: Option<Rid>,
    keyframe_due: bool,
}

/// The video layers a peer sends, lowest first: one without a rid, or the simulcast rids;
/// each starts with a keyframe.
fn video_layers(cfg: &PeerConfig) -> Vec<VideoLayer> {
    let layer = |rid| VideoLayer {
        rid,
        keyframe_due: true,
    };
    if cfg.simulcast {
        SIMULCAST_LAYERS
            .iter()
            .map(|r| layer(Some(Rid::from(*r))))
            .collect()
    } else {
        vec![layer(None)]
    }
}

/// The next send time, without bursting to catch up after a long stall.
fn catch_up(next: Instant, now: Instant) -> Instant {
    if next + Duration::from_millis(100) < now {
        now
    } else {
        next
    }
}

/// The next frame of any ICE-TCP connection; never ready without ICE-TCP.
async fn tcp_frame(tcp: &mut Option<TcpLinks>) -> Option<(SocketAddr, Vec<u8>)> {
    match tcp {
        Some(tcp) => tcp.frames_rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The next datagram relayed to the peer; never ready without TURN.
async fn relayed(relay: &mut Option<Relay>) -> Option<(SocketAddr, Vec<u8>)> {
    match relay {
        Some(relay) => relay.incoming.recv().await,
        None => std::future::pending().await,
    }
}
