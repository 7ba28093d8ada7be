//! A forwarding group and its routing table. The table maps a publisher's track to the
//! receive slots it is written into; it is rebuilt on membership, subscription or speaker
//! changes (control path) so the packet path is one hash lookup per frame.
//!
//! Invariants: `routes` always mirrors the members' slot assignments (rebuilt by
//! `recompute`); a source that is still wanted keeps its slot; free slots are filled in join
//! order (audio-only: loudness order); nobody is routed to themselves or from a viewer.
//! A mirror group (`Placement::Mirror`) has no host peer of its own: its `host` is the key
//! of its `remote` host, whose tracks are fed by the home worker (`super::mirror`).

use std::collections::HashMap;

use str0m::media::Mid;

use super::mirror::{HostInfo, Placement, RemoteHost};
use super::peer::{Peer, PeerKey, PeerMap};
use crate::api::{GroupId, Kind, PeerId, Policy, Role, SfuEvent, Subscriptions};

/// Where one publisher track goes: `(subscriber, slot m-line)` pairs.
pub type Routes = HashMap<(PeerKey, Mid), Vec<(PeerKey, Mid)>>;

/// A group of peers sharing one forwarding policy.
#[derive(Debug)]
pub struct Group {
    pub id: GroupId,
    pub policy: Policy,
    /// Members in join order (the order sources fill free slots).
    pub members: Vec<PeerKey>,
    pub host: Option<PeerKey>,
    /// Live groups forward only while enabled; other policies always forward.
    pub forwarding: bool,
    /// Audio-only groups: the forwarded speakers, loudest first.
    pub speakers: Vec<PeerKey>,
    pub routes: Routes,
    /// Whether the group is whole here, the home of a mirrored live group, or a mirror.
    pub placement: Placement,
    /// A mirror: the host on the home worker, as last announced (`host` is its key).
    pub remote: Option<RemoteHost>,
    /// A home: the host as last announced to the mirrors; a mirror: as last received.
    pub announced: Option<HostInfo>,
}

impl Group {
    pub fn new(id: GroupId, policy: Policy, placement: Placement) -> Self {
        Group {
            placement,
            remote: None,
            announced: None,
            id,
            forwarding: !matches!(policy, Policy::Live),
            policy,
            members: Vec::new(),
            host: None,
            speakers: Vec::new(),
            routes: Routes::new(),
        }
    }

    /// Whether `source`'s frames and keyframe holds are relayed to mirrors: it is the host
    /// of a spread group's home.
    pub fn relays_from(&self, source: PeerKey) -> bool {
        self.placement == Placement::Home && self.host == Some(source)
    }

    /// Publishers whose `kind` track `sub` should receive, in slot-filling order.
    fn wanted_sources(&self, sub: &Peer, kind: Kind, peers: &PeerMap) -> Vec<(PeerKey, Mid)> {
        let candidates: &[PeerKey] = match self.policy {
            Policy::AudioOnly { .. } => &self.speakers,
            Policy::Live => self.host.as_slice(),
            Policy::Video => &self.members,
        };
        let local = candidates
            .iter()
            .filter(|k| **k != sub.key)
            .filter_map(|k| peers.get(k))
            .filter(|p| p.role != Role::Viewer && subscribed(&sub.subscriptions, &p.id))
            .filter_map(|p| p.ingress_of(kind).map(|i| (p.key, i.mid)));
        let remote = self
            .remote
            .iter()
            .filter(|r| self.host == Some(r.key) && subscribed(&sub.subscriptions, &r.id))
            .filter_map(|r| r.ingress_of(kind).map(|i| (r.key, i.mid)));
        local.chain(remote).collect()
    }

    /// The peer id of a source: a member's, or the remote host's.
    fn source_id(&self, key: PeerKey, peers: &PeerMap) -> Option<PeerId> {
        match peers.get(&key) {
            Some(peer) => Some(peer.id.clone()),
            None => self
                .remote
                .as_ref()
                .filter(|r| r.key == key)
                .map(|r| r.id.clone()),
        }
    }

    /// Reassigns every member's slots and rebuilds the routing table. Sources that keep a
    /// slot stay in it (a subscriber sees a stable stream); returns routing events.
    pub fn recompute(&mut self, peers: &mut PeerMap) -> Vec<SfuEvent> {
        let mut events = Vec::new();
        for sub_key in self.members.clone() {
            for kind in [Kind::Audio, Kind::Video] {
                let Some(sub) = peers.get(&sub_key) else {
                    continue;
                };
                let mut wanted = self.wanted_sources(sub, kind, peers);
                let Some(sub) = peers.get_mut(&sub_key) else {
                    continue;
                };
                let slots = sub.slots.iter_mut().filter(|s| s.kind == kind);
                let mut free = Vec::new();
                for slot in slots {
                    match slot
                        .source
                        .and_then(|src| wanted.iter().position(|w| *w == src))
                    {
                        Some(at) => {
                            wanted.remove(at);
                        }
                        None => free.push(slot),
                    }
                }
                let mut wanted = wanted.into_iter();
                for slot in free {
                    let next = wanted.next();
                    if slot.source != next {
                        slot.assign(next);
                        events.push((sub_key, slot.mid, kind, next.map(|(k, _)| k)));
                    }
                }
            }
        }
        self.rebuild_routes(peers);
        events
            .into_iter()
            .filter_map(|(sub, mid, kind, source)| {
                let peer = peers.get(&sub)?.id.clone();
                let source = source.and_then(|k| self.source_id(k, peers));
                Some(SfuEvent::TrackRouted {
                    group: self.id.clone(),
                    peer,
                    mid: mid.to_string(),
                    kind,
                    source,
                })
            })
            .collect()
    }

    fn rebuild_routes(&mut self, peers: &PeerMap) {
        self.routes.clear();
        for sub_key in &self.members {
            let Some(sub) = peers.get(sub_key) else {
                continue;
            };
            for slot in &sub.slots {
                if let Some(source) = slot.source {
                    self.routes
                        .entry(source)
                        .or_default()
                        .push((*sub_key, slot.mid));
                }
            }
        }
    }

    /// Recomputes the loudest `n` active, unpaused audio publishers. Returns true if changed.
    pub fn update_speakers(&mut self, peers: &PeerMap, n: usize) -> bool {
        let mut ranked: Vec<(f32, PeerKey)> = self
            .members
            .iter()
            .filter_map(|k| peers.get(k))
            .filter_map(|p| p.ingress_of(Kind::Audio).map(|i| (i, p.key)))
            .filter(|(i, _)| i.active && !i.paused)
            .map(|(i, k)| (i.loudness, k))
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        let top: Vec<PeerKey> = ranked.into_iter().take(n).map(|(_, k)| k).collect();
        // Order within the set does not matter for forwarding; only membership changes count.
        let mut old = self.speakers.clone();
        let mut new = top.clone();
        old.sort();
        new.sort();
        self.speakers = top;
        old != new
    }
}

fn subscribed(subs: &Subscriptions, source: &PeerId) -> bool {
    match subs {
        Subscriptions::All => true,
        Subscriptions::Only(ids) => ids.contains(source),
    }
}
