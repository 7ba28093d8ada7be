//! A typed client of the Platform API (`/v1/...` with the master `Api-Token`), shared by
//! the end-to-end tests, the crash tests and the load generators: typed requests and the
//! typed parts of responses the callers read, plus [`PlatformApi::call`] for tests that
//! assert on the exact JSON (status and body as the server sent them).

use opencalls_client::{Client, ClientError, open_session};
use opencalls_domain::{LiveEventId, RoomId, RoomType, UserId};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// An answer as the server sent it: HTTP status and JSON body (a body that is not JSON
/// becomes a JSON string).
pub type Reply = (u16, Value);

/// Why a typed call failed.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    #[error("request failed: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("{path}: refused with {status}: {body}")]
    Refused {
        path: String,
        status: u16,
        body: Value,
    },
    #[error("{path}: unexpected answer {body}: {source}")]
    Shape {
        path: String,
        body: Value,
        source: serde_json::Error,
    },
    #[error("client protocol: {0}")]
    Client(#[from] ClientError),
}

/// `POST /v1/rooms`.
#[derive(Clone, Debug, Serialize)]
pub struct NewRoom {
    #[serde(rename = "type")]
    pub room_type: RoomType,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_items: BTreeMap<String, String>,
}

impl NewRoom {
    /// A room of `room_type` without custom items.
    pub fn of(room_type: RoomType) -> Self {
        Self {
            room_type,
            custom_items: BTreeMap::new(),
        }
    }
}

/// The fields of a room resource that callers read.
#[derive(Clone, Debug, Deserialize)]
pub struct Room {
    pub room_id: RoomId,
    pub room_type: RoomType,
    pub state: String,
    pub created_at: i64,
    pub current_participants: Vec<Value>,
    pub custom_items: BTreeMap<String, String>,
}

/// One page of `GET /v1/rooms`.
#[derive(Clone, Debug, Deserialize)]
pub struct RoomPage {
    pub rooms: Vec<Room>,
    pub next: Option<String>,
    pub prev: Option<String>,
}

/// The fields of a live event resource that callers read.
#[derive(Clone, Debug, Deserialize)]
pub struct LiveEvent {
    pub live_event_id: LiveEventId,
    pub state: String,
    pub participant_count: i64,
    pub is_host_streaming: bool,
}

/// A state change of a live event through the Platform API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiveAction {
    Ready,
    Start,
    End,
}

/// A user created with an access token.
#[derive(Clone, Debug, Deserialize)]
pub struct IssuedUser {
    pub user_id: UserId,
    pub access_token: String,
}

/// `PUT /v1/applications/opencalls/settings/webhook`: absent fields keep their value.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WebhookSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled_events: Option<Vec<String>>,
}

impl WebhookSettings {
    /// Enabled, sending `events` (`["*"]` for all) to `url`.
    pub fn to(url: &str, events: &[&str]) -> Self {
        Self {
            enabled: Some(true),
            url: Some(url.to_owned()),
            enabled_events: Some(events.iter().map(|e| (*e).to_owned()).collect()),
        }
    }

    /// Disabled, everything else kept.
    pub fn disabled() -> Self {
        Self {
            enabled: Some(false),
            ..Self::default()
        }
    }
}

/// Where the webhook settings and delivery log live.
pub const WEBHOOK_SETTINGS: &str = "/v1/applications/opencalls/settings/webhook";
pub const WEBHOOK_DELIVERIES: &str = "/v1/applications/opencalls/webhook/deliveries";

/// A Platform API client for one server and master token. Cheap to clone (one connection
/// pool).
#[derive(Clone, Debug)]
pub struct PlatformApi {
    base: String,
    token: String,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct RoomBody {
    room: Room,
}

#[derive(Deserialize)]
struct LiveEventBody {
    live_event: LiveEvent,
}

#[derive(Deserialize)]
struct Deliveries {
    deliveries: Vec<Value>,
}

impl PlatformApi {
    /// A client of the server at `base` (`http://host:port`) with the master `token`.
    pub fn new(base: impl Into<String>, token: impl Into<String>) -> Self {
        Self {
            base: base.into(),
            token: token.into(),
            http: reqwest::Client::new(),
        }
    }

    /// `http://host:port` of the server.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `ws://host:port` of the client protocol.
    pub fn ws_base(&self) -> String {
        self.base.replacen("http", "ws", 1)
    }

    /// The HTTP client (for requests without the master token).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The `/metrics` text (Prometheus exposition format).
    pub async fn metrics(&self) -> Result<String, reqwest::Error> {
        self.http
            .get(self.url("/metrics"))
            .send()
            .await?
            .text()
            .await
    }

    /// The value of an unlabelled counter on `/metrics` (0 when absent).
    pub async fn counter(&self, name: &str) -> u64 {
        let body = self.metrics().await.expect("GET /metrics");
        body.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or(0)
    }

    /// Sends a request with the master token; returns status and body as sent.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, reqwest::Error> {
        let mut request = self
            .http
            .request(method, self.url(path))
            .header("Api-Token", &self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let text = response.text().await?;
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, json))
    }

    /// Sends a request that must succeed and reads the typed answer.
    async fn ok<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, PlatformError> {
        let (status, body) = self.call(method, path, body).await?;
        if !(200..300).contains(&status) {
            return Err(PlatformError::Refused {
                path: path.to_owned(),
                status,
                body,
            });
        }
        serde_json::from_value(body.clone()).map_err(|source| PlatformError::Shape {
            path: path.to_owned(),
            body,
            source,
        })
    }

    pub async fn create_room(&self, room: &NewRoom) -> Result<Room, PlatformError> {
        let body = json!(room);
        let created: RoomBody = self.ok(Method::POST, "/v1/rooms", Some(&body)).await?;
        Ok(created.room)
    }

    pub async fn room(&self, id: &RoomId) -> Result<Room, PlatformError> {
        let path = format!("/v1/rooms/{id}");
        Ok(self.ok::<RoomBody>(Method::GET, &path, None).await?.room)
    }

    pub async fn delete_room(&self, id: &RoomId) -> Result<Room, PlatformError> {
        let path = format!("/v1/rooms/{id}");
        Ok(self.ok::<RoomBody>(Method::DELETE, &path, None).await?.room)
    }

    /// `GET /v1/rooms?{query}` (`query` as on the spec page, e.g. `limit=100`).
    pub async fn list_rooms(&self, query: &str) -> Result<RoomPage, PlatformError> {
        self.ok(Method::GET, &format!("/v1/rooms?{query}"), None)
            .await
    }

    /// Upserts custom items of a room.
    pub async fn update_custom_items(
        &self,
        id: &RoomId,
        items: &BTreeMap<String, String>,
    ) -> Result<(), PlatformError> {
        let path = format!("/v1/rooms/{id}/custom_items");
        let body = json!({ "custom_items": items });
        self.ok::<Value>(Method::PUT, &path, Some(&body)).await?;
        Ok(())
    }

    /// A single-host live event hostable by `hosts`.
    pub async fn create_live_event(&self, hosts: &[&str]) -> Result<LiveEvent, PlatformError> {
        let body = json!({ "host_type": "single_host", "user_ids_for_host": hosts });
        let created: LiveEventBody = self
            .ok(Method::POST, "/v1/live-events", Some(&body))
            .await?;
        Ok(created.live_event)
    }

    pub async fn live_event(&self, id: &LiveEventId) -> Result<LiveEvent, PlatformError> {
        let path = format!("/v1/live-events/{id}");
        Ok(self
            .ok::<LiveEventBody>(Method::GET, &path, None)
            .await?
            .live_event)
    }

    /// Sets a live event ready, starts or ends it.
    pub async fn live_action(
        &self,
        id: &LiveEventId,
        action: LiveAction,
    ) -> Result<LiveEvent, PlatformError> {
        let (status, body) = self.live_action_reply(id.as_str(), action).await?;
        let path = format!("/v1/live-events/{id}");
        if status != 200 {
            return Err(PlatformError::Refused { path, status, body });
        }
        let parsed: LiveEventBody = serde_json::from_value(body.clone())
            .map_err(|source| PlatformError::Shape { path, body, source })?;
        Ok(parsed.live_event)
    }

    /// Like [`Self::live_action`], with the answer as sent (for tests of refusals).
    pub async fn live_action_reply(
        &self,
        id: &str,
        action: LiveAction,
    ) -> Result<Reply, reqwest::Error> {
        let empty = json!({});
        match action {
            LiveAction::Ready => {
                let path = format!("/v1/live-events/{id}/ready");
                self.call(Method::POST, &path, Some(&empty)).await
            }
            LiveAction::Start => {
                let path = format!("/v1/live-events/{id}/start");
                self.call(Method::POST, &path, Some(&empty)).await
            }
            LiveAction::End => {
                let path = format!("/v1/live-events/{id}");
                self.call(Method::DELETE, &path, None).await
            }
        }
    }

    /// Creates a user with an access token.
    pub async fn create_user_with_token(&self, user_id: &str) -> Result<IssuedUser, PlatformError> {
        let body = json!({ "user_id": user_id, "issue_access_token": true });
        self.ok(Method::POST, "/v1/users", Some(&body)).await
    }

    /// A new user's connected client device: user with access token, session, WebSocket.
    pub async fn device(&self, user_id: &str) -> Result<Client, PlatformError> {
        let session = self.session_for(user_id).await?;
        Ok(Client::connect(&self.ws_base(), &session, None).await?)
    }

    /// Creates a user with an access token and opens a session; returns the session token.
    pub async fn session_for(&self, user_id: &str) -> Result<String, PlatformError> {
        let user = self.create_user_with_token(user_id).await?;
        let session = open_session(&self.base, user_id, &user.access_token).await?;
        Ok(session.session_token)
    }

    pub async fn set_webhook(&self, settings: &WebhookSettings) -> Result<(), PlatformError> {
        let body = json!(settings);
        self.ok::<Value>(Method::PUT, WEBHOOK_SETTINGS, Some(&body))
            .await?;
        Ok(())
    }

    /// The newest 100 deliveries with `status` (`pending`, `delivered`, `failed`).
    pub async fn webhook_deliveries(&self, status: &str) -> Result<Vec<Value>, PlatformError> {
        let path = format!("{WEBHOOK_DELIVERIES}?status={status}&limit=100");
        Ok(self
            .ok::<Deliveries>(Method::GET, &path, None)
            .await?
            .deliveries)
    }
}
