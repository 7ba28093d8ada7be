//! A media worker's socket shell around its sans-IO core: it reads the UDP socket, feeds
//! each datagram to [`SfuCore`] with the wall-clock `now` and the time it waited in the
//! socket (the kernel's receive stamp, `crate::recv`), hands the core's transmits to the
//! socket and its events to the bounded event queue, sleeps until the core's next timeout,
//! and turns commands into core calls. With ICE over TCP on, it also accepts TCP
//! connections (`crate::tcp`) and feeds their RFC 4571 frames to the same core as
//! `Protocol::Tcp` datagrams.
//!
//! Invariants:
//! - This is the only place of the media layer that reads the clock or touches a socket.
//! - Transmits are sent right after the input that produced them (before the next datagram
//!   is read, except for the reads between copies below), so batching reads never adds
//!   forwarding latency; `poll_transmit` is drained until `None` after every input read
//!   by `read_burst` (the core's contract), and since the core packetizes a
//!   fan-out one subscriber at a time inside `poll_transmit`, each subscriber's copy of a
//!   frame leaves before the next subscriber's is built (what else its drain produces may
//!   follow the fan-out, see the core's invariants): UDP datagrams are batched (`crate::batch`,
//!   one `sendmmsg`) only while `transmit_ready` says more are already built, and the batch
//!   is sent before the core is asked to build more.
//! - With `SfuConfig::fan_out_reads` > 0, while a fan-out is being built
//!   (`fan_out_pending`) the shell looks at its queue from the other workers and the UDP
//!   socket between two subscribers' copies, at most every `FAN_OUT_RECV_INTERVAL`, for
//!   at most `fan_out_reads` messages and datagrams a look
//!   and `RECV_BURST` a flush, and feeds what arrived to the core before
//!   asking for the next copy: the core packetizes audio first, so an audio frame does not
//!   wait for a whole video fan-out. Those reads use a clone of the socket, read directly
//!   without tokio (`Reader::recv_std`, non-blocking): tokio's cached readiness would
//!   report "would block" for the rest of the flush after the first empty read.
//! - The only shared state it touches is the workers' `Directory`, and only when a
//!   `PeerDisconnected` event leaves (never per datagram).
//! - Messages for other workers (a spread live group's frames and keyframe requests,
//!   `engine::mirror`) go out on their bounded queues with `try_send` (a full queue drops
//!   the message and counts it) at the start of every flush, before the core builds any
//!   copy, so the other workers fan out a frame while this one does; and at its end.
//!   Messages from other workers are fed to the core like datagrams, a flush after each.
//! - Events are pushed with `try_send` and never wait: the packet path never blocks on the
//!   signaling layer (a full queue drops the event and counts it). The shell remembers how
//!   many were dropped and, as soon as the queue has room, sends one `SfuEvent::EventsLost`
//!   so the receiver can reconcile (the loop also wakes for that room, never waits on it).
//! - Events an input produced are queued before that command's reply is sent, so a caller
//!   sees them in order.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use str0m::net::Protocol;
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::{mpsc, oneshot};

use crate::api::{SfuError, SfuEvent};
use crate::batch::UdpBatch;
use crate::config::{FAN_OUT_RECV_INTERVAL, MAX_DATAGRAM, RECV_BURST};
use crate::engine::{RelayTo, Relayed, SfuCore};
use crate::handle::Command;
use crate::recv::{Reader, Received};
use crate::tcp::{TcpInput, TcpSide};
use crate::workers::{self, RelayLinks, SharedDirectory};

/// A shell's links to the rest of the media layer.
pub(crate) struct ShellLinks {
    pub events: mpsc::Sender<SfuEvent>,
    pub directory: SharedDirectory,
    /// This worker's index among the workers.
    pub index: usize,
    pub relay: RelayLinks,
}

/// Why the loop woke up.
enum Wake {
    Command(Option<Command>),
    Readable,
    Relayed(Relayed),
    Accepted(TcpStream, SocketAddr),
    Tcp(TcpInput),
    /// The event queue has room for the pending `EventsLost`.
    Room,
    Timer,
}

/// The sending side of the event queue: never waits, counts what a full queue refused.
pub(crate) struct Outbox {
    tx: mpsc::Sender<SfuEvent>,
    /// Events dropped since the last `EventsLost` was queued.
    lost: u64,
}

impl Outbox {
    pub fn new(tx: mpsc::Sender<SfuEvent>) -> Self {
        Outbox { tx, lost: 0 }
    }

    /// Queues `event` after any pending `EventsLost`; false if the queue was full (the
    /// event is dropped and remembered).
    pub fn push(&mut self, event: SfuEvent) -> bool {
        self.report_lost();
        if self.tx.try_send(event).is_ok() {
            return true;
        }
        self.lost += 1;
        false
    }

    /// Queues the pending `EventsLost`, if any and if there is room.
    pub fn report_lost(&mut self) {
        if self.lost > 0
            && self
                .tx
                .try_send(SfuEvent::EventsLost { count: self.lost })
                .is_ok()
        {
            self.lost = 0;
        }
    }

    /// Ready once the queue has room for a pending `EventsLost`; never ready without one.
    async fn room(&self) {
        if self.lost == 0 {
            return std::future::pending().await;
        }
        // The permit is released at once; another worker may take the room first, and
        // then `report_lost` simply finds none and the loop waits for room again.
        if self.tx.reserve().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// The core with its socket and event queue.
pub(crate) struct Shell {
    core: SfuCore,
    socket: UdpSocket,
    /// The same socket, read directly (non-blocking) between the copies of a fan-out.
    socket_between: std::net::UdpSocket,
    /// Reads both with the kernel's receive time (`crate::recv`).
    reader: Reader,
    /// `SfuConfig::fan_out_reads`.
    fan_out_reads: usize,
    buf: Vec<u8>,
    local_addr: SocketAddr,
    tcp: Option<TcpSide>,
    outbox: Outbox,
    batch: UdpBatch,
    directory: SharedDirectory,
    /// This worker's index among the workers.
    index: usize,
    /// Every worker's relay queue, by index (this one's too, unused), and this one's end.
    relay_tx: Arc<[mpsc::Sender<Relayed>]>,
    relay_rx: mpsc::Receiver<Relayed>,
}

impl Shell {
    /// Wraps a bound, non-blocking std socket (must be called inside a tokio runtime).
    /// `tcp` is the ICE-TCP listener, if enabled, and how long a silent connection lives.
    pub fn new(
        mut core: SfuCore,
        socket: std::net::UdpSocket,
        tcp: Option<(std::net::TcpListener, std::time::Duration)>,
        links: ShellLinks,
        (send_batch, send_ahead, fan_out_reads): (usize, usize, usize),
    ) -> Result<Self, SfuError> {
        let io = |e: std::io::Error| SfuError::Io(e.to_string());
        let reader = Reader::new(&socket);
        let socket_between = socket.try_clone().map_err(io)?;
        let socket = UdpSocket::from_std(socket).map_err(io)?;
        let local_addr = core.local_addr();
        let tcp = match tcp {
            Some((listener, idle)) => Some(TcpSide::new(listener, idle).map_err(io)?),
            None => None,
        };
        if let Some(tcp) = &tcp {
            core.enable_tcp(tcp.local_addr());
        }
        Ok(Shell {
            core,
            socket,
            socket_between,
            reader,
            fan_out_reads,
            buf: vec![0u8; MAX_DATAGRAM],
            local_addr,
            tcp,
            outbox: Outbox::new(links.events),
            batch: UdpBatch::new(send_batch, send_ahead),
            directory: links.directory,
            index: links.index,
            relay_tx: links.relay.0,
            relay_rx: links.relay.1,
        })
    }

    /// Runs until `Shutdown` or until every handle is dropped.
    pub async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        loop {
            let deadline = self.core.poll_timeout();
            let wake = tokio::select! {
                biased;
                cmd = commands.recv() => Wake::Command(cmd),
                // Before the socket: a busy socket must not starve the frames relayed from
                // another worker (their number is bounded by that worker's inputs).
                Some(message) = self.relay_rx.recv() => Wake::Relayed(message),
                r = self.socket.readable() => match r { Ok(()) => Wake::Readable, Err(_) => Wake::Timer },
                input = tcp_input(&mut self.tcp) => input,
                () = self.outbox.room() => Wake::Room,
                _ = tokio::time::sleep_until(deadline.into()) => Wake::Timer,
            };
            match wake {
                Wake::Command(None) | Wake::Command(Some(Command::Shutdown)) => break,
                Wake::Command(Some(cmd)) => self.handle_command(cmd),
                Wake::Readable => self.read_burst(),
                Wake::Relayed(message) => self.relayed(message),
                Wake::Accepted(stream, remote) => {
                    if let Some(tcp) = &mut self.tcp {
                        tcp.adopt(stream, remote);
                    }
                }
                Wake::Tcp(input) => self.handle_tcp(input),
                Wake::Room => self.outbox.report_lost(),
                Wake::Timer => {}
            }
            self.core.handle_timeout(Instant::now());
            self.flush();
        }
        tracing::info!("media thread stopped");
    }

    /// Reads up to `RECV_BURST` datagrams without waiting, flushing after each.
    fn read_burst(&mut self) {
        for _ in 0..RECV_BURST {
            let Ok(got) = self.reader.try_recv(&self.socket, &mut self.buf) else {
                return;
            };
            self.receive(got);
            self.flush();
        }
    }

    /// Feeds the core a datagram read into `buf` (with its wait in the socket).
    fn receive(&mut self, got: Received) {
        self.core.handle_receive_after(
            Instant::now(),
            got.waited,
            Protocol::Udp,
            canonical(got.source),
            self.local_addr,
            &self.buf[..got.len],
        );
    }

    /// Feeds the core a message from another worker and what else is queued (at most
    /// `RECV_BURST` in all), flushing after each.
    fn relayed(&mut self, first: Relayed) {
        let mut next = Some(first);
        for _ in 0..RECV_BURST {
            let Some(message) = next.take() else {
                return;
            };
            self.core.handle_relay(Instant::now(), message);
            self.flush();
            next = self.relay_rx.try_recv().ok();
        }
    }

    /// Hands the core's messages for other workers to their queues.
    fn send_relays(&mut self) {
        while let Some((to, message)) = self.core.poll_relay() {
            for _ in 0..deliver(&self.relay_tx, self.index, to, &message) {
                self.core.relay_dropped();
            }
        }
    }

    /// Feeds the core what arrived while a fan-out is being sent, at most `budget`
    /// datagrams and messages from other workers, without flushing (the flush under way
    /// goes on, audio first). Returns how many were read.
    fn read_between_copies(&mut self, budget: usize) -> usize {
        let mut read = 0;
        while read < budget {
            let Ok(message) = self.relay_rx.try_recv() else {
                break;
            };
            read += 1;
            self.core.handle_relay(Instant::now(), message);
        }
        while read < budget {
            let Ok(got) = self.reader.recv_std(&self.socket_between, &mut self.buf) else {
                break;
            };
            read += 1;
            self.receive(got);
        }
        read
    }

    /// Where the UDP socket sends to reach `to`: an IPv4 peer through a dual-stack IPv6
    /// socket is addressed as `::ffff:a.b.c.d`.
    fn udp_destination(&self, to: SocketAddr) -> SocketAddr {
        match (self.local_addr, to) {
            (SocketAddr::V6(_), SocketAddr::V4(v4)) => {
                SocketAddr::new(v4.ip().to_ipv6_mapped().into(), v4.port())
            }
            _ => to,
        }
    }

    /// One frame of an ICE-TCP connection goes to the core like a datagram.
    fn handle_tcp(&mut self, input: TcpInput) {
        let Some(tcp) = &mut self.tcp else {
            return;
        };
        match input {
            TcpInput::Frame(source, frame) => {
                let local = tcp.local_addr();
                self.core
                    .handle_receive_on(Instant::now(), Protocol::Tcp, source, local, &frame);
                self.flush();
            }
            TcpInput::Closed(remote) => tcp.closed(remote),
        }
    }

    /// Sends every transmit the core gives, then delivers every queued event (polling
    /// transmits can queue events). UDP datagrams go out in batches of what the core has
    /// already built (the batch is sent before it builds the next subscriber's). The clock
    /// is read only when a sent datagram completes a forwarded frame (latency measurement),
    /// and once more at the end if a frame produced no datagram of its own.
    fn flush(&mut self) {
        // When the socket was last looked at during this fan-out, and what may still be read.
        let budget = if self.fan_out_reads > 0 {
            RECV_BURST
        } else {
            0
        };
        let mut look = (None, budget);
        self.send_relays();
        loop {
            self.look_between_copies(&mut look);
            let Some(t) = self.core.poll_transmit() else {
                break;
            };
            match (t.proto, &self.tcp) {
                (Protocol::Tcp, Some(tcp)) => {
                    if !tcp.send(t.destination, t.contents) {
                        self.core.transmit_failed();
                    }
                }
                (Protocol::Tcp, None) => self.core.transmit_failed(),
                _ => {
                    let to = self.udp_destination(t.destination);
                    self.batch.push(to, t.contents);
                }
            }
            if self.batch.should_send(self.core.transmit_ready()) {
                self.send_batch();
            }
            if self.batch.is_empty() && self.core.awaits_send_time() {
                self.core.transmits_sent(Instant::now());
            }
        }
        self.send_batch();
        if self.core.awaits_send_time() {
            self.core.transmits_sent(Instant::now());
        }
        self.send_relays();
        while let Some(event) = self.core.poll_event() {
            if let SfuEvent::PeerDisconnected { peer, .. } = &event {
                workers::lock(&self.directory).remove_peer(peer);
            }
            if !self.outbox.push(event) {
                self.core.event_dropped();
            }
        }
    }

    /// Between two copies of a fan-out (nothing built is waiting), reads the socket if
    /// `FAN_OUT_RECV_INTERVAL` passed since the last look (`looked`; the first call of a
    /// fan-out only starts the interval), within the flush's `budget`.
    fn look_between_copies(&mut self, (looked, budget): &mut (Option<Instant>, usize)) {
        let between_copies = !self.core.transmit_ready() && self.batch.is_empty();
        if *budget == 0 || !between_copies || !self.core.fan_out_pending() {
            return;
        }
        let now = Instant::now();
        let since = *looked.get_or_insert(now);
        if now.duration_since(since) >= FAN_OUT_RECV_INTERVAL {
            *looked = Some(now);
            *budget -= self.read_between_copies((*budget).min(self.fan_out_reads));
            self.send_relays();
        }
    }

    /// Hands the batched datagrams to the socket; each refused one is a drop.
    fn send_batch(&mut self) {
        for _ in 0..self.batch.send(&self.socket) {
            self.core.transmit_failed();
        }
    }

    fn handle_command(&mut self, cmd: Command) {
        let now = Instant::now();
        match cmd {
            Command::CreateGroup(id, policy, placement, reply) => {
                self.answer(reply, |core| core.create_group_at(id, policy, placement))
            }
            Command::RemoveGroup(id, reply) => self.answer(reply, |core| core.remove_group(&id)),
            Command::AddPeer(req, reply) => self.answer(reply, |core| core.add_peer(now, req)),
            Command::RemovePeer(id, reply) => self.answer(reply, |core| core.remove_peer(&id)),
            Command::SetSubscriptions(id, subs, reply) => {
                self.answer(reply, |core| core.set_subscriptions(&id, subs))
            }
            Command::SetPaused(id, kind, paused, reply) => {
                self.answer(reply, |core| core.set_paused(now, &id, kind, paused))
            }
            Command::SetLayerHint(id, mid, max_height, reply) => {
                self.answer(reply, |core| core.set_layer_hint(&id, &mid, max_height))
            }
            Command::SetForwarding(id, on, reply) => {
                self.answer(reply, |core| core.set_forwarding(now, &id, on))
            }
            Command::Stats(reply) => self.answer(reply, |core| Ok(core.stats_parts())),
            Command::Peers(reply) => self.answer(reply, |core| Ok(core.peer_snapshots())),
            Command::ResetStats(reply) => self.answer(reply, |core| {
                core.reset_stats();
                Ok(())
            }),
            Command::Shutdown => {}
        }
    }

    /// Runs one command on the core, flushes its effects, then replies. A caller that gave
    /// up waiting dropped its receiver; the reply is then moot, so a send error is ignored.
    fn answer<T>(
        &mut self,
        reply: oneshot::Sender<Result<T, SfuError>>,
        command: impl FnOnce(&mut SfuCore) -> Result<T, SfuError>,
    ) {
        let result = command(&mut self.core);
        self.flush();
        drop(reply.send(result));
    }
}

/// Puts `message` on the queue of each worker `to` names, except worker `from` (the
/// sender). A full queue (`RELAY_QUEUE_LIMIT`) or a stopped worker does not block the
/// sender: the message is dropped for that worker. Returns how many copies were dropped.
fn deliver(queues: &[mpsc::Sender<Relayed>], from: usize, to: RelayTo, message: &Relayed) -> usize {
    let targets = match to {
        RelayTo::Mirrors => 0..queues.len(),
        RelayTo::Worker(w) => w..w + 1,
    };
    targets
        .filter(|w| *w != from)
        .filter_map(|w| queues.get(w))
        .filter(|tx| tx.try_send(message.clone()).is_err())
        .count()
}

/// A dual-stack socket (bound to `[::]`) reports IPv4 peers as `::ffff:a.b.c.d`; the core
/// and str0m see them as the IPv4 addresses they are.
fn canonical(source: SocketAddr) -> SocketAddr {
    SocketAddr::new(source.ip().to_canonical(), source.port())
}

/// The next accepted connection or connection input; never ready without ICE-TCP.
async fn tcp_input(tcp: &mut Option<TcpSide>) -> Wake {
    let Some(tcp) = tcp else {
        return std::future::pending().await;
    };
    match tcp.next().await {
        Some(Ok((stream, remote))) => Wake::Accepted(stream, remote),
        Some(Err(input)) => Wake::Tcp(input),
        None => Wake::Timer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{GroupId, Kind, PeerId};
    use crate::config::RELAY_QUEUE_LIMIT;

    fn started(n: u32) -> SfuEvent {
        SfuEvent::MediaStarted {
            group: GroupId("g".into()),
            peer: PeerId(format!("p{n}")),
            kind: Kind::Audio,
        }
    }

    #[tokio::test]
    async fn a_full_queue_yields_one_events_lost_once_room_returns() {
        let (tx, mut rx) = mpsc::channel(2);
        let mut outbox = Outbox::new(tx);
        assert!(outbox.push(started(1)));
        assert!(outbox.push(started(2)));
        assert!(!outbox.push(started(3)), "a full queue refuses");
        assert!(!outbox.push(started(4)));
        outbox.report_lost(); // still full: nothing is sent, nothing is forgotten
        assert_eq!(rx.recv().await, Some(started(1)));
        // Room is back: the loop's wake-up fires and the loss is reported once.
        tokio::time::timeout(std::time::Duration::from_secs(5), outbox.room())
            .await
            .expect("room is seen");
        outbox.report_lost();
        outbox.report_lost();
        assert_eq!(rx.recv().await, Some(started(2)));
        assert_eq!(rx.recv().await, Some(SfuEvent::EventsLost { count: 2 }));
        assert!(rx.try_recv().is_err(), "reported once");
        // Later events flow normally and nothing more is pending.
        assert!(outbox.push(started(5)));
        assert_eq!(rx.recv().await, Some(started(5)));
        assert!(rx.try_recv().is_err());
    }

    fn awaited(n: usize) -> Relayed {
        Relayed::KeyframeAwaited {
            group: GroupId(format!("g{n}")),
            mid: str0m::media::Mid::from("0"),
        }
    }

    /// The group a received `KeyframeAwaited` names.
    fn group_of(message: Option<Relayed>) -> Option<String> {
        match message? {
            Relayed::KeyframeAwaited { group, .. } => Some(group.0),
            _ => None,
        }
    }

    #[test]
    fn a_full_relay_queue_drops_for_that_worker_only_and_counts_it() {
        let (txs, mut rxs): (Vec<_>, Vec<_>) =
            (0..3).map(|_| mpsc::channel(RELAY_QUEUE_LIMIT)).unzip();
        // Worker 1's queue holds its limit: the next message for it is dropped.
        for n in 0..RELAY_QUEUE_LIMIT {
            assert_eq!(deliver(&txs, 0, RelayTo::Worker(1), &awaited(n)), 0);
        }
        assert_eq!(deliver(&txs, 0, RelayTo::Mirrors, &awaited(9999)), 1);
        // Worker 2 got it, the sender (worker 0) did not send to itself.
        assert_eq!(group_of(rxs[2].try_recv().ok()).as_deref(), Some("g9999"));
        assert!(rxs[0].try_recv().is_err());
        // Worker 1 has its first `RELAY_QUEUE_LIMIT` messages, in order, and not the dropped one.
        for n in 0..RELAY_QUEUE_LIMIT {
            assert_eq!(group_of(rxs[1].try_recv().ok()), Some(format!("g{n}")));
        }
        assert!(rxs[1].try_recv().is_err());
        // Once it has room, it takes messages again; a stopped worker counts as a drop.
        assert_eq!(deliver(&txs, 2, RelayTo::Worker(1), &awaited(1)), 0);
        drop(rxs.remove(2));
        assert_eq!(deliver(&txs, 0, RelayTo::Mirrors, &awaited(2)), 1);
        assert_eq!(group_of(rxs[1].try_recv().ok()).as_deref(), Some("g1"));
    }
}
