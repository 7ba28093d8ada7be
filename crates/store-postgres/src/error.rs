//! The PostgreSQL layer's own error, mapped once into [`StoreError`] where a store call
//! returns.
//!
//! Inside a transaction everything is `?`: driver, pool and JSON failures, and the store's
//! own outcomes (`NotFound`, a refused transition) that end a write early and roll it back.

use opencalls_domain::DomainError;
use opencalls_store::StoreError;
use thiserror::Error;
use tokio_postgres::error::SqlState;

#[derive(Debug, Error)]
pub(crate) enum Error {
    #[error(transparent)]
    Postgres(#[from] tokio_postgres::Error),
    #[error("connection pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("stored JSON is malformed: {0}")]
    Json(#[from] serde_json::Error),
    #[error("stored value is malformed: {0}")]
    Corrupt(&'static str),
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
            Error::Postgres(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => Self::Conflict,
            Error::Store(e) => e,
            other => Self::Backend(other.to_string()),
        }
    }
}
