//! `opencalls`: the server binary. Parses the command line, sets up logging, and hands over
//! to `opencalls_server::launch` (`serve`) or to the developer helper (`dev`).
#![forbid(unsafe_code)]

mod dev;

use anyhow::Context;
use clap::{Parser, Subcommand};
use opencalls_server::Config;
use std::path::PathBuf;

/// mimalloc instead of the system allocator: a Platform API request makes a few dozen
/// short-lived allocations, and glibc's malloc/free were a fifth of the instructions of
/// `GET /v1/rooms/{id}` (docs/BENCHMARKS.md, issue 15).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The OpenCalls server.
#[derive(Parser)]
#[command(
    name = "opencalls",
    version,
    arg_required_else_help = true,
    after_help = "Settings come from FILE (TOML) and OPENCALLS_* environment variables; see \
                  docs/configuration.md."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Starts the OpenCalls server.
    #[command(
        after_help = "The server listens on OPENCALLS_HTTP_ADDR (default 127.0.0.1:8080) and \
                            serves the Platform API (/v1), the client protocol (/v1/ws), the \
                            browser SDK (/sdk/), the demo (/demo/) and the API reference (/api/)."
    )]
    Serve {
        /// The TOML settings file (default: $OPENCALLS_CONFIG, if set).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Prepares a running local server for trying it out: creates users with access tokens,
    /// a video room and a live event, and prints demo links that enter them.
    #[command(
        after_help = "Example: `opencalls serve` in one terminal, then `opencalls dev` in \
                            another, and open the printed links in two browser tabs. The server \
                            URL and API token come from the same settings as `serve` (FILE, \
                            OPENCALLS_* variables, the token stored in the data directory) \
                            unless given here."
    )]
    Dev {
        /// The TOML settings file of the server (default: $OPENCALLS_CONFIG, if set).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The server's URL (default: http:// and the configured OPENCALLS_HTTP_ADDR).
        #[arg(long, value_name = "URL")]
        url: Option<String>,
        /// The server's master API token (default: the configured one).
        #[arg(long, value_name = "TOKEN")]
        api_token: Option<String>,
        /// The users to create or re-issue tokens for, comma-separated; the first hosts the
        /// live event.
        #[arg(
            long,
            value_name = "IDS",
            value_delimiter = ',',
            default_value = "alice,bob"
        )]
        users: Vec<String>,
    },
    /// Writes a consistent copy of the database to FILE while the server keeps running
    /// (restoring: docs/operations.md).
    Backup {
        /// The new backup file (must not exist).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The TOML settings file naming the database (default: $OPENCALLS_CONFIG, if set).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

/// Parses the command line (usage errors exit with status 2, `help` and `--version` with 0),
/// sets up logging and runs the command.
fn main() -> anyhow::Result<()> {
    let command = Cli::parse().command;
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    match command {
        Command::Serve { config } => {
            init_logging();
            runtime.block_on(serve(config_path(config)))
        }
        Command::Backup { file, config } => {
            init_logging();
            backup(config_path(config), &file)
        }
        Command::Dev {
            config,
            url,
            api_token,
            users,
        } => {
            let args = dev_args(config_path(config), url, api_token, users)?;
            runtime.block_on(dev::run(args))
        }
    }
}

fn config_path(flag: Option<PathBuf>) -> Option<PathBuf> {
    flag.or_else(|| std::env::var_os("OPENCALLS_CONFIG").map(PathBuf::from))
}

/// Fills what `dev` was not told from the server's settings.
fn dev_args(
    config_file: Option<PathBuf>,
    url: Option<String>,
    api_token: Option<String>,
    users: Vec<String>,
) -> anyhow::Result<dev::DevArgs> {
    let config = Config::load(config_file.as_deref())?;
    let url = match url {
        Some(url) => url,
        None => {
            // A server bound to every interface is reached on loopback from here.
            let mut addr = config.http_addr;
            if addr.ip().is_unspecified() {
                addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            format!("http://{addr}")
        }
    };
    let url = reqwest::Url::parse(&url).with_context(|| format!("--url {url:?} is not a URL"))?;
    let api_token = match api_token.or(config.api_token.clone()) {
        Some(token) => token,
        None => stored_token(&config)?,
    };
    let users = users
        .into_iter()
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty())
        .collect();
    Ok(dev::DevArgs {
        url,
        api_token,
        users,
    })
}

/// The token `serve` generated into the data directory, without generating a new one.
fn stored_token(config: &Config) -> anyhow::Result<String> {
    let path = config.data_dir.join("api-token");
    let token = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "no API token: give --api-token, set OPENCALLS_API_TOKEN, or start `opencalls serve` \
             once with this data directory ({} was not readable)",
            path.display()
        )
    })?;
    Ok(token.trim().to_owned())
}

fn backup(config_file: Option<PathBuf>, file: &std::path::Path) -> anyhow::Result<()> {
    let config = Config::load(config_file.as_deref())?;
    let summary = opencalls_server::backup(&config, file)
        .with_context(|| format!("backing up into {}", file.display()))?;
    println!(
        "Backed up {} pages ({} bytes) into {}",
        summary.pages,
        summary.bytes,
        file.display()
    );
    Ok(())
}

async fn serve(config_file: Option<PathBuf>) -> anyhow::Result<()> {
    let mut config = Config::load(config_file.as_deref())?;
    if config.resolve_api_token()? {
        let token = config.api_token.as_deref().unwrap_or_default();
        println!(
            "Generated a master API token (stored in {}): {token}",
            config.data_dir.display()
        );
    }
    // Refuse a guessable token before anything listens.
    config.checked_api_token()?;
    let listener = tokio::net::TcpListener::bind(config.http_addr)
        .await
        .with_context(|| format!("binding {}", config.http_addr))?;
    println!("OpenCalls listening on http://{}", listener.local_addr()?);
    opencalls_server::launch(config, listener, shutdown_signal()).await?;
    Ok(())
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OPENCALLS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("OPENCALLS_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested");
}
