//! Batched UDP sends for the shell: the datagrams the core has ready are handed to the
//! kernel in one `sendmmsg(2)` call on Linux (through `nix`'s safe wrapper), or one
//! `send_to` each elsewhere or when `SfuConfig::send_batch` is 1.
//!
//! Invariants:
//! - Nothing waits to fill a batch: the shell pushes what the core has already built and
//!   sends as soon as the core would have to build more (the next subscriber's copy), so a
//!   batch never holds a datagram back while other work runs (unless `send_ahead` > 0
//!   allows that many later datagrams to be built first), and never waits for input.
//! - Every pushed datagram is either sent or counted as refused by `send` (socket would
//!   block, or an error for that one datagram), never silently lost or sent twice.
//! - At most `SEND_BATCH_LIMIT` datagrams per batch; buffers are reused between batches.

use std::net::SocketAddr;

use tokio::net::UdpSocket;

use crate::config::SEND_BATCH_LIMIT;

/// Datagrams waiting for one send call.
pub(crate) struct UdpBatch {
    destinations: Vec<SocketAddr>,
    contents: Vec<Vec<u8>>,
    limit: usize,
    /// `SfuConfig::send_ahead`.
    ahead: usize,
    #[cfg(target_os = "linux")]
    mmsg: mmsg::Headers,
}

impl UdpBatch {
    /// A batch of at most `limit` datagrams (clamped to 1..=`SEND_BATCH_LIMIT`) that waits
    /// for at most `ahead` datagrams beyond what is already built (`SfuConfig::send_ahead`).
    pub fn new(limit: usize, ahead: usize) -> Self {
        let limit = limit.clamp(1, SEND_BATCH_LIMIT);
        UdpBatch {
            destinations: Vec::with_capacity(limit),
            contents: Vec::with_capacity(limit),
            limit,
            ahead,
            #[cfg(target_os = "linux")]
            mmsg: mmsg::Headers::new(limit),
        }
    }

    pub fn push(&mut self, destination: SocketAddr, contents: Vec<u8>) {
        self.destinations.push(destination);
        self.contents.push(contents);
    }

    pub fn is_empty(&self) -> bool {
        self.contents.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.contents.len() >= self.limit
    }

    /// Whether to send now: the batch is full, or nothing more is already built
    /// (`more_ready` false) and it holds more than `ahead` datagrams.
    pub fn should_send(&self, more_ready: bool) -> bool {
        self.is_full() || (!more_ready && self.contents.len() > self.ahead)
    }

    /// Sends every pushed datagram and empties the batch; returns how many were refused.
    pub fn send(&mut self, socket: &UdpSocket) -> usize {
        if self.is_empty() {
            return 0;
        }
        #[cfg(target_os = "linux")]
        let refused = if self.limit > 1 && self.contents.len() > 1 {
            self.mmsg.send(socket, &self.destinations, &self.contents)
        } else {
            send_each(socket, &self.destinations, &self.contents)
        };
        #[cfg(not(target_os = "linux"))]
        let refused = send_each(socket, &self.destinations, &self.contents);
        self.destinations.clear();
        self.contents.clear();
        refused
    }
}

/// The fallback: one `send_to` per datagram; returns how many were refused.
fn send_each(socket: &UdpSocket, destinations: &[SocketAddr], contents: &[Vec<u8>]) -> usize {
    destinations
        .iter()
        .zip(contents)
        .filter(|(to, bytes)| socket.try_send_to(bytes, **to).is_err())
        .count()
}

#[cfg(target_os = "linux")]
mod mmsg {
    //! `sendmmsg(2)` through `nix` (its wrapper holds the only `unsafe`).

    use std::io::{ErrorKind, IoSlice};
    use std::net::SocketAddr;
    use std::os::fd::AsRawFd;

    use nix::errno::Errno;
    use nix::sys::socket::{ControlMessage, MsgFlags, MultiHeaders, SockaddrStorage, sendmmsg};
    use tokio::io::Interest;
    use tokio::net::UdpSocket;

    /// The kernel-facing headers, allocated once per batch size.
    pub struct Headers {
        headers: MultiHeaders<SockaddrStorage>,
        addrs: Vec<Option<SockaddrStorage>>,
    }

    impl Headers {
        pub fn new(limit: usize) -> Self {
            Headers {
                headers: MultiHeaders::preallocate(limit, None),
                addrs: Vec::with_capacity(limit),
            }
        }

        /// Sends all datagrams, resuming after a partial send; a datagram the kernel
        /// refuses with an error of its own (not "would block") is skipped and counted,
        /// and "would block" refuses the rest. Returns how many were refused.
        pub fn send(
            &mut self,
            socket: &UdpSocket,
            destinations: &[SocketAddr],
            contents: &[Vec<u8>],
        ) -> usize {
            self.addrs.clear();
            self.addrs
                .extend(destinations.iter().map(|d| Some(SockaddrStorage::from(*d))));
            let slices: Vec<[IoSlice<'_>; 1]> =
                contents.iter().map(|c| [IoSlice::new(c)]).collect();
            let mut refused = 0;
            let mut next = 0;
            while next < slices.len() {
                let from = next;
                let result = socket.try_io(Interest::WRITABLE, || {
                    let cmsgs: [ControlMessage<'_>; 0] = [];
                    sendmmsg(
                        socket.as_raw_fd(),
                        &mut self.headers,
                        &slices[from..],
                        &self.addrs[from..],
                        cmsgs,
                        MsgFlags::empty(),
                    )
                    .map(Iterator::count)
                    .map_err(std::io::Error::from)
                });
                match result {
                    Ok(sent) if sent > 0 => next += sent,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        return refused + slices.len() - next;
                    }
                    Err(e) if e.raw_os_error() == Some(Errno::EINTR as i32) => {}
                    // An error for the datagram at `next` itself (e.g. unreachable
                    // destination), or nothing sent: skip it, keep the others.
                    _ => {
                        refused += 1;
                        next += 1;
                    }
                }
            }
            refused
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// Pushes `n` distinct datagrams through a batch of `limit` (sending whenever it is
    /// full, as the shell does) to a receiver, and returns what arrived.
    async fn send_through(limit: usize, n: usize) -> (usize, HashSet<Vec<u8>>) {
        let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        // Tokio learns a new socket is writable from the reactor (as the shell's does while
        // it waits for its first datagram); `try_*` calls before that report "would block".
        sender.writable().await.unwrap();
        let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = receiver.local_addr().unwrap();
        receiver
            .set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let mut batch = UdpBatch::new(limit, 0);
        let mut refused = 0;
        for i in 0..n {
            batch.push(to, format!("datagram {i}").into_bytes());
            if batch.is_full() {
                refused += batch.send(&sender);
            }
        }
        refused += batch.send(&sender);
        assert!(batch.is_empty());
        let mut got = HashSet::new();
        let mut buf = [0u8; 64];
        for _ in 0..n - refused {
            let len = receiver
                .recv(&mut buf)
                .expect("every sent datagram arrives");
            got.insert(buf[..len].to_vec());
        }
        (refused, got)
    }

    #[test]
    fn a_batch_goes_out_when_nothing_more_is_built_or_it_is_full() {
        let to: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let mut batch = UdpBatch::new(3, 0);
        assert!(!batch.should_send(false), "nothing to send");
        batch.push(to, vec![1]);
        assert!(
            !batch.should_send(true),
            "more is already built: take it too"
        );
        assert!(
            batch.should_send(false),
            "never wait for the next subscriber"
        );
        batch.push(to, vec![2]);
        batch.push(to, vec![3]);
        assert!(batch.should_send(true), "full");
        let mut ahead = UdpBatch::new(64, 2);
        ahead.push(to, vec![1]);
        ahead.push(to, vec![2]);
        assert!(!ahead.should_send(false), "may build 2 more first");
        ahead.push(to, vec![3]);
        assert!(ahead.should_send(false));
    }

    #[tokio::test]
    async fn every_datagram_is_sent_once_batched_or_not() {
        for limit in [SEND_BATCH_LIMIT, 7, 1] {
            let (refused, got) = send_through(limit, 150).await;
            assert_eq!(
                refused, 0,
                "limit {limit}: a loopback socket never refuses 150"
            );
            let want: HashSet<Vec<u8>> = (0..150)
                .map(|i| format!("datagram {i}").into_bytes())
                .collect();
            assert_eq!(got, want, "limit {limit}: in == out");
        }
    }
}
