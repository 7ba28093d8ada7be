//! Enter a room from a terminal and watch its events (manual checks).
//!
//! `opencalls-cli --server http://127.0.0.1:8080 --user alice --access-token TOKEN --room ROOM_ID`
//! then type `audio on|off`, `video on|off`, `ping` or `exit` (Ctrl-D exits too).

use anyhow::{Context, Result, bail};
use opencalls_client::{Client, Incoming, open_session};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};

struct Args {
    server: String,
    user: String,
    access_token: String,
    room: String,
    video: bool,
}

fn args() -> Result<Args> {
    let mut server = "http://127.0.0.1:8080".to_owned();
    let (mut user, mut access_token, mut room, mut video) = (None, None, None, false);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--server" => server = value()?,
            "--user" => user = Some(value()?),
            "--access-token" => access_token = Some(value()?),
            "--room" => room = Some(value()?),
            "--video" => video = true,
            _ => bail!(
                "usage: opencalls-cli [--server URL] --user ID --access-token TOKEN --room ROOM_ID [--video]"
            ),
        }
    }
    Ok(Args {
        server,
        user: user.context("--user is required")?,
        access_token: access_token.context("--access-token is required")?,
        room: room.context("--room is required")?,
        video,
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = args()?;
    let session = open_session(&args.server, &args.user, &args.access_token).await?;
    let ws = args.server.replacen("http", "ws", 1);
    let mut client = Client::connect(&ws, &session.session_token, None).await?;
    println!("connected as {} (client {})", args.user, client.client_id());
    let entered = client.enter(&args.room, true, args.video).await?;
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
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    loop {
        tokio::select! {
            line = lines.next_line() => {
                let line = line?.unwrap_or_else(|| "exit".into());
                let words: Vec<&str> = line.split_whitespace().collect();
                let result = match words.as_slice() {
                    ["audio", on] => client.set_media(&args.room, Some(*on == "on"), None).await,
                    ["video", on] => client.set_media(&args.room, None, Some(*on == "on")).await,
                    ["ping"] => client.ping().await,
                    ["exit"] => {
                        client.exit(&args.room).await?;
                        client.close().await;
                        return Ok(());
                    }
                    _ => { println!("commands: audio on|off, video on|off, ping, exit"); continue; }
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
