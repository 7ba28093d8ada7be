//! One WebRTC transport (a str0m `Rtc`) and what the SFU tracks about it: its published
//! tracks (ingress, keyed by m-line) and its receive slots (recvonly m-lines the SFU fills
//! with other peers' tracks). Owned exclusively by the core.
//!
//! Invariants: a slot's outgoing RTP timeline is continuous whatever its source or layer
//! (`rebase`); a video slot writes nothing between a source change and that source's next
//! keyframe, and switches simulcast layers only on the new layer's keyframe; on a peer with
//! the estimator on, a video slot is paced exactly while it carries a simulcast layer
//! (`follow_pacing`): video the SFU cannot adapt never waits for the estimate.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::net::SocketAddr;
use std::time::Instant;

use str0m::format::PayloadParams;
use str0m::media::{MediaData, MediaTime, Mid, Pt, Rid};
use str0m::net::Protocol;
use str0m::{Event, Output, Rtc, RtcError};

use super::Transmit;
use super::layers::{Accept, LayerRates, LayerSwitch, Selector};
use super::offer::OfferedMedia;
use crate::api::{GroupId, Kind, Path, PeerId, Role, Subscriptions};
use crate::handle::AddPeer;

/// Internal handle of a peer on the packet path (cheap to hash and copy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerKey(pub u64);

/// The core's peers by key. A fan-out looks its subscriber up several times per copy, and
/// the standard SipHash of a `u64` costs about as much as the rest of those lookups; the
/// core hands out the keys itself (a counter), so no client can choose keys that collide,
/// and a multiplicative hash (`KeyHasher`) is enough.
pub type PeerMap = HashMap<PeerKey, Peer, BuildHasherDefault<KeyHasher>>;

/// Fibonacci hashing of a `PeerKey`: one multiplication by 2^64 / φ, which spreads
/// consecutive keys over the high bits (hashbrown's control bytes) and keeps the low bits
/// (its bucket index) a permutation of the key's. Only for keys the core generates.
#[derive(Debug, Default, Clone, Copy)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, key: u64) {
        self.0 = (self.0 ^ key).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    /// Never used by `PeerKey` (its derived `Hash` writes one `u64`); kept correct for any
    /// other input by folding the bytes in eight at a time.
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }
}

/// A track the peer publishes.
#[derive(Debug)]
pub struct Ingress {
    pub mid: Mid,
    pub kind: Kind,
    pub paused: bool,
    /// True between MediaStarted and MediaStopped.
    pub active: bool,
    pub last_media: Option<Instant>,
    /// When a keyframe was last requested, per layer (`None` = no simulcast).
    pub keyframe_requests: Vec<(Option<Rid>, Instant)>,
    /// Simulcast video: the layers (rids) received and their rates; empty otherwise.
    pub layers: LayerRates,
    /// Smoothed loudness, 0 (silence) ..= 127 (loudest).
    pub loudness: f32,
}

impl Ingress {
    pub fn new(mid: Mid, kind: Kind) -> Self {
        Ingress {
            mid,
            kind,
            paused: false,
            active: false,
            last_media: None,
            keyframe_requests: Vec::new(),
            layers: LayerRates::default(),
            loudness: 0.0,
        }
    }

    /// Records a frame of this track arriving at `now` (and, for simulcast video, its
    /// layer's rate): a local publisher's, or a remote host's relayed to a mirror.
    pub fn observe_frame(&mut self, now: Instant, data: &MediaData) {
        self.last_media = Some(now);
        if let Some(rid) = data.rid.filter(|_| self.kind == Kind::Video) {
            self.layers.observe(now, rid, &data.data);
        }
    }

    /// Folds one RFC 6464 level (0 = loudest, -127 = silence) into the smoothed loudness.
    pub fn observe_level(&mut self, level: i8) {
        let loudness = f32::from(level.clamp(-127, 0)) + 127.0;
        self.loudness = self.loudness * 0.8 + loudness * 0.2;
    }

    pub fn level(&self) -> i8 {
        (self.loudness.round() as i16 - 127).clamp(-127, 0) as i8
    }
}

/// A receive slot: an m-line of this peer that the SFU sends some source's track into.
#[derive(Debug)]
pub struct Slot {
    pub mid: Mid,
    pub kind: Kind,
    pub source: Option<(PeerKey, Mid)>,
    /// Video: frames are held back until a keyframe so the decoder can start.
    pub awaiting_keyframe: bool,
    /// Simulcast source: the layer forwarded and the one switched to on its keyframe.
    pub switch: LayerSwitch,
    /// Simulcast source: the target layer from the bandwidth budget and the hint.
    pub selector: Selector,
    /// The subscriber's hint: render no taller than this (`None` = no cap).
    pub max_height: Option<u32>,
    /// Video on a peer with the estimator on: whether str0m was told to pace this slot's
    /// stream (`None` = not told yet; str0m's default paces video).
    pub paced: Option<bool>,
    /// The subscriber's payload type for the last source codec parameters written here
    /// (see `Peer::payload_type`).
    matched: Option<(PayloadParams, Pt)>,
    /// Offset added to source RTP times so the slot's timeline stays continuous.
    time_offset: i64,
    last_out: Option<u64>,
    rebase_pending: bool,
}

impl Slot {
    pub fn new(mid: Mid, kind: Kind) -> Self {
        Slot {
            mid,
            kind,
            source: None,
            awaiting_keyframe: kind == Kind::Video,
            switch: LayerSwitch::default(),
            selector: Selector::default(),
            max_height: None,
            paced: None,
            matched: None,
            time_offset: 0,
            last_out: None,
            rebase_pending: true,
        }
    }

    /// Switches the slot to another source (or none).
    pub fn assign(&mut self, source: Option<(PeerKey, Mid)>) {
        self.source = source;
        self.awaiting_keyframe = self.kind == Kind::Video;
        self.rebase_pending = true;
        self.switch.reset(None);
        self.selector = Selector::default();
    }

    /// Whether a frame of layer `rid` goes out. `lowest` is the source's lowest layer,
    /// where a simulcast slot starts.
    fn accept(&mut self, rid: Option<Rid>, keyframe: bool, lowest: Option<Rid>) -> Written {
        if rid.is_some() {
            if self.awaiting_keyframe {
                // A new source or a resume: start again on the target's keyframe.
                self.awaiting_keyframe = false;
                self.switch.started = false;
            }
            if self.switch.target.is_none() {
                self.switch.target = lowest.or(rid);
            }
            return match self.switch.accept(rid, keyframe) {
                Accept::Forward => Written::Yes,
                Accept::Switched => {
                    self.rebase_pending = true;
                    Written::Yes
                }
                Accept::Skip if self.switch.pending() && rid == self.switch.target => {
                    Written::AwaitingKeyframe(self.switch.target)
                }
                Accept::Skip => Written::No,
            };
        }
        if self.awaiting_keyframe {
            if !keyframe {
                return Written::AwaitingKeyframe(None);
            }
            self.awaiting_keyframe = false;
        }
        Written::Yes
    }

    /// Maps a source media time onto this slot's continuous timeline.
    pub fn rebase(&mut self, time: MediaTime) -> MediaTime {
        let input = time.numer() as i64;
        if self.rebase_pending {
            self.rebase_pending = false;
            // One nominal frame after the last output (20 ms audio, ~33 ms video).
            let step =
                i64::from(time.frequency().get()) / if self.kind == Kind::Audio { 50 } else { 30 };
            self.time_offset = self.last_out.map_or(0, |last| {
                (last as i64).saturating_add(step).saturating_sub(input)
            });
        }
        let out = input.saturating_add(self.time_offset).max(0) as u64;
        self.last_out = Some(out);
        MediaTime::new(out, time.frequency())
    }
}

/// The SFU's view of one peer.
pub struct Peer {
    pub key: PeerKey,
    pub id: PeerId,
    pub group: GroupId,
    pub role: Role,
    pub rtc: Rtc,
    pub ufrag: String,
    pub ingress: Vec<Ingress>,
    pub slots: Vec<Slot>,
    pub subscriptions: Subscriptions,
    /// Whether the offer publishes anything (a subscriber-only peer is "connected" without media).
    pub publishes: bool,
    pub created: Instant,
    pub last_rx: Instant,
    pub transport_up: bool,
    pub got_media: bool,
    pub connected_reported: bool,
    pub next_timeout: Instant,
    /// The instant of this peer's entry in the core's timer set, if it has one: never
    /// later than `next_timeout` (it may be earlier, see `SfuCore::drain`).
    pub armed: Option<Instant>,
    /// Transport and source of the last datagram received (the pair in use).
    pub last_from: Option<(Protocol, SocketAddr)>,
    /// The relay addresses the offer listed (`typ relay` candidates), to tell a relayed
    /// path from a direct one.
    pub relay_addrs: Vec<SocketAddr>,
    /// The estimated bandwidth towards this peer (TWCC or REMB, bit/s), once known.
    pub estimate: Option<u64>,
    /// When the estimator was last asked to probe (see `adapt`).
    pub last_probe: Option<Instant>,
    /// The bandwidth estimator and its pacer are on: forwarded packets may leave on a
    /// later drain than the frame's (counted as RTP datagrams, `rtp_drained`).
    pub paced: bool,
    /// RTP (not RTCP) datagrams the last `drain` queued.
    pub rtp_drained: u64,
    /// The forwarded frame last written (`write_forwarded`): its payload type in this
    /// peer's `Rtc` and its kind, by which a drain recognises the frame's packets.
    writing: Option<(Pt, Kind)>,
    /// Whether the last drain let out the written frame's (last) packet: an audio frame's
    /// one packet, a video frame's packet with the marker bit. RTX, padding and other
    /// queued packets do not count.
    frame_drained: bool,
    /// The last drain stopped after a forwarded frame, before the timeout (see `drain`):
    /// it must be finished before anything else is done to the `Rtc`.
    pub drain_pending: bool,
    /// Whether the core's list of unfinished drains holds this peer.
    pub listed_unfinished: bool,
    /// What the offer sends as video: whether subscribers of this peer can be given
    /// another layer when their estimate changes.
    pub video_send: VideoSend,
    /// The latest `now` given to the `Rtc`: str0m ignores a timeout older than that, so a
    /// copy queued earlier but built later is packetized at this time.
    pub clock: Instant,
}

/// What a peer's offer sends as video.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoSend {
    None,
    /// One layer: subscribers get it whatever their bandwidth.
    OneLayer,
    /// Several layers (`a=simulcast`): each subscriber gets the one that fits its estimate.
    Simulcast,
}

impl VideoSend {
    /// What an offer (its summary) sends as video: simulcast if its sending video section
    /// declares it.
    pub fn offered(media: &[OfferedMedia]) -> Self {
        match media.iter().find(|m| m.kind == Kind::Video && m.sends()) {
            None => VideoSend::None,
            Some(m) if m.simulcast => VideoSend::Simulcast,
            Some(_) => VideoSend::OneLayer,
        }
    }
}

/// Outcome of writing a forwarded frame into a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    Yes,
    /// A video slot is waiting for a keyframe (of this layer) and this frame is not one.
    AwaitingKeyframe(Option<Rid>),
    /// Not connected yet, unknown slot or codec, a slot fed by another source now, or str0m
    /// refused the frame.
    No,
}

/// Whether a datagram is (S)RTP media rather than RTCP, STUN or DTLS (RFC 7983 first byte,
/// RFC 5761 payload types 192..=223 for RTCP). RTX padding counts as RTP.
pub(super) fn is_rtp(datagram: &[u8]) -> bool {
    datagram.len() >= 12
        && (128..=191).contains(&datagram[0])
        && !(192..=223).contains(&datagram[1])
}

/// Whether an outgoing datagram is the last packet of the frame being written (`writing`:
/// its payload type and kind): RTP with the frame's payload type (not RTX's, nor
/// padding's) and, for video, the marker bit. SRTP leaves the header in clear.
fn completes_frame(writing: Option<(Pt, Kind)>, datagram: &[u8]) -> bool {
    let Some((pt, kind)) = writing else {
        return false;
    };
    is_rtp(datagram) && datagram[1] & 0x7f == *pt && (kind == Kind::Audio || has_marker(datagram))
}

/// Whether an (S)RTP datagram has the marker bit set (SRTP leaves the header in clear).
fn has_marker(datagram: &[u8]) -> bool {
    datagram.len() >= 2 && datagram[1] & 0x80 != 0
}

/// The addresses of the `typ relay` candidates in an SDP (at most `MAX_ADDRS_PER_PEER`).
pub fn relay_candidates(sdp: &str) -> Vec<SocketAddr> {
    sdp.lines()
        .filter_map(|line| line.trim().strip_prefix("a=candidate:"))
        .filter_map(|c| {
            // foundation component transport priority address port "typ" type ...
            let f: Vec<&str> = c.split_ascii_whitespace().take(8).collect();
            let relay = f.len() == 8 && f[6] == "typ" && f[7] == "relay";
            relay.then(|| Some(SocketAddr::new(f[4].parse().ok()?, f[5].parse().ok()?)))?
        })
        .take(crate::config::MAX_ADDRS_PER_PEER)
        .collect()
}

impl Peer {
    /// A peer just built from `req`'s accepted offer (`media` is its summary) with its
    /// `Rtc` and ICE ufrag: not connected, no m-line registered yet (str0m reports them on
    /// a later drain), subscribed to everything. `paced`: it has the estimator.
    pub fn new(
        key: PeerKey,
        req: &AddPeer,
        media: &[OfferedMedia],
        (rtc, ufrag): (Rtc, String),
        paced: bool,
        now: Instant,
    ) -> Self {
        Peer {
            key,
            id: req.peer.clone(),
            group: req.group.clone(),
            role: req.role,
            rtc,
            ufrag,
            ingress: Vec::new(),
            slots: Vec::new(),
            subscriptions: Subscriptions::All,
            publishes: media.iter().any(OfferedMedia::sends),
            created: now,
            last_rx: now,
            transport_up: false,
            got_media: false,
            connected_reported: false,
            next_timeout: now,
            armed: None,
            last_from: None,
            relay_addrs: relay_candidates(&req.offer),
            estimate: None,
            last_probe: None,
            paced,
            rtp_drained: 0,
            writing: None,
            frame_drained: false,
            drain_pending: false,
            listed_unfinished: false,
            video_send: VideoSend::offered(media),
            clock: now,
        }
    }

    pub fn ingress_mut(&mut self, mid: Mid) -> Option<&mut Ingress> {
        self.ingress.iter_mut().find(|i| i.mid == mid)
    }

    pub fn ingress_of(&self, kind: Kind) -> Option<&Ingress> {
        self.ingress.iter().find(|i| i.kind == kind)
    }

    pub fn slot_mut(&mut self, mid: Mid) -> Option<&mut Slot> {
        self.slots.iter_mut().find(|s| s.mid == mid)
    }

    /// Writes the frame of track `source` into the slot `slot_mid` (packetized on the next
    /// timeout), if that slot is still fed by `source`.
    pub fn write_forwarded(
        &mut self,
        (slot_mid, source): (Mid, (PeerKey, Mid)),
        kind: Kind,
        data: &MediaData,
        lowest: Option<Rid>,
    ) -> Written {
        debug_assert!(!self.drain_pending, "a frame written mid-drain");
        if !self.transport_up {
            return Written::No;
        }
        let Some(slot) = self.slot_mut(slot_mid).filter(|s| s.source == Some(source)) else {
            return Written::No;
        };
        let keyframe = kind == Kind::Video && data.is_keyframe();
        match slot.accept(data.rid, keyframe, lowest) {
            Written::Yes => {}
            other => return other,
        }
        let time = slot.rebase(data.time);
        if kind == Kind::Video && self.paced {
            self.follow_pacing(slot_mid, data.rid.is_some());
        }
        let Some(pt) = self.payload_type(slot_mid, data.params) else {
            return Written::No;
        };
        let Some(writer) = self.rtc.writer(slot_mid) else {
            return Written::No;
        };
        let writer = match (kind, data.ext_vals.audio_level) {
            (Kind::Audio, Some(level)) => {
                writer.audio_level(level, data.ext_vals.voice_activity.unwrap_or(true))
            }
            _ => writer,
        };
        match writer.write(pt, data.network_time, time, data.data.clone()) {
            Ok(()) => {
                self.writing = Some((pt, kind));
                Written::Yes
            }
            Err(_) => Written::No,
        }
    }

    /// The subscriber's payload type for a source frame's codec `params` (str0m's
    /// `match_params`, which scores every codec the subscriber has), remembered per slot
    /// for the last `params` seen: a slot's source keeps its codec from frame to frame,
    /// and the subscriber's codecs are fixed by the one offer its `Rtc` accepted, so the
    /// answer for the same `params` never changes.
    fn payload_type(&mut self, slot_mid: Mid, params: PayloadParams) -> Option<Pt> {
        let slot = self.slots.iter_mut().find(|s| s.mid == slot_mid)?;
        if let Some((_, pt)) = slot.matched.filter(|(seen, _)| *seen == params) {
            return Some(pt);
        }
        let pt = self.rtc.writer(slot_mid)?.match_params(params)?;
        slot.matched = Some((params, pt));
        Some(pt)
    }

    /// Paces a video slot's stream only while it carries a simulcast layer (`adaptable`).
    /// str0m paces video at 1.1 × the estimate and queues the rest for up to 2 s: right for
    /// a stream the SFU steps down when the estimate drops, but a single-layer stream cannot
    /// follow it, so pacing would only delay it (by up to the queue limit whenever the
    /// estimate is below its rate, e.g. while it climbs from `INITIAL_ESTIMATE_KBPS`).
    /// str0m is told only when the kind of stream changes, before the frame is queued.
    fn follow_pacing(&mut self, slot_mid: Mid, adaptable: bool) {
        let Some(slot) = self.slots.iter_mut().find(|s| s.mid == slot_mid) else {
            return;
        };
        if slot.paced == Some(adaptable) {
            return;
        }
        if let Some(stream) = self.rtc.direct_api().stream_tx_by_mid(slot_mid, None) {
            stream.set_unpaced(!adaptable);
            slot.paced = Some(adaptable);
        }
    }

    /// The path the peer's datagrams take now; `relay_ips` are the TURN servers' IPs.
    pub fn path(&self, relay_ips: &[std::net::IpAddr]) -> Path {
        match self.last_from {
            Some((Protocol::Tcp, _)) => Path::Tcp,
            Some((_, from))
                if self.relay_addrs.contains(&from) || relay_ips.contains(&from.ip()) =>
            {
                Path::Relay
            }
            _ => Path::Udp,
        }
    }

    /// Whether the last drain let out the whole forwarded frame last written.
    pub fn frame_out(&self) -> bool {
        self.frame_drained
    }

    /// Whether the `PeerConnected` event is due: transport up and, for a publisher, media seen.
    pub fn ready_to_report(&self) -> bool {
        !self.connected_reported && self.transport_up && (self.got_media || !self.publishes)
    }

    /// Polls the `Rtc` until it asks for a timeout: queues its datagrams (moved, not copied)
    /// and its events. Returns the number of datagrams queued.
    ///
    /// With `to_frame`, it stops as soon as the forwarded frame last written is out
    /// (`frame_out`) and marks the drain unfinished (`drain_pending`): str0m only requires
    /// the drain to be finished before the `Rtc`'s next mutation, and what is left (the
    /// timeout, with str0m's full pass over its state to compute it) need not delay the
    /// next subscriber's copy.
    pub fn drain(
        &mut self,
        transmits: &mut VecDeque<Transmit>,
        events: &mut Vec<(PeerKey, Event)>,
        to_frame: bool,
    ) -> Result<u64, RtcError> {
        let mut produced = 0;
        self.rtp_drained = 0;
        self.frame_drained = false;
        self.drain_pending = false;
        loop {
            if to_frame && self.frame_drained {
                self.drain_pending = true;
                return Ok(produced);
            }
            match self.rtc.poll_output()? {
                Output::Timeout(at) => {
                    self.next_timeout = at;
                    return Ok(produced);
                }
                Output::Transmit(t) => {
                    let rtp = is_rtp(&t.contents);
                    self.rtp_drained += u64::from(rtp);
                    self.frame_drained |= completes_frame(self.writing, &t.contents);
                    transmits.push_back(Transmit {
                        proto: t.proto,
                        source: t.source,
                        destination: t.destination,
                        contents: t.contents.into(),
                    });
                    produced += 1;
                }
                Output::Event(e) => events.push((self.key, e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use str0m::media::Frequency;

    use super::*;

    /// An RTP header (version 2) with this second byte, then a dummy payload.
    fn rtp(second_byte: u8) -> Vec<u8> {
        let mut packet = vec![0x80, second_byte];
        packet.resize(40, 0);
        packet
    }

    #[test]
    fn only_the_written_frames_last_packet_completes_it() {
        let opus = Some((Pt::from(111), Kind::Audio));
        let vp8 = Some((Pt::from(96), Kind::Video));
        assert!(completes_frame(opus, &rtp(111)));
        assert!(
            completes_frame(opus, &rtp(0x80 | 111)),
            "audio needs no marker"
        );
        assert!(!completes_frame(opus, &rtp(96)), "another stream's packet");
        assert!(!completes_frame(None, &rtp(111)), "nothing written");
        assert!(
            completes_frame(vp8, &rtp(0x80 | 96)),
            "the marker ends the frame"
        );
        assert!(!completes_frame(vp8, &rtp(96)), "a packet inside the frame");
        assert!(
            !completes_frame(vp8, &rtp(0x80 | 97)),
            "RTX (or padding) on its own pt"
        );
        // RTCP (a sender report: packet type 200) is never a frame's packet.
        assert!(!completes_frame(vp8, &rtp(200)));
        assert!(!completes_frame(opus, &[0x80, 111]), "too short for RTP");
    }

    #[test]
    fn relay_candidates_are_read_from_the_offer() {
        let sdp = "v=0\r\n\
            a=candidate:1 1 udp 2122260223 10.0.0.5 50000 typ host\r\n\
            a=candidate:2 1 udp 41885439 192.0.2.9 61000 typ relay raddr 10.0.0.5 rport 5\r\n\
            a=candidate:3 1 udp 41885439 not-an-ip 61000 typ relay\r\n";
        assert_eq!(
            relay_candidates(sdp),
            vec!["192.0.2.9:61000".parse::<SocketAddr>().unwrap()]
        );
    }

    fn audio(n: u64) -> MediaTime {
        MediaTime::new(n, Frequency::FORTY_EIGHT_KHZ)
    }

    #[test]
    fn a_slot_keeps_a_continuous_timeline_across_sources() {
        let mid = Mid::from("1");
        let mut slot = Slot::new(mid, Kind::Audio);
        slot.assign(Some((PeerKey(1), mid)));
        assert_eq!(slot.rebase(audio(1_000_000)).numer(), 1_000_000);
        assert_eq!(slot.rebase(audio(1_000_960)).numer(), 1_000_960);
        // Another source with an unrelated clock continues one frame (960) later.
        slot.assign(Some((PeerKey(2), mid)));
        assert_eq!(slot.rebase(audio(5)).numer(), 1_001_920);
        assert_eq!(slot.rebase(audio(965)).numer(), 1_002_880);
        assert!(!slot.awaiting_keyframe, "audio never waits for keyframes");
        let mut video = Slot::new(mid, Kind::Video);
        video.assign(Some((PeerKey(1), mid)));
        assert!(video.awaiting_keyframe);
    }

    #[test]
    fn levels_are_smoothed_and_clamped() {
        let mut ingress = Ingress::new(Mid::from("0"), Kind::Audio);
        for _ in 0..50 {
            ingress.observe_level(-20);
        }
        assert_eq!(ingress.level(), -20);
        ingress.observe_level(i8::MIN);
        assert!(ingress.level() < -20 && ingress.level() >= -127);
    }
}
