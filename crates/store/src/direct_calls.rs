//! Storage of direct calls and of users' VoIP push tokens.
//!
//! Like rooms, every change runs the pure domain transition inside the store's write
//! transaction and commits it with its outbox events. Listings are keyset-paginated on the
//! insertion sequence (newest first) and served from indexes: by start time, by caller,
//! by callee, by end result, by duration, and the calls not yet ended.

use crate::{Page, PageRequest, StoreError};
use async_trait::async_trait;
use opencalls_domain::direct_call::{CallChange, CallRecord};
use opencalls_domain::{
    DirectCall, DirectCallId, DirectCallRole, DirectCallState, DomainError, EndResult, Millis,
    UserId,
};

/// A pure direct-call transition run inside the store's transaction.
pub type CallTransition = Box<dyn FnOnce(&CallRecord) -> Result<CallChange, DomainError> + Send>;

/// Most tokens of one type a user keeps; registering another drops the oldest.
pub const MAX_PUSH_TOKENS_PER_TYPE: usize = 20;

/// Filters of `GET /v1/direct_calls` and `GET /v1/users/{user_id}/calls`; every field
/// narrows the result, empty sets mean "any".
#[derive(Clone, Debug, Default)]
pub struct DirectCallQuery {
    /// Calls `user_id` takes part in (as `role` when given, else either side).
    pub user_id: Option<UserId>,
    pub role: Option<DirectCallRole>,
    pub states: Vec<DirectCallState>,
    pub end_results: Vec<EndResult>,
    /// Inclusive lower bound of `started_at`.
    pub started_at_start: Option<Millis>,
    /// Exclusive upper bound of `started_at`.
    pub started_at_end: Option<Millis>,
    /// Inclusive upper bound of `ended_at` (calls not ended never match).
    pub ended_at_end: Option<Millis>,
    /// Inclusive bounds of `duration` (ms).
    pub duration_gte: Option<Millis>,
    pub duration_lte: Option<Millis>,
    pub page: PageRequest,
}

/// How many calls a user took part in, by side.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CallCounts {
    pub as_caller: i64,
    pub as_callee: i64,
}

/// The kind of a VoIP push token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PushTokenType {
    ApnsVoip,
    FcmVoip,
}

impl PushTokenType {
    pub const ALL: [PushTokenType; 2] = [PushTokenType::ApnsVoip, PushTokenType::FcmVoip];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApnsVoip => "apns_voip",
            Self::FcmVoip => "fcm_voip",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == raw)
    }
}

#[async_trait]
pub trait DirectCallStore: Send + Sync {
    /// Stores a newly dialed call with its events. `Conflict` if the id exists.
    async fn insert_call(&self, change: CallChange) -> Result<(), StoreError>;

    /// Loads the call, applies `transition` and stores the result atomically. `NotFound`
    /// if there is no such call; `Rejected` if the transition refused.
    async fn update_call(
        &self,
        id: &DirectCallId,
        transition: CallTransition,
    ) -> Result<CallChange, StoreError>;

    /// The call with its devices.
    async fn call(&self, id: &DirectCallId) -> Result<Option<CallRecord>, StoreError>;

    /// Calls matching `query`, newest first (`user_role` set when the query names a user).
    async fn list_calls(&self, query: DirectCallQuery) -> Result<Page<DirectCall>, StoreError>;

    /// Calls not ended that `user_id` takes part in, oldest first, at most `limit`.
    async fn open_calls_of(
        &self,
        user_id: &UserId,
        limit: usize,
    ) -> Result<Vec<CallRecord>, StoreError>;

    /// Every call not ended (after a restart these are left over from the previous run).
    async fn open_calls(&self) -> Result<Vec<DirectCallId>, StoreError>;

    /// How many calls `user_id` took part in, by side.
    async fn call_counts(&self, user_id: &UserId) -> Result<CallCounts, StoreError>;

    /// Registers a token (again: refreshes it). `unique` first drops the user's other
    /// tokens of that type. Keeps at most [`MAX_PUSH_TOKENS_PER_TYPE`] per type, newest.
    async fn add_push_token(
        &self,
        user_id: &UserId,
        kind: PushTokenType,
        token: &str,
        unique: bool,
        now: Millis,
    ) -> Result<(), StoreError>;

    /// The user's tokens of a type, newest first.
    async fn push_tokens(
        &self,
        user_id: &UserId,
        kind: PushTokenType,
    ) -> Result<Vec<String>, StoreError>;

    /// Removes one token (`Some`) or all of a type (`None`); returns how many went.
    async fn remove_push_tokens(
        &self,
        user_id: &UserId,
        kind: PushTokenType,
        token: Option<&str>,
    ) -> Result<usize, StoreError>;
}
