//! Configuration from an optional TOML file, overridden by `OPENCALLS_*` environment
//! variables. Documented in docs/configuration.md; keep the two in step.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("reading config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("parsing config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{name} is invalid: {message}")]
    Invalid { name: &'static str, message: String },
    #[error("no API token is configured")]
    MissingApiToken,
    #[error(
        "the master API token (OPENCALLS_API_TOKEN / api_token) has {len} characters; it must \
         have at least {MIN_API_TOKEN_LEN} (e.g. `openssl rand -hex 32`), or leave it unset to \
         have one generated"
    )]
    WeakApiToken { len: usize },
    #[error("storing the generated API token in {path}: {source}")]
    TokenFile {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Fewest characters of a master API token: a guessable token opens the whole Platform API
/// and signs every webhook.
pub const MIN_API_TOKEN_LEN: usize = 32;

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the HTTP API listens.
    pub http_addr: SocketAddr,
    /// The master API token; generated and kept in `data_dir` when absent.
    pub api_token: Option<String>,
    /// `sqlite://PATH` (default: `sqlite://<data_dir>/opencalls.db`) or
    /// `postgres://user[:password]@host[:port]/db`.
    pub database_url: Option<String>,
    /// Most connections to PostgreSQL this server keeps for requests (unused with SQLite);
    /// the event tail, the lease and the listener keep up to 5 more (docs/cluster.md).
    pub database_pool_size: usize,
    /// Directory for the embedded database and the generated token.
    pub data_dir: PathBuf,
    /// The application id reported in webhooks and settings.
    pub app_id: String,
    /// Limit of one webhook delivery attempt, in milliseconds.
    pub webhook_timeout_ms: u64,
    /// How long a webhook delivery is retried before it is marked failed, in seconds.
    pub webhook_retry_period_secs: u64,
    /// Delay after the first failed attempt; doubles per attempt (with jitter).
    pub webhook_backoff_base_ms: u64,
    /// Largest delay between two attempts.
    pub webhook_backoff_max_ms: u64,
    /// Most webhook attempts in flight at once.
    pub webhook_concurrency: usize,
    /// Fallback interval at which the webhook worker looks for work.
    pub webhook_poll_ms: u64,
    /// Whether webhook URLs may target loopback, private, link-local and metadata addresses.
    pub webhook_allow_private_targets: bool,
    /// How long delivered webhook events (outbox and delivery log) are kept, in seconds.
    pub webhook_retention_secs: u64,
    /// How long failed webhook deliveries are kept, in seconds.
    pub webhook_failed_retention_secs: u64,
    /// How often old webhook events are pruned, in milliseconds.
    pub webhook_prune_interval_ms: u64,
    /// Lifetime of a client session token, in seconds.
    pub session_ttl_secs: u64,
    /// How often the server pings each client WebSocket, in milliseconds.
    pub heartbeat_interval_ms: u64,
    /// A client WebSocket silent for this long is closed, in milliseconds.
    pub heartbeat_timeout_ms: u64,
    /// How long a dropped device's participants wait for it to reconnect, in milliseconds.
    pub reconnect_grace_ms: u64,
    /// Largest client-protocol message handled, in bytes.
    pub ws_max_message_bytes: usize,
    /// UDP address of the SFU (all calls' media on one port).
    pub media_addr: SocketAddr,
    /// ICE host candidates put in SDP answers; empty = `media_addr` itself.
    pub media_advertised_addrs: Vec<SocketAddr>,
    /// Speakers forwarded in `large_room_for_audio_only` rooms.
    pub media_active_speakers: usize,
    /// A media transport whose ICE+DTLS is not up this long after the answer is dropped, ms.
    pub media_connect_timeout_ms: u64,
    /// A connected media transport silent this long is dropped (`media.disconnected`), ms.
    pub media_transport_timeout_ms: u64,
    /// Capacity of the SFU's event queue; events beyond it are dropped, counted
    /// (`opencalls_sfu_events_lost_total`) and reconciled. Config file only.
    pub media_event_queue: usize,
    /// Media worker threads (groups spread over them, each on its own port: `media_addr`'s
    /// port + the worker's index); 0 = one per core.
    pub media_workers: usize,
    /// Real-time (`SCHED_FIFO`) priority of the media worker threads, 1 to 99; 0 = the
    /// normal scheduling policy (Linux; needs root or `CAP_SYS_NICE`, else a warning).
    pub media_realtime_priority: u8,
    /// Datagrams (and messages from other workers) a media worker reads between two copies
    /// of a fan-out, every 100 µs, so audio goes ahead of a video fan-out; 0 = off.
    pub media_fan_out_reads: usize,
    /// Pin each media worker to a CPU of its own when there is one worker per CPU the
    /// process may run on (`SfuConfig::pin_workers`).
    pub media_pin_workers: bool,
    /// Most HTTP connections (WebSockets included) at once; more get a 503 (see `limits.rs`).
    pub http_max_connections: usize,
    /// A request head must arrive this long after the connection opened or its previous
    /// response (also the keep-alive idle timeout), in milliseconds.
    pub http_header_timeout_ms: u64,
    /// A request body must arrive this long after its head, in milliseconds.
    pub http_body_timeout_ms: u64,
    /// A write to a client WebSocket slower than this closes it, in milliseconds.
    pub ws_send_timeout_ms: u64,
    /// Devices (`client_id`s) one user may have at once.
    pub max_devices_per_user: usize,
    /// Live-event seats one user may hold at once.
    pub max_live_seats_per_user: usize,
    /// Seats of one user that may carry media at once.
    pub max_media_peers_per_user: usize,
    /// State-changing client-protocol requests per second per connection.
    pub ws_requests_per_sec: u32,
    /// `media.offer` requests per minute per connection.
    pub media_offers_per_min: u32,
    /// `POST /v1/auth/session` per minute per claimed user.
    pub session_opens_per_min_per_user: u32,
    /// `POST /v1/auth/session` per minute per client IP address.
    pub session_opens_per_min_per_ip: u32,
    /// ICE over TCP (passive candidates beside the UDP ones) on `media_tcp_addr`.
    pub media_tcp: bool,
    /// TCP address for ICE over TCP; `None` = `media_addr`'s IP and port.
    pub media_tcp_addr: Option<SocketAddr>,
    /// TURN URLs handed to clients with time-limited credentials (`hello.ice_servers`).
    pub turn_urls: Vec<String>,
    /// The secret shared with the TURN server (coturn `static-auth-secret`).
    pub turn_secret: Option<String>,
    /// Lifetime of a TURN credential, seconds.
    pub turn_ttl_secs: u64,
    /// A direct call nobody accepts within this long ends `no_answer`, ms.
    pub call_ring_timeout_ms: u64,
    /// An accepted direct call whose media is not up both ways this long ends `timed_out`, ms.
    pub call_connect_timeout_ms: u64,
    /// A side's media lost this long ends its direct call `connection_lost`, ms.
    pub call_media_grace_ms: u64,
    /// VoIP pushes for ringing calls (see `push.rs` and docs/push.md).
    pub apns_key_file: Option<PathBuf>,
    pub apns_key_id: Option<String>,
    pub apns_team_id: Option<String>,
    pub apns_bundle_id: Option<String>,
    pub apns_endpoint: String,
    pub fcm_service_account_file: Option<PathBuf>,
    pub fcm_endpoint: String,
    pub push_max_attempts: u64,
    pub push_retry_base_ms: u64,
    /// This node's id in a cluster (`OPENCALLS_NODE_ID`); generated at start when absent.
    pub node_id: Option<String>,
    /// A node that has not renewed its lease for this long counts as dead, in milliseconds.
    pub node_lease_ms: u64,
    /// How often a node reads the events other nodes committed when nothing woke it (a
    /// safety net: on PostgreSQL the tail is woken by commits and `NOTIFY`), in ms.
    pub cluster_poll_ms: u64,
}

/// Where state lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    /// The URL as given (`postgres://…` or `postgresql://…`), with the pool size.
    Postgres {
        url: String,
        pool_size: usize,
    },
}

impl Default for Config {
    fn default() -> Self {
        let signal_limits = opencalls_signal::Limits::default();
        Self {
            http_addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            api_token: None,
            database_url: None,
            database_pool_size: opencalls_store_postgres::DEFAULT_POOL_SIZE,
            data_dir: PathBuf::from("opencalls-data"),
            app_id: "opencalls".to_owned(),
            webhook_timeout_ms: 10_000,
            webhook_retry_period_secs: 24 * 60 * 60,
            webhook_backoff_base_ms: 1_000,
            webhook_backoff_max_ms: 10 * 60 * 1000,
            webhook_concurrency: 32,
            webhook_poll_ms: 1_000,
            webhook_allow_private_targets: false,
            webhook_retention_secs: 7 * 24 * 60 * 60,
            webhook_failed_retention_secs: 30 * 24 * 60 * 60,
            webhook_prune_interval_ms: 60 * 60 * 1000,
            session_ttl_secs: 3600,
            heartbeat_interval_ms: 15_000,
            heartbeat_timeout_ms: 45_000,
            reconnect_grace_ms: 10_000,
            ws_max_message_bytes: 16 * 1024,
            media_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            media_advertised_addrs: Vec::new(),
            media_active_speakers: 3,
            media_connect_timeout_ms: 15_000,
            media_transport_timeout_ms: 10_000,
            media_event_queue: opencalls_sfu::EVENT_QUEUE_LIMIT,
            media_workers: 0,
            media_realtime_priority: 0,
            media_fan_out_reads: 0,
            media_pin_workers: true,
            http_max_connections: crate::limits::DEFAULT_MAX_CONNECTIONS,
            http_header_timeout_ms: 10_000,
            http_body_timeout_ms: 30_000,
            ws_send_timeout_ms: 10_000,
            max_devices_per_user: signal_limits.devices_per_user,
            max_live_seats_per_user: signal_limits.live_seats_per_user,
            max_media_peers_per_user: signal_limits.media_peers_per_user,
            ws_requests_per_sec: signal_limits.requests_per_sec,
            media_offers_per_min: signal_limits.media_offers_per_min,
            session_opens_per_min_per_user: signal_limits.session_opens_per_min_per_user,
            session_opens_per_min_per_ip: signal_limits.session_opens_per_min_per_ip,
            media_tcp: true,
            media_tcp_addr: None,
            turn_urls: Vec::new(),
            turn_secret: None,
            turn_ttl_secs: 12 * 60 * 60,
            call_ring_timeout_ms: 60_000,
            call_connect_timeout_ms: 60_000,
            call_media_grace_ms: 30_000,
            apns_key_file: None,
            apns_key_id: None,
            apns_team_id: None,
            apns_bundle_id: None,
            apns_endpoint: opencalls_push::APNS_PRODUCTION.to_owned(),
            fcm_service_account_file: None,
            fcm_endpoint: opencalls_push::FCM_PRODUCTION.to_owned(),
            push_max_attempts: 3,
            push_retry_base_ms: 1_000,
            node_id: None,
            node_lease_ms: 10_000,
            cluster_poll_ms: 1_000,
        }
    }
}

impl Config {
    /// Reads the file (if any), then applies the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path: path.to_owned(),
                    message: e.to_string(),
                })?
            }
            None => Config::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        Ok(config)
    }

    /// Applies `OPENCALLS_*` overrides read through `var`.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(addr) = var("OPENCALLS_HTTP_ADDR") {
            self.http_addr = addr.parse().map_err(|e| ConfigError::Invalid {
                name: "OPENCALLS_HTTP_ADDR",
                message: format!("{e}"),
            })?;
        }
        if let Some(token) = var("OPENCALLS_API_TOKEN").filter(|t| !t.is_empty()) {
            self.api_token = Some(token);
        }
        if let Some(url) = var("OPENCALLS_DATABASE_URL").filter(|u| !u.is_empty()) {
            self.database_url = Some(url);
        }
        if let Some(value) = var("OPENCALLS_DATABASE_POOL_SIZE").filter(|v| !v.is_empty()) {
            let n = parse_positive("OPENCALLS_DATABASE_POOL_SIZE", &value)?;
            self.database_pool_size = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(dir) = var("OPENCALLS_DATA_DIR").filter(|d| !d.is_empty()) {
            self.data_dir = PathBuf::from(dir);
        }
        if let Some(app_id) = var("OPENCALLS_APP_ID").filter(|a| !a.is_empty()) {
            self.app_id = app_id;
        }
        self.apply_webhook_env(&var)?;
        self.apply_media_env(&var)?;
        self.apply_limits_env(&var)?;
        self.apply_network_env(&var)?;
        self.apply_push_env(&var)?;
        self.apply_signal_env(&var)
    }

    fn apply_webhook_env(
        &mut self,
        var: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        let fields: [(&'static str, &mut u64); 8] = [
            ("OPENCALLS_WEBHOOK_TIMEOUT_MS", &mut self.webhook_timeout_ms),
            (
                "OPENCALLS_WEBHOOK_RETRY_PERIOD_SECS",
                &mut self.webhook_retry_period_secs,
            ),
            (
                "OPENCALLS_WEBHOOK_BACKOFF_BASE_MS",
                &mut self.webhook_backoff_base_ms,
            ),
            (
                "OPENCALLS_WEBHOOK_BACKOFF_MAX_MS",
                &mut self.webhook_backoff_max_ms,
            ),
            ("OPENCALLS_WEBHOOK_POLL_MS", &mut self.webhook_poll_ms),
            (
                "OPENCALLS_WEBHOOK_RETENTION_SECS",
                &mut self.webhook_retention_secs,
            ),
            (
                "OPENCALLS_WEBHOOK_FAILED_RETENTION_SECS",
                &mut self.webhook_failed_retention_secs,
            ),
            (
                "OPENCALLS_WEBHOOK_PRUNE_INTERVAL_MS",
                &mut self.webhook_prune_interval_ms,
            ),
        ];
        for (name, field) in fields {
            if let Some(value) = var(name).filter(|v| !v.is_empty()) {
                *field = parse_positive(name, &value)?;
            }
        }
        if let Some(value) = var("OPENCALLS_WEBHOOK_CONCURRENCY").filter(|v| !v.is_empty()) {
            let n = parse_positive("OPENCALLS_WEBHOOK_CONCURRENCY", &value)?;
            self.webhook_concurrency = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(allow) = boolean_var(var, "OPENCALLS_WEBHOOK_ALLOW_PRIVATE_TARGETS")? {
            self.webhook_allow_private_targets = allow;
        }
        Ok(())
    }

    /// The `## Client sessions and signaling` knobs of docs/configuration.md.
    fn apply_signal_env(
        &mut self,
        var: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        let number = |name: &'static str, min: u64| -> Result<Option<u64>, ConfigError> {
            let Some(raw) = var(name).filter(|v| !v.is_empty()) else {
                return Ok(None);
            };
            match raw.trim().parse::<u64>() {
                Ok(n) if n >= min => Ok(Some(n)),
                _ => Err(ConfigError::Invalid {
                    name,
                    message: format!("expected an integer >= {min}, got '{raw}'"),
                }),
            }
        };
        if let Some(n) = number("OPENCALLS_SESSION_TTL_SECS", 1)? {
            self.session_ttl_secs = n;
        }
        if let Some(n) = number("OPENCALLS_HEARTBEAT_INTERVAL_MS", 10)? {
            self.heartbeat_interval_ms = n;
        }
        if let Some(n) = number("OPENCALLS_HEARTBEAT_TIMEOUT_MS", 10)? {
            self.heartbeat_timeout_ms = n;
        }
        if let Some(n) = number("OPENCALLS_RECONNECT_GRACE_MS", 0)? {
            self.reconnect_grace_ms = n;
        }
        if let Some(n) = number("OPENCALLS_WS_MAX_MESSAGE_BYTES", 256)? {
            self.ws_max_message_bytes = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(n) = number("OPENCALLS_CALL_RING_TIMEOUT_MS", 1)? {
            self.call_ring_timeout_ms = n;
        }
        if let Some(n) = number("OPENCALLS_CALL_CONNECT_TIMEOUT_MS", 1)? {
            self.call_connect_timeout_ms = n;
        }
        if let Some(n) = number("OPENCALLS_CALL_MEDIA_GRACE_MS", 0)? {
            self.call_media_grace_ms = n;
        }
        if let Some(id) = var("OPENCALLS_NODE_ID").filter(|v| !v.is_empty()) {
            self.node_id = Some(id);
        }
        if let Some(n) = number("OPENCALLS_NODE_LEASE_MS", 300)? {
            self.node_lease_ms = n;
        }
        if let Some(n) = number("OPENCALLS_CLUSTER_POLL_MS", 1)? {
            self.cluster_poll_ms = n;
        }
        Ok(())
    }

    /// The direct calls' server-side timers.
    pub fn call_timeouts(&self) -> opencalls_service::domain::direct_call::CallTimeouts {
        let ms = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        opencalls_service::domain::direct_call::CallTimeouts {
            ring_ms: ms(self.call_ring_timeout_ms),
            connect_ms: ms(self.call_connect_timeout_ms),
            media_grace_ms: ms(self.call_media_grace_ms),
        }
    }

    /// Checks the webhook settings read from the file (the environment is checked on read).
    pub fn validate_webhooks(&self) -> Result<(), ConfigError> {
        let zero = [
            ("webhook_timeout_ms", self.webhook_timeout_ms == 0),
            (
                "webhook_retry_period_secs",
                self.webhook_retry_period_secs == 0,
            ),
            ("webhook_backoff_base_ms", self.webhook_backoff_base_ms == 0),
            ("webhook_backoff_max_ms", self.webhook_backoff_max_ms == 0),
            ("webhook_poll_ms", self.webhook_poll_ms == 0),
            ("webhook_retention_secs", self.webhook_retention_secs == 0),
            (
                "webhook_failed_retention_secs",
                self.webhook_failed_retention_secs == 0,
            ),
            (
                "webhook_prune_interval_ms",
                self.webhook_prune_interval_ms == 0,
            ),
            ("webhook_concurrency", self.webhook_concurrency == 0),
        ];
        match zero.iter().find(|(_, is_zero)| *is_zero) {
            Some((name, _)) => Err(ConfigError::Invalid {
                name,
                message: "must be greater than 0".into(),
            }),
            None => Ok(()),
        }
    }

    /// The resolved master token, refused unless it is long enough to resist guessing.
    pub fn checked_api_token(&self) -> Result<&str, ConfigError> {
        let token = self
            .api_token
            .as_deref()
            .ok_or(ConfigError::MissingApiToken)?;
        let len = token.chars().count();
        if len < MIN_API_TOKEN_LEN {
            return Err(ConfigError::WeakApiToken { len });
        }
        Ok(token)
    }

    pub fn database(&self) -> Result<DatabaseUrl, ConfigError> {
        let Some(url) = &self.database_url else {
            return Ok(DatabaseUrl::Sqlite(self.data_dir.join("opencalls.db")));
        };
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err(invalid_db("the sqlite path is empty"));
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            if self.database_pool_size == 0 {
                return Err(ConfigError::Invalid {
                    name: "OPENCALLS_DATABASE_POOL_SIZE",
                    message: "must be at least 1".to_owned(),
                });
            }
            return Ok(DatabaseUrl::Postgres {
                url: url.clone(),
                pool_size: self.database_pool_size,
            });
        }
        Err(invalid_db(
            "expected sqlite://PATH or postgres://user@host:port/db",
        ))
    }

    /// Makes sure an API token is set: the configured one, else the one stored in the data
    /// directory, else a new random one that is stored there. Returns `true` when a new
    /// token was generated (the caller prints it once).
    pub fn resolve_api_token(&mut self) -> Result<bool, ConfigError> {
        if self.api_token.is_some() {
            return Ok(false);
        }
        let path = self.data_dir.join("api-token");
        let token_err = |source| ConfigError::TokenFile {
            path: path.clone(),
            source,
        };
        if let Ok(stored) = std::fs::read_to_string(&path) {
            let stored = stored.trim();
            if !stored.is_empty() {
                self.api_token = Some(stored.to_owned());
                return Ok(false);
            }
        }
        std::fs::create_dir_all(&self.data_dir).map_err(token_err)?;
        let token = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        write_private(&path, &token).map_err(token_err)?;
        self.api_token = Some(token);
        Ok(true)
    }
}

/// The boolean in `var(name)` (unset or empty: `None`): `true`/`1`/`on` or `false`/`0`/`off`.
pub(crate) fn boolean_var(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<bool>, ConfigError> {
    let Some(raw) = var(name).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    match raw.trim() {
        "true" | "1" | "on" => Ok(Some(true)),
        "false" | "0" | "off" => Ok(Some(false)),
        _ => Err(ConfigError::Invalid {
            name,
            message: format!("expected true or false, got '{raw}'"),
        }),
    }
}

fn parse_positive(name: &'static str, value: &str) -> Result<u64, ConfigError> {
    match value.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(ConfigError::Invalid {
            name,
            message: format!("expected a positive integer, got '{value}'"),
        }),
    }
}

impl Config {
    /// The client-protocol settings.
    pub fn signal_config(&self) -> opencalls_signal::SignalConfig {
        use std::time::Duration;
        opencalls_signal::SignalConfig {
            heartbeat_interval: Duration::from_millis(self.heartbeat_interval_ms),
            heartbeat_timeout: Duration::from_millis(self.heartbeat_timeout_ms),
            reconnect_grace: Duration::from_millis(self.reconnect_grace_ms),
            max_message_bytes: self.ws_max_message_bytes,
            send_timeout: Duration::from_millis(self.ws_send_timeout_ms),
            limits: self.limits(),
            turn: self.turn_config(),
        }
    }
}

fn invalid_db(message: &str) -> ConfigError {
    ConfigError::Invalid {
        name: "OPENCALLS_DATABASE_URL",
        message: message.to_owned(),
    }
}

/// Writes a secret readable by the owner only (on Unix).
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    std::io::Write::write_all(&mut file, contents.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every boolean setting takes the same spellings; anything else is refused by name.
    #[test]
    fn boolean_settings_take_true_and_false_in_three_spellings() {
        let read = |value: &str| {
            let value = value.to_owned();
            boolean_var(&move |_: &str| Some(value.clone()), "OPENCALLS_X")
        };
        for on in ["true", "1", "on", " true "] {
            assert_eq!(read(on).unwrap(), Some(true), "{on}");
        }
        for off in ["false", "0", "off"] {
            assert_eq!(read(off).unwrap(), Some(false), "{off}");
        }
        assert_eq!(read("").unwrap(), None);
        let err = read("yes").unwrap_err().to_string();
        assert!(
            err.contains("OPENCALLS_X") && err.contains("'yes'"),
            "{err}"
        );
        let mut config = Config::default();
        config
            .apply_env(|n| (n == "OPENCALLS_WEBHOOK_ALLOW_PRIVATE_TARGETS").then(|| "on".into()))
            .unwrap();
        assert!(config.webhook_allow_private_targets);
    }

    #[test]
    fn env_overrides_defaults() {
        let mut config = Config::default();
        config
            .apply_env(|name| match name {
                "OPENCALLS_HTTP_ADDR" => Some("127.0.0.1:9999".into()),
                "OPENCALLS_DATABASE_URL" => Some("sqlite:///tmp/x.db".into()),
                _ => None,
            })
            .unwrap();
        assert_eq!(config.http_addr.port(), 9999);
        assert_eq!(
            config.database().unwrap(),
            DatabaseUrl::Sqlite("/tmp/x.db".into())
        );
    }

    #[test]
    fn bad_values_are_reported() {
        let mut config = Config::default();
        assert!(
            config
                .apply_env(|n| (n == "OPENCALLS_HTTP_ADDR").then(|| "nope".into()))
                .is_err()
        );
        config.database_url = Some("mysql://x".into());
        assert!(config.database().is_err());
        config.database_url = Some("postgres://u@h:5432/db".into());
        assert_eq!(
            config.database().unwrap(),
            DatabaseUrl::Postgres {
                url: "postgres://u@h:5432/db".into(),
                pool_size: opencalls_store_postgres::DEFAULT_POOL_SIZE
            }
        );
    }

    #[test]
    fn webhook_settings_from_env() {
        let mut config = Config::default();
        config
            .apply_env(|name| match name {
                "OPENCALLS_WEBHOOK_TIMEOUT_MS" => Some("250".into()),
                "OPENCALLS_WEBHOOK_CONCURRENCY" => Some("4".into()),
                _ => None,
            })
            .unwrap();
        assert_eq!(config.webhook_timeout_ms, 250);
        assert_eq!(config.webhook_concurrency, 4);
        assert_eq!(config.webhook_retry_period_secs, 86_400);
        assert!(
            Config::default()
                .apply_env(|n| (n == "OPENCALLS_WEBHOOK_POLL_MS").then(|| "0".into()))
                .is_err()
        );
        let zero = Config {
            webhook_concurrency: 0,
            ..Config::default()
        };
        assert!(zero.validate_webhooks().is_err());
    }

    #[test]
    fn signaling_knobs_come_from_the_environment() {
        let mut config = Config::default();
        config
            .apply_env(|name| match name {
                "OPENCALLS_SESSION_TTL_SECS" => Some("60".into()),
                "OPENCALLS_RECONNECT_GRACE_MS" => Some("0".into()),
                "OPENCALLS_HEARTBEAT_TIMEOUT_MS" => Some("900".into()),
                _ => None,
            })
            .unwrap();
        assert_eq!(config.session_ttl_secs, 60);
        let signal = config.signal_config();
        assert_eq!(signal.reconnect_grace, std::time::Duration::ZERO);
        assert_eq!(signal.heartbeat_timeout.as_millis(), 900);
        for (name, bad) in [
            ("OPENCALLS_SESSION_TTL_SECS", "0"),
            ("OPENCALLS_HEARTBEAT_INTERVAL_MS", "soon"),
            ("OPENCALLS_WS_MAX_MESSAGE_BYTES", "-1"),
        ] {
            let err = Config::default()
                .apply_env(|n| (n == name).then(|| bad.to_owned()))
                .unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }

    #[test]
    fn generated_token_is_stored_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            data_dir: dir.path().to_owned(),
            ..Config::default()
        };
        assert!(config.resolve_api_token().unwrap());
        let first = config.api_token.clone().unwrap();
        let mut again = Config {
            data_dir: dir.path().to_owned(),
            ..Config::default()
        };
        assert!(!again.resolve_api_token().unwrap());
        assert_eq!(again.api_token.unwrap(), first);
    }
}
