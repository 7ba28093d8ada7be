//! Counters and the forwarding-latency histogram kept by the media thread (no atomics:
//! only that thread touches them; a `stats` command copies them out).

use std::time::Duration;

use crate::api::SfuStats;

/// Histogram resolution: 1 µs buckets up to this many µs, plus one overflow bucket.
const LATENCY_BUCKETS_US: usize = 20_000;

#[derive(Debug)]
pub struct Counters {
    pub datagrams_in: u64,
    pub datagrams_out: u64,
    pub datagrams_dropped: u64,
    pub frames_forwarded: u64,
    pub packets_forwarded: u64,
    pub events_dropped: u64,
    latency: Vec<u64>,
    latency_max: Duration,
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
            latency: vec![0; LATENCY_BUCKETS_US + 1],
            latency_max: Duration::ZERO,
        }
    }
}

impl Counters {
    pub fn observe_latency(&mut self, latency: Duration) {
        let us = (latency.as_micros() as usize).min(LATENCY_BUCKETS_US);
        self.latency[us] += 1;
        self.latency_max = self.latency_max.max(latency);
    }

    fn percentile(&self, p: f64) -> Duration {
        let total: u64 = self.latency.iter().sum();
        if total == 0 {
            return Duration::ZERO;
        }
        let target = ((total as f64) * p).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (us, count) in self.latency.iter().enumerate() {
            seen += count;
            if seen >= target {
                return Duration::from_micros(us as u64);
            }
        }
        self.latency_max
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
            latency_p50: self.percentile(0.50),
            latency_p99: self.percentile(0.99),
            latency_max: self.latency_max,
        }
    }
}
