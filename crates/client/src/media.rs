//! Signaling plus media in one place: [`join_media`] makes a `MediaPeer` (synthetic Opus/VP8,
//! receive counters; see `opencalls-media-peer`), sends its offer as `media.offer` for a
//! room (or, with [`join_live_media`], a live event; with [`join_call_media`], a direct
//! call) the client has entered, and starts it with the server's answer.

use crate::{Client, ClientError};
use opencalls_domain::{DirectCallId, LiveEventId, RoomId};
use opencalls_protocol::OfferAnswer;
use opencalls_protocol::request::MediaOffer;
use opencalls_protocol::response::MemberRef;
use std::net::{IpAddr, Ipv4Addr};

pub use opencalls_media_peer::{
    MediaPeer, PeerConfig, PeerHandle, PeerStats, SourceCounts, TurnServer,
};

/// Offers `config`'s media for the client's participant in `room_id` and starts the peer on
/// 127.0.0.1. Returns the running peer and the participant id the server answered for.
pub async fn join_media(
    client: &Client,
    room_id: &str,
    config: PeerConfig,
) -> Result<(PeerHandle, String), ClientError> {
    join_media_on(client, room_id, config, IpAddr::V4(Ipv4Addr::LOCALHOST)).await
}

/// Like [`join_media`], with the peer's sockets on `ip`. Calling it again for the same
/// room is a re-offer: the server replaces the participant's transport (new ICE
/// credentials, the seat kept), which is how a client recovers after its address changed.
pub async fn join_media_on(
    client: &Client,
    room_id: &str,
    config: PeerConfig,
    ip: IpAddr,
) -> Result<(PeerHandle, String), ClientError> {
    let params = MediaOffer {
        room_id: Some(RoomId::from_trusted(room_id.to_owned())),
        ..MediaOffer::default()
    };
    let (handle, answer) = offer(client, params, config, ip).await?;
    Ok((handle, member_id(&answer)))
}

/// Offers `config`'s media in a live event the client has entered: as its host (publish;
/// the answer names the `host_id`) or as a participant (receive only: `config` must send
/// nothing; the answer names the `participant_id`). Returns the running peer and that id.
pub async fn join_live_media(
    client: &Client,
    live_event_id: &str,
    config: PeerConfig,
) -> Result<(PeerHandle, String), ClientError> {
    let params = MediaOffer {
        live_event_id: Some(LiveEventId::from_trusted(live_event_id.to_owned())),
        ..MediaOffer::default()
    };
    let (handle, answer) = offer(client, params, config, IpAddr::V4(Ipv4Addr::LOCALHOST)).await?;
    Ok((handle, member_id(&answer)))
}

/// The id the answer was given for: the room's participant, or the live event's member.
fn member_id(answer: &OfferAnswer) -> String {
    match answer {
        OfferAnswer::Room { participant_id, .. } => participant_id.to_string(),
        OfferAnswer::Call { call_id, .. } => call_id.to_string(),
        OfferAnswer::Live { member, .. } => match member {
            MemberRef::Host(host_id) => host_id.to_string(),
            MemberRef::Participant(participant_id) => participant_id.to_string(),
        },
    }
}

/// Offers `config`'s media for this device's side of a direct call it dialed or accepted
/// (after the accept; one receive slot per kind carries the other side).
pub async fn join_call_media(
    client: &Client,
    call_id: &str,
    config: PeerConfig,
) -> Result<PeerHandle, ClientError> {
    let params = MediaOffer {
        call_id: Some(DirectCallId::from_trusted(call_id.to_owned())),
        ..MediaOffer::default()
    };
    Ok(
        offer(client, params, config, IpAddr::V4(Ipv4Addr::LOCALHOST))
            .await?
            .0,
    )
}

/// Sends `params` plus the peer's offer as `media.offer`; starts the peer with the answer.
async fn offer(
    client: &Client,
    mut params: MediaOffer,
    config: PeerConfig,
    ip: IpAddr,
) -> Result<(PeerHandle, OfferAnswer), ClientError> {
    let (peer, sdp) = MediaPeer::new(config, ip)
        .await
        .map_err(|e| ClientError::Transport(e.to_string()))?;
    params.sdp = Some(sdp);
    let answer = client.call(params).await?;
    let handle = peer
        .start(answer.sdp())
        .map_err(|e| ClientError::Transport(e.to_string()))?;
    Ok((handle, answer))
}
