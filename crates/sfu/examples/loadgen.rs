//! Load generator for the media layer: starts an in-process SFU on 127.0.0.1 with
//! `--workers` media workers, fills several video groups and one live group with many viewers
//! using media peers, and reports forwarded packets per SFU CPU-second (the `sfu-media-<i>`
//! threads only, read from /proc/self/task/<tid>/schedstat), frame loss and added forwarding
//! latency.
//!
//! Per worker it also reports its forwarded packets and CPU, and their ratio: the packets per
//! second that worker would forward with a core of its own. Their sum ("capacity") is the
//! fair way to compare 1 and 2 workers on a 2-core machine where the media peers need the
//! CPU too (the generator cannot saturate both workers without starving itself); the
//! wall-clock packets per second are printed beside it.
//!
//! cargo run --release -p opencalls-sfu --example loadgen -- [--groups N] [--peers-per-group N]
//!     [--viewers N] [--seconds N] [--video-kbps N] [--workers N] [--send-batch N]
//!     [--spread-live-groups true|false] [--realtime-priority 1..99] [--host-video true|false]
//!     [--host-simulcast true|false] [--pin-workers true|false] [--generator-idle true|false]
//!
//! `--generator-idle true` runs the generator's threads (the media peers) under
//! `SCHED_IDLE`: they then only take CPU the SFU's workers leave idle, as when the clients
//! are on other machines. Without it the 150 peers of a live event share the 2 cores with
//! the workers and preempt them in the middle of a fan-out, which adds their scheduling to
//! the SFU's latency.
//!
//! The old positional form (`loadgen 4 4 50 20 500`) is still accepted.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use clap::Parser;
use opencalls_media_peer::{Histogram, MediaPeer, PeerConfig, PeerHandle};
use opencalls_sfu::{AddPeer, GroupId, PeerId, Policy, Role, Sfu, SfuConfig, SfuHandle};

const LOCALHOST: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// Load generator for the SFU: video groups plus one live group, all in-process.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Number of video groups.
    #[arg(long, default_value_t = 4)]
    groups: usize,
    /// Publishers in each video group (each receives all the others).
    #[arg(long, default_value_t = 4)]
    peers_per_group: usize,
    /// Viewers of the live group (one host).
    #[arg(long, default_value_t = 50)]
    viewers: usize,
    /// Length of the measured window, after a 3 s warm-up.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Video bitrate of each publisher, kbit/s.
    #[arg(long, default_value_t = 500)]
    video_kbps: u32,
    /// Media workers (`SfuConfig::workers`; 0 = one per core).
    #[arg(long, default_value_t = 1)]
    workers: usize,
    /// Datagrams per send call (`SfuConfig::send_batch`; 1 = one send_to each).
    #[arg(long, default_value_t = opencalls_sfu::SEND_BATCH_LIMIT)]
    send_batch: usize,
    /// Later subscribers' datagrams built before a batch is sent (`SfuConfig::send_ahead`).
    #[arg(long, default_value_t = 0)]
    send_ahead: usize,
    /// Datagrams read between two copies of a fan-out (`SfuConfig::fan_out_reads`).
    #[arg(long, default_value_t = 0)]
    fan_out_reads: usize,
    /// Spread the live group's viewers over the workers (`SfuConfig::spread_live_groups`).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    spread_live_groups: bool,
    /// Run the media workers real-time at this priority (`SfuConfig::realtime_priority`;
    /// needs root): the load generator's own threads then never delay a fan-out.
    #[arg(long)]
    realtime_priority: Option<u8>,
    /// Whether the live group's host sends video (`false`: an audio-only live event).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    host_video: bool,
    /// The live group's host sends three simulcast layers, as the browser SDK does (the
    /// top one at `--video-kbps`): every viewer then runs the bandwidth estimator, and
    /// gets the layer it picks.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set)]
    host_simulcast: bool,
    /// Pin each media worker to a CPU of its own when there is one worker per CPU
    /// (`SfuConfig::pin_workers`).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pin_workers: bool,
    /// Run the generator's threads (the media peers) under `SCHED_IDLE`, so they never
    /// take a core from a media worker (the clients of a real server are elsewhere).
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set)]
    generator_idle: bool,
    /// The same values by position (`groups peers_per_group viewers seconds video_kbps`),
    /// as scripts written before the flags pass them; they override the flags.
    #[arg(num_args = 0..=5, value_name = "POSITIONAL")]
    positional: Vec<u64>,
}

impl Args {
    /// Applies the legacy positional values over the flags.
    fn resolved(mut self) -> Self {
        let p = std::mem::take(&mut self.positional);
        let get = |i: usize| p.get(i).copied();
        if let Some(v) = get(0) {
            self.groups = v as usize;
        }
        if let Some(v) = get(1) {
            self.peers_per_group = v as usize;
        }
        if let Some(v) = get(2) {
            self.viewers = v as usize;
        }
        if let Some(v) = get(3) {
            self.seconds = v;
        }
        if let Some(v) = get(4) {
            self.video_kbps = v as u32;
        }
        self
    }
}

/// Nanoseconds of CPU each media worker thread (`sfu-media-<i>`) has used, by index.
fn workers_cpu_ns(workers: usize) -> anyhow::Result<Vec<u64>> {
    let mut cpu = vec![None; workers];
    for entry in std::fs::read_dir("/proc/self/task")? {
        let dir = entry?.path();
        let comm = std::fs::read_to_string(dir.join("comm"))?;
        let Some(index) = comm.trim().strip_prefix("sfu-media-") else {
            continue;
        };
        let index: usize = index.parse()?;
        let schedstat = std::fs::read_to_string(dir.join("schedstat"))?;
        let ns: u64 = schedstat.split_whitespace().next().unwrap_or("0").parse()?;
        if let Some(slot) = cpu.get_mut(index) {
            *slot = Some(ns);
        }
    }
    cpu.into_iter()
        .enumerate()
        .map(|(i, ns)| ns.ok_or_else(|| anyhow::anyhow!("no thread sfu-media-{i}")))
        .collect()
}

/// Nanoseconds of CPU all threads of this process have used (sum of every task's schedstat).
fn process_cpu_ns() -> anyhow::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir("/proc/self/task")? {
        let schedstat = std::fs::read_to_string(entry?.path().join("schedstat"))?;
        total += schedstat
            .split_whitespace()
            .next()
            .unwrap_or("0")
            .parse::<u64>()?;
    }
    Ok(total)
}

struct Member {
    tag: u32,
    handle: PeerHandle,
    /// Tags of the sources this peer should receive.
    expects: Vec<u32>,
}

async fn join(
    sfu: &SfuHandle,
    group: &str,
    role: Role,
    cfg: PeerConfig,
) -> anyhow::Result<PeerHandle> {
    let id = format!("peer-{}", cfg.tag);
    let (peer, offer) = MediaPeer::new(cfg, LOCALHOST).await?;
    let req = AddPeer {
        group: GroupId(group.into()),
        peer: PeerId(id),
        role,
        offer,
        replaces: None,
    };
    let answer = sfu.add_peer(req).await?;
    Ok(peer.start(&answer)?)
}

async fn populate(sfu: &SfuHandle, a: &Args) -> anyhow::Result<Vec<Member>> {
    let mut members = Vec::new();
    let mut tag = 1u32;
    for g in 0..a.groups {
        let group = format!("room-{g}");
        sfu.create_group(GroupId(group.clone()), Policy::Video)
            .await?;
        let tags: Vec<u32> = (tag..tag + a.peers_per_group as u32).collect();
        for &t in &tags {
            let slots = a.peers_per_group - 1;
            let cfg = PeerConfig {
                tag: t,
                recv_audio_slots: slots,
                recv_video_slots: slots,
                video_bitrate_bps: a.video_kbps * 1000,
                audio_level: -20 - (t % 40) as i8,
                ..PeerConfig::default()
            };
            let handle = join(sfu, &group, Role::Participant, cfg).await?;
            members.push(Member {
                tag: t,
                handle,
                expects: tags.iter().copied().filter(|o| *o != t).collect(),
            });
        }
        tag += a.peers_per_group as u32;
    }
    sfu.create_group(GroupId("live".into()), Policy::Live)
        .await?;
    let host_tag = tag;
    let cfg = PeerConfig {
        tag: host_tag,
        send_video: a.host_video,
        simulcast: a.host_simulcast,
        video_bitrate_bps: a.video_kbps * 1000,
        ..PeerConfig::default()
    };
    members.push(Member {
        tag: host_tag,
        handle: join(sfu, "live", Role::Host, cfg).await?,
        expects: vec![],
    });
    for v in 0..a.viewers as u32 {
        let cfg = PeerConfig {
            tag: host_tag + 1 + v,
            send_audio: false,
            send_video: false,
            recv_audio_slots: 1,
            recv_video_slots: 1,
            ..PeerConfig::default()
        };
        let handle = join(sfu, "live", Role::Viewer, cfg).await?;
        members.push(Member {
            tag: host_tag + 1 + v,
            handle,
            expects: vec![host_tag],
        });
    }
    sfu.set_forwarding(GroupId("live".into()), true).await?;
    Ok(members)
}

/// (frames sent per source, frames received per (receiver, source)).
type Snapshot = (HashMap<u32, u64>, HashMap<(u32, u32), u64>);

/// Every receiver's sender → receiver audio latency so far, merged (µs histograms).
fn audio_latency(members: &[Member]) -> Histogram {
    let mut merged = Histogram::default();
    for m in members.iter().filter(|m| !m.expects.is_empty()) {
        merged.merge(&m.handle.stats().audio_latency);
    }
    merged
}

fn snapshot(members: &[Member]) -> Snapshot {
    let mut sent = HashMap::new();
    let mut received = HashMap::new();
    for m in members {
        let s = m.handle.stats();
        sent.insert(m.tag, s.audio_sent + s.video_frames_sent);
        for src in &m.expects {
            let c = s.from_source(*src);
            received.insert((m.tag, *src), c.audio_frames + c.video_frames);
        }
    }
    (sent, received)
}

/// Puts the calling thread under `SCHED_IDLE` (no privilege needed to lower a priority).
#[cfg(target_os = "linux")]
fn set_idle() {
    use thread_priority::{
        NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id,
    };
    let policy = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
    if let Err(e) = set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, policy)
    {
        eprintln!("generator thread keeps its scheduling policy: {e:?}");
    }
}

#[cfg(not(target_os = "linux"))]
fn set_idle() {
    eprintln!("--generator-idle is only supported on Linux");
}

/// The generator's runtime: 2 threads for the media peers; under `SCHED_IDLE` with
/// `--generator-idle`. The main thread (which starts the SFU, whose workers inherit its
/// policy) keeps the normal one.
fn main() -> anyhow::Result<()> {
    let a = Args::parse().resolved();
    let idle = a.generator_idle;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .on_thread_start(move || {
            if idle {
                set_idle();
            }
        })
        .build()?
        .block_on(run(a))
}

async fn run(a: Args) -> anyhow::Result<()> {
    let config = SfuConfig {
        workers: a.workers,
        send_batch: a.send_batch,
        send_ahead: a.send_ahead,
        fan_out_reads: a.fan_out_reads,
        spread_live_groups: a.spread_live_groups,
        realtime_priority: a.realtime_priority,
        pin_workers: a.pin_workers,
        ..SfuConfig::default()
    };
    let (sfu, mut events) = Sfu::start(config)?;
    let workers = sfu.worker_count();
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    let members = populate(&sfu, &a).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !members.iter().all(|m| m.handle.stats().connected) {
        anyhow::ensure!(Instant::now() < deadline, "peers did not connect");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await; // warm-up: keyframes, speakers, routes
    sfu.reset_stats().await?;
    let (sent0, recv0) = snapshot(&members);
    let latency0 = audio_latency(&members);
    let cpu0 = workers_cpu_ns(workers)?;
    let total0 = process_cpu_ns()?;
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(a.seconds)).await;
    let worker_cpu: Vec<u64> = workers_cpu_ns(workers)?
        .iter()
        .zip(&cpu0)
        .map(|(after, before)| after - before)
        .collect();
    let cpu: u64 = worker_cpu.iter().sum();
    let generator_cpu = (process_cpu_ns()? - total0).saturating_sub(cpu);
    let wall = t0.elapsed();
    let stats = sfu.stats().await?;
    let per_worker = sfu.worker_stats().await?;
    let (sent1, recv1) = snapshot(&members);
    let end_to_end = audio_latency(&members).since(&latency0);

    let mut expected = 0u64;
    let mut got = 0u64;
    for ((rx, src), after) in &recv1 {
        got += after - recv0.get(&(*rx, *src)).copied().unwrap_or(0);
        expected += sent1[src] - sent0.get(src).copied().unwrap_or(0);
    }
    let cpu_s = cpu as f64 / 1e9;
    println!(
        "peers: {} ({} video groups x {}, live: 1 host + {} viewers), video {} kbps",
        members.len(),
        a.groups,
        a.peers_per_group,
        a.viewers,
        a.video_kbps
    );
    println!(
        "media workers: {}, {}; generator: {}; live host sends {}",
        a.realtime_priority
            .map_or("SCHED_OTHER".to_string(), |p| format!("SCHED_FIFO {p}")),
        if a.pin_workers { "pinned" } else { "floating" },
        if a.generator_idle {
            "SCHED_IDLE"
        } else {
            "SCHED_OTHER"
        },
        match (a.host_video, a.host_simulcast) {
            (false, _) => "audio only",
            (true, false) => "audio and one video layer",
            (true, true) => "audio and three simulcast video layers",
        }
    );
    println!(
        "window: {:.1} s, {workers} media worker(s), send batch {} (ahead {}), sfu-media CPU: {:.3} s ({:.1}% of a core)",
        wall.as_secs_f64(),
        a.send_batch,
        a.send_ahead,
        cpu_s,
        100.0 * cpu_s / wall.as_secs_f64()
    );
    let mut capacity = 0.0;
    for (i, (w, ns)) in per_worker.iter().zip(&worker_cpu).enumerate() {
        let w_cpu = *ns as f64 / 1e9;
        let rate = w.packets_forwarded as f64 / w_cpu.max(1e-9);
        capacity += rate;
        println!(
            "  worker {i}: {} groups, {} peers, {} packets forwarded, CPU {:.3} s ({:.1}% of a core), {:.0} packets per CPU-second",
            w.groups,
            w.peers,
            w.packets_forwarded,
            w_cpu,
            100.0 * w_cpu / wall.as_secs_f64(),
            rate
        );
    }
    println!(
        "forwarding capacity (sum over workers of packets per CPU-second, a core each): {capacity:.0} packets/s"
    );
    println!(
        "generator (media peers) CPU: {:.3} s ({:.1}% of a core)",
        generator_cpu as f64 / 1e9,
        generator_cpu as f64 / 1e7 / wall.as_secs_f64()
    );
    println!(
        "datagrams in: {}, out: {}, dropped: {}",
        stats.datagrams_in, stats.datagrams_out, stats.datagrams_dropped
    );
    println!(
        "frames forwarded: {}, RTP packets forwarded: {} ({:.0}/s)",
        stats.frames_forwarded,
        stats.packets_forwarded,
        stats.packets_forwarded as f64 / wall.as_secs_f64()
    );
    println!(
        "forwarded packets per SFU CPU-second: {:.0}",
        stats.packets_forwarded as f64 / cpu_s
    );
    println!(
        "all datagrams out per SFU CPU-second: {:.0}",
        stats.datagrams_out as f64 / cpu_s
    );
    println!(
        "frame loss: {:.3}% ({got} of {expected} expected frames received)",
        100.0 * (1.0 - got as f64 / expected.max(1) as f64)
    );
    println!(
        "added latency (all frames) p50: {:?}, p99: {:?}, max: {:?}",
        stats.latency_p50, stats.latency_p99, stats.latency_max
    );
    println!(
        "added latency (audio packets) p50: {:?}, p99: {:?}",
        stats.audio_latency_p50, stats.audio_latency_p99
    );
    // From the sender's stamp to the receiver's depacketized frame: it also counts what
    // waits in the SFU's socket buffer (and the media peers' own scheduling).
    let ms = |q: f64| {
        end_to_end
            .quantile(q)
            .map_or(f64::NAN, |us| us as f64 / 1000.0)
    };
    println!(
        "end-to-end audio latency (sender -> receiver, ms) p50: {:.2}, p99: {:.2}",
        ms(0.5),
        ms(0.99)
    );
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    println!("machine load average: {}", load.join(" "));
    sfu.shutdown().await;
    Ok(())
}
