//! The `## Limits` settings (docs/configuration.md, docs/security.md): HTTP admission and
//! the per-user / per-connection limits of the client protocol.
//!
//! Invariant: every limit is at least 1 (a zero would refuse everything), checked both for
//! the environment and for the file.

use crate::config::{Config, ConfigError};
use std::time::Duration;

/// Default of `http_max_connections`; keep the process's file-descriptor limit above it.
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

impl Config {
    /// `OPENCALLS_HTTP_MAX_CONNECTIONS`, `OPENCALLS_HTTP_*_TIMEOUT_MS`,
    /// `OPENCALLS_WS_SEND_TIMEOUT_MS`, `OPENCALLS_MAX_*_PER_USER` and the rates.
    pub(crate) fn apply_limits_env(
        &mut self,
        var: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        let number = |name: &'static str| -> Result<Option<u64>, ConfigError> {
            let Some(raw) = var(name).filter(|v| !v.is_empty()) else {
                return Ok(None);
            };
            match raw.trim().parse::<u64>() {
                Ok(n) if n >= 1 => Ok(Some(n)),
                _ => Err(ConfigError::Invalid {
                    name,
                    message: format!("expected a positive integer, got '{raw}'"),
                }),
            }
        };
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        let rate = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
        for (name, slot) in [
            (
                "OPENCALLS_HTTP_HEADER_TIMEOUT_MS",
                &mut self.http_header_timeout_ms,
            ),
            (
                "OPENCALLS_HTTP_BODY_TIMEOUT_MS",
                &mut self.http_body_timeout_ms,
            ),
            ("OPENCALLS_WS_SEND_TIMEOUT_MS", &mut self.ws_send_timeout_ms),
        ] {
            if let Some(n) = number(name)? {
                *slot = n;
            }
        }
        for (name, slot) in [
            (
                "OPENCALLS_HTTP_MAX_CONNECTIONS",
                &mut self.http_max_connections,
            ),
            (
                "OPENCALLS_MAX_DEVICES_PER_USER",
                &mut self.max_devices_per_user,
            ),
            (
                "OPENCALLS_MAX_LIVE_SEATS_PER_USER",
                &mut self.max_live_seats_per_user,
            ),
            (
                "OPENCALLS_MAX_MEDIA_PEERS_PER_USER",
                &mut self.max_media_peers_per_user,
            ),
        ] {
            if let Some(n) = number(name)? {
                *slot = size(n);
            }
        }
        for (name, slot) in [
            (
                "OPENCALLS_WS_REQUESTS_PER_SEC",
                &mut self.ws_requests_per_sec,
            ),
            (
                "OPENCALLS_MEDIA_OFFERS_PER_MIN",
                &mut self.media_offers_per_min,
            ),
            (
                "OPENCALLS_SESSION_OPENS_PER_MIN_PER_USER",
                &mut self.session_opens_per_min_per_user,
            ),
            (
                "OPENCALLS_SESSION_OPENS_PER_MIN_PER_IP",
                &mut self.session_opens_per_min_per_ip,
            ),
        ] {
            if let Some(n) = number(name)? {
                *slot = rate(n);
            }
        }
        Ok(())
    }

    /// Checks the limits read from the file (the environment is checked on read).
    pub fn validate_limits(&self) -> Result<(), ConfigError> {
        let zero = [
            ("http_max_connections", self.http_max_connections == 0),
            ("http_header_timeout_ms", self.http_header_timeout_ms == 0),
            ("http_body_timeout_ms", self.http_body_timeout_ms == 0),
            ("ws_send_timeout_ms", self.ws_send_timeout_ms == 0),
            ("max_devices_per_user", self.max_devices_per_user == 0),
            ("max_live_seats_per_user", self.max_live_seats_per_user == 0),
            (
                "max_media_peers_per_user",
                self.max_media_peers_per_user == 0,
            ),
            ("ws_requests_per_sec", self.ws_requests_per_sec == 0),
            ("media_offers_per_min", self.media_offers_per_min == 0),
            (
                "session_opens_per_min_per_user",
                self.session_opens_per_min_per_user == 0,
            ),
            (
                "session_opens_per_min_per_ip",
                self.session_opens_per_min_per_ip == 0,
            ),
        ];
        match zero.iter().find(|(_, is_zero)| *is_zero) {
            Some((name, _)) => Err(ConfigError::Invalid {
                name,
                message: "must be greater than 0".into(),
            }),
            None => Ok(()),
        }
    }

    /// The client protocol's limits.
    pub(crate) fn limits(&self) -> opencalls_signal::Limits {
        opencalls_signal::Limits {
            devices_per_user: self.max_devices_per_user,
            live_seats_per_user: self.max_live_seats_per_user,
            media_peers_per_user: self.max_media_peers_per_user,
            requests_per_sec: self.ws_requests_per_sec,
            media_offers_per_min: self.media_offers_per_min,
            session_opens_per_min_per_user: self.session_opens_per_min_per_user,
            session_opens_per_min_per_ip: self.session_opens_per_min_per_ip,
        }
    }

    /// The HTTP admission settings.
    pub(crate) fn admission(&self) -> crate::http::Admission {
        crate::http::Admission {
            max_connections: self.http_max_connections,
            header_timeout: Duration::from_millis(self.http_header_timeout_ms),
            body_timeout: Duration::from_millis(self.http_body_timeout_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_come_from_the_environment_and_refuse_zero() {
        let mut config = Config::default();
        config
            .apply_env(|name| match name {
                "OPENCALLS_HTTP_MAX_CONNECTIONS" => Some("7".into()),
                "OPENCALLS_MAX_DEVICES_PER_USER" => Some("2".into()),
                "OPENCALLS_SESSION_OPENS_PER_MIN_PER_IP" => Some("9".into()),
                _ => None,
            })
            .unwrap();
        assert_eq!(config.admission().max_connections, 7);
        assert_eq!(config.limits().devices_per_user, 2);
        assert_eq!(config.limits().session_opens_per_min_per_ip, 9);
        let err = Config::default()
            .apply_env(|n| (n == "OPENCALLS_WS_REQUESTS_PER_SEC").then(|| "0".into()))
            .unwrap_err();
        assert!(err.to_string().contains("OPENCALLS_WS_REQUESTS_PER_SEC"));
        let zero = Config {
            max_live_seats_per_user: 0,
            ..Config::default()
        };
        assert!(zero.validate_limits().is_err());
    }
}
