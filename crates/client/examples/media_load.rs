//! Media load generator through the whole server (signaling + SFU), built on the Rust client:
//! G small video rooms with P publishing participants each (Opus-sized audio at 50 packets/s,
//! VP8-shaped video at the given bitrate) plus one live event whose host publishes to V
//! receive-only viewers. Every device is a real WebSocket client with its own media peer on
//! 127.0.0.1 (see scripts/bench-media.sh).
//!
//! `cargo run --release -p opencalls-client --example media_load -- --server
//!  http://127.0.0.1:8080 --api-token T --server-pid PID [--groups 2] [--per-group 3]
//!  [--viewers 20] [--seconds 15] [--video-kbps 1500] [--warmup 3]`
//!
//! After all peers are connected and a warm-up, it measures for `--seconds`: frames received
//! by all peers (what the server forwarded; the SFU's own counters are not exposed on
//! `/metrics`), an estimate of the RTP packets behind them, the server process's CPU time
//! (`/proc/<pid>/stat` utime+stime, so the generator's CPU does not count) and frame loss
//! (frames each receiver got from each source ÷ frames that source sent in the window) and
//! latency sender → receiver from the send stamp in every synthetic payload (see
//! `opencalls_media_peer::load`, shared with the Janus driver `janus_load.rs`).

use anyhow::{Result, bail};
use clap::Parser;
use opencalls_client::Client;
use opencalls_client::media::{PeerConfig, PeerHandle, join_live_media, join_media};
use opencalls_domain::RoomType;
use opencalls_media_peer::load::{Member, Snapshot, Window};
use opencalls_testkit::cli::ServerArgs;
use opencalls_testkit::platform::{NewRoom, PlatformApi};
use std::time::{Duration, Instant};

/// Media load through the whole server: G video rooms of P publishers plus one live event.
#[derive(Parser)]
struct Opts {
    #[command(flatten)]
    target: ServerArgs,
    /// The server's process id (its CPU time is read from /proc).
    #[arg(long)]
    server_pid: u32,
    /// Video rooms.
    #[arg(long, default_value_t = 2)]
    groups: usize,
    /// Publishing participants per room (clamped to 2..=6).
    #[arg(long, default_value_t = 3)]
    per_group: usize,
    /// Receive-only viewers of the live event.
    #[arg(long, default_value_t = 20)]
    viewers: usize,
    /// How long to measure.
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Seconds of warm-up before measuring.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Each publisher's video bitrate (its top layer's, with `--simulcast`).
    #[arg(long, default_value_t = 1500)]
    video_kbps: u32,
    /// Publishers send three simulcast layers, as the browser SDK does.
    #[arg(long)]
    simulcast: bool,
}

/// The options with `--per-group` clamped and `--server-pid` required to be non-zero.
fn opts() -> Result<Opts> {
    let mut o = Opts::parse();
    o.per_group = o.per_group.clamp(2, 6);
    if o.server_pid == 0 {
        bail!("--server-pid is required (the server's CPU time is read from /proc)");
    }
    Ok(o)
}

/// A new user's connected device, named after this run and `name`.
async fn device(api: &PlatformApi, name: &str) -> Result<Client> {
    Ok(api.device(&user_id(name)).await?)
}

fn user_id(name: &str) -> String {
    format!("media-{}-{name}", std::process::id())
}

/// The load: every media peer (what it sends, what it should receive) and the WebSocket
/// clients that keep their seats.
#[derive(Default)]
struct Load {
    members: Vec<Member>,
    clients: Vec<Client>,
}

impl Load {
    fn push(&mut self, client: Client, peer: PeerHandle, tag: u32, expects: Vec<u32>) {
        self.clients.push(client);
        self.members.push(Member { peer, tag, expects });
    }
}

fn publisher(o: &Opts, tag: u32, slots: usize) -> PeerConfig {
    PeerConfig {
        tag,
        recv_audio_slots: slots,
        recv_video_slots: slots,
        video_bitrate_bps: o.video_kbps * 1000,
        video_fps: 30,
        simulcast: o.simulcast,
        ..PeerConfig::default()
    }
}

/// G rooms of P participants, each publishing and receiving everyone else in its room.
async fn rooms(o: &Opts, api: &PlatformApi, load: &mut Load) -> Result<()> {
    for g in 0..o.groups {
        let created = api
            .create_room(&NewRoom::of(RoomType::SmallRoomForVideo))
            .await?;
        let room = created.room_id.as_str();
        let tags: Vec<u32> = (0..o.per_group).map(|p| (g * 100 + p + 1) as u32).collect();
        for &tag in &tags {
            let client = device(api, &format!("r{tag}")).await?;
            client.enter(room, true, true).await?;
            let config = publisher(o, tag, o.per_group - 1);
            let (peer, _) = join_media(&client, room, config).await?;
            let expects = tags.iter().copied().filter(|&t| t != tag).collect();
            load.push(client, peer, tag, expects);
        }
    }
    Ok(())
}

/// One live event: the host publishes, sets it ready, V viewers enter and offer
/// receive-only, then the host starts it.
async fn live_event(o: &Opts, api: &PlatformApi, load: &mut Load) -> Result<()> {
    const HOST_TAG: u32 = 1_000_000;
    let host = device(api, "host").await?;
    let created = api.create_live_event(&[&user_id("host")]).await?;
    let id = created.live_event_id.as_str();
    host.live_enter(id, "host", true, true).await?;
    let (host_peer, _) = join_live_media(&host, id, publisher(o, HOST_TAG, 0)).await?;
    host.live_set_ready(id).await?;
    for v in 0..o.viewers {
        let tag = HOST_TAG + 1 + v as u32;
        let client = device(api, &format!("v{v}")).await?;
        client.live_enter(id, "participant", false, false).await?;
        let (peer, _) = join_live_media(&client, id, PeerConfig::viewer(tag)).await?;
        load.push(client, peer, tag, vec![HOST_TAG]);
    }
    host.live_start(id).await?;
    load.push(host, host_peer, HOST_TAG, Vec::new());
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let o = opts()?;
    let api = o.target.api();
    let started = Instant::now();
    let mut load = Load::default();
    rooms(&o, &api, &mut load).await?;
    live_event(&o, &api, &mut load).await?;
    let members = load.members;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !members.iter().all(|m| m.peer.is_connected()) {
        if Instant::now() > deadline {
            bail!("not every media peer connected within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "{} media peers connected in {:.1}s ({} rooms x {} + live host + {} viewers)",
        members.len(),
        started.elapsed().as_secs_f64(),
        o.groups,
        o.per_group,
        o.viewers
    );
    tokio::time::sleep(Duration::from_secs(o.warmup)).await;
    let a = Snapshot::take(o.server_pid, &members)?;
    tokio::time::sleep(Duration::from_secs(o.seconds)).await;
    let b = Snapshot::take(o.server_pid, &members)?;
    Window::between(&members, &a, &b).print("opencalls");
    for m in members {
        m.peer.stop().await;
    }
    drop(load.clients);
    Ok(())
}
