//! APNs: `POST {endpoint}/3/device/{token}` over HTTP/2 with a provider token (ES256 JWT
//! signed with the team's `.p8` key), `apns-push-type: voip` and `apns-topic:
//! <bundle id>.voip`, as Apple requires for PushKit VoIP pushes. The provider token is
//! reused for 30 minutes (Apple refuses tokens older than an hour and throttles ones
//! refreshed more often than every 20 minutes).

use crate::jwt::Es256;
use crate::{Outcome, PushError, retry_after};
use serde_json::{Value, json};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Apple's production endpoint (`https://api.sandbox.push.apple.com` for development builds).
pub const PRODUCTION: &str = "https://api.push.apple.com";
const TOKEN_REUSE: Duration = Duration::from_secs(30 * 60);

/// How this server reaches APNs.
#[derive(Clone)]
pub struct ApnsConfig {
    /// Base URL (no trailing slash); overridable for tests and proxies.
    pub endpoint: String,
    /// The `.p8` key's PEM text (PKCS #8, P-256).
    pub key_pem: String,
    pub key_id: String,
    pub team_id: String,
    /// The app's bundle id; pushes go to the `<bundle id>.voip` topic.
    pub bundle_id: String,
}

impl std::fmt::Debug for ApnsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApnsConfig")
            .field("endpoint", &self.endpoint)
            .field("key_id", &self.key_id)
            .field("team_id", &self.team_id)
            .field("bundle_id", &self.bundle_id)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Apns {
    config: ApnsConfig,
    http: reqwest::Client,
    signer: Es256,
    token: Mutex<Option<(String, Instant)>>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Apns {
    pub(crate) fn new(config: ApnsConfig, http: reqwest::Client) -> Result<Self, PushError> {
        let signer = Es256::from_pem(&config.key_pem)?;
        Ok(Self {
            config,
            http,
            signer,
            token: Mutex::new(None),
        })
    }

    fn provider_token(&self) -> Result<String, PushError> {
        let mut cached = self.token.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((token, at)) = cached.as_ref()
            && at.elapsed() < TOKEN_REUSE
        {
            return Ok(token.clone());
        }
        let header = json!({"alg": "ES256", "kid": self.config.key_id});
        let claims = json!({"iss": self.config.team_id, "iat": unix_now()});
        let token = self.signer.sign(&header, &claims)?;
        *cached = Some((token.clone(), Instant::now()));
        Ok(token)
    }

    fn forget_token(&self) {
        *self.token.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    pub(crate) async fn send(&self, device_token: &str, payload: &Value) -> Outcome {
        let jwt = match self.provider_token() {
            Ok(jwt) => jwt,
            Err(err) => return Outcome::Failed(err.to_string()),
        };
        let url = format!("{}/3/device/{device_token}", self.config.endpoint);
        let sent = self
            .http
            .post(url)
            .header("authorization", format!("bearer {jwt}"))
            .header("apns-topic", format!("{}.voip", self.config.bundle_id))
            .header("apns-push-type", "voip")
            .header("apns-priority", "10")
            .header("apns-expiration", "0")
            .json(payload)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(err) => return Outcome::Retry(None, format!("APNs unreachable: {err}")),
        };
        let status = response.status().as_u16();
        let after = retry_after(response.headers());
        let reason = response
            .json::<Value>()
            .await
            .ok()
            .and_then(|b| b["reason"].as_str().map(str::to_owned))
            .unwrap_or_default();
        match (status, reason.as_str()) {
            (200, _) => Outcome::Delivered,
            (410, _) | (400, "BadDeviceToken" | "DeviceTokenNotForTopic") => {
                Outcome::InvalidToken(format!("APNs {status} {reason}"))
            }
            (403, "ExpiredProviderToken" | "InvalidProviderToken") => {
                self.forget_token();
                Outcome::Retry(None, format!("APNs {status} {reason}"))
            }
            (429 | 500 | 503, _) => Outcome::Retry(after, format!("APNs {status} {reason}")),
            _ => Outcome::Failed(format!("APNs {status} {reason}")),
        }
    }
}
