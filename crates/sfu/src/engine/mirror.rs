//! Live groups spread over the workers, so one host's fan-out runs on every core: the
//! group's host is on its home worker (`Placement::Home`); its viewers are spread over all
//! workers, and on each other worker a mirror of the group (`Placement::Mirror`) feeds
//! them. The home relays what the mirrors need as [`Relayed`] messages, which the shells
//! carry over bounded queues between the workers; a mirror relays back the keyframes its
//! slots need.
//!
//! Invariants:
//! - A mirror knows the host only from the home's `HostChanged` (its id, video kind and
//!   tracks): it keeps that as the group's [`RemoteHost`], under a key of its own, and routes
//!   its viewers' slots from it as from a local host. A new host id gets a new key, so a
//!   slot fed by the old host is rerouted (and waits for a keyframe). The home sends
//!   `HostChanged` when the host changes and again on every housekeeping tick, so a mirror
//!   whose queue was full when it changed catches up; an unchanged announcement costs the
//!   mirror one comparison.
//! - The home relays a host frame (`FrameArrived`, the frame shared, not copied) exactly
//!   when it queues the frame's local copies: forwarding on, track not paused. The shell
//!   sends the relayed frames before it builds the local copies, so the mirrors fan out at
//!   the same time as the home.
//! - Keyframe requests are throttled per track and layer on the mirror (as for a local
//!   host) and again on the home, so mirrors cannot make the host send more keyframes than
//!   one group would.
//! - Nothing here runs per copy: a frame crosses to each mirror once.

use std::sync::Arc;
use std::time::Instant;

use str0m::media::{MediaData, Mid, Rid};

use super::SfuCore;
use super::peer::{Ingress, PeerKey, VideoSend};
use crate::api::{GroupId, KeyframeCause, Kind, PeerId};
use crate::config::KEYFRAME_REQUEST_INTERVAL;

/// Where a group lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Every peer of the group is on this worker.
    Whole,
    /// The group's host is on this worker; mirrors on the others feed the rest of its
    /// viewers.
    Home,
    /// Viewers of a group whose host is on worker `home`.
    Mirror { home: usize },
}

/// The host of a mirrored group, as the home announces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostInfo {
    pub id: PeerId,
    pub video_send: VideoSend,
    /// The host's published tracks.
    pub tracks: Vec<(Mid, Kind)>,
}

/// A mirror's view of the host on the home worker.
#[derive(Debug)]
pub struct RemoteHost {
    /// The key the mirror routes it under (never a local peer's).
    pub key: PeerKey,
    pub id: PeerId,
    pub video_send: VideoSend,
    /// Its tracks: simulcast layer rates (observed from the relayed frames) and the
    /// mirror's own keyframe request throttle.
    pub ingress: Vec<Ingress>,
}

impl RemoteHost {
    pub fn ingress_of(&self, kind: Kind) -> Option<&Ingress> {
        self.ingress.iter().find(|i| i.kind == kind)
    }

    fn ingress_mut(&mut self, mid: Mid) -> Option<&mut Ingress> {
        self.ingress.iter_mut().find(|i| i.mid == mid)
    }
}

/// A message between the workers of one mirrored group (names say what happened).
#[derive(Debug, Clone)]
pub enum Relayed {
    /// Home → mirrors: the group's host joined, left, was replaced or its tracks changed.
    HostChanged {
        group: GroupId,
        host: Option<HostInfo>,
    },
    /// Home → mirrors: a frame of the host's track `mid` to fan out. `lowest` is the
    /// track's lowest simulcast layer when it arrived (where a slot starts).
    FrameArrived {
        group: GroupId,
        mid: Mid,
        kind: Kind,
        lowest: Option<Rid>,
        frame: Arc<MediaData>,
        /// Where the frame's added latency is measured from (see `QueuedCopy::since`).
        since: Instant,
    },
    /// Home → mirrors: the host's track `mid` restarts (resumed, forwarding enabled); its
    /// video slots wait for the next keyframe.
    KeyframeAwaited { group: GroupId, mid: Mid },
    /// Mirror → home: a mirror's slot needs a keyframe of the host's track `mid` (layer
    /// `rid`).
    KeyframeWanted {
        group: GroupId,
        mid: Mid,
        rid: Option<Rid>,
        cause: KeyframeCause,
    },
}

/// Where a relayed message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayTo {
    /// Every other worker (each holds a mirror of the group).
    Mirrors,
    /// One worker (a mirror's home).
    Worker(usize),
}

impl SfuCore {
    /// The next message for other workers, in the order they were produced.
    pub fn poll_relay(&mut self) -> Option<(RelayTo, Relayed)> {
        self.relays.pop_front()
    }

    /// Handles a message from another worker (messages for unknown groups are dropped: the
    /// group was removed meanwhile).
    pub fn handle_relay(&mut self, now: Instant, message: Relayed) {
        match message {
            Relayed::HostChanged { group, host } => self.on_host_changed(&group, host),
            Relayed::FrameArrived {
                group,
                mid,
                kind,
                lowest,
                frame,
                since,
            } => self.on_frame_relayed((now, since), &group, (mid, kind), lowest, frame),
            Relayed::KeyframeAwaited { group, mid } => {
                let host = self.groups.get(&group).and_then(|g| g.host);
                if let Some(host) = host {
                    self.hold_for_keyframe(now, host, mid, KeyframeCause::Resumed);
                }
            }
            Relayed::KeyframeWanted {
                group,
                mid,
                rid,
                cause,
            } => {
                let home = self
                    .groups
                    .get(&group)
                    .filter(|g| g.placement == Placement::Home);
                if let Some(host) = home.and_then(|g| g.host) {
                    self.request_keyframe(now, host, mid, rid, cause);
                }
            }
        }
        self.process(now);
    }

    /// A mirror learns its host: a new id gets a new key (its slots are rerouted), the
    /// same id keeps its key and throttles; the group is rerouted either way.
    fn on_host_changed(&mut self, group_id: &GroupId, host: Option<HostInfo>) {
        let Some(group) = self.groups.get_mut(group_id) else {
            return;
        };
        if !matches!(group.placement, Placement::Mirror { .. }) || group.announced == host {
            return;
        }
        group.announced = host.clone();
        let old = group.remote.take();
        let remote = host.map(|info| {
            let (key, mut ingress) = match old {
                Some(old) if old.id == info.id => (old.key, old.ingress),
                _ => {
                    let key = PeerKey(self.next_key);
                    self.next_key += 1;
                    (key, Vec::new())
                }
            };
            // Tracks still published keep their layer rates and request throttle.
            ingress.retain(|i| info.tracks.contains(&(i.mid, i.kind)));
            for &(mid, kind) in &info.tracks {
                if !ingress.iter().any(|i| i.mid == mid) {
                    ingress.push(Ingress::new(mid, kind));
                }
            }
            RemoteHost {
                key,
                id: info.id,
                video_send: info.video_send,
                ingress,
            }
        });
        group.host = remote.as_ref().map(|r| r.key);
        self.remotes.retain(|_, g| g != group_id);
        if let Some(r) = &remote {
            self.remotes.insert(r.key, group_id.clone());
        }
        group.remote = remote;
        self.reroute(group_id);
    }

    /// A mirror fans out a frame of its remote host.
    fn on_frame_relayed(
        &mut self,
        (now, since): (Instant, Instant),
        group_id: &GroupId,
        (mid, kind): (Mid, Kind),
        lowest: Option<Rid>,
        frame: Arc<MediaData>,
    ) {
        let Some(group) = self.groups.get_mut(group_id) else {
            return;
        };
        let Some(remote) = group.remote.as_mut() else {
            return;
        };
        let key = remote.key;
        let Some(ingress) = remote.ingress_mut(mid).filter(|i| i.kind == kind) else {
            return;
        };
        ingress.observe_frame(now, &frame);
        if !group.forwarding {
            return;
        }
        let Some(routes) = group.routes.get(&(key, mid)) else {
            return;
        };
        super::media::queue_copies(
            &mut self.copies,
            routes,
            (key, mid),
            (kind, lowest),
            &frame,
            (now, since),
        );
    }

    /// A home tells its mirrors about its host when that changed (after each reroute).
    pub(super) fn announce_host(&mut self, group_id: &GroupId) {
        let Some(group) = self.groups.get(group_id) else {
            return;
        };
        if group.placement != Placement::Home {
            return;
        }
        let host = group
            .host
            .and_then(|key| self.peers.get(&key))
            .map(|p| HostInfo {
                id: p.id.clone(),
                video_send: p.video_send,
                tracks: p.ingress.iter().map(|i| (i.mid, i.kind)).collect(),
            });
        let Some(group) = self.groups.get_mut(group_id) else {
            return;
        };
        if group.announced == host {
            return;
        }
        group.announced = host.clone();
        let message = Relayed::HostChanged {
            group: group_id.clone(),
            host,
        };
        self.relays.push_back((RelayTo::Mirrors, message));
    }

    /// A home repeats its last announcement to its mirrors (housekeeping).
    pub(super) fn reannounce_hosts(&mut self) {
        for group in self.groups.values() {
            if group.placement == Placement::Home {
                let message = Relayed::HostChanged {
                    group: group.id.clone(),
                    host: group.announced.clone(),
                };
                self.relays.push_back((RelayTo::Mirrors, message));
            }
        }
    }

    /// A mirror's request for a keyframe of its remote host's track: throttled here per
    /// layer (like a local host's), then sent to the home.
    pub(super) fn request_remote_keyframe(
        &mut self,
        now: Instant,
        key: PeerKey,
        mid: Mid,
        rid: Option<Rid>,
        cause: KeyframeCause,
    ) {
        let Some(group_id) = self.remotes.get(&key) else {
            return;
        };
        let Some(group) = self.groups.get_mut(group_id) else {
            return;
        };
        let Placement::Mirror { home } = group.placement else {
            return;
        };
        let Some(ingress) = group.remote.as_mut().and_then(|r| r.ingress_mut(mid)) else {
            return;
        };
        if ingress.kind != Kind::Video || !throttle(&mut ingress.keyframe_requests, rid, now) {
            return;
        }
        let message = Relayed::KeyframeWanted {
            group: group_id.clone(),
            mid,
            rid,
            cause,
        };
        self.relays.push_back((RelayTo::Worker(home), message));
    }

    /// The track `mid` of a remote host (a mirror's), if `key` is one.
    pub(super) fn remote_ingress_mut(&mut self, key: PeerKey, mid: Mid) -> Option<&mut Ingress> {
        let group = self.remotes.get(&key)?;
        let remote = self.groups.get_mut(group)?.remote.as_mut()?;
        remote.ingress_mut(mid)
    }
}

/// Records a keyframe request of layer `rid` at `now` unless one was made within
/// `KEYFRAME_REQUEST_INTERVAL`; false if throttled (or too many layers were seen).
pub(super) fn throttle(
    requests: &mut Vec<(Option<Rid>, Instant)>,
    rid: Option<Rid>,
    now: Instant,
) -> bool {
    match requests.iter().position(|(r, _)| *r == rid) {
        Some(at) if now.duration_since(requests[at].1) < KEYFRAME_REQUEST_INTERVAL => false,
        Some(at) => {
            requests[at].1 = now;
            true
        }
        None if requests.len() <= super::layers::MAX_LAYERS => {
            requests.push((rid, now));
            true
        }
        // Only a publisher cycling through more rids than it may have gets here.
        None => false,
    }
}
