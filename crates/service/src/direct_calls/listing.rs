//! The Platform API's side of direct calls: listings (`GET /v1/direct_calls`,
//! `GET /v1/users/{user_id}/calls`), a user's summary, custom items, VoIP push tokens.
//!
//! Query values arrive as the adapter parsed them (numbers, strings); this module checks
//! them into a [`DirectCallQuery`], so a bad filter gets the same 400100 whoever asks.

use super::DirectCallService;
use crate::rooms::KeysToDelete;
use crate::{ListPage, PageParams, ServiceError};
use opencalls_domain::direct_call::CUSTOM_ITEMS_RULE;
use opencalls_domain::{
    CustomItems, CustomItemsMode, DirectCall, DirectCallId, DirectCallRole, DirectCallState,
    DomainError, EndResult, Millis, UserId,
};
use opencalls_store::direct_calls::DirectCallStore;
use opencalls_store::{CursorKind, DirectCallQuery, PageRequest, PushTokenType};
use std::collections::BTreeMap;

/// Longest push token accepted (APNs tokens are 64 hex digits, FCM ones about 160 chars).
pub const MAX_PUSH_TOKEN_CHARS: usize = 1024;
/// Timestamps below this are read as seconds (the user-calls filters; see the spec sheet).
const SECONDS_BELOW: Millis = 100_000_000_000;

/// Filters of `GET /v1/direct_calls`, as received.
#[derive(Clone, Debug, Default)]
pub struct CallList {
    pub page: PageParams,
    pub user_id: Option<UserId>,
    /// `dc_caller` or `dc_callee` (needs `user_id`).
    pub role: Option<String>,
    /// Comma list of `ringing`, `accepted`, `connected`, `ended`, or `current` (= not ended).
    pub state: Option<String>,
    /// Comma list of end results.
    pub end_result: Option<String>,
    /// Started at or after (ms).
    pub start_ts: Option<Millis>,
    /// Started before (ms).
    pub end_ts: Option<Millis>,
    pub duration_range_min: Option<Millis>,
    pub duration_range_max: Option<Millis>,
}

/// Filters of `GET /v1/users/{user_id}/calls`, as received.
#[derive(Clone, Debug, Default)]
pub struct UserCallList {
    pub page: PageParams,
    /// Only `direct` exists.
    pub call_type: Option<String>,
    pub role: Option<String>,
    pub end_result: Option<String>,
    /// Started after (s or ms, told apart by magnitude).
    pub start_ts: Option<Millis>,
    /// Ended before (s or ms).
    pub end_ts: Option<Millis>,
}

/// `GET /v1/users/{user_id}/call_summary`.
#[derive(Clone, Debug, PartialEq)]
pub struct CallSummary {
    pub last_call: Option<DirectCall>,
    pub as_caller: i64,
    pub as_callee: i64,
}

/// A user's tokens of one type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushTokens {
    pub user_id: UserId,
    pub kind: PushTokenType,
    pub tokens: Vec<String>,
}

fn parse_role(raw: Option<&str>) -> Result<Option<DirectCallRole>, DomainError> {
    raw.filter(|r| !r.is_empty())
        .map(|r| {
            DirectCallRole::parse(r)
                .ok_or_else(|| DomainError::invalid("role must be dc_caller or dc_callee"))
        })
        .transpose()
}

fn comma_list<T>(
    raw: Option<&str>,
    name: &str,
    parse: impl Fn(&str) -> Option<Vec<T>>,
) -> Result<Vec<T>, DomainError> {
    let mut all = Vec::new();
    for part in raw.unwrap_or("").split(',').filter(|p| !p.is_empty()) {
        let values = parse(part.trim())
            .ok_or_else(|| DomainError::invalid(format!("unknown {name} '{part}'")))?;
        all.extend(values);
    }
    Ok(all)
}

fn end_results(raw: Option<&str>) -> Result<Vec<EndResult>, DomainError> {
    comma_list(raw, "end_result", |p| EndResult::parse(p).map(|r| vec![r]))
}

fn states(raw: Option<&str>) -> Result<Vec<DirectCallState>, DomainError> {
    comma_list(raw, "state", |p| match p {
        "current" => Some(vec![
            DirectCallState::Ringing,
            DirectCallState::Accepted,
            DirectCallState::Connected,
        ]),
        other => DirectCallState::parse(other).map(|s| vec![s]),
    })
}

fn non_negative(value: Option<Millis>, name: &str) -> Result<Option<Millis>, DomainError> {
    match value {
        Some(v) if v < 0 => Err(DomainError::invalid(format!("{name} must not be negative"))),
        other => Ok(other),
    }
}

fn as_millis(ts: Option<Millis>) -> Option<Millis> {
    ts.map(|t| if t < SECONDS_BELOW { t * 1000 } else { t })
}

impl CallList {
    fn query(self) -> Result<DirectCallQuery, DomainError> {
        let role = parse_role(self.role.as_deref())?;
        if role.is_some() && self.user_id.is_none() {
            return Err(DomainError::invalid("role needs user_id"));
        }
        let (min, max) = (
            non_negative(self.duration_range_min, "duration_range_min")?,
            non_negative(self.duration_range_max, "duration_range_max")?,
        );
        if let (Some(min), Some(max)) = (min, max)
            && min > max
        {
            return Err(DomainError::invalid(
                "duration_range_min must not exceed duration_range_max",
            ));
        }
        Ok(DirectCallQuery {
            user_id: self.user_id,
            role,
            states: states(self.state.as_deref())?,
            end_results: end_results(self.end_result.as_deref())?,
            started_at_start: non_negative(self.start_ts, "start_ts")?,
            started_at_end: non_negative(self.end_ts, "end_ts")?,
            ended_at_end: None,
            duration_gte: min,
            duration_lte: max,
            page: self.page.validate(CursorKind::DirectCalls)?,
        })
    }
}

impl UserCallList {
    fn query(self, user_id: UserId) -> Result<DirectCallQuery, DomainError> {
        if self
            .call_type
            .as_deref()
            .is_some_and(|t| !t.is_empty() && t != "direct")
        {
            return Err(DomainError::invalid("type must be direct"));
        }
        Ok(DirectCallQuery {
            user_id: Some(user_id),
            role: parse_role(self.role.as_deref())?,
            end_results: end_results(self.end_result.as_deref())?,
            started_at_start: as_millis(non_negative(self.start_ts, "start_ts")?),
            ended_at_end: as_millis(non_negative(self.end_ts, "end_ts")?),
            page: self.page.validate(CursorKind::DirectCalls)?,
            ..DirectCallQuery::default()
        })
    }
}

fn check_token(token: &str) -> Result<(), DomainError> {
    let chars = token.chars().count();
    if chars == 0 || chars > MAX_PUSH_TOKEN_CHARS || token.chars().any(char::is_whitespace) {
        return Err(DomainError::invalid(format!(
            "token must be 1 to {MAX_PUSH_TOKEN_CHARS} characters without spaces"
        )));
    }
    Ok(())
}

/// A `token_type` path segment: `apns_voip` or `fcm_voip`.
pub fn parse_token_type(raw: &str) -> Result<PushTokenType, ServiceError> {
    PushTokenType::parse(raw)
        .ok_or_else(|| DomainError::invalid("token_type must be apns_voip or fcm_voip").into())
}

impl DirectCallService {
    pub async fn list(&self, list: CallList) -> Result<ListPage<DirectCall>, ServiceError> {
        let query = list.query()?;
        self.page(query).await
    }

    /// A user's call history (each call with its `user_role`); 400200 for an unknown user.
    pub async fn user_calls(
        &self,
        user_id: &UserId,
        list: UserCallList,
    ) -> Result<ListPage<DirectCall>, ServiceError> {
        let query = list.query(user_id.clone())?;
        self.known_user(user_id).await?;
        self.page(query).await
    }

    async fn page(&self, query: DirectCallQuery) -> Result<ListPage<DirectCall>, ServiceError> {
        let page = self
            .store
            .list_calls(query)
            .await
            .map_err(ServiceError::from_store("direct call"))?;
        Ok(ListPage::from_page(page, CursorKind::DirectCalls))
    }

    pub async fn summary(&self, user_id: &UserId) -> Result<CallSummary, ServiceError> {
        self.known_user(user_id).await?;
        let last = DirectCallQuery {
            user_id: Some(user_id.clone()),
            page: PageRequest {
                limit: 1,
                cursor: None,
            },
            ..DirectCallQuery::default()
        };
        let last_call = self.page(last).await?.items.into_iter().next();
        let counts = self
            .store
            .call_counts(user_id)
            .await
            .map_err(ServiceError::from_store("direct call"))?;
        Ok(CallSummary {
            last_call,
            as_caller: counts.as_caller,
            as_callee: counts.as_callee,
        })
    }

    async fn known_user(&self, user_id: &UserId) -> Result<(), ServiceError> {
        self.store
            .user(user_id)
            .await
            .map_err(ServiceError::from_store("user"))?
            .ok_or(ServiceError::NotFound("user"))
            .map(drop)
    }

    /// Merges custom items in (checked before the call is looked up); returns the call and
    /// the keys added or changed.
    pub async fn update_custom_items(
        &self,
        id: &DirectCallId,
        items: BTreeMap<String, String>,
        mode: CustomItemsMode,
    ) -> Result<(DirectCall, Vec<String>), ServiceError> {
        let items = CustomItems::new(items, CUSTOM_ITEMS_RULE)?;
        let change = self
            .transition(id, move |r, now| r.update_custom_items(&items, mode, now))
            .await?;
        let updated = match change.events.first().map(|e| &e.body) {
            Some(opencalls_domain::EventBody::DirectCall {
                body: opencalls_domain::direct_call::DirectCallBody::CustomItemsUpdated { updated },
                ..
            }) => updated.clone(),
            _ => Vec::new(),
        };
        Ok((change.record.call, updated))
    }

    /// Removes the given keys (all when `None`); returns the call and the removed keys.
    pub async fn delete_custom_items(
        &self,
        id: &DirectCallId,
        keys: KeysToDelete,
    ) -> Result<(DirectCall, Vec<String>), ServiceError> {
        let change = self
            .transition(id, move |r, now| r.delete_custom_items(keys.keys(), now))
            .await?;
        let deleted = match change.events.first().map(|e| &e.body) {
            Some(opencalls_domain::EventBody::DirectCall {
                body: opencalls_domain::direct_call::DirectCallBody::CustomItemsDeleted { deleted },
                ..
            }) => deleted.clone(),
            _ => Vec::new(),
        };
        Ok((change.record.call, deleted))
    }

    /// Registers a VoIP push token for a known user; `unique` drops its other tokens of the
    /// type first.
    pub async fn register_push_token(
        &self,
        user_id: &UserId,
        kind: PushTokenType,
        token: &str,
        unique: bool,
    ) -> Result<(), ServiceError> {
        check_token(token)?;
        self.known_user(user_id).await?;
        let now = self.now();
        DirectCallStore::add_push_token(&*self.store, user_id, kind, token, unique, now)
            .await
            .map_err(ServiceError::from_store("push token"))
    }

    pub async fn push_tokens(
        &self,
        user_id: &UserId,
        kind: PushTokenType,
    ) -> Result<PushTokens, ServiceError> {
        self.known_user(user_id).await?;
        let tokens = self
            .store
            .push_tokens(user_id, kind)
            .await
            .map_err(ServiceError::from_store("push token"))?;
        Ok(PushTokens {
            user_id: user_id.clone(),
            kind,
            tokens,
        })
    }

    /// Removes one token or every token of the type; 400200 for an unknown user, or a
    /// named token the user does not have.
    pub async fn remove_push_tokens(
        &self,
        user_id: &UserId,
        kind: PushTokenType,
        token: Option<&str>,
    ) -> Result<usize, ServiceError> {
        self.known_user(user_id).await?;
        let removed = self
            .store
            .remove_push_tokens(user_id, kind, token)
            .await
            .map_err(ServiceError::from_store("push token"))?;
        if token.is_some() && removed == 0 {
            return Err(ServiceError::NotFound("push token"));
        }
        Ok(removed)
    }
}
