//! The test server: the real `opencalls_server::App` on 127.0.0.1:0 with a temporary data
//! directory (or its own PostgreSQL database, see `backend`) (exactly as `main` wires it, with a clock tests can move), spoken to over real
//! HTTP and WebSockets. Nothing here is process-global, so any number of servers run side by
//! side in one test binary.

use crate::backend;
use crate::platform::{PlatformApi, Reply};
use opencalls_runtime::OffsetClock;
use opencalls_server::{App, Config};
use opencalls_service::Services;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::Arc;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The master API token of every test server.
pub const TOKEN: &str = "test-master-token-of-the-opencalls-tests";

pub struct TestServer {
    pub base: String,
    pub services: Services,
    /// The server's clock; `clock.shift(ms)` moves time for the services.
    pub clock: Arc<OffsetClock>,
    pub dir: Arc<TempDir>,
    pub http: reqwest::Client,
    /// The Platform API of this server, with the master token.
    pub api: PlatformApi,
    /// The server's SFU (stats).
    pub sfu: opencalls_sfu::SfuHandle,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    /// A server on a fresh, empty data directory.
    pub async fn start() -> Self {
        Self::start_in(fresh_dir()).await
    }

    /// A server on an existing data directory (e.g. to test a restart).
    pub async fn start_in(dir: Arc<TempDir>) -> Self {
        Self::start_in_with(dir, |_| {}).await
    }

    /// A server on a fresh data directory with settings changed by `tune`.
    pub async fn start_with(tune: impl FnOnce(&mut Config)) -> Self {
        Self::start_in_with(fresh_dir(), tune).await
    }

    /// A server on an existing data directory with settings changed by `tune`.
    pub async fn start_in_with(dir: Arc<TempDir>, tune: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config {
            api_token: Some(TOKEN.into()),
            data_dir: dir.path().to_owned(),
            // Test receivers listen on loopback.
            webhook_allow_private_targets: true,
            ..Config::default()
        };
        tune(&mut config);
        if config.database_url.is_none() && backend::backend() == backend::Backend::Postgres {
            config.database_url = Some(backend::postgres_url(dir.path()).await);
            // Many test servers share one PostgreSQL server's connection limit.
            config.database_pool_size = 4;
        }
        let clock = Arc::new(OffsetClock::new());
        let app = App::open_with_clock(config, clock.clone())
            .await
            .expect("open app");
        let services = app.services.clone();
        let sfu = app.sfu.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            app.serve(listener, async move {
                let _ = rx.await;
            })
            .await
            .expect("server failed");
        });
        let api = PlatformApi::new(base.clone(), TOKEN);
        Self {
            base,
            services,
            clock,
            dir,
            http: api.http().clone(),
            api,
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

    /// Ends the server like a crash of its node: the serving task is aborted, so nothing is
    /// handed over or closed cleanly (leases run out; webhook attempts in flight are lost).
    pub fn kill(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        self.shutdown.take();
    }

    /// `ws://` base of the client protocol.
    pub fn ws_base(&self) -> String {
        self.api.ws_base()
    }

    /// Creates a user with an access token through the API and opens a session for it;
    /// returns the session token.
    pub async fn session_for(&self, user_id: &str) -> String {
        self.api.session_for(user_id).await.expect("session")
    }

    /// A connected client device of a new user.
    pub async fn device(&self, user_id: &str) -> opencalls_client::Client {
        self.api.device(user_id).await.expect("connect")
    }

    pub fn url(&self, path: &str) -> String {
        self.api.url(path)
    }

    /// Sends a request with the master token; returns status and JSON body.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.api
            .call(method, path, body.as_ref())
            .await
            .expect("request")
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str, body: Option<Value>) -> Reply {
        self.call(Method::DELETE, path, body).await
    }

    /// Creates a room through the API and returns its JSON.
    pub async fn create_room(&self, room_type: &str) -> Value {
        let (status, body) = self.post("/v1/rooms", json!({ "type": room_type })).await;
        assert_eq!(status, 200, "{body}");
        body["room"].clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Nobody can start a server on this directory again: its database can go.
        if Arc::strong_count(&self.dir) == 1 {
            backend::forget(self.dir.path());
        }
    }
}

fn fresh_dir() -> Arc<TempDir> {
    Arc::new(tempfile::tempdir().expect("temp dir"))
}
