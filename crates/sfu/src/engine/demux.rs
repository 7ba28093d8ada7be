//! Demultiplexing of the one UDP port: STUN binding requests are routed by the local ICE
//! ufrag in their USERNAME attribute; everything else by the source address learnt from the
//! first STUN request of that address. Both are hash lookups, never a scan of the peers.
//!
//! Invariants: at most `MAX_ADDRS_PER_PEER` learnt addresses per peer (STUN is not yet
//! authenticated when learnt); removing a peer removes exactly its own entries.

use std::collections::HashMap;
use std::net::SocketAddr;

use str0m::net::Protocol;

use super::peer::PeerKey;
use crate::config::MAX_ADDRS_PER_PEER;

const STUN_HEADER: usize = 20;
const STUN_MAGIC: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
const ATTR_USERNAME: u16 = 0x0006;

/// The two lookup tables.
#[derive(Debug, Default)]
pub struct Demux {
    by_ufrag: HashMap<String, PeerKey>,
    /// Keyed by transport too: a client's UDP port and TCP port may be equal.
    by_addr: HashMap<(Protocol, SocketAddr), PeerKey>,
    /// Reverse index so removal touches only the peer's own addresses.
    addrs_of: HashMap<PeerKey, Vec<(Protocol, SocketAddr)>>,
}

impl Demux {
    pub fn add_ufrag(&mut self, ufrag: String, key: PeerKey) {
        self.by_ufrag.insert(ufrag, key);
    }

    /// Finds the peer a datagram belongs to, learning the source address from STUN.
    pub fn route(&mut self, buf: &[u8], proto: Protocol, source: SocketAddr) -> Option<PeerKey> {
        let source = (proto, source);
        if let Some(ufrag) = stun_local_ufrag(buf) {
            let key = *self.by_ufrag.get(ufrag)?;
            if self.by_addr.get(&source) != Some(&key) {
                // The request is not yet authenticated (str0m checks its integrity next), so a
                // forger knowing the ufrag can only make a bounded number of entries.
                let addrs = self.addrs_of.entry(key).or_default();
                if addrs.len() >= MAX_ADDRS_PER_PEER {
                    return Some(key);
                }
                addrs.push(source);
                self.by_addr.insert(source, key);
            }
            return Some(key);
        }
        self.by_addr.get(&source).copied()
    }

    /// Forgets every entry of a peer.
    pub fn remove(&mut self, key: PeerKey, ufrag: &str) {
        self.by_ufrag.remove(ufrag);
        for addr in self.addrs_of.remove(&key).unwrap_or_default() {
            if self.by_addr.get(&addr) == Some(&key) {
                self.by_addr.remove(&addr);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.by_ufrag.len() + self.by_addr.len()
    }
}

/// The local (first) part of a STUN USERNAME `local:remote`, if `buf` is a STUN message.
fn stun_local_ufrag(buf: &[u8]) -> Option<&str> {
    if buf.len() < STUN_HEADER || buf[0] >= 2 || buf[4..8] != STUN_MAGIC {
        return None;
    }
    let declared = u16::from_be_bytes([buf[2], buf[3]]) as usize;
    let end = (STUN_HEADER + declared).min(buf.len());
    let mut at = STUN_HEADER;
    while at + 4 <= end {
        let kind = u16::from_be_bytes([buf[at], buf[at + 1]]);
        let len = u16::from_be_bytes([buf[at + 2], buf[at + 3]]) as usize;
        let value = buf.get(at + 4..at + 4 + len)?;
        if kind == ATTR_USERNAME {
            let text = std::str::from_utf8(value).ok()?;
            return text.split(':').next();
        }
        at += 4 + len.div_ceil(4) * 4;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const UDP: Protocol = Protocol::Udp;

    fn stun_with_username(name: &[u8]) -> Vec<u8> {
        let padded = name.len().div_ceil(4) * 4;
        let mut buf = vec![0x00, 0x01];
        buf.extend_from_slice(&((4 + padded) as u16).to_be_bytes());
        buf.extend_from_slice(&STUN_MAGIC);
        buf.extend_from_slice(&[7; 12]);
        buf.extend_from_slice(&ATTR_USERNAME.to_be_bytes());
        buf.extend_from_slice(&(name.len() as u16).to_be_bytes());
        buf.extend_from_slice(name);
        buf.resize(STUN_HEADER + 4 + padded, 0);
        buf
    }

    #[test]
    fn routes_stun_by_ufrag_then_media_by_address() {
        let mut demux = Demux::default();
        demux.add_ufrag("srv1".into(), PeerKey(9));
        let from: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let other: SocketAddr = "127.0.0.1:5001".parse().unwrap();
        assert_eq!(demux.route(&[0x80, 0x60, 0, 0], UDP, from), None);
        assert_eq!(
            demux.route(&stun_with_username(b"srv1:cli"), UDP, from),
            Some(PeerKey(9))
        );
        assert_eq!(
            demux.route(&[0x80, 0x60, 0, 0], UDP, from),
            Some(PeerKey(9))
        );
        assert_eq!(
            demux.route(&stun_with_username(b"nope:cli"), UDP, other),
            None
        );
        for port in 0..2 * MAX_ADDRS_PER_PEER as u16 {
            let addr = SocketAddr::from(([127, 0, 0, 1], 6000 + port));
            assert_eq!(
                demux.route(&stun_with_username(b"srv1:cli"), UDP, addr),
                Some(PeerKey(9))
            );
        }
        assert_eq!(
            demux.len(),
            1 + MAX_ADDRS_PER_PEER,
            "learnt addresses are bounded"
        );
        demux.remove(PeerKey(9), "srv1");
        assert_eq!(demux.len(), 0);
    }

    #[test]
    fn malformed_stun_is_ignored() {
        let mut bad = stun_with_username(b"srv1:cli");
        bad[23] = 200; // attribute length beyond the buffer
        assert_eq!(stun_local_ufrag(&bad), None);
        assert_eq!(stun_local_ufrag(&[0; 3]), None);
    }
}
