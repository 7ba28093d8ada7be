//! Event streams: the resource a domain event belongs to.
//!
//! Events of one stream are delivered to webhook receivers strictly in commit order; events
//! of different streams are independent. A [`StreamKey`] names a stream by the typed id of
//! its resource. Its text form (`room:<id>`, `live_event:<id>`, `direct_call:<id>`) is what the outbox stores and
//! the delivery log shows; [`StreamKey::encode`] and [`StreamKey::decode`] are the only
//! places that spell it.

use crate::{DirectCallId, LiveEventId, RoomId};
use std::fmt;

/// The resource whose events form one ordered stream.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StreamKey {
    Room(RoomId),
    LiveEvent(LiveEventId),
    DirectCall(DirectCallId),
}

const ROOM_PREFIX: &str = "room:";
const LIVE_EVENT_PREFIX: &str = "live_event:";
const DIRECT_CALL_PREFIX: &str = "direct_call:";

impl StreamKey {
    /// The text form: `room:<id>` or `live_event:<id>`.
    pub fn encode(&self) -> String {
        self.to_string()
    }

    /// Reads back the text form written by [`Self::encode`] (from trusted storage); `None`
    /// for anything else.
    pub fn decode(raw: &str) -> Option<Self> {
        let non_empty = |id: &str| (!id.is_empty()).then(|| id.to_owned());
        if let Some(id) = raw.strip_prefix(ROOM_PREFIX) {
            return non_empty(id).map(|id| Self::Room(RoomId::from_trusted(id)));
        }
        if let Some(id) = raw.strip_prefix(DIRECT_CALL_PREFIX) {
            return non_empty(id).map(|id| Self::DirectCall(DirectCallId::from_trusted(id)));
        }
        let id = raw.strip_prefix(LIVE_EVENT_PREFIX)?;
        non_empty(id).map(|id| Self::LiveEvent(LiveEventId::from_trusted(id)))
    }
}

impl fmt::Display for StreamKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Room(id) => write!(f, "{ROOM_PREFIX}{id}"),
            Self::LiveEvent(id) => write!(f, "{LIVE_EVENT_PREFIX}{id}"),
            Self::DirectCall(id) => write!(f, "{DIRECT_CALL_PREFIX}{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips_and_keeps_colons_inside_ids() {
        let keys = [
            StreamKey::Room(RoomId::parse("r-1").unwrap()),
            StreamKey::LiveEvent(LiveEventId::parse("a:b").unwrap()),
            StreamKey::DirectCall(DirectCallId::parse("c").unwrap()),
        ];
        assert_eq!(keys[0].encode(), "room:r-1");
        assert_eq!(keys[1].encode(), "live_event:a:b");
        for key in keys {
            assert_eq!(StreamKey::decode(&key.encode()), Some(key));
        }
    }

    #[test]
    fn foreign_text_is_refused() {
        for raw in ["", "room:", "live_event:", "user:u", "room", "rooms:x"] {
            assert_eq!(StreamKey::decode(raw), None, "{raw}");
        }
    }
}
