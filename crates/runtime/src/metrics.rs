//! A small Prometheus registry shared by every part of the server (HTTP, webhooks, media).
//!
//! Invariants:
//! - every label value comes from a fixed set: HTTP methods outside the standard ones count
//!   as `other`, routes are templates (never raw paths) or `unmatched`, statuses are the
//!   three-digit codes hyper accepts; other families pass label values chosen by the
//!   server (a request type, a reason), never text a client sent. So memory stays bounded
//!   whatever clients send.
//! - recording takes no global lock: the registry is split into shards, each thread records
//!   into its own (locked only by that thread and by a render in progress), and a render
//!   merges the shards. The HTTP path looks its series up by borrowed keys, so recording a
//!   request allocates nothing once its series exists.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Upper bounds (seconds) of the latency histogram buckets.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// Shards of the registry; more than the worker threads of any likely runtime.
const SHARDS: usize = 16;

const HTTP_DURATION: &str = "opencalls_http_request_duration_seconds";
const HTTP_TOTAL: &str = "opencalls_http_requests_total";

type Labels = Vec<(&'static str, String)>;

/// An HTTP method as a metric label: the standard methods, everything else `other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HttpMethod {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
    Connect,
    Trace,
    Other,
}

impl HttpMethod {
    /// The label of a method name as it came off the wire.
    pub fn from_name(name: &str) -> Self {
        match name {
            "GET" => Self::Get,
            "HEAD" => Self::Head,
            "POST" => Self::Post,
            "PUT" => Self::Put,
            "PATCH" => Self::Patch,
            "DELETE" => Self::Delete,
            "OPTIONS" => Self::Options,
            "CONNECT" => Self::Connect,
            "TRACE" => Self::Trace,
            _ => Self::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Head => "HEAD",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
            Self::Options => "OPTIONS",
            Self::Connect => "CONNECT",
            Self::Trace => "TRACE",
            Self::Other => "other",
        }
    }
}

#[derive(Clone, Default)]
struct Histogram {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Histogram {
    fn record(&mut self, seconds: f64) {
        self.count += 1;
        self.sum += seconds;
        for (slot, bound) in self.buckets.iter_mut().zip(BUCKETS) {
            if seconds <= bound {
                *slot += 1;
            }
        }
    }

    fn merge(&mut self, other: &Histogram) {
        self.count += other.count;
        self.sum += other.sum;
        for (a, b) in self.buckets.iter_mut().zip(other.buckets) {
            *a += b;
        }
    }
}

/// HTTP series of one route: by method and status.
type RouteSeries = HashMap<(HttpMethod, u16), Histogram>;

#[derive(Default)]
struct Registry {
    counters: BTreeMap<(&'static str, Labels), u64>,
    histograms: BTreeMap<(&'static str, Labels), Histogram>,
    help: BTreeMap<&'static str, (&'static str, &'static str)>,
    /// HTTP requests by route template, then method and status.
    http: HashMap<Box<str>, RouteSeries>,
}

#[derive(Clone)]
pub struct Metrics {
    shards: Arc<[Mutex<Registry>]>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }
}

/// The shard of the calling thread, assigned round-robin on its first record.
fn shard_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static INDEX: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    INDEX.with(|i| *i)
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    fn shard(&self) -> MutexGuard<'_, Registry> {
        lock(&self.shards[shard_index()])
    }

    /// Adds `by` to the counter `name{labels}`.
    pub fn count(&self, name: &'static str, help: &'static str, labels: Labels, by: u64) {
        let mut reg = self.shard();
        reg.help.entry(name).or_insert(("counter", help));
        *reg.counters.entry((name, labels)).or_default() += by;
    }

    /// Records one observation (in seconds) in the histogram `name{labels}`.
    pub fn observe(&self, name: &'static str, help: &'static str, labels: Labels, seconds: f64) {
        let mut reg = self.shard();
        reg.help.entry(name).or_insert(("histogram", help));
        reg.histograms
            .entry((name, labels))
            .or_default()
            .record(seconds);
    }

    /// Records one HTTP request: `route` is a route template or `unmatched` (never a raw
    /// path); feeds `opencalls_http_requests_total` and the latency histogram.
    pub fn http_request(&self, method: HttpMethod, route: &str, status: u16, seconds: f64) {
        let mut reg = self.shard();
        if !reg.http.contains_key(route) {
            reg.http.insert(route.into(), RouteSeries::new());
        }
        if let Some(series) = reg.http.get_mut(route) {
            series.entry((method, status)).or_default().record(seconds);
        }
    }

    /// The current value of a counter (0 if never counted); for tests and status pages.
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        let matches = |l: &[(&str, &str)]| {
            labels
                .iter()
                .all(|(k, v)| l.iter().any(|(lk, lv)| lk == k && lv == v))
        };
        let mut total = 0;
        for shard in self.shards.iter() {
            let reg = lock(shard);
            if name == HTTP_TOTAL {
                for (route, series) in &reg.http {
                    for ((method, status), h) in series {
                        let status = status.to_string();
                        let l = [
                            ("method", method.as_str()),
                            ("route", route.as_ref()),
                            ("status", status.as_str()),
                        ];
                        if matches(&l) {
                            total += h.count;
                        }
                    }
                }
            }
            for ((n, l), v) in &reg.counters {
                let l: Vec<(&str, &str)> = l.iter().map(|(k, v)| (*k, v.as_str())).collect();
                if *n == name && matches(&l) {
                    total += v;
                }
            }
        }
        total
    }

    /// Prometheus text exposition format, version 0.0.4.
    pub fn render(&self) -> String {
        let merged = self.merge();
        let mut out = String::new();
        for (name, (kind, help)) in &merged.help {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for ((_, labels), value) in merged.counters.iter().filter(|((n, _), _)| n == name) {
                let _ = writeln!(out, "{name}{} {value}", fmt_labels(labels, None));
            }
            for ((_, labels), h) in merged.histograms.iter().filter(|((n, _), _)| n == name) {
                render_histogram(&mut out, name, labels, h);
            }
        }
        out
    }

    /// One registry holding the sum of every shard, HTTP series turned into labelled ones.
    fn merge(&self) -> Registry {
        let mut merged = Registry::default();
        for shard in self.shards.iter() {
            let reg = lock(shard);
            for (key, value) in &reg.counters {
                *merged.counters.entry(key.clone()).or_default() += value;
            }
            for (key, h) in &reg.histograms {
                merged.histograms.entry(key.clone()).or_default().merge(h);
            }
            for (name, help) in &reg.help {
                merged.help.entry(name).or_insert(*help);
            }
            for (route, series) in &reg.http {
                for ((method, status), h) in series {
                    let labels = vec![
                        ("method", method.as_str().to_owned()),
                        ("route", route.to_string()),
                        ("status", status.to_string()),
                    ];
                    *merged
                        .counters
                        .entry((HTTP_TOTAL, labels.clone()))
                        .or_default() += h.count;
                    merged
                        .histograms
                        .entry((HTTP_DURATION, labels))
                        .or_default()
                        .merge(h);
                }
            }
        }
        if merged.counters.keys().any(|(n, _)| *n == HTTP_TOTAL) {
            let help = "HTTP requests by method, route and status.";
            merged.help.insert(HTTP_TOTAL, ("counter", help));
            let help = "HTTP request latency by method, route and status.";
            merged.help.insert(HTTP_DURATION, ("histogram", help));
        }
        merged
    }
}

fn lock(shard: &Mutex<Registry>) -> MutexGuard<'_, Registry> {
    // A panic while recording can only come from a bug; the counts are still usable.
    shard.lock().unwrap_or_else(|e| e.into_inner())
}

fn render_histogram(out: &mut String, name: &str, labels: &Labels, h: &Histogram) {
    for (count, bound) in h.buckets.iter().zip(BUCKETS) {
        let le = bound.to_string();
        let _ = writeln!(
            out,
            "{name}_bucket{} {count}",
            fmt_labels(labels, Some(&le))
        );
    }
    let inf = fmt_labels(labels, Some("+Inf"));
    let _ = writeln!(out, "{name}_bucket{inf} {}", h.count);
    let _ = writeln!(out, "{name}_sum{} {}", fmt_labels(labels, None), h.sum);
    let _ = writeln!(out, "{name}_count{} {}", fmt_labels(labels, None), h.count);
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

    #[test]
    fn shards_of_many_threads_add_up() {
        let m = Metrics::new();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for _ in 0..100 {
                        m.http_request(HttpMethod::Get, "/v1/rooms/{room_id}", 200, 0.0001);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let text = m.render();
        let series = r#"{method="GET",route="/v1/rooms/{room_id}",status="200"}"#;
        assert!(text.contains(&format!("opencalls_http_requests_total{series} 800")));
        assert!(text.contains(&format!(
            "opencalls_http_request_duration_seconds_count{series} 800"
        )));
        assert_eq!(m.counter(HTTP_TOTAL, &[("status", "200")]), 800);
    }

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(HttpMethod::from_name("BREW"), HttpMethod::Other);
        assert_eq!(HttpMethod::from_name("get"), HttpMethod::Other);
        assert_eq!(HttpMethod::from_name("DELETE").as_str(), "DELETE");
    }
}
