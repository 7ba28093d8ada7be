//! The service layer's error: what went wrong, in terms an adapter can map to its wire
//! format without knowing about storage.

use opencalls_domain::DomainError;
use opencalls_store::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ServiceError {
    /// A business rule or an input check refused the request.
    #[error(transparent)]
    Rejected(#[from] DomainError),
    /// The named resource does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A resource with the same id already exists.
    #[error("{0} already exists")]
    AlreadyExists(&'static str),
    /// Something failed inside; the detail is for logs only.
    #[error("internal error: {0}")]
    Internal(String),
    /// The credentials are missing, wrong, expired or revoked.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
}

impl ServiceError {
    /// Converts a store error, naming the resource a `NotFound` / `Conflict` is about.
    pub fn from_store(resource: &'static str) -> impl Fn(StoreError) -> ServiceError {
        move |err| match err {
            StoreError::NotFound => Self::NotFound(resource),
            StoreError::Conflict => Self::AlreadyExists(resource),
            StoreError::Rejected(e) => Self::Rejected(e),
            StoreError::InvalidCursor => {
                Self::Rejected(DomainError::invalid("the pagination cursor is malformed"))
            }
            StoreError::Backend(detail) => Self::Internal(detail),
            StoreError::Closed => Self::Internal("storage is shut down".into()),
        }
    }
}
