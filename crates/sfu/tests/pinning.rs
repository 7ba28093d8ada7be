//! Media workers pinned to CPUs of their own (`SfuConfig::pin_workers`), in a test binary of
//! its own: it reads the CPU affinity of every `sfu-media-*` thread of the process, so no
//! other test's workers may run beside it.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::*;
use opencalls_sfu::{Policy, SfuConfig};

/// The `Cpus_allowed_list` line of the thread status file in `task` (a `/proc` thread
/// directory).
fn cpus_allowed(task: &Path) -> String {
    let status = std::fs::read_to_string(task.join("status")).unwrap();
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"));
    list.unwrap().trim().to_owned()
}

/// `Cpus_allowed_list` of each `sfu-media-*` thread of this process, by thread id.
fn media_thread_cpus() -> BTreeMap<u32, String> {
    media_threads()
        .into_iter()
        .map(|(tid, dir)| (tid, cpus_allowed(&dir)))
        .collect()
}

/// `Cpus_allowed_list` of this test's own thread: the CPUs the process may run on.
fn own_cpus() -> String {
    cpus_allowed(Path::new("/proc/thread-self"))
}

/// Whether a `Cpus_allowed_list` names exactly one CPU (`"3"`, not `"0-1"` or `"0,2"`).
fn single_cpu(list: &str) -> bool {
    list.parse::<u32>().is_ok()
}

/// How many CPUs a `Cpus_allowed_list` (`"0-3,6"`) names.
fn cpu_count(list: &str) -> usize {
    list.split(',')
        .map(|part| match part.split_once('-') {
            Some((a, b)) => b.parse::<usize>().unwrap() - a.parse::<usize>().unwrap() + 1,
            None => 1,
        })
        .sum()
}

/// Starts an SFU and a connected pair in group `group`; returns it and its workers'
/// `Cpus_allowed_list`s (the `sfu-media-*` threads not in `before`).
async fn start(
    config: SfuConfig,
    group: &str,
    before: &BTreeMap<u32, String>,
) -> (Harness, Vec<String>) {
    let h = Harness::start(config);
    h.sfu.create_group(gid(group), Policy::Video).await.unwrap();
    // The pair's audio flows before the threads are read: the workers run and forward.
    drop(h.join_pair(group).await);
    let cpus = media_thread_cpus()
        .into_iter()
        .filter(|(tid, _)| !before.contains_key(tid))
        .map(|(_, cpus)| cpus)
        .collect();
    (h, cpus)
}

/// By default one worker per allowed CPU runs each on its own CPU; with
/// `pin_workers: false`, or with fewer workers than allowed CPUs, they may run on every
/// allowed CPU. Forwarding works either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_worker_per_cpu_is_pinned_each_to_its_own_unless_told_not_to() {
    let all = own_cpus();
    let n = cpu_count(&all);
    let per_cpu = SfuConfig {
        workers: n,
        ..SfuConfig::default()
    };
    let unpinned = SfuConfig {
        pin_workers: false,
        ..per_cpu.clone()
    };
    let (floating, cpus) = start(unpinned, "f", &BTreeMap::new()).await;
    assert_eq!(cpus.len(), n, "{cpus:?}");
    assert!(cpus.iter().all(|c| *c == all), "{cpus:?}, process: {all}");

    let (pinned, cpus) = start(per_cpu, "p", &media_thread_cpus()).await;
    assert_eq!(cpus.len(), n, "{cpus:?}");
    if n == 1 {
        // One CPU allowed: a single worker floats (over that one CPU).
        assert_eq!(cpus, vec![all.clone()]);
    } else {
        assert!(cpus.iter().all(|c| single_cpu(c)), "{cpus:?}");
        let distinct: std::collections::BTreeSet<_> = cpus.iter().collect();
        assert_eq!(distinct.len(), n, "two workers on one CPU: {cpus:?}");
    }

    if n > 2 {
        let fewer = SfuConfig {
            workers: 2,
            ..SfuConfig::default()
        };
        let (fewer, cpus) = start(fewer, "q", &media_thread_cpus()).await;
        assert!(cpus.iter().all(|c| *c == all), "{cpus:?}, process: {all}");
        fewer.sfu.shutdown().await;
    }
    pinned.sfu.shutdown().await;
    floating.sfu.shutdown().await;
}
