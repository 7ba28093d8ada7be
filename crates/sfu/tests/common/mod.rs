//! Harness for the media layer tests: an SFU on 127.0.0.1, media peers joining it, an event
//! log, and polling with deadlines (never sleeping for readiness).
#![allow(dead_code)]

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opencalls_media_peer::{MediaPeer, PeerConfig, PeerHandle, PeerStats};
use opencalls_sfu::{
    AddPeer, GroupId, PeerId, Policy, Role, Sfu, SfuConfig, SfuError, SfuEvent, SfuHandle,
};

pub const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
pub const DEADLINE: Duration = Duration::from_secs(20);

pub struct Harness {
    pub sfu: SfuHandle,
    pub events: Arc<Mutex<Vec<SfuEvent>>>,
}

impl Harness {
    pub fn start(config: SfuConfig) -> Harness {
        let (sfu, mut rx) = Sfu::start(config).expect("sfu starts");
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        tokio::spawn(async move {
            while let Some(e) = rx.recv().await {
                sink.lock().unwrap().push(e);
            }
        });
        Harness { sfu, events }
    }

    pub fn default() -> Harness {
        Harness::start(SfuConfig::default())
    }

    /// Starts an SFU with `config` and creates one group in it.
    pub async fn with_group(config: SfuConfig, group: &str, policy: Policy) -> Harness {
        let h = Harness::start(config);
        h.sfu.create_group(gid(group), policy).await.unwrap();
        h
    }

    /// Joins publishers `a` (tag 1) and `b` (tag 2), one receive slot of each kind, to
    /// `group` and waits until b receives a's audio.
    pub async fn join_pair(&self, group: &str) -> (PeerHandle, PeerHandle) {
        let a = self
            .join(group, "a", Role::Participant, publisher(1, 1))
            .await
            .unwrap();
        let b = self
            .join(group, "b", Role::Participant, publisher(2, 1))
            .await
            .unwrap();
        wait_stats("b receives a", &b, |s| s.from_source(1).audio_frames >= 10).await;
        (a, b)
    }

    /// Offers, gets the answer and starts the media peer.
    pub async fn join(
        &self,
        group: &str,
        peer: &str,
        role: Role,
        cfg: PeerConfig,
    ) -> Result<PeerHandle, SfuError> {
        let (media, offer) = MediaPeer::new(cfg, LOCALHOST).await.expect("peer binds");
        let request = AddPeer {
            group: gid(group),
            peer: pid(peer),
            role,
            offer,
            replaces: None,
        };
        let answer = self.sfu.add_peer(request).await?;
        Ok(media.start(&answer).expect("answer accepted"))
    }

    pub fn events(&self) -> Vec<SfuEvent> {
        self.events.lock().unwrap().clone()
    }

    /// Waits until some logged event satisfies `pred`.
    pub async fn wait_event(&self, what: &str, pred: impl Fn(&SfuEvent) -> bool) -> SfuEvent {
        wait_until(what, || self.events().into_iter().find(|e| pred(e))).await
    }
}

pub fn gid(s: &str) -> GroupId {
    GroupId(s.to_string())
}

pub fn pid(s: &str) -> PeerId {
    PeerId(s.to_string())
}

/// Polls `check` every 20 ms until it returns `Some`, panicking after `DEADLINE`.
pub async fn wait_until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Async variant of `wait_until` for checks that query the SFU.
pub async fn wait_until_async<T, F: Future<Output = Option<T>>>(
    what: &str,
    mut check: impl FnMut() -> F,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `peer`'s stats satisfy `pred`, returning them.
pub async fn wait_stats(
    what: &str,
    peer: &PeerHandle,
    pred: impl Fn(&PeerStats) -> bool,
) -> PeerStats {
    let start = Instant::now();
    loop {
        let stats = peer.stats();
        if pred(&stats) {
            return stats;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "timed out waiting for {what}; peer stats: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn publisher(tag: u32, recv_slots: usize) -> PeerConfig {
    PeerConfig {
        tag,
        recv_audio_slots: recv_slots,
        recv_video_slots: recv_slots,
        ..PeerConfig::default()
    }
}

/// Each `sfu-media-*` thread of this process: its id and its `/proc/self/task/<tid>`
/// directory (scheduling tests read its policy and CPU affinity there).
pub fn media_threads() -> Vec<(u32, std::path::PathBuf)> {
    let mut threads = Vec::new();
    for entry in std::fs::read_dir("/proc/self/task").unwrap() {
        let dir = entry.unwrap().path();
        let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if comm.starts_with("sfu-media-") {
            let tid = dir.file_name().unwrap().to_str().unwrap().parse().unwrap();
            threads.push((tid, dir));
        }
    }
    threads
}
