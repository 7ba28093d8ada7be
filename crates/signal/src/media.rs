//! The media bridge: maps rooms (and live events, see `live.rs`) to SFU groups and
//! participants to SFU peers, carries the SDP offer/answer of `media.offer`, and turns the
//! SFU's events into room transitions (`PeerConnected` → `mark_connected`) and client
//! events (`media.track`, `media.active_speakers`, `media.disconnected`). See
//! docs/media.md and docs/protocol.md.
//!
//! Invariants:
//! - one SFU peer per participant at a time; a new offer replaces the old peer. SFU peer ids
//!   are `<participant_id>/<generation>` so a late `PeerDisconnected` of a replaced peer is
//!   told apart from the current one;
//! - a group exists while it has peers (created by the first offer, removed with the last
//!   peer); the tables are changed under one async lock, held across the SFU command, so
//!   create/remove of a group never interleave;
//! - a participant's exit (any cause: `room.exit`, deletion, grace expiry) removes its peer,
//!   driven by the committed `ParticipantExited` event, so no path leaks a peer;
//! - the SFU crate stays free of rooms: everything room-specific lives here.

mod live;

use crate::error::SignalError;
use crate::hub::{DeviceKey, Hub};
use crate::protocol;
use opencalls_domain::{Event, EventBody, ParticipantId, RoomId, RoomType};
use opencalls_protocol::request::MediaOffer;
use opencalls_protocol::{MediaDisconnectReason, MediaKind, OfferAnswer, RoomEvent};
use opencalls_service::LiveEventService;
use opencalls_sfu::{
    AddPeer, DisconnectReason, GroupId, Kind, PeerId, Policy, Role, SfuError, SfuEvent, SfuEvents,
    SfuHandle,
};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Mutex;

/// Largest `media.offer` frame: the SFU's offer limit plus room for the other fields.
pub(crate) const MAX_OFFER_FRAME: usize = opencalls_sfu::MAX_OFFER_BYTES + 1024;

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

struct PeerEntry {
    group: GroupId,
    peer: PeerId,
    role: Role,
    /// The device that offered, for live-event members (their `media.*` events go to it).
    owner: Option<DeviceKey>,
}

#[derive(Default)]
struct Tables {
    /// Group → number of peers in it.
    groups: HashMap<GroupId, usize>,
    /// Participant (or live-event member) → its current SFU peer.
    peers: HashMap<String, PeerEntry>,
    generation: u64,
}

/// Connects the signaling layer to the SFU. Cheap to share (`Arc`).
pub struct MediaBridge {
    sfu: SfuHandle,
    config: MediaConfig,
    tables: Mutex<Tables>,
}

/// The SFU group of a room.
fn room_group(room_id: &RoomId) -> GroupId {
    GroupId(format!("room:{room_id}"))
}

/// The SFU group of a live event.
fn live_group(live_event_id: &str) -> GroupId {
    GroupId(format!("live:{live_event_id}"))
}

/// The member (participant) id behind an SFU peer id.
fn member_of(peer: &PeerId) -> &str {
    peer.0.rsplit_once('/').map_or(peer.0.as_str(), |(m, _)| m)
}

fn media_kind(kind: Kind) -> MediaKind {
    match kind {
        Kind::Audio => MediaKind::Audio,
        Kind::Video => MediaKind::Video,
    }
}

impl MediaBridge {
    pub fn new(sfu: SfuHandle, config: MediaConfig) -> Self {
        Self {
            sfu,
            config,
            tables: Mutex::new(Tables::default()),
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

    /// Adds (or replaces) `member`'s peer in `group` and returns the SDP answer.
    async fn add(
        &self,
        group: GroupId,
        policy: Policy,
        member: &str,
        role: Role,
        offer: String,
        owner: Option<DeviceKey>,
    ) -> Result<String, SfuError> {
        let mut tables = self.tables.lock().await;
        // A re-offer replaces the member's peer inside the SFU, which drops the old one
        // only once the new offer is accepted: a refused re-offer keeps the working one.
        let replaces = match tables.peers.get(member) {
            Some(old) if old.group == group => Some(old.peer.clone()),
            Some(_) => {
                if let Some(old) = tables.peers.remove(member) {
                    let _ = self.sfu.remove_peer(old.peer).await;
                    tables.release(&self.sfu, &old.group).await;
                }
                None
            }
            None => None,
        };
        if !tables.groups.contains_key(&group) {
            match self.sfu.create_group(group.clone(), policy).await {
                Ok(()) | Err(SfuError::GroupExists(_)) => {}
                Err(err) => return Err(err),
            }
            tables.groups.insert(group.clone(), 0);
        }
        tables.generation += 1;
        let peer = PeerId(format!("{member}/{}", tables.generation));
        let request = AddPeer {
            group: group.clone(),
            peer: peer.clone(),
            role,
            offer,
            replaces: replaces.clone(),
        };
        match self.sfu.add_peer(request).await {
            Ok(answer) => {
                if replaces.is_none() {
                    *tables.groups.entry(group.clone()).or_default() += 1;
                }
                let entry = PeerEntry {
                    group,
                    peer,
                    role,
                    owner,
                };
                tables.peers.insert(member.to_owned(), entry);
                Ok(answer)
            }
            Err(err) => {
                // Only a group this refused offer created (still empty) goes away.
                if tables.groups.get(&group) == Some(&0) {
                    tables.groups.remove(&group);
                    let _ = self.sfu.remove_group(group).await;
                }
                Err(err)
            }
        }
    }

    /// Removes `member`'s peer, if any (exit, deletion, grace expiry, live event ended).
    pub async fn remove(&self, member: &str) {
        let mut tables = self.tables.lock().await;
        if let Some(old) = tables.peers.remove(member) {
            let _ = self.sfu.remove_peer(old.peer).await;
            tables.release(&self.sfu, &old.group).await;
        }
    }

    /// Stops (`on = false`) or resumes forwarding of a member's audio and/or video.
    pub async fn set_media(&self, member: &str, audio: Option<bool>, video: Option<bool>) {
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
    /// forwarding to viewers (see `live::on_event`).
    pub(crate) fn on_event(self: &Arc<Self>, event: &Event, live: &LiveEventService) {
        match &event.body {
            EventBody::ParticipantExited { participant } => {
                let bridge = self.clone();
                let member = participant.participant_id.to_string();
                tokio::spawn(async move { bridge.remove(&member).await });
            }
            EventBody::LiveEvent { live_event, body } => {
                live::on_event(self, live, live_event, body)
            }
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
    /// current one.
    async fn peer_gone(&self, peer: &PeerId) -> Option<PeerEntry> {
        let mut tables = self.tables.lock().await;
        let member = member_of(peer);
        match tables.peers.get(member) {
            Some(entry) if &entry.peer == peer => {
                let old = tables.peers.remove(member)?;
                tables.release(&self.sfu, &old.group).await;
                Some(old)
            }
            _ => None,
        }
    }

    /// The role and owning device of `peer`, if it is still a member's current peer.
    async fn current(&self, peer: &PeerId) -> Option<(Role, Option<DeviceKey>)> {
        let tables = self.tables.lock().await;
        let entry = tables.peers.get(member_of(peer))?;
        (&entry.peer == peer).then(|| (entry.role, entry.owner.clone()))
    }
}

impl Tables {
    /// One peer fewer in `group`; the last one out removes the group.
    async fn release(&mut self, sfu: &SfuHandle, group: &GroupId) {
        let Some(count) = self.groups.get_mut(group) else {
            return;
        };
        *count = count.saturating_sub(1);
        if *count == 0 {
            self.groups.remove(group);
            let _ = sfu.remove_group(group.clone()).await;
        }
    }
}

/// `media.offer {room_id, sdp}` → `{participant_id, sdp}` (the answer).
pub(crate) async fn offer(
    hub: &Hub,
    key: &DeviceKey,
    p: MediaOffer,
) -> Result<OfferAnswer, SignalError> {
    let bridge = hub.media.get().ok_or(SignalError::MediaDisabled)?;
    if p.live_event_id.is_some() {
        return live::offer(hub, key, bridge, p).await;
    }
    let raw = p.room_id.ok_or(SignalError::Missing("room_id"))?;
    let room_id = RoomId::parse(raw.as_str()).ok_or(SignalError::RoomNotFound)?;
    let sdp = p.sdp.ok_or(SignalError::Missing("sdp"))?;
    let pid = hub
        .seat(key, &room_id, false)
        .ok_or(SignalError::NotInRoom)?;
    if p.participant_id.is_some_and(|given| given != pid) {
        return Err(SignalError::NotYourParticipant);
    }
    let room = hub.services.rooms.get(room_id.as_str()).await?;
    let me = room
        .current_participants
        .iter()
        .find(|x| x.participant_id == pid)
        .ok_or(SignalError::NotInRoom)?;
    let (audio, video) = (me.is_audio_on, me.is_video_on);
    let policy = bridge.room_policy(room.room_type);
    let group = room_group(&room_id);
    let answer = bridge
        .add(group, policy, pid.as_str(), Role::Participant, sdp, None)
        .await?;
    // The seat may have gone while the SFU answered (exit, deletion, revocation): its exit
    // event may already have passed the bridge, so drop the new peer here.
    if hub.seat(key, &room_id, false).as_ref() != Some(&pid) {
        bridge.remove(pid.as_str()).await;
        return Err(SignalError::NotInRoom);
    }
    bridge
        .set_media(
            pid.as_str(),
            (!audio).then_some(false),
            (!video).then_some(false),
        )
        .await;
    Ok(OfferAnswer::Room {
        participant_id: pid,
        sdp: answer,
    })
}

/// Consumes the SFU's events until the SFU stops.
pub(crate) async fn run_events(hub: Arc<Hub>, mut events: SfuEvents) {
    while let Some(event) = events.recv().await {
        let Some(bridge) = hub.media.get() else {
            continue;
        };
        match event {
            SfuEvent::PeerConnected { group, peer } => {
                hub.services.metrics.count(
                    "opencalls_media_peers_connected_total",
                    "Media transports that came up (ICE+DTLS and first media).",
                    Vec::new(),
                    1,
                );
                let Some(room_id) = room_of(&group) else {
                    live::peer_connected(&hub, bridge, &group, &peer).await;
                    continue;
                };
                let pid = ParticipantId::from_trusted(member_of(&peer).to_owned());
                let rooms = hub.services.rooms.clone();
                tokio::spawn(async move {
                    if let Err(err) = rooms.mark_connected(room_id.as_str(), &pid).await {
                        tracing::debug!(%room_id, %pid, %err, "mark_connected");
                    }
                });
            }
            SfuEvent::PeerDisconnected {
                group,
                peer,
                reason,
            } => {
                hub.services.metrics.count(
                    "opencalls_media_peers_disconnected_total",
                    "Media transports that went away, by reason.",
                    vec![("reason", reason_name(reason).to_owned())],
                    1,
                );
                if reason == DisconnectReason::Removed {
                    continue;
                }
                let Some(entry) = bridge.peer_gone(&peer).await else {
                    continue;
                };
                let Some(reason) = client_reason(reason) else {
                    continue;
                };
                if room_of(&group).is_none() {
                    live::peer_lost(&hub, &group, &peer, entry, reason);
                    continue;
                }
                let participant_id = ParticipantId::from_trusted(member_of(&peer).to_owned());
                let event = RoomEvent::MediaDisconnected {
                    participant_id: participant_id.clone(),
                    reason,
                };
                push(&hub, &group, Some(&participant_id), event);
            }
            SfuEvent::TrackRouted {
                group,
                peer,
                mid,
                kind,
                source,
            } => {
                if room_of(&group).is_none() {
                    let source = source.as_ref().map(member_of);
                    live::track_routed(&hub, bridge, &group, &peer, &mid, kind, source).await;
                    continue;
                }
                let to = ParticipantId::from_trusted(member_of(&peer).to_owned());
                let event = RoomEvent::TrackRouted {
                    mid,
                    kind: media_kind(kind),
                    participant_id: source
                        .as_ref()
                        .map(|s| ParticipantId::from_trusted(member_of(s).to_owned())),
                };
                push(&hub, &group, Some(&to), event);
            }
            SfuEvent::ActiveSpeakersChanged { group, speakers } => {
                let participant_ids = speakers
                    .iter()
                    .map(|s| ParticipantId::from_trusted(member_of(s).to_owned()))
                    .collect();
                let event = RoomEvent::ActiveSpeakersChanged { participant_ids };
                push(&hub, &group, None, event);
            }
            // Per-track and level events only matter inside the SFU.
            SfuEvent::MediaStarted { .. }
            | SfuEvent::MediaStopped { .. }
            | SfuEvent::AudioLevel { .. }
            | SfuEvent::KeyframeRequested { .. } => {}
        }
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

fn room_of(group: &GroupId) -> Option<RoomId> {
    group.0.strip_prefix("room:").and_then(RoomId::parse)
}

/// Pushes a `media.*` event to the room's devices (or one participant's device). Live-event
/// groups have their own routing (`live.rs`).
fn push(hub: &Hub, group: &GroupId, to: Option<&ParticipantId>, event: RoomEvent) {
    let Some(room_id) = room_of(group) else {
        return;
    };
    let now = hub.services.rooms.now();
    let text = protocol::room_frame(&room_id, now, event);
    hub.push(&room_id, to, text);
}
