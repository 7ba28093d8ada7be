//! The application user as it appears inside participants and hosts.

use crate::UserId;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct User {
    #[schema(value_type = String)]
    pub user_id: UserId,
    pub nickname: String,
    pub profile_url: String,
    #[schema(value_type = Object)]
    pub metadata: BTreeMap<String, String>,
    pub is_active: bool,
    pub role: Option<String>,
}

impl User {
    /// A user known only by id: what a participant shows before the user has a profile.
    pub fn bare(user_id: UserId) -> Self {
        Self {
            user_id,
            nickname: String::new(),
            profile_url: String::new(),
            metadata: BTreeMap::new(),
            is_active: true,
            role: None,
        }
    }
}
