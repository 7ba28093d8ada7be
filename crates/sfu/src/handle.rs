//! The caller's side: `Sfu::start` binds the sockets and spawns the media workers (one
//! shell around one core each, `crate::workers`); `SfuHandle` routes each command over the
//! owning worker's bounded queue (through the `Directory`) and awaits its reply, or asks
//! every worker and merges (stats, peers); `SfuEvents` receives every worker's events.
//!
//! Invariants: every command gets exactly one reply, or `SfuError::Stopped` once the worker
//! it needs is gone. The API is the same for one worker or many.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use crate::affinity;
use crate::api::{
    GroupId, Kind, PeerId, PeerSnapshot, Policy, Role, SfuError, SfuEvent, SfuStats, Subscriptions,
};
use crate::config::{RELAY_QUEUE_LIMIT, SfuConfig};
use crate::engine::{Counters, Placement};
use crate::workers::{self, Directory, SharedDirectory, WorkerLink};

/// One worker's share of the stats: raw counters (merged so percentiles stay exact) and
/// its table sizes `(groups, peers, demux entries)`.
pub(crate) type StatsParts = (Counters, usize, usize, usize);

/// A request to the media thread; each carries the channel its reply goes to.
#[derive(Debug)]
pub(crate) enum Command {
    CreateGroup(
        GroupId,
        Policy,
        Placement,
        oneshot::Sender<Result<(), SfuError>>,
    ),
    RemoveGroup(GroupId, oneshot::Sender<Result<(), SfuError>>),
    AddPeer(AddPeer, oneshot::Sender<Result<String, SfuError>>),
    RemovePeer(PeerId, oneshot::Sender<Result<(), SfuError>>),
    SetSubscriptions(PeerId, Subscriptions, oneshot::Sender<Result<(), SfuError>>),
    SetPaused(PeerId, Kind, bool, oneshot::Sender<Result<(), SfuError>>),
    SetLayerHint(
        PeerId,
        String,
        Option<u32>,
        oneshot::Sender<Result<(), SfuError>>,
    ),
    SetForwarding(GroupId, bool, oneshot::Sender<Result<(), SfuError>>),
    Stats(oneshot::Sender<Result<StatsParts, SfuError>>),
    Peers(oneshot::Sender<Result<Vec<PeerSnapshot>, SfuError>>),
    ResetStats(oneshot::Sender<Result<(), SfuError>>),
    Shutdown,
}

/// Arguments of `add_peer`.
#[derive(Debug, Clone)]
pub struct AddPeer {
    pub group: GroupId,
    pub peer: PeerId,
    pub role: Role,
    /// The peer's SDP offer.
    pub offer: String,
    /// A peer of the same group this one takes over from (a client's re-offer). It is
    /// removed only once the new offer has been accepted, so a refused re-offer leaves the
    /// working transport untouched.
    pub replaces: Option<PeerId>,
}

/// Receives the media layer's events (bounded by `SfuConfig::event_queue`).
pub type SfuEvents = mpsc::Receiver<SfuEvent>;

/// Entry point of the media layer.
pub struct Sfu;

impl Sfu {
    /// Binds every worker's sockets and starts the media workers (threads named
    /// `sfu-media-<i>`; `SfuConfig::workers`, 0 = one per core).
    pub fn start(config: SfuConfig) -> Result<(SfuHandle, SfuEvents), SfuError> {
        let count = workers::worker_count(&config);
        let directory: SharedDirectory = Arc::new(Mutex::new(Directory::new(
            count,
            config.max_groups,
            config.max_peers,
        )));
        let (event_tx, event_rx) = mpsc::channel(config.event_queue.max(1));
        let (relay_txs, relay_rxs): (Vec<_>, Vec<_>) =
            (0..count).map(|_| mpsc::channel(RELAY_QUEUE_LIMIT)).unzip();
        let relay_txs: Arc<[_]> = relay_txs.into();
        let cpus = config.pin_workers.then(|| affinity::plan(count)).flatten();
        let mut links = Vec::with_capacity(count);
        for (index, relay_rx) in relay_rxs.into_iter().enumerate() {
            // A failed bind drops the links started so far: their workers stop.
            let relay = (relay_txs.clone(), relay_rx);
            links.push(workers::spawn(
                &config,
                index,
                directory.clone(),
                event_tx.clone(),
                relay,
                cpus.as_ref().and_then(|cpus| cpus.get(index).copied()),
            )?);
        }
        let handle = SfuHandle {
            workers: links.into(),
            directory,
            spread_live_groups: config.spread_live_groups && count > 1,
        };
        Ok((handle, event_rx))
    }
}

/// Cloneable handle to a running media layer.
#[derive(Debug, Clone)]
pub struct SfuHandle {
    workers: Arc<[WorkerLink]>,
    directory: SharedDirectory,
    /// Live groups get a mirror on every other worker and their viewers are spread.
    spread_live_groups: bool,
}

impl SfuHandle {
    /// Worker 0's bound UDP address (with one worker, the media layer's address).
    pub fn local_addr(&self) -> SocketAddr {
        self.workers[0].local_addr
    }

    /// Every worker's bound UDP address, by worker index.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.workers.iter().map(|w| w.local_addr).collect()
    }

    /// How many media workers run.
    pub fn worker_count(&self) -> usize {
        self.workers.len()
    }

    /// Whether every media worker is still running (health checks): one that died takes
    /// its groups with it, so the media layer is not healthy.
    pub fn is_running(&self) -> bool {
        self.workers.iter().all(|w| !w.tx.is_closed())
    }

    /// Worker 0's bound ICE-TCP listener's address, when ICE over TCP is on.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.workers[0].tcp_addr
    }

    /// The worker that owns `group` (tests and diagnostics).
    pub fn group_worker(&self, group: &GroupId) -> Option<usize> {
        workers::lock(&self.directory).group_worker(group).ok()
    }

    async fn call<T>(
        &self,
        worker: usize,
        make: impl FnOnce(oneshot::Sender<Result<T, SfuError>>) -> Command,
    ) -> Result<T, SfuError> {
        let (tx, rx) = oneshot::channel();
        self.workers[worker]
            .tx
            .send(make(tx))
            .await
            .map_err(|_| SfuError::Stopped)?;
        rx.await.map_err(|_| SfuError::Stopped)?
    }

    /// Asks every worker, in index order.
    async fn call_all<T>(
        &self,
        make: impl Fn(oneshot::Sender<Result<T, SfuError>>) -> Command,
    ) -> Result<Vec<T>, SfuError> {
        let mut replies = Vec::with_capacity(self.workers.len());
        for worker in 0..self.workers.len() {
            replies.push(self.call(worker, &make).await?);
        }
        Ok(replies)
    }

    fn peer_worker(&self, peer: &PeerId) -> Result<usize, SfuError> {
        workers::lock(&self.directory).peer_worker(peer)
    }

    /// Creates a group on the least loaded worker; a live group with several workers (and
    /// `spread_live_groups`) also gets a mirror on every other worker.
    pub async fn create_group(&self, group: GroupId, policy: Policy) -> Result<(), SfuError> {
        let spread = self.spread_live_groups && policy == Policy::Live;
        let home = workers::lock(&self.directory).place_group(&group, spread)?;
        let mut created = Vec::new();
        let mut result = Ok(());
        for (worker, placement) in self.placements(home, spread) {
            result = self
                .call(worker, |tx| {
                    Command::CreateGroup(group.clone(), policy, placement, tx)
                })
                .await;
            if result.is_err() {
                break;
            }
            created.push(worker);
        }
        if result.is_err() {
            // Undo the parts made so far; a worker that stopped meanwhile has nothing left.
            for worker in created {
                let _ = self
                    .call(worker, |tx| Command::RemoveGroup(group.clone(), tx))
                    .await;
            }
            workers::lock(&self.directory).remove_group(&group);
        }
        result
    }

    /// The workers holding a group whose home is `home`, with the part each holds.
    fn placements(&self, home: usize, spread: bool) -> Vec<(usize, Placement)> {
        if !spread {
            return vec![(home, Placement::Whole)];
        }
        let mirrors = (0..self.workers.len()).filter(|w| *w != home);
        std::iter::once((home, Placement::Home))
            .chain(mirrors.map(|w| (w, Placement::Mirror { home })))
            .collect()
    }

    /// Removes every peer of the group (each gets `PeerDisconnected { Removed }`), then the group.
    pub async fn remove_group(&self, group: GroupId) -> Result<(), SfuError> {
        let (home, spread) = workers::lock(&self.directory).group_place(&group)?;
        for (worker, _) in self.placements(home, spread) {
            self.call(worker, |tx| Command::RemoveGroup(group.clone(), tx))
                .await?;
        }
        workers::lock(&self.directory).remove_group(&group);
        Ok(())
    }

    /// Adds a peer from its SDP offer and returns the SDP answer.
    pub async fn add_peer(&self, request: AddPeer) -> Result<String, SfuError> {
        let peer = request.peer.clone();
        let worker = workers::lock(&self.directory).reserve_peer(
            &request.group,
            &peer,
            request.role,
            request.replaces.as_ref(),
        )?;
        let result = self.call(worker, |tx| Command::AddPeer(request, tx)).await;
        if result.is_err() {
            workers::lock(&self.directory).remove_peer(&peer);
        }
        result
    }

    pub async fn remove_peer(&self, peer: PeerId) -> Result<(), SfuError> {
        let worker = self.peer_worker(&peer)?;
        self.call(worker, |tx| Command::RemovePeer(peer, tx)).await
    }

    pub async fn set_subscriptions(
        &self,
        peer: PeerId,
        subscriptions: Subscriptions,
    ) -> Result<(), SfuError> {
        let worker = self.peer_worker(&peer)?;
        self.call(worker, |tx| {
            Command::SetSubscriptions(peer, subscriptions, tx)
        })
        .await
    }

    /// Stops (`paused = true`) or restarts forwarding of a publisher's `kind` track to everyone.
    pub async fn set_paused(&self, peer: PeerId, kind: Kind, paused: bool) -> Result<(), SfuError> {
        let worker = self.peer_worker(&peer)?;
        self.call(worker, |tx| Command::SetPaused(peer, kind, paused, tx))
            .await
    }

    /// Caps the simulcast layer of the peer's video receive slot `mid` at `max_height`
    /// pixels (`None` = no cap).
    pub async fn set_layer_hint(
        &self,
        peer: PeerId,
        mid: String,
        max_height: Option<u32>,
    ) -> Result<(), SfuError> {
        let worker = self.peer_worker(&peer)?;
        self.call(worker, |tx| {
            Command::SetLayerHint(peer, mid, max_height, tx)
        })
        .await
    }

    /// Live groups: enables or disables forwarding of the host's media to viewers.
    /// (Every worker holding a part of the group is told, the home first.)
    pub async fn set_forwarding(&self, group: GroupId, enabled: bool) -> Result<(), SfuError> {
        let (home, spread) = workers::lock(&self.directory).group_place(&group)?;
        for (worker, _) in self.placements(home, spread) {
            self.call(worker, |tx| {
                Command::SetForwarding(group.clone(), enabled, tx)
            })
            .await?;
        }
        Ok(())
    }

    /// Counters and latency percentiles over every worker (sums; percentiles of the merged
    /// samples).
    pub async fn stats(&self) -> Result<SfuStats, SfuError> {
        let mut total = (Counters::default(), 0, 0, 0);
        for (counters, groups, peers, demux) in self.call_all(Command::Stats).await? {
            total.0.merge(&counters);
            total.1 += groups;
            total.2 += peers;
            total.3 += demux;
        }
        Ok(total.0.snapshot(total.1, total.2, total.3))
    }

    /// Each worker's own stats, by worker index (benchmarks: per-worker load).
    pub async fn worker_stats(&self) -> Result<Vec<SfuStats>, SfuError> {
        let parts = self.call_all(Command::Stats).await?;
        Ok(parts
            .into_iter()
            .map(|(c, groups, peers, demux)| c.snapshot(groups, peers, demux))
            .collect())
    }

    /// Every peer with its connection and media state, to reconcile after `EventsLost`.
    pub async fn peers(&self) -> Result<Vec<PeerSnapshot>, SfuError> {
        Ok(self
            .call_all(Command::Peers)
            .await?
            .into_iter()
            .flatten()
            .collect())
    }

    /// Zeroes the traffic counters and the latency histogram (e.g. after a warm-up).
    pub async fn reset_stats(&self) -> Result<(), SfuError> {
        self.call_all(Command::ResetStats).await.map(drop)
    }

    /// Stops the media workers; all peers are dropped.
    pub async fn shutdown(&self) {
        for worker in self.workers.iter() {
            let _ = worker.tx.send(Command::Shutdown).await;
        }
    }

    /// Stops one worker only (tests: a worker that dies).
    #[cfg(test)]
    pub(crate) async fn stop_worker(&self, worker: usize) {
        let _ = self.workers[worker].tx.send(Command::Shutdown).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_worker_that_dies_flips_the_health_probe() {
        let config = SfuConfig {
            workers: 2,
            ..SfuConfig::default()
        };
        let (sfu, _events) = Sfu::start(config).expect("starts");
        assert!(sfu.is_running());
        sfu.create_group(GroupId("r0".into()), Policy::Video)
            .await
            .unwrap();
        sfu.create_group(GroupId("r1".into()), Policy::Video)
            .await
            .unwrap();
        sfu.stop_worker(1).await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while sfu.is_running() {
            assert!(
                std::time::Instant::now() < deadline,
                "still reported running"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        // The other worker's groups still answer; the dead one's report it.
        sfu.remove_group(GroupId("r0".into())).await.unwrap();
        assert_eq!(
            sfu.remove_group(GroupId("r1".into())).await,
            Err(SfuError::Stopped)
        );
        assert_eq!(sfu.stats().await, Err(SfuError::Stopped));
        sfu.shutdown().await;
    }
}
