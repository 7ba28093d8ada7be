//! The HTTP error edge: every failure becomes the spec's body
//! `{"error": true, "code": <int>, "message": "..."}` with a stable code.
//!
//! Invariant: 5xx bodies never carry internal detail; it goes to the log instead.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use opencalls_domain::DomainError;
use opencalls_service::ServiceError;
use serde::Serialize;

/// Codes of the spec's error table (see docs/api.md).
pub mod code {
    pub const INVALID_PARAMETER: u32 = 400100;
    pub const MISSING_PARAMETER: u32 = 400111;
    pub const NOT_FOUND: u32 = 400200;
    pub const ALREADY_EXISTS: u32 = 400201;
    pub const INVALID_ROOM: u32 = 1400126;
    pub const ROOM_FULL: u32 = 1400120;
    pub const ALREADY_ENTERED: u32 = 1400122;
    pub const INVALID_API_TOKEN: u32 = 400401;
    pub const INTERNAL: u32 = 500999;
    pub const NOT_AUTHORIZED: u32 = 401121;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: u32,
    pub message: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody {
    error: bool,
    code: u32,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: u32, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code::INVALID_PARAMETER, message)
    }

    pub fn missing(name: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            code::MISSING_PARAMETER,
            format!("{name} is required"),
        )
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            code::INVALID_API_TOKEN,
            "a valid Api-Token header is required",
        )
    }

    pub fn no_route() -> Self {
        Self::new(StatusCode::NOT_FOUND, code::NOT_FOUND, "no such endpoint")
    }
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        let code = match &err {
            DomainError::InvalidParameter(_) => code::INVALID_PARAMETER,
            DomainError::MissingParameter(_) => code::MISSING_PARAMETER,
            DomainError::RoomDeleted => code::INVALID_ROOM,
            DomainError::RoomFull { .. } => code::ROOM_FULL,
            DomainError::AlreadyEntered => code::ALREADY_ENTERED,
            DomainError::ParticipantNotFound => code::NOT_FOUND,
        };
        Self::new(StatusCode::BAD_REQUEST, code, err.to_string())
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Rejected(e) => e.into(),
            ServiceError::NotFound(what) => Self::new(
                StatusCode::BAD_REQUEST,
                code::NOT_FOUND,
                format!("the {what} was not found"),
            ),
            ServiceError::AlreadyExists(what) => Self::new(
                StatusCode::BAD_REQUEST,
                code::ALREADY_EXISTS,
                format!("the {what} already exists"),
            ),
            ServiceError::Unauthorized(message) => {
                Self::new(StatusCode::UNAUTHORIZED, code::NOT_AUTHORIZED, message)
            }
            ServiceError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    code::INTERNAL,
                    "internal server error",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: true,
            code: self.code,
            message: self.message,
        };
        (self.status, Json(body)).into_response()
    }
}
