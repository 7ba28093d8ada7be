//! The SQLite layer's own error, mapped once into [`StoreError`] where a store call returns.
//!
//! Inside a transaction everything is `?`: SQLite and JSON failures, and the store's own
//! outcomes (`NotFound`, a refused transition) that end a write early and roll it back.

use opencalls_domain::DomainError;
use opencalls_store::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
pub(crate) enum Error {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored JSON is malformed: {0}")]
    Json(#[from] serde_json::Error),
    /// An outcome already in the store's terms (not found, refused, shut down).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<DomainError> for Error {
    fn from(err: DomainError) -> Self {
        Self::Store(StoreError::Rejected(err))
    }
}

impl From<Error> for StoreError {
    fn from(err: Error) -> Self {
        match err {
            Error::Sqlite(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Self::Conflict
            }
            Error::Sqlite(e) => Self::Backend(e.to_string()),
            err @ Error::Json(_) => Self::Backend(err.to_string()),
            Error::Store(e) => e,
        }
    }
}
