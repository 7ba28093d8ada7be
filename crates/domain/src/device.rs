//! A device: one user's client (app instance, browser tab), the unit that holds seats in
//! rooms and live events and owns at most one connection at a time.

use crate::{ClientId, UserId};
use serde::{Deserialize, Serialize};

/// Names a device: its user and its `client_id`. The same `client_id` under another user
/// is another device.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DeviceKey {
    pub user_id: UserId,
    pub client_id: ClientId,
}

impl DeviceKey {
    pub fn new(user_id: UserId, client_id: ClientId) -> Self {
        Self { user_id, client_id }
    }
}
