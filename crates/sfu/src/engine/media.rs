//! Handling of `Rtc` events (the packet path): registering m-lines, forwarding media frames
//! along the routing table, keyframe requests and their pacing, connection state.
//!
//! Invariants: a publisher track (each simulcast layer of it) receives at most one PLI/FIR
//! per `KEYFRAME_REQUEST_INTERVAL`, whatever asks for it (mirrors too, `super::mirror`); a
//! frame is queued for its subscribers (and relayed to the mirrors of its group) only
//! while its group forwards and the source's track is not paused (copies
//! already queued are built after a pause, like frames already sent; they are dropped only
//! if their slot was rerouted meanwhile).
//!
//! Copies are deferred (see the core's invariants): `forward` only queues a [`QueuedCopy`]
//! per routed slot (a shared reference to the frame; [`Copies`]: audio before video), and
//! `build_copy` writes the frame into that subscriber's `Rtc`, gives it its timeout, drains
//! it (only until the frame is out, see the core's invariants) and counts
//! the frame when the caller polls. Nothing is written into an `Rtc` before
//! its copy is built, so an audio copy built ahead of a video fan-out under way carries
//! only the audio frame: the subscribers still waiting for the video frame get it after
//! the audio, not inside the audio pass.
//!
//! Forwarding uses str0m's frame API: each slot is a str0m send stream with its own SSRC,
//! sequence numbers and RTX, so subscribers see continuous streams; RTP times are rebased
//! per slot when its source changes. NACKs are answered by str0m from its send buffer and
//! losses on the publisher leg are NACKed by str0m before the frame is released.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use str0m::Event;
use str0m::bwe::BweKind;
use str0m::media::{Direction, KeyframeRequestKind, MediaAdded, MediaData, MediaKind, Mid, Rid};
use str0m::{IceConnectionState, Input};

use super::SfuCore;
use super::mirror::{RelayTo, Relayed, throttle};
use super::peer::{Ingress, PeerKey, Slot, Written};
use crate::api::{DisconnectReason, KeyframeCause, Kind, SfuEvent};

/// Most extra same-instant timeouts given to a paced `Rtc` when packetizing one frame: its
/// pacer releases one packet per timeout, and a keyframe is tens of packets.
const PACER_ROUNDS: usize = 64;

/// One subscriber's copy of a forwarded frame, waiting to be built (written into the
/// subscriber's `Rtc` and packetized).
#[derive(Debug, Clone)]
pub(super) struct QueuedCopy {
    pub sub: PeerKey,
    /// The subscriber's slot the frame goes into.
    pub slot: Mid,
    /// The track it comes from: the copy is dropped if the slot was rerouted meanwhile.
    pub source: (PeerKey, Mid),
    /// The source's lowest simulcast layer when the frame arrived (where a slot starts).
    pub lowest: Option<Rid>,
    pub frame: Arc<MediaData>,
    /// The `now` of the input that forwarded it (the packetizing timeout's time, unless
    /// the subscriber's `Rtc` has seen a later one).
    pub now: Instant,
    /// Where the frame's added latency is measured from: its network time, less the time
    /// the datagram that completed it waited in the socket before it was read.
    pub since: Instant,
    pub kind: Kind,
}

/// The copies not yet built: one FIFO per kind, audio taken first, so an audio frame that
/// arrives while a video frame is being fanned out reaches every subscriber before that
/// fan-out goes on (an audio copy is one small packet; a video copy is several).
#[derive(Debug, Default)]
pub(super) struct Copies {
    audio: VecDeque<QueuedCopy>,
    video: VecDeque<QueuedCopy>,
}

impl Copies {
    pub fn push(&mut self, copy: QueuedCopy) {
        match copy.kind {
            Kind::Audio => self.audio.push_back(copy),
            Kind::Video => self.video.push_back(copy),
        }
    }

    /// The next copy to build: the oldest audio copy, else the oldest video copy.
    pub fn pop(&mut self) -> Option<QueuedCopy> {
        self.audio.pop_front().or_else(|| self.video.pop_front())
    }

    /// When the oldest waiting copy was queued.
    pub fn oldest(&self) -> Option<Instant> {
        let fronts = [self.audio.front(), self.video.front()];
        fronts.into_iter().flatten().map(|c| c.now).min()
    }

    pub fn is_empty(&self) -> bool {
        self.audio.is_empty() && self.video.is_empty()
    }

    /// Audio and video copies waiting (tests).
    #[cfg(test)]
    pub fn lens(&self) -> (usize, usize) {
        (self.audio.len(), self.video.len())
    }
}

/// Queues one copy of `frame` (of track `source`) per routed slot; `now` is the
/// forwarding input's, `since` where the frame's latency is measured from.
pub(super) fn queue_copies(
    copies: &mut Copies,
    routes: &[(PeerKey, Mid)],
    source: (PeerKey, Mid),
    (kind, lowest): (Kind, Option<Rid>),
    frame: &Arc<MediaData>,
    (now, since): (Instant, Instant),
) {
    for &(sub, slot) in routes {
        copies.push(QueuedCopy {
            sub,
            slot,
            source,
            lowest,
            frame: Arc::clone(frame),
            now,
            since,
            kind,
        });
    }
}

impl SfuCore {
    pub(super) fn handle_rtc_event(&mut self, now: Instant, key: PeerKey, event: Event) {
        match event {
            Event::Connected => self.on_connected(now, key),
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) | Event::Closed => {
                self.drop_peer(key, DisconnectReason::TransportLost);
            }
            Event::MediaAdded(added) => self.on_media_added(key, added),
            Event::MediaData(data) => self.on_media(now, key, data),
            Event::KeyframeRequest(req) => self.on_subscriber_keyframe_request(now, key, req.mid),
            Event::EgressBitrateEstimate(estimate) => self.on_estimate(key, estimate),
            // str0m's other events (ICE state steps, stats, raw packets) carry nothing the
            // SFU acts on; str0m's Event is non-exhaustive, so a catch-all is required.
            _ => {}
        }
    }

    fn on_connected(&mut self, now: Instant, key: PeerKey) {
        let Some(peer) = self.peers.get_mut(&key) else {
            return;
        };
        peer.transport_up = true;
        self.report_if_connected(key);
        // The new subscriber needs a keyframe on each video slot before it can decode.
        let Some(peer) = self.peers.get(&key) else {
            return;
        };
        let sources: Vec<_> = peer
            .slots
            .iter()
            .filter(|s| s.kind == Kind::Video)
            .filter_map(|s| s.source)
            .collect();
        for (source, mid) in sources {
            self.request_keyframe(now, source, mid, None, KeyframeCause::NewSubscriber);
        }
    }

    /// Keeps the subscriber's bandwidth estimate (layers follow it on the next tick).
    fn on_estimate(&mut self, key: PeerKey, estimate: BweKind) {
        let Some(peer) = self.peers.get_mut(&key) else {
            return;
        };
        match estimate {
            BweKind::Twcc {
                estimate,
                can_probe,
            } => {
                tracing::trace!(peer = %peer.id, %estimate, can_probe, "estimate");
                peer.estimate = Some(estimate.as_u64());
            }
            // REMB is per m-line but describes the whole downlink in practice (Chrome).
            BweKind::Remb { estimate, .. } => peer.estimate = Some(estimate.as_u64()),
            _ => {}
        }
    }

    fn report_if_connected(&mut self, key: PeerKey) {
        let Some(peer) = self.peers.get_mut(&key) else {
            return;
        };
        if peer.ready_to_report() {
            peer.connected_reported = true;
            let event = SfuEvent::PeerConnected {
                group: peer.group.clone(),
                peer: peer.id.clone(),
                path: peer.path(&self.cfg.relay_ips),
            };
            self.emit(event);
        }
    }

    fn on_media_added(&mut self, key: PeerKey, added: MediaAdded) {
        let Some(peer) = self.peers.get_mut(&key) else {
            return;
        };
        let kind = match added.kind {
            MediaKind::Audio => Kind::Audio,
            MediaKind::Video => Kind::Video,
        };
        // Directions are the SFU's: RecvOnly = the peer publishes, SendOnly = a receive slot.
        if matches!(added.direction, Direction::RecvOnly | Direction::SendRecv)
            && peer.ingress_of(kind).is_none()
        {
            peer.ingress.push(Ingress::new(added.mid, kind));
        }
        if matches!(added.direction, Direction::SendOnly | Direction::SendRecv) {
            peer.slots.push(Slot::new(added.mid, kind));
        }
        // str0m reports m-lines on a later poll than `accept_offer`; route them when they come.
        if !self.dirty_groups.contains(&peer.group) {
            self.dirty_groups.push(peer.group.clone());
        }
    }

    fn on_media(&mut self, now: Instant, key: PeerKey, data: MediaData) {
        let Some(peer) = self.peers.get_mut(&key) else {
            return;
        };
        let Some(ingress) = peer.ingress_mut(data.mid) else {
            return;
        };
        ingress.observe_frame(now, &data);
        if let Some(level) = data.ext_vals.audio_level {
            ingress.observe_level(level);
        }
        let started = !std::mem::replace(&mut ingress.active, true);
        let (kind, paused) = (ingress.kind, ingress.paused);
        let first_media = !std::mem::replace(&mut peer.got_media, true);
        if started {
            let event = SfuEvent::MediaStarted {
                group: peer.group.clone(),
                peer: peer.id.clone(),
                kind,
            };
            self.emit(event);
        }
        if first_media {
            self.report_if_connected(key);
        }
        if !paused {
            self.forward(now, key, kind, data);
        }
    }

    /// Queues a copy of one frame for every slot routed from `(source, data.mid)`; they
    /// are built by `build_copy`, from `poll_transmit`. The home of a mirrored group also
    /// relays the frame to its mirrors.
    fn forward(&mut self, now: Instant, source: PeerKey, kind: Kind, data: MediaData) {
        let Some(peer) = self.peers.get(&source) else {
            return;
        };
        let lowest = data.rid.and_then(|_| {
            let ingress = peer.ingress.iter().find(|i| i.mid == data.mid)?;
            ingress.layers.lowest(now)
        });
        let Some(group) = self.groups.get(&peer.group) else {
            return;
        };
        if !group.forwarding {
            return;
        }
        let mid = data.mid;
        // A datagram read late (the worker was busy) counts its wait in the socket.
        let since = data
            .network_time
            .checked_sub(self.socket_wait)
            .unwrap_or(data.network_time);
        let frame = Arc::new(data);
        if group.relays_from(source) {
            let message = Relayed::FrameArrived {
                group: group.id.clone(),
                mid,
                kind,
                lowest,
                frame: Arc::clone(&frame),
                since,
            };
            self.relays.push_back((RelayTo::Mirrors, message));
        }
        let Some(routes) = group.routes.get(&(source, mid)) else {
            return;
        };
        queue_copies(
            &mut self.copies,
            routes,
            (source, mid),
            (kind, lowest),
            &frame,
            (now, since),
        );
    }

    /// Builds one queued copy: writes the frame into the subscriber's slot (if it is still
    /// routed from the frame's source and wants the frame), packetizes and drains that
    /// `Rtc`, counts the frame and its datagrams, and handles the `Rtc` events the drain
    /// queued. A slot waiting for a keyframe asks the source for one instead.
    #[inline(never)]
    pub(super) fn build_copy(&mut self, copy: QueuedCopy) {
        self.finish_drain(copy.sub);
        let Some(peer) = self.peers.get_mut(&copy.sub) else {
            // Removed since the frame arrived: nothing of it goes out.
            return;
        };
        let slot = (copy.slot, copy.source);
        match peer.write_forwarded(slot, copy.kind, &copy.frame, copy.lowest) {
            Written::Yes => self.packetize(&copy),
            Written::AwaitingKeyframe(rid) => {
                let (source, mid) = copy.source;
                self.request_keyframe(copy.now, source, mid, rid, KeyframeCause::NewSubscriber);
            }
            Written::No => {}
        }
    }

    /// Packetizes and drains a subscriber a frame was just written into.
    fn packetize(&mut self, copy: &QueuedCopy) {
        let Some(peer) = self.peers.get_mut(&copy.sub) else {
            return;
        };
        // str0m ignores a timeout older than the last one it got: a copy queued earlier
        // than the subscriber's last input (or built after a later audio copy) uses that.
        let now = copy.now.max(peer.clock);
        peer.clock = now;
        // str0m packetizes written frames on its next timeout; give it one right away.
        let _ = peer.rtc.handle_input(Input::Timeout(now));
        // The drain stops once the frame is out: the rest of it waits until the fan-out's
        // copies are sent (`SfuCore::finish_drains`).
        let mut sent = self.drain_frame(copy.sub, now);
        // With the estimator on, str0m's pacer releases one packet per timeout (it then asks
        // for another 1 µs later): give it further timeouts at the same instant until the
        // frame is out (audio: its one packet; video: the packet with the marker bit) or a
        // timeout releases nothing (a paced stream's budget is spent). What it holds for
        // later, and the pacer's last empty round, go on the peer's timer, after the fan-out.
        // Each further timeout follows a finished drain: a drain stops early only once the
        // frame is out, and then no timeout follows.
        let mut last = sent;
        for _ in 0..PACER_ROUNDS {
            let Some(peer) = self.peers.get_mut(&copy.sub) else {
                break;
            };
            if !peer.paced
                || last == 0
                || peer.frame_out()
                || peer.rtc.handle_input(Input::Timeout(now)).is_err()
            {
                break;
            }
            last = self.drain_frame(copy.sub, now);
            sent += last;
        }
        self.counters.frames_forwarded += 1;
        // A paced peer's RTP is counted by every drain (`SfuCore::drain`), wherever it leaves.
        if !self.peers.get(&copy.sub).is_some_and(|p| p.paced) {
            self.counters.packets_forwarded += sent;
        }
        self.unsent_frames
            .push_back((copy.since, copy.kind, self.queued));
        self.process(now);
    }

    fn on_subscriber_keyframe_request(&mut self, now: Instant, sub: PeerKey, slot_mid: Mid) {
        let slot = self
            .peers
            .get(&sub)
            .and_then(|p| p.slots.iter().find(|s| s.mid == slot_mid));
        // A simulcast slot asks the layer it forwards (or is about to).
        let source = slot.and_then(|s| Some((s.source?, s.switch.current.or(s.switch.target))));
        if let Some(((source, mid), rid)) = source {
            self.request_keyframe(now, source, mid, rid, KeyframeCause::SubscriberRequest);
        }
    }

    /// Holds every video slot fed by `(source, mid)` until a keyframe, and asks for one.
    pub(super) fn hold_for_keyframe(
        &mut self,
        now: Instant,
        source: PeerKey,
        mid: Mid,
        cause: KeyframeCause,
    ) {
        let group_id = match self.peers.get(&source) {
            Some(peer) => Some(&peer.group),
            None => self.remotes.get(&source),
        };
        let Some(group) = group_id.and_then(|g| self.groups.get(g)) else {
            return;
        };
        if group.relays_from(source) {
            let message = Relayed::KeyframeAwaited {
                group: group.id.clone(),
                mid,
            };
            self.relays.push_back((RelayTo::Mirrors, message));
        }
        let Some(routes) = group.routes.get(&(source, mid)) else {
            return;
        };
        for &(sub_key, slot_mid) in routes {
            if let Some(slot) = self
                .peers
                .get_mut(&sub_key)
                .and_then(|p| p.slot_mut(slot_mid))
            {
                slot.awaiting_keyframe = slot.kind == Kind::Video;
            }
        }
        let rids = self.simulcast_rids(source, mid, now);
        if rids.is_empty() {
            self.request_keyframe(now, source, mid, None, cause);
        }
        for rid in rids {
            self.request_keyframe(now, source, mid, Some(rid), cause);
        }
    }

    /// The active layers of a simulcast track (empty without simulcast).
    fn simulcast_rids(&mut self, source: PeerKey, mid: Mid, now: Instant) -> Vec<Rid> {
        let ingress = match self.peers.get_mut(&source) {
            Some(peer) => peer.ingress_mut(mid),
            None => self.remote_ingress_mut(source, mid),
        };
        let Some(ingress) = ingress else {
            return Vec::new();
        };
        ingress
            .layers
            .active(now)
            .into_iter()
            .map(|l| l.rid)
            .collect()
    }

    /// Sends PLI (or FIR) to a publisher's video track (layer `rid` of a simulcast one), at
    /// most once per interval and layer.
    pub(super) fn request_keyframe(
        &mut self,
        now: Instant,
        source: PeerKey,
        mid: Mid,
        rid: Option<Rid>,
        cause: KeyframeCause,
    ) {
        let Some(peer) = self.peers.get_mut(&source) else {
            // A mirror's remote host: the request goes to the home worker.
            self.request_remote_keyframe(now, source, mid, rid, cause);
            return;
        };
        let Some(ingress) = peer.ingress_mut(mid) else {
            return;
        };
        if ingress.kind != Kind::Video || !throttle(&mut ingress.keyframe_requests, rid, now) {
            return;
        }
        self.finish_drain(source);
        let Some(peer) = self.peers.get_mut(&source) else {
            return;
        };
        let Some(mut writer) = peer.rtc.writer(mid) else {
            return;
        };
        let kind = if writer.is_request_keyframe_possible(KeyframeRequestKind::Pli) {
            KeyframeRequestKind::Pli
        } else {
            KeyframeRequestKind::Fir
        };
        if writer.request_keyframe(rid, kind).is_err() {
            return;
        }
        let event = SfuEvent::KeyframeRequested {
            group: peer.group.clone(),
            peer: peer.id.clone(),
            cause,
        };
        self.drain(source);
        self.emit(event);
    }
}
