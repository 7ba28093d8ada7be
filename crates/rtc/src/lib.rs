//! The media bridge: maps rooms (and live events, see [`live`]) to SFU groups and
//! participants to SFU peers, carries the SDP offer/answer of `media.offer`, and turns the
//! SFU's events into room transitions (`PeerConnected` → `mark_connected`) and client
//! events (`media.track`, `media.active_speakers`, `media.disconnected`) handed to a
//! [`MediaSink`]. It sits between the services and the SFU; the signaling layer decides
//! *who* may offer (seats), this crate only *what* the SFU then does. See docs/media.md and
//! docs/protocol.md.
//!
//! Invariants:
//! - the SFU's ids are opaque to it and to us: the bridge keeps typed maps from
//!   [`MediaGroup`] / [`Member`] to the SFU's `GroupId` / `PeerId` and back; no id is ever
//!   parsed out of an SFU id;
//! - one SFU peer per member at a time; a new offer replaces the old peer (inside the SFU,
//!   once accepted). Every offer gets a fresh `PeerId`, so a late `PeerDisconnected` of a
//!   replaced peer is told apart from the current one;
//! - a group exists while it has peers (created by the first offer, removed with the last
//!   peer); the tables are changed under one async lock, held across the SFU command, so
//!   create/remove of a group never interleave;
//! - a member's exit (any cause: `room.exit`, deletion, grace expiry, the end of a live
//!   event) removes its peer, driven by the committed exit event, so no path leaks a peer;
//! - the SFU crate stays free of rooms: everything room-specific lives here;
//! - events the SFU had to drop (`EventsLost`) are counted and reconciled from a snapshot
//!   of its peers through the same paths the events take, so no member keeps a stale state.
#![forbid(unsafe_code)]

pub mod call;
mod error;
pub mod live;
pub mod placement;
mod tables;

pub use error::MediaError;

use opencalls_domain::{
    DeviceKey, DirectCallId, Event, EventBody, HostId, LiveEventId, ParticipantId, RoomId,
    RoomType, UserId,
};
use opencalls_protocol::{CallEvent, LiveEventEvent, MediaDisconnectReason, MediaKind, RoomEvent};
use opencalls_service::{LiveEventService, Services};
use opencalls_sfu::{
    DisconnectReason, Kind, PeerId, Policy, Role, SfuError, SfuEvent, SfuEvents, SfuHandle,
};
use placement::Placement;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};
use tables::{Offer, PeerEntry, Tables};
use tokio::sync::Mutex;

/// Largest `media.offer` frame: the SFU's offer limit plus room for the other fields.
pub const MAX_OFFER_FRAME: usize = opencalls_sfu::MAX_OFFER_BYTES + 1024;

/// Settings of the media bridge.
#[derive(Clone, Debug)]
pub struct MediaConfig {
    /// Speakers forwarded in `large_room_for_audio_only` rooms.
    pub active_speakers: usize,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self { active_speakers: 3 }
    }
}

/// The call an SFU group carries.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum MediaGroup {
    Room(RoomId),
    Live(LiveEventId),
    Call(DirectCallId),
}

/// Whose media an SFU peer carries.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Member {
    /// A room's participant.
    Participant(ParticipantId),
    /// A live event's host (publishes).
    Host(HostId),
    /// A live event's participant (receives only).
    Viewer(ParticipantId),
    /// One side of a direct call.
    CallSide {
        call_id: DirectCallId,
        user_id: UserId,
    },
}

/// Where the bridge's client events go (the signaling layer's connections).
pub trait MediaSink: Send + Sync {
    /// To the room's devices, or only to the device holding participant `to`.
    fn to_room(&self, room_id: &RoomId, to: Option<&ParticipantId>, event: RoomEvent);
    /// To one device in a live event (if it still holds a seat there).
    fn to_live_member(&self, id: &LiveEventId, owner: &DeviceKey, event: LiveEventEvent);
    /// To the given devices of a direct call (those still connected).
    fn to_call(&self, call_id: &DirectCallId, devices: &[DeviceKey], event: CallEvent);
}

/// What a reconciliation found: current peers the SFU no longer has, and current peers it
/// reports connected (each as SFU group and peer).
struct Diff {
    gone: Vec<(opencalls_sfu::GroupId, PeerId)>,
    connected: Vec<(opencalls_sfu::GroupId, PeerId)>,
}

/// Connects the services' rooms and live events to the SFU. Cheap to share (`Arc`).
pub struct MediaBridge {
    sfu: SfuHandle,
    config: MediaConfig,
    tables: Mutex<Tables>,
    /// The cluster, on a node that shares its database with others (see [`placement`]).
    placement: OnceLock<Arc<dyn Placement>>,
    /// Members offered from here whose peer is on another node's SFU: its group and node.
    remote: std::sync::Mutex<HashMap<Member, placement::RemotePeer>>,
    /// Groups here with peers offered from other nodes: their client events are published.
    serving: std::sync::Mutex<HashSet<MediaGroup>>,
    /// While set, this cluster node may be counted dead: no group is created or fed here.
    fenced: std::sync::atomic::AtomicBool,
}

impl MediaBridge {
    pub fn new(sfu: SfuHandle, config: MediaConfig) -> Self {
        Self {
            sfu,
            config,
            tables: Mutex::new(Tables::default()),
            placement: OnceLock::new(),
            remote: std::sync::Mutex::new(HashMap::new()),
            serving: std::sync::Mutex::new(HashSet::new()),
            fenced: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The SFU this bridge drives (stats, shutdown).
    pub fn sfu(&self) -> &SfuHandle {
        &self.sfu
    }

    fn room_policy(&self, room_type: RoomType) -> Policy {
        match room_type {
            RoomType::SmallRoomForVideo => Policy::Video,
            RoomType::LargeRoomForAudioOnly => Policy::AudioOnly {
                max_active_speakers: self.config.active_speakers.max(1),
            },
        }
    }

    /// Adds (or replaces) a room participant's peer and returns the SDP answer.
    pub async fn offer_room(
        &self,
        room_id: &RoomId,
        room_type: RoomType,
        participant_id: &ParticipantId,
        sdp: String,
    ) -> Result<String, MediaError> {
        let offer = Offer {
            group: MediaGroup::Room(room_id.clone()),
            policy: self.room_policy(room_type),
            member: Member::Participant(participant_id.clone()),
            role: Role::Participant,
            sdp,
            owner: None,
        };
        self.add(offer, Some(room_type)).await
    }

    /// Removes `member`'s peer, if any, wherever it is (an offer whose seat went away).
    pub async fn remove(&self, member: &Member) {
        match self.forget_remote(member) {
            Some(node) => {
                let request = placement::MediaRequest::Remove {
                    member: member.clone(),
                };
                if let Err(err) = self
                    .forward(&node, placement::role_of(member), request)
                    .await
                {
                    tracing::warn!(%node, %err, "removing a peer on another node");
                }
            }
            None => self.remove_here(member).await,
        }
    }

    /// Removes `member`'s peer from this node's SFU, if any, and forgets that it is on
    /// another node's: an exit, deletion, grace expiry or end, driven by a committed event
    /// that every node hears (the owner removes its peer itself).
    pub async fn remove_here(&self, member: &Member) {
        self.forget_remote(member);
        let mut tables = self.tables.lock().await;
        tables.remove(&self.sfu, member).await;
        self.settle(&mut tables).await;
    }

    /// Caps the simulcast layer sent to `member`'s video receive slot `mid` at `max_height`
    /// pixels (`None` = no cap). `PeerNotFound` if the member has no media session.
    pub async fn set_layer_hint(
        &self,
        member: &Member,
        mid: String,
        max_height: Option<u32>,
    ) -> Result<(), MediaError> {
        if let Some(node) = self.remote_node(member) {
            let request = placement::MediaRequest::SetLayerHint {
                member: member.clone(),
                mid,
                max_height,
            };
            return self
                .forward(&node, placement::role_of(member), request)
                .await;
        }
        Ok(self.set_layer_hint_here(member, mid, max_height).await?)
    }

    async fn set_layer_hint_here(
        &self,
        member: &Member,
        mid: String,
        max_height: Option<u32>,
    ) -> Result<(), SfuError> {
        let peer = {
            let tables = self.tables.lock().await;
            match tables.peers.get(member) {
                Some(entry) => entry.peer.clone(),
                None => return Err(SfuError::PeerNotFound(PeerId(String::new()))),
            }
        };
        self.sfu.set_layer_hint(peer, mid, max_height).await
    }

    /// Stops (`on = false`) or resumes forwarding of a member's audio and/or video,
    /// wherever its peer is.
    pub async fn set_media(&self, member: &Member, audio: Option<bool>, video: Option<bool>) {
        if let Some(node) = self.remote_node(member) {
            let request = placement::MediaRequest::SetMedia {
                member: member.clone(),
                audio,
                video,
            };
            if let Err(err) = self
                .forward(&node, placement::role_of(member), request)
                .await
            {
                tracing::warn!(%node, %err, "set_media on another node");
            }
            return;
        }
        self.set_media_here(member, audio, video).await
    }

    /// [`Self::set_media`] on this node's SFU only (driven by a committed event, which the
    /// owner hears too).
    pub(crate) async fn set_media_here(
        &self,
        member: &Member,
        audio: Option<bool>,
        video: Option<bool>,
    ) {
        let peer = {
            let tables = self.tables.lock().await;
            match tables.peers.get(member) {
                Some(entry) => entry.peer.clone(),
                None => return,
            }
        };
        for (kind, on) in [(Kind::Audio, audio), (Kind::Video, video)] {
            if let Some(on) = on {
                // A peer without that track (audio-only room) has nothing to pause.
                let _ = self.sfu.set_paused(peer.clone(), kind, !on).await;
            }
        }
    }

    /// A committed event: exits remove their peer; live-event state changes switch the
    /// forwarding to viewers (see [`live`]).
    pub fn on_event(self: &Arc<Self>, event: &Event, live: &LiveEventService) {
        match &event.body {
            EventBody::ParticipantExited { participant } => {
                let bridge = self.clone();
                let member = Member::Participant(participant.participant_id.clone());
                tokio::spawn(async move { bridge.remove_here(&member).await });
            }
            EventBody::LiveEvent { live_event, body } => {
                live::on_event(self, live, live_event, body)
            }
            EventBody::DirectCall { record, body } => call::on_event(self, record, body),
            // Entering, connecting and media changes need no SFU change; a deleted room's
            // participants each exit first.
            EventBody::RoomCreated { .. }
            | EventBody::RoomDeleted { .. }
            | EventBody::RoomCustomItemsUpdated { .. }
            | EventBody::RoomCustomItemsDeleted { .. }
            | EventBody::ParticipantEntered { .. }
            | EventBody::ParticipantConnected { .. }
            | EventBody::ParticipantMediaChanged { .. } => {}
        }
    }

    /// An SFU peer went away on its own: forget it (and return it) if it is still the
    /// current peer of its member.
    async fn peer_gone(&self, peer: &PeerId) -> Option<(Member, PeerEntry)> {
        let mut tables = self.tables.lock().await;
        let member = tables.member_of(peer)?.clone();
        match tables.peers.get(&member) {
            Some(entry) if &entry.peer == peer => {
                let old = tables.peers.remove(&member)?;
                tables.release(&self.sfu, &old.group).await;
                self.settle(&mut tables).await;
                Some((member, old))
            }
            _ => None,
        }
    }

    /// The member, role and owning device of `peer`, if it is still its member's current peer.
    async fn current(&self, peer: &PeerId) -> Option<(Member, Role, Option<DeviceKey>)> {
        let tables = self.tables.lock().await;
        let member = tables.member_of(peer)?;
        let entry = tables.peers.get(member)?;
        (&entry.peer == peer).then(|| (member.clone(), entry.role, entry.owner.clone()))
    }

    /// The SFU's peers compared with the tables, under the tables' lock (so no offer or
    /// removal interleaves). SFU peers no member owns any more are removed on the spot.
    async fn diff_with_sfu(&self) -> Option<Diff> {
        let tables = self.tables.lock().await;
        let snapshot = match self.sfu.peers().await {
            Ok(snapshot) => snapshot,
            Err(err) => {
                tracing::warn!(%err, "reconciliation skipped");
                return None;
            }
        };
        let known: HashSet<&PeerId> = snapshot.iter().map(|s| &s.peer).collect();
        let gone = tables
            .peers
            .values()
            .filter(|entry| !known.contains(&entry.peer))
            .filter_map(|entry| Some((tables.sfu_group(&entry.group)?, entry.peer.clone())))
            .collect();
        let current: HashSet<&PeerId> = tables.peers.values().map(|e| &e.peer).collect();
        let mut connected = Vec::new();
        for s in &snapshot {
            if !current.contains(&s.peer) {
                tracing::warn!(peer = %s.peer, "removing an SFU peer no member owns");
                let _ = self.sfu.remove_peer(s.peer.clone()).await;
            } else if s.connected {
                connected.push((s.group.clone(), s.peer.clone()));
            }
        }
        Some(Diff { gone, connected })
    }

    /// The call of an SFU group and the members of SFU peers, as one lookup.
    async fn resolve(&self, group: &opencalls_sfu::GroupId) -> Option<MediaGroup> {
        self.tables.lock().await.group_of(group).cloned()
    }
}

fn media_kind(kind: Kind) -> MediaKind {
    match kind {
        Kind::Audio => MediaKind::Audio,
        Kind::Video => MediaKind::Video,
    }
}

fn reason_name(reason: DisconnectReason) -> &'static str {
    match reason {
        DisconnectReason::Removed => "removed",
        DisconnectReason::ConnectTimeout => "connect_timeout",
        DisconnectReason::TransportLost => "transport_lost",
        DisconnectReason::Failed => "failed",
    }
}

/// What a client hears of a disconnection; `None` for a peer removed on purpose.
fn client_reason(reason: DisconnectReason) -> Option<MediaDisconnectReason> {
    match reason {
        DisconnectReason::Removed => None,
        DisconnectReason::ConnectTimeout => Some(MediaDisconnectReason::ConnectTimeout),
        DisconnectReason::TransportLost => Some(MediaDisconnectReason::TransportLost),
        DisconnectReason::Failed => Some(MediaDisconnectReason::Failed),
    }
}

/// A room participant behind an SFU peer (events of room groups).
fn participant(member: Option<Member>) -> Option<ParticipantId> {
    match member? {
        Member::Participant(id) => Some(id),
        Member::Host(_) | Member::Viewer(_) | Member::CallSide { .. } => None,
    }
}

/// Consumes the SFU's events until the SFU stops.
pub async fn run_events(
    bridge: Arc<MediaBridge>,
    services: Services,
    mut events: SfuEvents,
    sink: Arc<dyn MediaSink>,
) {
    let ctx = Ctx {
        bridge: &bridge,
        services: &services,
        sink: &sink,
    };
    while let Some(event) = events.recv().await {
        ctx.handle(event).await;
    }
}

/// What the event handlers act on.
struct Ctx<'a> {
    bridge: &'a Arc<MediaBridge>,
    services: &'a Services,
    sink: &'a Arc<dyn MediaSink>,
}

impl Ctx<'_> {
    async fn handle(&self, event: SfuEvent) {
        match event {
            SfuEvent::PeerConnected { group, peer, path } => {
                self.services.metrics.count(
                    "opencalls_media_peers_connected_total",
                    "Media transports that came up (ICE+DTLS and first media), by path: udp, tcp (ICE-TCP) or relay (TURN).",
                    vec![("path", path.as_str().to_owned())],
                    1,
                );
                self.peer_connected(&group, &peer).await;
            }
            SfuEvent::PeerDisconnected {
                group,
                peer,
                reason,
            } => {
                self.services.metrics.count(
                    "opencalls_media_peers_disconnected_total",
                    "Media transports that went away, by reason.",
                    vec![("reason", reason_name(reason).to_owned())],
                    1,
                );
                if let Some(reason) = client_reason(reason) {
                    self.peer_lost(&group, &peer, reason).await;
                }
            }
            SfuEvent::TrackRouted {
                group,
                peer,
                mid,
                kind,
                source,
            } => {
                let routed = Routed {
                    peer,
                    mid,
                    kind: media_kind(kind),
                    source,
                };
                track_routed(self.bridge, self.sink.as_ref(), &group, routed).await;
            }
            SfuEvent::ActiveSpeakersChanged { group, speakers } => {
                self.speakers_changed(&group, &speakers).await
            }
            SfuEvent::EventsLost { count } => {
                self.services.metrics.count(
                    "opencalls_sfu_events_lost_total",
                    "Media-layer events dropped because the bridge fell behind; each loss is followed by a reconciliation.",
                    vec![],
                    count,
                );
                self.reconcile().await;
            }
            // Per-track and level events only matter inside the SFU.
            SfuEvent::MediaStarted { .. }
            | SfuEvent::MediaStopped { .. }
            | SfuEvent::AudioLevel { .. }
            | SfuEvent::KeyframeRequested { .. } => {}
        }
    }

    /// A peer's transport is up: its room participant, live host or call side is connected.
    async fn peer_connected(&self, group: &opencalls_sfu::GroupId, peer: &PeerId) {
        let (bridge, services, sink) = (self.bridge, self.services, self.sink);
        match bridge.resolve(group).await {
            Some(MediaGroup::Room(room_id)) => {
                let member = bridge.tables.lock().await.member_of(peer).cloned();
                if let Some(pid) = participant(member) {
                    let rooms = services.rooms.clone();
                    tokio::spawn(async move {
                        if let Err(err) = rooms.mark_connected(&room_id, &pid).await {
                            tracing::debug!(%room_id, %pid, %err, "mark_connected");
                        }
                    });
                }
            }
            Some(MediaGroup::Live(id)) => live::peer_connected(services, bridge, &id, peer).await,
            Some(MediaGroup::Call(id)) => {
                call::peer_connected(services, bridge, sink, &id, peer).await
            }
            None => {}
        }
    }

    /// The SFU dropped a peer on its own: if it is still its member's current peer, the
    /// member is told and its call's state follows.
    async fn peer_lost(
        &self,
        group: &opencalls_sfu::GroupId,
        peer: &PeerId,
        reason: MediaDisconnectReason,
    ) {
        let Some(call) = self.bridge.resolve(group).await else {
            return;
        };
        let Some((member, entry)) = self.bridge.peer_gone(peer).await else {
            return;
        };
        match call {
            MediaGroup::Room(room_id) => {
                if let Some(participant_id) = participant(Some(member)) {
                    let event = RoomEvent::MediaDisconnected {
                        participant_id: participant_id.clone(),
                        reason,
                    };
                    self.sink.to_room(&room_id, Some(&participant_id), event);
                }
            }
            MediaGroup::Live(id) => live::peer_lost(
                self.services,
                self.sink.as_ref(),
                &id,
                member,
                entry,
                reason,
            ),
            MediaGroup::Call(id) => {
                call::peer_lost(self.services, self.sink, &id, member, entry, reason)
            }
        }
    }

    async fn speakers_changed(&self, group: &opencalls_sfu::GroupId, speakers: &[PeerId]) {
        let Some(MediaGroup::Room(room_id)) = self.bridge.resolve(group).await else {
            return;
        };
        let tables = self.bridge.tables.lock().await;
        let participant_ids = speakers
            .iter()
            .filter_map(|s| participant(tables.member_of(s).cloned()))
            .collect();
        drop(tables);
        let event = RoomEvent::ActiveSpeakersChanged { participant_ids };
        self.sink.to_room(&room_id, None, event);
    }

    /// Events were lost: the SFU's peers are compared with the tables and what was missed
    /// goes through the normal paths. A current peer the SFU no longer has is handled as a
    /// `PeerDisconnected` (as `transport_lost`: the real reason was in the lost event); a
    /// connected one as a `PeerConnected` (the services ignore a repeat). Track-level
    /// events carry no state here, so the snapshot's media kinds need no repair.
    async fn reconcile(&self) {
        let Some(diff) = self.bridge.diff_with_sfu().await else {
            return;
        };
        for (group, peer) in diff.gone {
            self.peer_lost(&group, &peer, MediaDisconnectReason::TransportLost)
                .await;
        }
        for (group, peer) in diff.connected {
            self.peer_connected(&group, &peer).await;
        }
    }
}

/// One `TrackRouted`: the receive slot `mid` of `peer` now carries `source` (or nothing).
struct Routed {
    peer: PeerId,
    mid: String,
    kind: MediaKind,
    source: Option<PeerId>,
}

async fn track_routed(
    bridge: &MediaBridge,
    sink: &dyn MediaSink,
    group: &opencalls_sfu::GroupId,
    routed: Routed,
) {
    match bridge.resolve(group).await {
        Some(MediaGroup::Room(room_id)) => {
            let tables = bridge.tables.lock().await;
            let to = participant(tables.member_of(&routed.peer).cloned());
            let source = routed
                .source
                .as_ref()
                .and_then(|s| tables.member_of(s).cloned());
            drop(tables);
            let Some(to) = to else {
                return;
            };
            let event = RoomEvent::TrackRouted {
                mid: routed.mid,
                kind: routed.kind,
                participant_id: participant(source),
            };
            sink.to_room(&room_id, Some(&to), event);
        }
        Some(MediaGroup::Live(id)) => live::track_routed(bridge, sink, &id, routed).await,
        Some(MediaGroup::Call(id)) => call::track_routed(bridge, sink, &id, routed).await,
        None => {}
    }
}
