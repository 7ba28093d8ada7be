//! Helpers of the client-protocol live-event tests: reading live events off a client,
//! refusal codes and polling the Platform API.

use crate::common::TestServer;
use crate::live_common::fetch;
use opencalls_client::{Client, Incoming};
use opencalls_testkit::poll;
pub use opencalls_testkit::poll::WAIT;
use serde_json::Value;
use std::time::Duration;

/// How long a client must stay silent for "nothing more arrived".
pub const QUIET: Duration = Duration::from_millis(200);

/// The next pushed message, which must be a live event of `id`.
pub async fn next_event(client: &mut Client, id: &str) -> (String, Value) {
    match client.next_incoming(WAIT).await {
        Some(Incoming::Event {
            name,
            live_event_id,
            data,
            ..
        }) => {
            assert_eq!(live_event_id, id, "{name}");
            (name, data)
        }
        other => panic!("expected a live event, got {other:?}"),
    }
}

/// Asserts the next events' names, in order.
pub async fn expect_events(client: &mut Client, id: &str, names: &[&str]) -> Vec<Value> {
    let mut data = Vec::new();
    for name in names {
        let (got, d) = next_event(client, id).await;
        assert_eq!(got, *name);
        data.push(d);
    }
    data
}

pub fn code(result: Result<Value, opencalls_client::ClientError>) -> Option<u64> {
    result.expect_err("the request should be refused").code()
}

/// Polls the Platform API until `check` holds for the live event.
pub async fn wait_until(server: &TestServer, id: &str, what: &str, check: impl Fn(&Value) -> bool) {
    poll::eventually(what, WAIT, async || {
        let event = fetch(server, id).await;
        if check(&event) { Ok(()) } else { Err(event) }
    })
    .await
}
