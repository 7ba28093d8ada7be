//! Helpers shared by the live-event integration tests: creating live events over HTTP and
//! building the requests the (future) WebSocket layer passes to the live-event service.

use crate::common::TestServer;
use opencalls_domain::live_event::{HostEnterRequest, LiveParticipantEnterRequest};
use opencalls_domain::{ClientId, HostId, ParticipantId, User, UserId};
pub use opencalls_testkit::LiveAction::{self, End, Ready, Start};
use opencalls_testkit::Reply;
use serde_json::{Value, json};

/// Creates a live event hostable by `hosts` and returns its JSON.
pub async fn create(server: &TestServer, hosts: &[&str]) -> Value {
    let (status, body) = server
        .post(
            "/v1/live-events",
            json!({ "host_type": "single_host", "user_ids_for_host": hosts }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["live_event"].clone()
}

pub fn id(live_event: &Value) -> String {
    live_event["live_event_id"]
        .as_str()
        .expect("live_event_id")
        .to_owned()
}

/// Sets the live event ready, starts or ends it through the Platform API; returns the
/// answer as sent.
pub async fn act(server: &TestServer, id: &str, action: LiveAction) -> Reply {
    server
        .api
        .live_action_reply(id, action)
        .await
        .expect("request")
}

/// The live event as the API returns it now.
pub async fn fetch(server: &TestServer, id: &str) -> Value {
    let (status, body) = server.get(&format!("/v1/live-events/{id}")).await;
    assert_eq!(status, 200, "{body}");
    body["live_event"].clone()
}

pub fn host(user: &str) -> HostEnterRequest {
    HostEnterRequest {
        host_id: HostId::generate(),
        user: User::bare(UserId::parse(user).expect("user id")),
        client_id: ClientId::generate(),
        is_audio_on: true,
        is_video_on: true,
    }
}

pub fn viewer(user: &str) -> LiveParticipantEnterRequest {
    LiveParticipantEnterRequest {
        participant_id: ParticipantId::generate(),
        user: User::bare(UserId::parse(user).expect("user id")),
        client_id: ClientId::generate(),
    }
}

/// `(participant_count, peak_participant_count, cumulative_participant_count)` over HTTP.
pub async fn counters(server: &TestServer, id: &str) -> (i64, i64, i64) {
    let event = fetch(server, id).await;
    let n = |k: &str| event[k].as_i64().expect("counter");
    (
        n("participant_count"),
        n("peak_participant_count"),
        n("cumulative_participant_count"),
    )
}
