//! `opencalls`: the server binary. Parses the command line, sets up logging, and hands over
//! to `opencalls_server::launch`.
#![forbid(unsafe_code)]

use anyhow::Context;
use clap::{Parser, Subcommand};
use opencalls_server::Config;
use std::path::PathBuf;

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
    Serve {
        /// The TOML settings file (default: $OPENCALLS_CONFIG, if set).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
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

/// Parses the command line (usage errors exit with status 2, `help` with 0), sets up
/// logging and runs the server.
fn main() -> anyhow::Result<()> {
    let config_file = |config: Option<PathBuf>| {
        config.or_else(|| std::env::var_os("OPENCALLS_CONFIG").map(PathBuf::from))
    };
    init_logging();
    match Cli::parse().command {
        Command::Serve { config } => {
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            runtime.block_on(serve(config_file(config)))
        }
        Command::Backup { file, config } => backup(config_file(config), &file),
    }
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
