//! Webhook settings and the delivery log (docs/webhooks.md).

use crate::error::ErrorBody;
use crate::extract::{ApiPath, ApiQuery, JsonBody, int_param};
use crate::json::Json;
use crate::{ApiError, AppState};
use axum::extract::State;
use opencalls_service::PageParams;
use opencalls_service::domain::Millis;
use opencalls_service::webhooks::{Delivery, WebhookSettings, WebhookSettingsUpdate};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub(crate) const TAG: &str = "Webhooks";

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct SettingsQuery {
    /// `true` adds `all_webhook_categories` to the response.
    display_all_webhook_categories: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct UpdateSettingsBody {
    enabled: Option<bool>,
    /// `http://` or `https://` URL receiving the `POST`s; `""` clears it.
    url: Option<String>,
    /// Categories to deliver; `["*"]` means all.
    enabled_events: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct WebhookBody {
    enabled: bool,
    url: String,
    enabled_events: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    all_webhook_categories: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct WebhookEnvelope {
    webhook: WebhookBody,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct DeliveriesQuery {
    /// `pending`, `delivered` or `failed` (default: all).
    status: Option<String>,
    /// 1 to 100 (default 10).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    limit: Option<String>,
    next: Option<String>,
    prev: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct DeliveryBody {
    delivery_id: String,
    category: String,
    occurred_at: Millis,
    /// `room:<id>` or `live_event:<id>`: deliveries of one stream arrive in order.
    stream: String,
    /// `pending`, `delivered` or `failed`.
    status: String,
    attempts: u32,
    created_at: Millis,
    next_attempt_at: Option<Millis>,
    last_attempt_at: Option<Millis>,
    last_status_code: Option<u16>,
    last_error: Option<String>,
    finished_at: Option<Millis>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct DeliveryList {
    deliveries: Vec<DeliveryBody>,
    next: Option<String>,
    prev: Option<String>,
}

impl From<Delivery> for DeliveryBody {
    fn from(d: Delivery) -> Self {
        Self {
            delivery_id: d.delivery_id.to_string(),
            category: d.category,
            occurred_at: d.occurred_at,
            stream: d.stream.encode(),
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            created_at: d.created_at,
            next_attempt_at: d.next_attempt_at,
            last_attempt_at: d.last_attempt_at,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            finished_at: d.finished_at,
        }
    }
}

fn flag(name: &str, value: Option<&str>) -> Result<bool, ApiError> {
    match value.map(str::trim) {
        None | Some("") | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(ApiError::invalid(format!(
            "{name} must be true or false, got '{other}'"
        ))),
    }
}

fn envelope(state: &AppState, settings: WebhookSettings, all: bool) -> WebhookEnvelope {
    WebhookEnvelope {
        webhook: WebhookBody {
            enabled: settings.enabled,
            url: settings.url,
            enabled_events: settings.enabled_events,
            all_webhook_categories: all.then(|| state.services.webhooks.all_categories()),
        },
    }
}

/// Retrieve the webhook settings.
#[utoipa::path(get, path = "/v1/applications/{application_id}/settings/webhook", tag = TAG,
    params(("application_id" = String, Path), SettingsQuery),
    responses((status = 200, body = WebhookEnvelope), (status = 400, body = ErrorBody)))]
pub(crate) async fn get_settings(
    State(state): State<AppState>,
    ApiPath(app_id): ApiPath,
    ApiQuery(q): ApiQuery<SettingsQuery>,
) -> Result<Json<WebhookEnvelope>, ApiError> {
    let all = flag(
        "display_all_webhook_categories",
        q.display_all_webhook_categories.as_deref(),
    )?;
    let settings = state.services.webhooks.settings(&app_id).await?;
    Ok(Json(envelope(&state, settings, all)))
}

/// Update the webhook settings (any of `enabled`, `url`, `enabled_events`).
#[utoipa::path(put, path = "/v1/applications/{application_id}/settings/webhook", tag = TAG,
    params(("application_id" = String, Path), SettingsQuery), request_body = UpdateSettingsBody,
    responses((status = 200, body = WebhookEnvelope), (status = 400, body = ErrorBody)))]
pub(crate) async fn update_settings(
    State(state): State<AppState>,
    ApiPath(app_id): ApiPath,
    ApiQuery(q): ApiQuery<SettingsQuery>,
    JsonBody(body): JsonBody<UpdateSettingsBody>,
) -> Result<Json<WebhookEnvelope>, ApiError> {
    let all = flag(
        "display_all_webhook_categories",
        q.display_all_webhook_categories.as_deref(),
    )?;
    let update = WebhookSettingsUpdate {
        enabled: body.enabled,
        url: body.url,
        enabled_events: body.enabled_events,
    };
    let settings = state
        .services
        .webhooks
        .update_settings(&app_id, update)
        .await?;
    Ok(Json(envelope(&state, settings, all)))
}

/// Retrieve the webhook delivery log, newest first.
#[utoipa::path(get, path = "/v1/applications/{application_id}/webhook/deliveries", tag = TAG,
    params(("application_id" = String, Path), DeliveriesQuery),
    responses((status = 200, body = DeliveryList), (status = 400, body = ErrorBody)))]
pub(crate) async fn list_deliveries(
    State(state): State<AppState>,
    ApiPath(app_id): ApiPath,
    ApiQuery(q): ApiQuery<DeliveriesQuery>,
) -> Result<Json<DeliveryList>, ApiError> {
    let page = PageParams {
        limit: int_param("limit", q.limit.as_deref())?,
        next: q.next,
        prev: q.prev,
    };
    let list = state
        .services
        .webhooks
        .deliveries(&app_id, q.status.as_deref(), &page)
        .await?;
    Ok(Json(DeliveryList {
        deliveries: list.items.into_iter().map(DeliveryBody::from).collect(),
        next: list.next,
        prev: list.prev,
    }))
}
