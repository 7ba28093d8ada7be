//! Typed identifiers. Each id is an opaque, non-empty string; new ones are random UUIDs.
//! Separate types keep a room id from ever being passed where a participant id belongs.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The longest id accepted from outside (ids are URL path segments and index keys).
pub const MAX_ID_LEN: usize = 128;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// A fresh random id.
            pub fn generate() -> Self {
                Self(uuid::Uuid::new_v4().to_string())
            }

            /// Wraps an id received from outside; `None` when it is empty or too long.
            pub fn parse(raw: &str) -> Option<Self> {
                (!raw.is_empty() && raw.chars().count() <= MAX_ID_LEN).then(|| Self(raw.to_owned()))
            }

            /// Wraps an id read back from trusted storage.
            pub fn from_trusted(raw: String) -> Self {
                Self(raw)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// Identifies a group-call room.
    RoomId
);
string_id!(
    /// Identifies one device's participation in a room (a user on two devices has two).
    ParticipantId
);
string_id!(
    /// Identifies an application user.
    UserId
);
string_id!(
    /// Identifies a client device or browser tab.
    ClientId
);

string_id!(
    /// Identifies a live event.
    LiveEventId
);
string_id!(
    /// Identifies one host's stay in a live event (each entry of a host gets a new one).
    HostId
);
string_id!(
    /// Identifies a direct (1:1) call.
    DirectCallId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_rejects_empty_and_overlong_ids() {
        assert!(RoomId::parse("").is_none());
        assert!(RoomId::parse(&"x".repeat(MAX_ID_LEN + 1)).is_none());
        assert_eq!(
            RoomId::parse(&"x".repeat(MAX_ID_LEN))
                .unwrap()
                .as_str()
                .len(),
            MAX_ID_LEN
        );
    }

    #[test]
    fn generated_ids_differ() {
        assert_ne!(RoomId::generate(), RoomId::generate());
    }
}
