//! Direct calls (1:1): dial, accept, decline, cancel, end and media toggles from the client
//! protocol; listings, history, summaries and custom items for the Platform API; the
//! server's timers (ring, connect, media grace) and the media sides reported by the media
//! bridge.
//!
//! Every change runs a pure `CallRecord` transition inside a store transaction and its
//! events are published after the commit. Timers are tokio tasks that sleep until a
//! deadline computed from the injected `Clock`; the transition itself checks again that
//! the deadline passed (`CallRecord::expire`), so a late or duplicate timer changes
//! nothing. Refusals carry the documented codes (1400101–1400105) via `DomainError`.

mod listing;
pub mod media;

pub use listing::{CallList, CallSummary, PushTokens, UserCallList, parse_token_type};
pub use media::MediaReport;
pub use opencalls_store::PushTokenType;

use crate::ServiceError;
use media::MediaSides;
use opencalls_domain::direct_call::{
    CUSTOM_ITEMS_RULE, CallChange, CallRecord, CallTimeouts, CallTimer, DialRequest,
};
use opencalls_domain::{
    CustomItems, DeviceKey, DirectCall, DirectCallId, DomainError, Millis, User, UserId,
};
use opencalls_runtime::{Clock, EventBus};
use opencalls_store::Store;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// What a device asks for in `call.dial`, as received.
#[derive(Clone, Debug, Default)]
pub struct Dial {
    pub callee_id: Option<UserId>,
    pub is_video_call: Option<bool>,
    pub is_audio_on: Option<bool>,
    pub is_video_on: Option<bool>,
    pub custom_items: Option<BTreeMap<String, String>>,
}

#[derive(Clone)]
pub struct DirectCallService {
    pub(crate) store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    bus: EventBus,
    timeouts: CallTimeouts,
    media: Arc<MediaSides>,
}

impl DirectCallService {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, bus: EventBus) -> Self {
        Self {
            store,
            clock,
            bus,
            timeouts: CallTimeouts::default(),
            media: Arc::default(),
        }
    }

    /// Sets the server's timers (ring, connect, media grace).
    pub fn with_timeouts(mut self, timeouts: CallTimeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    pub fn timeouts(&self) -> CallTimeouts {
        self.timeouts
    }

    fn now(&self) -> Millis {
        self.clock.now()
    }

    /// A new ringing call from `caller`'s device `device`.
    pub async fn dial(
        &self,
        caller: User,
        device: &DeviceKey,
        dial: Dial,
    ) -> Result<DirectCall, ServiceError> {
        let callee_id = dial
            .callee_id
            .ok_or_else(|| DomainError::MissingParameter("callee_id is required".into()))?;
        let custom_items =
            CustomItems::new(dial.custom_items.unwrap_or_default(), CUSTOM_ITEMS_RULE)?;
        if callee_id == caller.user_id {
            return Err(DomainError::DialedSelf.into());
        }
        let callee = self
            .store
            .user(&callee_id)
            .await
            .map_err(ServiceError::from_store("user"))?
            .ok_or(DomainError::CalleeNotFound)?;
        let is_video_call = dial.is_video_call.unwrap_or(false);
        let request = DialRequest {
            call_id: DirectCallId::generate(),
            caller,
            caller_device: device.client_id.clone(),
            callee,
            is_video_call,
            is_audio_on: dial.is_audio_on.unwrap_or(true),
            is_video_on: dial.is_video_on.unwrap_or(is_video_call),
            custom_items,
        };
        let change = CallRecord::dial(request, self.now())?;
        self.store
            .insert_call(change.clone())
            .await
            .map_err(ServiceError::from_store("direct call"))?;
        let call = change.record.call.clone();
        self.bus.publish(change.events);
        self.after(CallTimer::Ring, &call.call_id, self.timeouts.ring_ms);
        Ok(call)
    }

    /// The call with its devices; 1400102 if there is none.
    pub async fn record(&self, id: &DirectCallId) -> Result<CallRecord, ServiceError> {
        self.store
            .call(id)
            .await
            .map_err(ServiceError::from_store("direct call"))?
            .ok_or_else(|| DomainError::CallNotFound.into())
    }

    /// The call as the Platform API shows it.
    pub async fn get(&self, id: &DirectCallId) -> Result<DirectCall, ServiceError> {
        Ok(self.record(id).await?.call)
    }

    /// Runs a transition at `now`, publishes its events and returns the change.
    pub(crate) async fn transition<F>(
        &self,
        id: &DirectCallId,
        f: F,
    ) -> Result<CallChange, ServiceError>
    where
        F: FnOnce(&CallRecord, Millis) -> Result<CallChange, DomainError> + Send + 'static,
    {
        let now = self.now();
        let change = self
            .store
            .update_call(id, Box::new(move |record| f(record, now)))
            .await
            .map_err(|err| match err {
                opencalls_store::StoreError::NotFound => DomainError::CallNotFound.into(),
                other => ServiceError::from_store("direct call")(other),
            })?;
        self.bus.publish(change.events.clone());
        if change.record.is_ended() {
            self.media.forget(id);
        }
        Ok(change)
    }

    /// A callee device takes the call; starts the connect timer.
    pub async fn accept(
        &self,
        device: &DeviceKey,
        id: &DirectCallId,
        audio: Option<bool>,
        video: Option<bool>,
    ) -> Result<DirectCall, ServiceError> {
        let device = device.clone();
        let change = self
            .transition(id, move |r, now| r.accept(&device, audio, video, now))
            .await?;
        self.after(CallTimer::Connect, id, self.timeouts.connect_ms);
        Ok(change.record.call)
    }

    pub async fn decline(
        &self,
        device: &DeviceKey,
        id: &DirectCallId,
    ) -> Result<DirectCall, ServiceError> {
        let device = device.clone();
        let change = self
            .transition(id, move |r, now| r.decline(&device, now))
            .await?;
        Ok(change.record.call)
    }

    pub async fn cancel(
        &self,
        device: &DeviceKey,
        id: &DirectCallId,
    ) -> Result<DirectCall, ServiceError> {
        let device = device.clone();
        let change = self
            .transition(id, move |r, now| r.cancel(&device, now))
            .await?;
        Ok(change.record.call)
    }

    pub async fn end(
        &self,
        device: &DeviceKey,
        id: &DirectCallId,
    ) -> Result<DirectCall, ServiceError> {
        let device = device.clone();
        let change = self
            .transition(id, move |r, now| r.end(&device, now))
            .await?;
        Ok(change.record.call)
    }

    pub async fn set_media(
        &self,
        device: &DeviceKey,
        id: &DirectCallId,
        audio: Option<bool>,
        video: Option<bool>,
    ) -> Result<DirectCall, ServiceError> {
        let device = device.clone();
        let change = self
            .transition(id, move |r, now| r.set_media(&device, audio, video, now))
            .await?;
        Ok(change.record.call)
    }

    /// Calls not ended that `user_id` takes part in (for `hello.resumed_calls`), at most
    /// `limit`.
    pub async fn open_calls_of(
        &self,
        user_id: &UserId,
        limit: usize,
    ) -> Result<Vec<CallRecord>, ServiceError> {
        self.store
            .open_calls_of(user_id, limit)
            .await
            .map_err(ServiceError::from_store("direct call"))
    }

    /// `device` stayed away past the reconnect grace: each call it holds ends
    /// `connection_lost` (a ringing callee device holds none).
    pub async fn device_lost(&self, device: &DeviceKey) -> Result<(), ServiceError> {
        for record in self.open_calls_of(&device.user_id, 100).await? {
            if !record.holds(device) {
                continue;
            }
            let user = device.user_id.clone();
            let id = record.call.call_id.clone();
            if let Err(err) = self.transition(&id, move |r, now| r.lose(&user, now)).await {
                tracing::debug!(%id, %err, "ending a call of a lost device");
            }
        }
        Ok(())
    }

    /// Ends the calls a previous run left open (`unknown`); returns how many.
    pub async fn end_leftover_calls(&self) -> Result<usize, ServiceError> {
        let ids = self
            .store
            .open_calls()
            .await
            .map_err(ServiceError::from_store("direct call"))?;
        let mut ended = 0;
        for id in ids {
            if self
                .transition(&id, |r, now| r.interrupt(now))
                .await
                .is_ok()
            {
                ended += 1;
            }
        }
        Ok(ended)
    }

    /// Fires `timer` for call `id` once `after_ms` have passed.
    fn after(&self, timer: CallTimer, id: &DirectCallId, after_ms: Millis) {
        let (service, id) = (self.clone(), id.clone());
        let wait = Duration::from_millis(after_ms.max(0) as u64);
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            service.expire(timer, &id).await;
        });
    }

    async fn expire(&self, timer: CallTimer, id: &DirectCallId) {
        let (timeouts, lagging) = (self.timeouts, self.media.lagging(id));
        let result = self
            .transition(id, move |r, now| r.expire(timer, timeouts, lagging, now))
            .await;
        // Refused: the call moved on (answered, connected, ended) before the timer fired.
        if let Err(err) = result {
            tracing::trace!(%id, ?timer, %err, "timer had nothing to do");
        }
    }
}
