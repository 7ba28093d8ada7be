//! `media.offer` and the media bridge's client events, on the signaling side: who may offer
//! (the device's seat in the room or live event) is decided here; what the SFU then does
//! is the bridge's job (`opencalls-rtc`).
//!
//! Invariant: an offer whose seat went away while the SFU answered (exit, deletion, end,
//! revocation) has its new peer dropped here, since the exit event may already have passed
//! the bridge.

use crate::error::SignalError;
use crate::hub::live::LiveRole;
use crate::hub::{Audience, DeviceKey, Hub};
use crate::protocol;
use opencalls_domain::{DirectCallId, LiveEventId, ParticipantId, RoomId};
use opencalls_protocol::request::{MediaOffer, MediaSetLayerHint};
use opencalls_protocol::response::{LayerHintSet, MemberRef};
use opencalls_protocol::{CallEvent, LiveEventEvent, OfferAnswer, RoomEvent};
use opencalls_rtc::{MediaSink, Member};
use opencalls_sfu::Role;

/// `media.offer`: `{room_id, sdp}` → `{participant_id, sdp}`, or `{live_event_id, sdp}` →
/// `{live_event_id, host_id|participant_id, sdp}` (the answer).
pub(crate) async fn offer(
    hub: &Hub,
    key: &DeviceKey,
    p: MediaOffer,
) -> Result<OfferAnswer, SignalError> {
    if p.live_event_id.is_some() {
        return live_offer(hub, key, p).await;
    }
    if p.call_id.is_some() {
        return call_offer(hub, key, p).await;
    }
    let bridge = hub.media.get().ok_or(SignalError::MediaDisabled)?;
    let raw = p.room_id.ok_or(SignalError::Missing("room_id"))?;
    let room_id = RoomId::parse(raw.as_str()).ok_or(SignalError::RoomNotFound)?;
    let sdp = p.sdp.ok_or(SignalError::Missing("sdp"))?;
    let pid = hub
        .seat(key, &room_id, false)
        .ok_or(SignalError::NotInRoom)?;
    if p.participant_id.is_some_and(|given| given != pid) {
        return Err(SignalError::NotYourParticipant);
    }
    let room = hub.services.rooms.get(&room_id).await?;
    let me = room
        .current_participants
        .iter()
        .find(|x| x.participant_id == pid)
        .ok_or(SignalError::NotInRoom)?;
    let (audio, video) = (me.is_audio_on, me.is_video_on);
    let audience = Audience::Room(room_id.clone());
    let fresh = hub.reserve_media(key, &audience)?;
    let answer = match bridge.offer_room(&room_id, room.room_type, &pid, sdp).await {
        Ok(answer) => answer,
        Err(err) => {
            if fresh {
                hub.release_media(key, &audience);
            }
            return Err(err.into());
        }
    };
    let member = Member::Participant(pid.clone());
    if hub.seat(key, &room_id, false).as_ref() != Some(&pid) {
        bridge.remove(&member).await;
        return Err(SignalError::NotInRoom);
    }
    let (audio, video) = ((!audio).then_some(false), (!video).then_some(false));
    bridge.set_media(&member, audio, video).await;
    Ok(OfferAnswer::Room {
        participant_id: pid,
        sdp: answer,
    })
}

/// `media.offer {live_event_id, sdp}` for a device that has entered the live event: the
/// host publishes, participants receive only.
async fn live_offer(hub: &Hub, key: &DeviceKey, p: MediaOffer) -> Result<OfferAnswer, SignalError> {
    let bridge = hub.media.get().ok_or(SignalError::MediaDisabled)?;
    if p.room_id.is_some() || p.participant_id.is_some() {
        return Err(SignalError::MixedOffer);
    }
    let raw = p.live_event_id.ok_or(SignalError::LiveEventNotFound)?;
    let id = LiveEventId::parse(raw.as_str()).ok_or(SignalError::LiveEventNotFound)?;
    let sdp = p.sdp.ok_or(SignalError::Missing("sdp"))?;
    let live = &hub.services.live_events;
    let Some(role) = hub.live_seat(key, &id, false) else {
        live.get(&id).await?; // 400200 for an unknown event
        return Err(SignalError::NotEntered);
    };
    let before = live.get(&id).await?; // 400200 once deleted
    let (member, sfu_role, member_ref) = match &role {
        LiveRole::Host(host) => (
            Member::Host(host.clone()),
            Role::Host,
            MemberRef::Host(host.clone()),
        ),
        LiveRole::Participant(pid) => (
            Member::Viewer(pid.clone()),
            Role::Viewer,
            MemberRef::Participant(pid.clone()),
        ),
    };
    let audience = Audience::Live(id.clone());
    let fresh = hub.reserve_media(key, &audience)?;
    let offered = bridge
        .offer_live(&id, member.clone(), sfu_role, sdp, Some(key.clone()))
        .await;
    let answer = match offered {
        Ok(answer) => answer,
        Err(err) => {
            if fresh {
                hub.release_media(key, &audience);
            }
            return Err(err.into());
        }
    };
    if hub.live_seat(key, &id, false).as_ref() != Some(&role) {
        bridge.remove(&member).await;
        return Err(SignalError::NotEntered);
    }
    bridge.sync_forwarding(live, &id).await;
    let now = live.get(&id).await.unwrap_or(before);
    if let (LiveRole::Host(_), Some(host)) = (&role, &now.host) {
        let (audio, video) = (host.is_audio_on, host.is_video_on);
        let (audio, video) = ((!audio).then_some(false), (!video).then_some(false));
        bridge.set_media(&member, audio, video).await;
    }
    Ok(OfferAnswer::Live {
        live_event_id: id,
        member: member_ref,
        sdp: answer,
    })
}

/// `media.offer {call_id, sdp}` from the dialing or the accepting device of a call that was
/// accepted and has not ended.
async fn call_offer(hub: &Hub, key: &DeviceKey, p: MediaOffer) -> Result<OfferAnswer, SignalError> {
    let bridge = hub.media.get().ok_or(SignalError::MediaDisabled)?;
    if p.room_id.is_some() || p.participant_id.is_some() || p.live_event_id.is_some() {
        return Err(SignalError::MixedCallOffer);
    }
    let raw = p.call_id.ok_or(SignalError::Missing("call_id"))?;
    let id = DirectCallId::parse(raw.as_str()).ok_or(SignalError::CallNotFound)?;
    let sdp = p.sdp.ok_or(SignalError::Missing("sdp"))?;
    let calls = &hub.services.direct_calls;
    let record = calls.record(&id).await?;
    if !record.holds(key) {
        return Err(SignalError::NotInCall);
    }
    if record.call.accepted_at.is_none() || record.is_ended() {
        return Err(SignalError::CallNotLive);
    }
    let answer = bridge
        .offer_call(&id, &key.user_id, sdp, key.clone())
        .await?;
    let member = opencalls_rtc::call::call_side(&id, &key.user_id);
    // Ended while the SFU answered: its end event may already have passed the bridge.
    let now = calls.record(&id).await?;
    if now.is_ended() {
        bridge.remove(&member).await;
        return Err(SignalError::CallNotLive);
    }
    if let Some(side) = now.call.side_of(&key.user_id) {
        let (audio, video) = (side.is_audio_on, side.is_video_on);
        bridge
            .set_media(
                &member,
                (!audio).then_some(false),
                (!video).then_some(false),
            )
            .await;
    }
    Ok(OfferAnswer::Call {
        call_id: id,
        sdp: answer,
    })
}

/// `media.set_layer_hint {room_id|live_event_id|call_id, mid, max_height}`: caps the
/// simulcast layer the SFU sends into one of this device's video receive slots.
pub(crate) async fn set_layer_hint(
    hub: &Hub,
    key: &DeviceKey,
    p: MediaSetLayerHint,
) -> Result<LayerHintSet, SignalError> {
    let bridge = hub.media.get().ok_or(SignalError::MediaDisabled)?;
    let named = [
        p.room_id.is_some(),
        p.live_event_id.is_some(),
        p.call_id.is_some(),
    ];
    if named.iter().filter(|n| **n).count() > 1 {
        return Err(SignalError::MixedHint);
    }
    let mid = p.mid.ok_or(SignalError::Missing("mid"))?;
    let member = if let Some(raw) = p.live_event_id {
        let id = LiveEventId::parse(raw.as_str()).ok_or(SignalError::LiveEventNotFound)?;
        match hub.live_seat(key, &id, false) {
            Some(LiveRole::Host(host)) => Member::Host(host),
            Some(LiveRole::Participant(pid)) => Member::Viewer(pid),
            None => return Err(SignalError::NotEntered),
        }
    } else if let Some(raw) = p.call_id {
        let id = DirectCallId::parse(raw.as_str()).ok_or(SignalError::CallNotFound)?;
        if !hub.services.direct_calls.record(&id).await?.holds(key) {
            return Err(SignalError::NotInCall);
        }
        opencalls_rtc::call::call_side(&id, &key.user_id)
    } else {
        let raw = p.room_id.ok_or(SignalError::Missing("room_id"))?;
        let room_id = RoomId::parse(raw.as_str()).ok_or(SignalError::RoomNotFound)?;
        let pid = hub
            .seat(key, &room_id, false)
            .ok_or(SignalError::NotInRoom)?;
        Member::Participant(pid)
    };
    match bridge
        .set_layer_hint(&member, mid.clone(), p.max_height)
        .await
    {
        Ok(()) => Ok(LayerHintSet {
            mid,
            max_height: p.max_height,
        }),
        Err(opencalls_rtc::MediaError::Sfu(opencalls_sfu::SfuError::PeerNotFound(_))) => {
            Err(SignalError::NoMediaSession)
        }
        Err(err) => Err(err.into()),
    }
}

/// The bridge's client events reach devices through the hub.
impl MediaSink for Hub {
    fn to_room(&self, room_id: &RoomId, to: Option<&ParticipantId>, event: RoomEvent) {
        let text = protocol::room_frame(room_id, self.services.rooms.now(), event);
        self.push(room_id, to, text);
    }

    fn to_live_member(&self, id: &LiveEventId, owner: &DeviceKey, event: LiveEventEvent) {
        let text = protocol::live_frame(id, self.services.live_events.now(), event);
        self.live_push(id, owner, text);
    }

    fn to_call(&self, call_id: &DirectCallId, devices: &[DeviceKey], event: CallEvent) {
        let text = protocol::call_frame(call_id, self.services.rooms.now(), event);
        self.call_push(call_id, devices, text);
    }
}
