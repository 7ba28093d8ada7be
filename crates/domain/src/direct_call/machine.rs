//! The direct call's state machine as pure transitions on a [`CallRecord`] (the call plus
//! the devices taking part, which the wire never shows).
//!
//! ```text
//! ringing ──accept──▶ accepted ──both sides' media up──▶ connected
//!    │                   │                                   │
//!    └─cancel/decline/───┴──end/timed_out/connection_lost────┴──▶ ended
//!      no_answer/connection_lost
//! ```
//!
//! Every transition works on `&self` and returns the next record with the events it caused,
//! or a [`DomainError`] and changes nothing. Who may act is checked here too: the caller's
//! dialing device, any device of the callee while it rings, and afterwards only the device
//! that accepted. `ended_by` names the user whose action (or whose failure to answer, to
//! connect or to stay connected) ended the call; `duration` runs from accept to end.

use super::{DirectCall, DirectCallParticipant, DirectCallRole, DirectCallState, EndResult};
use crate::custom_items::KeyRule;
use crate::{
    CallType, ClientId, CustomItems, CustomItemsMode, DeviceKey, DirectCallId, DomainError, Event,
    EventBody, Millis, User, UserId,
};

/// Key rule of direct-call custom items (the spec sheet: no comma in a key).
pub const CUSTOM_ITEMS_RULE: KeyRule = KeyRule::NoComma;

/// A direct call with the devices taking part.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CallRecord {
    pub call: DirectCall,
    /// The device that dialed.
    pub caller_device: ClientId,
    /// The callee's device that accepted, once one did.
    pub callee_device: Option<ClientId>,
}

/// The outcome of a transition, ready to be stored atomically.
#[derive(Clone, Debug)]
pub struct CallChange {
    pub record: CallRecord,
    pub events: Vec<Event>,
}

/// What happened to a direct call (travels in [`EventBody::DirectCall`] with the record as
/// it was right after).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DirectCallBody {
    Dialed,
    Accepted,
    Connected,
    MediaChanged {
        user_id: UserId,
    },
    CustomItemsUpdated {
        updated: Vec<String>,
    },
    CustomItemsDeleted {
        deleted: Vec<String>,
    },
    /// `by_device`: the device whose request ended the call (it learns from its response);
    /// `None` when a timer or a lost connection ended it.
    Ended {
        by_device: Option<DeviceKey>,
    },
}

/// What a device asks for when it dials.
#[derive(Clone, Debug)]
pub struct DialRequest {
    pub call_id: DirectCallId,
    pub caller: User,
    pub caller_device: ClientId,
    pub callee: User,
    pub is_video_call: bool,
    pub is_audio_on: bool,
    pub is_video_on: bool,
    pub custom_items: CustomItems,
}

/// A server-side timer of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallTimer {
    /// From the dial: nobody accepted → `no_answer`.
    Ring,
    /// From the accept: media not up both ways → `timed_out`.
    Connect,
}

/// How long the server waits, in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallTimeouts {
    pub ring_ms: Millis,
    pub connect_ms: Millis,
    pub media_grace_ms: Millis,
}

impl Default for CallTimeouts {
    fn default() -> Self {
        Self {
            ring_ms: 60_000,
            connect_ms: 60_000,
            media_grace_ms: 30_000,
        }
    }
}

fn side(user: User, role: DirectCallRole, audio: bool, video: bool) -> DirectCallParticipant {
    DirectCallParticipant {
        user_id: user.user_id,
        nickname: user.nickname,
        profile_url: user.profile_url,
        metadata: user.metadata,
        is_active: user.is_active,
        role,
        is_audio_on: audio,
        is_video_on: video,
    }
}

fn invalid_state(message: &str) -> DomainError {
    DomainError::CallInvalidState(message.to_owned())
}

fn not_participant(message: &str) -> DomainError {
    DomainError::NotCallParticipant(message.to_owned())
}

impl CallRecord {
    /// A new ringing call. Refuses dialing yourself and an inactive callee.
    pub fn dial(req: DialRequest, now: Millis) -> Result<CallChange, DomainError> {
        if req.caller.user_id == req.callee.user_id {
            return Err(DomainError::DialedSelf);
        }
        if !req.callee.is_active {
            return Err(DomainError::CalleeNotFound);
        }
        let started_by = req.caller.user_id.clone();
        let caller = side(
            req.caller,
            DirectCallRole::Caller,
            req.is_audio_on,
            req.is_video_on,
        );
        let callee = side(req.callee, DirectCallRole::Callee, true, req.is_video_call);
        let record = CallRecord {
            call: DirectCall {
                call_id: req.call_id,
                call_type: CallType::Direct,
                is_video_call: req.is_video_call,
                state: DirectCallState::Ringing,
                end_result: None,
                user_role: None,
                participants: vec![caller, callee],
                started_by,
                started_at: now,
                accepted_at: None,
                connected_at: None,
                ended_by: None,
                ended_at: None,
                duration: 0,
                custom_items: req.custom_items,
            },
            caller_device: req.caller_device,
            callee_device: None,
        };
        Ok(record.changed(now, DirectCallBody::Dialed))
    }

    /// The caller's dialing device, as a device key.
    pub fn caller_key(&self) -> DeviceKey {
        DeviceKey::new(self.call.started_by.clone(), self.caller_device.clone())
    }

    /// The device that accepted, once one did.
    pub fn callee_key(&self) -> Option<DeviceKey> {
        let callee = self.call.callee()?.user_id.clone();
        Some(DeviceKey::new(callee, self.callee_device.clone()?))
    }

    /// Whether `device` holds one side of the call (the dialing or the accepting device).
    pub fn holds(&self, device: &DeviceKey) -> bool {
        *device == self.caller_key() || self.callee_key().as_ref() == Some(device)
    }

    pub fn is_ended(&self) -> bool {
        self.call.state == DirectCallState::Ended
    }

    /// A device of the callee takes the call (the first accept wins).
    pub fn accept(
        &self,
        device: &DeviceKey,
        audio: Option<bool>,
        video: Option<bool>,
        now: Millis,
    ) -> Result<CallChange, DomainError> {
        if self.call.role_of(&device.user_id) != Some(DirectCallRole::Callee) {
            return Err(not_participant("only the callee may accept the call"));
        }
        self.expect(DirectCallState::Ringing, "the call is no longer ringing")?;
        let mut next = self.clone();
        next.callee_device = Some(device.client_id.clone());
        next.call.state = DirectCallState::Accepted;
        next.call.accepted_at = Some(now);
        let video = video.unwrap_or(self.call.is_video_call);
        next.set_flags(DirectCallRole::Callee, audio.or(Some(true)), Some(video));
        Ok(next.changed(now, DirectCallBody::Accepted))
    }

    /// A device of the callee refuses the ringing call.
    pub fn decline(&self, device: &DeviceKey, now: Millis) -> Result<CallChange, DomainError> {
        if self.call.role_of(&device.user_id) != Some(DirectCallRole::Callee) {
            return Err(not_participant("only the callee may decline the call"));
        }
        self.expect(
            DirectCallState::Ringing,
            "only a ringing call can be declined",
        )?;
        let callee = device.user_id.clone();
        Ok(self.finish(EndResult::Declined, Some(callee), Some(device.clone()), now))
    }

    /// The caller's device hangs up before an answer.
    pub fn cancel(&self, device: &DeviceKey, now: Millis) -> Result<CallChange, DomainError> {
        if *device != self.caller_key() {
            return Err(not_participant(
                "only the caller's device may cancel the call",
            ));
        }
        self.expect(
            DirectCallState::Ringing,
            "only a ringing call can be canceled",
        )?;
        let caller = device.user_id.clone();
        Ok(self.finish(EndResult::Canceled, Some(caller), Some(device.clone()), now))
    }

    /// Either side hangs up: `completed` once accepted, else a cancel or a decline.
    pub fn end(&self, device: &DeviceKey, now: Millis) -> Result<CallChange, DomainError> {
        match self.call.state {
            DirectCallState::Ended => Err(invalid_state("the call has already ended")),
            DirectCallState::Ringing if *device == self.caller_key() => self.cancel(device, now),
            DirectCallState::Ringing => self.decline(device, now),
            DirectCallState::Accepted | DirectCallState::Connected => {
                if !self.holds(device) {
                    return Err(not_participant("this device is not in the call"));
                }
                let by = device.user_id.clone();
                Ok(self.finish(EndResult::Completed, Some(by), Some(device.clone()), now))
            }
        }
    }

    /// A side turns its audio and/or video on or off.
    pub fn set_media(
        &self,
        device: &DeviceKey,
        audio: Option<bool>,
        video: Option<bool>,
        now: Millis,
    ) -> Result<CallChange, DomainError> {
        if !self.holds(device) {
            return Err(not_participant("this device is not in the call"));
        }
        if self.is_ended() {
            return Err(invalid_state("the call has already ended"));
        }
        if audio.is_none() && video.is_none() {
            return Err(DomainError::MissingParameter(
                "is_audio_on or is_video_on is required".into(),
            ));
        }
        let role = self
            .call
            .role_of(&device.user_id)
            .ok_or_else(|| not_participant("this device is not in the call"))?;
        let mut next = self.clone();
        next.set_flags(role, audio, video);
        let user_id = device.user_id.clone();
        Ok(next.changed(now, DirectCallBody::MediaChanged { user_id }))
    }

    /// Media flows both ways.
    pub fn mark_connected(&self, now: Millis) -> Result<CallChange, DomainError> {
        self.expect(
            DirectCallState::Accepted,
            "the call is not waiting for media",
        )?;
        let mut next = self.clone();
        next.call.state = DirectCallState::Connected;
        next.call.connected_at = Some(now);
        Ok(next.changed(now, DirectCallBody::Connected))
    }

    /// A timer fired: ends the call if it is still due at `now`. `lagging` names the side
    /// whose media had not connected (for [`CallTimer::Connect`]; the callee if `None`).
    pub fn expire(
        &self,
        timer: CallTimer,
        timeouts: CallTimeouts,
        lagging: Option<DirectCallRole>,
        now: Millis,
    ) -> Result<CallChange, DomainError> {
        let callee = self.side_user(DirectCallRole::Callee);
        match timer {
            CallTimer::Ring => {
                self.expect(DirectCallState::Ringing, "the call no longer rings")?;
                if now < self.call.started_at + timeouts.ring_ms {
                    return Err(invalid_state("the ring timeout is not due"));
                }
                Ok(self.finish(EndResult::NoAnswer, callee, None, now))
            }
            CallTimer::Connect => {
                self.expect(
                    DirectCallState::Accepted,
                    "the call is not waiting for media",
                )?;
                let accepted = self.call.accepted_at.unwrap_or(self.call.started_at);
                if now < accepted + timeouts.connect_ms {
                    return Err(invalid_state("the connect timeout is not due"));
                }
                let by = self.side_user(lagging.unwrap_or(DirectCallRole::Callee));
                Ok(self.finish(EndResult::TimedOut, by, None, now))
            }
        }
    }

    /// `user`'s side was lost (media past its grace, or its device past the reconnect
    /// grace): the call ends `connection_lost`.
    pub fn lose(&self, user: &UserId, now: Millis) -> Result<CallChange, DomainError> {
        if self.is_ended() {
            return Err(invalid_state("the call has already ended"));
        }
        if self.call.role_of(user).is_none() {
            return Err(not_participant("the user is not in the call"));
        }
        Ok(self.finish(EndResult::ConnectionLost, Some(user.clone()), None, now))
    }

    /// The server stopped during the call (found at the next start).
    pub fn interrupt(&self, now: Millis) -> Result<CallChange, DomainError> {
        if self.is_ended() {
            return Err(invalid_state("the call has already ended"));
        }
        Ok(self.finish(EndResult::Unknown, None, None, now))
    }

    /// Merges custom items in (allowed after the end, as the hosted SDK edits call logs).
    pub fn update_custom_items(
        &self,
        changes: &CustomItems,
        mode: CustomItemsMode,
        now: Millis,
    ) -> Result<CallChange, DomainError> {
        let (items, updated) = self.call.custom_items.merged(changes, mode)?;
        let mut next = self.clone();
        next.call.custom_items = items;
        Ok(next.changed(now, DirectCallBody::CustomItemsUpdated { updated }))
    }

    /// Removes custom items (`None`: all of them).
    pub fn delete_custom_items(
        &self,
        keys: Option<&[String]>,
        now: Millis,
    ) -> Result<CallChange, DomainError> {
        let (items, deleted) = self.call.custom_items.without(keys, CUSTOM_ITEMS_RULE)?;
        let mut next = self.clone();
        next.call.custom_items = items;
        Ok(next.changed(now, DirectCallBody::CustomItemsDeleted { deleted }))
    }

    fn expect(&self, state: DirectCallState, message: &str) -> Result<(), DomainError> {
        if self.call.state == state {
            return Ok(());
        }
        Err(invalid_state(message))
    }

    fn side_user(&self, role: DirectCallRole) -> Option<UserId> {
        self.call.side(role).map(|p| p.user_id.clone())
    }

    fn set_flags(&mut self, role: DirectCallRole, audio: Option<bool>, video: Option<bool>) {
        if let Some(p) = self.call.participants.iter_mut().find(|p| p.role == role) {
            p.is_audio_on = audio.unwrap_or(p.is_audio_on);
            p.is_video_on = video.unwrap_or(p.is_video_on);
        }
    }

    fn finish(
        &self,
        result: EndResult,
        ended_by: Option<UserId>,
        by_device: Option<DeviceKey>,
        now: Millis,
    ) -> CallChange {
        let mut next = self.clone();
        next.call.state = DirectCallState::Ended;
        next.call.end_result = Some(result);
        next.call.ended_by = ended_by;
        next.call.ended_at = Some(now);
        next.call.duration = self.call.accepted_at.map_or(0, |at| (now - at).max(0));
        next.changed(now, DirectCallBody::Ended { by_device })
    }

    fn changed(self, now: Millis, body: DirectCallBody) -> CallChange {
        let event = Event::new(
            now,
            EventBody::DirectCall {
                record: Box::new(self.clone()),
                body,
            },
        );
        CallChange {
            record: self,
            events: vec![event],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> User {
        User::bare(UserId::parse(id).unwrap())
    }

    fn device(user: &str, client: &str) -> DeviceKey {
        DeviceKey::new(
            UserId::parse(user).unwrap(),
            ClientId::parse(client).unwrap(),
        )
    }

    fn ringing() -> CallRecord {
        let req = DialRequest {
            call_id: DirectCallId::generate(),
            caller: user("alice"),
            caller_device: ClientId::parse("a1").unwrap(),
            callee: user("bob"),
            is_video_call: true,
            is_audio_on: true,
            is_video_on: true,
            custom_items: CustomItems::default(),
        };
        CallRecord::dial(req, 1_000).unwrap().record
    }

    fn ended(change: CallChange) -> (EndResult, Option<String>, Millis) {
        let call = change.record.call;
        assert_eq!(call.state, DirectCallState::Ended);
        let by = call.ended_by.map(|u| u.to_string());
        (call.end_result.unwrap(), by, call.duration)
    }

    #[test]
    fn dialing_yourself_or_an_inactive_callee_is_refused() {
        let mut req = DialRequest {
            call_id: DirectCallId::generate(),
            caller: user("alice"),
            caller_device: ClientId::parse("a1").unwrap(),
            callee: user("alice"),
            is_video_call: false,
            is_audio_on: true,
            is_video_on: false,
            custom_items: CustomItems::default(),
        };
        let err = CallRecord::dial(req.clone(), 1).unwrap_err();
        assert_eq!(err, DomainError::DialedSelf);
        req.callee = User {
            is_active: false,
            ..user("bob")
        };
        let err = CallRecord::dial(req, 1).unwrap_err();
        assert_eq!(err, DomainError::CalleeNotFound);
    }

    #[test]
    fn the_first_accept_wins_and_duration_runs_from_accept_to_end() {
        let call = ringing();
        let phone = device("bob", "phone");
        let accepted = call
            .accept(&phone, None, Some(false), 3_000)
            .unwrap()
            .record;
        assert_eq!(accepted.call.state, DirectCallState::Accepted);
        assert_eq!(accepted.callee_key(), Some(phone.clone()));
        let laptop = device("bob", "laptop");
        let late = accepted.accept(&laptop, None, None, 3_100).unwrap_err();
        assert!(matches!(late, DomainError::CallInvalidState(_)));
        let not_yours = accepted.end(&laptop, 4_000).unwrap_err();
        assert!(matches!(not_yours, DomainError::NotCallParticipant(_)));
        let connected = accepted.mark_connected(3_500).unwrap().record;
        let done = connected.end(&phone, 63_000).unwrap();
        assert_eq!(
            ended(done),
            (EndResult::Completed, Some("bob".into()), 60_000)
        );
    }

    #[test]
    fn ending_before_an_answer_is_a_cancel_or_a_decline() {
        let call = ringing();
        let by_caller = call.end(&device("alice", "a1"), 2_000).unwrap();
        assert_eq!(
            ended(by_caller),
            (EndResult::Canceled, Some("alice".into()), 0)
        );
        let by_callee = call.end(&device("bob", "any"), 2_000).unwrap();
        assert_eq!(
            ended(by_callee),
            (EndResult::Declined, Some("bob".into()), 0)
        );
        let other_caller_device = call.cancel(&device("alice", "a2"), 2_000).unwrap_err();
        assert!(matches!(
            other_caller_device,
            DomainError::NotCallParticipant(_)
        ));
        let stranger = call.decline(&device("carol", "c"), 2_000).unwrap_err();
        assert!(matches!(stranger, DomainError::NotCallParticipant(_)));
        let caller_accepts = call.accept(&device("alice", "a1"), None, None, 2_000);
        assert!(matches!(
            caller_accepts,
            Err(DomainError::NotCallParticipant(_))
        ));
    }

    #[test]
    fn timers_end_the_call_only_when_due() {
        let t = CallTimeouts::default();
        let call = ringing();
        assert!(call.expire(CallTimer::Ring, t, None, 60_999).is_err());
        let missed = call.expire(CallTimer::Ring, t, None, 61_000).unwrap();
        assert_eq!(ended(missed), (EndResult::NoAnswer, Some("bob".into()), 0));
        let accepted = call
            .accept(&device("bob", "b"), None, None, 2_000)
            .unwrap()
            .record;
        assert!(accepted.expire(CallTimer::Ring, t, None, 99_000).is_err());
        assert!(
            accepted
                .expire(CallTimer::Connect, t, None, 61_999)
                .is_err()
        );
        let lagging = Some(DirectCallRole::Caller);
        let timed_out = accepted
            .expire(CallTimer::Connect, t, lagging, 62_000)
            .unwrap();
        assert_eq!(
            ended(timed_out),
            (EndResult::TimedOut, Some("alice".into()), 60_000)
        );
        let lost = accepted
            .lose(&UserId::parse("bob").unwrap(), 5_000)
            .unwrap();
        assert_eq!(
            ended(lost),
            (EndResult::ConnectionLost, Some("bob".into()), 3_000)
        );
        let restarted = accepted.interrupt(7_000).unwrap();
        assert_eq!(ended(restarted), (EndResult::Unknown, None, 5_000));
    }

    #[test]
    fn media_toggles_belong_to_the_devices_in_the_call() {
        let call = ringing();
        let muted = call
            .set_media(&device("alice", "a1"), Some(false), None, 1_500)
            .unwrap();
        let caller = muted.record.call.caller().unwrap().clone();
        assert!(!caller.is_audio_on && caller.is_video_on);
        let ringing_callee = call.set_media(&device("bob", "b"), Some(false), None, 1_500);
        assert!(matches!(
            ringing_callee,
            Err(DomainError::NotCallParticipant(_))
        ));
        let nothing = call.set_media(&device("alice", "a1"), None, None, 1_500);
        assert!(matches!(nothing, Err(DomainError::MissingParameter(_))));
    }
}
