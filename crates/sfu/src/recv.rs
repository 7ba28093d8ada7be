//! Reads of the UDP socket with the kernel's receive time, so a forwarded frame's added
//! latency counts the time its datagram waited in the socket while the worker was busy
//! (a fan-out under way, a timer pass): on Linux the socket asks for `SO_TIMESTAMPNS` and
//! each read takes the stamp from its control message (`recvmsg(2)` through `nix`'s safe
//! wrapper). Elsewhere, or when a datagram carries no stamp, the wait is zero: the latency
//! is then measured from the read. (Linux turns stamping on host-wide a moment after the
//! first socket asks; a datagram that arrived before is stamped when read: no wait.)
//!
//! Invariants: a read never blocks (the sockets are non-blocking, and a read through the
//! tokio socket clears its readiness on "would block"); the wait is never negative, and a
//! stamp more than `MAX_SOCKET_WAIT` before the read (a wall-clock step between the two)
//! counts as no wait; the control-message buffer is allocated once per reader; a kernel
//! that refuses the option only costs the stamps.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use tokio::net::UdpSocket;

/// The longest wait in the socket taken from a kernel stamp; an older stamp means the wall
/// clock moved between the stamp and the read.
pub(crate) const MAX_SOCKET_WAIT: Duration = Duration::from_secs(1);

/// One datagram read into the caller's buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Received {
    pub len: usize,
    pub source: SocketAddr,
    /// How long it waited in the socket before this read (zero if unknown).
    pub waited: Duration,
}

/// Reads datagrams with their receive time; owns the buffer their stamps are read into.
pub(crate) struct Reader {
    #[cfg(target_os = "linux")]
    control: Vec<u8>,
}

impl Reader {
    /// A reader for `socket`, which it asks for receive stamps (and its clones with it:
    /// they share the socket). If the kernel refuses, the refusal is logged and reads
    /// carry no stamp: the stamps only serve the latency figures.
    pub fn new(socket: &std::net::UdpSocket) -> Self {
        #[cfg(target_os = "linux")]
        {
            use nix::sys::socket::{setsockopt, sockopt};
            if let Err(e) = setsockopt(socket, sockopt::ReceiveTimestampns, &true) {
                tracing::warn!(error = %e, "no receive timestamps: latency counted from reads");
            }
            Reader {
                control: nix::cmsg_space!(nix::sys::time::TimeSpec),
            }
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = socket;
            Reader {}
        }
    }

    /// Reads one datagram from the tokio socket without waiting.
    pub fn try_recv(&mut self, socket: &UdpSocket, buf: &mut [u8]) -> io::Result<Received> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            let fd = socket.as_raw_fd();
            let control = &mut self.control;
            socket.try_io(tokio::io::Interest::READABLE, || {
                stamped::recv(fd, buf, control)
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let (len, source) = socket.try_recv_from(buf)?;
            Ok(Received {
                len,
                source,
                waited: Duration::ZERO,
            })
        }
    }

    /// Reads one datagram from a non-blocking std socket (a clone of the tokio one).
    pub fn recv_std(
        &mut self,
        socket: &std::net::UdpSocket,
        buf: &mut [u8],
    ) -> io::Result<Received> {
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            stamped::recv(socket.as_raw_fd(), buf, &mut self.control)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let (len, source) = socket.recv_from(buf)?;
            Ok(Received {
                len,
                source,
                waited: Duration::ZERO,
            })
        }
    }
}

/// How long a datagram stamped at `stamp` (wall clock) had waited when read at `read`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn waited_since(stamp: SystemTime, read: SystemTime) -> Duration {
    read.duration_since(stamp)
        .ok()
        .filter(|waited| *waited <= MAX_SOCKET_WAIT)
        .unwrap_or(Duration::ZERO)
}

#[cfg(target_os = "linux")]
mod stamped {
    //! `recvmsg(2)` with the `SCM_TIMESTAMPNS` control message, through `nix`.

    use std::io::{self, IoSliceMut};
    use std::net::SocketAddr;
    use std::os::fd::RawFd;
    use std::time::{Duration, SystemTime};

    use nix::sys::socket::{ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg};

    use super::{Received, waited_since};

    /// Reads one datagram from `fd` into `buf`, its stamp into `control`.
    pub fn recv(fd: RawFd, buf: &mut [u8], control: &mut [u8]) -> io::Result<Received> {
        let mut iov = [IoSliceMut::new(buf)];
        let msg = recvmsg::<SockaddrStorage>(fd, &mut iov, Some(control), MsgFlags::empty())
            .map_err(io::Error::from)?;
        let read = SystemTime::now();
        let stamp = msg.cmsgs().ok().and_then(|mut cmsgs| {
            cmsgs.find_map(|cmsg| match cmsg {
                ControlMessageOwned::ScmTimestampns(ts) => {
                    SystemTime::UNIX_EPOCH.checked_add(Duration::from(ts))
                }
                _ => None,
            })
        });
        let source = msg
            .address
            .as_ref()
            .and_then(socket_addr)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no source address"))?;
        Ok(Received {
            len: msg.bytes,
            source,
            waited: stamp.map_or(Duration::ZERO, |stamp| waited_since(stamp, read)),
        })
    }

    fn socket_addr(addr: &SockaddrStorage) -> Option<SocketAddr> {
        if let Some(v4) = addr.as_sockaddr_in() {
            return Some(SocketAddr::from(*v4));
        }
        addr.as_sockaddr_in6().map(|v6| SocketAddr::from(*v6))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_gives_the_wait_and_a_clock_step_gives_none() {
        let read = SystemTime::now();
        let ms = Duration::from_millis;
        assert_eq!(waited_since(read - ms(7), read), ms(7));
        assert_eq!(waited_since(read, read), Duration::ZERO);
        // The wall clock went back between stamp and read, or jumped far ahead.
        assert_eq!(waited_since(read + ms(5), read), Duration::ZERO);
        assert_eq!(waited_since(read - ms(5_000), read), Duration::ZERO);
    }

    #[test]
    fn a_datagram_that_waited_in_the_socket_reports_its_wait() {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let mut reader = Reader::new(&socket);
        let sender = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = socket.local_addr().unwrap();
        let wait = Duration::from_millis(30);
        let mut buf = [0u8; 64];
        // Linux turns receive stamps on for the whole host lazily (a deferred static key):
        // a datagram that arrives before that is stamped when it is read. Retry until the
        // stamps are on, within a deadline.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        let got = loop {
            sender.send_to(b"waits", to).unwrap();
            // The datagram is in the socket once the send returns (loopback delivers
            // inline); this sleep is the wait under test, not a wait for readiness.
            std::thread::sleep(wait);
            let got = reader.recv_std(&socket, &mut buf).unwrap();
            assert_eq!(&buf[..got.len], b"waits");
            assert_eq!(got.source, sender.local_addr().unwrap());
            if !cfg!(target_os = "linux") || got.waited >= wait {
                break got;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no stamp in 10 s: {:?}",
                got.waited
            );
        };
        assert!(got.waited < MAX_SOCKET_WAIT, "{:?}", got.waited);
        // Nothing left: a read does not block.
        let empty = reader.recv_std(&socket, &mut buf).unwrap_err();
        assert_eq!(empty.kind(), io::ErrorKind::WouldBlock);
    }
}
