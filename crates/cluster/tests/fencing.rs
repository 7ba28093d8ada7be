//! Self-fencing (docs/cluster.md, "Failures"): a node whose store stops answering (every
//! call hangs, like a connection black-holed by a network partition) tells `on_evicted(true)`
//! before a survivor claims it, and `on_evicted(false)` once it reaches the store again and
//! the survivor's clean-up after it is done.

mod common;

use async_trait::async_trait;
use common::{config, until};
use opencalls_cluster::membership::{Hooks, Membership, OnDead};
use opencalls_domain::{DeviceKey, Millis};
use opencalls_runtime::{Clock, SystemClock};
use opencalls_store::{ClusterStore, DeviceSeats, NodeId, NodeInfo, NodeLease, StoreError, Tail};
use opencalls_store_sqlite::SqliteStore;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A store whose every call hangs while `cut` is set (the calls made before pass through).
struct Cuttable {
    inner: Arc<dyn ClusterStore>,
    cut: AtomicBool,
}

impl Cuttable {
    async fn reach(&self) {
        while self.cut.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

#[async_trait]
impl ClusterStore for Cuttable {
    async fn register_node(&self, n: &NodeInfo, now: Millis, l: i64) -> Result<bool, StoreError> {
        self.reach().await;
        self.inner.register_node(n, now, l).await
    }
    async fn renew_node_lease(&self, n: &NodeId, now: Millis, l: i64) -> Result<bool, StoreError> {
        self.reach().await;
        self.inner.renew_node_lease(n, now, l).await
    }
    async fn live_nodes(&self, now: Millis) -> Result<Vec<NodeLease>, StoreError> {
        self.reach().await;
        self.inner.live_nodes(now).await
    }
    async fn claim_dead_nodes(
        &self,
        c: &NodeId,
        now: Millis,
    ) -> Result<Vec<NodeLease>, StoreError> {
        self.reach().await;
        self.inner.claim_dead_nodes(c, now).await
    }
    async fn forget_node(&self, n: &NodeId, c: &NodeId) -> Result<(), StoreError> {
        self.reach().await;
        self.inner.forget_node(n, c).await
    }
    async fn leave_cluster(&self, n: &NodeId) -> Result<(), StoreError> {
        self.reach().await;
        self.inner.leave_cluster(n).await
    }
    async fn hold_duty(
        &self,
        d: &str,
        n: &NodeId,
        now: Millis,
        t: i64,
    ) -> Result<bool, StoreError> {
        self.reach().await;
        self.inner.hold_duty(d, n, now, t).await
    }
    async fn release_duty(&self, d: &str, n: &NodeId) -> Result<(), StoreError> {
        self.reach().await;
        self.inner.release_duty(d, n).await
    }
    async fn outbox_head(&self) -> Result<i64, StoreError> {
        self.reach().await;
        self.inner.outbox_head().await
    }
    async fn events_from_other_nodes(
        &self,
        n: &NodeId,
        a: i64,
        l: usize,
    ) -> Result<Tail, StoreError> {
        self.reach().await;
        self.inner.events_from_other_nodes(n, a, l).await
    }
    async fn hold_device(
        &self,
        d: &DeviceKey,
        n: &NodeId,
        s: Millis,
    ) -> Result<Option<NodeId>, StoreError> {
        self.reach().await;
        self.inner.hold_device(d, n, s).await
    }
    async fn device_holder(&self, d: &DeviceKey) -> Result<Option<NodeId>, StoreError> {
        self.reach().await;
        self.inner.device_holder(d).await
    }
    async fn release_device(&self, d: &DeviceKey, n: &NodeId) -> Result<bool, StoreError> {
        self.reach().await;
        self.inner.release_device(d, n).await
    }
    async fn devices_held_by(&self, n: &NodeId, l: usize) -> Result<Vec<DeviceKey>, StoreError> {
        self.reach().await;
        self.inner.devices_held_by(n, l).await
    }
    async fn device_seats(&self, d: &DeviceKey) -> Result<DeviceSeats, StoreError> {
        self.reach().await;
        self.inner.device_seats(d).await
    }
    async fn forget_device_holders(&self) -> Result<u64, StoreError> {
        self.reach().await;
        self.inner.forget_device_holders().await
    }
}

/// What happened, in order, with when.
type Log = Arc<Mutex<Vec<(&'static str, Instant)>>>;

fn seen(log: &Log, what: &str) -> Option<Instant> {
    let log = log.lock().unwrap();
    log.iter().find(|(w, _)| *w == what).map(|(_, at)| *at)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_store_hangs_fences_itself_before_a_survivor_claims_it_then_rejoins() {
    const LEASE_MS: u64 = 1_000;
    let dir = tempfile::tempdir().unwrap();
    let sqlite: Arc<dyn ClusterStore> =
        Arc::new(SqliteStore::open(dir.path().join("db.sqlite")).unwrap());
    let cuttable = Arc::new(Cuttable {
        inner: sqlite.clone(),
        cut: AtomicBool::new(false),
    });
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let log: Log = Arc::default();
    let on_evicted = {
        let log = log.clone();
        Arc::new(move |fenced: bool| {
            let what = if fenced { "fenced" } else { "live again" };
            log.lock().unwrap().push((what, Instant::now()));
        })
    };
    let a = Membership::join(
        cuttable.clone(),
        clock.clone(),
        config("a", LEASE_MS),
        Hooks {
            on_dead: Arc::new(|_| Box::pin(async {})),
            on_evicted,
        },
    )
    .await
    .unwrap();
    // The survivor records its claim and, a little later, finishes its clean-up.
    let on_dead: OnDead = {
        let (log, sqlite) = (log.clone(), sqlite.clone());
        Arc::new(move |node| {
            log.lock().unwrap().push(("claimed", Instant::now()));
            let sqlite = sqlite.clone();
            Box::pin(async move {
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    let me = NodeId::parse("b").unwrap();
                    sqlite.forget_node(&node.info.node_id, &me).await.unwrap();
                });
            })
        })
    };
    let b = Membership::join(
        sqlite.clone(),
        clock.clone(),
        config("b", LEASE_MS),
        Hooks {
            on_dead,
            on_evicted: Arc::new(|_| {}),
        },
    )
    .await
    .unwrap();

    cuttable.cut.store(true, Ordering::SeqCst);
    let cut_at = Instant::now();
    until("node b to claim node a", || seen(&log, "claimed").is_some()).await;
    let fenced = seen(&log, "fenced").expect("node a never fenced itself");
    let claimed = seen(&log, "claimed").unwrap();
    assert!(fenced < claimed, "fenced after the claim");
    // The margin is a fifth of the lease; a loaded machine may eat some of it.
    assert!(
        claimed - fenced >= Duration::from_millis(LEASE_MS / 10),
        "fenced only {:?} before the claim",
        claimed - fenced
    );
    // 0.7 × the lease after the last renewal, sent before the cut (a little slack for the
    // timer).
    let after_cut = fenced.saturating_duration_since(cut_at);
    assert!(
        after_cut < Duration::from_millis(LEASE_MS * 8 / 10),
        "fenced {after_cut:?} after the cut, claimed {:?} after it",
        claimed.saturating_duration_since(cut_at)
    );
    assert!(seen(&log, "live again").is_none());

    cuttable.cut.store(false, Ordering::SeqCst);
    until("node a to rejoin", || seen(&log, "live again").is_some()).await;
    let live = sqlite.live_nodes(clock.now()).await.unwrap();
    assert_eq!(live.len(), 2, "{live:?}");
    a.leave().await;
    b.leave().await;
}
