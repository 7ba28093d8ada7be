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

use opencalls_domain::Event;
use std::sync::{Arc, RwLock};
use tokio::sync::broadcast;

/// Events buffered per subscriber before a slow one starts losing events.
const BUS_CAPACITY: usize = 4096;

/// A consumer called for every published event, in order (see the module doc).
pub trait EventListener: Send + Sync {
    fn on_event(&self, event: &Arc<Event>);
}

#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<Event>>,
    listeners: Arc<RwLock<Vec<Arc<dyn EventListener>>>>,
}

impl EventBus {
    pub fn new() -> Self {
        Self {
            sender: broadcast::channel(BUS_CAPACITY).0,
            listeners: Arc::default(),
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

    pub fn publish(&self, events: impl IntoIterator<Item = Event>) {
        let listeners = self.listeners.read().unwrap_or_else(|e| e.into_inner());
        for event in events {
            let event = Arc::new(event);
            for listener in listeners.iter() {
                listener.on_event(&event);
            }
            // No subscriber is fine: nobody is listening live.
            let _ = self.sender.send(event);
        }
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}
