//! Unit tests of the sans-IO core on a virtual clock: real str0m client peers exchange
//! datagrams with one `SfuCore` in memory (no sockets, no sleeps); time only moves when a
//! test advances it, so seconds of calls run in milliseconds.
//!
//! Invariants of the kit: the network is lossless and instantaneous; every step delivers
//! all queued datagrams (both ways) until none are left, then jumps to the earliest wake-up
//! of the core or a client (at least 1 ms later, so a timer that keeps asking for "now"
//! cannot stall the clock).

mod audio_first;
mod client;
mod fanout;
mod keyframes;
mod live_audio;
mod mirror;
mod pacing;
mod routing;
mod slots;
mod speakers;
mod timeouts;
mod transports;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::api::{DisconnectReason, GroupId, Kind, PeerId, Policy, Role, SfuError, SfuEvent};
use crate::config::SfuConfig;
use crate::engine::SfuCore;
use crate::handle::AddPeer;
use client::{Client, ClientConfig};

const SFU_ADDR: ([u8; 4], u16) = ([10, 0, 0, 1], 3478);
const MIN_STEP: Duration = Duration::from_millis(1);
/// How long tests let media flow before counting: 15 audio packets, 4-5 video frames.
pub const WINDOW: Duration = Duration::from_millis(300);

/// One core, its clients and everything the core emitted, on a virtual clock.
pub struct Net {
    pub core: SfuCore,
    pub now: Instant,
    /// Where the virtual clock started: clients stamp payloads relative to it.
    start: Instant,
    clients: Vec<Client>,
    names: HashMap<String, usize>,
    pub events: Vec<SfuEvent>,
}

impl Net {
    pub fn new(cfg: SfuConfig) -> Net {
        Net::bound(cfg, SocketAddr::from(SFU_ADDR))
    }

    /// A core whose socket is bound to `local` (datagrams arrive addressed to it; clients
    /// see the SFU at `SFU_ADDR`, which `cfg.advertised` must then name).
    pub fn bound(cfg: SfuConfig, local: SocketAddr) -> Net {
        let now = Instant::now();
        let mut core = SfuCore::new(cfg, local, now);
        core.dtls_cert = Some(client::shared_cert(1));
        Net {
            core,
            now,
            start: now,
            clients: Vec::new(),
            names: HashMap::new(),
            events: Vec::new(),
        }
    }

    /// A core with default settings and one group.
    pub fn with_group(group: &str, policy: Policy) -> Net {
        Net::with_config_and_group(SfuConfig::default(), group, policy)
    }

    /// A core with `cfg` and one group.
    pub fn with_config_and_group(cfg: SfuConfig, group: &str, policy: Policy) -> Net {
        let mut net = Net::new(cfg);
        net.core.create_group(gid(group), policy).expect("group");
        net
    }

    /// Joins `names` to `group` as participants publishing audio and video, tagged 1, 2, …
    /// in order, each with `slots` receive slots of each kind.
    pub fn join_publishers(&mut self, group: &str, names: &[&str], slots: usize) {
        for (tag, name) in (1..).zip(names) {
            let cfg = ClientConfig::publisher(tag, slots);
            self.join(group, name, Role::Participant, cfg).unwrap();
        }
    }

    /// Joins publishers `a` (tag 1) and `b` (tag 2), one receive slot of each kind, to
    /// `group` and lets their media flow for a `WINDOW`.
    pub fn join_pair(&mut self, group: &str) {
        self.join_publishers(group, &["a", "b"], 1);
        self.run_for(WINDOW);
    }

    /// Creates a client, has the core accept its offer and the client the answer.
    pub fn join(
        &mut self,
        group: &str,
        name: &str,
        role: Role,
        cfg: ClientConfig,
    ) -> Result<(), SfuError> {
        self.add_client(group, name, role, cfg, true)
    }

    /// Adds a peer whose client never sends anything (it vanished right after offering).
    pub fn join_silent(&mut self, group: &str, name: &str, cfg: ClientConfig) {
        let role = Role::Participant;
        self.add_client(group, name, role, cfg, false)
            .expect("offer accepted");
    }

    fn add_client(
        &mut self,
        group: &str,
        name: &str,
        role: Role,
        cfg: ClientConfig,
        online: bool,
    ) -> Result<(), SfuError> {
        let addr = SocketAddr::from(([10, 0, 1, self.clients.len() as u8 + 1], 5000));
        let (mut client, answer) = self.offer(group, name, role, cfg, addr)?;
        client.accept_answer(&answer, self.now);
        client.online = online;
        client.epoch = self.start;
        self.names.insert(name.to_string(), self.clients.len());
        self.clients.push(client);
        self.pump();
        Ok(())
    }

    /// A client of `cfg` at `addr` offers as `name` in `group`: the client (not yet in the
    /// net) and the core's SDP answer.
    pub fn offer(
        &mut self,
        group: &str,
        name: &str,
        role: Role,
        cfg: ClientConfig,
        addr: SocketAddr,
    ) -> Result<(Client, String), SfuError> {
        let (client, offer) = Client::new(cfg, addr, self.now);
        let request = AddPeer {
            group: gid(group),
            peer: pid(name),
            role,
            offer,
            replaces: None,
        };
        let answer = self.core.add_peer(self.now, request)?;
        Ok((client, answer))
    }

    pub fn client(&self, name: &str) -> &Client {
        &self.clients[self.names[name]]
    }

    pub fn client_mut(&mut self, name: &str) -> &mut Client {
        let at = self.names[name];
        &mut self.clients[at]
    }

    /// Runs the network for `duration` of virtual time.
    pub fn run_for(&mut self, duration: Duration) {
        let end = self.now + duration;
        loop {
            self.pump();
            let next = self
                .clients
                .iter()
                .filter(|c| c.online)
                .map(Client::wake)
                .fold(self.core.poll_timeout(), Instant::min)
                .max(self.now + MIN_STEP);
            if next > end {
                self.now = end;
                return;
            }
            self.now = next;
            self.core.handle_timeout(self.now);
            for client in self.clients.iter_mut().filter(|c| c.online) {
                if client.wake() <= self.now {
                    client.handle_timeout(self.now);
                }
            }
        }
    }

    /// Runs until `check` holds, panicking after `limit` of virtual time.
    pub fn run_until(&mut self, what: &str, limit: Duration, check: impl Fn(&Net) -> bool) {
        let end = self.now + limit;
        while !check(self) {
            assert!(self.now < end, "{what}: not reached within {limit:?}");
            self.run_for(Duration::from_millis(10));
        }
    }

    /// Delivers datagrams both ways and collects events until nothing moves.
    pub fn pump(&mut self) {
        let sfu = SocketAddr::from(SFU_ADDR);
        loop {
            let mut moved = false;
            while let Some(t) = self.core.poll_transmit() {
                moved = true;
                let to = self.clients.iter_mut().find(|c| c.addr == t.destination);
                if let Some(client) = to.filter(|c| c.online) {
                    client.receive(self.now, sfu, &t.contents);
                }
            }
            self.core.transmits_sent(self.now);
            self.events
                .extend(std::iter::from_fn(|| self.core.poll_event()));
            for client in &mut self.clients {
                for data in std::mem::take(&mut client.outbox) {
                    moved = true;
                    if client.online {
                        let local = self.core.local_addr();
                        self.core
                            .handle_receive(self.now, client.addr, local, &data);
                    }
                }
            }
            if !moved {
                return;
            }
        }
    }

    /// Pauses or resumes `peer`'s `kind` track now.
    pub fn set_paused(&mut self, peer: &str, kind: Kind, paused: bool) {
        let now = self.now;
        self.core.set_paused(now, &pid(peer), kind, paused).unwrap();
    }

    /// Pauses `peer`'s `kind` track and resumes it at once.
    pub fn pause_and_resume(&mut self, peer: &str, kind: Kind) {
        self.set_paused(peer, kind, true);
        self.set_paused(peer, kind, false);
    }

    /// How many events match `pred`.
    pub fn count(&self, pred: impl Fn(&SfuEvent) -> bool) -> usize {
        self.events.iter().filter(|e| pred(e)).count()
    }

    /// The events matching `pred`, in order.
    pub fn events_where(&self, pred: impl Fn(&SfuEvent) -> bool) -> Vec<&SfuEvent> {
        self.events.iter().filter(|e| pred(e)).collect()
    }

    /// How `peer` was reported disconnected, if it was.
    pub fn disconnected(&self, peer: &str) -> Option<DisconnectReason> {
        let id = pid(peer);
        self.events.iter().find_map(|e| match e {
            SfuEvent::PeerDisconnected { peer, reason, .. } if *peer == id => Some(*reason),
            _ => None,
        })
    }

    /// The `TrackRouted` events of `peer`'s slots since event index `from`: (kind, source).
    pub fn routed_since(&self, from: usize, peer: &str) -> Vec<(Kind, Option<PeerId>)> {
        let id = pid(peer);
        self.events[from..]
            .iter()
            .filter_map(|e| match e {
                SfuEvent::TrackRouted {
                    peer, kind, source, ..
                } if *peer == id => Some((*kind, source.clone())),
                _ => None,
            })
            .collect()
    }

    /// Whether `peer` was reported connected.
    pub fn connected(&self, peer: &str) -> bool {
        let id = pid(peer);
        self.events
            .iter()
            .any(|e| matches!(e, SfuEvent::PeerConnected { peer, .. } if *peer == id))
    }
}

/// A video group `room` with publishers `a` and `b` exchanging media for a `WINDOW`
/// (`Net::join_pair`).
pub fn video_pair() -> Net {
    let mut net = Net::with_group("room", Policy::Video);
    net.join_pair("room");
    net
}

pub fn gid(s: &str) -> GroupId {
    GroupId(s.to_string())
}

pub fn pid(s: &str) -> PeerId {
    PeerId(s.to_string())
}
