//! Counters and the forwarding-latency histogram kept by the core (no atomics: only its
//! owner touches them; `SfuCore::stats` copies them out).

use std::time::Duration;

use crate::api::SfuStats;

/// Histogram resolution: 1 µs buckets up to this many µs, plus one overflow bucket.
const LATENCY_BUCKETS_US: usize = 20_000;

#[derive(Debug, Clone)]
pub struct Counters {
    pub datagrams_in: u64,
    pub datagrams_out: u64,
    pub datagrams_dropped: u64,
    pub frames_forwarded: u64,
    pub packets_forwarded: u64,
    pub events_dropped: u64,
    pub relays_dropped: u64,
    latency: Histogram,
    audio_latency: Histogram,
}

/// 1 µs buckets up to `LATENCY_BUCKETS_US`, plus the maximum seen.
#[derive(Debug, Clone)]
struct Histogram {
    buckets: Vec<u64>,
    max: Duration,
}

impl Histogram {
    fn new() -> Self {
        Histogram {
            buckets: vec![0; LATENCY_BUCKETS_US + 1],
            max: Duration::ZERO,
        }
    }

    fn observe(&mut self, latency: Duration) {
        let us = (latency.as_micros() as usize).min(LATENCY_BUCKETS_US);
        self.buckets[us] += 1;
        self.max = self.max.max(latency);
    }

    /// Adds another histogram's samples (same bucket layout) to this one.
    fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine += theirs;
        }
        self.max = self.max.max(other.max);
    }

    fn percentile(&self, p: f64) -> Duration {
        let total: u64 = self.buckets.iter().sum();
        if total == 0 {
            return Duration::ZERO;
        }
        let target = ((total as f64) * p).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (us, count) in self.buckets.iter().enumerate() {
            seen += count;
            if seen >= target {
                return Duration::from_micros(us as u64);
            }
        }
        self.max
    }
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            datagrams_in: 0,
            datagrams_out: 0,
            datagrams_dropped: 0,
            frames_forwarded: 0,
            packets_forwarded: 0,
            events_dropped: 0,
            relays_dropped: 0,
            latency: Histogram::new(),
            audio_latency: Histogram::new(),
        }
    }
}

impl Counters {
    /// Records the added latency of one forwarded frame (audio frames are one packet, so
    /// their latency is the SFU's alone; video includes waiting for the frame's packets).
    pub fn observe_latency(&mut self, latency: Duration, audio: bool) {
        self.latency.observe(latency);
        if audio {
            self.audio_latency.observe(latency);
        }
    }

    /// Adds another core's counters and latency samples (workers' stats are aggregated so
    /// percentiles stay exact across them).
    pub fn merge(&mut self, other: &Counters) {
        self.datagrams_in += other.datagrams_in;
        self.datagrams_out += other.datagrams_out;
        self.datagrams_dropped += other.datagrams_dropped;
        self.frames_forwarded += other.frames_forwarded;
        self.packets_forwarded += other.packets_forwarded;
        self.events_dropped += other.events_dropped;
        self.relays_dropped += other.relays_dropped;
        self.latency.merge(&other.latency);
        self.audio_latency.merge(&other.audio_latency);
    }

    pub fn snapshot(&self, groups: usize, peers: usize, demux_entries: usize) -> SfuStats {
        SfuStats {
            groups,
            peers,
            demux_entries,
            datagrams_in: self.datagrams_in,
            datagrams_out: self.datagrams_out,
            datagrams_dropped: self.datagrams_dropped,
            frames_forwarded: self.frames_forwarded,
            packets_forwarded: self.packets_forwarded,
            events_dropped: self.events_dropped,
            relays_dropped: self.relays_dropped,
            latency_p50: self.latency.percentile(0.50),
            latency_p99: self.latency.percentile(0.99),
            latency_max: self.latency.max,
            audio_latency_p50: self.audio_latency.percentile(0.50),
            audio_latency_p99: self.audio_latency.percentile(0.99),
        }
    }
}
