//! Process-wide facilities that the services and the background workers (webhook delivery,
//! signaling, media) share, kept apart from the services so that crate holds business
//! rules only:
//! - [`Clock`]: the one source of "now", injectable so tests move time;
//! - [`EventBus`]: in-process fan-out of committed domain events to live subscribers;
//! - [`Metrics`]: the Prometheus registry served at `/metrics`;
//! - [`Health`]: liveness checks of the long-running parts, served at `/healthz` and `/readyz`.
//!
//! Nothing here knows storage or any business rule.
#![forbid(unsafe_code)]

mod bus;
mod clock;
mod health;
pub mod metrics;

pub use bus::{EventBus, EventListener};
pub use clock::{Clock, OffsetClock, SystemClock};
pub use health::Health;
pub use metrics::Metrics;
