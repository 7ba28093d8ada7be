//! Signaling plus media in one place: [`join_media`] makes a `MediaPeer` (synthetic Opus/VP8,
//! receive counters; see `opencalls-media-peer`), sends its offer as `media.offer` for a
//! room the client has entered, and starts it with the server's answer.

use crate::{Client, ClientError};
use serde_json::json;
use std::net::{IpAddr, Ipv4Addr};

pub use opencalls_media_peer::{MediaPeer, PeerConfig, PeerHandle, PeerStats, SourceCounts};

/// Offers `config`'s media for the client's participant in `room_id` and starts the peer on
/// 127.0.0.1. Returns the running peer and the participant id the server answered for.
pub async fn join_media(
    client: &Client,
    room_id: &str,
    config: PeerConfig,
) -> Result<(PeerHandle, String), ClientError> {
    let (peer, offer) = MediaPeer::new(config, IpAddr::V4(Ipv4Addr::LOCALHOST))
        .await
        .map_err(|e| ClientError::Transport(e.to_string()))?;
    let answer = client
        .request("media.offer", json!({ "room_id": room_id, "sdp": offer }))
        .await?;
    let sdp = answer["sdp"]
        .as_str()
        .ok_or_else(|| ClientError::Transport("media.offer answered without sdp".into()))?;
    let participant_id = answer["participant_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let handle = peer
        .start(sdp)
        .map_err(|e| ClientError::Transport(e.to_string()))?;
    Ok((handle, participant_id))
}
