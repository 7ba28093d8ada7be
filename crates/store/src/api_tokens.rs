//! Secondary API tokens: extra credentials of the Platform API beside the master token, so
//! a leaked one is replaced without restarting the server.
//!
//! Invariants every implementation keeps: a token is stored only as the SHA-256 hash of
//! the secret plus a short, non-secret hint to recognise it by; a revoked token is gone in
//! the same write that acknowledges the revocation.

use crate::StoreError;
use async_trait::async_trait;
use opencalls_domain::Millis;

/// A stored secondary API token: the hash of the secret, never the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredApiToken {
    pub hash: [u8; 32],
    /// The first characters of the secret, shown in listings.
    pub hint: String,
    pub created_at: Millis,
}

#[async_trait]
pub trait ApiTokenStore: Send + Sync {
    /// Stores a new token unless `limit` tokens exist already; returns whether it was stored.
    async fn insert_api_token(
        &self,
        token: StoredApiToken,
        limit: usize,
    ) -> Result<bool, StoreError>;

    /// Every secondary token, oldest first.
    async fn api_tokens(&self) -> Result<Vec<StoredApiToken>, StoreError>;

    /// Deletes the token with this hash; returns whether there was one.
    async fn delete_api_token(&self, hash: [u8; 32]) -> Result<bool, StoreError>;
}
