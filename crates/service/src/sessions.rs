//! Client credentials: per-user access tokens (issued through the Platform API, long-lived
//! until revoked) exchanged for short-lived session tokens that authorise the client
//! protocol.
//!
//! Invariants: a token is 256 random bits shown to its holder once and stored only as its
//! SHA-256 hash; an access token never authorises a connection and a session token never
//! opens another session; a deactivated user holds no valid token. Revocations are
//! announced so open connections of the user are closed.

use crate::ServiceError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use opencalls_domain::{Millis, User, UserId};
use opencalls_runtime::Clock;
use opencalls_store::{Store, StoredToken, TokenKind};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tokio::sync::broadcast;

/// Default lifetime of a session token.
pub const DEFAULT_SESSION_TTL_MS: Millis = 60 * 60 * 1000;
/// Longest token string accepted (a real one is 43 characters).
const MAX_TOKEN_LEN: usize = 128;

/// A freshly issued token: the secret (shown once) and when it stops being valid.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    pub token: String,
    pub expires_at: Option<Millis>,
}

#[derive(Clone)]
pub struct SessionService {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    session_ttl_ms: Millis,
    revoked: broadcast::Sender<UserId>,
}

impl SessionService {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, session_ttl_ms: Millis) -> Self {
        Self {
            store,
            clock,
            session_ttl_ms,
            revoked: broadcast::channel(1024).0,
        }
    }

    /// The same service issuing sessions that last `ttl_ms` (revocations stay shared).
    pub fn with_ttl(mut self, ttl_ms: Millis) -> Self {
        self.session_ttl_ms = ttl_ms;
        self
    }

    /// Users whose sessions were revoked (token revocation or deactivation), as it happens.
    pub fn revocations(&self) -> broadcast::Receiver<UserId> {
        self.revoked.subscribe()
    }

    /// Tells every listener of [`Self::revocations`] that `user_id`'s tokens are gone (the
    /// store has already deleted them): that user's connections end. Called by the
    /// revoking services; public so tests can overflow the channel, as a burst would.
    pub fn announce_revoked(&self, user_id: UserId) {
        let _ = self.revoked.send(user_id);
    }

    /// Issues another access token for an active user.
    pub async fn issue_access_token(&self, user_id: &UserId) -> Result<IssuedToken, ServiceError> {
        let user = self.active_user(user_id).await?;
        self.issue(user.user_id, TokenKind::Access, None).await
    }

    /// Revokes every access and session token of the user and ends its sessions.
    pub async fn revoke_access_tokens(&self, user_id: &UserId) -> Result<u64, ServiceError> {
        let user = self.user(user_id).await?;
        let removed = self
            .store
            .delete_tokens(&user.user_id, &[TokenKind::Access, TokenKind::Session])
            .await
            .map_err(ServiceError::from_store("token"))?;
        self.announce_revoked(user.user_id);
        Ok(removed)
    }

    /// Exchanges a user id and access token for a session token (parse the user id with
    /// [`crate::ids::claimed_user_id`]).
    pub async fn open_session(
        &self,
        user_id: &UserId,
        access_token: &str,
    ) -> Result<(IssuedToken, User), ServiceError> {
        let stored = self.check(access_token, TokenKind::Access).await?;
        if !constant_time_eq(
            stored.user_id.as_str().as_bytes(),
            user_id.as_str().as_bytes(),
        ) {
            return Err(unauthorized());
        }
        let user = self
            .active_user(user_id)
            .await
            .map_err(|_| unauthorized())?;
        let expires_at = self.clock.now() + self.session_ttl_ms;
        let issued = self
            .issue(user.user_id.clone(), TokenKind::Session, Some(expires_at))
            .await?;
        Ok((issued, user))
    }

    /// The active user a session token belongs to.
    pub async fn authenticate(&self, session_token: &str) -> Result<User, ServiceError> {
        Ok(self.authenticate_session(session_token).await?.0)
    }

    /// The active user a session token belongs to, and when the session expires (an open
    /// connection is closed then).
    pub async fn authenticate_session(
        &self,
        session_token: &str,
    ) -> Result<(User, Option<Millis>), ServiceError> {
        let stored = self.check(session_token, TokenKind::Session).await?;
        let user = self
            .active_user(&stored.user_id)
            .await
            .map_err(|_| unauthorized())?;
        Ok((user, stored.expires_at))
    }

    /// The service's "now" (session expiry is measured on this clock).
    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    /// Removes expired tokens (housekeeping; expired ones are refused anyway).
    pub async fn purge_expired(&self) -> Result<u64, ServiceError> {
        self.store
            .delete_expired_tokens(self.clock.now())
            .await
            .map_err(ServiceError::from_store("token"))
    }

    async fn check(&self, token: &str, kind: TokenKind) -> Result<StoredToken, ServiceError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(unauthorized());
        }
        let hash = hash_token(token);
        let stored = self
            .store
            .token(hash)
            .await
            .map_err(ServiceError::from_store("token"))?
            .ok_or_else(unauthorized)?;
        let fresh = stored.expires_at.is_none_or(|at| at > self.clock.now());
        // The lookup is by hash; comparing again keeps the check independent of the index.
        if !constant_time_eq(&stored.hash, &hash) || stored.kind != kind || !fresh {
            return Err(unauthorized());
        }
        Ok(stored)
    }

    async fn issue(
        &self,
        user_id: UserId,
        kind: TokenKind,
        expires_at: Option<Millis>,
    ) -> Result<IssuedToken, ServiceError> {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret)
            .map_err(|e| ServiceError::Internal(format!("no randomness: {e}")))?;
        let token = URL_SAFE_NO_PAD.encode(secret);
        let stored = StoredToken {
            hash: hash_token(&token),
            user_id,
            kind,
            issued_at: self.clock.now(),
            expires_at,
        };
        self.store
            .insert_token(stored)
            .await
            .map_err(ServiceError::from_store("token"))?;
        Ok(IssuedToken { token, expires_at })
    }

    async fn user(&self, user_id: &UserId) -> Result<User, ServiceError> {
        self.store
            .user(user_id)
            .await
            .map_err(ServiceError::from_store("user"))?
            .ok_or(ServiceError::NotFound("user"))
    }

    async fn active_user(&self, user_id: &UserId) -> Result<User, ServiceError> {
        let user = self.user(user_id).await?;
        if !user.is_active {
            return Err(ServiceError::Unauthorized("the user is deactivated".into()));
        }
        Ok(user)
    }
}

pub(crate) fn unauthorized() -> ServiceError {
    ServiceError::Unauthorized("the token is invalid, expired or revoked".into())
}

fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Compares without an early exit, so timing doesn't reveal how much of a guess matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0));
    }
    diff == 0
}
