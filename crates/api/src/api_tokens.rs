//! Secondary API tokens (`/v1/applications/api_tokens`), managed with the master token
//! only; see docs/security.md for rotating a leaked token.

use crate::auth::{Credential, require_master};
use crate::error::ErrorBody;
use crate::extract::ApiPath;
use crate::{ApiError, AppState};
use axum::extract::State;
use axum::{Extension, Json};
use opencalls_service::api_tokens::ApiTokenInfo;
use opencalls_service::domain::Millis;
use serde::Serialize;
use utoipa::ToSchema;

pub(crate) const TAG: &str = "API tokens";

/// A secondary token as listed: `token` is its first characters followed by `…`; the whole
/// secret is shown only once, when it is issued.
#[derive(Serialize, ToSchema)]
pub(crate) struct ApiTokenBody {
    token: String,
    created_at: Millis,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ApiTokenList {
    api_tokens: Vec<ApiTokenBody>,
}

/// The answer to a revocation.
#[derive(Serialize, ToSchema)]
pub(crate) struct Revoked {}

impl From<ApiTokenInfo> for ApiTokenBody {
    fn from(info: ApiTokenInfo) -> Self {
        Self {
            token: info.hint,
            created_at: info.created_at,
        }
    }
}

/// Generate a secondary API token (master token only); the response is the only place the
/// whole secret appears.
#[utoipa::path(post, path = "/v1/applications/api_tokens", tag = TAG,
    responses((status = 200, body = ApiTokenBody), (status = 400, body = ErrorBody)))]
pub(crate) async fn issue(
    State(state): State<AppState>,
    credential: Option<Extension<Credential>>,
) -> Result<Json<ApiTokenBody>, ApiError> {
    require_master(credential.as_deref())?;
    let (token, created_at) = state.services.api_tokens.issue().await?;
    Ok(Json(ApiTokenBody { token, created_at }))
}

/// List the secondary API tokens, oldest first (master token only).
#[utoipa::path(get, path = "/v1/applications/api_tokens", tag = TAG,
    responses((status = 200, body = ApiTokenList), (status = 400, body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    credential: Option<Extension<Credential>>,
) -> Result<Json<ApiTokenList>, ApiError> {
    require_master(credential.as_deref())?;
    let tokens = state.services.api_tokens.list().await?;
    Ok(Json(ApiTokenList {
        api_tokens: tokens.into_iter().map(ApiTokenBody::from).collect(),
    }))
}

/// View a secondary API token (master token only).
#[utoipa::path(get, path = "/v1/applications/api_tokens/{api_token}", tag = TAG,
    params(("api_token" = String, Path, description = "the whole secret")),
    responses((status = 200, body = ApiTokenBody), (status = 400, body = ErrorBody)))]
pub(crate) async fn view(
    State(state): State<AppState>,
    credential: Option<Extension<Credential>>,
    ApiPath(token): ApiPath,
) -> Result<Json<ApiTokenBody>, ApiError> {
    require_master(credential.as_deref())?;
    let info = state.services.api_tokens.get(&token).await?;
    Ok(Json(info.into()))
}

/// Revoke a secondary API token (master token only): requests presenting it fail from the
/// moment this answers.
#[utoipa::path(delete, path = "/v1/applications/api_tokens/{api_token}", tag = TAG,
    params(("api_token" = String, Path, description = "the whole secret")),
    responses((status = 200, body = Revoked), (status = 400, body = ErrorBody)))]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    credential: Option<Extension<Credential>>,
    ApiPath(token): ApiPath,
) -> Result<Json<Revoked>, ApiError> {
    require_master(credential.as_deref())?;
    state.services.api_tokens.revoke(&token).await?;
    Ok(Json(Revoked {}))
}
