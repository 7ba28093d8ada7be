//! Opaque pagination cursors.
//!
//! A cursor names a position in one listing (`kind`) and a direction; it encodes the
//! insertion sequence of the row at the page edge, so pages stay stable while rows are
//! added. Clients must treat it as opaque; anything that doesn't decode is `InvalidCursor`.

use crate::StoreError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Which listing a cursor belongs to; a cursor of one listing is refused by another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CursorKind {
    Rooms,
    RoomParticipants,
    LiveEvents,
    LiveEventParticipants,
    Users,
    WebhookDeliveries,
    DirectCalls,
}

impl CursorKind {
    fn tag(self) -> &'static str {
        match self {
            Self::Rooms => "r",
            Self::RoomParticipants => "rp",
            Self::LiveEvents => "l",
            Self::LiveEventParticipants => "lp",
            Self::Users => "u",
            Self::WebhookDeliveries => "wd",
            Self::DirectCalls => "dc",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Older rows than `seq` (the `next` page).
    Next,
    /// Newer rows than `seq` (the `prev` page).
    Prev,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub direction: Direction,
    pub seq: i64,
}

impl Cursor {
    pub fn encode(self, kind: CursorKind) -> String {
        let dir = match self.direction {
            Direction::Next => "n",
            Direction::Prev => "p",
        };
        URL_SAFE_NO_PAD.encode(format!("v1:{}:{dir}:{}", kind.tag(), self.seq))
    }

    pub fn decode(raw: &str, kind: CursorKind) -> Result<Self, StoreError> {
        if raw.len() > 128 {
            return Err(StoreError::InvalidCursor);
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(raw.trim_end_matches('='))
            .map_err(|_| StoreError::InvalidCursor)?;
        let text = String::from_utf8(bytes).map_err(|_| StoreError::InvalidCursor)?;
        let mut parts = text.split(':');
        let (Some("v1"), Some(tag), Some(dir), Some(seq), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(StoreError::InvalidCursor);
        };
        if tag != kind.tag() {
            return Err(StoreError::InvalidCursor);
        }
        let direction = match dir {
            "n" => Direction::Next,
            "p" => Direction::Prev,
            _ => return Err(StoreError::InvalidCursor),
        };
        let seq = seq.parse().map_err(|_| StoreError::InvalidCursor)?;
        Ok(Self { direction, seq })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let cursor = Cursor {
            direction: Direction::Prev,
            seq: 42,
        };
        let raw = cursor.encode(CursorKind::Rooms);
        assert_eq!(Cursor::decode(&raw, CursorKind::Rooms).unwrap(), cursor);
    }

    #[test]
    fn garbage_and_foreign_cursors_are_refused() {
        for raw in ["", "!!!", "djE6cjpuOg", "abc", &"a".repeat(500)] {
            assert!(Cursor::decode(raw, CursorKind::Rooms).is_err(), "{raw}");
        }
        let other = Cursor {
            direction: Direction::Next,
            seq: 1,
        }
        .encode(CursorKind::Users);
        assert!(Cursor::decode(&other, CursorKind::Rooms).is_err());
    }
}
