//! ICE over TCP for the shell (RFC 6544 passive candidates, RFC 4571 framing): the
//! listener, and per accepted connection a reader task (frames → the media thread's loop)
//! and a writer task (the core's TCP transmits → framed writes).
//!
//! Invariants:
//! - The core stays sans-IO: it sees each frame as a datagram with `Protocol::Tcp` and the
//!   connection's remote address, exactly like a UDP datagram; only this module touches TCP.
//! - Bounded everywhere: at most `MAX_TCP_CONNECTIONS` connections, frames of at most
//!   `MAX_DATAGRAM` bytes (a longer length prefix closes the connection), `TCP_SEND_QUEUE`
//!   datagrams queued per writer (a full queue drops the datagram, as a full UDP socket
//!   buffer would), and a connection silent for `idle` is closed.
//! - The media thread never waits on a connection: it only `try_send`s to writers; readers
//!   wait for room in the shared input queue (TCP flow control pushes back on the client).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::config::{MAX_DATAGRAM, MAX_TCP_CONNECTIONS, RECV_BURST, TCP_SEND_QUEUE};

/// What the connection tasks tell the media thread's loop.
pub(crate) enum TcpInput {
    /// One RFC 4571 frame from the connection of this remote address.
    Frame(SocketAddr, Vec<u8>),
    /// The connection from this remote address ended (closed, failed, idle or oversized).
    Closed(SocketAddr),
}

/// The listener and the writer queue of every open connection, by remote address.
pub(crate) struct TcpSide {
    listener: TcpListener,
    local_addr: SocketAddr,
    writers: HashMap<SocketAddr, mpsc::Sender<Vec<u8>>>,
    inputs_tx: mpsc::Sender<TcpInput>,
    inputs_rx: mpsc::Receiver<TcpInput>,
    idle: Duration,
}

impl TcpSide {
    /// Wraps a bound, non-blocking std listener (inside a tokio runtime).
    pub fn new(listener: std::net::TcpListener, idle: Duration) -> std::io::Result<Self> {
        let listener = TcpListener::from_std(listener)?;
        let local_addr = listener.local_addr()?;
        let (inputs_tx, inputs_rx) = mpsc::channel(RECV_BURST * 4);
        Ok(TcpSide {
            listener,
            local_addr,
            writers: HashMap::new(),
            inputs_tx,
            inputs_rx,
            idle,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The next accepted connection (`Ok`) or input from a connection (`Err`); `None` when
    /// accepting failed (e.g. out of file descriptors: the loop tries again later).
    pub async fn next(&mut self) -> Option<Result<(TcpStream, SocketAddr), TcpInput>> {
        let TcpSide {
            listener,
            inputs_rx,
            ..
        } = self;
        // A dual-stack listener reports IPv4 peers as `::ffff:a.b.c.d`: canonical for the
        // core, and the writer map uses the same key.
        let canonical = |(stream, a): (TcpStream, SocketAddr)| {
            (stream, SocketAddr::new(a.ip().to_canonical(), a.port()))
        };
        tokio::select! {
            accepted = listener.accept() => accepted.ok().map(canonical).map(Ok),
            input = inputs_rx.recv() => input.map(Err),
        }
    }

    /// Starts the reader and writer tasks of a new connection (refused beyond the limit).
    pub fn adopt(&mut self, stream: TcpStream, remote: SocketAddr) {
        if self.writers.len() >= MAX_TCP_CONNECTIONS {
            tracing::warn!(%remote, "ICE-TCP connection refused: too many connections");
            return;
        }
        let _ = stream.set_nodelay(true);
        let (read, write) = stream.into_split();
        let (tx, rx) = mpsc::channel(TCP_SEND_QUEUE);
        self.writers.insert(remote, tx);
        tokio::spawn(read_frames(read, remote, self.inputs_tx.clone(), self.idle));
        tokio::spawn(write_frames(write, rx));
    }

    /// Forgets a connection that ended; its writer task ends with the dropped queue.
    pub fn closed(&mut self, remote: SocketAddr) {
        self.writers.remove(&remote);
    }

    /// Queues one datagram for the connection from `destination`; false when there is no
    /// such connection or its queue is full (the caller counts a dropped transmit).
    pub fn send(&self, destination: SocketAddr, contents: Vec<u8>) -> bool {
        self.writers
            .get(&destination)
            .is_some_and(|tx| tx.try_send(contents).is_ok())
    }
}

/// Reads RFC 4571 frames (16-bit big-endian length, then the datagram) until the connection
/// ends, is silent for `idle`, or announces a frame longer than `MAX_DATAGRAM`.
async fn read_frames(
    mut read: OwnedReadHalf,
    remote: SocketAddr,
    inputs: mpsc::Sender<TcpInput>,
    idle: Duration,
) {
    loop {
        let mut len = [0u8; 2];
        match tokio::time::timeout(idle, read.read_exact(&mut len)).await {
            Ok(Ok(_)) => {}
            _ => break,
        }
        let len = usize::from(u16::from_be_bytes(len));
        if len == 0 || len > MAX_DATAGRAM {
            tracing::debug!(%remote, len, "ICE-TCP frame length out of range; closing");
            break;
        }
        let mut frame = vec![0u8; len];
        match tokio::time::timeout(idle, read.read_exact(&mut frame)).await {
            Ok(Ok(_)) => {}
            _ => break,
        }
        if inputs.send(TcpInput::Frame(remote, frame)).await.is_err() {
            return;
        }
    }
    let _ = inputs.send(TcpInput::Closed(remote)).await;
}

/// Writes each queued datagram as one RFC 4571 frame until the queue is dropped or a write
/// fails.
async fn write_frames(mut write: OwnedWriteHalf, mut rx: mpsc::Receiver<Vec<u8>>) {
    let mut framed = Vec::with_capacity(MAX_DATAGRAM + 2);
    while let Some(datagram) = rx.recv().await {
        let Ok(len) = u16::try_from(datagram.len()) else {
            continue;
        };
        framed.clear();
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(&datagram);
        if write.write_all(&framed).await.is_err() {
            return;
        }
    }
}
