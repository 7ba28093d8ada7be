//! The synthetic payload header: the first byte doubles as a VP8 frame tag (bit 0 clear =
//! keyframe) so str0m's VP8 depacketizer classifies frames; then a magic, the kind, the
//! source tag, a sequence number and the send time.
//!
//! The send time is microseconds since a process-wide epoch (the first [`now_us`] call) on
//! the monotonic clock, so a receiver in the same process (the load generators run every
//! peer in one process) reads its latency as `now_us() - sent_us`. Across processes the
//! stamp means nothing.

use std::sync::OnceLock;
use std::time::Instant;

/// Bytes of header at the start of every synthetic payload.
pub const HEADER_LEN: usize = 20;
const MAGIC: [u8; 2] = *b"OC";

/// Decoded header of a synthetic payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub keyframe: bool,
    pub video: bool,
    pub tag: u32,
    pub seq: u32,
    /// Send time, [`now_us`] of the sender.
    pub sent_us: u64,
}

/// Microseconds on the monotonic clock since this process's media epoch.
pub fn now_us() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    u64::try_from(epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// Builds a payload of `len` bytes (at least the header).
pub fn build(header: Header, len: usize) -> Vec<u8> {
    let mut buf = Vec::with_capacity(len.max(HEADER_LEN));
    buf.push(if header.keyframe { 0x10 } else { 0x11 });
    buf.extend_from_slice(&MAGIC);
    buf.push(u8::from(header.video));
    buf.extend_from_slice(&header.tag.to_be_bytes());
    buf.extend_from_slice(&header.seq.to_be_bytes());
    buf.extend_from_slice(&header.sent_us.to_be_bytes());
    buf.resize(len.max(HEADER_LEN), 0x5a);
    buf
}

/// Reads the header back, if `data` is a synthetic payload.
pub fn parse_header(data: &[u8]) -> Option<Header> {
    if data.len() < HEADER_LEN || data[1..3] != MAGIC {
        return None;
    }
    let be32 = |at: usize| u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
    let mut sent = [0u8; 8];
    sent.copy_from_slice(&data[12..20]);
    Some(Header {
        keyframe: data[0] & 1 == 0,
        video: data[3] == 1,
        tag: be32(4),
        seq: be32(8),
        sent_us: u64::from_be_bytes(sent),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_with_its_send_stamp() {
        let h = Header {
            keyframe: true,
            video: true,
            tag: 7,
            seq: 42,
            sent_us: 0x0102_0304_0506_0708,
        };
        let buf = build(h, 100);
        assert_eq!(buf.len(), 100);
        assert_eq!(parse_header(&buf), Some(h));
        assert_eq!(parse_header(&buf[..HEADER_LEN - 1]), None);
    }

    #[test]
    fn payload_sizes_are_kept_and_short_ones_grow_to_the_header() {
        let h = Header {
            keyframe: false,
            video: false,
            tag: 1,
            seq: 0,
            sent_us: 5,
        };
        assert_eq!(build(h, 80).len(), 80);
        assert_eq!(build(h, 3).len(), HEADER_LEN);
        assert!(!parse_header(&build(h, 80)).is_some_and(|p| p.keyframe || p.video));
    }

    #[test]
    fn the_stamp_clock_is_monotonic_and_in_microseconds() {
        let a = now_us();
        let started = Instant::now();
        while started.elapsed().as_micros() < 2_000 {
            std::hint::spin_loop();
        }
        let b = now_us();
        assert!(b >= a + 2_000, "{a} then {b}");
    }
}
