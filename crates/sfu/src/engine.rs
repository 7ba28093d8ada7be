//! The media thread's event loop. One task owns the UDP socket and every peer and group, so
//! the packet path takes no locks: read a burst of datagrams, demultiplex each by hash
//! lookup, feed it to the owning `Rtc`, drain outputs (forwarding media to subscribers), then
//! fire due `Rtc` timeouts and housekeeping. Commands arrive on a bounded queue.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use str0m::net::{Protocol, Receive};
use str0m::{Event, Input};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::api::{DisconnectReason, GroupId, PeerId, SfuError, SfuEvent};
use crate::config::{MAX_DATAGRAM, RECV_BURST, SfuConfig};
use crate::demux::Demux;
use crate::group::Group;
use crate::handle::Command;
use crate::peer::{Peer, PeerKey};
use crate::stats::Counters;

/// All state of the media layer, owned by the media thread.
pub(crate) struct Engine {
    pub cfg: SfuConfig,
    pub socket: Arc<UdpSocket>,
    pub local_addr: SocketAddr,
    pub peers: HashMap<PeerKey, Peer>,
    pub ids: HashMap<PeerId, PeerKey>,
    pub groups: HashMap<GroupId, Group>,
    pub demux: Demux,
    /// `(deadline, peer)` for each peer's next `Rtc` timeout.
    pub timers: BTreeSet<(Instant, PeerKey)>,
    pub events_tx: mpsc::Sender<SfuEvent>,
    /// `Rtc` events waiting to be handled (filled by drains, emptied by `process`).
    pub pending: Vec<(PeerKey, Event)>,
    pub counters: Counters,
    pub next_key: u64,
    /// Groups whose routes must be recomputed once the pending events are handled.
    pub dirty_groups: Vec<GroupId>,
}

enum Wake {
    Command(Option<Command>),
    Readable,
    Timer,
}

impl Engine {
    pub fn new(
        cfg: SfuConfig,
        socket: std::net::UdpSocket,
        local_addr: SocketAddr,
        events_tx: mpsc::Sender<SfuEvent>,
    ) -> Result<Self, SfuError> {
        let socket = UdpSocket::from_std(socket).map_err(|e| SfuError::Io(e.to_string()))?;
        Ok(Engine {
            cfg,
            socket: Arc::new(socket),
            local_addr,
            peers: HashMap::new(),
            ids: HashMap::new(),
            groups: HashMap::new(),
            demux: Demux::default(),
            timers: BTreeSet::new(),
            events_tx,
            pending: Vec::new(),
            counters: Counters::default(),
            next_key: 1,
            dirty_groups: Vec::new(),
        })
    }

    pub async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let mut next_housekeeping = Instant::now() + self.cfg.housekeeping_interval;
        let mut next_speakers = Instant::now() + self.cfg.speaker_interval;
        let socket = self.socket.clone();
        loop {
            let mut deadline = next_housekeeping.min(next_speakers);
            if let Some((at, _)) = self.timers.first() {
                deadline = deadline.min(*at);
            }
            let wake = tokio::select! {
                biased;
                cmd = commands.recv() => Wake::Command(cmd),
                r = socket.readable() => match r { Ok(()) => Wake::Readable, Err(_) => Wake::Timer },
                _ = tokio::time::sleep_until(deadline.into()) => Wake::Timer,
            };
            match wake {
                Wake::Command(None) | Wake::Command(Some(Command::Shutdown)) => break,
                Wake::Command(Some(cmd)) => self.handle_command(cmd),
                Wake::Readable => self.read_burst(&mut buf),
                Wake::Timer => {}
            }
            let now = Instant::now();
            self.fire_timers(now);
            if now >= next_housekeeping {
                self.housekeeping(now);
                next_housekeeping = now + self.cfg.housekeeping_interval;
            }
            if now >= next_speakers {
                self.speaker_tick();
                next_speakers = now + self.cfg.speaker_interval;
            }
        }
        tracing::info!("media thread stopped");
    }

    /// Reads up to `RECV_BURST` datagrams without waiting.
    fn read_burst(&mut self, buf: &mut [u8]) {
        for _ in 0..RECV_BURST {
            let (len, source) = match self.socket.try_recv_from(buf) {
                Ok(got) => got,
                Err(_) => return,
            };
            self.counters.datagrams_in += 1;
            let now = Instant::now();
            let Some(key) = self.demux.route(&buf[..len], source) else {
                self.counters.datagrams_dropped += 1;
                continue;
            };
            self.receive(key, now, source, &buf[..len]);
        }
    }

    fn receive(&mut self, key: PeerKey, now: Instant, source: SocketAddr, data: &[u8]) {
        let Some(peer) = self.peers.get_mut(&key) else {
            return;
        };
        let Ok(receive) = Receive::new(Protocol::Udp, source, self.local_addr, data) else {
            self.counters.datagrams_dropped += 1;
            return;
        };
        peer.last_rx = now;
        if peer.rtc.handle_input(Input::Receive(now, receive)).is_err() {
            // A bad packet from the network must not kill the peer; str0m already dropped it.
            self.counters.datagrams_dropped += 1;
        }
        self.drain(key);
        self.process();
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
            if peer.rtc.handle_input(Input::Timeout(now)).is_err() {
                self.remove_peer(key, DisconnectReason::Failed);
                continue;
            }
            self.drain(key);
            self.process();
        }
    }

    /// Drains a peer's output and re-arms its timer. Returns the datagrams sent.
    pub fn drain(&mut self, key: PeerKey) -> u64 {
        let Some(peer) = self.peers.get_mut(&key) else {
            return 0;
        };
        let before = peer.next_timeout;
        match peer.drain(&self.socket, &mut self.pending) {
            Ok(drained) => {
                self.counters.datagrams_out += drained.sent;
                self.counters.datagrams_dropped += drained.dropped;
                let after = peer.next_timeout;
                if before != after || !self.timers.contains(&(after, key)) {
                    self.timers.remove(&(before, key));
                    self.timers.insert((after, key));
                }
                drained.sent
            }
            Err(e) => {
                tracing::debug!(peer = %peer.id, error = %e, "rtc failed");
                self.remove_peer(key, DisconnectReason::Failed);
                0
            }
        }
    }

    /// Handles queued `Rtc` events until none are left (handling may queue more).
    pub fn process(&mut self) {
        while !self.pending.is_empty() {
            let batch = std::mem::take(&mut self.pending);
            for (key, event) in batch {
                self.handle_rtc_event(key, event);
            }
        }
        for group in std::mem::take(&mut self.dirty_groups) {
            self.reroute(&group);
        }
    }

    /// Queues an event for the signaling layer; never waits (drops and counts when full).
    pub fn emit(&mut self, event: SfuEvent) {
        if self.events_tx.try_send(event).is_err() {
            self.counters.events_dropped += 1;
        }
    }

    /// Frees everything a peer holds and tells the signaling layer.
    pub fn remove_peer(&mut self, key: PeerKey, reason: DisconnectReason) {
        let Some(mut peer) = self.peers.remove(&key) else {
            return;
        };
        peer.rtc.disconnect();
        self.timers.remove(&(peer.next_timeout, key));
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
    pub fn reroute(&mut self, group: &GroupId) {
        let Some(g) = self.groups.get_mut(group) else {
            return;
        };
        let events = g.recompute(&mut self.peers);
        for event in events {
            self.emit(event);
        }
    }
}
