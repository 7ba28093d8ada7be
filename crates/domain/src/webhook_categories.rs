//! The webhook event categories: the single list every layer checks against.
//!
//! Invariant: every category a domain event can have (`Event::category`, and the live-event
//! events) is listed here, so a subscription can name it. Names follow the hosted service's
//! `<resource>:<verb>` pattern and never change once released.

/// Every category a webhook subscription may name, in documentation order.
///
/// `direct_call:dial`, `:accept` and `:end` are the hosted service's; `direct_call:connect`,
/// `:media_change` and `:custom_items_*` are OpenCalls' own (docs/webhooks.md).
pub const ALL: &[&str] = &[
    "room:create",
    "room:delete",
    "room:custom_items_update",
    "room:custom_items_delete",
    "room:participant_enter",
    "room:participant_connect",
    "room:participant_exit",
    "room:participant_media_change",
    "live_event:create",
    "live_event:ready",
    "live_event:start",
    "live_event:end",
    "live_event:host_enter",
    "live_event:host_connect",
    "live_event:host_disconnect",
    "live_event:host_exit",
    "live_event:participant_enter",
    "live_event:participant_exit",
    "direct_call:dial",
    "direct_call:accept",
    "direct_call:end",
    "direct_call:connect",
    "direct_call:media_change",
    "direct_call:custom_items_update",
    "direct_call:custom_items_delete",
];

/// The wildcard subscription: every category, including ones added later.
pub const WILDCARD: &str = "*";

/// Whether `name` is a known category.
pub fn is_known(name: &str) -> bool {
    ALL.contains(&name)
}

/// Whether a subscription (`enabled_events`) covers `category`.
pub fn subscribed(enabled_events: &[String], category: &str) -> bool {
    enabled_events
        .iter()
        .any(|e| e == WILDCARD || e == category)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CustomItems, Event, EventBody, Room, RoomId, RoomType};

    #[test]
    fn room_events_are_listed() {
        let room = Room::create(
            RoomId::generate(),
            RoomType::SmallRoomForVideo,
            CustomItems::default(),
            String::new(),
            1,
        )
        .room;
        let event = Event::new(1, EventBody::RoomCreated { room });
        assert!(is_known(event.category()));
        assert!(!is_known("room:explode"));
    }

    #[test]
    fn wildcard_and_exact_subscriptions() {
        let all = vec!["*".to_owned()];
        let one = vec!["room:create".to_owned()];
        assert!(subscribed(&all, "live_event:start"));
        assert!(subscribed(&one, "room:create"));
        assert!(!subscribed(&one, "room:delete"));
        assert!(!subscribed(&[], "room:create"));
    }
}
