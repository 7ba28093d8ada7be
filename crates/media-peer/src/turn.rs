//! A minimal TURN client (RFC 8656) over TCP, enough for the media peer to reach the SFU
//! through a relay: it allocates a UDP relay with long-term credentials (RFC 8489: key =
//! MD5(user:realm:password), MESSAGE-INTEGRITY = HMAC-SHA1), installs a permission per
//! peer, and carries datagrams in Send/Data indications.
//!
//! Invariants: the allocation is made before the offer (the relay address is a candidate
//! in it); requests after it reuse the realm and nonce the server gave; a Data indication is
//! handed on only with a peer address and data. Not done: refreshing the allocation (10 min)
//! and permissions (5 min), so a relayed peer lives a few minutes (tests and short loads).

use std::net::{IpAddr, SocketAddr};

use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

const MAGIC: u32 = 0x2112_A442;
const ALLOCATE: u16 = 0x0003;
const ALLOCATE_OK: u16 = 0x0103;
const ALLOCATE_ERR: u16 = 0x0113;
const CREATE_PERMISSION: u16 = 0x0008;
const SEND_INDICATION: u16 = 0x0016;
const DATA_INDICATION: u16 = 0x0017;
const ATTR_USERNAME: u16 = 0x0006;
const ATTR_INTEGRITY: u16 = 0x0008;
const ATTR_ERROR: u16 = 0x0009;
const ATTR_PEER: u16 = 0x0012;
const ATTR_DATA: u16 = 0x0013;
const ATTR_REALM: u16 = 0x0014;
const ATTR_NONCE: u16 = 0x0015;
const ATTR_RELAYED: u16 = 0x0016;
const ATTR_TRANSPORT: u16 = 0x0019;
/// Largest STUN message accepted from the server (a relayed datagram plus headers).
const MAX_MESSAGE: usize = 4096;

/// Where and as whom to allocate (from `hello.ice_servers`).
#[derive(Debug, Clone)]
pub struct TurnServer {
    /// The TURN server's TCP address (`turn:IP:PORT?transport=tcp`).
    pub addr: SocketAddr,
    pub username: String,
    pub credential: String,
}

impl TurnServer {
    /// The first `turn:` URL with an IP literal and `transport=tcp` among `urls`.
    pub fn from_urls(urls: &[String], username: &str, credential: &str) -> Option<TurnServer> {
        let addr = urls.iter().find_map(|url| {
            let rest = url.strip_prefix("turn:")?;
            let (host_port, query) = rest.split_once('?').unwrap_or((rest, ""));
            query.contains("transport=tcp").then_some(())?;
            host_port.parse::<SocketAddr>().ok()
        })?;
        Some(TurnServer {
            addr,
            username: username.to_owned(),
            credential: credential.to_owned(),
        })
    }
}

/// An allocation: its relay address and the halves of the TCP connection to the server.
pub struct Allocation {
    pub relay: SocketAddr,
    pub reader: OwnedReadHalf,
    pub sender: TurnSender,
}

/// Writes permissions and Send indications on the allocation's connection.
pub struct TurnSender {
    write: OwnedWriteHalf,
    auth: Auth,
    permitted: Vec<IpAddr>,
}

/// What authenticates requests after the first 401.
#[derive(Clone)]
struct Auth {
    username: String,
    realm: Vec<u8>,
    nonce: Vec<u8>,
    key: [u8; 16],
}

/// Connects and allocates a UDP relay.
pub async fn allocate(server: &TurnServer) -> std::io::Result<Allocation> {
    let stream = TcpStream::connect(server.addr).await?;
    let _ = stream.set_nodelay(true);
    let (mut reader, mut write) = stream.into_split();
    let transport = [17, 0, 0, 0];
    write
        .write_all(&message(ALLOCATE, &[(ATTR_TRANSPORT, &transport)], None))
        .await?;
    let (kind, attrs) = read_message(&mut reader).await?;
    if kind != ALLOCATE_ERR {
        return Err(invalid("expected 401 to the first ALLOCATE"));
    }
    let realm = attr(&attrs, ATTR_REALM)
        .ok_or_else(|| invalid("no REALM"))?
        .to_vec();
    let nonce = attr(&attrs, ATTR_NONCE)
        .ok_or_else(|| invalid("no NONCE"))?
        .to_vec();
    let mut md5 = Md5::new();
    md5.update(server.username.as_bytes());
    md5.update(b":");
    md5.update(&realm);
    md5.update(b":");
    md5.update(server.credential.as_bytes());
    let auth = Auth {
        username: server.username.clone(),
        realm,
        nonce,
        key: md5.finalize().into(),
    };
    write
        .write_all(&auth.request(ALLOCATE, &[(ATTR_TRANSPORT, &transport)]))
        .await?;
    let (kind, attrs) = read_message(&mut reader).await?;
    if kind != ALLOCATE_OK {
        let code = attr(&attrs, ATTR_ERROR)
            .map(|e| e.to_vec())
            .unwrap_or_default();
        return Err(invalid(&format!("ALLOCATE refused: {code:?}")));
    }
    let relay = attr(&attrs, ATTR_RELAYED)
        .and_then(xor_address)
        .ok_or_else(|| invalid("no XOR-RELAYED-ADDRESS"))?;
    let sender = TurnSender {
        write,
        auth,
        permitted: Vec::new(),
    };
    Ok(Allocation {
        relay,
        reader,
        sender,
    })
}

impl Auth {
    fn request(&self, kind: u16, attrs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut all: Vec<(u16, &[u8])> = attrs.to_vec();
        all.push((ATTR_USERNAME, self.username.as_bytes()));
        all.push((ATTR_REALM, &self.realm));
        all.push((ATTR_NONCE, &self.nonce));
        message(kind, &all, Some(&self.key))
    }
}

impl TurnSender {
    /// Relays `data` to `peer`, first permitting the peer's IP (once; the server handles
    /// the connection's messages in order, so no need to wait for the answer).
    pub async fn send(&mut self, peer: SocketAddr, data: &[u8]) -> std::io::Result<()> {
        let address = xor_encode(peer);
        if !self.permitted.contains(&peer.ip()) {
            self.permitted.push(peer.ip());
            let request = self
                .auth
                .request(CREATE_PERMISSION, &[(ATTR_PEER, &address)]);
            self.write.write_all(&request).await?;
        }
        let indication = message(
            SEND_INDICATION,
            &[(ATTR_PEER, &address), (ATTR_DATA, data)],
            None,
        );
        self.write.write_all(&indication).await
    }
}

/// Reads the next Data indication: (peer, datagram). Other messages (permission answers)
/// are skipped; `Err` when the connection ends.
pub async fn next_data(reader: &mut OwnedReadHalf) -> std::io::Result<(SocketAddr, Vec<u8>)> {
    loop {
        let (kind, attrs) = read_message(reader).await?;
        if kind != DATA_INDICATION {
            continue;
        }
        let peer = attr(&attrs, ATTR_PEER).and_then(xor_address);
        if let (Some(peer), Some(data)) = (peer, attr(&attrs, ATTR_DATA)) {
            return Ok((peer, data.to_vec()));
        }
    }
}

fn invalid(message: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("TURN: {message}"))
}

/// A STUN message with `attrs`, and MESSAGE-INTEGRITY with `key` if given.
fn message(kind: u16, attrs: &[(u16, &[u8])], key: Option<&[u8; 16]>) -> Vec<u8> {
    let mut buf = Vec::with_capacity(512);
    buf.extend_from_slice(&kind.to_be_bytes());
    buf.extend_from_slice(&[0, 0]);
    buf.extend_from_slice(&MAGIC.to_be_bytes());
    buf.extend_from_slice(&fastrand_id());
    for (kind, value) in attrs {
        push_attr(&mut buf, *kind, value);
    }
    if let Some(key) = key {
        // The length covers the MESSAGE-INTEGRITY attribute (4 + 20) when it is computed.
        let len = buf.len() - 20 + 24;
        set_len(&mut buf, len);
        let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(&buf);
        push_attr(&mut buf, ATTR_INTEGRITY, &mac.finalize().into_bytes());
    }
    let len = buf.len() - 20;
    set_len(&mut buf, len);
    buf
}

fn set_len(buf: &mut [u8], len: usize) {
    buf[2..4].copy_from_slice(&(len as u16).to_be_bytes());
}

fn push_attr(buf: &mut Vec<u8>, kind: u16, value: &[u8]) {
    buf.extend_from_slice(&kind.to_be_bytes());
    buf.extend_from_slice(&(value.len() as u16).to_be_bytes());
    buf.extend_from_slice(value);
    buf.resize(buf.len().next_multiple_of(4), 0);
}

/// A transaction id: unique enough for one client's few outstanding requests.
fn fastrand_id() -> [u8; 12] {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut id = [0u8; 12];
    id[..8].copy_from_slice(&n.to_be_bytes());
    id[8..].copy_from_slice(&std::process::id().to_be_bytes());
    id
}

/// Reads one STUN message (TCP framing: the header's length delimits it).
async fn read_message(reader: &mut OwnedReadHalf) -> std::io::Result<(u16, Vec<(u16, Vec<u8>)>)> {
    let mut header = [0u8; 20];
    reader.read_exact(&mut header).await?;
    let kind = u16::from_be_bytes([header[0], header[1]]);
    let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    if len > MAX_MESSAGE {
        return Err(invalid("message too long"));
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).await?;
    let mut attrs = Vec::new();
    let mut at = 0;
    while at + 4 <= body.len() {
        let kind = u16::from_be_bytes([body[at], body[at + 1]]);
        let len = usize::from(u16::from_be_bytes([body[at + 2], body[at + 3]]));
        let Some(value) = body.get(at + 4..at + 4 + len) else {
            break;
        };
        attrs.push((kind, value.to_vec()));
        at += 4 + len.next_multiple_of(4);
    }
    Ok((kind, attrs))
}

fn attr(attrs: &[(u16, Vec<u8>)], kind: u16) -> Option<&[u8]> {
    attrs
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, v)| v.as_slice())
}

/// XOR-MAPPED-style address (IPv4 only: the relays here are IPv4).
fn xor_address(value: &[u8]) -> Option<SocketAddr> {
    if value.len() < 8 || value[1] != 1 {
        return None;
    }
    let port = u16::from_be_bytes([value[2], value[3]]) ^ (MAGIC >> 16) as u16;
    let ip = u32::from_be_bytes([value[4], value[5], value[6], value[7]]) ^ MAGIC;
    Some(SocketAddr::from((ip.to_be_bytes(), port)))
}

fn xor_encode(addr: SocketAddr) -> Vec<u8> {
    let port = addr.port() ^ (MAGIC >> 16) as u16;
    let mut out = vec![0, 1];
    out.extend_from_slice(&port.to_be_bytes());
    match addr.ip() {
        IpAddr::V4(v4) => out.extend_from_slice(&(u32::from(v4) ^ MAGIC).to_be_bytes()),
        IpAddr::V6(_) => {} // Never asked for: the SFU is reached over IPv4 through the relay.
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip_and_urls_are_read() {
        let addr: SocketAddr = "192.0.2.7:50000".parse().unwrap();
        assert_eq!(xor_address(&xor_encode(addr)), Some(addr));
        let urls = vec![
            "turn:192.0.2.7:3478?transport=udp".to_owned(),
            "turn:192.0.2.7:3479?transport=tcp".to_owned(),
        ];
        let server = TurnServer::from_urls(&urls, "1:u", "c").unwrap();
        assert_eq!(server.addr, "192.0.2.7:3479".parse().unwrap());
        let signed = message(
            ALLOCATE,
            &[(ATTR_TRANSPORT, &[17, 0, 0, 0])],
            Some(&[7; 16]),
        );
        assert_eq!(signed.len(), 20 + 8 + 24);
        assert_eq!(usize::from(u16::from_be_bytes([signed[2], signed[3]])), 32);
    }
}
