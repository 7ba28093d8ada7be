//! The network-reach settings (docs/configuration.md, `## Media`): ICE over TCP beside UDP,
//! and TURN servers whose time-limited credentials clients get in `hello.ice_servers`.
//!
//! Invariant: a TURN URL is never handed out without the secret that makes its credentials
//! valid, and the secret is never handed out at all.

use crate::config::{Config, ConfigError};
use opencalls_signal::TurnConfig;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Most TURN URLs (each is tried by every client).
const MAX_TURN_URLS: usize = 8;
/// Longest TURN URL accepted.
const MAX_TURN_URL_BYTES: usize = 256;
/// Shortest and longest TURN credential lifetime, seconds (a minute to a week).
const TURN_TTL_SECS: std::ops::RangeInclusive<u64> = 60..=7 * 24 * 3600;

impl Config {
    /// `OPENCALLS_MEDIA_TCP` (`true`/`false`), `OPENCALLS_MEDIA_TCP_ADDR`,
    /// `OPENCALLS_TURN_URLS` (comma-separated), `OPENCALLS_TURN_SECRET`,
    /// `OPENCALLS_TURN_TTL_SECS`.
    pub(crate) fn apply_network_env(
        &mut self,
        var: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        let invalid = |name, message: String| ConfigError::Invalid { name, message };
        if let Some(on) = crate::config::boolean_var(var, "OPENCALLS_MEDIA_TCP")? {
            self.media_tcp = on;
        }
        if let Some(raw) = var("OPENCALLS_MEDIA_TCP_ADDR").filter(|v| !v.is_empty()) {
            let addr: SocketAddr = raw.trim().parse().map_err(|e| {
                invalid(
                    "OPENCALLS_MEDIA_TCP_ADDR",
                    format!("expected IP:port, got '{raw}': {e}"),
                )
            })?;
            self.media_tcp_addr = Some(addr);
        }
        if let Some(raw) = var("OPENCALLS_TURN_URLS") {
            self.turn_urls = raw
                .split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let Some(secret) = var("OPENCALLS_TURN_SECRET").filter(|v| !v.is_empty()) {
            self.turn_secret = Some(secret);
        }
        if let Some(raw) = var("OPENCALLS_TURN_TTL_SECS").filter(|v| !v.is_empty()) {
            self.turn_ttl_secs = raw.trim().parse().map_err(|_| {
                invalid(
                    "OPENCALLS_TURN_TTL_SECS",
                    format!("expected seconds, got '{raw}'"),
                )
            })?;
        }
        self.validate_network()
    }

    /// Checks the ICE-TCP and TURN settings (also those read from the file).
    pub fn validate_network(&self) -> Result<(), ConfigError> {
        let invalid = |name, message: &str| {
            Err(ConfigError::Invalid {
                name,
                message: message.to_owned(),
            })
        };
        if self.turn_urls.len() > MAX_TURN_URLS {
            return invalid("OPENCALLS_TURN_URLS", "at most 8 URLs");
        }
        let bad_url = self.turn_urls.iter().any(|u| {
            u.len() > MAX_TURN_URL_BYTES
                || !(u.starts_with("turn:") || u.starts_with("turns:"))
                || u.chars().any(|c| c.is_whitespace() || c.is_control())
        });
        if bad_url {
            return invalid(
                "OPENCALLS_TURN_URLS",
                "each URL starts with turn: or turns: (e.g. turn:203.0.113.7:3478?transport=tcp), at most 256 bytes",
            );
        }
        if !self.turn_urls.is_empty() && self.turn_secret.as_deref().is_none_or(str::is_empty) {
            return invalid(
                "OPENCALLS_TURN_SECRET",
                "required with OPENCALLS_TURN_URLS (coturn's static-auth-secret)",
            );
        }
        if !TURN_TTL_SECS.contains(&self.turn_ttl_secs) {
            return invalid("OPENCALLS_TURN_TTL_SECS", "from 60 to 604800 seconds");
        }
        if let Some(addr) = self.media_tcp_addr
            && addr.ip().is_unspecified()
            && self.media_advertised_addrs.is_empty()
        {
            return invalid(
                "OPENCALLS_MEDIA_ADVERTISED_ADDRS",
                "required when OPENCALLS_MEDIA_TCP_ADDR binds an unspecified address",
            );
        }
        Ok(())
    }

    /// Where ICE over TCP listens, if on.
    pub fn media_tcp_bind(&self) -> Option<SocketAddr> {
        self.media_tcp
            .then(|| self.media_tcp_addr.unwrap_or(self.media_addr))
    }

    /// The IPs of the TURN URLs that name an IP (not a host name): media from them is
    /// relayed (`opencalls_media_peers_connected_total{path="relay"}`).
    pub fn turn_ips(&self) -> Vec<IpAddr> {
        self.turn_urls
            .iter()
            .filter_map(|url| {
                let rest = url.split_once(':')?.1;
                let host_port = rest.split(['?', '/']).next()?;
                let host = match host_port.strip_prefix('[') {
                    Some(v6) => v6.split(']').next()?,
                    None => host_port.rsplit_once(':').map_or(host_port, |(h, _)| h),
                };
                host.parse().ok()
            })
            .collect()
    }

    /// The TURN servers of `hello.ice_servers`, if configured.
    pub fn turn_config(&self) -> Option<TurnConfig> {
        let secret = self.turn_secret.clone()?;
        (!self.turn_urls.is_empty()).then(|| TurnConfig {
            urls: self.turn_urls.clone(),
            secret,
            ttl: Duration::from_secs(self.turn_ttl_secs),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_and_turn_come_from_the_environment() {
        let mut config = Config::default();
        config
            .apply_env(|name| match name {
                "OPENCALLS_MEDIA_ADDR" => Some("127.0.0.1:50000".into()),
                "OPENCALLS_TURN_URLS" => Some(
                    "turn:192.0.2.7:3478?transport=udp, turn:192.0.2.7:3478?transport=tcp".into(),
                ),
                "OPENCALLS_TURN_SECRET" => Some("north".into()),
                _ => None,
            })
            .unwrap();
        assert_eq!(config.media_tcp_bind(), Some(config.media_addr));
        assert_eq!(config.sfu_config().tcp_bind, Some(config.media_addr));
        assert_eq!(config.turn_ips(), vec![IpAddr::from([192, 0, 2, 7]); 2]);
        let turn = config.turn_config().expect("TURN configured");
        assert_eq!(turn.urls.len(), 2);
        assert_eq!(turn.secret, "north");
        let signal = config.signal_config();
        assert!(signal.turn.is_some());

        let off = Config::default();
        assert!(off.turn_config().is_none(), "no TURN unless configured");
        let mut no_tcp = Config::default();
        no_tcp
            .apply_env(|n| (n == "OPENCALLS_MEDIA_TCP").then(|| "false".into()))
            .unwrap();
        assert_eq!(no_tcp.media_tcp_bind(), None);

        for env in [
            [("OPENCALLS_TURN_URLS", "turn:192.0.2.7:3478"), ("X", "")],
            [
                ("OPENCALLS_TURN_URLS", "http://192.0.2.7"),
                ("OPENCALLS_TURN_SECRET", "s"),
            ],
            [("OPENCALLS_TURN_TTL_SECS", "5"), ("X", "")],
            [("OPENCALLS_MEDIA_TCP", "maybe"), ("X", "")],
            [("OPENCALLS_MEDIA_TCP_ADDR", "nowhere"), ("X", "")],
        ] {
            let err = Config::default().apply_env(|name| {
                env.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| (*v).to_owned())
            });
            assert!(err.is_err(), "{env:?} must be refused");
        }
    }
}
