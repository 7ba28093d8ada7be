//! Media groups spread over N worker threads ("every core"): each worker is a media thread
//! with its own sans-IO [`SfuCore`], its own UDP socket (and ICE-TCP listener) on its own
//! port, and its own shell loop; the [`Directory`] says which worker owns a group and a peer.
//!
//! Invariants:
//! - A group and all its peers live on one worker (its home), so the packet path takes no
//!   lock: a datagram arrives on the socket of the worker whose port the peer's answer
//!   advertised (worker `i` binds the configured port + `i`, or its own OS-chosen port
//!   when the configured one is 0), and is handled there. The one exception is a spread
//!   live group (`SfuConfig::spread_live_groups`): its host is on the home worker, each new
//!   viewer goes to the worker with the fewest peers, and the other workers hold mirrors of
//!   the group fed over bounded queues between the workers (`engine::mirror`; the shells
//!   carry those messages, still without a lock). A re-offer stays on the worker of the
//!   peer it replaces.
//! - The directory is touched only on the command path (by the handle) and when a worker's
//!   core drops a peer (the shell forgets it as the `PeerDisconnected` event leaves): never
//!   per datagram. It is exact: a peer is in it from the moment its `add_peer` is accepted
//!   for sending (a reservation, undone if the worker refuses) until its
//!   `PeerDisconnected`, so `max_peers` and `max_groups` bound the whole media layer and a
//!   peer id is unique across workers.
//! - New groups go to the worker with the fewest groups (ties: the lowest index, so with
//!   one group everything is on worker 0, at the configured port).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;

use crate::affinity;
use crate::api::{GroupId, PeerId, Role, SfuError, SfuEvent};
use crate::config::{COMMAND_QUEUE_LIMIT, SfuConfig};
use crate::engine::{Relayed, SfuCore};
use crate::handle::Command;
use crate::shell::{Shell, ShellLinks};

/// Which worker owns each group and each peer (see the module invariants).
#[derive(Debug)]
pub(crate) struct Directory {
    /// Each group's home worker, and whether its viewers are spread over all workers.
    groups: HashMap<GroupId, (usize, bool)>,
    /// Groups per worker (for placing new groups).
    load: Vec<usize>,
    peers: HashMap<PeerId, usize>,
    /// Peers per worker (for placing the viewers of spread groups).
    peer_load: Vec<usize>,
    max_groups: usize,
    max_peers: usize,
}

/// The directory shared by the handle and the workers.
pub(crate) type SharedDirectory = Arc<Mutex<Directory>>;

/// Locks the directory; a panic while holding it cannot leave it half-updated (every
/// update is one map operation), so a poisoned lock is still used.
pub(crate) fn lock(directory: &SharedDirectory) -> MutexGuard<'_, Directory> {
    directory
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Directory {
    pub fn new(workers: usize, max_groups: usize, max_peers: usize) -> Self {
        Directory {
            groups: HashMap::new(),
            load: vec![0; workers],
            peers: HashMap::new(),
            peer_load: vec![0; workers],
            max_groups,
            max_peers,
        }
    }

    /// Reserves a new group on the least loaded worker and returns that worker (its home);
    /// `spread`: its viewers go to every worker.
    pub fn place_group(&mut self, group: &GroupId, spread: bool) -> Result<usize, SfuError> {
        if self.groups.contains_key(group) {
            return Err(SfuError::GroupExists(group.clone()));
        }
        if self.groups.len() >= self.max_groups {
            return Err(SfuError::LimitReached("max_groups"));
        }
        let worker = (0..self.load.len())
            .min_by_key(|w| (self.load[*w], *w))
            .unwrap_or(0);
        self.groups.insert(group.clone(), (worker, spread));
        self.load[worker] += 1;
        Ok(worker)
    }

    /// Forgets a group (removed, or its creation refused).
    pub fn remove_group(&mut self, group: &GroupId) {
        if let Some((worker, _)) = self.groups.remove(group) {
            self.load[worker] -= 1;
        }
    }

    /// The group's home worker.
    pub fn group_worker(&self, group: &GroupId) -> Result<usize, SfuError> {
        self.group_place(group).map(|(home, _)| home)
    }

    /// The group's home worker and whether its viewers are spread over all workers.
    pub fn group_place(&self, group: &GroupId) -> Result<(usize, bool), SfuError> {
        self.groups
            .get(group)
            .copied()
            .ok_or_else(|| SfuError::GroupNotFound(group.clone()))
    }

    pub fn peer_worker(&self, peer: &PeerId) -> Result<usize, SfuError> {
        self.peers
            .get(peer)
            .copied()
            .ok_or_else(|| SfuError::PeerNotFound(peer.clone()))
    }

    /// Reserves a peer id (unique across workers, within `max_peers`; the peer it
    /// `replaces`, if any, does not count) on its worker: the group's home, or for a viewer
    /// of a spread group the worker with the fewest peers; a re-offer stays with the peer
    /// it replaces.
    pub fn reserve_peer(
        &mut self,
        group: &GroupId,
        peer: &PeerId,
        role: Role,
        replaces: Option<&PeerId>,
    ) -> Result<usize, SfuError> {
        let (home, spread) = self.group_place(group)?;
        let least_loaded = || {
            (0..self.peer_load.len())
                .min_by_key(|w| (self.peer_load[*w], *w != home, *w))
                .unwrap_or(home)
        };
        let worker = match replaces.and_then(|r| self.peers.get(r)) {
            Some(&worker) => worker,
            None if spread && role == Role::Viewer => least_loaded(),
            None => home,
        };
        if self.peers.contains_key(peer) {
            return Err(SfuError::PeerExists(peer.clone()));
        }
        let replaced = replaces.is_some_and(|r| self.peers.contains_key(r));
        if self.peers.len() - usize::from(replaced) >= self.max_peers {
            return Err(SfuError::LimitReached("max_peers"));
        }
        self.peers.insert(peer.clone(), worker);
        self.peer_load[worker] += 1;
        Ok(worker)
    }

    /// Forgets a peer (its worker dropped it, or its `add_peer` was refused).
    pub fn remove_peer(&mut self, peer: &PeerId) {
        if let Some(worker) = self.peers.remove(peer) {
            self.peer_load[worker] -= 1;
        }
    }
}

/// A worker's links to the others: every worker's relay queue (by index, its own too) and
/// the receiving end of its own.
pub(crate) type RelayLinks = (Arc<[mpsc::Sender<Relayed>]>, mpsc::Receiver<Relayed>);

/// The handle's link to one worker.
#[derive(Debug)]
pub(crate) struct WorkerLink {
    pub tx: mpsc::Sender<Command>,
    pub local_addr: SocketAddr,
    pub tcp_addr: Option<SocketAddr>,
}

/// How many workers `config` asks for: `workers`, or the number of cores when 0.
pub(crate) fn worker_count(config: &SfuConfig) -> usize {
    match config.workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

/// Worker `index`'s settings: every configured port (bind, advertised, TCP) shifted by
/// `index`, so each worker has its own; a port of 0 stays 0 (the OS chooses).
pub(crate) fn worker_config(config: &SfuConfig, index: usize) -> Result<SfuConfig, SfuError> {
    let shift = |addr: SocketAddr| -> Result<SocketAddr, SfuError> {
        Ok(SocketAddr::new(addr.ip(), shift_port(addr.port(), index)?))
    };
    let mut worker = config.clone();
    worker.bind = shift(config.bind)?;
    worker.advertised = config
        .advertised
        .iter()
        .map(|a| shift(*a))
        .collect::<Result<_, _>>()?;
    worker.tcp_bind = config.tcp_bind.map(shift).transpose()?;
    worker.tcp_advertised_port = config
        .tcp_advertised_port
        .map(|p| shift_port(p, index))
        .transpose()?;
    Ok(worker)
}

fn shift_port(port: u16, index: usize) -> Result<u16, SfuError> {
    if port == 0 {
        return Ok(0);
    }
    u16::try_from(usize::from(port) + index)
        .map_err(|_| SfuError::Io(format!("port {port} + worker {index} exceeds 65535")))
}

/// Binds worker `index`'s sockets (in the caller, so a bind error is returned at once) and
/// spawns its thread `sfu-media-<index>`, pinned to `cpu` if given (`affinity::plan`).
pub(crate) fn spawn(
    config: &SfuConfig,
    index: usize,
    directory: SharedDirectory,
    events: mpsc::Sender<SfuEvent>,
    relay: RelayLinks,
    cpu: Option<usize>,
) -> Result<WorkerLink, SfuError> {
    let config = worker_config(config, index)?;
    let socket = bind_udp(&config)?;
    let local_addr = socket
        .local_addr()
        .map_err(|e| SfuError::Io(e.to_string()))?;
    let tcp = config.tcp_bind.map(bind_tcp).transpose()?;
    let tcp_addr = tcp.as_ref().and_then(|l| l.local_addr().ok());
    // A TCP connection lives as long as a peer could wait to connect or stay silent.
    let tcp_idle = config.connect_timeout.max(config.transport_timeout);
    let (cmd_tx, cmd_rx) = mpsc::channel(COMMAND_QUEUE_LIMIT);
    let run = move || {
        schedule_this_worker(index, config.realtime_priority, cpu);
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                tracing::error!(error = %e, worker = index, "media runtime failed to start");
                return;
            }
        };
        runtime.block_on(async move {
            let batching = (config.send_batch, config.send_ahead, config.fan_out_reads);
            let core = SfuCore::new(config, local_addr, std::time::Instant::now());
            let tcp = tcp.map(|listener| (listener, tcp_idle));
            let links = ShellLinks {
                events,
                directory,
                index,
                relay,
            };
            match Shell::new(core, socket, tcp, links, batching) {
                Ok(shell) => shell.run(cmd_rx).await,
                Err(e) => tracing::error!(error = %e, worker = index, "media worker failed"),
            }
        });
    };
    std::thread::Builder::new()
        .name(format!("sfu-media-{index}"))
        .spawn(run)
        .map_err(|e| SfuError::Io(e.to_string()))?;
    Ok(WorkerLink {
        tx: cmd_tx,
        local_addr,
        tcp_addr,
    })
}

/// Applies the worker's scheduling settings to the calling thread: real-time priority and
/// its CPU. What the OS refuses is logged and left as it was: the worker still runs.
fn schedule_this_worker(index: usize, realtime_priority: Option<u8>, cpu: Option<usize>) {
    if let Some(priority) = realtime_priority {
        match set_realtime(priority) {
            Ok(()) => tracing::info!(worker = index, priority, "media worker runs real-time"),
            Err(e) => {
                tracing::warn!(worker = index, error = %e, "media worker keeps the normal scheduling policy")
            }
        }
    }
    if let Some(cpu) = cpu {
        match affinity::pin_current_thread(cpu) {
            Ok(()) => tracing::debug!(worker = index, cpu, "media worker pinned"),
            Err(e) => tracing::warn!(worker = index, cpu, error = %e, "media worker not pinned"),
        }
    }
}

/// Puts the calling thread under `SCHED_FIFO` at `priority` (1 to 99).
#[cfg(target_os = "linux")]
fn set_realtime(priority: u8) -> Result<(), String> {
    use thread_priority::{
        RealtimeThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id,
    };
    let value = priority
        .clamp(1, 99)
        .try_into()
        .map_err(|e| format!("{e:?}"))?;
    let policy = ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo);
    set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Crossplatform(value),
        policy,
    )
    .map_err(|e| format!("{e:?}"))
}

#[cfg(not(target_os = "linux"))]
fn set_realtime(_priority: u8) -> Result<(), String> {
    Err("real-time priority is only supported on Linux".into())
}

/// Binds a worker's non-blocking UDP socket with the configured buffer sizes.
fn bind_udp(config: &SfuConfig) -> Result<std::net::UdpSocket, SfuError> {
    let io = |e: std::io::Error| SfuError::Io(format!("UDP socket on {}: {e}", config.bind));
    let socket = std::net::UdpSocket::bind(config.bind).map_err(io)?;
    let sock = socket2::SockRef::from(&socket);
    // Best effort: the kernel may cap the size; a smaller buffer only means earlier drops.
    let _ = sock.set_recv_buffer_size(config.socket_buffer_bytes);
    let _ = sock.set_send_buffer_size(config.socket_buffer_bytes);
    socket.set_nonblocking(true).map_err(io)?;
    Ok(socket)
}

/// Binds the ICE-TCP listener (non-blocking, handed to the media thread).
fn bind_tcp(addr: SocketAddr) -> Result<std::net::TcpListener, SfuError> {
    let io = |e: std::io::Error| SfuError::Io(format!("ICE-TCP listener on {addr}: {e}"));
    let listener = std::net::TcpListener::bind(addr).map_err(io)?;
    listener.set_nonblocking(true).map_err(io)?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gid(s: &str) -> GroupId {
        GroupId(s.into())
    }

    fn pid(s: &str) -> PeerId {
        PeerId(s.into())
    }

    #[test]
    fn groups_go_to_the_least_loaded_worker_and_peers_follow_their_group() {
        let mut d = Directory::new(2, 10, 10);
        assert_eq!(d.place_group(&gid("a"), false).unwrap(), 0);
        assert_eq!(d.place_group(&gid("b"), false).unwrap(), 1);
        assert_eq!(d.place_group(&gid("c"), false).unwrap(), 0);
        d.remove_group(&gid("a"));
        assert_eq!(
            d.place_group(&gid("d"), false).unwrap(),
            0,
            "worker 0 had one fewer"
        );
        assert!(matches!(
            d.place_group(&gid("b"), false),
            Err(SfuError::GroupExists(_))
        ));
        assert_eq!(
            d.reserve_peer(&gid("b"), &pid("p"), Role::Participant, None)
                .unwrap(),
            1
        );
        assert_eq!(d.peer_worker(&pid("p")).unwrap(), 1);
        assert!(matches!(
            d.reserve_peer(&gid("c"), &pid("p"), Role::Participant, None),
            Err(SfuError::PeerExists(_))
        ));
        assert!(matches!(
            d.reserve_peer(&gid("a"), &pid("q"), Role::Participant, None),
            Err(SfuError::GroupNotFound(_))
        ));
        d.remove_peer(&pid("p"));
        assert!(matches!(
            d.peer_worker(&pid("p")),
            Err(SfuError::PeerNotFound(_))
        ));
    }

    #[test]
    fn viewers_of_a_spread_group_go_to_the_least_loaded_worker_and_hosts_stay_home() {
        let mut d = Directory::new(2, 10, 10);
        assert_eq!(d.place_group(&gid("room"), false).unwrap(), 0);
        assert_eq!(d.place_group(&gid("live"), true).unwrap(), 1);
        d.reserve_peer(&gid("room"), &pid("r1"), Role::Participant, None)
            .unwrap();
        let host = d.reserve_peer(&gid("live"), &pid("h"), Role::Host, None);
        assert_eq!(host.unwrap(), 1, "the host is on the home worker");
        // 1 peer each: ties go to the home; then to whichever has fewer.
        let place = |d: &mut Directory, v: &str| {
            d.reserve_peer(&gid("live"), &pid(v), Role::Viewer, None)
                .unwrap()
        };
        assert_eq!(place(&mut d, "v1"), 1);
        assert_eq!(place(&mut d, "v2"), 0);
        assert_eq!(place(&mut d, "v3"), 1);
        assert_eq!(place(&mut d, "v4"), 0);
        // A re-offer stays with the peer it replaces, whatever the load (now 3 and 4).
        let again = d.reserve_peer(&gid("live"), &pid("v3b"), Role::Viewer, Some(&pid("v3")));
        assert_eq!(again.unwrap(), 1);
        assert_eq!(place(&mut d, "v5"), 0);
        d.remove_peer(&pid("v3"));
        d.remove_peer(&pid("v3b"));
        assert_eq!(place(&mut d, "v6"), 1, "freed places count");
        // A room's peers stay on its worker.
        let r2 = d.reserve_peer(&gid("room"), &pid("r2"), Role::Participant, None);
        assert_eq!(r2.unwrap(), 0);
    }

    #[test]
    fn the_caps_hold_across_workers() {
        let mut d = Directory::new(2, 2, 2);
        d.place_group(&gid("a"), false).unwrap();
        d.place_group(&gid("b"), false).unwrap();
        assert!(matches!(
            d.place_group(&gid("c"), false),
            Err(SfuError::LimitReached("max_groups"))
        ));
        d.reserve_peer(&gid("a"), &pid("1"), Role::Participant, None)
            .unwrap();
        d.reserve_peer(&gid("b"), &pid("2"), Role::Participant, None)
            .unwrap();
        assert!(matches!(
            d.reserve_peer(&gid("b"), &pid("3"), Role::Participant, None),
            Err(SfuError::LimitReached("max_peers"))
        ));
        // A re-offer replacing a peer does not need a free place.
        d.reserve_peer(&gid("b"), &pid("2b"), Role::Participant, Some(&pid("2")))
            .unwrap();
    }

    #[test]
    fn each_worker_gets_its_own_ports() {
        let config = SfuConfig {
            bind: "0.0.0.0:50000".parse().unwrap(),
            advertised: vec!["192.0.2.7:50000".parse().unwrap()],
            tcp_bind: Some("0.0.0.0:443".parse().unwrap()),
            tcp_advertised_port: Some(8443),
            ..SfuConfig::default()
        };
        let w1 = worker_config(&config, 1).unwrap();
        assert_eq!(w1.bind, "0.0.0.0:50001".parse().unwrap());
        assert_eq!(w1.advertised, vec!["192.0.2.7:50001".parse().unwrap()]);
        assert_eq!(w1.tcp_bind, Some("0.0.0.0:444".parse().unwrap()));
        assert_eq!(w1.tcp_advertised_port, Some(8444));
        let any = worker_config(&SfuConfig::default(), 3).unwrap();
        assert_eq!(any.bind.port(), 0, "an OS-chosen port stays OS-chosen");
        let top = SfuConfig {
            bind: "127.0.0.1:65535".parse().unwrap(),
            ..SfuConfig::default()
        };
        assert!(matches!(worker_config(&top, 1), Err(SfuError::Io(_))));
    }
}
