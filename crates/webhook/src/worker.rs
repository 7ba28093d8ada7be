//! The delivery loop: judge new outbox events, claim due stream heads, attempt them on
//! bounded tasks, record outcomes in batches, sleep until the next reason to wake.
//!
//! It wakes on committed events (the in-process `EventBus`), on finished attempts, when the
//! earliest retry falls due, and every `poll_interval` as a fallback (events committed by
//! another process, a missed wake-up). Store errors are logged and retried on the next
//! round; they never stop the loop.

use crate::attempt::{self, Backoff, Target};
use opencalls_service::{Clock, EventBus, Metrics};
use opencalls_store::Store;
use opencalls_store::webhooks::{AttemptOutcome, NextStep};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

/// Outbox events judged per transaction.
const ENQUEUE_BATCH: usize = 1000;

/// How the worker delivers; see docs/configuration.md (`## Webhooks`).
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Reported as `application_id` in every payload.
    pub app_id: String,
    /// The master API token: the HMAC key of `x-sendbird-signature`.
    pub signing_key: String,
    /// Limit of one attempt (connect, send, response headers).
    pub timeout: Duration,
    /// How long after being queued a delivery keeps being retried before it is `failed`.
    pub retry_period: Duration,
    /// Delay after the first failure; doubles each time up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Most attempts in flight at once (each on its own stream).
    pub concurrency: usize,
    /// Fallback wake-up interval.
    pub poll_interval: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            app_id: "opencalls".into(),
            signing_key: String::new(),
            timeout: Duration::from_secs(10),
            retry_period: Duration::from_secs(24 * 3600),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(600),
            concurrency: 32,
            poll_interval: Duration::from_secs(1),
        }
    }
}

/// A running worker; [`WebhookWorker::stop`] ends it after in-flight attempts finish.
pub struct WebhookWorker {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Drop for WebhookWorker {
    /// Dropped without [`WebhookWorker::stop`] (e.g. the server future was cancelled): end
    /// the loop at once, like a crash; unrecorded attempts are repeated after restart.
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl WebhookWorker {
    /// Starts the worker on the current tokio runtime.
    pub fn start(
        store: Arc<dyn Store>,
        bus: &EventBus,
        metrics: Metrics,
        clock: Arc<dyn Clock>,
        config: WorkerConfig,
    ) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(config.concurrency.max(1))
            .build()?;
        let (stop, stopped) = watch::channel(false);
        let (done_tx, done_rx) = mpsc::channel(config.concurrency.max(1) * 2);
        let worker = Worker {
            store,
            metrics,
            clock,
            backoff: Backoff {
                base: config.backoff_base,
                max: config.backoff_max,
                period: config.retry_period,
            },
            client,
            in_flight: HashSet::new(),
            finished: Vec::new(),
            done_tx,
            config,
        };
        let task = tokio::spawn(worker.run(bus.subscribe(), done_rx, stopped));
        Ok(Self {
            stop,
            task: Some(task),
        })
    }

    /// Stops claiming work, waits for attempts in flight (bounded by the attempt timeout)
    /// and records their outcomes.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        let Some(task) = self.task.take() else { return };
        if let Err(err) = task.await {
            tracing::error!(%err, "webhook worker ended abnormally");
        }
    }
}

struct Worker {
    store: Arc<dyn Store>,
    metrics: Metrics,
    clock: Arc<dyn Clock>,
    backoff: Backoff,
    client: reqwest::Client,
    config: WorkerConfig,
    /// Streams with an attempt in flight (their outcome not recorded yet).
    in_flight: HashSet<String>,
    /// Outcomes waiting to be recorded, with their stream.
    finished: Vec<(String, AttemptOutcome)>,
    done_tx: mpsc::Sender<(String, AttemptOutcome)>,
}

enum Wake {
    Work,
    Stop,
}

impl Worker {
    async fn run(
        mut self,
        mut events: broadcast::Receiver<Arc<opencalls_domain::Event>>,
        mut done: mpsc::Receiver<(String, AttemptOutcome)>,
        mut stopped: watch::Receiver<bool>,
    ) {
        tracing::info!("webhook worker started");
        loop {
            self.record().await;
            self.enqueue().await;
            self.dispatch().await;
            let sleep = self.sleep_time().await;
            let wake = tokio::select! {
                _ = stopped.changed() => Wake::Stop,
                Some(item) = done.recv() => { self.finished.push(item); Wake::Work }
                result = events.recv() => {
                    if let Err(broadcast::error::RecvError::Closed) = result {
                        // No more live wake-ups; polling still finds new events.
                        events = broadcast::channel(1).1;
                    }
                    Wake::Work
                }
                () = tokio::time::sleep(sleep) => Wake::Work,
            };
            // Coalesce a burst of wake-ups into one round.
            while let Ok(item) = done.try_recv() {
                self.finished.push(item);
            }
            while events.try_recv().is_ok() {}
            if matches!(wake, Wake::Stop) || *stopped.borrow() {
                break;
            }
        }
        self.drain(done).await;
        tracing::info!("webhook worker stopped");
    }

    /// Waits for attempts in flight and records them, so a clean stop repeats nothing.
    async fn drain(&mut self, mut done: mpsc::Receiver<(String, AttemptOutcome)>) {
        while self.in_flight.len() > self.finished.len() {
            match done.recv().await {
                Some(item) => self.finished.push(item),
                None => break,
            }
        }
        self.record().await;
    }

    async fn record(&mut self) {
        if self.finished.is_empty() {
            return;
        }
        let outcomes: Vec<AttemptOutcome> = self.finished.iter().map(|(_, o)| o.clone()).collect();
        if let Err(err) = self.store.record_webhook_attempts(outcomes).await {
            // Kept in `finished` (streams stay blocked) and retried next round.
            tracing::error!(%err, "recording webhook attempts failed");
            return;
        }
        for (stream, outcome) in self.finished.drain(..) {
            self.in_flight.remove(&stream);
            let result = match outcome.next {
                NextStep::Delivered => "delivered",
                NextStep::RetryAt(_) => "retried",
                NextStep::Failed => "failed",
            };
            self.metrics.count(
                "opencalls_webhook_deliveries_total",
                "Webhook delivery attempts by result: delivered, retried (will be retried), failed (gave up).",
                vec![("result", result.to_owned())],
                1,
            );
        }
    }

    async fn enqueue(&self) {
        loop {
            match self
                .store
                .enqueue_webhook_deliveries(ENQUEUE_BATCH, self.clock.now())
                .await
            {
                Ok(n) if n == ENQUEUE_BATCH => continue,
                Ok(_) => return,
                Err(err) => {
                    tracing::error!(%err, "queueing webhook events failed");
                    return;
                }
            }
        }
    }

    async fn dispatch(&mut self) {
        let free = self.config.concurrency.saturating_sub(self.in_flight.len());
        if free == 0 {
            return;
        }
        let settings = match self.store.webhook_settings().await {
            Ok(s) if s.enabled && !s.url.is_empty() => s,
            Ok(_) => return, // disabled: queued deliveries wait until re-enabled
            Err(err) => return tracing::error!(%err, "reading webhook settings failed"),
        };
        let now = self.clock.now();
        let due = match self
            .store
            .due_webhook_deliveries(now, free + self.in_flight.len())
            .await
        {
            Ok(due) => due,
            Err(err) => return tracing::error!(%err, "reading due webhook deliveries failed"),
        };
        let target = Target {
            client: self.client.clone(),
            url: settings.url,
            app_id: self.config.app_id.clone(),
            key: self.config.signing_key.clone(),
            user_agent: format!("OpenCalls-Webhook/{}", env!("CARGO_PKG_VERSION")),
        };
        let due: Vec<_> = due
            .into_iter()
            .filter(|d| !self.in_flight.contains(&d.stream))
            .take(free)
            .collect();
        for delivery in due {
            self.in_flight.insert(delivery.stream.clone());
            let (target, tx) = (target.clone(), self.done_tx.clone());
            let (backoff, clock, metrics) =
                (self.backoff, self.clock.clone(), self.metrics.clone());
            tokio::spawn(async move {
                let started = std::time::Instant::now();
                let (code, error) = attempt::send(&target, &delivery).await;
                metrics.observe(
                    "opencalls_webhook_attempt_duration_seconds",
                    "Duration of webhook delivery attempts.",
                    vec![],
                    started.elapsed().as_secs_f64(),
                );
                let outcome = attempt::outcome(&delivery, &backoff, clock.now(), code, error);
                let _ = tx.send((delivery.stream, outcome)).await;
            });
        }
    }

    /// Until the earliest retry falls due, at most `poll_interval`.
    async fn sleep_time(&self) -> Duration {
        let poll = self.config.poll_interval;
        let now = self.clock.now();
        match self.store.next_webhook_due(now).await {
            Ok(Some(at)) => Duration::from_millis(u64::try_from(at - now).unwrap_or(0)).min(poll),
            _ => poll,
        }
    }
}
