//! Assertions on the spec's error body: `{"error": true, "code": N, "message": "..."}` with
//! the expected HTTP status.

use crate::platform::Reply;
use serde_json::Value;

/// Asserts the spec's error body with the given HTTP status and code.
#[track_caller]
pub fn assert_error(response: &Reply, status: u16, code: u64) {
    let (got_status, body) = response;
    assert_eq!(*got_status, status, "unexpected status, body: {body}");
    assert_eq!(body["error"], Value::Bool(true), "{body}");
    assert_eq!(body["code"].as_u64(), Some(code), "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}
