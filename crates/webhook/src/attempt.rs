//! One delivery attempt: the body, its signature, the `POST`, and what to do next.

use hmac::{Hmac, Mac};
use opencalls_domain::Millis;
use opencalls_store::webhooks::{AttemptOutcome, Delivery, NextStep};
use serde_json::{Map, Value};
use sha2::Sha256;
use std::fmt::Write;
use std::time::Duration;

/// Lowercase hex HMAC-SHA256 of the raw body, keyed with the master API token.
pub const SIGNATURE_HEADER: &str = "x-sendbird-signature";
/// Unique per event, identical on every retry: receivers de-duplicate on it.
pub const DELIVERY_ID_HEADER: &str = "x-opencalls-delivery-id";
/// How many times this delivery was attempted before (0 on the first attempt).
pub const RETRY_HEADER: &str = "x-opencalls-delivery-attempt";

/// Longest error text kept in the delivery log.
const MAX_ERROR_LEN: usize = 300;

/// The JSON body: `category`, `occurred_at`, `application_id` and the resource fields.
pub fn body(delivery: &Delivery, app_id: &str) -> Vec<u8> {
    let mut map = match serde_json::from_str::<Value>(&delivery.payload) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    map.insert("category".into(), Value::from(delivery.category.as_str()));
    map.insert("occurred_at".into(), Value::from(delivery.occurred_at));
    map.insert("application_id".into(), Value::from(app_id));
    // A map of JSON values always serializes.
    serde_json::to_vec(&Value::Object(map)).unwrap_or_default()
}

/// Lowercase hex HMAC-SHA256 of `body` keyed with `key`.
pub fn sign(key: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this never fails.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .fold(String::with_capacity(64), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// Everything an attempt needs besides the delivery.
#[derive(Clone)]
pub(crate) struct Target {
    pub client: reqwest::Client,
    pub url: String,
    pub app_id: String,
    pub key: String,
    pub user_agent: String,
    /// Whether loopback, private, link-local and metadata addresses may be targeted.
    pub allow_private_targets: bool,
}

/// Sends `delivery` once; `Ok(status)` if the receiver answered 2xx.
pub(crate) async fn send(target: &Target, delivery: &Delivery) -> (Option<u16>, Option<String>) {
    if !target.allow_private_targets
        && let Err(refused) = crate::target::check_literal(&target.url)
    {
        return (None, Some(refused));
    }
    let body = body(delivery, &target.app_id);
    let signature = sign(target.key.as_bytes(), &body);
    let result = target
        .client
        .post(&target.url)
        .header("content-type", "application/json")
        .header("user-agent", &target.user_agent)
        .header(SIGNATURE_HEADER, signature)
        .header(DELIVERY_ID_HEADER, delivery.delivery_id.to_string())
        .header(RETRY_HEADER, delivery.attempts.to_string())
        .body(body)
        .send()
        .await;
    match result {
        Ok(resp) if resp.status().is_success() => (Some(resp.status().as_u16()), None),
        Ok(resp) => (
            Some(resp.status().as_u16()),
            Some(format!("the receiver answered {}", resp.status())),
        ),
        Err(err) => (None, Some(describe(&err))),
    }
}

fn describe(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut text = format!("{kind}: {err}");
    // The whole chain: a refused target's reason sits a few levels down.
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let _ = write!(text, " ({cause})");
        source = cause.source();
    }
    text.chars().take(MAX_ERROR_LEN).collect()
}

/// Retry schedule: exponential from `base`, capped at `max`, with "equal jitter" (half the
/// delay fixed, half random) so receivers coming back up aren't hit by synchronized bursts.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Backoff {
    pub base: Duration,
    pub max: Duration,
    pub period: Duration,
}

impl Backoff {
    /// The delay before attempt number `attempts + 1`, after `attempts` failures.
    pub fn delay(&self, attempts: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(2u32.saturating_pow(attempts.saturating_sub(1).min(30)));
        let full = exp.min(self.max).max(Duration::from_millis(1));
        let half = full / 2;
        half + half.mul_f64(fastrand::f64())
    }

    /// What to do after an attempt at `now` of a delivery queued at `created_at`.
    pub fn next(
        &self,
        delivered: bool,
        created_at: Millis,
        attempts: u32,
        now: Millis,
    ) -> NextStep {
        if delivered {
            return NextStep::Delivered;
        }
        let deadline = created_at.saturating_add(millis(self.period));
        if now >= deadline {
            return NextStep::Failed;
        }
        let at = now.saturating_add(millis(self.delay(attempts)));
        // The last retry happens at the deadline, not after it.
        NextStep::RetryAt(at.min(deadline))
    }
}

pub(crate) fn millis(d: Duration) -> Millis {
    Millis::try_from(d.as_millis()).unwrap_or(Millis::MAX)
}

/// Builds the outcome record of an attempt.
pub(crate) fn outcome(
    delivery: &Delivery,
    backoff: &Backoff,
    now: Millis,
    status_code: Option<u16>,
    error: Option<String>,
) -> AttemptOutcome {
    let delivered = error.is_none();
    AttemptOutcome {
        delivery_seq: delivery.seq,
        attempted_at: now,
        status_code,
        next: backoff.next(delivered, delivery.created_at, delivery.attempts + 1, now),
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2() {
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn backoff_grows_is_capped_and_ends() {
        let b = Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
            period: Duration::from_secs(3600),
        };
        let d1 = b.delay(1);
        assert!(d1 >= Duration::from_millis(500) && d1 <= Duration::from_secs(1));
        let d5 = b.delay(5);
        assert!(d5 >= Duration::from_secs(8) && d5 <= Duration::from_secs(16));
        assert!(b.delay(40) <= Duration::from_secs(60));
        assert_eq!(b.next(true, 0, 1, 10), NextStep::Delivered);
        assert!(matches!(b.next(false, 0, 1, 10), NextStep::RetryAt(t) if t > 10));
        assert_eq!(b.next(false, 0, 9, 3_600_000), NextStep::Failed);
        assert_eq!(b.next(false, 0, 9, 3_599_999), NextStep::RetryAt(3_600_000));
    }
}
