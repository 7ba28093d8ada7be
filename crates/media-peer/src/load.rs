//! What the load generators (crates/client/examples/media_load.rs through OpenCalls,
//! janus_load.rs through Janus's VideoRoom) measure over a window, the same way for every
//! server so their numbers compare: frames received from the sources each peer should
//! receive, the RTP packets behind them (estimated from frame sizes), the server process's
//! CPU time from /proc, frame loss, and latency (receive time − the payload's send stamp)
//! from the peers' histograms.

use std::time::Instant;

use crate::{Histogram, PeerHandle, PeerStats};

/// Payload bytes per video RTP packet assumed for the packet estimate: str0m 0.25 packetizes
/// for a 1150-byte datagram (`DATAGRAM_MTU_TARGET`) minus up to 80 bytes of RTP overhead.
const VIDEO_PACKET_BYTES: f64 = 1070.0;
/// Clock ticks per second of /proc times (USER_HZ; 100 on Linux for x86 and arm).
const CLK_TCK: f64 = 100.0;

/// One peer of the load: its tag (as a source) and the sources it should receive.
pub struct Member {
    pub peer: PeerHandle,
    pub tag: u32,
    pub expects: Vec<u32>,
}

/// utime + stime of a process (`self` or a pid), in seconds.
pub fn cpu_seconds(pid: &str) -> std::io::Result<f64> {
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "/proc stat format");
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let rest = stat.rsplit_once(')').ok_or_else(bad)?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After "pid (comm)": state is field 3, utime 14 and stime 15 (1-based).
    let field = |i: usize| -> std::io::Result<f64> {
        fields.get(i).and_then(|f| f.parse().ok()).ok_or_else(bad)
    };
    Ok((field(11)? + field(12)?) / CLK_TCK)
}

/// Every member's counters, the server's and our own CPU time, at one instant.
pub struct Snapshot {
    stats: Vec<PeerStats>,
    server_cpu: f64,
    own_cpu: f64,
    at: Instant,
}

impl Snapshot {
    pub fn take(server_pid: u32, members: &[Member]) -> std::io::Result<Snapshot> {
        Ok(Snapshot {
            stats: members.iter().map(|m| m.peer.stats()).collect(),
            server_cpu: cpu_seconds(&server_pid.to_string())?,
            own_cpu: cpu_seconds("self")?,
            at: Instant::now(),
        })
    }
}

/// What happened between two snapshots.
#[derive(Debug, Clone, Default)]
pub struct Window {
    pub secs: f64,
    pub audio: u64,
    pub video: u64,
    pub video_bytes: u64,
    /// Frames the receivers should have got (what their sources sent in the window).
    pub expected: u64,
    pub server_cpu: f64,
    pub own_cpu: f64,
    /// Receiving members (peers that expect at least one source).
    pub receivers: usize,
    pub audio_latency: Histogram,
    pub video_latency: Histogram,
}

impl Window {
    /// The window between `a` and `b` (taken in that order over the same members).
    pub fn between(members: &[Member], a: &Snapshot, b: &Snapshot) -> Window {
        let sent = |s: &Snapshot, tag: u32| {
            members
                .iter()
                .position(|m| m.tag == tag)
                .map_or(0, |i| s.stats[i].audio_sent + s.stats[i].video_frames_sent)
        };
        let mut w = Window {
            secs: (b.at - a.at).as_secs_f64(),
            server_cpu: b.server_cpu - a.server_cpu,
            own_cpu: b.own_cpu - a.own_cpu,
            ..Window::default()
        };
        for (i, m) in members.iter().enumerate() {
            let (x, y) = (&a.stats[i], &b.stats[i]);
            w.receivers += usize::from(!m.expects.is_empty());
            w.audio_latency
                .merge(&y.audio_latency.since(&x.audio_latency));
            w.video_latency
                .merge(&y.video_latency.since(&x.video_latency));
            for &src in &m.expects {
                let (x, y) = (x.from_source(src), y.from_source(src));
                w.audio += y.audio_frames.saturating_sub(x.audio_frames);
                w.video += y.video_frames.saturating_sub(x.video_frames);
                w.video_bytes += y.bytes.saturating_sub(x.bytes);
                w.expected += sent(b, src).saturating_sub(sent(a, src));
            }
        }
        w
    }

    pub fn frames(&self) -> u64 {
        self.audio + self.video
    }

    /// Estimated RTP packets per video frame (average frame size ÷ packet payload).
    pub fn packets_per_frame(&self) -> f64 {
        if self.video == 0 {
            return 0.0;
        }
        (self.video_bytes as f64 / self.video as f64 / VIDEO_PACKET_BYTES).ceil()
    }

    /// Estimated forwarded RTP packets (audio frames are one packet each).
    pub fn packets(&self) -> f64 {
        self.audio as f64 + self.video as f64 * self.packets_per_frame()
    }

    pub fn loss(&self) -> f64 {
        1.0 - self.frames() as f64 / self.expected.max(1) as f64
    }

    /// Prints the window for people, then one `RESULT` line of `key=value` for scripts.
    pub fn print(&self, label: &str) {
        let (secs, cpu) = (self.secs, self.server_cpu.max(0.01));
        let (frames, packets) = (self.frames(), self.packets());
        println!("window {secs:.1}s");
        println!(
            "received (= forwarded) frames: {frames} ({:.0}/s; audio {}, video {})",
            frames as f64 / secs,
            self.audio,
            self.video
        );
        println!(
            "estimated forwarded RTP packets: {packets:.0} ({:.0}/s; video ~{} packets/frame)",
            packets / secs,
            self.packets_per_frame()
        );
        println!(
            "server CPU: {:.2}s ({:.1}% of one core; {:.3}% of a core per receiving peer, {} receivers); generator CPU: {:.2}s",
            self.server_cpu,
            100.0 * self.server_cpu / secs,
            100.0 * self.server_cpu / secs / self.receivers.max(1) as f64,
            self.receivers,
            self.own_cpu
        );
        println!(
            "forwarded frames per server CPU-second: {:.0}",
            frames as f64 / cpu
        );
        println!(
            "forwarded packets (est.) per server CPU-second: {:.0}",
            packets / cpu
        );
        println!(
            "frame loss: {:.3}% ({} expected, {frames} received)",
            100.0 * self.loss(),
            self.expected
        );
        let ms = |h: &Histogram, q: f64| h.quantile(q).map_or(f64::NAN, |us| us as f64 / 1000.0);
        let (a, v) = (&self.audio_latency, &self.video_latency);
        println!(
            "latency sender→receiver (ms): audio p50 {:.2} p99 {:.2} ({} frames); video frame p50 {:.2} p99 {:.2} ({} frames)",
            ms(a, 0.5),
            ms(a, 0.99),
            a.count(),
            ms(v, 0.5),
            ms(v, 0.99),
            v.count()
        );
        println!(
            "RESULT server={label} secs={secs:.1} frames={frames} packets={packets:.0} server_cpu={:.3} frames_per_cpu={:.0} packets_per_cpu={:.0} loss_pct={:.3} receivers={} cpu_pct_per_receiver={:.4} audio_p50_ms={:.3} audio_p99_ms={:.3} video_p50_ms={:.3} video_p99_ms={:.3}",
            self.server_cpu,
            frames as f64 / cpu,
            packets / cpu,
            100.0 * self.loss(),
            self.receivers,
            100.0 * self.server_cpu / secs / self.receivers.max(1) as f64,
            ms(a, 0.5),
            ms(a, 0.99),
            ms(v, 0.5),
            ms(v, 0.99),
        );
    }
}
