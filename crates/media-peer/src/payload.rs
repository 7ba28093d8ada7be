//! The synthetic payload header: the first byte doubles as a VP8 frame tag (bit 0 clear =
//! keyframe) so str0m's VP8 depacketizer classifies frames; then a magic, the kind, the
//! source tag and a sequence number.

/// Bytes of header at the start of every synthetic payload.
pub const HEADER_LEN: usize = 12;
const MAGIC: [u8; 2] = *b"OC";

/// Decoded header of a synthetic payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub keyframe: bool,
    pub video: bool,
    pub tag: u32,
    pub seq: u32,
}

/// Builds a payload of `len` bytes (at least the header).
pub fn build(header: Header, len: usize) -> Vec<u8> {
    let mut buf = Vec::with_capacity(len.max(HEADER_LEN));
    buf.push(if header.keyframe { 0x10 } else { 0x11 });
    buf.extend_from_slice(&MAGIC);
    buf.push(u8::from(header.video));
    buf.extend_from_slice(&header.tag.to_be_bytes());
    buf.extend_from_slice(&header.seq.to_be_bytes());
    buf.resize(len.max(HEADER_LEN), 0x5a);
    buf
}

/// Reads the header back, if `data` is a synthetic payload.
pub fn parse_header(data: &[u8]) -> Option<Header> {
    if data.len() < HEADER_LEN || data[1..3] != MAGIC {
        return None;
    }
    Some(Header {
        keyframe: data[0] & 1 == 0,
        video: data[3] == 1,
        tag: u32::from_be_bytes([data[4], data[5], data[6], data[7]]),
        seq: u32::from_be_bytes([data[8], data[9], data[10], data[11]]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips() {
        let h = Header {
            keyframe: true,
            video: true,
            tag: 7,
            seq: 42,
        };
        let buf = build(h, 100);
        assert_eq!(buf.len(), 100);
        assert_eq!(parse_header(&buf), Some(h));
        assert_eq!(parse_header(&buf[..5]), None);
    }
}
