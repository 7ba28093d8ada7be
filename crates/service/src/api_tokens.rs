//! Secondary API tokens of the Platform API: issued, listed and revoked with the master
//! token, accepted in `Api-Token` like it, so a leaked token is rotated without downtime
//! (issue a new one, switch the callers, revoke the old one).
//!
//! Invariants: a secret is 160 random bits, shown once when issued and stored only as its
//! SHA-256 hash; at most [`MAX_API_TOKENS`] exist; a revocation is in force for every
//! request that starts after it was acknowledged (the in-memory set of hashes is changed
//! under the same lock as the store).

use crate::ServiceError;
use opencalls_domain::{DomainError, Millis};
use opencalls_runtime::Clock;
use opencalls_store::{Store, StoredApiToken};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::fmt::Write;
use std::sync::Arc;
use tokio::sync::RwLock;

/// Most secondary API tokens at once.
pub const MAX_API_TOKENS: usize = 10;
/// Characters of the secret kept (and shown in listings) to recognise a token by.
const HINT_LEN: usize = 6;
/// Longest token considered at all (a real one is 40 characters).
const MAX_TOKEN_LEN: usize = 128;

/// A secondary token as listed: its hint (`"1a2b3c…"`), never the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiTokenInfo {
    pub hint: String,
    pub created_at: Millis,
}

#[derive(Clone)]
pub struct ApiTokenService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// Hashes of the valid secondary tokens; `None` until first needed.
    valid: Arc<RwLock<Option<HashSet<[u8; 32]>>>>,
}

impl ApiTokenService {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            valid: Arc::default(),
        }
    }

    /// Issues a new secondary token; returns the secret (shown only now) and its time.
    pub async fn issue(&self) -> Result<(String, Millis), ServiceError> {
        let mut secret = [0u8; 20];
        getrandom::fill(&mut secret)
            .map_err(|e| ServiceError::Internal(format!("no randomness: {e}")))?;
        let token = secret.iter().fold(String::with_capacity(40), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        });
        let created_at = self.clock.now();
        let stored = StoredApiToken {
            hash: hash(&token),
            hint: token.chars().take(HINT_LEN).collect(),
            created_at,
        };
        let mut valid = self.valid.write().await;
        let inserted = self
            .store
            .insert_api_token(stored.clone(), MAX_API_TOKENS)
            .await
            .map_err(ServiceError::from_store("API token"))?;
        if !inserted {
            return Err(DomainError::invalid(format!(
                "at most {MAX_API_TOKENS} secondary API tokens exist at once; revoke one first"
            ))
            .into());
        }
        if let Some(set) = valid.as_mut() {
            set.insert(stored.hash);
        }
        Ok((token, created_at))
    }

    /// Every secondary token, oldest first.
    pub async fn list(&self) -> Result<Vec<ApiTokenInfo>, ServiceError> {
        let tokens = self
            .store
            .api_tokens()
            .await
            .map_err(ServiceError::from_store("API token"))?;
        Ok(tokens.into_iter().map(info).collect())
    }

    /// The secondary token `token`; `NotFound` if it is not (or no longer) valid.
    pub async fn get(&self, token: &str) -> Result<ApiTokenInfo, ServiceError> {
        let wanted = hash(token);
        self.store
            .api_tokens()
            .await
            .map_err(ServiceError::from_store("API token"))?
            .into_iter()
            .find(|t| t.hash == wanted)
            .map(info)
            .ok_or(ServiceError::NotFound("API token"))
    }

    /// Revokes `token`: requests presenting it fail from now on.
    pub async fn revoke(&self, token: &str) -> Result<(), ServiceError> {
        let hash = hash(token);
        let mut valid = self.valid.write().await;
        let removed = self
            .store
            .delete_api_token(hash)
            .await
            .map_err(ServiceError::from_store("API token"))?;
        if let Some(set) = valid.as_mut() {
            set.remove(&hash);
        }
        if removed {
            Ok(())
        } else {
            Err(ServiceError::NotFound("API token"))
        }
    }

    /// Whether `presented` is a valid secondary token.
    pub async fn is_valid(&self, presented: &[u8]) -> Result<bool, ServiceError> {
        if presented.is_empty() || presented.len() > MAX_TOKEN_LEN {
            return Ok(false);
        }
        let presented: [u8; 32] = Sha256::digest(presented).into();
        if let Some(set) = self.valid.read().await.as_ref() {
            return Ok(set.contains(&presented));
        }
        let mut valid = self.valid.write().await;
        if valid.is_none() {
            let stored = self
                .store
                .api_tokens()
                .await
                .map_err(ServiceError::from_store("API token"))?;
            *valid = Some(stored.into_iter().map(|t| t.hash).collect());
        }
        Ok(valid.as_ref().is_some_and(|set| set.contains(&presented)))
    }
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn info(stored: StoredApiToken) -> ApiTokenInfo {
    ApiTokenInfo {
        hint: format!("{}…", stored.hint),
        created_at: stored.created_at,
    }
}
