//! Durable webhook delivery.
//!
//! A background worker judges committed outbox events against the webhook settings (queueing
//! the subscribed ones), then delivers each queued event by `POST`ing a signed JSON body to
//! the configured URL, retrying with exponential backoff and jitter until the retry period
//! runs out. It knows the store and an HTTP client, nothing of the HTTP API.
//!
//! Invariants:
//! - one stream (room, live event) has at most one attempt in flight, and its next event is
//!   attempted only after the current one is delivered or failed: per-stream order holds;
//! - attempts run on their own tasks, at most `concurrency` at once, never on request
//!   handlers; a slow receiver holds only its own streams and delivery slots;
//! - unless allowed, no attempt connects to a loopback, private, link-local or metadata
//!   address, whatever the URL's host name resolves to;
//! - events older than the retention period are deleted with their delivery-log rows,
//!   except pending ones (failed ones after their own, longer period);
//! - an outcome is recorded after the attempt; a crash in between means the attempt is
//!   repeated after restart with the same delivery id (at-least-once).
#![forbid(unsafe_code)]

mod attempt;
mod prune;
mod target;
mod worker;

pub use attempt::{DELIVERY_ID_HEADER, SIGNATURE_HEADER, body, sign};
pub use worker::{WebhookWorker, WorkerConfig};
