//! Media for live events: `media.offer {live_event_id, sdp}` for a device that has entered
//! the live event (the host publishes as `Role::Host`, participants receive only as
//! `Role::Viewer`), the committed live-event events that switch the SFU's forwarding, and
//! the SFU events of `live:` groups (host connected / disconnected, slot labels).
//!
//! Invariants:
//! - the SFU forwards the host's media to viewers only while the event is `ongoing`: after
//!   every offer and every committed `ready`/`start`, `sync_forwarding` reads the event's
//!   *current* state and sets the group's forwarding, both under the tables lock. The
//!   last one to take the lock read a state at least as new as every event seen so far, so
//!   reordered tasks (`ready` and `start` in quick succession) never leave a stale setting;
//! - `ended` removes every peer and the group; any exit (leave, grace expiry, revoked
//!   session, end) removes the member's peer, driven by its committed exit event;
//! - the host's `connected` follows its transport: the SFU's `PeerConnected` (ICE+DTLS up
//!   and its first media) → `host_connected`; its transport lost, failed or timed out while
//!   it is still the host's current peer → `host_disconnected`. A replaced or removed peer
//!   (new offer, exit, end) is no disconnection. `MediaStopped` of one of the host's tracks
//!   does not count: a host may legitimately send nothing on a track for a while (camera
//!   off, muted encoder), and a dead transport is caught by the transport timeout.

use super::{MediaBridge, PeerEntry, live_group, media_kind, member_of};
use crate::error::SignalError;
use crate::hub::live::LiveRole;
use crate::hub::{DeviceKey, Hub};
use crate::protocol;
use opencalls_domain::live_event::LiveEventBody;
use opencalls_domain::{HostId, LiveEvent, LiveEventId, LiveEventState, ParticipantId};
use opencalls_protocol::request::MediaOffer;
use opencalls_protocol::response::MemberRef;
use opencalls_protocol::{LiveEventEvent, MediaDisconnectReason, OfferAnswer};
use opencalls_service::LiveEventService;
use opencalls_sfu::{GroupId, Kind, PeerId, Policy, Role, SfuError};
use std::sync::Arc;

/// The live event of an SFU group, if it is a live-event group.
fn live_of(group: &GroupId) -> Option<LiveEventId> {
    group.0.strip_prefix("live:").and_then(LiveEventId::parse)
}

impl MediaBridge {
    /// The live-event hook for the live protocol: forwards the host's media to viewers only
    /// while the event is `ongoing`. `ongoing = false` for `ready` and `ended`.
    pub async fn live_state_changed(&self, live_event_id: &str, ongoing: bool) {
        let group = live_group(live_event_id);
        if self.tables.lock().await.groups.contains_key(&group) {
            let _ = self.sfu.set_forwarding(group, ongoing).await;
        }
    }

    /// The live-event hook: a host (`Role::Host`) or viewer (`Role::Viewer`) of a live event
    /// offers; `forwarding` is whether the event is `ongoing` now.
    pub async fn live_offer(
        &self,
        live_event_id: &str,
        member: &str,
        role: Role,
        sdp: String,
        forwarding: bool,
    ) -> Result<String, SfuError> {
        let group = live_group(live_event_id);
        let answer = self
            .add(group.clone(), Policy::Live, member, role, sdp, None)
            .await?;
        let _ = self.sfu.set_forwarding(group, forwarding).await;
        Ok(answer)
    }

    /// The live event is over (or deleted): every member's peer and the group go.
    pub async fn remove_live_event(&self, live_event_id: &str) {
        let group = live_group(live_event_id);
        let mut tables = self.tables.lock().await;
        let members: Vec<String> = tables
            .peers
            .iter()
            .filter(|(_, entry)| entry.group == group)
            .map(|(member, _)| member.clone())
            .collect();
        for member in members {
            if let Some(old) = tables.peers.remove(&member) {
                let _ = self.sfu.remove_peer(old.peer).await;
                tables.release(&self.sfu, &old.group).await;
            }
        }
    }

    /// Sets the live group's forwarding from the event's current state (see the module doc).
    async fn sync_forwarding(&self, live: &LiveEventService, id: &str) {
        let group = live_group(id);
        let tables = self.tables.lock().await;
        if !tables.groups.contains_key(&group) {
            return;
        }
        match live.get(id).await {
            Ok(event) => {
                let ongoing = event.state == LiveEventState::Ongoing;
                let _ = self.sfu.set_forwarding(group, ongoing).await;
            }
            Err(err) => tracing::debug!(%id, %err, "reading the live event's state"),
        }
        drop(tables);
    }

    /// `live_offer` for a device of the live protocol: its `media.*` events go to `owner`.
    async fn live_offer_from(
        &self,
        id: &LiveEventId,
        member: &str,
        role: Role,
        sdp: String,
        owner: DeviceKey,
    ) -> Result<String, SfuError> {
        let group = live_group(id.as_str());
        let policy = Policy::Live;
        self.add(group, policy, member, role, sdp, Some(owner))
            .await
    }
}

/// `media.offer {live_event_id, sdp}` → `{live_event_id, host_id|participant_id, sdp}`.
pub(super) async fn offer(
    hub: &Hub,
    key: &DeviceKey,
    bridge: &MediaBridge,
    p: MediaOffer,
) -> Result<OfferAnswer, SignalError> {
    if p.room_id.is_some() || p.participant_id.is_some() {
        return Err(SignalError::MixedOffer);
    }
    let raw = p.live_event_id.ok_or(SignalError::LiveEventNotFound)?;
    let id = LiveEventId::parse(raw.as_str()).ok_or(SignalError::LiveEventNotFound)?;
    let sdp = p.sdp.ok_or(SignalError::Missing("sdp"))?;
    let live = &hub.services.live_events;
    let Some(role) = hub.live_seat(key, &id, false) else {
        live.get(id.as_str()).await?; // 400200 for an unknown event
        return Err(SignalError::NotEntered);
    };
    let before = live.get(id.as_str()).await?; // 400200 once deleted
    let (member, sfu_role, member_ref) = match &role {
        LiveRole::Host(host) => (host.to_string(), Role::Host, MemberRef::Host(host.clone())),
        LiveRole::Participant(pid) => (
            pid.to_string(),
            Role::Viewer,
            MemberRef::Participant(pid.clone()),
        ),
    };
    let answer = bridge
        .live_offer_from(&id, &member, sfu_role, sdp, key.clone())
        .await?;
    // The seat may have gone while the SFU answered (exit, end, revocation): its exit event
    // may already have passed the bridge, so drop the new peer here.
    if hub.live_seat(key, &id, false).as_ref() != Some(&role) {
        bridge.remove(&member).await;
        return Err(SignalError::NotEntered);
    }
    bridge.sync_forwarding(live, id.as_str()).await;
    let now = live.get(id.as_str()).await.unwrap_or(before);
    if let (LiveRole::Host(_), Some(host)) = (&role, &now.host) {
        let (audio, video) = (host.is_audio_on, host.is_video_on);
        bridge
            .set_media(
                &member,
                (!audio).then_some(false),
                (!video).then_some(false),
            )
            .await;
    }
    Ok(OfferAnswer::Live {
        live_event_id: id,
        member: member_ref,
        sdp: answer,
    })
}

/// A committed live-event event: state changes switch forwarding, the end frees the group,
/// exits free the member's peer.
pub(super) fn on_event(
    bridge: &Arc<MediaBridge>,
    live: &LiveEventService,
    live_event: &LiveEvent,
    body: &LiveEventBody,
) {
    let bridge = bridge.clone();
    let id = live_event.live_event_id.to_string();
    match body {
        LiveEventBody::SetReady | LiveEventBody::Started => {
            let live = live.clone();
            tokio::spawn(async move { bridge.sync_forwarding(&live, &id).await });
        }
        LiveEventBody::Ended => {
            tokio::spawn(async move { bridge.remove_live_event(&id).await });
        }
        LiveEventBody::HostExited { host } => {
            let member = host.host_id.to_string();
            tokio::spawn(async move { bridge.remove(&member).await });
        }
        LiveEventBody::ParticipantExited { participant } => {
            let member = participant.participant_id.to_string();
            tokio::spawn(async move { bridge.remove(&member).await });
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
pub(super) async fn peer_connected(
    hub: &Arc<Hub>,
    bridge: &MediaBridge,
    group: &GroupId,
    peer: &PeerId,
) {
    let Some(id) = live_of(group) else {
        return;
    };
    if !matches!(bridge.current(peer).await, Some((Role::Host, _))) {
        return;
    }
    let host = HostId::from_trusted(member_of(peer).to_owned());
    let live = hub.services.live_events.clone();
    tokio::spawn(async move {
        if let Err(err) = live.host_connected(id.as_str(), &host).await {
            tracing::debug!(%id, %host, %err, "host_connected");
        }
    });
}

/// The SFU dropped a member's current peer on its own (transport lost, failed, connect
/// timeout): the host becomes `disconnected`; the member's device hears `media.disconnected`.
pub(super) fn peer_lost(
    hub: &Arc<Hub>,
    group: &GroupId,
    peer: &PeerId,
    entry: PeerEntry,
    reason: MediaDisconnectReason,
) {
    let Some(id) = live_of(group) else {
        return;
    };
    let member = member_of(peer).to_owned();
    let member = if entry.role == Role::Host {
        let host = HostId::from_trusted(member);
        let live = hub.services.live_events.clone();
        let (id, gone) = (id.clone(), host.clone());
        tokio::spawn(async move {
            if let Err(err) = live.host_disconnected(id.as_str(), &gone).await {
                tracing::debug!(%id, host = %gone, %err, "host_disconnected");
            }
        });
        MemberRef::Host(host)
    } else {
        MemberRef::Participant(ParticipantId::from_trusted(member))
    };
    if let Some(owner) = entry.owner {
        let event = LiveEventEvent::MediaDisconnected { member, reason };
        push(hub, &id, &owner, event);
    }
}

/// A receive slot of a viewer (or the host) now carries `source` (the host) or nothing.
pub(super) async fn track_routed(
    hub: &Arc<Hub>,
    bridge: &MediaBridge,
    group: &GroupId,
    peer: &PeerId,
    mid: &str,
    kind: Kind,
    source: Option<&str>,
) {
    let Some(id) = live_of(group) else {
        return;
    };
    let Some((_, Some(owner))) = bridge.current(peer).await else {
        return;
    };
    let event = LiveEventEvent::TrackRouted {
        mid: mid.to_owned(),
        kind: media_kind(kind),
        host_id: source.map(|s| HostId::from_trusted(s.to_owned())),
    };
    push(hub, &id, &owner, event);
}

fn push(hub: &Hub, id: &LiveEventId, owner: &DeviceKey, event: LiveEventEvent) {
    let text = protocol::live_frame(id, hub.services.live_events.now(), event);
    hub.live_push(id, owner, text);
}
