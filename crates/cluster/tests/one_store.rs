//! Membership and duties of several nodes on one store (SQLite's in-process leases, which
//! the nodes here share because they share the store): a dead node is cleaned up once, by
//! one survivor; a duty runs on one node at a time and moves when its holder stops.

mod common;

use async_trait::async_trait;
use common::{config, until};
use opencalls_cluster::duty::{Contender, Duty, DutyWork};
use opencalls_cluster::membership::{Hooks, Membership, OnDead};
use opencalls_runtime::{Clock, SystemClock};
use opencalls_store::{ClusterStore, NodeId};
use opencalls_store_sqlite::SqliteStore;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn store() -> (Arc<dyn ClusterStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("db.sqlite")).unwrap();
    (Arc::new(store), dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_stops_renewing_is_cleaned_up_once_by_one_survivor() {
    let (cluster, _dir) = store();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let cleaned = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let on_dead = |me: &'static str| -> OnDead {
        let cleaned = cleaned.clone();
        Arc::new(move |node| {
            let cleaned = cleaned.clone();
            Box::pin(async move {
                let dead = node.info.node_id.to_string();
                cleaned.lock().unwrap().push((me.to_owned(), dead));
            })
        })
    };
    let a = Membership::join(
        cluster.clone(),
        clock.clone(),
        config("a", 150),
        Hooks {
            on_dead: on_dead("a"),
            on_evicted: Arc::new(|_| {}),
        },
    )
    .await
    .unwrap();
    let b = Membership::join(
        cluster.clone(),
        clock.clone(),
        config("b", 150),
        Hooks {
            on_dead: on_dead("b"),
            on_evicted: Arc::new(|_| {}),
        },
    )
    .await
    .unwrap();
    // "c" crashes: it registered and never renews.
    let c = config("c", 150);
    cluster
        .register_node(&c.node, clock.now(), 150)
        .await
        .unwrap();
    until("c to be cleaned up", || !cleaned.lock().unwrap().is_empty()).await;
    // Several more rounds of both survivors: nobody cleans up c again, and a and b live on.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let cleaned = cleaned.lock().unwrap().clone();
    assert_eq!(cleaned.len(), 1, "{cleaned:?}");
    assert_eq!(cleaned[0].1, "c");
    let live = cluster.live_nodes(clock.now()).await.unwrap();
    let ids: Vec<_> = live.iter().map(|n| n.info.node_id.to_string()).collect();
    assert_eq!(ids, ["a", "b"]);
    a.leave().await;
    let live = cluster.live_nodes(clock.now()).await.unwrap();
    assert_eq!(live.len(), 1);
    b.leave().await;
}

/// Counts how many nodes run the work at once.
struct Work {
    running: Arc<AtomicUsize>,
}

#[async_trait]
impl DutyWork for Work {
    async fn stop(self: Box<Self>) {
        self.running.fetch_sub(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duty_runs_on_one_node_and_moves_when_its_holder_stops() {
    let (cluster, _dir) = store();
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let starts = Arc::new(Mutex::new(Vec::<&'static str>::new()));
    let spawn = |id: &'static str| {
        let (running, most, starts) = (running.clone(), most.clone(), starts.clone());
        let contender = Contender {
            cluster: cluster.clone(),
            clock: Arc::new(SystemClock),
            node_id: NodeId::parse(id).unwrap(),
            lease: Duration::from_millis(150),
        };
        Duty::spawn(
            "webhooks",
            contender,
            Box::new(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                starts.lock().unwrap().push(id);
                Some(Box::new(Work {
                    running: running.clone(),
                }) as Box<dyn DutyWork>)
            }),
        )
    };
    let a = spawn("a");
    let b = spawn("b");
    until("one node to take the duty", || {
        running.load(Ordering::SeqCst) == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(most.load(Ordering::SeqCst), 1);
    let first = starts.lock().unwrap().clone();
    assert_eq!(first.len(), 1, "{first:?}");
    let (holder, other) = if first[0] == "a" { (a, b) } else { (b, a) };
    holder.stop().await;
    until("the other node to take over", || {
        starts.lock().unwrap().len() == 2
    })
    .await;
    assert_eq!(running.load(Ordering::SeqCst), 1);
    assert_eq!(most.load(Ordering::SeqCst), 1);
    assert_ne!(starts.lock().unwrap()[1], first[0]);
    other.stop().await;
    assert_eq!(running.load(Ordering::SeqCst), 0);
}
