//! `/v1/live-events`: the eight actions of the Live Platform API page.
//!
//! Actions done here are done "through the Platform API", so every `*_by` they set is `""`.

use crate::error::ErrorBody;
use crate::extract::{ApiPath, ApiQuery, JsonBody, int_param, list_param};
use crate::json::Json;
use crate::rooms::PageQuery;
use crate::{ApiError, AppState};
use axum::extract::State;
use opencalls_service::domain::{Actor, Host, LiveEvent, LiveEventParticipant};
use opencalls_service::{LiveEventList, PageParams, ids};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

pub(crate) const TAG: &str = "Live events";

#[derive(Deserialize, ToSchema)]
pub(crate) struct CreateLiveEventBody {
    /// Must be `single_host`.
    host_type: Option<String>,
    /// 1 to 10 user ids that may host the live event.
    user_ids_for_host: Option<Vec<String>>,
    /// Up to 10 items; keys without commas, keys and values up to 128 characters.
    #[schema(value_type = Option<Object>)]
    custom_items: Option<BTreeMap<String, String>>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct LiveEventEnvelope {
    live_event: LiveEvent,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct HostEnvelope {
    /// The present host, else the last host that entered, else `null`.
    host: Option<Host>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct LiveEventListBody {
    live_events: Vec<LiveEvent>,
    next: Option<String>,
    prev: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct LiveEventParticipantList {
    participants: Vec<LiveEventParticipant>,
    next: Option<String>,
    prev: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListLiveEventsQuery {
    /// Comma-separated; `single_host`.
    host_type: Option<String>,
    /// Comma-separated: `created`, `ready`, `ongoing`, `ended` (default: all states).
    state: Option<String>,
    /// Inclusive lower bound of `created_at` (Unix ms).
    #[param(value_type = Option<i64>, format = Int64)]
    created_at_start_date: Option<String>,
    /// Exclusive upper bound of `created_at` (Unix ms).
    #[param(value_type = Option<i64>, format = Int64)]
    created_at_end_date: Option<String>,
    #[param(value_type = Option<i64>, format = Int64)]
    participant_count_range_gte: Option<String>,
    #[param(value_type = Option<i64>, format = Int64)]
    participant_count_range_lte: Option<String>,
    /// Comma-separated, at most 10; not together with `live_event_id`.
    live_event_ids: Option<String>,
    live_event_id: Option<String>,
    /// Comma-separated, at most 10; not together with `created_by_user_id`.
    created_by_user_ids: Option<String>,
    created_by_user_id: Option<String>,
    /// Inclusive lower bound of `duration` (ms).
    #[param(value_type = Option<i64>, format = Int64)]
    duration_range_gte: Option<String>,
    /// Inclusive upper bound of `duration` (ms).
    #[param(value_type = Option<i64>, format = Int64)]
    duration_range_lte: Option<String>,
    /// 1 to 100 (default 10).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    limit: Option<String>,
    next: Option<String>,
    prev: Option<String>,
}

impl ListLiveEventsQuery {
    fn into_list(self) -> Result<LiveEventList, ApiError> {
        let int = |name: &str, value: &Option<String>| int_param(name, value.as_deref());
        Ok(LiveEventList {
            host_types: list_param(self.host_type.as_deref()).unwrap_or_default(),
            states: list_param(self.state.as_deref()).unwrap_or_default(),
            created_at_start_date: int("created_at_start_date", &self.created_at_start_date)?,
            created_at_end_date: int("created_at_end_date", &self.created_at_end_date)?,
            participant_count_range_gte: int(
                "participant_count_range_gte",
                &self.participant_count_range_gte,
            )?,
            participant_count_range_lte: int(
                "participant_count_range_lte",
                &self.participant_count_range_lte,
            )?,
            live_event_ids: list_param(self.live_event_ids.as_deref()),
            live_event_id: self.live_event_id.filter(|s| !s.is_empty()),
            created_by_user_ids: list_param(self.created_by_user_ids.as_deref()),
            created_by_user_id: self.created_by_user_id,
            duration_range_gte: int("duration_range_gte", &self.duration_range_gte)?,
            duration_range_lte: int("duration_range_lte", &self.duration_range_lte)?,
            page: PageParams {
                limit: int("limit", &self.limit)?,
                next: self.next,
                prev: self.prev,
            },
        })
    }
}

/// Create a live event (state `created`).
#[utoipa::path(post, path = "/v1/live-events", tag = TAG, request_body = CreateLiveEventBody,
    responses((status = 200, body = LiveEventEnvelope), (status = 400, body = ErrorBody)))]
pub(crate) async fn create_live_event(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateLiveEventBody>,
) -> Result<Json<LiveEventEnvelope>, ApiError> {
    let host_type = body
        .host_type
        .ok_or_else(|| ApiError::missing("host_type"))?;
    let hosts = body
        .user_ids_for_host
        .ok_or_else(|| ApiError::missing("user_ids_for_host"))?;
    let live_event = state
        .services
        .live_events
        .create(&host_type, hosts, body.custom_items, Actor::PlatformApi)
        .await?;
    Ok(Json(LiveEventEnvelope { live_event }))
}

/// Retrieve a list of live events (every state unless `state` narrows it), newest first.
#[utoipa::path(get, path = "/v1/live-events", tag = TAG, params(ListLiveEventsQuery),
    responses((status = 200, body = LiveEventListBody), (status = 400, body = ErrorBody)))]
pub(crate) async fn list_live_events(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListLiveEventsQuery>,
) -> Result<Json<LiveEventListBody>, ApiError> {
    let page = state.services.live_events.list(q.into_list()?).await?;
    Ok(Json(LiveEventListBody {
        live_events: page.items,
        next: page.next,
        prev: page.prev,
    }))
}

/// Retrieve a live event (in any state).
#[utoipa::path(get, path = "/v1/live-events/{live_event_id}", tag = TAG,
    params(("live_event_id" = String, Path)),
    responses((status = 200, body = LiveEventEnvelope), (status = 400, body = ErrorBody)))]
pub(crate) async fn get_live_event(
    State(state): State<AppState>,
    ApiPath(id): ApiPath,
) -> Result<Json<LiveEventEnvelope>, ApiError> {
    let live_event = state
        .services
        .live_events
        .get(&ids::live_event_id(&id)?)
        .await?;
    Ok(Json(LiveEventEnvelope { live_event }))
}

/// End a live event: participants and the host are forced out.
#[utoipa::path(delete, path = "/v1/live-events/{live_event_id}", tag = TAG,
    params(("live_event_id" = String, Path)),
    responses((status = 200, body = LiveEventEnvelope), (status = 400, body = ErrorBody)))]
pub(crate) async fn end_live_event(
    State(state): State<AppState>,
    ApiPath(id): ApiPath,
) -> Result<Json<LiveEventEnvelope>, ApiError> {
    let id = ids::live_event_id(&id)?;
    let live_event = state
        .services
        .live_events
        .end(&id, Actor::PlatformApi)
        .await?;
    Ok(Json(LiveEventEnvelope { live_event }))
}

/// Set a live event ready (`created → ready`): participants may enter.
#[utoipa::path(post, path = "/v1/live-events/{live_event_id}/ready", tag = TAG,
    params(("live_event_id" = String, Path)),
    responses((status = 200, body = LiveEventEnvelope), (status = 400, body = ErrorBody)))]
pub(crate) async fn set_ready(
    State(state): State<AppState>,
    ApiPath(id): ApiPath,
) -> Result<Json<LiveEventEnvelope>, ApiError> {
    let id = ids::live_event_id(&id)?;
    let live_event = state
        .services
        .live_events
        .set_ready(&id, Actor::PlatformApi)
        .await?;
    Ok(Json(LiveEventEnvelope { live_event }))
}

/// Start a live event (`ready → ongoing`).
#[utoipa::path(post, path = "/v1/live-events/{live_event_id}/start", tag = TAG,
    params(("live_event_id" = String, Path)),
    responses((status = 200, body = LiveEventEnvelope), (status = 400, body = ErrorBody)))]
pub(crate) async fn start(
    State(state): State<AppState>,
    ApiPath(id): ApiPath,
) -> Result<Json<LiveEventEnvelope>, ApiError> {
    let id = ids::live_event_id(&id)?;
    let live_event = state
        .services
        .live_events
        .start(&id, Actor::PlatformApi)
        .await?;
    Ok(Json(LiveEventEnvelope { live_event }))
}

/// Retrieve the host of a live event.
#[utoipa::path(get, path = "/v1/live-events/{live_event_id}/hosts", tag = TAG,
    params(("live_event_id" = String, Path)),
    responses((status = 200, body = HostEnvelope), (status = 400, body = ErrorBody)))]
pub(crate) async fn get_host(
    State(state): State<AppState>,
    ApiPath(id): ApiPath,
) -> Result<Json<HostEnvelope>, ApiError> {
    let host = state
        .services
        .live_events
        .host(&ids::live_event_id(&id)?)
        .await?;
    Ok(Json(HostEnvelope { host }))
}

/// Retrieve every participant that entered the live event, newest first.
#[utoipa::path(get, path = "/v1/live-events/{live_event_id}/participants", tag = TAG,
    params(("live_event_id" = String, Path), PageQuery),
    responses((status = 200, body = LiveEventParticipantList), (status = 400, body = ErrorBody)))]
pub(crate) async fn list_participants(
    State(state): State<AppState>,
    ApiPath(id): ApiPath,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<LiveEventParticipantList>, ApiError> {
    let page = q.params()?;
    let id = ids::live_event_id(&id)?;
    let page = state.services.live_events.participants(&id, page).await?;
    Ok(Json(LiveEventParticipantList {
        participants: page.items,
        next: page.next,
        prev: page.prev,
    }))
}
