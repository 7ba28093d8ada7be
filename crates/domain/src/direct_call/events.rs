//! Webhook categories and payloads of direct-call events (`direct_call:<verb>`).
//!
//! The payload follows the spec sheet (§5): a `direct_call` object with `call_id`,
//! `caller_id`, `callee_id`, `created_at`, `is_video_call` and, here, every other field of
//! the resource (`end_result`, `ended_by`, `ended_at`, `duration`, …); plus `occured_at`
//! (sic), which receivers written for the hosted service read beside `occurred_at`.

use super::machine::DirectCallBody;
use super::{DirectCall, DirectCallRole};
use crate::Millis;
use serde_json::{Value, json};

impl DirectCallBody {
    /// The stable wire name (webhook category). `dial`, `accept` and `end` are the hosted
    /// service's; the others are OpenCalls' own.
    pub fn category(&self) -> &'static str {
        match self {
            Self::Dialed => "direct_call:dial",
            Self::Accepted => "direct_call:accept",
            Self::Ended { .. } => "direct_call:end",
            Self::Connected => "direct_call:connect",
            Self::MediaChanged { .. } => "direct_call:media_change",
            Self::CustomItemsUpdated { .. } => "direct_call:custom_items_update",
            Self::CustomItemsDeleted { .. } => "direct_call:custom_items_delete",
        }
    }

    /// `{"direct_call": {...}, "occured_at": …}` plus what changed.
    pub fn payload(&self, call: &DirectCall, occurred_at: Millis) -> Value {
        let mut object = serde_json::to_value(call).unwrap_or(Value::Null);
        if let Value::Object(map) = &mut object {
            let id_of = |role| call.side(role).map(|p| p.user_id.to_string());
            map.insert("caller_id".into(), json!(id_of(DirectCallRole::Caller)));
            map.insert("callee_id".into(), json!(id_of(DirectCallRole::Callee)));
            map.insert("created_at".into(), json!(call.started_at));
        }
        let mut payload = json!({ "direct_call": object, "occured_at": occurred_at });
        match self {
            Self::MediaChanged { user_id } => payload["user_id"] = json!(user_id),
            Self::CustomItemsUpdated { updated } => payload["updated"] = json!(updated),
            Self::CustomItemsDeleted { deleted } => payload["deleted"] = json!(deleted),
            Self::Dialed | Self::Accepted | Self::Connected | Self::Ended { .. } => {}
        }
        payload
    }
}
