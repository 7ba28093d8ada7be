//! The Platform API: a thin axum adapter over the application services.
//!
//! Handlers parse and bound their input, call one service, and render the result in the
//! spec's JSON shapes. Every failure leaves through [`ApiError`], which renders the spec's
//! error body; nothing here holds business rules.
#![forbid(unsafe_code)]

mod api_tokens;
mod auth;
mod direct_calls;
mod error;
mod extract;
mod health;
mod http_metrics;
mod live_events;
mod openapi;
mod openapi_truth;
mod rooms;
mod users;
mod webhooks;

pub use error::ApiError;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use opencalls_service::Services;
use std::sync::Arc;

/// Largest request body accepted, in bytes; larger ones are refused with a 400.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest query string accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 8 * 1024;

/// What the HTTP layer needs besides the services.
#[derive(Clone)]
pub struct ApiConfig {
    /// The master API token; requests must present it in `Api-Token`.
    pub api_token: String,
}

/// The handlers' state. axum clones it for every extractor and middleware of every
/// request, so it is one `Arc`: cloning `Services` itself (a dozen `Arc`s, shared by both
/// cores' workers) cost about a tenth of `GET /v1/rooms/{id}`'s CPU in contended atomics.
#[derive(Clone)]
pub(crate) struct AppState(Arc<Shared>);

pub(crate) struct Shared {
    pub services: Services,
    pub config: ApiConfig,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The complete HTTP application: Platform API under `/v1`, plus `/healthz`, `/readyz` and
/// `/metrics`.
pub fn router(services: Services, config: ApiConfig) -> Router {
    let state = AppState(Arc::new(Shared {
        services: services.clone(),
        config,
    }));
    let (v1, doc) = openapi::v1_routes_and_document();
    let doc = Arc::new(doc);
    let v1 = v1
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_api_token,
        ))
        .route("/v1/openapi.json", get(move || openapi::serve(doc.clone())));
    Router::new()
        .merge(v1)
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(http_metrics::render))
        // A route layer sees the matched route template, which labels the metrics.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            http_metrics::track,
        ))
        .fallback(|| async { ApiError::no_route() })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// The generated OpenAPI document (also served at `/v1/openapi.json`).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    openapi::v1_routes_and_document().1
}
