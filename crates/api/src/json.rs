//! JSON response bodies. Like `axum::Json`, but serialized into one buffer sized for a
//! typical body (a room is ~250 bytes) instead of a 128-byte buffer grown while writing, and
//! a serialization failure answers the spec's 500 body instead of the serializer's message.
//!
//! Every Platform API response goes through here, so this is on the hot path of every
//! request (`GET /v1/rooms/{id}` is the benchmark's measure).

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The first capacity of a body buffer: one room or one error body fits.
const FIRST_CAPACITY: usize = 512;

/// The spec's body of an internal error (code [`crate::error::code::INTERNAL`]).
const INTERNAL_BODY: &str = r#"{"error":true,"code":500999,"message":"internal server error"}"#;

/// A response body serialized as JSON (`content-type: application/json`).
pub(crate) struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        let mut buf = Vec::with_capacity(FIRST_CAPACITY);
        match serde_json::to_writer(&mut buf, &self.0) {
            Ok(()) => json_response(buf),
            Err(err) => {
                // Written out rather than through `ApiError`, whose body comes back here.
                tracing::error!(%err, "serializing a response body failed");
                let mut response = json_response(INTERNAL_BODY.as_bytes().to_vec());
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                response
            }
        }
    }
}

/// Compiled once for every body type.
fn json_response(buf: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(buf));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    async fn body_of(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    #[tokio::test]
    async fn a_body_is_json_with_its_content_type() {
        let response = Json(serde_json::json!({ "room": { "room_id": "r1" } })).into_response();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert_eq!(body_of(response).await["room"]["room_id"], "r1");
    }

    #[tokio::test]
    async fn a_body_that_cannot_be_serialized_is_the_spec_internal_error() {
        // JSON object keys must be strings: serde_json refuses a map keyed by tuples.
        let unserializable: HashMap<(u8, u8), u8> = HashMap::from([((1, 2), 3)]);
        let response = Json(unserializable).into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = body_of(response).await;
        assert_eq!(body["error"], true);
        assert_eq!(body["code"], crate::error::code::INTERNAL);
        assert_eq!(body["message"], "internal server error");
    }
}
