//! Media for live events: the host publishes as `Role::Host`, participants receive only as
//! `Role::Viewer`; the committed live-event events switch the SFU's forwarding; the SFU
//! events of live groups become host transitions and `media.*` events for one device.
//!
//! Invariants:
//! - the SFU forwards the host's media to viewers only while the event is `ongoing`: after
//!   every offer and every committed `ready`/`start`, [`MediaBridge::sync_forwarding`] reads
//!   the event's *current* state and sets the group's forwarding, both under the tables
//!   lock. The last one to take the lock read a state at least as new as every event seen
//!   so far, so reordered tasks (`ready` and `start` in quick succession) never leave a
//!   stale setting;
//! - `ended` removes every peer and the group; any exit (leave, grace expiry, revoked
//!   session, end) removes the member's peer, driven by its committed exit event;
//! - the host's `connected` follows its transport: the SFU's `PeerConnected` (ICE+DTLS up
//!   and its first media) → `host_connected`; its transport lost, failed or timed out while
//!   it is still the host's current peer → `host_disconnected`. A replaced or removed peer
//!   (new offer, exit, end) is no disconnection. `MediaStopped` of one of the host's tracks
//!   does not count: a host may legitimately send nothing on a track for a while (camera
//!   off, muted encoder), and a dead transport is caught by the transport timeout.

use crate::MediaError;
use crate::tables::{Offer, PeerEntry};
use crate::{MediaBridge, MediaGroup, MediaSink, Member, Routed};
use opencalls_domain::live_event::LiveEventBody;
use opencalls_domain::{DeviceKey, LiveEvent, LiveEventId, LiveEventState};
use opencalls_protocol::response::MemberRef;
use opencalls_protocol::{LiveEventEvent, MediaDisconnectReason};
use opencalls_service::{LiveEventService, Services};
use opencalls_sfu::{PeerId, Policy, Role};
use std::sync::Arc;

impl MediaBridge {
    /// Forwards the host's media to viewers only while the event is `ongoing`
    /// (`ongoing = false` for `ready` and `ended`).
    pub async fn live_state_changed(&self, id: &LiveEventId, ongoing: bool) {
        let group = MediaGroup::Live(id.clone());
        let sfu_group = self.tables.lock().await.sfu_group(&group);
        if let Some(sfu_group) = sfu_group {
            let _ = self.sfu.set_forwarding(sfu_group, ongoing).await;
        }
    }

    /// A host (`Role::Host`) or viewer (`Role::Viewer`) of a live event offers;
    /// `forwarding` is whether the event is `ongoing` now. No device hears of its media.
    pub async fn live_offer(
        &self,
        id: &LiveEventId,
        member: Member,
        role: Role,
        sdp: String,
        forwarding: bool,
    ) -> Result<String, MediaError> {
        let answer = self.offer_live(id, member, role, sdp, None).await?;
        self.live_state_changed(id, forwarding).await;
        Ok(answer)
    }

    /// A live event's member offers from `owner` (its `media.*` events go to that device).
    /// Call [`Self::sync_forwarding`] after checking the member still holds its seat.
    pub async fn offer_live(
        &self,
        id: &LiveEventId,
        member: Member,
        role: Role,
        sdp: String,
        owner: Option<DeviceKey>,
    ) -> Result<String, MediaError> {
        let offer = Offer {
            group: MediaGroup::Live(id.clone()),
            policy: Policy::Live,
            member,
            role,
            sdp,
            owner,
        };
        self.add(offer, None).await
    }

    /// The live event is over (or deleted): every member's peer and the group go.
    pub async fn remove_live_event(&self, id: &LiveEventId) {
        let group = MediaGroup::Live(id.clone());
        self.forget_remote_group(&group);
        let mut tables = self.tables.lock().await;
        for member in tables.members_in(&group) {
            tables.remove(&self.sfu, &member).await;
        }
        self.settle(&mut tables).await;
    }

    /// Sets the live group's forwarding from the event's current state (see the module
    /// doc), on the node whose SFU carries the group.
    pub async fn sync_forwarding(&self, live: &LiveEventService, id: &LiveEventId) {
        if let Some(node) = self.remote_group_node(&MediaGroup::Live(id.clone())) {
            let request = crate::placement::MediaRequest::SyncForwarding {
                live_event_id: id.clone(),
            };
            if let Err(err) = self.forward(&node, Role::Viewer, request).await {
                tracing::warn!(%node, %id, %err, "syncing forwarding on another node");
            }
            return;
        }
        self.sync_forwarding_here(live, id).await
    }

    /// [`Self::sync_forwarding`] of a group on this node's SFU (none: nothing to do).
    pub(crate) async fn sync_forwarding_here(&self, live: &LiveEventService, id: &LiveEventId) {
        let tables = self.tables.lock().await;
        let Some(sfu_group) = tables.sfu_group(&MediaGroup::Live(id.clone())) else {
            return;
        };
        match live.get(id).await {
            Ok(event) => {
                let ongoing = event.state == LiveEventState::Ongoing;
                let _ = self.sfu.set_forwarding(sfu_group, ongoing).await;
            }
            Err(err) => tracing::debug!(%id, %err, "reading the live event's state"),
        }
        drop(tables);
    }
}

/// A committed live-event event: state changes switch forwarding, the end frees the group,
/// exits free the member's peer.
pub(crate) fn on_event(
    bridge: &Arc<MediaBridge>,
    live: &LiveEventService,
    live_event: &LiveEvent,
    body: &LiveEventBody,
) {
    let bridge = bridge.clone();
    let id = live_event.live_event_id.clone();
    match body {
        LiveEventBody::SetReady | LiveEventBody::Started => {
            let live = live.clone();
            tokio::spawn(async move { bridge.sync_forwarding_here(&live, &id).await });
        }
        LiveEventBody::Ended => {
            tokio::spawn(async move { bridge.remove_live_event(&id).await });
        }
        LiveEventBody::HostExited { host } => {
            let member = Member::Host(host.host_id.clone());
            tokio::spawn(async move { bridge.remove_here(&member).await });
        }
        LiveEventBody::ParticipantExited { participant } => {
            let member = Member::Viewer(participant.participant_id.clone());
            tokio::spawn(async move { bridge.remove_here(&member).await });
        }
        // No peer exists before an offer, and entering or connecting changes no forwarding.
        LiveEventBody::Created
        | LiveEventBody::HostEntered { .. }
        | LiveEventBody::HostConnected { .. }
        | LiveEventBody::HostDisconnected { .. }
        | LiveEventBody::ParticipantEntered { .. } => {}
    }
}

/// The SFU's `PeerConnected` in a live group: the host's transport is up → `connected`.
pub(crate) async fn peer_connected(
    services: &Services,
    bridge: &MediaBridge,
    id: &LiveEventId,
    peer: &PeerId,
) {
    let Some((Member::Host(host), Role::Host, _)) = bridge.current(peer).await else {
        return;
    };
    let live = services.live_events.clone();
    let id = id.clone();
    tokio::spawn(async move {
        if let Err(err) = live.host_connected(&id, &host).await {
            tracing::debug!(%id, %host, %err, "host_connected");
        }
    });
}

/// The SFU dropped a member's current peer on its own (transport lost, failed, connect
/// timeout): the host becomes `disconnected`; the member's device hears `media.disconnected`.
pub(crate) fn peer_lost(
    services: &Services,
    sink: &dyn MediaSink,
    id: &LiveEventId,
    member: Member,
    entry: PeerEntry,
    reason: MediaDisconnectReason,
) {
    let member = match member {
        Member::Host(host) => {
            let live = services.live_events.clone();
            let (id, gone) = (id.clone(), host.clone());
            tokio::spawn(async move {
                if let Err(err) = live.host_disconnected(&id, &gone).await {
                    tracing::debug!(%id, host = %gone, %err, "host_disconnected");
                }
            });
            MemberRef::Host(host)
        }
        Member::Viewer(participant_id) | Member::Participant(participant_id) => {
            MemberRef::Participant(participant_id)
        }
        // Not a member of a live group.
        Member::CallSide { .. } => return,
    };
    if let Some(owner) = entry.owner {
        let event = LiveEventEvent::MediaDisconnected { member, reason };
        sink.to_live_member(id, &owner, event);
    }
}

/// A receive slot of a viewer (or the host) now carries the host's track, or nothing.
pub(crate) async fn track_routed(
    bridge: &MediaBridge,
    sink: &dyn MediaSink,
    id: &LiveEventId,
    routed: Routed,
) {
    let Some((_, _, Some(owner))) = bridge.current(&routed.peer).await else {
        return;
    };
    let source = match &routed.source {
        Some(source) => bridge.tables.lock().await.member_of(source).cloned(),
        None => None,
    };
    let host_id = match source {
        Some(Member::Host(host)) => Some(host),
        Some(Member::Viewer(_) | Member::Participant(_) | Member::CallSide { .. }) | None => None,
    };
    let event = LiveEventEvent::TrackRouted {
        mid: routed.mid,
        kind: routed.kind,
        host_id,
    };
    sink.to_live_member(id, &owner, event);
}
