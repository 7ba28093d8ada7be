//! The caller's side: `Sfu::start` binds the socket and spawns the media thread (the shell
//! around the core); `SfuHandle` sends it commands over a bounded queue and awaits each
//! reply; `SfuEvents` receives its events.
//!
//! Invariant: every command gets exactly one reply, or `SfuError::Stopped` once the media
//! thread is gone.

use std::net::SocketAddr;

use tokio::sync::{mpsc, oneshot};

use crate::api::{
    GroupId, Kind, PeerId, PeerSnapshot, Policy, Role, SfuError, SfuEvent, SfuStats, Subscriptions,
};
use crate::config::{COMMAND_QUEUE_LIMIT, SfuConfig};
use crate::engine::SfuCore;
use crate::shell::Shell;

/// A request to the media thread; each carries the channel its reply goes to.
#[derive(Debug)]
pub(crate) enum Command {
    CreateGroup(GroupId, Policy, oneshot::Sender<Result<(), SfuError>>),
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
    Stats(oneshot::Sender<Result<SfuStats, SfuError>>),
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
    /// Binds the UDP socket and starts the media thread (named `sfu-media`).
    pub fn start(config: SfuConfig) -> Result<(SfuHandle, SfuEvents), SfuError> {
        let socket =
            std::net::UdpSocket::bind(config.bind).map_err(|e| SfuError::Io(e.to_string()))?;
        let sock = socket2::SockRef::from(&socket);
        // Best effort: the kernel may cap the size; a smaller buffer only means earlier drops.
        let _ = sock.set_recv_buffer_size(config.socket_buffer_bytes);
        let _ = sock.set_send_buffer_size(config.socket_buffer_bytes);
        socket
            .set_nonblocking(true)
            .map_err(|e| SfuError::Io(e.to_string()))?;
        let local_addr = socket
            .local_addr()
            .map_err(|e| SfuError::Io(e.to_string()))?;
        let tcp = match config.tcp_bind {
            Some(addr) => Some(bind_tcp(addr)?),
            None => None,
        };
        let tcp_addr = tcp.as_ref().and_then(|l| l.local_addr().ok());
        // A TCP connection lives as long as a peer could wait to connect or stay silent.
        let tcp_idle = config.connect_timeout.max(config.transport_timeout);
        let (cmd_tx, cmd_rx) = mpsc::channel(COMMAND_QUEUE_LIMIT);
        let (event_tx, event_rx) = mpsc::channel(config.event_queue.max(1));
        let thread = std::thread::Builder::new()
            .name("sfu-media".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        tracing::error!(error = %e, "media runtime failed to start");
                        return;
                    }
                };
                runtime.block_on(async move {
                    let core = SfuCore::new(config, local_addr, std::time::Instant::now());
                    let tcp = tcp.map(|listener| (listener, tcp_idle));
                    match Shell::new(core, socket, tcp, event_tx) {
                        Ok(shell) => shell.run(cmd_rx).await,
                        Err(e) => tracing::error!(error = %e, "media engine failed to start"),
                    }
                });
            });
        thread.map_err(|e| SfuError::Io(e.to_string()))?;
        Ok((
            SfuHandle {
                tx: cmd_tx,
                local_addr,
                tcp_addr,
            },
            event_rx,
        ))
    }
}

/// Binds the ICE-TCP listener (non-blocking, handed to the media thread).
fn bind_tcp(addr: SocketAddr) -> Result<std::net::TcpListener, SfuError> {
    let io = |e: std::io::Error| SfuError::Io(format!("ICE-TCP listener on {addr}: {e}"));
    let listener = std::net::TcpListener::bind(addr).map_err(io)?;
    listener.set_nonblocking(true).map_err(io)?;
    Ok(listener)
}

/// Cloneable handle to a running media layer.
#[derive(Debug, Clone)]
pub struct SfuHandle {
    tx: mpsc::Sender<Command>,
    local_addr: SocketAddr,
    tcp_addr: Option<SocketAddr>,
}

impl SfuHandle {
    /// The bound UDP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Whether the media thread is still running (health checks).
    pub fn is_running(&self) -> bool {
        !self.tx.is_closed()
    }

    /// The bound ICE-TCP listener's address, when ICE over TCP is on.
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        self.tcp_addr
    }

    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, SfuError>>) -> Command,
    ) -> Result<T, SfuError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(make(tx))
            .await
            .map_err(|_| SfuError::Stopped)?;
        rx.await.map_err(|_| SfuError::Stopped)?
    }

    pub async fn create_group(&self, group: GroupId, policy: Policy) -> Result<(), SfuError> {
        self.call(|tx| Command::CreateGroup(group, policy, tx))
            .await
    }

    /// Removes every peer of the group (each gets `PeerDisconnected { Removed }`), then the group.
    pub async fn remove_group(&self, group: GroupId) -> Result<(), SfuError> {
        self.call(|tx| Command::RemoveGroup(group, tx)).await
    }

    /// Adds a peer from its SDP offer and returns the SDP answer.
    pub async fn add_peer(&self, request: AddPeer) -> Result<String, SfuError> {
        self.call(|tx| Command::AddPeer(request, tx)).await
    }

    pub async fn remove_peer(&self, peer: PeerId) -> Result<(), SfuError> {
        self.call(|tx| Command::RemovePeer(peer, tx)).await
    }

    pub async fn set_subscriptions(
        &self,
        peer: PeerId,
        subscriptions: Subscriptions,
    ) -> Result<(), SfuError> {
        self.call(|tx| Command::SetSubscriptions(peer, subscriptions, tx))
            .await
    }

    /// Stops (`paused = true`) or restarts forwarding of a publisher's `kind` track to everyone.
    pub async fn set_paused(&self, peer: PeerId, kind: Kind, paused: bool) -> Result<(), SfuError> {
        self.call(|tx| Command::SetPaused(peer, kind, paused, tx))
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
        self.call(|tx| Command::SetLayerHint(peer, mid, max_height, tx))
            .await
    }

    /// Live groups: enables or disables forwarding of the host's media to viewers.
    pub async fn set_forwarding(&self, group: GroupId, enabled: bool) -> Result<(), SfuError> {
        self.call(|tx| Command::SetForwarding(group, enabled, tx))
            .await
    }

    pub async fn stats(&self) -> Result<SfuStats, SfuError> {
        self.call(Command::Stats).await
    }

    /// Every peer with its connection and media state, to reconcile after `EventsLost`.
    pub async fn peers(&self) -> Result<Vec<PeerSnapshot>, SfuError> {
        self.call(Command::Peers).await
    }

    /// Zeroes the traffic counters and the latency histogram (e.g. after a warm-up).
    pub async fn reset_stats(&self) -> Result<(), SfuError> {
        self.call(Command::ResetStats).await
    }

    /// Stops the media thread; all peers are dropped.
    pub async fn shutdown(&self) {
        let _ = self.tx.send(Command::Shutdown).await;
    }
}
