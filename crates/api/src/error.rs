//! The HTTP error edge: every failure becomes the spec's body
//! `{"error": true, "code": <int>, "message": "..."}` with a stable code.
//!
//! Invariant: 5xx bodies never carry internal detail; it goes to the log instead.

use crate::json::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use opencalls_service::ServiceError;
use opencalls_service::domain::DomainError;
use serde::Serialize;

pub use opencalls_service::codes::code;

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
        Self::from(ServiceError::Rejected(err))
    }
}

impl From<ServiceError> for ApiError {
    fn from(err: ServiceError) -> Self {
        let status = match &err {
            ServiceError::Rejected(_)
            | ServiceError::NotFound(_)
            | ServiceError::AlreadyExists(_) => StatusCode::BAD_REQUEST,
            ServiceError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ServiceError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let (code, message) = opencalls_service::codes::describe(&err);
        Self::new(status, code, message)
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
