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
mod guard;
mod health;
mod http_metrics;
mod json;
mod live_events;
mod openapi;
mod openapi_truth;
mod rooms;
mod users;
mod webhooks;

pub use error::ApiError;

use axum::Router;
use axum::routing::get;
use guard::{Access, Guard};
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
/// `/metrics`. Every route is behind one `guard::Guard` (metrics, body limit, and the
/// `Api-Token` check on the Platform API routes).
pub fn router(services: Services, config: ApiConfig) -> Router {
    let state = AppState(Arc::new(Shared {
        services: services.clone(),
        config,
    }));
    let (v1, doc) = openapi::v1_routes_and_document();
    let doc = Arc::new(doc);
    let v1 = v1.layer(Guard::new(state.clone(), Access::Token));
    let open = Router::new()
        .route("/v1/openapi.json", get(move || openapi::serve(doc.clone())))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(http_metrics::render))
        .layer(Guard::new(state.clone(), Access::Open));
    Router::new()
        .merge(v1)
        .merge(open)
        .fallback(|| async { ApiError::no_route() })
        .with_state(state)
}

/// The generated OpenAPI document (also served at `/v1/openapi.json`).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    openapi::v1_routes_and_document().1
}
