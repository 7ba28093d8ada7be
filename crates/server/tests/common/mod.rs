//! Test harness: starts the real server on 127.0.0.1:0 with a temporary SQLite database,
//! exactly as `main` does, and speaks real HTTP to it.
#![allow(dead_code)]

use opencalls_server::{App, Config};
use opencalls_service::{OffsetClock, Services};
use reqwest::Method;
use serde_json::Value;
use std::sync::Arc;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const TOKEN: &str = "test-master-token";

pub struct TestServer {
    pub base: String,
    pub services: Services,
    /// The server's clock; `clock.shift(ms)` moves time for the services.
    pub clock: Arc<OffsetClock>,
    pub dir: Arc<TempDir>,
    pub http: reqwest::Client,
    /// The server's SFU (stats).
    pub sfu: opencalls_sfu::SfuHandle,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    /// A server on a fresh, empty data directory.
    pub async fn start() -> Self {
        Self::start_in(Arc::new(tempfile::tempdir().expect("temp dir"))).await
    }

    /// A server on an existing data directory (e.g. to test a restart).
    pub async fn start_in(dir: Arc<TempDir>) -> Self {
        Self::start_in_with(dir, |_| {}).await
    }

    /// A server on a fresh data directory with settings changed by `tune`.
    pub async fn start_with(tune: impl FnOnce(&mut Config)) -> Self {
        Self::start_in_with(Arc::new(tempfile::tempdir().expect("temp dir")), tune).await
    }

    /// A server on an existing data directory with settings changed by `tune`.
    pub async fn start_in_with(dir: Arc<TempDir>, tune: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config {
            api_token: Some(TOKEN.into()),
            data_dir: dir.path().to_owned(),
            ..Config::default()
        };
        tune(&mut config);
        let clock = Arc::new(OffsetClock::new());
        let app = App::open_with_clock(config, clock.clone()).expect("open app");
        let services = app.services.clone();
        let sfu = app.sfu.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            app.serve(listener, async move {
                let _ = rx.await;
            })
            .await
            .expect("server failed");
        });
        Self {
            base,
            services,
            clock,
            dir,
            http: reqwest::Client::new(),
            sfu,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// Stops gracefully and hands back the data directory.
    pub async fn stop(mut self) -> Arc<TempDir> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task");
        }
        // Drop the services (and with them the store's connections) before reopening.
        let dir = self.dir.clone();
        drop(self);
        dir
    }

    /// `ws://` base of the client protocol.
    pub fn ws_base(&self) -> String {
        self.base.replacen("http", "ws", 1)
    }

    /// Creates a user with an access token through the API and opens a session for it;
    /// returns the session token.
    pub async fn session_for(&self, user_id: &str) -> String {
        let (status, body) = self
            .post(
                "/v1/users",
                serde_json::json!({ "user_id": user_id, "issue_access_token": true }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let token = body["access_token"].as_str().expect("access token");
        opencalls_client::open_session(&self.base, user_id, token)
            .await
            .expect("session")
            .session_token
    }

    /// A connected client device of a new user.
    pub async fn device(&self, user_id: &str) -> opencalls_client::Client {
        let session = self.session_for(user_id).await;
        opencalls_client::Client::connect(&self.ws_base(), &session, None)
            .await
            .expect("connect")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a request with the master token; returns status and JSON body.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, self.url(path))
            .header("Api-Token", TOKEN);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, json)
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call(Method::DELETE, path, body).await
    }

    /// Creates a room through the API and returns its JSON.
    pub async fn create_room(&self, room_type: &str) -> Value {
        let (status, body) = self
            .post("/v1/rooms", serde_json::json!({ "type": room_type }))
            .await;
        assert_eq!(status, 200, "{body}");
        body["room"].clone()
    }
}

/// Asserts the spec's error body with the given HTTP status and code.
#[track_caller]
pub fn assert_error(response: &(u16, Value), status: u16, code: u64) {
    let (got_status, body) = response;
    assert_eq!(*got_status, status, "unexpected status, body: {body}");
    assert_eq!(body["error"], Value::Bool(true), "{body}");
    assert_eq!(body["code"].as_u64(), Some(code), "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

/// Enters a participant through the application service layer (clients come later).
pub async fn enter(
    server: &TestServer,
    room_id: &str,
    user_id: &str,
) -> opencalls_domain::Participant {
    use opencalls_domain::participant::EnterRequest;
    use opencalls_domain::{ClientId, ParticipantId, User, UserId};
    let request = EnterRequest {
        participant_id: ParticipantId::generate(),
        user: User::bare(UserId::parse(user_id).expect("user id")),
        client_id: ClientId::generate(),
        is_audio_on: true,
        is_video_on: false,
    };
    server
        .services
        .rooms
        .enter(room_id, request)
        .await
        .expect("enter")
}

/// The `room_id` of a room JSON.
pub fn id_of(room: &Value) -> String {
    room["room_id"].as_str().expect("room_id").to_owned()
}
