//! Application users: create, read, list, update, deactivate.
//!
//! Deleting a user deactivates it (participant records keep pointing at it) and revokes
//! every credential; [`SessionService`] then tells the signaling
//! layer to close the user's connections.

use crate::{ListPage, PageParams, ServiceError, SessionService};
use opencalls_domain::{DomainError, User, UserId};
use opencalls_store::{CursorKind, Store};
use std::collections::BTreeMap;
use std::sync::Arc;

pub(crate) const USER: &str = "user";
pub const MAX_NICKNAME_CHARS: usize = 80;
pub const MAX_PROFILE_URL_CHARS: usize = 2048;
pub const MAX_METADATA_ENTRIES: usize = 5;
pub const MAX_METADATA_KEY_CHARS: usize = 128;
pub const MAX_METADATA_VALUE_CHARS: usize = 190;

/// Profile fields as the client gave them; `None` leaves a field unchanged on update.
#[derive(Clone, Debug, Default)]
pub struct UserProfile {
    pub nickname: Option<String>,
    pub profile_url: Option<String>,
    pub metadata: Option<BTreeMap<String, String>>,
}

#[derive(Clone)]
pub struct UserService {
    store: Arc<dyn Store>,
    sessions: SessionService,
}

impl UserService {
    pub fn new(store: Arc<dyn Store>, sessions: SessionService) -> Self {
        Self { store, sessions }
    }

    pub(crate) fn store(&self) -> Arc<dyn Store> {
        self.store.clone()
    }

    /// Creates a user; parse its id with [`crate::ids::new_user_id`].
    pub async fn create(
        &self,
        user_id: UserId,
        profile: UserProfile,
    ) -> Result<User, ServiceError> {
        let user = apply_profile(User::bare(user_id), profile)?;
        self.store
            .insert_user(user.clone())
            .await
            .map_err(ServiceError::from_store(USER))?;
        Ok(user)
    }

    pub async fn get(&self, user_id: &UserId) -> Result<User, ServiceError> {
        self.store
            .user(user_id)
            .await
            .map_err(ServiceError::from_store(USER))?
            .ok_or(ServiceError::NotFound(USER))
    }

    pub async fn list(&self, page: PageParams) -> Result<ListPage<User>, ServiceError> {
        let page = page.validate(CursorKind::Users)?;
        let result = self
            .store
            .list_users(page)
            .await
            .map_err(ServiceError::from_store(USER))?;
        Ok(ListPage::from_page(result, CursorKind::Users))
    }

    pub async fn update(
        &self,
        user_id: &UserId,
        profile: UserProfile,
    ) -> Result<User, ServiceError> {
        // Validate before touching storage, so bad input changes nothing.
        apply_profile(User::bare(user_id.clone()), profile.clone())?;
        self.store
            .update_user(
                user_id,
                Box::new(move |user| apply_profile(user.clone(), profile)),
            )
            .await
            .map_err(ServiceError::from_store(USER))
    }

    /// Deactivates the user, revokes its tokens and ends its client sessions.
    pub async fn delete(&self, user_id: &UserId) -> Result<User, ServiceError> {
        let user = self
            .store
            .deactivate_user(user_id)
            .await
            .map_err(ServiceError::from_store(USER))?;
        self.sessions.announce_revoked(user_id.clone());
        Ok(user)
    }
}

fn apply_profile(mut user: User, profile: UserProfile) -> Result<User, DomainError> {
    if let Some(nickname) = profile.nickname {
        check_len("nickname", &nickname, MAX_NICKNAME_CHARS)?;
        user.nickname = nickname;
    }
    if let Some(url) = profile.profile_url {
        check_len("profile_url", &url, MAX_PROFILE_URL_CHARS)?;
        user.profile_url = url;
    }
    if let Some(metadata) = profile.metadata {
        if metadata.len() > MAX_METADATA_ENTRIES {
            return Err(DomainError::invalid(format!(
                "metadata can hold at most {MAX_METADATA_ENTRIES} entries"
            )));
        }
        for (key, value) in &metadata {
            if key.is_empty() {
                return Err(DomainError::invalid("metadata keys must not be empty"));
            }
            check_len("a metadata key", key, MAX_METADATA_KEY_CHARS)?;
            check_len("a metadata value", value, MAX_METADATA_VALUE_CHARS)?;
        }
        user.metadata = metadata;
    }
    Ok(user)
}

fn check_len(name: &str, value: &str, max: usize) -> Result<(), DomainError> {
    if value.chars().count() > max {
        return Err(DomainError::invalid(format!(
            "{name} must be at most {max} characters"
        )));
    }
    Ok(())
}
