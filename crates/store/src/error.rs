//! The storage layer's error, the same for every backend. A backend maps its own errors
//! into it once, at its edge (a unique-key violation is `Conflict`, anything else it can't
//! explain is `Backend`). `Backend` carries internal detail for logs only; the HTTP edge
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
