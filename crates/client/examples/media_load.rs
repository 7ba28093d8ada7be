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
//! (frames each receiver got from each source ÷ frames that source sent in the window). The
//! media peer's payloads carry no send timestamp, so no latency is measured here.

use anyhow::{Context, Result, bail};
use clap::Parser;
use opencalls_client::Client;
use opencalls_client::media::{PeerConfig, PeerHandle, PeerStats, join_live_media, join_media};
use opencalls_domain::RoomType;
use opencalls_testkit::cli::ServerArgs;
use opencalls_testkit::platform::{NewRoom, PlatformApi};
use std::time::{Duration, Instant};

/// Payload bytes per video RTP packet assumed for the packet estimate: str0m 0.25 packetizes
/// for a 1150-byte datagram (`DATAGRAM_MTU_TARGET`) minus up to 80 bytes of RTP overhead.
const VIDEO_PACKET_BYTES: f64 = 1070.0;
/// Clock ticks per second of /proc times (USER_HZ; 100 on Linux for x86 and arm).
const CLK_TCK: f64 = 100.0;

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
    /// Each publisher's video bitrate.
    #[arg(long, default_value_t = 1500)]
    video_kbps: u32,
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

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: &str) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let rest = stat.rsplit_once(')').context("stat format")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After "pid (comm)": state is field 3, utime 14 and stime 15 (1-based).
    let utime: f64 = fields.get(11).context("utime")?.parse()?;
    let stime: f64 = fields.get(12).context("stime")?.parse()?;
    Ok((utime + stime) / CLK_TCK)
}

/// A new user's connected device, named after this run and `name`.
async fn device(api: &PlatformApi, name: &str) -> Result<Client> {
    Ok(api.device(&user_id(name)).await?)
}

fn user_id(name: &str) -> String {
    format!("media-{}-{name}", std::process::id())
}

/// One device with its media: what it sends (its tag) and which tags it should receive.
struct Member {
    _client: Client,
    peer: PeerHandle,
    tag: u32,
    expects: Vec<u32>,
}

fn publisher(o: &Opts, tag: u32, slots: usize) -> PeerConfig {
    PeerConfig {
        tag,
        recv_audio_slots: slots,
        recv_video_slots: slots,
        video_bitrate_bps: o.video_kbps * 1000,
        video_fps: 30,
        ..PeerConfig::default()
    }
}

/// G rooms of P participants, each publishing and receiving everyone else in its room.
async fn rooms(o: &Opts, api: &PlatformApi, members: &mut Vec<Member>) -> Result<()> {
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
            members.push(Member {
                _client: client,
                peer,
                tag,
                expects,
            });
        }
    }
    Ok(())
}

/// One live event: the host publishes, sets it ready, V viewers enter and offer
/// receive-only, then the host starts it.
async fn live_event(o: &Opts, api: &PlatformApi, members: &mut Vec<Member>) -> Result<()> {
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
        members.push(Member {
            _client: client,
            peer,
            tag,
            expects: vec![HOST_TAG],
        });
    }
    host.live_start(id).await?;
    members.push(Member {
        _client: host,
        peer: host_peer,
        tag: HOST_TAG,
        expects: Vec::new(),
    });
    Ok(())
}

/// Frames sent by each source and received per (receiver, source), at one instant.
struct Snapshot {
    stats: Vec<PeerStats>,
    server_cpu: f64,
    own_cpu: f64,
    at: Instant,
}

fn snapshot(o: &Opts, members: &[Member]) -> Result<Snapshot> {
    Ok(Snapshot {
        stats: members.iter().map(|m| m.peer.stats()).collect(),
        server_cpu: cpu_seconds(&o.server_pid.to_string())?,
        own_cpu: cpu_seconds("self")?,
        at: Instant::now(),
    })
}

#[derive(Default)]
struct Totals {
    audio: u64,
    video: u64,
    video_bytes: u64,
    expected: u64,
}

fn totals(members: &[Member], a: &Snapshot, b: &Snapshot) -> Totals {
    let sent = |s: &Snapshot, tag: u32| {
        members
            .iter()
            .position(|m| m.tag == tag)
            .map_or(0, |i| s.stats[i].audio_sent + s.stats[i].video_frames_sent)
    };
    let mut t = Totals::default();
    for (i, m) in members.iter().enumerate() {
        for &src in &m.expects {
            let (x, y) = (a.stats[i].from_source(src), b.stats[i].from_source(src));
            t.audio += y.audio_frames.saturating_sub(x.audio_frames);
            t.video += y.video_frames.saturating_sub(x.video_frames);
            t.video_bytes += y.bytes.saturating_sub(x.bytes);
            t.expected += sent(b, src).saturating_sub(sent(a, src));
        }
    }
    t
}

#[tokio::main]
async fn main() -> Result<()> {
    let o = opts()?;
    let api = o.target.api();
    let started = Instant::now();
    let mut members = Vec::new();
    rooms(&o, &api, &mut members).await?;
    live_event(&o, &api, &mut members).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !members.iter().all(|m| m.peer.stats().connected) {
        if Instant::now() > deadline {
            bail!("not every media peer connected within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
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
    let a = snapshot(&o, &members)?;
    tokio::time::sleep(Duration::from_secs(o.seconds)).await;
    let b = snapshot(&o, &members)?;
    report(&members, &a, &b);
    for m in members {
        m.peer.stop().await;
    }
    Ok(())
}

fn report(members: &[Member], a: &Snapshot, b: &Snapshot) {
    let t = totals(members, a, b);
    let secs = (b.at - a.at).as_secs_f64();
    let server_cpu = b.server_cpu - a.server_cpu;
    let frames = t.audio + t.video;
    let per_frame = if t.video == 0 {
        0.0
    } else {
        (t.video_bytes as f64 / t.video as f64 / VIDEO_PACKET_BYTES).ceil()
    };
    let packets = t.audio as f64 + t.video as f64 * per_frame;
    let loss = 1.0 - frames as f64 / t.expected.max(1) as f64;
    println!("window {secs:.1}s");
    println!(
        "received (= forwarded) frames: {frames} ({:.0}/s; audio {}, video {})",
        frames as f64 / secs,
        t.audio,
        t.video
    );
    println!(
        "estimated forwarded RTP packets: {packets:.0} ({:.0}/s; video ~{per_frame} packets/frame)",
        packets / secs
    );
    println!(
        "server CPU: {server_cpu:.2}s ({:.0}% of one core); generator CPU: {:.2}s",
        100.0 * server_cpu / secs,
        b.own_cpu - a.own_cpu
    );
    println!(
        "forwarded frames per server CPU-second: {:.0}",
        frames as f64 / server_cpu.max(0.01)
    );
    println!(
        "forwarded packets (est.) per server CPU-second: {:.0}",
        packets / server_cpu.max(0.01)
    );
    println!(
        "frame loss: {:.3}% ({} expected, {frames} received)",
        100.0 * loss,
        t.expected
    );
    println!("latency: not measured (the media peer's payloads carry no send timestamp)");
}
