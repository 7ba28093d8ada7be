//! Media for direct calls: each call is a two-party SFU group (`Policy::Video`), each side
//! one peer (`Member::CallSide`) owned by the device that dialed or accepted.
//!
//! Invariants:
//! - the call's end (any cause) removes both peers and the group, driven by the committed
//!   `Ended` event, so no path leaks a peer;
//! - a side's media toggle (`call.set_media`) pauses or resumes forwarding of its tracks,
//!   driven by the committed `MediaChanged` event, and a new offer starts from the side's
//!   current flags;
//! - the SFU's `PeerConnected` of a side reports the side up to the direct-call service,
//!   which marks the call `connected` once both are; a side's transport lost, failed or
//!   timed out while it is still its current peer reports it lost (the service ends the
//!   call `connection_lost` past the media grace) and tells both devices `call.media_lost`.

use crate::MediaError;
use crate::tables::{Offer, PeerEntry};
use crate::{MediaBridge, MediaGroup, MediaSink, Member, Routed};
use opencalls_domain::direct_call::{CallRecord, DirectCallBody};
use opencalls_domain::{DeviceKey, DirectCallId, UserId};
use opencalls_protocol::{CallEvent, MediaDisconnectReason};
use opencalls_service::Services;
use opencalls_service::direct_calls::MediaReport;
use opencalls_sfu::{PeerId, Policy, Role};
use std::sync::Arc;

impl MediaBridge {
    /// A side of a direct call offers from `owner`; returns the SDP answer.
    pub async fn offer_call(
        &self,
        call_id: &DirectCallId,
        user_id: &UserId,
        sdp: String,
        owner: DeviceKey,
    ) -> Result<String, MediaError> {
        let offer = Offer {
            group: MediaGroup::Call(call_id.clone()),
            policy: Policy::Video,
            member: call_side(call_id, user_id),
            role: Role::Participant,
            sdp,
            owner: Some(owner),
        };
        self.add(offer, None).await
    }

    /// The call is over: both peers and the group go.
    pub async fn remove_call(&self, call_id: &DirectCallId) {
        let group = MediaGroup::Call(call_id.clone());
        self.forget_remote_group(&group);
        let mut tables = self.tables.lock().await;
        for member in tables.members_in(&group) {
            tables.remove(&self.sfu, &member).await;
        }
        self.settle(&mut tables).await;
    }
}

/// The member of `user_id`'s side of a call.
pub fn call_side(call_id: &DirectCallId, user_id: &UserId) -> Member {
    Member::CallSide {
        call_id: call_id.clone(),
        user_id: user_id.clone(),
    }
}

/// Both sides' devices of a call (the dialing one, and the accepting one once it did).
fn devices(record: &CallRecord) -> Vec<DeviceKey> {
    std::iter::once(record.caller_key())
        .chain(record.callee_key())
        .collect()
}

/// A committed direct-call event: the end frees the group; a media toggle pauses or
/// resumes the side's forwarding.
pub(crate) fn on_event(bridge: &Arc<MediaBridge>, record: &CallRecord, body: &DirectCallBody) {
    let bridge = bridge.clone();
    let id = record.call.call_id.clone();
    match body {
        DirectCallBody::Ended { .. } => {
            tokio::spawn(async move { bridge.remove_call(&id).await });
        }
        DirectCallBody::MediaChanged { user_id } => {
            let Some(side) = record
                .call
                .participants
                .iter()
                .find(|p| &p.user_id == user_id)
            else {
                return;
            };
            let (audio, video) = (side.is_audio_on, side.is_video_on);
            let member = call_side(&id, user_id);
            tokio::spawn(async move {
                bridge
                    .set_media_here(&member, Some(audio), Some(video))
                    .await;
            });
        }
        // No peer exists before an offer; the rest changes no forwarding.
        DirectCallBody::Dialed
        | DirectCallBody::Accepted
        | DirectCallBody::Connected
        | DirectCallBody::CustomItemsUpdated { .. }
        | DirectCallBody::CustomItemsDeleted { .. } => {}
    }
}

/// The side behind an SFU peer of a call group.
fn side_of(member: Option<Member>) -> Option<UserId> {
    match member? {
        Member::CallSide { user_id, .. } => Some(user_id),
        Member::Participant(_) | Member::Host(_) | Member::Viewer(_) => None,
    }
}

/// The SFU's `PeerConnected` in a call group: the side's media is up.
pub(crate) async fn peer_connected(
    services: &Services,
    bridge: &MediaBridge,
    sink: &Arc<dyn MediaSink>,
    id: &DirectCallId,
    peer: &PeerId,
) {
    let Some((member, _, _)) = bridge.current(peer).await else {
        return;
    };
    let Some(user) = side_of(Some(member)) else {
        return;
    };
    let (calls, sink, id) = (services.direct_calls.clone(), sink.clone(), id.clone());
    tokio::spawn(async move {
        if calls.media_up(&id, &user).await == MediaReport::Recovered {
            tell_both(&calls, sink.as_ref(), &id, |call| {
                CallEvent::MediaRecovered {
                    call,
                    user_id: user.clone(),
                }
            })
            .await;
        }
    });
}

/// The SFU dropped a side's current peer on its own: its device hears
/// `media.disconnected`, both hear `call.media_lost`, and the media grace starts.
pub(crate) fn peer_lost(
    services: &Services,
    sink: &Arc<dyn MediaSink>,
    id: &DirectCallId,
    member: Member,
    entry: PeerEntry,
    reason: MediaDisconnectReason,
) {
    let Some(user) = side_of(Some(member)) else {
        return;
    };
    if let Some(owner) = entry.owner {
        let event = CallEvent::MediaDisconnected {
            user_id: user.clone(),
            reason,
        };
        sink.to_call(id, &[owner], event);
    }
    let (calls, sink, id) = (services.direct_calls.clone(), sink.clone(), id.clone());
    tokio::spawn(async move {
        if calls.media_lost(&id, &user).await == MediaReport::Lost {
            tell_both(&calls, sink.as_ref(), &id, |call| CallEvent::MediaLost {
                call,
                user_id: user.clone(),
            })
            .await;
        }
    });
}

/// Sends an event made from the call's current state to both sides' devices.
async fn tell_both(
    calls: &opencalls_service::DirectCallService,
    sink: &dyn MediaSink,
    id: &DirectCallId,
    event: impl FnOnce(Box<opencalls_domain::DirectCall>) -> CallEvent,
) {
    if let Ok(record) = calls.record(id).await {
        let targets = devices(&record);
        sink.to_call(id, &targets, event(Box::new(record.call)));
    }
}

/// A receive slot of one side now carries the other side's track, or nothing.
pub(crate) async fn track_routed(
    bridge: &MediaBridge,
    sink: &dyn MediaSink,
    id: &DirectCallId,
    routed: Routed,
) {
    let Some((_, _, Some(owner))) = bridge.current(&routed.peer).await else {
        return;
    };
    let source = match &routed.source {
        Some(source) => bridge.tables.lock().await.member_of(source).cloned(),
        None => None,
    };
    let event = CallEvent::TrackRouted {
        mid: routed.mid,
        kind: routed.kind,
        user_id: side_of(source),
    };
    sink.to_call(id, &[owner], event);
}
