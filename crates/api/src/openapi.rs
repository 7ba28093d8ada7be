//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use crate::json::Json;
use crate::{AppState, api_tokens, direct_calls, live_events, rooms, users, webhooks};
use axum::response::IntoResponse;
use std::sync::Arc;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(title = "OpenCalls Platform API", description = "Sendbird-compatible group-call rooms, live events and direct calls."),
    modifiers(&ApiTokenScheme),
    security(("api_token" = [])),
    tags(
        (name = rooms::TAG, description = "Group-call rooms"),
        (name = live_events::TAG, description = "Live events (single host broadcasts)"),
        (name = webhooks::TAG, description = "Webhook settings and delivery log"),
        (name = users::TAG, description = "Users and their access tokens"),
        (name = api_tokens::TAG, description = "Secondary API tokens (managed with the master token)"),
        (name = direct_calls::TAG, description = "Direct (1:1) calls, users' call history and VoIP push tokens")
    )
)]
struct ApiDoc;

struct ApiTokenScheme;

impl utoipa::Modify for ApiTokenScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("Api-Token"))),
        );
    }
}

/// Every `/v1` route together with its documentation.
pub(crate) fn v1_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(rooms::create_room, rooms::list_rooms))
        .routes(routes!(rooms::get_room, rooms::delete_room))
        .routes(routes!(
            rooms::get_custom_items,
            rooms::update_custom_items,
            rooms::delete_custom_items
        ))
        .routes(routes!(rooms::list_participants))
        .routes(routes!(
            live_events::create_live_event,
            live_events::list_live_events
        ))
        .routes(routes!(
            live_events::get_live_event,
            live_events::end_live_event
        ))
        .routes(routes!(live_events::set_ready))
        .routes(routes!(live_events::start))
        .routes(routes!(live_events::get_host))
        .routes(routes!(live_events::list_participants))
        .routes(routes!(webhooks::get_settings, webhooks::update_settings))
        .routes(routes!(webhooks::list_deliveries))
        .routes(routes!(users::create_user, users::list_users))
        .routes(routes!(
            users::get_user,
            users::update_user,
            users::delete_user
        ))
        .routes(routes!(users::issue_token, users::revoke_token))
        .routes(routes!(api_tokens::issue, api_tokens::list))
        .routes(routes!(api_tokens::view, api_tokens::revoke))
        .routes(routes!(direct_calls::list_calls))
        .routes(routes!(direct_calls::get_call))
        .routes(routes!(
            direct_calls::update_custom_items,
            direct_calls::delete_custom_items
        ))
        .routes(routes!(direct_calls::user_calls))
        .routes(routes!(direct_calls::call_summary))
        .routes(routes!(
            direct_calls::register_token,
            direct_calls::list_tokens,
            direct_calls::remove_tokens
        ))
        .routes(routes!(direct_calls::remove_token))
}

/// The `/v1` routes and the complete document (with what [`crate::openapi_truth`] adds to
/// every operation, which needs all of them in place).
pub(crate) fn v1_routes_and_document() -> (axum::Router<AppState>, utoipa::openapi::OpenApi) {
    let (routes, mut doc) = v1_routes().split_for_parts();
    utoipa::Modify::modify(&crate::openapi_truth::Truth, &mut doc);
    (routes, doc)
}

pub(crate) async fn serve(doc: Arc<utoipa::openapi::OpenApi>) -> impl IntoResponse {
    Json(doc.as_ref().clone())
}
