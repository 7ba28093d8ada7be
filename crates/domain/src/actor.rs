//! Who asked for a change: the Platform API (the application's server) or a user of the
//! client protocol.
//!
//! Resources record the actor in `created_by`, `deleted_by`, `set_ready_by`, `started_by`
//! and `ended_by` as the spec renders them: `""` for the Platform API, else the user id.
//! [`Actor::into_field`] is the only place that rendering happens.

use crate::UserId;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The application's server, through the Platform API.
    PlatformApi,
    /// A user, through the client protocol.
    User(UserId),
}

impl Actor {
    /// The value of a resource's `…_by` field: `""` for the Platform API, else the user id.
    pub fn into_field(self) -> String {
        match self {
            Self::PlatformApi => String::new(),
            Self::User(id) => id.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_platform_api_as_empty_and_a_user_as_its_id() {
        assert_eq!(Actor::PlatformApi.into_field(), "");
        let user = UserId::parse("alice").unwrap();
        assert_eq!(Actor::User(user).into_field(), "alice");
    }
}
