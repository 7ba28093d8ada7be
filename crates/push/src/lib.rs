//! VoIP pushes for ringing direct calls (issue 10): when a call is dialed, every registered
//! VoIP token of the callee gets a push, through APNs (HTTP/2, provider-token auth with the
//! team's `.p8` key, `apns-push-type: voip`, topic `<bundle id>.voip`) or FCM HTTP v1
//! (service-account OAuth: a signed JWT assertion exchanged for an access token).
//!
//! Why a small client of our own: the maintained APNs crate (`a2`) only talks to Apple's two
//! fixed hosts, so it cannot be pointed at a local endpoint for tests or at a proxy, and no
//! maintained FCM v1 crate fits; both protocols are one HTTP/2 `POST` with a JWT, on the
//! `reqwest` + `rustls` stack the webhook worker already uses, signed with `aws-lc-rs` (already
//! built for the SFU).
//!
//! Invariants: a push never blocks or fails a call: the worker runs beside the signalling,
//! fed by the committed `direct_call:dial` events of the event bus (a push lost to a lagging
//! bus is logged and counted, never retried later: the call has moved on). Each send is
//! retried on the provider's temporary errors (APNs 429/500/503, FCM 429/500/503 honouring
//! `Retry-After`) up to `max_attempts`; a token the provider reports invalid (APNs 410 or
//! `BadDeviceToken`, FCM `UNREGISTERED`) is removed from the user. Every outcome is counted in
//! `opencalls_push_sent_total{provider, outcome}`.

mod apns;
mod fcm;
pub mod jwt;

pub use apns::{ApnsConfig, PRODUCTION as APNS_PRODUCTION};
pub use fcm::{FcmConfig, PRODUCTION as FCM_PRODUCTION};

use opencalls_domain::direct_call::{CallRecord, DirectCallBody};
use opencalls_domain::{DirectCallRole, EventBody};
use opencalls_service::Services;
use opencalls_service::direct_calls::PushTokenType;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinHandle;

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("push configuration: {0}")]
    Config(String),
}

/// The providers configured on this server (either may be absent) and the retry policy.
#[derive(Clone, Debug, Default)]
pub struct PushConfig {
    pub apns: Option<ApnsConfig>,
    pub fcm: Option<FcmConfig>,
    /// Attempts per push, the first included.
    pub max_attempts: u32,
    /// Delay before the first retry; doubles per attempt (a `Retry-After` wins).
    pub retry_base: Duration,
}

impl PushConfig {
    pub fn is_enabled(&self) -> bool {
        self.apns.is_some() || self.fcm.is_some()
    }
}

/// What one attempt at one token came to.
#[derive(Debug)]
pub(crate) enum Outcome {
    Delivered,
    /// A temporary refusal: try again (after the given delay, if the provider named one).
    Retry(Option<Duration>, String),
    /// The token is no longer valid: remove it.
    InvalidToken(String),
    /// Refused for good (bad request, bad credentials): log and count.
    Failed(String),
}

/// Longest `Retry-After` honoured: a ringing call does not wait longer.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let secs = headers
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
}

/// What the push carries: enough to show the incoming call before the app connects.
pub(crate) fn call_payload(record: &CallRecord) -> Value {
    let call = &record.call;
    let caller = call.side(DirectCallRole::Caller);
    json!({
        "type": "direct_call:dial",
        "call_id": call.call_id,
        "is_video_call": call.is_video_call,
        "caller": {
            "user_id": caller.map(|c| c.user_id.to_string()),
            "nickname": caller.map(|c| c.nickname.clone()),
            "profile_url": caller.map(|c| c.profile_url.clone()),
        },
        "started_at": call.started_at,
    })
}

struct Senders {
    apns: Option<apns::Apns>,
    fcm: Option<fcm::Fcm>,
}

/// Starts the push worker; it runs until the event bus closes.
pub fn start(services: Services, config: PushConfig) -> Result<JoinHandle<()>, PushError> {
    // Both providers speak HTTP/2 (APNs only that), also on a cleartext test endpoint.
    let http = reqwest::Client::builder()
        .http2_prior_knowledge()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| PushError::Config(format!("HTTP client: {e}")))?;
    let senders = Arc::new(Senders {
        apns: config
            .apns
            .clone()
            .map(|c| apns::Apns::new(c, http.clone()))
            .transpose()?,
        fcm: config
            .fcm
            .clone()
            .map(|c| fcm::Fcm::new(c, http.clone()))
            .transpose()?,
    });
    let policy = Retry {
        max_attempts: config.max_attempts.max(1),
        base: config.retry_base,
    };
    // Local only: in a cluster, the node the call was dialed on pushes it, once.
    let mut events = services.bus.subscribe_local();
    Ok(tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if let EventBody::DirectCall {
                        record,
                        body: DirectCallBody::Dialed,
                    } = &event.body
                    {
                        let (services, senders) = (services.clone(), senders.clone());
                        let record = record.as_ref().clone();
                        tokio::spawn(async move {
                            push_call(&services, &senders, policy, &record).await
                        });
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    tracing::warn!(
                        lost = n,
                        "the push worker fell behind the event bus; some rings got no push"
                    );
                    count(&services, "bus", "lost", n);
                }
                Err(RecvError::Closed) => return,
            }
        }
    }))
}

#[derive(Clone, Copy)]
struct Retry {
    max_attempts: u32,
    base: Duration,
}

fn count(services: &Services, provider: &str, outcome: &str, by: u64) {
    services.metrics.count(
        "opencalls_push_sent_total",
        "VoIP pushes for ringing calls, by provider and outcome (delivered, retried, invalid_token, failed).",
        vec![("provider", provider.to_owned()), ("outcome", outcome.to_owned())],
        by,
    );
}

/// Pushes the ring to every VoIP token of the callee.
async fn push_call(services: &Services, senders: &Senders, policy: Retry, record: &CallRecord) {
    let Some(callee) = record.call.callee().map(|c| c.user_id.clone()) else {
        return;
    };
    let payload = call_payload(record);
    let calls = &services.direct_calls;
    for kind in PushTokenType::ALL {
        let enabled = match kind {
            PushTokenType::ApnsVoip => senders.apns.is_some(),
            PushTokenType::FcmVoip => senders.fcm.is_some(),
        };
        if !enabled {
            continue;
        }
        let tokens = match calls.push_tokens(&callee, kind).await {
            Ok(tokens) => tokens.tokens,
            Err(err) => {
                tracing::warn!(%err, "reading push tokens");
                continue;
            }
        };
        for token in tokens {
            let outcome =
                send_with_retries(services, senders, policy, kind, &token, &payload).await;
            if let Outcome::InvalidToken(why) = outcome {
                tracing::info!(user = %callee, provider = kind.as_str(), %why, "removing an invalid push token");
                if let Err(err) = calls.remove_push_tokens(&callee, kind, Some(&token)).await {
                    tracing::debug!(%err, "removing a push token");
                }
            }
        }
    }
}

async fn send_once(
    senders: &Senders,
    kind: PushTokenType,
    token: &str,
    payload: &Value,
) -> Outcome {
    match kind {
        PushTokenType::ApnsVoip => match &senders.apns {
            Some(apns) => apns.send(token, payload).await,
            None => Outcome::Failed("APNs is not configured".into()),
        },
        PushTokenType::FcmVoip => match &senders.fcm {
            Some(fcm) => fcm.send(token, payload).await,
            None => Outcome::Failed("FCM is not configured".into()),
        },
    }
}

async fn send_with_retries(
    services: &Services,
    senders: &Senders,
    policy: Retry,
    kind: PushTokenType,
    token: &str,
    payload: &Value,
) -> Outcome {
    let provider = match kind {
        PushTokenType::ApnsVoip => "apns",
        PushTokenType::FcmVoip => "fcm",
    };
    let mut attempt = 0;
    loop {
        attempt += 1;
        let outcome = send_once(senders, kind, token, payload).await;
        match &outcome {
            Outcome::Delivered => count(services, provider, "delivered", 1),
            Outcome::InvalidToken(_) => count(services, provider, "invalid_token", 1),
            Outcome::Failed(why) => {
                tracing::warn!(provider, %why, "a push was refused");
                count(services, provider, "failed", 1);
            }
            Outcome::Retry(after, why) if attempt < policy.max_attempts => {
                tracing::info!(provider, attempt, %why, "retrying a push");
                count(services, provider, "retried", 1);
                let backoff = policy.base * 2u32.saturating_pow(attempt - 1);
                tokio::time::sleep(after.unwrap_or(backoff)).await;
                continue;
            }
            Outcome::Retry(_, why) => {
                tracing::warn!(provider, attempt, %why, "a push failed after its last attempt");
                count(services, provider, "failed", 1);
            }
        }
        return outcome;
    }
}
