//! The delivery loop: judge new outbox events, claim due stream heads, attempt them on
//! bounded tasks, record outcomes in batches, sleep until the next reason to wake.
//!
//! It wakes on committed events (the in-process `EventBus`), on finished attempts, when the
//! earliest retry falls due, and every `poll_interval` as a fallback (events committed by
//! another process, a missed wake-up, a settings change). It looks at the outbox and
//! re-reads the settings only when events were committed or the timer fired, so a busy
//! receiver costs no extra store writes per finished attempt beyond recording it. Store errors are logged and retried on the next
//! round; they never stop the loop.

use crate::attempt::{self, Backoff, Target};
use opencalls_domain::{Millis, StreamKey};
use opencalls_runtime::{Clock, EventBus, Metrics};
use opencalls_store::Store;
use opencalls_store::webhooks::{AttemptOutcome, NextStep, WebhookSettings};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;

/// How long a round waits after a wake-up for more work to arrive.
const COALESCE: Duration = Duration::from_millis(2);

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
    /// Whether loopback, private, link-local and metadata addresses may be targeted.
    pub allow_private_targets: bool,
    /// How long delivered (and never queued) events are kept.
    pub retention: Duration,
    /// How long failed deliveries are kept.
    pub failed_retention: Duration,
    /// How often old events are pruned.
    pub prune_interval: Duration,
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
            allow_private_targets: false,
            retention: Duration::from_secs(7 * 24 * 3600),
            failed_retention: Duration::from_secs(30 * 24 * 3600),
            prune_interval: Duration::from_secs(3600),
        }
    }
}

/// A running worker; [`WebhookWorker::stop`] ends it after in-flight attempts finish.
pub struct WebhookWorker {
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    /// The retention task (`prune.rs`).
    pruner: Option<JoinHandle<()>>,
}

impl Drop for WebhookWorker {
    /// Dropped without [`WebhookWorker::stop`] (e.g. the server future was cancelled): end
    /// the loop at once, like a crash; unrecorded attempts are repeated after restart.
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if let Some(pruner) = self.pruner.take() {
            pruner.abort();
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
        let mut client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            // A redirect could lead anywhere, past the target policy.
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(config.concurrency.max(1));
        if !config.allow_private_targets {
            client = client.dns_resolver(Arc::new(crate::target::PublicOnly));
        }
        let client = client.build()?;
        let (stop, stopped) = watch::channel(false);
        let retention = crate::prune::Retention {
            delivered: config.retention,
            failed: config.failed_retention,
            interval: config.prune_interval,
        };
        let pruner = tokio::spawn(crate::prune::run(
            store.clone(),
            clock.clone(),
            metrics.clone(),
            retention,
            stopped.clone(),
        ));
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
            settings: None,
            retry_times: BinaryHeap::new(),
            done_tx,
            config,
        };
        let task = tokio::spawn(worker.run(bus.subscribe(), done_rx, stopped));
        Ok(Self {
            stop,
            task: Some(task),
            pruner: Some(pruner),
        })
    }

    /// Stops claiming work, waits for attempts in flight (bounded by the attempt timeout)
    /// and records their outcomes.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        // Each prune batch is one transaction, so cutting a walk short loses nothing.
        if let Some(pruner) = self.pruner.take() {
            pruner.abort();
        }
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
    in_flight: HashSet<StreamKey>,
    /// Outcomes waiting to be recorded, with their stream.
    finished: Vec<(StreamKey, AttemptOutcome)>,
    /// The settings as last read (refreshed with every look at the outbox and every poll).
    settings: Option<WebhookSettings>,
    /// When scheduled retries fall due (earliest first); only this worker schedules them.
    retry_times: BinaryHeap<Reverse<Millis>>,
    done_tx: mpsc::Sender<(StreamKey, AttemptOutcome)>,
}

enum Wake {
    /// New events were committed.
    Committed,
    /// An attempt finished.
    Attempted,
    /// A retry fell due, or the poll interval passed.
    Timer,
    Stop,
}

/// Resolves on the next committed event; never, once the bus is gone (polling remains).
async fn next_event(events: &mut Option<broadcast::Receiver<Arc<opencalls_domain::Event>>>) {
    match events {
        Some(rx) => {
            if let Err(broadcast::error::RecvError::Closed) = rx.recv().await {
                *events = None;
            }
        }
        None => std::future::pending().await,
    }
}

impl Worker {
    async fn run(
        mut self,
        events: broadcast::Receiver<Arc<opencalls_domain::Event>>,
        mut done: mpsc::Receiver<(StreamKey, AttemptOutcome)>,
        mut stopped: watch::Receiver<bool>,
    ) {
        tracing::info!("webhook worker started");
        let mut events = Some(events);
        self.seed_retry_times().await;
        // Whether the outbox may hold events not judged yet (or the settings changed).
        let mut dirty = true;
        loop {
            self.record().await;
            if dirty {
                self.enqueue().await;
                self.refresh_settings().await;
            }
            self.dispatch().await;
            let sleep = self.sleep_time();
            let wake = tokio::select! {
                _ = stopped.changed() => Wake::Stop,
                Some(item) = done.recv() => { self.finished.push(item); Wake::Attempted }
                () = next_event(&mut events) => Wake::Committed,
                () = tokio::time::sleep(sleep) => Wake::Timer,
            };
            // Coalesce a burst of wake-ups into one round: a moment's wait lets the events
            // of concurrent requests and the ends of concurrent attempts share one round
            // (one store write each), which keeps the worker's share of the writer small.
            if matches!(wake, Wake::Committed | Wake::Attempted) {
                tokio::time::sleep(COALESCE).await;
            }
            while let Ok(item) = done.try_recv() {
                self.finished.push(item);
            }
            let mut committed = matches!(wake, Wake::Committed | Wake::Timer);
            if let Some(rx) = events.as_mut() {
                while rx.try_recv().is_ok() {
                    committed = true;
                }
            }
            dirty = committed;
            if matches!(wake, Wake::Stop) || *stopped.borrow() {
                break;
            }
        }
        self.drain(done).await;
        tracing::info!("webhook worker stopped");
    }

    /// Waits for attempts in flight and records them, so a clean stop repeats nothing.
    async fn drain(&mut self, mut done: mpsc::Receiver<(StreamKey, AttemptOutcome)>) {
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
                NextStep::RetryAt(at) => {
                    self.retry_times.push(Reverse(at));
                    "retried"
                }
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
        let settings = match &self.settings {
            Some(s) if s.enabled && !s.url.is_empty() => s.clone(),
            _ => return, // disabled: queued deliveries wait until re-enabled
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
            allow_private_targets: self.config.allow_private_targets,
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

    async fn refresh_settings(&mut self) {
        match self.store.webhook_settings().await {
            Ok(settings) => self.settings = Some(settings),
            Err(err) => tracing::error!(%err, "reading webhook settings failed"),
        }
    }

    /// Learns when retries scheduled before a restart fall due.
    async fn seed_retry_times(&mut self) {
        if let Ok(Some(at)) = self.store.next_webhook_due(self.clock.now()).await {
            self.retry_times.push(Reverse(at));
        }
    }

    /// Until the earliest retry falls due, at most `poll_interval`. Retries due by now were
    /// just dispatched (or wait for a free slot, which an attempt's end wakes us for).
    fn sleep_time(&mut self) -> Duration {
        let now = self.clock.now();
        while self
            .retry_times
            .peek()
            .is_some_and(|Reverse(at)| *at <= now)
        {
            self.retry_times.pop();
        }
        let poll = self.config.poll_interval;
        match self.retry_times.peek() {
            Some(Reverse(at)) => {
                Duration::from_millis(u64::try_from(at - now).unwrap_or(0)).min(poll)
            }
            None => poll,
        }
    }
}
