//! Direct calls (docs/protocol.md §12) from the Rust client: dial, accept, decline, cancel,
//! end and media toggles, each returning the call as the server has it right after.

use crate::{Client, ClientError, wire_id};
use opencalls_domain::{DirectCall, DirectCallId, UserId};
use opencalls_protocol::request::{
    CallAccept, CallCancel, CallDecline, CallDial, CallEnd, CallSetMedia,
};

/// How a call is dialed.
#[derive(Clone, Debug, Default)]
pub struct DialOptions {
    pub is_video_call: bool,
    /// The caller's initial audio (`None`: on).
    pub audio: Option<bool>,
    /// The caller's initial video (`None`: as `is_video_call`).
    pub video: Option<bool>,
    pub custom_items: Option<std::collections::BTreeMap<String, String>>,
}

fn call_id(raw: &str) -> Option<DirectCallId> {
    Some(wire_id(raw, DirectCallId::from_trusted))
}

impl Client {
    /// Rings every connected device of `callee`; returns the ringing call.
    pub async fn dial(
        &self,
        callee: &str,
        options: DialOptions,
    ) -> Result<DirectCall, ClientError> {
        let params = CallDial {
            callee_id: Some(wire_id(callee, UserId::from_trusted)),
            is_video_call: Some(options.is_video_call),
            is_audio_on: options.audio,
            is_video_on: options.video,
            custom_items: options.custom_items,
        };
        Ok(self.call(params).await?.call)
    }

    /// Accepts a ringing call on this device (the first accept wins).
    pub async fn accept(
        &self,
        call: &str,
        audio: Option<bool>,
        video: Option<bool>,
    ) -> Result<DirectCall, ClientError> {
        let params = CallAccept {
            call_id: call_id(call),
            is_audio_on: audio,
            is_video_on: video,
        };
        Ok(self.call(params).await?.call)
    }

    pub async fn decline(&self, call: &str) -> Result<DirectCall, ClientError> {
        Ok(self
            .call(CallDecline {
                call_id: call_id(call),
            })
            .await?
            .call)
    }

    pub async fn cancel(&self, call: &str) -> Result<DirectCall, ClientError> {
        Ok(self
            .call(CallCancel {
                call_id: call_id(call),
            })
            .await?
            .call)
    }

    /// Hangs up (a cancel or a decline before the accept).
    pub async fn end_call(&self, call: &str) -> Result<DirectCall, ClientError> {
        Ok(self
            .call(CallEnd {
                call_id: call_id(call),
            })
            .await?
            .call)
    }

    /// Turns this side's audio and/or video on or off (`None` leaves it as is).
    pub async fn call_set_media(
        &self,
        call: &str,
        audio: Option<bool>,
        video: Option<bool>,
    ) -> Result<DirectCall, ClientError> {
        let params = CallSetMedia {
            call_id: call_id(call),
            is_audio_on: audio,
            is_video_on: video,
        };
        Ok(self.call(params).await?.call)
    }
}
