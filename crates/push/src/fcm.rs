//! FCM HTTP v1: `POST {endpoint}/v1/projects/{project_id}/messages:send` with an OAuth
//! access token of the service account, obtained by exchanging a signed JWT assertion
//! (RS256, scope `firebase.messaging`) at the account's token endpoint and reused until a
//! minute before it expires. The ring is a high-priority data message (values are strings,
//! as FCM requires).

use crate::jwt::Rs256;
use crate::{Outcome, PushError, retry_after};
use serde_json::{Value, json};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::Mutex;

/// Google's endpoint.
pub const PRODUCTION: &str = "https://fcm.googleapis.com";
const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";

/// How this server reaches FCM: the fields of the service-account JSON it needs.
#[derive(Clone)]
pub struct FcmConfig {
    /// Base URL (no trailing slash); overridable for tests and proxies.
    pub endpoint: String,
    pub project_id: String,
    pub client_email: String,
    /// The account's `private_key` (PEM, PKCS #8 RSA).
    pub private_key_pem: String,
    /// The account's `token_uri`.
    pub token_uri: String,
}

impl std::fmt::Debug for FcmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FcmConfig")
            .field("endpoint", &self.endpoint)
            .field("project_id", &self.project_id)
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

impl FcmConfig {
    /// Reads a service-account JSON file's text; `endpoint` is where messages go.
    pub fn from_service_account(json: &str, endpoint: String) -> Result<Self, PushError> {
        let account: Value = serde_json::from_str(json)
            .map_err(|e| PushError::Config(format!("the service account is not JSON: {e}")))?;
        let field = |name: &str| {
            account[name]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| PushError::Config(format!("the service account lacks {name}")))
        };
        Ok(Self {
            endpoint,
            project_id: field("project_id")?,
            client_email: field("client_email")?,
            private_key_pem: field("private_key")?,
            token_uri: field("token_uri")?,
        })
    }
}

pub(crate) struct Fcm {
    config: FcmConfig,
    http: reqwest::Client,
    signer: Rs256,
    token: Mutex<Option<(String, Instant)>>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Data message values must be strings.
fn data_of(payload: &Value) -> Value {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    json!({
        "type": text(&payload["type"]),
        "call_id": text(&payload["call_id"]),
        "is_video_call": text(&payload["is_video_call"]),
        "caller_id": text(&payload["caller"]["user_id"]),
        "caller_nickname": text(&payload["caller"]["nickname"]),
        "started_at": text(&payload["started_at"]),
    })
}

impl Fcm {
    pub(crate) fn new(config: FcmConfig, http: reqwest::Client) -> Result<Self, PushError> {
        let signer = Rs256::from_pem(&config.private_key_pem)?;
        Ok(Self {
            config,
            http,
            signer,
            token: Mutex::new(None),
        })
    }

    /// A valid access token, fetched when the cached one is missing or about to expire.
    async fn access_token(&self) -> Result<String, String> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let now = unix_now();
        let header = json!({"alg": "RS256", "typ": "JWT"});
        let claims = json!({"iss": self.config.client_email, "scope": SCOPE,
            "aud": self.config.token_uri, "iat": now, "exp": now + 3600});
        let assertion = self
            .signer
            .sign(&header, &claims)
            .map_err(|e| e.to_string())?;
        let form = [
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion.as_str()),
        ];
        let response = self
            .http
            .post(&self.config.token_uri)
            .form(&form)
            .send()
            .await
            .map_err(|e| format!("token endpoint unreachable: {e}"))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let token = body["access_token"]
            .as_str()
            .filter(|_| status.is_success());
        let Some(token) = token else {
            return Err(format!("token endpoint answered {status}: {body}"));
        };
        let lifetime = body["expires_in"]
            .as_u64()
            .unwrap_or(3600)
            .saturating_sub(60);
        let until = Instant::now() + Duration::from_secs(lifetime);
        *cached = Some((token.to_owned(), until));
        Ok(token.to_owned())
    }

    pub(crate) async fn send(&self, device_token: &str, payload: &Value) -> Outcome {
        let access = match self.access_token().await {
            Ok(token) => token,
            Err(why) => return Outcome::Retry(None, why),
        };
        let url = format!(
            "{}/v1/projects/{}/messages:send",
            self.config.endpoint, self.config.project_id
        );
        let message = json!({"message": {
            "token": device_token,
            "data": data_of(payload),
            "android": {"priority": "high", "ttl": "60s"},
        }});
        let sent = self
            .http
            .post(url)
            .bearer_auth(&access)
            .json(&message)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(err) => return Outcome::Retry(None, format!("FCM unreachable: {err}")),
        };
        let status = response.status().as_u16();
        let after = retry_after(response.headers());
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let error_code = body["error"]["details"]
            .as_array()
            .into_iter()
            .flatten()
            .find_map(|d| d["errorCode"].as_str())
            .unwrap_or_else(|| body["error"]["status"].as_str().unwrap_or(""))
            .to_owned();
        match (status, error_code.as_str()) {
            (200, _) => Outcome::Delivered,
            (_, "UNREGISTERED") | (404, "NOT_FOUND") => {
                Outcome::InvalidToken(format!("FCM {status} {error_code}"))
            }
            (401, _) => {
                *self.token.lock().await = None;
                Outcome::Retry(None, format!("FCM {status} {error_code}"))
            }
            (429 | 500 | 503, _) => Outcome::Retry(after, format!("FCM {status} {error_code}")),
            _ => Outcome::Failed(format!("FCM {status} {error_code}")),
        }
    }
}
