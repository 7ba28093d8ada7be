//! Signaling plus media in one place: [`join_media`] makes a `MediaPeer` (synthetic Opus/VP8,
//! receive counters; see `opencalls-media-peer`), sends its offer as `media.offer` for a
//! room (or, with [`join_live_media`], a live event) the client has entered, and starts it
//! with the server's answer.

use crate::{Client, ClientError};
use serde_json::{Value, json};
use std::net::{IpAddr, Ipv4Addr};

pub use opencalls_media_peer::{MediaPeer, PeerConfig, PeerHandle, PeerStats, SourceCounts};

/// Offers `config`'s media for the client's participant in `room_id` and starts the peer on
/// 127.0.0.1. Returns the running peer and the participant id the server answered for.
pub async fn join_media(
    client: &Client,
    room_id: &str,
    config: PeerConfig,
) -> Result<(PeerHandle, String), ClientError> {
    let (handle, answer) = offer(client, json!({ "room_id": room_id }), config).await?;
    Ok((handle, id_in(&answer, "participant_id")))
}

/// Offers `config`'s media in a live event the client has entered: as its host (publish;
/// the answer names the `host_id`) or as a participant (receive only: `config` must send
/// nothing; the answer names the `participant_id`). Returns the running peer and that id.
pub async fn join_live_media(
    client: &Client,
    live_event_id: &str,
    config: PeerConfig,
) -> Result<(PeerHandle, String), ClientError> {
    let params = json!({ "live_event_id": live_event_id });
    let (handle, answer) = offer(client, params, config).await?;
    let id = answer["host_id"]
        .as_str()
        .map_or_else(|| id_in(&answer, "participant_id"), str::to_owned);
    Ok((handle, id))
}

fn id_in(answer: &Value, key: &str) -> String {
    answer[key].as_str().unwrap_or_default().to_owned()
}

/// Sends `params` plus the peer's offer as `media.offer`; starts the peer with the answer.
async fn offer(
    client: &Client,
    mut params: Value,
    config: PeerConfig,
) -> Result<(PeerHandle, Value), ClientError> {
    let (peer, sdp) = MediaPeer::new(config, IpAddr::V4(Ipv4Addr::LOCALHOST))
        .await
        .map_err(|e| ClientError::Transport(e.to_string()))?;
    params["sdp"] = Value::String(sdp);
    let answer = client.request("media.offer", params).await?;
    let sdp = answer["sdp"]
        .as_str()
        .ok_or_else(|| ClientError::Transport("media.offer answered without sdp".into()))?;
    let handle = peer
        .start(sdp)
        .map_err(|e| ClientError::Transport(e.to_string()))?;
    Ok((handle, answer))
}
