//! A small Prometheus registry shared by every part of the server (HTTP, webhooks, media).
//!
//! Counters and histograms are keyed by metric name and a fixed, low-cardinality label set
//! (e.g. route templates, never raw paths), so memory stays bounded.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

type Labels = Vec<(&'static str, String)>;

#[derive(Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Registry {
    counters: BTreeMap<(&'static str, Labels), u64>,
    histograms: BTreeMap<(&'static str, Labels), Histogram>,
    help: BTreeMap<&'static str, (&'static str, &'static str)>,
}

#[derive(Clone, Default)]
pub struct Metrics {
    inner: Arc<Mutex<Registry>>,
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `by` to the counter `name{labels}`.
    pub fn count(&self, name: &'static str, help: &'static str, labels: Labels, by: u64) {
        if let Ok(mut reg) = self.inner.lock() {
            reg.help.entry(name).or_insert(("counter", help));
            *reg.counters.entry((name, labels)).or_default() += by;
        }
    }

    /// Records one observation (in seconds) in the histogram `name{labels}`.
    pub fn observe(&self, name: &'static str, help: &'static str, labels: Labels, seconds: f64) {
        if let Ok(mut reg) = self.inner.lock() {
            reg.help.entry(name).or_insert(("histogram", help));
            let h = reg.histograms.entry((name, labels)).or_default();
            h.count += 1;
            h.sum += seconds;
            for (slot, bound) in h.buckets.iter_mut().zip(BUCKETS) {
                if seconds <= bound {
                    *slot += 1;
                }
            }
        }
    }

    /// The current value of a counter (0 if never counted); for tests and status pages.
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        let Ok(reg) = self.inner.lock() else { return 0 };
        reg.counters
            .iter()
            .filter(|((n, l), _)| {
                *n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|(_, v)| *v)
            .sum()
    }

    /// Prometheus text exposition format, version 0.0.4.
    pub fn render(&self) -> String {
        let Ok(reg) = self.inner.lock() else {
            return String::new();
        };
        let mut out = String::new();
        for (name, (kind, help)) in &reg.help {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for ((_, labels), value) in reg.counters.iter().filter(|((n, _), _)| n == name) {
                let _ = writeln!(out, "{name}{} {value}", fmt_labels(labels, None));
            }
            for ((_, labels), h) in reg.histograms.iter().filter(|((n, _), _)| n == name) {
                for (count, bound) in h.buckets.iter().zip(BUCKETS) {
                    let _ = writeln!(
                        out,
                        "{name}_bucket{} {count}",
                        fmt_labels(labels, Some(&bound.to_string()))
                    );
                }
                let _ = writeln!(
                    out,
                    "{name}_bucket{} {}",
                    fmt_labels(labels, Some("+Inf")),
                    h.count
                );
                let _ = writeln!(out, "{name}_sum{} {}", fmt_labels(labels, None), h.sum);
                let _ = writeln!(out, "{name}_count{} {}", fmt_labels(labels, None), h.count);
            }
        }
        out
    }
}

fn fmt_labels(labels: &Labels, le: Option<&str>) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::new();
        m.count(
            "requests_total",
            "Requests.",
            vec![("route", "/a".into())],
            2,
        );
        m.observe(
            "latency_seconds",
            "Latency.",
            vec![("route", "/a".into())],
            0.002,
        );
        let text = m.render();
        assert!(text.contains("# TYPE requests_total counter"));
        assert!(text.contains("requests_total{route=\"/a\"} 2"));
        assert!(text.contains("latency_seconds_bucket{route=\"/a\",le=\"0.001\"} 0"));
        assert!(text.contains("latency_seconds_bucket{route=\"/a\",le=\"0.0025\"} 1"));
        assert!(text.contains("latency_seconds_count{route=\"/a\"} 1"));
        assert_eq!(m.counter("requests_total", &[("route", "/a")]), 2);
    }
}
