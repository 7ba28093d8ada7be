//! What the direct-call tests share: users with several devices, waiting for call events.

use opencalls_client::{Client, Incoming, open_session};
use opencalls_testkit::TestServer;
use opencalls_testkit::poll::WAIT;
use serde_json::{Value, json};

/// A user with an access token, able to connect any number of devices.
pub struct TestUser {
    pub id: String,
    token: String,
}

impl TestUser {
    pub async fn create(server: &TestServer, id: &str) -> Self {
        let body = json!({ "user_id": id, "issue_access_token": true });
        let (status, user) = server.post("/v1/users", body).await;
        assert_eq!(status, 200, "{user}");
        let token = user["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned();
        Self {
            id: id.to_owned(),
            token,
        }
    }

    /// A new connected device (or the same device again, given its `client_id`).
    pub async fn device(&self, server: &TestServer, client_id: Option<&str>) -> Client {
        let base = server.url("");
        let base = base.trim_end_matches('/');
        let session = open_session(base, &self.id, &self.token)
            .await
            .expect("session");
        Client::connect(&server.ws_base(), &session.session_token, client_id)
            .await
            .expect("connect")
    }
}

/// Waits for the call event `name` (skipping other pushed messages); returns its `data`.
pub async fn event(client: &mut Client, name: &str) -> Value {
    let found = client
        .wait_for(
            WAIT,
            |m| matches!(m, Incoming::Event { name: n, .. } if n == name),
        )
        .await;
    match found {
        Some(Incoming::Event { data, call_id, .. }) => {
            assert!(!call_id.is_empty(), "{name} without call_id");
            data
        }
        other => panic!("no {name}: {other:?}"),
    }
}

/// Asserts that no call event arrives for a short while (a quiet period, not a wait for
/// readiness: the events it rules out would have been queued before the last response).
pub async fn no_call_event(client: &mut Client) {
    let got = client
        .wait_for(
            std::time::Duration::from_millis(200),
            |m| matches!(m, Incoming::Event { name, .. } if name.starts_with("call.")),
        )
        .await;
    assert!(got.is_none(), "unexpected {got:?}");
}

/// `caller` dials `callee` (whose device is `phone`) with `options`; the phone hears
/// `call.dialed` and accepts. Returns the call id.
pub async fn dial_accepted(
    caller: &Client,
    phone: &mut Client,
    callee: &str,
    options: opencalls_client::DialOptions,
) -> String {
    let dialed = caller.dial(callee, options).await.expect("dial");
    let id = dialed.call_id.to_string();
    event(phone, "call.dialed").await;
    phone.accept(&id, None, None).await.expect("accept");
    id
}

/// Waits for `call.connected` on `device` and for the `media.track` of `other`'s side,
/// which may come before or after it (noted on the way).
pub async fn connected_with_track_of(device: &mut Client, other: &str) {
    let mut routed = Vec::new();
    let connected = device
        .wait_for(opencalls_testkit::poll::SLOW, |m| match m {
            Incoming::Event { name, data, .. } if name == "media.track" => {
                routed.push(data["user_id"].clone());
                false
            }
            Incoming::Event { name, .. } => name == "call.connected",
            _ => false,
        })
        .await;
    assert!(connected.is_some(), "no call.connected");
    if !routed.iter().any(|u| u == other) {
        let data = event(device, "media.track").await;
        assert_eq!(data["user_id"], other);
    }
}
