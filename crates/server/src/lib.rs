//! Wiring: configuration, storage selection and the HTTP server.
//!
//! [`launch`] takes an already-bound listener and a shutdown future, so `main` and the
//! integration tests start the server in exactly the same way.
#![forbid(unsafe_code)]

mod cluster;
mod config;
mod http;
mod limits;
mod media;
mod network;
mod push;
mod web;

pub use config::{Config, ConfigError, DatabaseUrl, MIN_API_TOKEN_LEN};

use opencalls_api::ApiConfig;
use opencalls_runtime::{Clock, SystemClock};
use opencalls_service::Services;
use opencalls_store::{ChatStore, ClusterStore, MediaStore, NodeId, Store};
use opencalls_store_postgres::PostgresStore;
use opencalls_store_sqlite::SqliteStore;
use opencalls_webhook::{WebhookWorker, WorkerConfig};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;
use tokio::net::TcpListener;

#[derive(Debug, Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("opening the store: {0}")]
    Store(#[from] opencalls_store::StoreError),
    #[error("serving HTTP: {0}")]
    Io(#[from] std::io::Error),
    #[error("starting the webhook worker: {0}")]
    Webhooks(String),
    #[error("starting VoIP pushes: {0}")]
    Push(String),
    #[error("starting the media layer (SFU): {0}")]
    Media(String),
    #[error(
        "`opencalls backup` copies SQLite databases only; back up PostgreSQL with pg_dump \
         (see docs/operations.md)"
    )]
    BackupUnsupported,
}

/// How often the PostgreSQL health probe asks the server.
const POSTGRES_PROBE_EVERY: Duration = Duration::from_secs(2);

/// A synchronous health check of the store ("store_writer").
type StoreProbe = Box<dyn Fn() -> bool + Send + Sync>;

/// Opens the store named by the configuration (PostgreSQL: connects and migrates).
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, ServerError> {
    Ok(open_store_with_probe(config, None).await?.store)
}

/// The opened store seen both ways, and its health check.
struct OpenedStore {
    store: Arc<dyn Store>,
    cluster: Arc<dyn ClusterStore>,
    /// Chat shared by the nodes (PostgreSQL); an SQLite server limits chat in memory.
    chat: Option<Arc<dyn ChatStore>>,
    /// Media placement across the nodes (PostgreSQL); an SQLite server keeps all media.
    media: Option<Arc<dyn MediaStore>>,
    probe: StoreProbe,
    /// Whether other nodes can share it (PostgreSQL); an SQLite file has one server.
    shared: bool,
}

/// The store and its health check: on SQLite whether the writer thread runs, on
/// PostgreSQL whether a pooled connection reached the server at the last check. On
/// PostgreSQL the events this store appends are recorded as `node`'s (cluster.md).
async fn open_store_with_probe(
    config: &Config,
    node: Option<&NodeId>,
) -> Result<OpenedStore, ServerError> {
    match config.database()? {
        DatabaseUrl::Sqlite(path) => {
            let sqlite = SqliteStore::open(path)?;
            let probe = sqlite.clone();
            Ok(OpenedStore {
                store: Arc::new(sqlite.clone()),
                cluster: Arc::new(sqlite),
                chat: None,
                media: None,
                probe: Box::new(move || probe.is_writing()),
                shared: false,
            })
        }
        DatabaseUrl::Postgres { url, pool_size } => {
            let postgres = PostgresStore::open_node(&url, pool_size, node).await?;
            let reachable = postgres.watch_reachability(POSTGRES_PROBE_EVERY);
            let probe = move || reachable.load(std::sync::atomic::Ordering::Relaxed);
            Ok(OpenedStore {
                store: Arc::new(postgres.clone()),
                cluster: Arc::new(postgres.clone()),
                chat: Some(Arc::new(postgres.clone())),
                media: Some(Arc::new(postgres)),
                probe: Box::new(probe),
                shared: true,
            })
        }
    }
}

/// Writes a consistent copy of the configured database to the new file `target`, safely
/// while a server is running on it (`opencalls backup`; restoring: docs/operations.md).
pub fn backup(
    config: &Config,
    target: &std::path::Path,
) -> Result<opencalls_store_sqlite::BackupSummary, ServerError> {
    match config.database()? {
        DatabaseUrl::Sqlite(path) => Ok(opencalls_store_sqlite::backup(&path, target)?),
        DatabaseUrl::Postgres { .. } => Err(ServerError::BackupUnsupported),
    }
}

/// A configured server: storage opened, services built, not yet serving.
pub struct App {
    pub config: Config,
    pub services: Services,
    pub store: Arc<dyn Store>,
    /// The SFU, started by `open` (its UDP port is bound) and stopped when `serve` ends.
    pub sfu: opencalls_sfu::SfuHandle,
    sfu_events: opencalls_sfu::SfuEvents,
    /// The one source of "now", shared by the services and the webhook worker.
    clock: Arc<dyn Clock>,
    /// What this node shares with the other nodes on the same database.
    cluster: Arc<dyn ClusterStore>,
    /// Chat shared with the other nodes, if the store is shared.
    chat: Option<Arc<dyn ChatStore>>,
    /// Media placement across the nodes, if the store is shared.
    media_store: Option<Arc<dyn MediaStore>>,
    /// This node's id in the cluster.
    pub node_id: NodeId,
}

impl App {
    /// Opens storage and builds the services. `config.api_token` must be resolved
    /// (see [`Config::resolve_api_token`]) and have at least [`MIN_API_TOKEN_LEN`] characters.
    pub async fn open(config: Config) -> Result<Self, ServerError> {
        Self::open_with_clock(config, Arc::new(SystemClock)).await
    }

    /// Like [`App::open`], with the services reading time from `clock` (tests move time).
    pub async fn open_with_clock(
        config: Config,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ServerError> {
        config.checked_api_token()?;
        config.validate_webhooks()?;
        config.validate_media()?;
        config.validate_limits()?;
        config.validate_network()?;
        let node_id = cluster::node_id(&config)?;
        let opened = open_store_with_probe(&config, Some(&node_id)).await?;
        let (store, cluster, writer_alive) = (opened.store, opened.cluster, opened.probe);
        let (chat, media_store) = (opened.chat, opened.media);
        let shared = opened.shared;
        let ttl_ms =
            i64::try_from(config.session_ttl_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        let services = Services::new(store.clone(), clock.clone())
            .with_app_id(&config.app_id)
            .with_session_ttl(ttl_ms)
            .with_private_webhook_targets(config.webhook_allow_private_targets)
            .with_call_timeouts(config.call_timeouts());
        // Seat holders matter only where another node can take a device over; on SQLite
        // they would cost a durable write per WebSocket for nothing.
        let services = if shared {
            services.with_seat_holders(cluster.clone(), node_id.clone(), clock.clone())
        } else {
            services
        };
        services.health.register("store_writer", writer_alive);
        let (sfu, sfu_events) = media::start(&config)?;
        let probe = sfu.clone();
        services.health.register("sfu", move || probe.is_running());
        tracing::info!(
            addr = %sfu.local_addr(),
            workers = sfu.worker_count(),
            ports = ?sfu.local_addrs().iter().map(|a| a.port()).collect::<Vec<_>>(),
            "media layer (SFU) listening on UDP (one port per media worker)"
        );
        if let Some(tcp) = sfu.tcp_addr() {
            tracing::info!(addr = %tcp, "media layer (SFU) listening for ICE over TCP");
        }
        Ok(Self {
            config,
            services,
            store,
            sfu,
            sfu_events,
            clock,
            cluster,
            chat,
            media_store,
            node_id,
        })
    }

    /// Serves on `listener` until `shutdown` resolves, then drains in-flight requests.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let api_token = self
            .config
            .api_token
            .clone()
            .ok_or(ConfigError::MissingApiToken)?;
        let setup = cluster::NodeSetup {
            cluster: self.cluster.clone(),
            node_id: self.node_id.clone(),
            clock: self.clock.clone(),
            services: self.services.clone(),
            http_addr: listener.local_addr()?,
            media_addr: self.sfu.local_addr(),
            notifies: self.chat.is_some(),
        };
        if cluster::alone(&setup).await? {
            self.exit_leftovers().await;
        } else {
            tracing::info!("other nodes are alive: their participants are theirs, not leftovers");
        }
        let start_webhooks = self.webhook_starter(&api_token);
        let node = cluster::join(setup, &self.config, start_webhooks).await?;
        let push = match self.config.push_config()? {
            Some(config) => Some(
                opencalls_push::start(self.services.clone(), config)
                    .map_err(|e| ServerError::Push(e.to_string()))?,
            ),
            None => None,
        };
        let bridge = Arc::new(opencalls_signal::MediaBridge::new(
            self.sfu.clone(),
            self.config.media_config(),
        ));
        let placement = match self.media_store.clone() {
            Some(store) => Some(
                cluster::place_media(
                    store,
                    self.cluster.clone(),
                    &self.node_id,
                    &self.clock,
                    &self.config,
                    &bridge,
                )
                .await?,
            ),
            None => None,
        };
        let (signal_routes, signal) = opencalls_signal::router_with_media(
            self.services.clone(),
            self.config.signal_config(),
            Some((bridge.clone(), self.sfu_events)),
        );
        if let Some(relay) = &placement {
            cluster::attach_media(relay, &bridge, &signal, &self.services);
        }
        self.services.health.register("signal", signal.probe());
        signal.follow_membership(node.evictions());
        let chat = match self.chat.clone() {
            Some(store) => {
                let tail = node.tail_waker();
                Some(cluster::relay_chat(store, &self.node_id, &signal, tail).await?)
            }
            None => None,
        };
        let sfu = self.sfu;
        let app = opencalls_api::router(self.services, ApiConfig { api_token })
            .merge(signal_routes)
            .merge(web::routes());
        tracing::info!(addr = %listener.local_addr()?, "serving the Platform API and the client protocol");
        // Upgraded WebSockets outlive graceful shutdown, so close them (and exit their
        // participants) first.
        let shutdown = async move {
            shutdown.await;
            signal.shutdown().await;
        };
        let served = http::serve(listener, app, self.config.admission(), shutdown).await;
        drop(chat);
        if let Some(relay) = placement {
            relay.stop().await;
        }
        node.stop().await;
        if let Some(push) = push {
            push.abort();
        }
        sfu.shutdown().await;
        served?;
        tracing::info!("server stopped");
        Ok(())
    }

    /// Exits the participants, live-event presence and direct calls a previous run left.
    async fn exit_leftovers(&self) {
        // Participants of a previous run lost their connections with it.
        match self.services.rooms.exit_leftover_participants().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                exited = n,
                "exited participants left over from the last run"
            ),
            Err(err) => tracing::error!(%err, "exiting leftover participants failed"),
        }
        match self.services.live_events.exit_leftover_presence().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                exited = n,
                "exited live-event hosts and participants left over from the last run"
            ),
            Err(err) => tracing::error!(%err, "exiting leftover live-event presence failed"),
        }
        // Which node held which device in that run means nothing now: their seats exited.
        if let Some(seats) = &self.services.seats
            && let Err(err) = seats.forget_all().await
        {
            tracing::error!(%err, "forgetting the seat holders of the last run failed");
        }
        match self.services.direct_calls.end_leftover_calls().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(ended = n, "ended direct calls left over from the last run"),
            Err(err) => tracing::error!(%err, "ending leftover direct calls failed"),
        }
    }

    /// How the webhook duty starts the worker on whichever node holds it.
    fn webhook_starter(
        &self,
        api_token: &str,
    ) -> Box<dyn Fn() -> Option<WebhookWorker> + Send + Sync> {
        let config = self.webhook_config(api_token);
        let (store, bus) = (self.store.clone(), self.services.bus.clone());
        let (metrics, clock) = (self.services.metrics.clone(), self.clock.clone());
        Box::new(move || {
            WebhookWorker::start(
                store.clone(),
                &bus,
                metrics.clone(),
                clock.clone(),
                config.clone(),
            )
            .map_err(|err| tracing::error!(%err, "starting the webhook worker failed"))
            .ok()
        })
    }

    /// The webhook worker's settings.
    fn webhook_config(&self, api_token: &str) -> WorkerConfig {
        let c = &self.config;
        WorkerConfig {
            app_id: c.app_id.clone(),
            signing_key: api_token.to_owned(),
            timeout: Duration::from_millis(c.webhook_timeout_ms),
            retry_period: Duration::from_secs(c.webhook_retry_period_secs),
            backoff_base: Duration::from_millis(c.webhook_backoff_base_ms),
            backoff_max: Duration::from_millis(c.webhook_backoff_max_ms),
            concurrency: c.webhook_concurrency,
            poll_interval: Duration::from_millis(c.webhook_poll_ms),
            allow_private_targets: c.webhook_allow_private_targets,
            retention: Duration::from_secs(c.webhook_retention_secs),
            failed_retention: Duration::from_secs(c.webhook_failed_retention_secs),
            prune_interval: Duration::from_millis(c.webhook_prune_interval_ms),
        }
    }
}

/// Opens and serves in one step: what `main` does.
pub async fn launch(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    App::open(config).await?.serve(listener, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_of_a_postgres_database_points_at_pg_dump() {
        let config = Config {
            database_url: Some("postgres://u@127.0.0.1:1/db".into()),
            ..Config::default()
        };
        let err = backup(&config, std::path::Path::new("/nonexistent/backup.db")).unwrap_err();
        assert!(matches!(err, ServerError::BackupUnsupported));
        assert!(err.to_string().contains("pg_dump"), "{err}");
    }
}
