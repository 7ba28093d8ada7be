//! Webhook settings and the durable delivery queue.
//!
//! Invariants every implementation keeps:
//! - every outbox event is judged exactly once against the settings in force when it was
//!   committed: [`WebhookStore::update_webhook_settings`] first moves every event committed
//!   so far into the queue under the old settings, in the same transaction;
//! - a delivery is `pending` until an attempt succeeds (`delivered`) or its retry period runs
//!   out (`failed`); only then does the next delivery of its stream become due, so one
//!   stream's deliveries are attempted strictly in commit order;
//! - attempt outcomes are recorded durably; a delivery whose outcome was not recorded
//!   (crash mid-attempt) is attempted again, with the same `delivery_id`.

use crate::{Page, PageRequest, StoreError};
use async_trait::async_trait;
use opencalls_domain::{Millis, StreamKey};
use std::fmt;

/// The application's webhook settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WebhookSettings {
    pub enabled: bool,
    pub url: String,
    /// Subscribed categories, or `["*"]` for all.
    pub enabled_events: Vec<String>,
}

/// A partial update of the settings; `None` keeps the current value. Already validated.
#[derive(Clone, Debug, Default)]
pub struct WebhookSettingsUpdate {
    pub enabled: Option<bool>,
    pub url: Option<String>,
    pub enabled_events: Option<Vec<String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(Self::Pending),
            "delivered" => Some(Self::Delivered),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// Names one delivery to receivers, which de-duplicate on it: the same on every retry, and
/// never repeated across databases. Shown (and sent) as `<installation>-<seq>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DeliveryId {
    /// The storage installation's random id.
    pub installation: String,
    /// The event's outbox seq.
    pub seq: i64,
}

impl fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.installation, self.seq)
    }
}

/// One event queued for the webhook receiver, with its delivery history.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    /// The event's outbox seq; deliveries of one stream are attempted in this order.
    pub seq: i64,
    pub delivery_id: DeliveryId,
    pub stream: StreamKey,
    pub category: String,
    pub occurred_at: Millis,
    /// The resource part of the payload as stored in the outbox (a JSON object).
    pub payload: String,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub created_at: Millis,
    pub next_attempt_at: Option<Millis>,
    pub last_attempt_at: Option<Millis>,
    pub last_status_code: Option<u16>,
    pub last_error: Option<String>,
    pub finished_at: Option<Millis>,
}

/// What to do with a delivery after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextStep {
    Delivered,
    RetryAt(Millis),
    Failed,
}

/// The result of one attempt, to be recorded.
#[derive(Clone, Debug)]
pub struct AttemptOutcome {
    pub delivery_seq: i64,
    pub attempted_at: Millis,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub next: NextStep,
}

/// What one call of [`WebhookStore::prune_webhook_events`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pruned {
    /// Events deleted (each with its delivery-log row, if it had one).
    pub deleted: usize,
    /// The seq to continue after, if the walk is not finished.
    pub next: Option<i64>,
}

#[async_trait]
pub trait WebhookStore: Send + Sync {
    /// The current settings (disabled, no URL, no events if never set).
    async fn webhook_settings(&self) -> Result<WebhookSettings, StoreError>;

    /// Applies `update` after queueing every event committed so far under the old settings.
    async fn update_webhook_settings(
        &self,
        update: WebhookSettingsUpdate,
        now: Millis,
    ) -> Result<WebhookSettings, StoreError>;

    /// Moves up to `limit` outbox events not seen yet into the queue (those the settings
    /// subscribe to; the others are skipped for good). Returns how many events it looked at.
    async fn enqueue_webhook_deliveries(
        &self,
        limit: usize,
        now: Millis,
    ) -> Result<usize, StoreError>;

    /// Pending deliveries that head their stream and are due at `now`, oldest first. Costs
    /// in the number of streams with pending deliveries, not in the number of pending
    /// deliveries: a receiver down for hours (a long backlog per stream) keeps rounds cheap.
    async fn due_webhook_deliveries(
        &self,
        now: Millis,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// The earliest time after `now` at which a stream head becomes due, if any.
    async fn next_webhook_due(&self, now: Millis) -> Result<Option<Millis>, StoreError>;

    /// Records attempt outcomes (one transaction for the batch).
    async fn record_webhook_attempts(
        &self,
        outcomes: Vec<AttemptOutcome>,
    ) -> Result<(), StoreError>;

    /// Prunes old events, walking the judged outbox in seq order from after `after_seq`,
    /// at most `limit` events per call. An event is deleted (with its delivery-log row) if
    /// it occurred before `delivered_before` and either was not queued, was delivered, or
    /// failed before `failed_before`; pending deliveries and their events are always kept.
    /// Returns what was deleted and where to go on; `next` is `None` once the walk met an
    /// event that occurred at or after `delivered_before`, or the end of the judged events.
    async fn prune_webhook_events(
        &self,
        after_seq: i64,
        delivered_before: Millis,
        failed_before: Millis,
        limit: usize,
    ) -> Result<Pruned, StoreError>;

    /// Deliveries, newest first, optionally of one status.
    async fn list_webhook_deliveries(
        &self,
        status: Option<DeliveryStatus>,
        page: PageRequest,
    ) -> Result<Page<Delivery>, StoreError>;
}
