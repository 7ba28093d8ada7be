//! `/v1/direct_calls` and the user-centric call endpoints (`/v1/users/{user_id}/calls`,
//! `/call_summary`, `/push/{token_type}`), in the shapes of the direct-call spec sheet.
//! The Platform API only reads calls and edits their custom items; calls are made through
//! the client protocol.

use crate::error::ErrorBody;
use crate::extract::{ApiPath, ApiPath2, ApiPath3, ApiQuery, JsonBody, int_param};
use crate::json::Json;
use crate::{ApiError, AppState};
use axum::extract::State;
use opencalls_service::direct_calls::{CallList, PushTokenType, UserCallList, parse_token_type};
use opencalls_service::domain::{CustomItems, CustomItemsMode, DirectCall};
use opencalls_service::rooms::KeysToDelete;
use opencalls_service::{ListPage, PageParams, ids};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

pub(crate) const TAG: &str = "Direct calls";

#[derive(Serialize, ToSchema)]
pub(crate) struct CallListBody {
    calls: Vec<DirectCall>,
    /// Token of the next (older) page; `""` when there is none.
    next: String,
    has_next: bool,
}

impl From<ListPage<DirectCall>> for CallListBody {
    fn from(page: ListPage<DirectCall>) -> Self {
        Self {
            calls: page.items,
            has_next: page.next.is_some(),
            next: page.next.unwrap_or_default(),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListCallsQuery {
    /// 1 to 100 (default 10).
    limit: Option<String>,
    /// The `next` token of the previous page.
    next: Option<String>,
    /// Calls `user_id` takes part in (each then carries its `user_role`).
    user_id: Option<String>,
    /// With `user_id`: `dc_caller` or `dc_callee`.
    role: Option<String>,
    /// Comma-separated: `ringing`, `accepted`, `connected`, `ended`, or `current` (not ended).
    state: Option<String>,
    /// Comma-separated end results.
    end_result: Option<String>,
    /// Started at or after (Unix ms).
    start_ts: Option<String>,
    /// Started before (Unix ms).
    end_ts: Option<String>,
    /// Shortest duration (ms).
    duration_range_min: Option<String>,
    /// Longest duration (ms).
    duration_range_max: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct UserCallsQuery {
    /// 1 to 100 (default 10).
    limit: Option<String>,
    next: Option<String>,
    /// Only `direct`.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    call_type: Option<String>,
    /// `dc_caller` or `dc_callee`.
    role: Option<String>,
    /// Comma-separated end results.
    end_result: Option<String>,
    /// Calls started after (Unix seconds or ms, told apart by magnitude).
    start_ts: Option<String>,
    /// Calls ended before (Unix seconds or ms).
    end_ts: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct UpdateCustomItemsBody {
    #[schema(value_type = Object)]
    custom_items: Option<BTreeMap<String, String>>,
    mode: Option<CustomItemsMode>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct UpdatedCustomItems {
    call_id: String,
    custom_items: CustomItems,
    updated: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct DeleteCustomItemsBody {
    keys: Option<Vec<String>>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct DeletedCustomItems {
    call_id: String,
    custom_items: CustomItems,
    deleted: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct DirectCallCount {
    caller: i64,
    callee: i64,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct CallCount {
    total: i64,
    direct_call: DirectCallCount,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct CallSummaryBody {
    last_call: Option<DirectCall>,
    call_count: CallCount,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct RegisterTokenBody {
    token: Option<String>,
    /// Drop the user's other tokens of this type first.
    is_unique: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct TokenBody {
    user_id: String,
    #[serde(rename = "type")]
    token_type: String,
    token: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct TokenListBody {
    user_id: String,
    #[serde(rename = "type")]
    token_type: String,
    tokens: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct TokensRemovedBody {
    user_id: String,
    #[serde(rename = "type")]
    token_type: String,
    removed: usize,
}

fn page(limit: Option<&str>, next: Option<String>) -> Result<PageParams, ApiError> {
    Ok(PageParams {
        limit: int_param("limit", limit)?,
        next,
        prev: None,
    })
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// Retrieve a list of direct calls, newest first.
#[utoipa::path(get, path = "/v1/direct_calls", tag = TAG, params(ListCallsQuery),
    responses((status = 200, body = CallListBody), (status = 400, body = ErrorBody)))]
pub(crate) async fn list_calls(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ListCallsQuery>,
) -> Result<Json<CallListBody>, ApiError> {
    let user_id = non_empty(q.user_id).map(|u| ids::user_id(&u)).transpose()?;
    let list = CallList {
        page: page(q.limit.as_deref(), q.next)?,
        user_id,
        role: non_empty(q.role),
        state: non_empty(q.state),
        end_result: non_empty(q.end_result),
        start_ts: int_param("start_ts", q.start_ts.as_deref())?,
        end_ts: int_param("end_ts", q.end_ts.as_deref())?,
        duration_range_min: int_param("duration_range_min", q.duration_range_min.as_deref())?,
        duration_range_max: int_param("duration_range_max", q.duration_range_max.as_deref())?,
    };
    let page = state.services.direct_calls.list(list).await?;
    Ok(Json(page.into()))
}

/// Retrieve a direct call (the bare call object).
#[utoipa::path(get, path = "/v1/direct_calls/{call_id}", tag = TAG, params(("call_id" = String, Path)),
    responses((status = 200, body = DirectCall), (status = 400, body = ErrorBody)))]
pub(crate) async fn get_call(
    State(state): State<AppState>,
    ApiPath(call_id): ApiPath,
) -> Result<Json<DirectCall>, ApiError> {
    let id = ids::direct_call_id(&call_id)?;
    Ok(Json(state.services.direct_calls.get(&id).await?))
}

/// Update custom items of a direct call (`mode`: `upsert` by default, or `insert`);
/// allowed after the end too.
#[utoipa::path(put, path = "/v1/direct_calls/{call_id}/custom_items", tag = TAG,
    params(("call_id" = String, Path)), request_body = UpdateCustomItemsBody,
    responses((status = 200, body = UpdatedCustomItems), (status = 400, body = ErrorBody)))]
pub(crate) async fn update_custom_items(
    State(state): State<AppState>,
    ApiPath(call_id): ApiPath,
    JsonBody(body): JsonBody<UpdateCustomItemsBody>,
) -> Result<Json<UpdatedCustomItems>, ApiError> {
    let items = body
        .custom_items
        .ok_or_else(|| ApiError::missing("custom_items"))?;
    let mode = body.mode.unwrap_or_default();
    let id = ids::direct_call_id(&call_id)?;
    let calls = &state.services.direct_calls;
    let (call, updated) = calls.update_custom_items(&id, items, mode).await?;
    Ok(Json(UpdatedCustomItems {
        call_id: call.call_id.to_string(),
        custom_items: call.custom_items,
        updated,
    }))
}

/// Delete custom items of a direct call (`keys`, or all when absent).
#[utoipa::path(delete, path = "/v1/direct_calls/{call_id}/custom_items", tag = TAG,
    params(("call_id" = String, Path)), request_body = DeleteCustomItemsBody,
    responses((status = 200, body = DeletedCustomItems), (status = 400, body = ErrorBody)))]
pub(crate) async fn delete_custom_items(
    State(state): State<AppState>,
    ApiPath(call_id): ApiPath,
    JsonBody(body): JsonBody<DeleteCustomItemsBody>,
) -> Result<Json<DeletedCustomItems>, ApiError> {
    let keys = KeysToDelete::parse(body.keys)?;
    let id = ids::direct_call_id(&call_id)?;
    let (call, deleted) = state
        .services
        .direct_calls
        .delete_custom_items(&id, keys)
        .await?;
    Ok(Json(DeletedCustomItems {
        call_id: call.call_id.to_string(),
        custom_items: call.custom_items,
        deleted,
    }))
}

/// Retrieve a list of a user's calls (call history), newest first, each with `user_role`.
#[utoipa::path(get, path = "/v1/users/{user_id}/calls", tag = TAG,
    params(("user_id" = String, Path), UserCallsQuery),
    responses((status = 200, body = CallListBody), (status = 400, body = ErrorBody)))]
pub(crate) async fn user_calls(
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath,
    ApiQuery(q): ApiQuery<UserCallsQuery>,
) -> Result<Json<CallListBody>, ApiError> {
    let list = UserCallList {
        page: page(q.limit.as_deref(), q.next)?,
        call_type: non_empty(q.call_type),
        role: non_empty(q.role),
        end_result: non_empty(q.end_result),
        start_ts: int_param("start_ts", q.start_ts.as_deref())?,
        end_ts: int_param("end_ts", q.end_ts.as_deref())?,
    };
    let user_id = ids::user_id(&user_id)?;
    let page = state
        .services
        .direct_calls
        .user_calls(&user_id, list)
        .await?;
    Ok(Json(page.into()))
}

/// Retrieve a user's call summary: the last call and the counts by side.
#[utoipa::path(get, path = "/v1/users/{user_id}/call_summary", tag = TAG,
    params(("user_id" = String, Path)),
    responses((status = 200, body = CallSummaryBody), (status = 400, body = ErrorBody)))]
pub(crate) async fn call_summary(
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath,
) -> Result<Json<CallSummaryBody>, ApiError> {
    let user_id = ids::user_id(&user_id)?;
    let summary = state.services.direct_calls.summary(&user_id).await?;
    Ok(Json(CallSummaryBody {
        last_call: summary.last_call,
        call_count: CallCount {
            total: summary.as_caller + summary.as_callee,
            direct_call: DirectCallCount {
                caller: summary.as_caller,
                callee: summary.as_callee,
            },
        },
    }))
}

fn token_path(
    user_id: &str,
    token_type: &str,
) -> Result<(opencalls_service::domain::UserId, PushTokenType), ApiError> {
    Ok((ids::user_id(user_id)?, parse_token_type(token_type)?))
}

/// Register a VoIP push token (`apns_voip` or `fcm_voip`) for a user.
#[utoipa::path(post, path = "/v1/users/{user_id}/push/{token_type}", tag = TAG,
    params(("user_id" = String, Path), ("token_type" = String, Path)),
    request_body = RegisterTokenBody,
    responses((status = 200, body = TokenBody), (status = 400, body = ErrorBody)))]
pub(crate) async fn register_token(
    State(state): State<AppState>,
    ApiPath2(user_id, token_type): ApiPath2,
    JsonBody(body): JsonBody<RegisterTokenBody>,
) -> Result<Json<TokenBody>, ApiError> {
    let token = body.token.ok_or_else(|| ApiError::missing("token"))?;
    let (user, kind) = token_path(&user_id, &token_type)?;
    let unique = body.is_unique.unwrap_or(false);
    let calls = &state.services.direct_calls;
    calls
        .register_push_token(&user, kind, &token, unique)
        .await?;
    Ok(Json(TokenBody {
        user_id: user.to_string(),
        token_type: kind.as_str().to_owned(),
        token,
    }))
}

/// Retrieve a user's VoIP push tokens of a type, newest first.
#[utoipa::path(get, path = "/v1/users/{user_id}/push/{token_type}", tag = TAG,
    params(("user_id" = String, Path), ("token_type" = String, Path)),
    responses((status = 200, body = TokenListBody), (status = 400, body = ErrorBody)))]
pub(crate) async fn list_tokens(
    State(state): State<AppState>,
    ApiPath2(user_id, token_type): ApiPath2,
) -> Result<Json<TokenListBody>, ApiError> {
    let (user, kind) = token_path(&user_id, &token_type)?;
    let tokens = state.services.direct_calls.push_tokens(&user, kind).await?;
    Ok(Json(TokenListBody {
        user_id: tokens.user_id.to_string(),
        token_type: tokens.kind.as_str().to_owned(),
        tokens: tokens.tokens,
    }))
}

/// Remove every VoIP push token of a type from a user.
#[utoipa::path(delete, path = "/v1/users/{user_id}/push/{token_type}", tag = TAG,
    params(("user_id" = String, Path), ("token_type" = String, Path)),
    responses((status = 200, body = TokensRemovedBody), (status = 400, body = ErrorBody)))]
pub(crate) async fn remove_tokens(
    State(state): State<AppState>,
    ApiPath2(user_id, token_type): ApiPath2,
) -> Result<Json<TokensRemovedBody>, ApiError> {
    let (user, kind) = token_path(&user_id, &token_type)?;
    let removed = state
        .services
        .direct_calls
        .remove_push_tokens(&user, kind, None)
        .await?;
    Ok(Json(TokensRemovedBody {
        user_id: user.to_string(),
        token_type: kind.as_str().to_owned(),
        removed,
    }))
}

/// Remove one VoIP push token from a user (400200 if the user does not have it).
#[utoipa::path(delete, path = "/v1/users/{user_id}/push/{token_type}/{token}", tag = TAG,
    params(("user_id" = String, Path), ("token_type" = String, Path), ("token" = String, Path)),
    responses((status = 200, body = TokenBody), (status = 400, body = ErrorBody)))]
pub(crate) async fn remove_token(
    State(state): State<AppState>,
    ApiPath3(user_id, token_type, token): ApiPath3,
) -> Result<Json<TokenBody>, ApiError> {
    let (user, kind) = token_path(&user_id, &token_type)?;
    let calls = &state.services.direct_calls;
    calls.remove_push_tokens(&user, kind, Some(&token)).await?;
    Ok(Json(TokenBody {
        user_id: user.to_string(),
        token_type: kind.as_str().to_owned(),
        token,
    }))
}
