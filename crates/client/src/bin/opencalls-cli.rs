//! Enter a room or a live event from a terminal and watch its events (manual checks).
//!
//! `opencalls-cli --server http://127.0.0.1:8080 --user alice --access-token TOKEN --room ROOM_ID`
//! then type `audio on|off`, `video on|off`, `ping` or `exit` (Ctrl-D exits too).
//! With `--live LIVE_EVENT_ID [--host]` instead of `--room`: also `ready`, `start`, `end`
//! and `say <text>` (chat).
//!
//! Direct calls: `opencalls-cli … dial bob [--video]` rings every device of `bob`;
//! `opencalls-cli … answer` waits for a call to ring and accepts it. Then `audio on|off`,
//! `video on|off` and `hangup`; the CLI prints the server's `end_result`, `ended_by` and
//! `duration` and exits when the call ends.

use anyhow::Result;
use clap::{CommandFactory, Parser, Subcommand};
use opencalls_client::{Client, ClientError, DialOptions, Incoming, open_session};
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

/// What the interactive commands act on.
enum Target {
    Room(String),
    Live { id: String },
    Call(String),
}

/// What to do instead of entering a room or a live event.
#[derive(Subcommand)]
enum CallCommand {
    /// Ring every connected device of a user and wait for the answer.
    Dial {
        /// The user to call.
        callee: String,
        /// A video call (the default is audio only).
        #[arg(long)]
        video: bool,
    },
    /// Wait for a call to ring on this device and accept it.
    Answer,
}

/// Enter a room or a live event from a terminal and watch its events.
#[derive(Parser)]
#[command(name = "opencalls-cli")]
struct Cli {
    /// The server's HTTP base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// The user to connect as.
    #[arg(long, allow_hyphen_values = true)]
    user: String,
    /// The user's access token. Tokens are random URL-safe text, so one may begin with `-`
    /// (without `allow_hyphen_values`, clap would read such a token as an unknown option).
    #[arg(long, allow_hyphen_values = true)]
    access_token: String,
    /// The room to enter.
    #[arg(long, value_name = "ROOM_ID", conflicts_with = "live")]
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
    #[command(subcommand)]
    call: Option<CallCommand>,
}

/// What the command line asks for before the interactive part.
enum Start {
    Room(String),
    Live { id: String, host: bool },
    Dial { callee: String, video: bool },
    Answer,
}

struct Args {
    server: String,
    user: String,
    access_token: String,
    start: Start,
    video: bool,
}

/// The command line; exactly one of `--room`, `--live`, `dial` and `answer` (exits with 2
/// otherwise, as clap does for its own usage errors).
fn args() -> Args {
    let cli = Cli::parse();
    let start = match (cli.room, cli.live, cli.call) {
        (Some(room), None, None) => Start::Room(room),
        (None, Some(id), None) => Start::Live { id, host: cli.host },
        (None, None, Some(CallCommand::Dial { callee, video })) => Start::Dial { callee, video },
        (None, None, Some(CallCommand::Answer)) => Start::Answer,
        _ => Cli::command()
            .error(
                clap::error::ErrorKind::ArgumentConflict,
                "give exactly one of --room, --live, dial or answer",
            )
            .exit(),
    };
    Args {
        server: cli.server,
        user: cli.user,
        access_token: cli.access_token,
        start,
        video: cli.video,
    }
}

/// Enters what the command line names; returns the target of the interactive commands.
async fn begin(client: &mut Client, args: &Args) -> Result<Target> {
    Ok(match &args.start {
        Start::Room(room) => {
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
            Target::Room(room.clone())
        }
        Start::Live { id, host } => {
            let role = if *host { "host" } else { "participant" };
            let entered = client.live_enter(id, role, true, true).await?;
            println!("entered as {role}: {}", entered["live_event"]);
            Target::Live { id: id.clone() }
        }
        Start::Dial { callee, video } => {
            let options = DialOptions {
                is_video_call: *video,
                ..DialOptions::default()
            };
            let call = client.dial(callee, options).await?;
            println!("dialed {} ({})", call.call_id, call.state.as_str());
            Target::Call(call.call_id.to_string())
        }
        Start::Answer => {
            println!("waiting for a call");
            let rang = client
                .wait_for(
                    Duration::from_secs(3600),
                    |m| matches!(m, Incoming::Event { name, .. } if name == "call.dialed"),
                )
                .await;
            let Some(Incoming::Event { call_id, data, .. }) = rang else {
                anyhow::bail!("the connection closed before a call rang");
            };
            println!("ringing {call_id} from {}", data["call"]["started_by"]);
            let call = client.accept(&call_id, None, None).await?;
            println!("accepted {} ({})", call.call_id, call.state.as_str());
            Target::Call(call_id)
        }
    })
}

/// Prints an event; `true` once the call the CLI is in has ended.
fn show(name: &str, data: &Value) -> bool {
    if name == "call.ended" {
        println!(
            "ended {} by {} after {} ms",
            data["end_result"].as_str().unwrap_or("?"),
            data["ended_by"].as_str().unwrap_or("nobody"),
            data["duration"]
        );
        return true;
    }
    println!("event {name}: {data}");
    false
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = args();
    let session = open_session(&args.server, &args.user, &args.access_token).await?;
    let ws = args.server.replacen("http", "ws", 1);
    let mut client = Client::connect(&ws, &session.session_token, None).await?;
    println!("connected as {} (client {})", args.user, client.client_id());
    let target = begin(&mut client, &args).await?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        tokio::select! {
            line = lines.next_line() => {
                let line = line?.unwrap_or_else(|| "exit".into());
                let Some(result) = command(&client, &target, line.trim()).await else {
                    client.close().await;
                    return Ok(());
                };
                match result {
                    Ok(v) => println!("ok {v}"),
                    Err(e) => println!("error: {e}"),
                }
            }
            incoming = client.next_incoming(Duration::from_secs(3600)) => match incoming {
                Some(Incoming::Event { name, data, .. })
                    if show(&name, &data) && matches!(target, Target::Call(_)) =>
                {
                    client.close().await;
                    return Ok(());
                }
                Some(Incoming::Event { .. }) => {}
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
        (Target::Call(id), ["audio", w]) => json(client.call_set_media(id, on(w), None).await),
        (Target::Call(id), ["video", w]) => json(client.call_set_media(id, None, on(w)).await),
        (Target::Call(id), ["hangup" | "exit"]) => {
            if let Ok(call) = client.end_call(id).await {
                let result = call.end_result.map_or("?", |r| r.as_str());
                let by = call.ended_by.as_ref().map_or("nobody", |u| u.as_str());
                println!("ended {result} by {by} after {} ms", call.duration);
            }
            return None;
        }
        _ => {
            println!(
                "commands: audio on|off, video on|off, ping, exit; live: ready, start, end, say <text>; call: hangup"
            );
            return Some(Ok(Value::Null));
        }
    })
}

/// A typed result as the JSON the CLI prints.
fn json<T: serde::Serialize>(result: Result<T, ClientError>) -> Result<Value, ClientError> {
    result.map(|v| serde_json::to_value(v).unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_access_token_that_begins_with_a_hyphen_is_a_token_not_an_option() {
        let cli = Cli::try_parse_from([
            "opencalls-cli",
            "--user",
            "-alice",
            "--access-token",
            "-T3xk_9",
            "--room",
            "r1",
        ])
        .expect("parses");
        assert_eq!(cli.access_token, "-T3xk_9");
        assert_eq!(cli.user, "-alice");
        assert!(Cli::try_parse_from(["opencalls-cli", "--user", "a", "--access-token"]).is_err());
    }
}
