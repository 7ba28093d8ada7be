//! Users and their credentials (access and session tokens).
//!
//! Invariants: tokens are stored only as SHA-256 hashes of the secret the client holds;
//! deactivating a user removes every token of the user in the same transaction, so no
//! credential of a deactivated user survives.

use crate::{Page, PageRequest, StoreError};
use async_trait::async_trait;
use opencalls_domain::{DomainError, Millis, User, UserId};

/// What a token authorises: exchanging for a session (`Access`) or a client connection
/// (`Session`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Session,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Session => "session",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "access" => Some(Self::Access),
            "session" => Some(Self::Session),
            _ => None,
        }
    }
}

/// A stored credential: the hash of the secret, never the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredToken {
    pub hash: [u8; 32],
    pub user_id: UserId,
    pub kind: TokenKind,
    pub issued_at: Millis,
    /// `None`: valid until revoked.
    pub expires_at: Option<Millis>,
}

/// A pure user update run inside the store's transaction.
pub type UserUpdate = Box<dyn FnOnce(&User) -> Result<User, DomainError> + Send>;

#[async_trait]
pub trait UserStore: Send + Sync {
    /// Stores a new user. `Conflict` if the id is taken.
    async fn insert_user(&self, user: User) -> Result<(), StoreError>;

    async fn user(&self, user_id: &UserId) -> Result<Option<User>, StoreError>;

    /// Users, newest first.
    async fn list_users(&self, page: PageRequest) -> Result<Page<User>, StoreError>;

    /// Loads the user, applies `update` and stores the result atomically. `NotFound` if absent.
    async fn update_user(&self, user_id: &UserId, update: UserUpdate) -> Result<User, StoreError>;

    /// Marks the user inactive and deletes all its tokens. `NotFound` if absent.
    async fn deactivate_user(&self, user_id: &UserId) -> Result<User, StoreError>;

    async fn insert_token(&self, token: StoredToken) -> Result<(), StoreError>;

    /// The token with this hash, whatever its kind or expiry.
    async fn token(&self, hash: [u8; 32]) -> Result<Option<StoredToken>, StoreError>;

    /// Deletes the user's tokens of the given kinds; returns how many went.
    async fn delete_tokens(&self, user_id: &UserId, kinds: &[TokenKind])
    -> Result<u64, StoreError>;

    /// Deletes tokens that expired before `now`; returns how many went.
    async fn delete_expired_tokens(&self, now: Millis) -> Result<u64, StoreError>;
}
