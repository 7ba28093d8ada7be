//! Media placement across the nodes of a cluster (docs/cluster.md, "Media placement"): a
//! group's media lives on one node's SFU, recorded in the database; the bridge of any
//! other node forwards what its devices do about that media to the owner, and the owner's
//! client events reach the devices on every node. The SFU knows nothing of this.
//!
//! The bridge sees the cluster only through the [`Placement`] seam (implemented by
//! `opencalls-cluster` over the database); a server without one (SQLite, one node) keeps
//! every group here and none of this runs.
//!
//! Invariants:
//! - a node creates a group only after the placement store named it the owner, asked
//!   under the tables lock; it drops the placement when the group empties, under that same
//!   lock. So an offer forwarded to an owner that just dropped its placement places the
//!   group again before adding a peer, and answers [`MediaReply::Moved`] if another node
//!   got it (the asking node then places and forwards once more): a group never splits
//!   over two live nodes through this race;
//! - what the committed events drive (exits, a live event's end and state, a call's end
//!   and media toggles) runs on every node for its own SFU, since every node hears every
//!   event (the tail); only requests that are not events (offers, `set_media` of rooms and
//!   hosts, layer hints, the seat re-check after an offer) are forwarded;
//! - the owner publishes the client events of a group to the other nodes only while some
//!   of its peers were offered from another node; each node hands them to its own devices.

use crate::MediaError;
use crate::tables::{Offer, PeerEntry};
use crate::{MediaBridge, MediaGroup, MediaSink, Member};
use async_trait::async_trait;
use opencalls_domain::{DeviceKey, DirectCallId, LiveEventId, ParticipantId, RoomId, RoomType};
use opencalls_protocol::{CallEvent, LiveEventEvent, MediaDisconnectReason, RoomEvent};
use opencalls_service::{LiveEventService, Services};
use opencalls_sfu::{PeerId, Policy, Role, SfuError};
use opencalls_store::{NodeId, PlacedGroup};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What went wrong between nodes (the client hears an internal error; the variant is for
/// the log and metrics).
#[derive(Debug, thiserror::Error)]
pub enum PlacementError {
    /// Placing the group (or reading its owner) failed or timed out.
    #[error("the placement store failed: {0}")]
    Store(String),
    /// The owner did not answer in time (it may have died, not yet declared dead).
    #[error("node {0} did not answer in time")]
    Timeout(NodeId),
    #[error("a note to node {0} could not be sent: {1}")]
    Send(NodeId, String),
    /// This node already has as many requests to other nodes in flight as it may hold;
    /// this one was not sent.
    #[error("too many media requests in flight to other nodes (this one was for node {0})")]
    TooManyInFlight(NodeId),
    /// The owner answered that it cannot serve the request now.
    #[error("node {0} cannot serve media requests: {1}")]
    OwnerUnavailable(NodeId, String),
    /// The group moved again after one move was followed (placement churn).
    #[error("the media placement kept moving")]
    KeptMoving,
    /// This node fenced itself off the cluster (it could not renew its lease): it carries
    /// no media until it is live again.
    #[error("this node is fenced off the cluster")]
    Fenced,
}

impl PlacementError {
    /// A short name of the failure, for logs and metrics labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Store(_) => "placement_failed",
            Self::Timeout(_) => "owner_timed_out",
            Self::Send(..) => "send_failed",
            Self::TooManyInFlight(_) => "too_many_in_flight",
            Self::OwnerUnavailable(..) => "owner_unavailable",
            Self::KeptMoving => "moved_twice",
            Self::Fenced => "fenced",
        }
    }
}

/// The cluster as the bridge sees it.
#[async_trait]
pub trait Placement: Send + Sync {
    /// This node.
    fn node(&self) -> &NodeId;

    /// The node whose SFU carries `group`, placing it by load if nobody (alive) does.
    async fn place(&self, group: &MediaGroup) -> Result<NodeId, PlacementError>;

    /// Drops `group`'s placement if this node holds it (its group here emptied).
    async fn forget(&self, group: &MediaGroup);

    /// Asks `node`'s bridge to do `request` and waits for its reply.
    async fn request(
        &self,
        node: &NodeId,
        request: MediaRequest,
    ) -> Result<MediaReply, PlacementError>;

    /// Hands a client event of a group here to the other nodes' devices (queued: never waits).
    fn publish(&self, event: MediaEvent);
}

/// What a node's bridge asks the owner's bridge to do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum MediaRequest {
    /// Add (or replace) `member`'s peer; `room_type` is set for rooms (their policy).
    Offer {
        group: MediaGroup,
        member: Member,
        room_type: Option<RoomType>,
        sdp: String,
        /// The device that offered: the owner's `media.*` events for it go there.
        device: Option<DeviceKey>,
    },
    Remove {
        member: Member,
    },
    SetMedia {
        member: Member,
        audio: Option<bool>,
        video: Option<bool>,
    },
    SetLayerHint {
        member: Member,
        mid: String,
        max_height: Option<u32>,
    },
    SyncForwarding {
        live_event_id: LiveEventId,
    },
}

/// The owner's reply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum MediaReply {
    Answer {
        sdp: String,
    },
    Done,
    /// The group is (now) placed on another node: place it again and forward there.
    Moved,
    Failed {
        failure: RemoteFailure,
    },
}

/// An SFU refusal on the owner, as the asking node maps it back for its client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "failure", rename_all = "snake_case")]
pub enum RemoteFailure {
    InvalidOffer { why: String },
    VideoNotAllowed,
    PublishNotAllowed,
    HostExists,
    RoleNotAllowed,
    InvalidHint { why: String },
    LimitReached { what: String },
    PeerNotFound,
    Unavailable { why: String },
}

impl RemoteFailure {
    /// A failure as another node's bridge reads it back.
    fn from_error(err: &MediaError) -> Self {
        match err {
            MediaError::Sfu(err) => Self::from_sfu(err),
            MediaError::Placement(err) => Self::Unavailable {
                why: err.to_string(),
            },
        }
    }

    fn from_sfu(err: &SfuError) -> Self {
        match err {
            SfuError::InvalidOffer(why) => Self::InvalidOffer { why: why.clone() },
            SfuError::VideoNotAllowed => Self::VideoNotAllowed,
            SfuError::PublishNotAllowed => Self::PublishNotAllowed,
            SfuError::HostExists => Self::HostExists,
            SfuError::RoleNotAllowed(_) => Self::RoleNotAllowed,
            SfuError::InvalidHint(why) => Self::InvalidHint { why: why.clone() },
            SfuError::LimitReached(what) => Self::LimitReached {
                what: (*what).to_owned(),
            },
            SfuError::PeerNotFound(_) => Self::PeerNotFound,
            SfuError::GroupExists(_)
            | SfuError::GroupNotFound(_)
            | SfuError::PeerExists(_)
            | SfuError::Stopped
            | SfuError::Io(_) => Self::Unavailable {
                why: err.to_string(),
            },
        }
    }

    /// The refusal as this node's SFU would have said it (`role`: the offering member's),
    /// or, when the owner could not serve at all, the placement error it is.
    fn into_error(self, role: Role, owner: &NodeId) -> MediaError {
        let sfu = match self {
            Self::InvalidOffer { why } => SfuError::InvalidOffer(why),
            Self::VideoNotAllowed => SfuError::VideoNotAllowed,
            Self::PublishNotAllowed => SfuError::PublishNotAllowed,
            Self::HostExists => SfuError::HostExists,
            Self::RoleNotAllowed => SfuError::RoleNotAllowed(role),
            Self::InvalidHint { why } => SfuError::InvalidHint(why),
            Self::LimitReached { what } => SfuError::LimitReached(match what.as_str() {
                "max_groups" => "max_groups",
                "max_peers" => "max_peers",
                "receive slots per kind" => "receive slots per kind",
                _ => "a limit of the owning node",
            }),
            Self::PeerNotFound => SfuError::PeerNotFound(PeerId(String::new())),
            Self::Unavailable { why } => {
                return PlacementError::OwnerUnavailable(owner.clone(), why).into();
            }
        };
        sfu.into()
    }
}

/// A client event of the owner's SFU, for the devices on every node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "to", rename_all = "snake_case")]
pub enum MediaEvent {
    Room {
        room_id: RoomId,
        participant_id: Option<ParticipantId>,
        event: RoomEvent,
    },
    Live {
        live_event_id: LiveEventId,
        device: DeviceKey,
        event: LiveEventEvent,
    },
    Call {
        call_id: DirectCallId,
        devices: Vec<DeviceKey>,
        event: CallEvent,
    },
}

/// Hands an event another node published to this node's devices.
pub fn deliver(sink: &dyn MediaSink, event: MediaEvent) {
    match event {
        MediaEvent::Room {
            room_id,
            participant_id,
            event,
        } => sink.to_room(&room_id, participant_id.as_ref(), event),
        MediaEvent::Live {
            live_event_id,
            device,
            event,
        } => sink.to_live_member(&live_event_id, &device, event),
        MediaEvent::Call {
            call_id,
            devices,
            event,
        } => sink.to_call(&call_id, &devices, event),
    }
}

impl From<&MediaGroup> for PlacedGroup {
    fn from(group: &MediaGroup) -> Self {
        match group {
            MediaGroup::Room(id) => Self::Room(id.clone()),
            MediaGroup::Live(id) => Self::Live(id.clone()),
            MediaGroup::Call(id) => Self::Call(id.clone()),
        }
    }
}

/// The SFU role of a member.
pub(crate) fn role_of(member: &Member) -> Role {
    match member {
        Member::Participant(_) | Member::CallSide { .. } => Role::Participant,
        Member::Host(_) => Role::Host,
        Member::Viewer(_) => Role::Viewer,
    }
}

/// A member's peer on another node's SFU, as the node it offered through knows it.
pub(crate) struct RemotePeer {
    pub group: MediaGroup,
    pub node: NodeId,
    /// The device that offered (live events and calls address their events to it).
    pub device: Option<DeviceKey>,
}

/// Where an offer went.
pub(crate) enum Added {
    Here(String),
    /// The group is placed on that node.
    Elsewhere(NodeId),
}

impl MediaBridge {
    /// Connects the bridge to the cluster (once, at start, before any offer).
    pub fn set_placement(&self, placement: Arc<dyn Placement>) {
        let _ = self.placement.set(placement);
    }

    /// Adds the offer's peer where its group's media lives: here, or on the owner's SFU.
    pub(crate) async fn add(
        &self,
        offer: Offer,
        room_type: Option<RoomType>,
    ) -> Result<String, MediaError> {
        let Some(placement) = self.placement.get() else {
            let mut tables = self.tables.lock().await;
            let added = tables.add(&self.sfu, offer).await;
            self.settle(&mut tables).await;
            return Ok(added?);
        };
        // A second try covers one move (see the module doc); more means churn: give up.
        for _ in 0..2 {
            let owner = match self.add_here(placement.as_ref(), offer.clone()).await? {
                Added::Here(answer) => return Ok(answer),
                Added::Elsewhere(owner) => owner,
            };
            let request = MediaRequest::Offer {
                group: offer.group.clone(),
                member: offer.member.clone(),
                room_type,
                sdp: offer.sdp.clone(),
                device: offer.owner.clone(),
            };
            match placement.request(&owner, request).await? {
                MediaReply::Answer { sdp } => {
                    let at = RemotePeer {
                        group: offer.group.clone(),
                        node: owner,
                        device: offer.owner.clone(),
                    };
                    self.remote_members().insert(offer.member.clone(), at);
                    return Ok(sdp);
                }
                MediaReply::Moved => continue,
                MediaReply::Failed { failure } => {
                    return Err(failure.into_error(offer.role, &owner));
                }
                MediaReply::Done => break,
            }
        }
        Err(PlacementError::KeptMoving.into())
    }

    /// Adds the peer here if this node carries (or now places) the group, under the
    /// tables lock (see the module doc).
    async fn add_here(&self, placement: &dyn Placement, offer: Offer) -> Result<Added, MediaError> {
        let mut tables = self.tables.lock().await;
        if self.is_fenced() {
            return Err(PlacementError::Fenced.into());
        }
        if tables.sfu_group(&offer.group).is_none() {
            let owner = placement.place(&offer.group).await?;
            if &owner != placement.node() {
                return Ok(Added::Elsewhere(owner));
            }
        }
        self.remote_members().remove(&offer.member);
        let added = tables.add(&self.sfu, offer).await;
        self.settle(&mut tables).await;
        Ok(added.map(Added::Here)?)
    }

    /// Drops the placements of the groups that emptied here, still under the tables lock.
    pub(crate) async fn settle(&self, tables: &mut crate::tables::Tables) {
        let emptied = tables.take_emptied();
        if emptied.is_empty() {
            return;
        }
        for group in &emptied {
            self.serving().remove(group);
        }
        if let Some(placement) = self.placement.get() {
            for group in &emptied {
                placement.forget(group).await;
            }
        }
    }

    /// The node carrying `member`'s peer, if it is another node.
    pub(crate) fn remote_node(&self, member: &Member) -> Option<NodeId> {
        self.remote_members().get(member).map(|r| r.node.clone())
    }

    /// Forgets that `member`'s peer is on another node; returns that node.
    pub(crate) fn forget_remote(&self, member: &Member) -> Option<NodeId> {
        self.remote_members().remove(member).map(|r| r.node)
    }

    /// Forgets the members of `group` whose peers are on another node.
    pub(crate) fn forget_remote_group(&self, group: &MediaGroup) {
        self.remote_members().retain(|_, r| &r.group != group);
    }

    /// A node carrying one of `group`'s peers offered from here.
    pub(crate) fn remote_group_node(&self, group: &MediaGroup) -> Option<NodeId> {
        let remote = self.remote_members();
        remote
            .values()
            .find(|r| &r.group == group)
            .map(|r| r.node.clone())
    }

    /// Sends `request` to `node`, whose SFU carries the peer or group it is about; the
    /// reply's failure as an SFU error (`role`: the member's, for `RoleNotAllowed`).
    pub(crate) async fn forward(
        &self,
        node: &NodeId,
        role: Role,
        request: MediaRequest,
    ) -> Result<(), MediaError> {
        let Some(placement) = self.placement.get() else {
            return Ok(());
        };
        match placement.request(node, request).await? {
            MediaReply::Done | MediaReply::Answer { .. } | MediaReply::Moved => Ok(()),
            MediaReply::Failed { failure } => Err(failure.into_error(role, node)),
        }
    }

    /// What another node's bridge asks of this one (this node owns the group).
    pub async fn serve(&self, request: MediaRequest, live: &LiveEventService) -> MediaReply {
        let done = |result: Result<(), SfuError>| match result {
            Ok(()) => MediaReply::Done,
            Err(err) => MediaReply::Failed {
                failure: RemoteFailure::from_sfu(&err),
            },
        };
        match request {
            MediaRequest::Offer {
                group,
                member,
                room_type,
                sdp,
                device,
            } => {
                self.serve_offer(group, member, room_type, sdp, device)
                    .await
            }
            MediaRequest::Remove { member } => {
                self.remove_here(&member).await;
                MediaReply::Done
            }
            MediaRequest::SetMedia {
                member,
                audio,
                video,
            } => {
                self.set_media_here(&member, audio, video).await;
                MediaReply::Done
            }
            MediaRequest::SetLayerHint {
                member,
                mid,
                max_height,
            } => done(self.set_layer_hint_here(&member, mid, max_height).await),
            MediaRequest::SyncForwarding { live_event_id } => {
                self.sync_forwarding_here(live, &live_event_id).await;
                MediaReply::Done
            }
        }
    }

    async fn serve_offer(
        &self,
        group: MediaGroup,
        member: Member,
        room_type: Option<RoomType>,
        sdp: String,
        device: Option<DeviceKey>,
    ) -> MediaReply {
        let failed = |why: &str| MediaReply::Failed {
            failure: RemoteFailure::Unavailable { why: why.into() },
        };
        let Some(placement) = self.placement.get() else {
            return failed("this node is not part of a cluster");
        };
        let policy = match (&group, room_type) {
            (MediaGroup::Room(_), Some(room_type)) => self.room_policy(room_type),
            (MediaGroup::Room(_), None) => return failed("a room offer without its room type"),
            (MediaGroup::Live(_), _) => Policy::Live,
            (MediaGroup::Call(_), _) => Policy::Video,
        };
        // Before the peer exists, so none of its events misses the other nodes.
        self.serving().insert(group.clone());
        let offer = Offer {
            group,
            policy,
            role: role_of(&member),
            member,
            sdp,
            owner: device,
        };
        match self.add_here(placement.as_ref(), offer).await {
            Ok(Added::Here(sdp)) => MediaReply::Answer { sdp },
            Ok(Added::Elsewhere(_)) => MediaReply::Moved,
            Err(err) => MediaReply::Failed {
                failure: RemoteFailure::from_error(&err),
            },
        }
    }

    /// Fences this node's media (`true`: its lease may run out, docs/cluster.md,
    /// "Failures"): every group here is removed from the SFU with its peers, what was
    /// offered from here to other nodes is forgotten, and no group is created here until
    /// the node is live again (`false`), so a group is never carried by a node that
    /// survivors may count as dead while a live node places it anew. The placements are
    /// dropped in the background (the database may be out of reach; a stale one is
    /// harmless: the next offer finds its owner fenced or dead and places it again).
    /// Returns how many groups were removed.
    pub async fn fence(&self, fenced: bool) -> usize {
        self.fenced
            .store(fenced, std::sync::atomic::Ordering::SeqCst);
        if !fenced {
            return 0;
        }
        self.remote_members().clear();
        let emptied = {
            let mut tables = self.tables.lock().await;
            let members: Vec<Member> = tables.peers.keys().cloned().collect();
            for member in &members {
                tables.remove(&self.sfu, member).await;
            }
            tables.take_emptied()
        };
        self.serving().clear();
        let count = emptied.len();
        if let Some(placement) = self.placement.get().cloned() {
            tokio::spawn(async move {
                for group in &emptied {
                    placement.forget(group).await;
                }
            });
        }
        count
    }

    /// Whether this node's media is fenced (see [`MediaBridge::fence`]).
    pub(crate) fn is_fenced(&self) -> bool {
        self.fenced.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The nodes carrying peers of members offered from here.
    pub fn remote_owners(&self) -> std::collections::HashSet<NodeId> {
        let remote = self.remote_members();
        remote.values().map(|r| r.node.clone()).collect()
    }

    /// `node` is no longer alive: the members whose peer it carried are forgotten and
    /// handled as if the owner's SFU had reported their transport lost: their devices here
    /// hear `media.disconnected` (`transport_lost`), a live host becomes `disconnected`, a
    /// call side's media grace starts. They offer again, which places the group on a live
    /// node. Returns how many members were affected.
    pub fn owner_lost(
        self: &Arc<Self>,
        node: &NodeId,
        services: &Services,
        local: &Arc<dyn MediaSink>,
    ) -> usize {
        let lost: Vec<(Member, RemotePeer)> = {
            let mut remote = self.remote_members();
            let gone: Vec<Member> = remote
                .iter()
                .filter(|(_, r)| &r.node == node)
                .map(|(m, _)| m.clone())
                .collect();
            gone.into_iter()
                .filter_map(|m| remote.remove(&m).map(|r| (m, r)))
                .collect()
        };
        let count = lost.len();
        // The other side of a call may be on any node: `call.media_lost` goes everywhere.
        let sink: Arc<dyn MediaSink> = Arc::new(Relaying {
            bridge: Arc::downgrade(self),
            local: local.clone(),
            always: true,
        });
        for (member, peer) in lost {
            transport_lost(services, &sink, member, peer);
        }
        count
    }

    /// Whether `group`'s client events must also reach other nodes.
    fn publishes(&self, group: &MediaGroup) -> Option<&Arc<dyn Placement>> {
        let placement = self.placement.get()?;
        self.serving().contains(group).then_some(placement)
    }

    /// The sink `run_events` uses: `local` (this node's devices), and the other nodes'
    /// devices for groups with members there.
    pub fn relaying_sink(self: &Arc<Self>, local: Arc<dyn MediaSink>) -> Arc<dyn MediaSink> {
        Arc::new(Relaying {
            bridge: Arc::downgrade(self),
            local,
            always: false,
        })
    }

    fn remote_members(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<Member, RemotePeer>> {
        self.remote.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn serving(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<MediaGroup>> {
        self.serving.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A member whose peer was on a dead owner, through the paths of the SFU's
/// `PeerDisconnected` (see `run_events`).
fn transport_lost(
    services: &Services,
    sink: &Arc<dyn MediaSink>,
    member: Member,
    peer: RemotePeer,
) {
    let reason = MediaDisconnectReason::TransportLost;
    let entry = PeerEntry {
        group: peer.group.clone(),
        // The owner's peer id is not known here, and nothing below reads it.
        peer: PeerId(String::new()),
        role: role_of(&member),
        owner: peer.device,
    };
    match (&peer.group, member) {
        (MediaGroup::Room(room_id), Member::Participant(pid)) => {
            let event = RoomEvent::MediaDisconnected {
                participant_id: pid.clone(),
                reason,
            };
            sink.to_room(room_id, Some(&pid), event);
        }
        (MediaGroup::Live(id), member) => {
            crate::live::peer_lost(services, sink.as_ref(), id, member, entry, reason)
        }
        (MediaGroup::Call(id), member) => {
            crate::call::peer_lost(services, sink, id, member, entry, reason)
        }
        // A room holds participants only.
        (MediaGroup::Room(_), Member::Host(_) | Member::Viewer(_) | Member::CallSide { .. }) => {}
    }
}

/// Client events to this node's devices and, when the group has members elsewhere, to the
/// other nodes.
struct Relaying {
    bridge: std::sync::Weak<MediaBridge>,
    local: Arc<dyn MediaSink>,
    /// Publish whatever the group (events about members of a dead owner, whose call's
    /// other devices may be anywhere).
    always: bool,
}

impl Relaying {
    fn publish(&self, group: MediaGroup, event: impl FnOnce() -> MediaEvent) {
        let Some(bridge) = self.bridge.upgrade() else {
            return;
        };
        let placement = match self.always {
            true => bridge.placement.get(),
            false => bridge.publishes(&group),
        };
        if let Some(placement) = placement {
            placement.publish(event());
        }
    }
}

impl MediaSink for Relaying {
    fn to_room(&self, room_id: &RoomId, to: Option<&ParticipantId>, event: RoomEvent) {
        self.publish(MediaGroup::Room(room_id.clone()), || MediaEvent::Room {
            room_id: room_id.clone(),
            participant_id: to.cloned(),
            event: event.clone(),
        });
        self.local.to_room(room_id, to, event);
    }

    fn to_live_member(&self, id: &LiveEventId, owner: &DeviceKey, event: LiveEventEvent) {
        self.publish(MediaGroup::Live(id.clone()), || MediaEvent::Live {
            live_event_id: id.clone(),
            device: owner.clone(),
            event: event.clone(),
        });
        self.local.to_live_member(id, owner, event);
    }

    fn to_call(&self, call_id: &DirectCallId, devices: &[DeviceKey], event: CallEvent) {
        self.publish(MediaGroup::Call(call_id.clone()), || MediaEvent::Call {
            call_id: call_id.clone(),
            devices: devices.to_vec(),
            event: event.clone(),
        });
        self.local.to_call(call_id, devices, event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_events_survive_the_trip_between_nodes() {
        let room = RoomId::parse("r 1").unwrap();
        let pid = ParticipantId::parse("p").unwrap();
        let request = MediaRequest::Offer {
            group: MediaGroup::Room(room.clone()),
            member: Member::Participant(pid.clone()),
            room_type: Some(RoomType::SmallRoomForVideo),
            sdp: "v=0\r\n".into(),
            device: None,
        };
        let json = serde_json::to_string(&request).unwrap();
        assert_eq!(
            serde_json::from_str::<MediaRequest>(&json).unwrap(),
            request
        );
        let event = MediaEvent::Room {
            room_id: room,
            participant_id: Some(pid.clone()),
            event: RoomEvent::MediaDisconnected {
                participant_id: pid,
                reason: MediaDisconnectReason::TransportLost,
            },
        };
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(serde_json::from_str::<MediaEvent>(&json).unwrap(), event);
    }

    #[test]
    fn an_owners_refusal_reads_as_the_local_sfus_would() {
        let refusals = [
            SfuError::VideoNotAllowed,
            SfuError::PublishNotAllowed,
            SfuError::HostExists,
            SfuError::InvalidOffer("no m-line".into()),
            SfuError::LimitReached("max_peers"),
        ];
        let owner = NodeId::parse("owner").unwrap();
        for err in refusals {
            let back = RemoteFailure::from_sfu(&err).into_error(Role::Viewer, &owner);
            assert!(matches!(back, MediaError::Sfu(_)), "{back:?}");
            assert_eq!(back.to_string(), err.to_string());
        }
        let lost = RemoteFailure::from_sfu(&SfuError::Stopped).into_error(Role::Viewer, &owner);
        assert!(
            matches!(lost, MediaError::Placement(PlacementError::OwnerUnavailable(ref n, _)) if n == &owner),
            "{lost:?}"
        );
    }
}
