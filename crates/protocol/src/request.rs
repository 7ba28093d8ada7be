//! Requests (client → server): `{"id", "type", ...params}`.
//!
//! [`parse_request`] reads the envelope (`id`, then `type`) and [`Envelope::decode`] the
//! parameters, through the `type`-tagged [`Request`] enum. Parameters a request requires are
//! still `Option`s here: a missing one is the handler's 400111 naming the field, which serde
//! alone could not give. Unknown parameters are ignored (forward compatibility); `null` reads
//! as absent.

use crate::error::FrameError;
use crate::ids::RequestId;
use crate::response::{
    CallResult, ChatSent, HostResult, LayerHintSet, LiveEntered, LiveEventResult, LiveMember,
    OfferAnswer, Pong, RoomEntered, RoomExited, RoomMediaSet,
};
use opencalls_domain::{DirectCallId, LiveEventId, ParticipantId, RoomId, UserId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A request's parameters, by `type`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type")]
pub enum Request {
    #[serde(rename = "ping")]
    Ping(Ping),
    #[serde(rename = "room.enter")]
    RoomEnter(RoomEnter),
    #[serde(rename = "room.exit")]
    RoomExit(RoomExit),
    #[serde(rename = "room.set_media")]
    RoomSetMedia(RoomSetMedia),
    #[serde(rename = "media.offer")]
    MediaOffer(MediaOffer),
    #[serde(rename = "media.set_layer_hint")]
    MediaSetLayerHint(MediaSetLayerHint),
    #[serde(rename = "live.enter")]
    LiveEnter(LiveEnter),
    #[serde(rename = "live.exit")]
    LiveExit(LiveExit),
    #[serde(rename = "live.set_ready")]
    LiveSetReady(LiveSetReady),
    #[serde(rename = "live.start")]
    LiveStart(LiveStart),
    #[serde(rename = "live.end")]
    LiveEnd(LiveEnd),
    #[serde(rename = "live.set_media")]
    LiveSetMedia(LiveSetMedia),
    #[serde(rename = "live.chat")]
    LiveChat(LiveChat),
    #[serde(rename = "call.dial")]
    CallDial(CallDial),
    #[serde(rename = "call.accept")]
    CallAccept(CallAccept),
    #[serde(rename = "call.decline")]
    CallDecline(CallDecline),
    #[serde(rename = "call.cancel")]
    CallCancel(CallCancel),
    #[serde(rename = "call.end")]
    CallEnd(CallEnd),
    #[serde(rename = "call.set_media")]
    CallSetMedia(CallSetMedia),
}

/// The `type` of a request, without its parameters (metric labels, size limits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum RequestKind {
    #[serde(rename = "ping")]
    Ping,
    #[serde(rename = "room.enter")]
    RoomEnter,
    #[serde(rename = "room.exit")]
    RoomExit,
    #[serde(rename = "room.set_media")]
    RoomSetMedia,
    #[serde(rename = "media.offer")]
    MediaOffer,
    #[serde(rename = "media.set_layer_hint")]
    MediaSetLayerHint,
    #[serde(rename = "live.enter")]
    LiveEnter,
    #[serde(rename = "live.exit")]
    LiveExit,
    #[serde(rename = "live.set_ready")]
    LiveSetReady,
    #[serde(rename = "live.start")]
    LiveStart,
    #[serde(rename = "live.end")]
    LiveEnd,
    #[serde(rename = "live.set_media")]
    LiveSetMedia,
    #[serde(rename = "live.chat")]
    LiveChat,
    #[serde(rename = "call.dial")]
    CallDial,
    #[serde(rename = "call.accept")]
    CallAccept,
    #[serde(rename = "call.decline")]
    CallDecline,
    #[serde(rename = "call.cancel")]
    CallCancel,
    #[serde(rename = "call.end")]
    CallEnd,
    #[serde(rename = "call.set_media")]
    CallSetMedia,
}

impl RequestKind {
    /// The wire name (`room.enter`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ping => "ping",
            Self::RoomEnter => "room.enter",
            Self::RoomExit => "room.exit",
            Self::RoomSetMedia => "room.set_media",
            Self::MediaOffer => "media.offer",
            Self::MediaSetLayerHint => "media.set_layer_hint",
            Self::LiveEnter => "live.enter",
            Self::LiveExit => "live.exit",
            Self::LiveSetReady => "live.set_ready",
            Self::LiveStart => "live.start",
            Self::LiveEnd => "live.end",
            Self::LiveSetMedia => "live.set_media",
            Self::LiveChat => "live.chat",
            Self::CallDial => "call.dial",
            Self::CallAccept => "call.accept",
            Self::CallDecline => "call.decline",
            Self::CallCancel => "call.cancel",
            Self::CallEnd => "call.end",
            Self::CallSetMedia => "call.set_media",
        }
    }

    /// The kind named `name` on the wire, if this version knows it.
    pub fn from_wire(name: &str) -> Option<Self> {
        Self::deserialize(serde::de::value::StrDeserializer::<serde::de::value::Error>::new(name))
            .ok()
    }
}

impl Request {
    pub fn kind(&self) -> RequestKind {
        match self {
            Self::Ping(_) => RequestKind::Ping,
            Self::RoomEnter(_) => RequestKind::RoomEnter,
            Self::RoomExit(_) => RequestKind::RoomExit,
            Self::RoomSetMedia(_) => RequestKind::RoomSetMedia,
            Self::MediaOffer(_) => RequestKind::MediaOffer,
            Self::MediaSetLayerHint(_) => RequestKind::MediaSetLayerHint,
            Self::LiveEnter(_) => RequestKind::LiveEnter,
            Self::LiveExit(_) => RequestKind::LiveExit,
            Self::LiveSetReady(_) => RequestKind::LiveSetReady,
            Self::LiveStart(_) => RequestKind::LiveStart,
            Self::LiveEnd(_) => RequestKind::LiveEnd,
            Self::LiveSetMedia(_) => RequestKind::LiveSetMedia,
            Self::LiveChat(_) => RequestKind::LiveChat,
            Self::CallDial(_) => RequestKind::CallDial,
            Self::CallAccept(_) => RequestKind::CallAccept,
            Self::CallDecline(_) => RequestKind::CallDecline,
            Self::CallCancel(_) => RequestKind::CallCancel,
            Self::CallEnd(_) => RequestKind::CallEnd,
            Self::CallSetMedia(_) => RequestKind::CallSetMedia,
        }
    }
}

/// A request type with its answer's type: lets a client send typed parameters and get a
/// typed result.
pub trait Call: Into<Request> {
    /// The `result` of the response.
    type Output: DeserializeOwned;
}

macro_rules! call {
    ($params:ident => $output:ty) => {
        impl From<$params> for Request {
            fn from(params: $params) -> Self {
                Request::$params(params)
            }
        }
        impl Call for $params {
            type Output = $output;
        }
    };
}

/// `ping`: no parameters; the result is `{}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Ping {}
call!(Ping => Pong);

/// `room.enter`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RoomEnter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_id: Option<RoomId>,
    /// Default `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_audio_on: Option<bool>,
    /// Default `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_video_on: Option<bool>,
}
call!(RoomEnter => RoomEntered);

/// `room.exit`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RoomExit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_id: Option<RoomId>,
}
call!(RoomExit => RoomExited);

/// `room.set_media`: at least one of the flags.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RoomSetMedia {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_id: Option<RoomId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_audio_on: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_video_on: Option<bool>,
}
call!(RoomSetMedia => RoomMediaSet);

/// `media.offer`: `room_id` (with an optional `participant_id` that must be the caller's),
/// `live_event_id` or `call_id`, plus the SDP offer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MediaOffer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_id: Option<RoomId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_event_id: Option<LiveEventId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant_id: Option<ParticipantId>,
    /// A direct call this device dialed or accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<DirectCallId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp: Option<String>,
}
call!(MediaOffer => OfferAnswer);

/// `media.set_layer_hint`: the media session (`room_id`, `live_event_id` or `call_id`, as
/// in `media.offer`), the video receive slot `mid`, and the tallest video worth sending
/// to it (`max_height` in pixels; absent or `null` = no cap). Simulcast publishers' video
/// in that slot is then capped at the tallest layer within it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MediaSetLayerHint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room_id: Option<RoomId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_event_id: Option<LiveEventId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<DirectCallId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_height: Option<u32>,
}
call!(MediaSetLayerHint => LayerHintSet);

/// What a device is in a live event, as named on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LiveRoleName {
    Host,
    Participant,
}

/// `live.enter`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LiveEnter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_event_id: Option<LiveEventId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<LiveRoleName>,
    /// Host only; default `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_audio_on: Option<bool>,
    /// Host only; default `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_video_on: Option<bool>,
}
call!(LiveEnter => LiveEntered);

macro_rules! live_action {
    ($(#[$doc:meta])* $name:ident => $output:ty) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        pub struct $name {
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub live_event_id: Option<LiveEventId>,
        }
        call!($name => $output);
    };
}

live_action!(
    /// `live.exit`: the result names the host or participant that exited.
    LiveExit => LiveMember
);
live_action!(
    /// `live.set_ready` (the present host).
    LiveSetReady => LiveEventResult
);
live_action!(
    /// `live.start` (the present host).
    LiveStart => LiveEventResult
);
live_action!(
    /// `live.end` (the present host): everyone is forced out.
    LiveEnd => LiveEventResult
);

/// `live.set_media` (the present host): at least one of the flags.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LiveSetMedia {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_event_id: Option<LiveEventId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_audio_on: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_video_on: Option<bool>,
}
call!(LiveSetMedia => HostResult);

/// `live.chat`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LiveChat {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_event_id: Option<LiveEventId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}
call!(LiveChat => ChatSent);

/// `call.dial`: ring every device of `callee_id`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CallDial {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callee_id: Option<UserId>,
    /// Default `false`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_video_call: Option<bool>,
    /// The caller's initial audio; default `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_audio_on: Option<bool>,
    /// The caller's initial video; default `is_video_call`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_video_on: Option<bool>,
    /// Validated like the Platform API's custom items (at most 10, 128 characters, no comma
    /// in a key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(type = "Record<string, string> | null", optional))]
    pub custom_items: Option<BTreeMap<String, String>>,
}
call!(CallDial => CallResult);

/// `call.accept` (a ringing device of the callee): the first accept wins.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CallAccept {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<DirectCallId>,
    /// Default `true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_audio_on: Option<bool>,
    /// Default: the call's `is_video_call`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_video_on: Option<bool>,
}
call!(CallAccept => CallResult);

macro_rules! call_action {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        pub struct $name {
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub call_id: Option<DirectCallId>,
        }
        call!($name => CallResult);
    };
}

call_action!(
    /// `call.decline` (a ringing device of the callee): ends the call `declined`.
    CallDecline
);
call_action!(
    /// `call.cancel` (the caller, before an answer): ends the call `canceled`.
    CallCancel
);
call_action!(
    /// `call.end` (either side, any time): `completed` once accepted; before that the
    /// caller's end is a cancel and the callee's a decline.
    CallEnd
);

/// `call.set_media` (either side of an ongoing call): at least one of the flags.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CallSetMedia {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<DirectCallId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_audio_on: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_video_on: Option<bool>,
}
call!(CallSetMedia => CallResult);

/// A request frame whose `id` and `type` were read; its parameters are decoded on demand.
#[derive(Debug)]
pub struct Envelope {
    pub id: RequestId,
    kind: String,
    params: Map<String, Value>,
}

impl Envelope {
    /// The request's type, if this version knows it.
    pub fn kind(&self) -> Option<RequestKind> {
        RequestKind::from_wire(&self.kind)
    }

    /// The typed request, or why not (an unknown type, bad parameters).
    pub fn decode(self) -> Result<Request, FrameError> {
        if self.kind().is_none() {
            return Err(FrameError::UnknownType(self.kind));
        }
        let mut fields = self.params;
        fields.insert("type".to_owned(), Value::String(self.kind));
        serde_json::from_value(Value::Object(fields))
            .map_err(|e| FrameError::InvalidParams(e.to_string()))
    }
}

/// Reads a text frame's envelope, or says why it is not a request (with its id when the
/// frame carried a valid one, so the error can name the request).
pub fn parse_request(
    text: &str,
    max_bytes: usize,
) -> Result<Envelope, (Option<RequestId>, FrameError)> {
    if text.len() > max_bytes {
        return Err((None, FrameError::TooLong { max: max_bytes }));
    }
    let value: Value =
        serde_json::from_str(text).map_err(|e| (None, FrameError::NotJson(e.to_string())))?;
    let Value::Object(mut fields) = value else {
        return Err((None, FrameError::NotObject));
    };
    let id = match fields.remove("id") {
        Some(Value::String(id)) => RequestId::parse(&id).ok_or((None, FrameError::BadId))?,
        Some(_) => return Err((None, FrameError::BadId)),
        None => return Err((None, FrameError::MissingId)),
    };
    let kind = match fields.remove("type") {
        Some(Value::String(kind)) => kind,
        Some(_) => return Err((Some(id), FrameError::BadType)),
        None => return Err((Some(id), FrameError::MissingType)),
    };
    Ok(Envelope {
        id,
        kind,
        params: fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn requests_parse_or_explain_why_not() {
        let ok = parse_request(r#"{"id":"7","type":"room.exit","room_id":"r"}"#, 1024).unwrap();
        assert_eq!(ok.id.as_str(), "7");
        assert_eq!(ok.kind(), Some(RequestKind::RoomExit));
        let room_id = RoomId::parse("r");
        assert_eq!(ok.decode(), Ok(Request::RoomExit(RoomExit { room_id })));
        let code_of = |text: &str| parse_request(text, 64).unwrap_err().1.code();
        assert_eq!(code_of("{"), ErrorCode::InvalidParameter);
        assert_eq!(code_of(r#"{"type":"ping"}"#), ErrorCode::MissingParameter);
        assert_eq!(code_of(r#"{"id":"1"}"#), ErrorCode::MissingParameter);
        let long = format!(r#"{{"id":"{}","type":"ping"}}"#, "i".repeat(65));
        assert_eq!(code_of(&long), ErrorCode::InvalidParameter);
        assert_eq!(code_of(&" ".repeat(65)), ErrorCode::InvalidParameter);
        let (id, _) = parse_request(r#"{"id":"9","type":3}"#, 64).unwrap_err();
        assert_eq!(id.as_ref().map(RequestId::as_str), Some("9"));
    }

    #[test]
    fn unknown_types_and_bad_parameters_are_told_apart() {
        let decode = |text: &str| parse_request(text, 1024).unwrap().decode().unwrap_err();
        assert_eq!(
            decode(r#"{"id":"1","type":"room.dance"}"#),
            FrameError::UnknownType("room.dance".into())
        );
        let bad = decode(r#"{"id":"1","type":"room.enter","room_id":7}"#);
        assert!(matches!(bad, FrameError::InvalidParams(_)), "{bad:?}");
        let ok = parse_request(
            r#"{"id":"1","type":"room.enter","x":1,"is_audio_on":null}"#,
            99,
        );
        assert_eq!(
            ok.unwrap().decode(),
            Ok(Request::RoomEnter(RoomEnter::default()))
        );
    }
}
