//! In-process fan-out of committed domain events to live subscribers (signaling).
//!
//! Invariant: only events whose change has committed are published. Subscribers that fall
//! behind lose the oldest events (and learn so from `RecvError::Lagged`); the durable record
//! of every event is the store's outbox, not this bus.

use opencalls_domain::Event;
use std::sync::Arc;
use tokio::sync::broadcast;

/// Events buffered per subscriber before a slow one starts losing events.
const BUS_CAPACITY: usize = 4096;

#[derive(Clone)]
pub struct EventBus {
    sender: broadcast::Sender<Arc<Event>>,
}

impl EventBus {
    pub fn new() -> Self {
        Self {
            sender: broadcast::channel(BUS_CAPACITY).0,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender.subscribe()
    }

    pub fn publish(&self, events: impl IntoIterator<Item = Event>) {
        for event in events {
            // No subscriber is fine: nobody is listening live.
            let _ = self.sender.send(Arc::new(event));
        }
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}
