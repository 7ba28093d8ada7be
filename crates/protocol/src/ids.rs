//! Ids that exist only on the wire: a request's id (chosen by the client, echoed in its
//! answer) and a chat message's id (chat is relayed, never stored).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Names one request of a connection; its answer carries the same id. 1 to
/// [`crate::MAX_REQUEST_ID_CHARS`] characters (checked by [`crate::parse_request`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RequestId(String);

impl RequestId {
    /// Wraps a client-chosen id; `None` when it is empty or too long.
    pub fn parse(raw: &str) -> Option<Self> {
        let chars = raw.chars().count();
        (chars > 0 && chars <= crate::MAX_REQUEST_ID_CHARS).then(|| Self(raw.to_owned()))
    }

    /// The n-th id of a client that numbers its requests.
    pub fn numbered(n: u64) -> Self {
        Self(n.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Identifies one relayed chat message.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MessageId(String);

impl MessageId {
    /// A fresh random id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}
