//! `/metrics`: request counts and latencies by route template and status (recorded by
//! [`crate::guard`]) and every other metric of the server.

use crate::AppState;
use axum::extract::State;
use axum::response::IntoResponse;

pub(crate) async fn render(State(state): State<AppState>) -> impl IntoResponse {
    (
        [("content-type", "text/plain; version=0.0.4")],
        state.services.metrics.render(),
    )
}
