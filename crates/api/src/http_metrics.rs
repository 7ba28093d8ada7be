//! Request counts and latencies by route template and status, served at `/metrics`.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use opencalls_runtime::metrics::HttpMethod;
use std::time::Instant;

pub(crate) async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // The route template (not the raw path) and the method's fixed label keep cardinality
    // bounded whatever a client sends.
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = HttpMethod::from_name(request.method().as_str());
    let started = Instant::now();
    let response = next.run(request).await;
    state.services.metrics.http_request(
        method,
        route.as_ref().map_or("unmatched", MatchedPath::as_str),
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

pub(crate) async fn render(State(state): State<AppState>) -> impl IntoResponse {
    (
        [("content-type", "text/plain; version=0.0.4")],
        state.services.metrics.render(),
    )
}
