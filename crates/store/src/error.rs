//! The storage layer's error. `Backend` carries internal detail for logs only; the HTTP edge
//! never shows it to clients.

use opencalls_domain::DomainError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("already exists")]
    Conflict,
    #[error(transparent)]
    Rejected(#[from] DomainError),
    #[error("malformed pagination cursor")]
    InvalidCursor,
    #[error("storage backend failed: {0}")]
    Backend(String),
    #[error("storage is shut down")]
    Closed,
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        match &err {
            rusqlite::Error::SqliteFailure(e, _)
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Self::Conflict
            }
            _ => Self::Backend(err.to_string()),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(err: serde_json::Error) -> Self {
        Self::Backend(format!("stored JSON is malformed: {err}"))
    }
}
