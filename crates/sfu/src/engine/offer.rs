//! A minimal look at an SDP offer's m-sections, enough to apply the group's policy
//! (audio-only, viewers may not publish) BEFORE any state is created.
//!
//! Invariant: it only reads the offer; str0m parses it fully afterwards, so anything this
//! summary misreads is still refused there.

use crate::api::Kind;

/// The direction of one m-section, seen from the offerer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferDirection {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

/// One media section of an offer (data channels are ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfferedMedia {
    pub kind: Kind,
    pub direction: OfferDirection,
    /// Port 0 means the section is rejected/stopped.
    pub disabled: bool,
    /// The section declares simulcast (`a=simulcast:`): the offerer sends several layers.
    pub simulcast: bool,
}

impl OfferedMedia {
    pub fn sends(&self) -> bool {
        !self.disabled
            && matches!(
                self.direction,
                OfferDirection::SendRecv | OfferDirection::SendOnly
            )
    }

    pub fn receives(&self) -> bool {
        !self.disabled
            && matches!(
                self.direction,
                OfferDirection::SendRecv | OfferDirection::RecvOnly
            )
    }
}

/// Lists the audio and video sections of `sdp` in order.
pub fn summarize(sdp: &str) -> Vec<OfferedMedia> {
    let mut out: Vec<OfferedMedia> = Vec::new();
    let mut in_media = false;
    for line in sdp.lines().map(str::trim_end) {
        if let Some(rest) = line.strip_prefix("m=") {
            let mut parts = rest.split_whitespace();
            let kind = match parts.next() {
                Some("audio") => Some(Kind::Audio),
                Some("video") => Some(Kind::Video),
                _ => None,
            };
            in_media = kind.is_some();
            if let Some(kind) = kind {
                let disabled = parts.next() == Some("0");
                out.push(OfferedMedia {
                    kind,
                    direction: OfferDirection::SendRecv,
                    disabled,
                    simulcast: false,
                });
            }
            continue;
        }
        if !in_media {
            continue;
        }
        if line.starts_with("a=simulcast:") {
            if let Some(last) = out.last_mut() {
                last.simulcast = true;
            }
            continue;
        }
        let direction = match line {
            "a=sendonly" => OfferDirection::SendOnly,
            "a=recvonly" => OfferDirection::RecvOnly,
            "a=inactive" => OfferDirection::Inactive,
            "a=sendrecv" => OfferDirection::SendRecv,
            _ => continue,
        };
        if let Some(last) = out.last_mut() {
            last.direction = direction;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kinds_and_directions() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendonly\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\n\
                   m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=sendrecv\r\n\
                   m=video 0 UDP/TLS/RTP/SAVPF 96\r\n";
        let media = summarize(sdp);
        assert_eq!(media.len(), 3);
        assert!(media[0].sends() && !media[0].receives());
        assert_eq!(media[1].kind, Kind::Video);
        assert!(media[1].receives() && !media[1].sends());
        assert!(media[2].disabled && !media[2].sends());
        assert!(media.iter().all(|m| !m.simulcast));
    }

    #[test]
    fn reads_simulcast_per_section() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendrecv\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendonly\r\na=rid:q send\r\n\
                   a=rid:f send\r\na=simulcast:send q;f\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\n";
        let media = summarize(sdp);
        let simulcast: Vec<bool> = media.iter().map(|m| m.simulcast).collect();
        assert_eq!(simulcast, [false, true, false]);
    }
}
