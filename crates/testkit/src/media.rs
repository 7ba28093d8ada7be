//! Media peer settings the tests and the media load generator share.

use opencalls_client::media::PeerConfig;

/// A receive-only peer (a live event's viewer): one audio and one video slot, sends nothing.
pub fn viewer(tag: u32) -> PeerConfig {
    PeerConfig {
        tag,
        send_audio: false,
        send_video: false,
        recv_audio_slots: 1,
        recv_video_slots: 1,
        ..PeerConfig::default()
    }
}
