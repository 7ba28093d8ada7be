//! Enter a room or a live event from a terminal and watch its events (manual checks).
//!
//! `opencalls-cli --server http://127.0.0.1:8080 --user alice --access-token TOKEN --room ROOM_ID`
//! then type `audio on|off`, `video on|off`, `ping` or `exit` (Ctrl-D exits too).
//! With `--live LIVE_EVENT_ID [--host]` instead of `--room`: also `ready`, `start`, `end`
//! and `say <text>` (chat).

use anyhow::Result;
use clap::Parser;
use opencalls_client::{Client, ClientError, Incoming, open_session};
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

enum Target {
    Room(String),
    Live { id: String, host: bool },
}

/// Enter a room or a live event from a terminal and watch its events.
#[derive(Parser)]
#[command(name = "opencalls-cli")]
struct Cli {
    /// The server's HTTP base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// The user to connect as.
    #[arg(long)]
    user: String,
    /// The user's access token.
    #[arg(long)]
    access_token: String,
    /// The room to enter.
    #[arg(
        long,
        value_name = "ROOM_ID",
        required_unless_present = "live",
        conflicts_with = "live"
    )]
    room: Option<String>,
    /// Enter the room with video on.
    #[arg(long)]
    video: bool,
    /// The live event to enter.
    #[arg(long, value_name = "LIVE_EVENT_ID")]
    live: Option<String>,
    /// Enter the live event as its host.
    #[arg(long)]
    host: bool,
}

struct Args {
    server: String,
    user: String,
    access_token: String,
    target: Target,
    video: bool,
}

/// The command line; exactly one of `--room` and `--live` (clap exits with 2 otherwise).
fn args() -> Args {
    let cli = Cli::parse();
    let target = match (cli.room, cli.live) {
        (Some(room), _) => Target::Room(room),
        (None, Some(id)) => Target::Live { id, host: cli.host },
        (None, None) => unreachable!("clap requires --room or --live"),
    };
    Args {
        server: cli.server,
        user: cli.user,
        access_token: cli.access_token,
        target,
        video: cli.video,
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = args();
    let session = open_session(&args.server, &args.user, &args.access_token).await?;
    let ws = args.server.replacen("http", "ws", 1);
    let mut client = Client::connect(&ws, &session.session_token, None).await?;
    println!("connected as {} (client {})", args.user, client.client_id());
    match &args.target {
        Target::Room(room) => {
            let entered = client.enter(room, true, args.video).await?;
            println!("entered: {}", entered["participant"]["participant_id"]);
            for p in entered["room"]["current_participants"]
                .as_array()
                .into_iter()
                .flatten()
            {
                println!(
                    "  in room: {} ({})",
                    p["user"]["user_id"], p["participant_id"]
                );
            }
        }
        Target::Live { id, host } => {
            let role = if *host { "host" } else { "participant" };
            let entered = client.live_enter(id, role, true, true).await?;
            println!("entered as {role}: {}", entered["live_event"]);
        }
    }
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        tokio::select! {
            line = lines.next_line() => {
                let line = line?.unwrap_or_else(|| "exit".into());
                let Some(result) = command(&client, &args.target, line.trim()).await else {
                    client.close().await;
                    return Ok(());
                };
                match result {
                    Ok(v) => println!("ok {v}"),
                    Err(e) => println!("error: {e}"),
                }
            }
            incoming = client.next_incoming(Duration::from_secs(3600)) => match incoming {
                Some(Incoming::Event { name, data, .. }) => println!("event {name}: {data}"),
                Some(Incoming::Closed { code }) => { println!("closed ({code:?})"); return Ok(()); }
                Some(other) => println!("{other:?}"),
                None => {}
            }
        }
    }
}

/// Runs one typed command; `None` once the client has exited.
async fn command(
    client: &Client,
    target: &Target,
    line: &str,
) -> Option<Result<Value, ClientError>> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let on = |w: &str| Some(w == "on");
    Some(match (target, words.as_slice()) {
        (_, ["ping"]) => client.ping().await,
        (Target::Room(room), ["audio", w]) => client.set_media(room, on(w), None).await,
        (Target::Room(room), ["video", w]) => client.set_media(room, None, on(w)).await,
        (Target::Room(room), ["exit"]) => {
            let _ = client.exit(room).await;
            return None;
        }
        (Target::Live { id, .. }, ["audio", w]) => client.live_set_media(id, on(w), None).await,
        (Target::Live { id, .. }, ["video", w]) => client.live_set_media(id, None, on(w)).await,
        (Target::Live { id, .. }, ["ready"]) => client.live_set_ready(id).await,
        (Target::Live { id, .. }, ["start"]) => client.live_start(id).await,
        (Target::Live { id, .. }, ["end"]) => client.live_end(id).await,
        (Target::Live { id, .. }, ["say", ..]) => {
            let text = line.trim_start_matches("say").trim();
            client.live_chat(id, text).await
        }
        (Target::Live { id, .. }, ["exit"]) => {
            let _ = client.live_exit(id).await;
            return None;
        }
        _ => {
            println!(
                "commands: audio on|off, video on|off, ping, exit; live: ready, start, end, say <text>"
            );
            return Some(Ok(Value::Null));
        }
    })
}
