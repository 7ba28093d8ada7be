//! The sans-IO core of the media layer, in the style of str0m itself: [`SfuCore`] owns every
//! peer, group and routing table, takes inputs (received datagrams, commands, timeouts, each
//! with the caller's `now`) and gives out transmits, events and its next timeout. It never
//! reads a clock and never touches a socket; the shell (`crate::shell`) does both.
//!
//! Invariants:
//! - Time only enters through the `now` arguments; the core's notion of time is the latest
//!   `now` it was given, so tests drive it on a virtual clock.
//! - Contract with the caller: after each input, drain `poll_transmit` until `None`, then
//!   `poll_event` until `None`, then sleep until `poll_timeout`. A core holding the home
//!   of a spread live group also queues messages for the other workers' cores
//!   (`poll_relay`, fed to them with `handle_relay`, see `mirror`); the caller hands them on
//!   before building copies, so the other workers fan out at the same time. Every input leaves the core
//!   settled except for one deferred step: str0m outputs drained into the transmit and event
//!   queues, queued `Rtc` events handled, dirty groups rerouted.
//! - The deferred step is building the copies of forwarded frames, which keeps the fan-out
//!   interleaved: `forward` only queues one copy per routed slot (one FIFO per kind,
//!   audio first, `copies`); `poll_transmit` builds the next copy (writes the frame into
//!   that subscriber's `Rtc`, gives it a timeout at the forwarding input's `now` or the
//!   subscriber's later clock, drains it) only once the transmit queue is empty, so the
//!   caller sends subscriber 1's datagrams before subscriber 2's are even built, and an
//!   audio frame that arrived during a video fan-out (a caller may feed inputs before
//!   draining) reaches every subscriber before that fan-out goes on, carrying nothing of
//!   the video frame (which is written into an `Rtc` only when its own copy is built).
//!   Whatever that drain produces is handled as after any input: its `Rtc` events are
//!   processed (so `poll_transmit` can queue events; poll them after the transmits), and
//!   `frames_forwarded`, `packets_forwarded` and the latency bookkeeping (`unsent_frames`)
//!   are updated then, so they stay exact.
//! - A subscriber's drain stops once its copy of the frame is out; the rest of it
//!   (str0m's timeout, and whatever else is due) is finished after the fan-out's last copy
//!   (`finish_drains`, before `poll_transmit` returns `None`), so it does not delay the
//!   next subscriber's copy. str0m's contract (a mutation of an `Rtc` only after a full
//!   drain) holds: a peer's unfinished drain is finished before anything else touches its
//!   `Rtc` (its next copy, a datagram or timer for it, a keyframe request to it), and all
//!   of them before `Rtc` events are handled or groups rerouted.
//! - A queued copy has touched no `Rtc`, so a subscriber may get inputs (its datagrams, its
//!   timers) while copies for it wait; a copy whose slot was rerouted meanwhile is dropped,
//!   and `handle_timeout` builds every copy still queued first.
//! - The packet path (receive → demux → `Rtc` → forward) is hash lookups only, never a scan
//!   of the peers, and allocates nothing per packet beyond what str0m itself allocates (the
//!   queues keep their capacity).
//! - One core holds any set of groups; nothing is global, so several cores (one per worker)
//!   can run side by side once groups are spread over workers.

mod adapt;
mod commands;
mod demux;
mod group;
mod housekeeping;
mod layers;
mod media;
mod mirror;
mod offer;
mod peer;
mod stats;

#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::net::{Protocol, Receive};
use str0m::{Event, Input};

use crate::api::{DisconnectReason, GroupId, Kind, PeerId, PeerSnapshot, SfuEvent, SfuStats};
use crate::config::SfuConfig;
use demux::Demux;
use group::Group;
use media::Copies;
pub(crate) use mirror::{Placement, RelayTo, Relayed};
use peer::{PeerKey, PeerMap};
pub(crate) use stats::Counters;

/// A datagram the core wants sent.
#[derive(Debug)]
pub struct Transmit {
    /// UDP, or TCP (RFC 4571 framing on the connection from `destination`).
    pub proto: Protocol,
    /// The local address it is sent from (one of the advertised candidates).
    pub source: SocketAddr,
    pub destination: SocketAddr,
    pub contents: Vec<u8>,
}

/// All state of the media layer, driven by inputs with an explicit `now`.
pub struct SfuCore {
    cfg: SfuConfig,
    local_addr: SocketAddr,
    /// The ICE host candidates put in every answer: UDP first, then TCP passive ones.
    candidates: Vec<(Protocol, SocketAddr)>,
    peers: PeerMap,
    ids: HashMap<PeerId, PeerKey>,
    groups: HashMap<GroupId, Group>,
    demux: Demux,
    /// `(deadline, peer)`: one entry per peer (`Peer::armed`), at or before its `Rtc`'s
    /// next timeout.
    timers: BTreeSet<(Instant, PeerKey)>,
    /// Peers whose drain stopped after a forwarded frame (`Peer::drain_pending`), each
    /// listed once (`Peer::listed_unfinished`), with the `now` of its copy: finished when
    /// the fan-out's copies are built, or before the peer's `Rtc` is touched again.
    unfinished: Vec<(PeerKey, Instant)>,
    /// `Rtc` events waiting to be handled (filled by drains, emptied by `process`).
    pending: Vec<(PeerKey, Event)>,
    counters: Counters,
    next_key: u64,
    /// Groups whose routes must be recomputed once the pending events are handled.
    dirty_groups: Vec<GroupId>,
    transmits: VecDeque<Transmit>,
    /// Transmits ever queued / ever polled: a frame's datagrams are out once `polled`
    /// reaches the `queued` count recorded after them.
    queued: u64,
    polled: u64,
    events: VecDeque<SfuEvent>,
    /// Forwarded frames (latency start, kind, `queued` after their datagrams) whose
    /// datagrams are not yet handed to the socket; their added latency is measured then.
    unsent_frames: VecDeque<(Instant, Kind, u64)>,
    /// While a datagram is being handled: how long it waited in the socket before it was
    /// read (zero otherwise). Frames it completes measure their latency from its arrival.
    socket_wait: Duration,
    /// Copies of forwarded frames not yet built, audio first (`poll_transmit` builds them
    /// one subscriber at a time).
    copies: Copies,
    /// Messages for other workers (mirrored live groups), oldest first.
    relays: VecDeque<(RelayTo, Relayed)>,
    /// The keys of the remote hosts of this core's mirror groups, with their group.
    remotes: HashMap<PeerKey, GroupId>,
    next_housekeeping: Instant,
    next_speakers: Instant,
    /// Tests only: one DTLS certificate for every peer (generating one per peer is most of
    /// the cost of a join in a debug build). Production generates one per peer.
    #[cfg(test)]
    dtls_cert: Option<str0m::config::DtlsCert>,
}

impl SfuCore {
    /// A core with no groups. `local_addr` is the address datagrams arrive on (and the ICE
    /// host candidate when `cfg.advertised` is empty); `now` starts its periodic timers.
    pub fn new(cfg: SfuConfig, local_addr: SocketAddr, now: Instant) -> Self {
        SfuCore {
            next_housekeeping: now + cfg.housekeeping_interval,
            next_speakers: now + cfg.speaker_interval,
            candidates: udp_candidates(&cfg, local_addr),
            cfg,
            local_addr,
            peers: PeerMap::default(),
            ids: HashMap::new(),
            groups: HashMap::new(),
            demux: Demux::default(),
            timers: BTreeSet::new(),
            unfinished: Vec::new(),
            pending: Vec::new(),
            counters: Counters::default(),
            next_key: 1,
            dirty_groups: Vec::new(),
            transmits: VecDeque::new(),
            queued: 0,
            polled: 0,
            events: VecDeque::new(),
            unsent_frames: VecDeque::new(),
            socket_wait: Duration::ZERO,
            copies: Copies::default(),
            relays: VecDeque::new(),
            remotes: HashMap::new(),
            #[cfg(test)]
            dtls_cert: None,
        }
    }

    /// The address datagrams arrive on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Also offers ICE over TCP (RFC 6544 passive host candidates) for peers added from
    /// now on: `tcp_addr` is the bound listener; the candidates are the UDP candidates'
    /// IPs with its port (or `cfg.tcp_advertised_port`).
    pub fn enable_tcp(&mut self, tcp_addr: SocketAddr) {
        let port = self.cfg.tcp_advertised_port.unwrap_or(tcp_addr.port());
        let tcp: Vec<_> = self
            .candidates
            .iter()
            .filter(|(proto, _)| *proto == Protocol::Udp)
            .map(|(_, addr)| (Protocol::Tcp, SocketAddr::new(addr.ip(), port)))
            .collect();
        self.candidates.retain(|(proto, _)| *proto == Protocol::Udp);
        self.candidates.extend(tcp);
    }

    /// Feeds one received UDP datagram (see [`SfuCore::handle_receive_on`]).
    pub fn handle_receive(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        data: &[u8],
    ) {
        self.handle_receive_on(now, Protocol::Udp, source, destination, data);
    }

    /// Feeds one received datagram: a UDP datagram or one RFC 4571 frame of the TCP
    /// connection from `source`. Unknown sources and malformed datagrams are dropped and
    /// counted; they never affect a peer. Copies still waiting to be built stay queued (an
    /// audio frame arriving during a fan-out goes ahead of its video).
    pub fn handle_receive_on(
        &mut self,
        now: Instant,
        proto: Protocol,
        source: SocketAddr,
        destination: SocketAddr,
        data: &[u8],
    ) {
        self.counters.datagrams_in += 1;
        // str0m accepts STUN only addressed to one of its candidates; behind a 1:1 NAT or on
        // an unspecified bind the socket's address is not one, so name the candidate.
        let destination = self.candidate_for(proto, source, destination);
        let Some(key) = self.demux.route(data, proto, source) else {
            self.counters.datagrams_dropped += 1;
            return;
        };
        self.finish_drain(key);
        let Some(peer) = self.peers.get_mut(&key) else {
            return;
        };
        let Ok(receive) = Receive::new(proto, source, destination, data) else {
            self.counters.datagrams_dropped += 1;
            return;
        };
        peer.last_rx = now;
        peer.clock = peer.clock.max(now);
        peer.last_from = Some((proto, source));
        if peer.rtc.handle_input(Input::Receive(now, receive)).is_err() {
            // A bad packet from the network must not kill the peer; str0m already dropped it.
            self.counters.datagrams_dropped += 1;
        }
        self.drain(key);
        self.process(now);
    }

    /// Like [`SfuCore::handle_receive_on`], for a datagram that `waited` in the socket
    /// before this read (from the kernel's receive timestamp): the frames it completes
    /// measure their added latency from its arrival, so time the worker spent busy
    /// elsewhere counts. str0m is still given `now` (time never goes back for an `Rtc`).
    pub fn handle_receive_after(
        &mut self,
        now: Instant,
        waited: Duration,
        proto: Protocol,
        source: SocketAddr,
        destination: SocketAddr,
        data: &[u8],
    ) {
        self.socket_wait = waited;
        self.handle_receive_on(now, proto, source, destination, data);
        self.socket_wait = Duration::ZERO;
    }

    /// When the core next needs `handle_timeout` (may be in the past: then call it now).
    /// In the past while copies of forwarded frames wait to be built, or drains stopped
    /// after a copy wait to be finished (transmits not drained).
    pub fn poll_timeout(&self) -> Instant {
        if let Some(queued) = self.copies.oldest() {
            return queued;
        }
        if let Some(&(_, copied)) = self.unfinished.first() {
            return copied;
        }
        let periodic = self.next_housekeeping.min(self.next_speakers);
        match self.timers.first() {
            Some((at, _)) => periodic.min(*at),
            None => periodic,
        }
    }

    /// Fires every due `Rtc` timeout, then housekeeping (connect/transport/media timeouts)
    /// and the speaker tick if their interval has come.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.settle();
        self.finish_drains();
        self.fire_timers(now);
        if now >= self.next_housekeeping {
            self.housekeeping(now);
            self.adapt_layers(now);
            self.reannounce_hosts();
            self.next_housekeeping = now + self.cfg.housekeeping_interval;
        }
        if now >= self.next_speakers {
            self.speaker_tick();
            self.next_speakers = now + self.cfg.speaker_interval;
        }
    }

    /// The next datagram to send, in the order they were produced. When the queue is empty,
    /// builds the next queued copy of a forwarded frame (which may also queue events): one
    /// subscriber's datagrams go out before the next one's are built.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        loop {
            if let Some(transmit) = self.transmits.pop_front() {
                self.polled += 1;
                return Some(transmit);
            }
            match self.copies.pop() {
                Some(copy) => self.build_copy(copy),
                // The fan-out is sent: what its drains left is due now.
                None if !self.unfinished.is_empty() => self.finish_drains(),
                None => return None,
            }
        }
    }

    /// The next event for the signaling layer, in the order they happened.
    pub fn poll_event(&mut self) -> Option<SfuEvent> {
        self.events.pop_front()
    }

    /// Whether the transmits polled so far complete a forwarded frame whose latency is
    /// measured: then the caller reports the time it handed them over (`transmits_sent`).
    pub fn awaits_send_time(&self) -> bool {
        self.unsent_frames
            .front()
            .is_some_and(|(_, _, until)| *until <= self.polled)
    }

    /// Tells the core that every transmit polled so far was handed to the socket at `now`:
    /// the added latency of the frames they completed is recorded.
    pub fn transmits_sent(&mut self, now: Instant) {
        while let Some(&(since, kind, until)) = self.unsent_frames.front() {
            if until > self.polled {
                break;
            }
            self.unsent_frames.pop_front();
            let latency = now.saturating_duration_since(since);
            self.counters.observe_latency(latency, kind == Kind::Audio);
        }
    }

    /// Counts a polled transmit the socket refused (would block): it becomes a drop.
    pub fn transmit_failed(&mut self) {
        self.counters.datagrams_out = self.counters.datagrams_out.saturating_sub(1);
        self.counters.datagrams_dropped += 1;
    }

    /// Counts a message for another worker that its full queue refused.
    pub fn relay_dropped(&mut self) {
        self.counters.relays_dropped += 1;
    }

    /// Counts a polled event the caller could not deliver (its queue was full).
    pub fn event_dropped(&mut self) {
        self.counters.events_dropped += 1;
    }

    /// Every peer's connection and media state, from the core's tables (in no order).
    pub fn peer_snapshots(&self) -> Vec<PeerSnapshot> {
        self.peers
            .values()
            .map(|p| PeerSnapshot {
                group: p.group.clone(),
                peer: p.id.clone(),
                connected: p.connected_reported,
                media: p
                    .ingress
                    .iter()
                    .filter(|i| i.active)
                    .map(|i| i.kind)
                    .collect(),
            })
            .collect()
    }

    /// Counters, table sizes and latency percentiles.
    pub fn stats(&self) -> SfuStats {
        self.counters
            .snapshot(self.group_count(), self.peers.len(), self.demux.len())
    }

    /// The raw counters and table sizes `(counters, groups, peers, demux entries)`, so a
    /// caller running several cores can merge them into one `SfuStats` (exact percentiles).
    pub(crate) fn stats_parts(&self) -> (Counters, usize, usize, usize) {
        let sizes = (self.group_count(), self.peers.len(), self.demux.len());
        (self.counters.clone(), sizes.0, sizes.1, sizes.2)
    }

    /// Whether `poll_transmit` would return an already built datagram (rather than
    /// packetize the next subscriber or return `None`): a caller batching sends takes what
    /// is ready and sends it before asking for more, so no subscriber waits for the next
    /// one's packetization.
    pub fn transmit_ready(&self) -> bool {
        !self.transmits.is_empty()
    }

    /// Groups held here, a mirrored group counted on its home only (sums over workers
    /// count each group once).
    fn group_count(&self) -> usize {
        let mirror = |g: &&Group| matches!(g.placement, Placement::Mirror { .. });
        self.groups.len() - self.groups.values().filter(mirror).count()
    }

    /// Zeroes the traffic counters and the latency histograms (e.g. after a warm-up).
    pub fn reset_stats(&mut self) {
        self.counters = Counters::default();
        self.unsent_frames.clear();
    }

    /// Drives every `Rtc` whose timeout is due.
    /// Each due peer is driven once per call, so an `Rtc` that keeps asking for an immediate
    /// timeout cannot starve the socket and the command queue.
    fn fire_timers(&mut self, now: Instant) {
        let mut due = Vec::new();
        while let Some(&(at, key)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            due.push(key);
        }
        for key in due {
            let Some(peer) = self.peers.get_mut(&key) else {
                continue;
            };
            // Its entry is gone; the drain below arms the next one.
            peer.armed = None;
            debug_assert!(!peer.drain_pending, "a timeout given mid-drain");
            peer.clock = peer.clock.max(now);
            if peer.rtc.handle_input(Input::Timeout(now)).is_err() {
                self.drop_peer(key, DisconnectReason::Failed);
                continue;
            }
            self.drain(key);
            self.process(now);
        }
    }

    /// Builds every copy still queued (all subscribers at once).
    fn settle(&mut self) {
        while let Some(copy) = self.copies.pop() {
            self.build_copy(copy);
        }
    }

    /// Whether copies of forwarded frames wait to be built (a fan-out is under way): a
    /// caller may feed newly arrived datagrams before draining further, so audio can go
    /// first.
    pub fn fan_out_pending(&self) -> bool {
        !self.copies.is_empty()
    }

    /// Subscribers whose drain stopped after their copy, not yet finished (tests).
    #[cfg(test)]
    pub fn unfinished_drains(&self) -> usize {
        self.peers.values().filter(|p| p.drain_pending).count()
    }

    /// Drains a peer's output into the queues and re-arms its timer. Returns the datagrams
    /// produced.
    fn drain(&mut self, key: PeerKey) -> u64 {
        self.drain_until(key, false)
    }

    /// Drains a subscriber a copy of a frame was just written into until that frame is
    /// out (`Peer::drain`); an unfinished drain is recorded, to be finished before the
    /// peer's `Rtc` is touched again and at the latest when the fan-out's copies are built.
    fn drain_frame(&mut self, key: PeerKey, now: Instant) -> u64 {
        let produced = self.drain_until(key, true);
        if let Some(peer) = self.peers.get_mut(&key) {
            // Listed once, however many of its drains stop early before the list is done.
            if peer.drain_pending && !peer.listed_unfinished {
                peer.listed_unfinished = true;
                self.unfinished.push((key, now));
            }
        }
        produced
    }

    /// Takes the next peer off the unfinished list and finishes its drain.
    fn finish_next(&mut self) -> Option<Instant> {
        let (key, now) = self.unfinished.pop()?;
        if let Some(peer) = self.peers.get_mut(&key) {
            peer.listed_unfinished = false;
        }
        self.finish_drain(key);
        Some(now)
    }

    /// Finishes the peer's drain if its last one stopped after a frame.
    fn finish_drain(&mut self, key: PeerKey) {
        if self.peers.get(&key).is_some_and(|p| p.drain_pending) {
            self.drain(key);
        }
    }

    /// Finishes every unfinished drain and handles the events they queued. (Out of line,
    /// like `build_copy`, so `scripts/bench-copy-cost.sh` can tell the two costs apart.)
    #[inline(never)]
    fn finish_drains(&mut self) {
        if let Some(now) = self.finish_all() {
            self.process(now);
        }
    }

    /// Finishes every unfinished drain, leaving their events queued; returns the latest
    /// `now` of their copies (`None` if there were none).
    fn finish_all(&mut self) -> Option<Instant> {
        let mut latest = None;
        while let Some(now) = self.finish_next() {
            latest = latest.max(Some(now));
        }
        latest
    }

    fn drain_until(&mut self, key: PeerKey, to_frame: bool) -> u64 {
        let Some(peer) = self.peers.get_mut(&key) else {
            return 0;
        };
        match peer.drain(&mut self.transmits, &mut self.pending, to_frame) {
            Ok(produced) => {
                self.queued += produced;
                self.counters.datagrams_out += produced;
                if peer.paced {
                    // The pacer releases forwarded packets on any drain, not only the frame's.
                    self.counters.packets_forwarded += peer.rtp_drained;
                }
                // The timer entry may stay earlier than the `Rtc`'s timeout, never later:
                // it then fires early, which costs one spare `handle_timeout`. Most drains
                // move the timeout later (str0m counts its keepalives from the last send),
                // so the entry stays put until it fires rather than being moved in the
                // set on every forwarded packet.
                let after = peer.next_timeout;
                match peer.armed {
                    Some(at) if at <= after => {}
                    armed => {
                        if let Some(at) = armed {
                            self.timers.remove(&(at, key));
                        }
                        self.timers.insert((after, key));
                        peer.armed = Some(after);
                    }
                }
                produced
            }
            Err(e) => {
                tracing::debug!(peer = %peer.id, error = %e, "rtc failed");
                self.drop_peer(key, DisconnectReason::Failed);
                0
            }
        }
    }

    /// Handles queued `Rtc` events until none are left (handling may queue more).
    fn process(&mut self, now: Instant) {
        if !self.pending.is_empty() || !self.dirty_groups.is_empty() {
            // Handling an event or rerouting may touch any peer's `Rtc`: none may be in
            // the middle of a drain then.
            self.finish_all();
        }
        while !self.pending.is_empty() {
            let batch = std::mem::take(&mut self.pending);
            for (key, event) in batch {
                self.handle_rtc_event(now, key, event);
            }
        }
        for group in std::mem::take(&mut self.dirty_groups) {
            self.reroute(&group);
        }
    }

    /// The advertised candidate a datagram from `source` over `proto` arrived on: the first
    /// of that protocol and IP family, else the socket's own address.
    fn candidate_for(
        &self,
        proto: Protocol,
        source: SocketAddr,
        destination: SocketAddr,
    ) -> SocketAddr {
        self.candidates
            .iter()
            .find(|(p, addr)| *p == proto && addr.is_ipv4() == source.is_ipv4())
            .map_or(destination, |(_, addr)| *addr)
    }

    /// Queues an event for the signaling layer.
    fn emit(&mut self, event: SfuEvent) {
        self.events.push_back(event);
    }

    /// Frees everything a peer holds and tells the signaling layer.
    fn drop_peer(&mut self, key: PeerKey, reason: DisconnectReason) {
        let Some(mut peer) = self.peers.remove(&key) else {
            return;
        };
        peer.rtc.disconnect();
        if let Some(at) = peer.armed {
            self.timers.remove(&(at, key));
        }
        self.demux.remove(key, &peer.ufrag);
        self.ids.remove(&peer.id);
        self.pending.retain(|(k, _)| *k != key);
        if let Some(group) = self.groups.get_mut(&peer.group) {
            group.members.retain(|k| *k != key);
            group.speakers.retain(|k| *k != key);
            if group.host == Some(key) {
                group.host = None;
            }
        }
        self.reroute(&peer.group);
        for ingress in peer.ingress.iter().filter(|i| i.active) {
            let event = SfuEvent::MediaStopped {
                group: peer.group.clone(),
                peer: peer.id.clone(),
                kind: ingress.kind,
            };
            self.emit(event);
        }
        self.emit(SfuEvent::PeerDisconnected {
            group: peer.group,
            peer: peer.id,
            reason,
        });
    }

    /// Recomputes a group's slot assignments and routes, emitting routing events.
    fn reroute(&mut self, group: &GroupId) {
        let Some(g) = self.groups.get_mut(group) else {
            return;
        };
        let events = g.recompute(&mut self.peers);
        self.events.extend(events);
        self.announce_host(group);
    }
}

/// The UDP host candidates: the advertised addresses, or the bound address.
fn udp_candidates(cfg: &SfuConfig, local_addr: SocketAddr) -> Vec<(Protocol, SocketAddr)> {
    let addrs = if cfg.advertised.is_empty() {
        vec![local_addr]
    } else {
        cfg.advertised.clone()
    };
    addrs.into_iter().map(|a| (Protocol::Udp, a)).collect()
}
