//! `/v1/users`: application users and their access tokens (Platform API, `Api-Token`).
//! Clients exchange an access token for a session token on the client endpoint
//! `POST /v1/auth/session` (served by the signaling adapter, not here).

use crate::error::ErrorBody;
use crate::extract::{ApiPath, ApiQuery, JsonBody};
use crate::json::Json;
use crate::rooms::PageQuery;
use crate::{ApiError, AppState};
use axum::extract::State;
use opencalls_service::domain::{Millis, User};
use opencalls_service::{UserProfile, ids};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

pub(crate) const TAG: &str = "Users";

#[derive(Deserialize, ToSchema)]
pub(crate) struct CreateUserBody {
    user_id: Option<String>,
    nickname: Option<String>,
    profile_url: Option<String>,
    /// Also accepted as `meta_data`.
    #[serde(alias = "meta_data")]
    #[schema(value_type = Option<Object>)]
    metadata: Option<BTreeMap<String, String>>,
    /// When true, the response also carries a new `access_token`.
    issue_access_token: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct UpdateUserBody {
    nickname: Option<String>,
    profile_url: Option<String>,
    /// Also accepted as `meta_data`.
    #[serde(alias = "meta_data")]
    #[schema(value_type = Option<Object>)]
    metadata: Option<BTreeMap<String, String>>,
}

/// A user; `access_token` only right after it was issued.
#[derive(Serialize, ToSchema)]
pub(crate) struct UserBody {
    #[serde(flatten)]
    user: User,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_token: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct UserListBody {
    users: Vec<User>,
    next: Option<String>,
    prev: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct AccessTokenBody {
    user_id: String,
    access_token: String,
    expires_at: Option<Millis>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct RevokedBody {
    user_id: String,
    revoked: u64,
}

/// Create a user (optionally with an access token).
#[utoipa::path(post, path = "/v1/users", tag = TAG, request_body = CreateUserBody,
    responses((status = 200, body = UserBody), (status = 400, body = ErrorBody)))]
pub(crate) async fn create_user(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateUserBody>,
) -> Result<Json<UserBody>, ApiError> {
    let user_id = body.user_id.ok_or_else(|| ApiError::missing("user_id"))?;
    let profile = UserProfile {
        nickname: body.nickname,
        profile_url: body.profile_url,
        metadata: body.metadata,
    };
    let user_id = ids::new_user_id(&user_id)?;
    let user = state.services.users.create(user_id, profile).await?;
    let access_token = if body.issue_access_token.unwrap_or(false) {
        let sessions = &state.services.sessions;
        let issued = sessions.issue_access_token(&user.user_id).await?;
        Some(issued.token)
    } else {
        None
    };
    Ok(Json(UserBody { user, access_token }))
}

/// List users, newest first.
#[utoipa::path(get, path = "/v1/users", tag = TAG, params(PageQuery),
    responses((status = 200, body = UserListBody), (status = 400, body = ErrorBody)))]
pub(crate) async fn list_users(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<UserListBody>, ApiError> {
    let page = state.services.users.list(q.params()?).await?;
    Ok(Json(UserListBody {
        users: page.items,
        next: page.next,
        prev: page.prev,
    }))
}

/// Retrieve a user.
#[utoipa::path(get, path = "/v1/users/{user_id}", tag = TAG, params(("user_id" = String, Path)),
    responses((status = 200, body = User), (status = 400, body = ErrorBody)))]
pub(crate) async fn get_user(
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath,
) -> Result<Json<User>, ApiError> {
    let user_id = ids::user_id(&user_id)?;
    Ok(Json(state.services.users.get(&user_id).await?))
}

/// Update a user's nickname, profile URL or metadata (absent fields stay as they are).
#[utoipa::path(put, path = "/v1/users/{user_id}", tag = TAG, params(("user_id" = String, Path)),
    request_body = UpdateUserBody,
    responses((status = 200, body = User), (status = 400, body = ErrorBody)))]
pub(crate) async fn update_user(
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath,
    JsonBody(body): JsonBody<UpdateUserBody>,
) -> Result<Json<User>, ApiError> {
    let profile = UserProfile {
        nickname: body.nickname,
        profile_url: body.profile_url,
        metadata: body.metadata,
    };
    let user_id = ids::user_id(&user_id)?;
    Ok(Json(state.services.users.update(&user_id, profile).await?))
}

/// Delete a user: it is deactivated, its tokens revoked and its client sessions closed.
#[utoipa::path(delete, path = "/v1/users/{user_id}", tag = TAG, params(("user_id" = String, Path)),
    responses((status = 200, body = User), (status = 400, body = ErrorBody)))]
pub(crate) async fn delete_user(
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath,
) -> Result<Json<User>, ApiError> {
    let user_id = ids::user_id(&user_id)?;
    Ok(Json(state.services.users.delete(&user_id).await?))
}

/// Issue an access token for the user (shown once; valid until revoked).
#[utoipa::path(post, path = "/v1/users/{user_id}/token", tag = TAG, params(("user_id" = String, Path)),
    responses((status = 200, body = AccessTokenBody), (status = 400, body = ErrorBody)))]
pub(crate) async fn issue_token(
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath,
) -> Result<Json<AccessTokenBody>, ApiError> {
    let user_id = ids::user_id(&user_id)?;
    let issued = state.services.sessions.issue_access_token(&user_id).await?;
    Ok(Json(AccessTokenBody {
        user_id: user_id.to_string(),
        access_token: issued.token,
        expires_at: issued.expires_at,
    }))
}

/// Revoke every access and session token of the user; its client sessions are closed.
#[utoipa::path(delete, path = "/v1/users/{user_id}/token", tag = TAG, params(("user_id" = String, Path)),
    responses((status = 200, body = RevokedBody), (status = 400, body = ErrorBody)))]
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    ApiPath(user_id): ApiPath,
) -> Result<Json<RevokedBody>, ApiError> {
    let user_id = ids::user_id(&user_id)?;
    let revoked = state
        .services
        .sessions
        .revoke_access_tokens(&user_id)
        .await?;
    Ok(Json(RevokedBody {
        user_id: user_id.to_string(),
        revoked,
    }))
}
