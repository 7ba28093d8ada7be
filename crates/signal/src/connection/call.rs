//! `call.*` requests: dial, accept, decline, cancel, end and media toggles of direct calls.
//! The rules (who may act, in which state) are the direct-call service's; this module
//! checks that a device takes part in one call at a time and registers the calls it holds
//! with the hub, so a dropped socket keeps them for the reconnect grace.

use super::Connection;
use crate::error::SignalError;
use opencalls_domain::direct_call::CallRecord;
use opencalls_domain::{DirectCall, DirectCallId, DirectCallRole, DirectCallState};
use opencalls_protocol::CallResult;
use opencalls_protocol::request::{CallAccept, CallDial, CallSetMedia};
use opencalls_service::direct_calls::Dial;

/// Most open calls read for one device (hello, the one-call check): far above what a user
/// can have, since each device holds at most one.
const OPEN_CALLS_READ: usize = 100;

/// A call id from the wire: 400111 when missing, 1400102 when it can't name a call.
fn call_id(raw: Option<DirectCallId>) -> Result<DirectCallId, SignalError> {
    let raw = raw.ok_or(SignalError::Missing("call_id"))?;
    DirectCallId::parse(raw.as_str()).ok_or(SignalError::CallNotFound)
}

fn result(call: DirectCall) -> CallResult {
    CallResult { call }
}

impl Connection {
    /// Calls not ended that this device holds, or that ring on it.
    async fn open_calls(&self) -> Result<Vec<CallRecord>, SignalError> {
        let calls = &self.hub.services.direct_calls;
        let open = calls
            .open_calls_of(&self.key.user_id, OPEN_CALLS_READ)
            .await?;
        Ok(open
            .into_iter()
            .filter(|r| {
                let rings_here = r.call.state == DirectCallState::Ringing
                    && r.call.role_of(&self.key.user_id) == Some(DirectCallRole::Callee);
                r.holds(&self.key) || rings_here
            })
            .collect())
    }

    /// For `hello.resumed_calls`: the open calls of this device (held ones stay held).
    pub(super) async fn resumed_calls(&self) -> Vec<DirectCall> {
        match self.open_calls().await {
            Ok(open) => open
                .into_iter()
                .map(|r| {
                    if r.holds(&self.key) {
                        self.hub.hold_call(&self.key, &r.call.call_id);
                    }
                    r.call.for_user(&self.key.user_id)
                })
                .collect(),
            Err(err) => {
                tracing::warn!(%err, "reading the open calls of a device");
                Vec::new()
            }
        }
    }

    /// 1400101 when this device already holds a call.
    async fn check_free(&self) -> Result<(), SignalError> {
        let busy = self.open_calls().await?.iter().any(|r| r.holds(&self.key));
        if busy {
            return Err(SignalError::AlreadyInCall);
        }
        Ok(())
    }

    pub(super) async fn call_dial(&self, p: CallDial) -> Result<CallResult, SignalError> {
        let callee_id = p.callee_id.ok_or(SignalError::Missing("callee_id"))?;
        self.check_free().await?;
        let dial = Dial {
            callee_id: Some(callee_id),
            is_video_call: p.is_video_call,
            is_audio_on: p.is_audio_on,
            is_video_on: p.is_video_on,
            custom_items: p.custom_items,
        };
        let calls = &self.hub.services.direct_calls;
        let call = calls.dial(self.user.clone(), &self.key, dial).await?;
        self.hub.hold_call(&self.key, &call.call_id);
        Ok(result(call))
    }

    pub(super) async fn call_accept(&self, p: CallAccept) -> Result<CallResult, SignalError> {
        let id = call_id(p.call_id)?;
        let calls = &self.hub.services.direct_calls;
        // Who may accept comes before whether this device is free (1400105 over 1400101).
        let record = calls.record(&id).await?;
        if record.call.role_of(&self.key.user_id) != Some(DirectCallRole::Callee) {
            return Err(SignalError::NotInCall);
        }
        self.check_free().await?;
        let call = calls
            .accept(&self.key, &id, p.is_audio_on, p.is_video_on)
            .await?;
        self.hub.hold_call(&self.key, &id);
        Ok(result(call))
    }

    pub(super) async fn call_decline(
        &self,
        raw: Option<DirectCallId>,
    ) -> Result<CallResult, SignalError> {
        let id = call_id(raw)?;
        let call = self
            .hub
            .services
            .direct_calls
            .decline(&self.key, &id)
            .await?;
        Ok(result(call))
    }

    pub(super) async fn call_cancel(
        &self,
        raw: Option<DirectCallId>,
    ) -> Result<CallResult, SignalError> {
        let id = call_id(raw)?;
        let call = self
            .hub
            .services
            .direct_calls
            .cancel(&self.key, &id)
            .await?;
        Ok(result(call))
    }

    pub(super) async fn call_end(
        &self,
        raw: Option<DirectCallId>,
    ) -> Result<CallResult, SignalError> {
        let id = call_id(raw)?;
        let call = self.hub.services.direct_calls.end(&self.key, &id).await?;
        Ok(result(call))
    }

    pub(super) async fn call_set_media(&self, p: CallSetMedia) -> Result<CallResult, SignalError> {
        let id = call_id(p.call_id)?;
        if p.is_audio_on.is_none() && p.is_video_on.is_none() {
            return Err(SignalError::Missing("is_audio_on or is_video_on"));
        }
        let calls = &self.hub.services.direct_calls;
        let call = calls
            .set_media(&self.key, &id, p.is_audio_on, p.is_video_on)
            .await?;
        Ok(result(call))
    }
}
