//! What most modules of the suite share: the test kit's server and assertions, and the
//! shortcuts into the services that the client protocol would otherwise drive.

use opencalls_client::{Client, Incoming};
use opencalls_domain::{Actor, LiveEventId, RoomId, UserId};
pub use opencalls_testkit::{TOKEN, TestServer, assert_error};
use serde_json::Value;
use std::time::Duration;

/// Enters a participant through the application service layer (clients come later).
pub async fn enter(
    server: &TestServer,
    room_id: &str,
    user_id: &str,
) -> opencalls_domain::Participant {
    server
        .services
        .rooms
        .enter(&self::room_id(room_id), enter_request(user_id, false))
        .await
        .expect("enter")
}

/// Waits up to `within` for `media.disconnected` with reason `transport_lost` on `client`;
/// fails the test with `what` if it does not come.
pub async fn told_transport_lost(client: &mut Client, within: Duration, what: &str) {
    let lost = client
        .wait_for(within, |m| {
            matches!(m, Incoming::Event { name, data, .. }
                if name == "media.disconnected" && data["reason"] == "transport_lost")
        })
        .await;
    assert!(lost.is_some(), "{what}");
}

/// The typed id of a room named in a Platform API response (service calls take typed ids).
pub fn room_id(raw: &str) -> RoomId {
    RoomId::parse(raw).expect("room id")
}

/// The typed id of a live event named in a Platform API response.
pub fn live_event_id(raw: &str) -> LiveEventId {
    LiveEventId::parse(raw).expect("live event id")
}

/// A user acting through the client protocol (as the client SDK would).
pub fn user_actor(user_id: &str) -> Actor {
    Actor::User(UserId::parse(user_id).expect("user id"))
}

/// A service-level room entry of `user_id` on a new device, audio on.
pub fn enter_request(user_id: &str, video: bool) -> opencalls_domain::participant::EnterRequest {
    use opencalls_domain::{ClientId, ParticipantId, User};
    opencalls_domain::participant::EnterRequest {
        participant_id: ParticipantId::generate(),
        user: User::bare(UserId::parse(user_id).expect("user id")),
        client_id: ClientId::generate(),
        is_audio_on: true,
        is_video_on: video,
    }
}

/// The `room_id` of a room JSON.
pub fn id_of(room: &Value) -> String {
    room["room_id"].as_str().expect("room_id").to_owned()
}

/// `server`'s `/metrics` (Prometheus text).
pub async fn metrics(server: &TestServer) -> String {
    let response = reqwest::get(server.url("/metrics"))
        .await
        .expect("GET /metrics");
    response.text().await.expect("the metrics text")
}

/// The value of `server`'s `/metrics` sample `sample` (name and labels); 0 if absent.
pub async fn metric(server: &TestServer, sample: &str) -> u64 {
    let text = metrics(server).await;
    text.lines()
        .find_map(|line| line.strip_prefix(sample)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0)
}

/// `sender` turns its video off in `room`: `receiver` keeps getting its audio (one second,
/// 50 frames) but at most a few video frames in flight from `source` (its peer's tag).
/// Returns what `receiver` had from `source` then.
pub async fn video_off_pauses_video(
    sender: &opencalls_client::Client,
    room: &str,
    receiver: &opencalls_client::media::PeerHandle,
    source: u32,
) -> opencalls_client::media::SourceCounts {
    sender
        .set_media(room, None, Some(false))
        .await
        .expect("video off");
    let before = receiver.stats().from_source(source);
    let audio =
        async || receiver.stats().from_source(source).audio_frames > before.audio_frames + 50;
    opencalls_testkit::poll::until("the audio continues", opencalls_testkit::poll::SLOW, audio)
        .await;
    let paused = receiver.stats().from_source(source);
    assert!(
        paused.video_frames <= before.video_frames + 3,
        "video kept flowing while off: {before:?} → {paused:?}"
    );
    paused
}
