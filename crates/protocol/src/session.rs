//! The session exchange over HTTP (`POST /v1/auth/session`): an access token for a
//! short-lived session token, which opens the WebSocket.

use opencalls_domain::{Millis, User, UserId};
use serde::{Deserialize, Serialize};

/// The request body. Both fields are required (400111 names a missing one).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct OpenSession {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
}

/// The 200 answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SessionOpened {
    pub user_id: UserId,
    pub session_token: String,
    pub expires_at: Option<Millis>,
    pub user: User,
}

/// The body of a refusal over HTTP (the Platform API's error shape): `{"error": true,
/// "code", "message"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct HttpErrorBody {
    pub error: bool,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub code: crate::ErrorCode,
    pub message: String,
}

impl From<crate::WireError> for HttpErrorBody {
    fn from(err: crate::WireError) -> Self {
        Self {
            error: true,
            code: err.code,
            message: err.message,
        }
    }
}
