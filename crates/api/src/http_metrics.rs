//! Request counts and latencies by route template and status, served at `/metrics`.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;

pub(crate) async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // The route template (not the raw path) keeps label cardinality bounded.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let metrics = &state.services.metrics;
    let labels = vec![("method", method), ("route", route), ("status", status)];
    metrics.observe(
        "opencalls_http_request_duration_seconds",
        "HTTP request latency by route and status.",
        labels.clone(),
        started.elapsed().as_secs_f64(),
    );
    metrics.count(
        "opencalls_http_requests_total",
        "HTTP requests by route and status.",
        labels,
        1,
    );
    response
}

pub(crate) async fn render(State(state): State<AppState>) -> impl IntoResponse {
    (
        [("content-type", "text/plain; version=0.0.4")],
        state.services.metrics.render(),
    )
}
