//! In-process fan-out of committed domain events to live subscribers (signaling).
//!
//! Invariant: only events whose change has committed are published. Two kinds of consumer:
//! - *listeners* ([`EventBus::listen`]) are called synchronously by `publish`, in order, for
//!   every event, so they can never fall behind or lose one; they must be quick and never
//!   block (the signaling hub queues frames per connection, so only a connection that falls
//!   behind is cut, never a bystander);
//! - *subscribers* get a bounded broadcast queue: one that falls behind loses the oldest
//!   events (and learns so from `RecvError::Lagged`); fine for wake-ups, since the durable
//!   record of every event is the store's outbox, not this bus.
//!
//! In a cluster, events committed through other nodes are *relayed* onto this bus
//! ([`EventBus::publish_relayed`]): listeners and subscribers hear them like local ones,
//! except [`EventBus::subscribe_local`] subscribers, which act once per event cluster-wide
//! and so only on the events of their own node (VoIP pushes of a dialed call).
//! [`EventBus::catch_up`] relays, before it returns, every event other nodes committed
//! until it was called: a device joining a room fences with it, so it never hears, after
//! its snapshot, an event that finished before it asked to enter.

use opencalls_domain::Event;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use tokio::sync::broadcast;

/// Events buffered per subscriber before a slow one starts losing events.
const BUS_CAPACITY: usize = 4096;

/// Relays what other nodes committed so far (see [`EventBus::catch_up`]).
pub type CatchUp = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// A consumer called for every published event, in order (see the module doc).
pub trait EventListener: Send + Sync {
    fn on_event(&self, event: &Arc<Event>);
}

#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<Event>>,
    /// Only the events committed through this node.
    local: broadcast::Sender<Arc<Event>>,
    listeners: Arc<RwLock<Vec<Arc<dyn EventListener>>>>,
    /// Set by a cluster's event tail; none on a single server.
    catch_up: Arc<RwLock<Option<CatchUp>>>,
}

impl EventBus {
    pub fn new() -> Self {
        Self {
            sender: broadcast::channel(BUS_CAPACITY).0,
            local: broadcast::channel(BUS_CAPACITY).0,
            listeners: Arc::default(),
            catch_up: Arc::default(),
        }
    }

    /// Calls `listener` for every event published from now on.
    pub fn listen(&self, listener: Arc<dyn EventListener>) {
        self.listeners
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(listener);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender.subscribe()
    }

    /// Installs how [`EventBus::catch_up`] relays other nodes' events (the cluster's tail).
    pub fn set_catch_up(&self, catch_up: CatchUp) {
        *self.catch_up.write().unwrap_or_else(|e| e.into_inner()) = Some(catch_up);
    }

    /// Returns once every event other nodes committed before the call has been published
    /// here (at once on a single server).
    pub async fn catch_up(&self) {
        let catch_up = self
            .catch_up
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(catch_up) = catch_up {
            catch_up().await;
        }
    }

    /// Like [`EventBus::subscribe`], for the events committed through this node only.
    pub fn subscribe_local(&self) -> broadcast::Receiver<Arc<Event>> {
        self.local.subscribe()
    }

    /// Publishes events committed through this node.
    pub fn publish(&self, events: impl IntoIterator<Item = Event>) {
        self.send(events, true);
    }

    /// Publishes events another node of the cluster committed (and published there).
    pub fn publish_relayed(&self, events: impl IntoIterator<Item = Event>) {
        self.send(events, false);
    }

    fn send(&self, events: impl IntoIterator<Item = Event>, local: bool) {
        let listeners = self.listeners.read().unwrap_or_else(|e| e.into_inner());
        for event in events {
            let event = Arc::new(event);
            for listener in listeners.iter() {
                listener.on_event(&event);
            }
            // No subscriber is fine: nobody is listening live.
            if local {
                let _ = self.local.send(event.clone());
            }
            let _ = self.sender.send(event);
        }
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opencalls_domain::{CustomItems, Room, RoomId, RoomType};

    fn event() -> Event {
        let change = Room::create(
            RoomId::generate(),
            RoomType::SmallRoomForVideo,
            CustomItems::default(),
            String::new(),
            1,
        );
        change.events[0].clone()
    }

    #[test]
    fn relayed_events_reach_everyone_but_local_only_subscribers() {
        let bus = EventBus::new();
        let (mut all, mut local) = (bus.subscribe(), bus.subscribe_local());
        let (mine, theirs) = (event(), event());
        bus.publish_relayed([theirs.clone()]);
        bus.publish([mine.clone()]);
        assert_eq!(*all.try_recv().unwrap(), theirs);
        assert_eq!(*all.try_recv().unwrap(), mine);
        assert_eq!(*local.try_recv().unwrap(), mine);
        assert!(local.try_recv().is_err());
    }
}
