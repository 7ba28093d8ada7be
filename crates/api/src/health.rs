//! `/healthz` and `/readyz`: whether every long-running part of the server (store writer,
//! media thread, workers) is alive. Both need no token, like `/metrics`.
//!
//! Invariant: `/healthz` answers 200 only while every registered part is healthy, so a
//! supervisor restarts a server whose SFU or writer thread died instead of trusting it.

use crate::AppState;
use crate::json::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::collections::BTreeMap;

/// `GET /healthz`: `200 ok`, or `503 unhealthy` when a part died.
pub(crate) async fn healthz(State(state): State<AppState>) -> Response {
    if state.services.health.is_healthy() {
        (StatusCode::OK, "ok").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "unhealthy").into_response()
    }
}

/// What `/readyz` says.
#[derive(Serialize)]
struct Readiness {
    ready: bool,
    /// Each part: `"ok"` or `"down"`.
    checks: BTreeMap<&'static str, &'static str>,
}

/// `GET /readyz`: `{"ready": bool, "checks": {"sfu": "ok", "store_writer": "down", ...}}`,
/// 200 when ready, 503 otherwise.
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    let report = state.services.health.report();
    let ready = report.iter().all(|(_, ok)| *ok);
    let checks = report
        .into_iter()
        .map(|(name, ok)| (name, if ok { "ok" } else { "down" }))
        .collect();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(Readiness { ready, checks })).into_response()
}
