//! Webhook settings and the delivery log, for the application named by the server's
//! configured application id.
//!
//! Invariant: settings are stored only after validation (http(s) URL, known categories,
//! and unless allowed, a target that is not loopback, private, link-local or a metadata
//! address as written; the worker checks resolved addresses again), so the delivery worker
//! never meets an unusable subscription.

use crate::{ListPage, PageParams, ServiceError};
use opencalls_domain::DomainError;
use opencalls_domain::webhook_categories::{self, WILDCARD};
use opencalls_domain::webhook_target;
use opencalls_runtime::Clock;
use opencalls_store::{CursorKind, Store};
use std::sync::Arc;

/// The webhook types adapters show and accept (the HTTP layer never imports storage).
pub use opencalls_store::webhooks::{
    Delivery, DeliveryId, DeliveryStatus, WebhookSettings, WebhookSettingsUpdate,
};

/// Longest webhook URL accepted.
pub const MAX_URL_LEN: usize = 2048;
/// Most entries accepted in `enabled_events`.
pub const MAX_ENABLED_EVENTS: usize = 64;
/// The application id used when the configuration names none.
pub const DEFAULT_APP_ID: &str = "opencalls";

const APPLICATION: &str = "application";
const SETTINGS: &str = "webhook settings";

#[derive(Clone)]
pub struct WebhookService {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    app_id: Arc<str>,
    /// Whether URLs may name loopback, private, link-local and metadata addresses.
    allow_private_targets: bool,
}

impl WebhookService {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, app_id: &str) -> Self {
        Self {
            store,
            clock,
            app_id: app_id.into(),
            allow_private_targets: false,
        }
    }

    /// The same service accepting (or refusing) URLs of non-public targets.
    pub fn allow_private_targets(mut self, allow: bool) -> Self {
        self.allow_private_targets = allow;
        self
    }

    pub fn app_id(&self) -> &str {
        &self.app_id
    }

    /// Every category a subscription may name.
    pub fn all_categories(&self) -> Vec<String> {
        webhook_categories::ALL
            .iter()
            .map(|c| (*c).to_owned())
            .collect()
    }

    pub async fn settings(&self, app_id: &str) -> Result<WebhookSettings, ServiceError> {
        self.check_app(app_id)?;
        self.store
            .webhook_settings()
            .await
            .map_err(ServiceError::from_store(SETTINGS))
    }

    /// Validates and applies a partial update; returns the settings now in force.
    pub async fn update_settings(
        &self,
        app_id: &str,
        update: WebhookSettingsUpdate,
    ) -> Result<WebhookSettings, ServiceError> {
        self.check_app(app_id)?;
        let update = validate(update, self.allow_private_targets)?;
        if update.enabled == Some(true) {
            let current = self.settings(app_id).await?;
            let url = update.url.as_deref().unwrap_or(&current.url);
            if url.is_empty() {
                return Err(DomainError::MissingParameter(
                    "url is required to enable webhooks".into(),
                )
                .into());
            }
        }
        self.store
            .update_webhook_settings(update, self.clock.now())
            .await
            .map_err(ServiceError::from_store(SETTINGS))
    }

    /// The delivery log, newest first; `status` is `pending`, `delivered` or `failed`.
    pub async fn deliveries(
        &self,
        app_id: &str,
        status: Option<&str>,
        page: &PageParams,
    ) -> Result<ListPage<Delivery>, ServiceError> {
        self.check_app(app_id)?;
        let status = status
            .filter(|s| !s.is_empty())
            .map(|s| {
                DeliveryStatus::parse(s).ok_or_else(|| {
                    DomainError::invalid(format!(
                        "status must be one of pending, delivered, failed; got '{s}'"
                    ))
                })
            })
            .transpose()?;
        let request = page.validate(CursorKind::WebhookDeliveries)?;
        let page = self
            .store
            .list_webhook_deliveries(status, request)
            .await
            .map_err(ServiceError::from_store("webhook delivery"))?;
        Ok(ListPage::from_page(page, CursorKind::WebhookDeliveries))
    }

    fn check_app(&self, app_id: &str) -> Result<(), ServiceError> {
        if app_id == &*self.app_id {
            Ok(())
        } else {
            Err(ServiceError::NotFound(APPLICATION))
        }
    }
}

fn validate(
    mut update: WebhookSettingsUpdate,
    allow_private_targets: bool,
) -> Result<WebhookSettingsUpdate, DomainError> {
    if let Some(url) = &update.url {
        let url = url.trim().to_owned();
        let host = check_url(&url)?;
        if !allow_private_targets {
            webhook_target::check_url_host(host).map_err(|reason| {
                DomainError::invalid(format!(
                    "url must name a public address, but {reason} (allowed only with \
                     OPENCALLS_WEBHOOK_ALLOW_PRIVATE_TARGETS=true)"
                ))
            })?;
        }
        update.url = Some(url);
    }
    if let Some(events) = &update.enabled_events {
        update.enabled_events = Some(check_events(events)?);
    }
    Ok(update)
}

/// An absolute `http://` or `https://` URL with a host; `""` clears the URL. Returns the
/// host as written (without user info and port).
fn check_url(url: &str) -> Result<&str, DomainError> {
    if url.is_empty() {
        return Ok("");
    }
    if url.len() > MAX_URL_LEN {
        return Err(DomainError::invalid(format!(
            "url must be at most {MAX_URL_LEN} characters"
        )));
    }
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| DomainError::invalid("url must start with http:// or https://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') {
        return Err(DomainError::invalid("url must name a host"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(DomainError::invalid(
            "url must not contain spaces or control characters",
        ));
    }
    Ok(strip_port(host))
}

/// `[::1]:80` → `[::1]`, `example.com:80` → `example.com`.
fn strip_port(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority.split_inclusive(']').next().unwrap_or(authority);
    }
    authority.split(':').next().unwrap_or(authority)
}

/// Known categories or `*`, without duplicates, in the order given.
fn check_events(events: &[String]) -> Result<Vec<String>, DomainError> {
    if events.len() > MAX_ENABLED_EVENTS {
        return Err(DomainError::invalid(format!(
            "enabled_events can name at most {MAX_ENABLED_EVENTS} categories"
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(events.len());
    for event in events {
        if event != WILDCARD && !webhook_categories::is_known(event) {
            let shown: String = event.chars().take(64).collect();
            return Err(DomainError::invalid(format!(
                "enabled_events: unknown category '{shown}' (see all_webhook_categories)"
            )));
        }
        if !out.contains(event) {
            out.push(event.clone());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_targets_are_refused_unless_allowed() {
        let update = |url: &str| WebhookSettingsUpdate {
            url: Some(url.to_owned()),
            ..WebhookSettingsUpdate::default()
        };
        for url in [
            "http://127.0.0.1:9/x",
            "http://user@[::1]:8080/",
            "https://localhost/",
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.5:80",
        ] {
            let err = validate(update(url), false).unwrap_err();
            assert!(err.to_string().contains("public address"), "{url}: {err}");
            assert!(validate(update(url), true).is_ok(), "{url}");
        }
        assert!(validate(update("https://hooks.example.com:8443/x"), false).is_ok());
        assert!(validate(update(""), false).is_ok(), "clearing the URL");
    }

    #[test]
    fn urls() {
        for ok in [
            "",
            "http://127.0.0.1:9/x",
            "https://example.com",
            "http://h?q=1",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ftp://x",
            "http://",
            "https:///x",
            "example.com",
            "http://a b",
            "http://:80/",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn events() {
        let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            check_events(&names(&["*", "room:create", "*"])).unwrap(),
            names(&["*", "room:create"])
        );
        assert!(check_events(&names(&["room:nope"])).is_err());
    }
}
