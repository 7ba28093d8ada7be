//! Direct calls in the hub: which devices a call's events go to, which devices hold a call
//! (so a dropped one keeps it for the reconnect grace), and the end of the calls of a
//! device that did not come back.
//!
//! Targets follow the call record carried by every event (docs/protocol.md §12): the
//! ring (`call.dialed`) goes to every connected device of the callee; after the accept,
//! events go to the dialing device and the accepting one; the other callee devices hear
//! `call.other_device_accepted` once. The device whose request ended a call learns it from
//! its response, not from `call.ended`.

use super::{Audience, DeviceKey, Frame, Hub, State};
use crate::protocol;
use opencalls_domain::direct_call::{CallRecord, DirectCallBody};
use opencalls_domain::{DirectCallId, DirectCallRole, Millis, UserId};
use opencalls_protocol::CallEvent;

impl State {
    /// Connected devices of `user`.
    fn connected_devices_of(&self, user: &UserId) -> Vec<DeviceKey> {
        self.keys_of(user)
            .into_iter()
            .filter(|key| self.devices.get(key).is_some_and(|d| d.conn.is_some()))
            .collect()
    }

    fn callee_devices(&self, record: &CallRecord) -> Vec<DeviceKey> {
        match record.call.side(DirectCallRole::Callee) {
            Some(callee) => self.connected_devices_of(&callee.user_id),
            None => Vec::new(),
        }
    }

    /// Both sides: the dialing device, and the accepting one (or, while the call rings,
    /// every device of the callee).
    fn both_sides(&self, record: &CallRecord) -> Vec<DeviceKey> {
        let mut targets = vec![record.caller_key()];
        match record.callee_key() {
            Some(callee) => targets.push(callee),
            None => targets.extend(self.callee_devices(record)),
        }
        targets
    }

    fn send_call(&self, id: &DirectCallId, targets: &[DeviceKey], text: &str) {
        for key in targets {
            let Some(conn) = self.devices.get(key).and_then(|d| d.conn.as_ref()) else {
                continue;
            };
            conn.send(Frame {
                audience: Audience::Call(id.clone()),
                text: text.to_owned(),
            });
        }
    }

    /// The call ended: no device holds it any more.
    fn release_call(&mut self, record: &CallRecord) {
        let id = &record.call.call_id;
        for key in std::iter::once(record.caller_key()).chain(record.callee_key()) {
            if let Some(device) = self.devices.get_mut(&key) {
                device.calls.remove(id);
                if device.conn.is_none() && device.holds_nothing() {
                    self.forget(&key);
                }
            }
        }
    }
}

impl Hub {
    /// Routes one committed direct-call event to the devices it concerns.
    pub(super) fn route_call(&self, record: &CallRecord, body: &DirectCallBody, at: Millis) {
        let id = &record.call.call_id;
        let event = protocol::call_event(record, body);
        let mut state = self.lock();
        let targets = match body {
            DirectCallBody::Dialed => state.callee_devices(record),
            DirectCallBody::Accepted => {
                let accepted = record.callee_key();
                let others: Vec<DeviceKey> = state
                    .callee_devices(record)
                    .into_iter()
                    .filter(|k| Some(k) != accepted.as_ref())
                    .collect();
                let call = Box::new(record.call.clone());
                let text = protocol::call_frame(id, at, CallEvent::OtherDeviceAccepted { call });
                state.send_call(id, &others, &text);
                vec![record.caller_key()]
            }
            DirectCallBody::MediaChanged { user_id } => {
                let mut targets = state.both_sides(record);
                targets.retain(|k| &k.user_id != user_id);
                targets
            }
            DirectCallBody::Connected
            | DirectCallBody::CustomItemsUpdated { .. }
            | DirectCallBody::CustomItemsDeleted { .. } => state.both_sides(record),
            DirectCallBody::Ended { by_device } => {
                let mut targets = state.both_sides(record);
                targets.retain(|k| Some(k) != by_device.as_ref());
                state.release_call(record);
                targets
            }
        };
        let text = protocol::call_frame(id, at, event);
        state.send_call(id, &targets, &text);
    }

    /// The device dialed or accepted `id`: it keeps the call across a dropped socket.
    pub fn hold_call(&self, key: &DeviceKey, id: &DirectCallId) {
        if let Some(device) = self.lock().devices.get_mut(key) {
            device.calls.insert(id.clone());
        }
    }

    /// Sends a call event (not stored: media) to the given devices.
    pub(crate) fn call_push(&self, id: &DirectCallId, targets: &[DeviceKey], text: String) {
        self.lock().send_call(id, targets, &text);
    }

    /// The device stayed away past the grace (or its session was revoked): every call it
    /// holds ends `connection_lost`.
    pub(super) async fn lose_calls(&self, key: &DeviceKey) {
        if let Err(err) = self.services.direct_calls.device_lost(key).await {
            tracing::debug!(user = %key.user_id, %err, "ending the calls of a lost device");
        }
    }
}
