//! The `## Media` settings (docs/configuration.md) and the start of the SFU.
//!
//! Invariant: the SFU never advertises an address clients cannot reach: binding an
//! unspecified address (`0.0.0.0`, `::`) requires explicit advertised addresses.

use crate::config::{Config, ConfigError};
use opencalls_sfu::{SfuConfig, SfuEvents, SfuHandle};
use std::net::SocketAddr;
use std::time::Duration;

/// Shortest connect/transport timeout accepted; lower values would drop healthy peers on
/// the first scheduling hiccup (tests use 1 s).
const MIN_TIMEOUT_MS: u64 = 500;
/// Most media workers (`OPENCALLS_MEDIA_WORKERS`); each takes a UDP (and TCP) port.
const MAX_MEDIA_WORKERS: usize = 256;
/// Highest `SCHED_FIFO` priority (`OPENCALLS_MEDIA_REALTIME_PRIORITY`).
const MAX_REALTIME_PRIORITY: u8 = 99;
/// Most datagrams read between two copies of a fan-out (`OPENCALLS_MEDIA_FAN_OUT_READS`;
/// the shell reads at most `RECV_BURST` = 256 per flush anyway).
const MAX_FAN_OUT_READS: usize = 256;
/// Most advertised addresses (each becomes an ICE candidate in every answer).
const MAX_ADVERTISED: usize = 8;

impl Config {
    /// `OPENCALLS_MEDIA_ADDR`, `OPENCALLS_MEDIA_ADVERTISED_ADDRS` (comma-separated
    /// `IP:port`), `OPENCALLS_MEDIA_ACTIVE_SPEAKERS`, `OPENCALLS_MEDIA_WORKERS`,
    /// `OPENCALLS_MEDIA_REALTIME_PRIORITY`, `OPENCALLS_MEDIA_FAN_OUT_READS`,
    /// `OPENCALLS_MEDIA_PIN_WORKERS` (`true`/`false`).
    pub(crate) fn apply_media_env(
        &mut self,
        var: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        if let Some(raw) = var("OPENCALLS_MEDIA_ADDR").filter(|v| !v.is_empty()) {
            self.media_addr = raw.trim().parse().map_err(|e| ConfigError::Invalid {
                name: "OPENCALLS_MEDIA_ADDR",
                message: format!("expected IP:port, got '{raw}': {e}"),
            })?;
        }
        if let Some(raw) = var("OPENCALLS_MEDIA_ADVERTISED_ADDRS") {
            let mut addrs = Vec::new();
            for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let addr: SocketAddr = part.parse().map_err(|e| ConfigError::Invalid {
                    name: "OPENCALLS_MEDIA_ADVERTISED_ADDRS",
                    message: format!("expected IP:port, got '{part}': {e}"),
                })?;
                addrs.push(addr);
            }
            self.media_advertised_addrs = addrs;
        }
        if let Some(n) = integer_in(var, "OPENCALLS_MEDIA_ACTIVE_SPEAKERS", 1..=16, "1")? {
            self.media_active_speakers = n;
        }
        if let Some(n) = integer_in(
            var,
            "OPENCALLS_MEDIA_WORKERS",
            0..=MAX_MEDIA_WORKERS,
            "0 (one per core)",
        )? {
            self.media_workers = n;
        }
        if let Some(n) = integer_in(
            var,
            "OPENCALLS_MEDIA_REALTIME_PRIORITY",
            0..=MAX_REALTIME_PRIORITY,
            "0 (normal scheduling)",
        )? {
            self.media_realtime_priority = n;
        }
        if let Some(n) = integer_in(
            var,
            "OPENCALLS_MEDIA_FAN_OUT_READS",
            0..=MAX_FAN_OUT_READS,
            "0 (off)",
        )? {
            self.media_fan_out_reads = n;
        }
        if let Some(pin) = crate::config::boolean_var(var, "OPENCALLS_MEDIA_PIN_WORKERS")? {
            self.media_pin_workers = pin;
        }
        for (name, slot) in [
            (
                "OPENCALLS_MEDIA_CONNECT_TIMEOUT_MS",
                &mut self.media_connect_timeout_ms,
            ),
            (
                "OPENCALLS_MEDIA_TRANSPORT_TIMEOUT_MS",
                &mut self.media_transport_timeout_ms,
            ),
        ] {
            if let Some(raw) = var(name).filter(|v| !v.is_empty()) {
                *slot = match raw.trim().parse::<u64>() {
                    Ok(n) if n >= MIN_TIMEOUT_MS => n,
                    _ => {
                        return Err(ConfigError::Invalid {
                            name,
                            message: format!(
                                "expected an integer >= {MIN_TIMEOUT_MS}, got '{raw}'"
                            ),
                        });
                    }
                };
            }
        }
        self.validate_media()
    }

    /// Checks the media settings (also those read from the file).
    pub fn validate_media(&self) -> Result<(), ConfigError> {
        let invalid = |name, message: &str| {
            Err(ConfigError::Invalid {
                name,
                message: message.to_owned(),
            })
        };
        if self.media_addr.ip().is_unspecified() && self.media_advertised_addrs.is_empty() {
            return invalid(
                "OPENCALLS_MEDIA_ADVERTISED_ADDRS",
                "required when OPENCALLS_MEDIA_ADDR binds an unspecified address",
            );
        }
        if self.media_advertised_addrs.len() > MAX_ADVERTISED {
            return invalid("OPENCALLS_MEDIA_ADVERTISED_ADDRS", "at most 8 addresses");
        }
        let bad = self
            .media_advertised_addrs
            .iter()
            .any(|a| a.ip().is_unspecified() || a.port() == 0);
        if bad {
            return invalid(
                "OPENCALLS_MEDIA_ADVERTISED_ADDRS",
                "each address needs a specific IP and a non-zero port",
            );
        }
        if self.media_connect_timeout_ms < MIN_TIMEOUT_MS
            || self.media_transport_timeout_ms < MIN_TIMEOUT_MS
        {
            return invalid("media_*_timeout_ms", "must be at least 500");
        }
        if self.media_event_queue == 0 {
            return invalid("media_event_queue", "must be at least 1");
        }
        if !(1..=16).contains(&self.media_active_speakers) {
            return invalid("media_active_speakers", "must be from 1 to 16");
        }
        if self.media_workers > MAX_MEDIA_WORKERS {
            return invalid("media_workers", "must be from 0 (one per core) to 256");
        }
        if self.media_fan_out_reads > MAX_FAN_OUT_READS {
            return invalid("media_fan_out_reads", "must be from 0 (off) to 256");
        }
        if self.media_realtime_priority > MAX_REALTIME_PRIORITY {
            return invalid(
                "media_realtime_priority",
                "must be from 0 (normal scheduling) to 99",
            );
        }
        Ok(())
    }

    /// The SFU's settings.
    pub fn sfu_config(&self) -> SfuConfig {
        SfuConfig {
            bind: self.media_addr,
            advertised: self.media_advertised_addrs.clone(),
            tcp_bind: self.media_tcp_bind(),
            relay_ips: self.turn_ips(),
            default_active_speakers: self.media_active_speakers,
            connect_timeout: Duration::from_millis(self.media_connect_timeout_ms),
            transport_timeout: Duration::from_millis(self.media_transport_timeout_ms),
            event_queue: self.media_event_queue,
            workers: self.media_workers,
            realtime_priority: (self.media_realtime_priority > 0)
                .then_some(self.media_realtime_priority),
            fan_out_reads: self.media_fan_out_reads,
            pin_workers: self.media_pin_workers,
            ..SfuConfig::default()
        }
    }

    /// The media bridge's settings.
    pub fn media_config(&self) -> opencalls_signal::MediaConfig {
        opencalls_signal::MediaConfig {
            active_speakers: self.media_active_speakers,
        }
    }
}

/// The integer in `var(name)` (unset or empty: `None`) if it lies within `range`; `low`
/// describes the range's start in the error ("expected an integer from {low} to {end}").
fn integer_in<T>(
    var: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    range: std::ops::RangeInclusive<T>,
    low: &str,
) -> Result<Option<T>, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    let Some(raw) = var(name).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    match raw.trim().parse::<T>() {
        Ok(n) if range.contains(&n) => Ok(Some(n)),
        _ => Err(ConfigError::Invalid {
            name,
            message: format!(
                "expected an integer from {low} to {}, got '{raw}'",
                range.end()
            ),
        }),
    }
}

/// Binds the media UDP port and starts the SFU's thread.
pub(crate) fn start(config: &Config) -> Result<(SfuHandle, SfuEvents), crate::ServerError> {
    opencalls_sfu::Sfu::start(config.sfu_config())
        .map_err(|e| crate::ServerError::Media(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_knobs_come_from_the_environment() {
        let mut config = Config::default();
        config
            .apply_env(|name| match name {
                "OPENCALLS_MEDIA_ADDR" => Some("0.0.0.0:50000".into()),
                "OPENCALLS_MEDIA_ADVERTISED_ADDRS" => {
                    Some("192.0.2.7:50000, [2001:db8::1]:50000".into())
                }
                "OPENCALLS_MEDIA_ACTIVE_SPEAKERS" => Some("4".into()),
                "OPENCALLS_MEDIA_WORKERS" => Some("3".into()),
                "OPENCALLS_MEDIA_REALTIME_PRIORITY" => Some("10".into()),
                "OPENCALLS_MEDIA_FAN_OUT_READS" => Some("4".into()),
                "OPENCALLS_MEDIA_PIN_WORKERS" => Some("false".into()),
                _ => None,
            })
            .unwrap();
        let sfu = config.sfu_config();
        assert_eq!(sfu.bind.port(), 50000);
        assert_eq!(sfu.advertised.len(), 2);
        assert_eq!(sfu.default_active_speakers, 4);
        assert_eq!(sfu.workers, 3);
        assert_eq!(sfu.realtime_priority, Some(10));
        assert_eq!(sfu.fan_out_reads, 4);
        assert!(!sfu.pin_workers);
        assert!(Config::default().sfu_config().pin_workers);
        assert_eq!(Config::default().sfu_config().fan_out_reads, 0);
        assert_eq!(Config::default().sfu_config().realtime_priority, None);
        for (name, value) in [
            ("OPENCALLS_MEDIA_ADDR", "0.0.0.0:50000"),
            ("OPENCALLS_MEDIA_ADDR", "nowhere"),
            ("OPENCALLS_MEDIA_ADVERTISED_ADDRS", "192.0.2.7"),
            ("OPENCALLS_MEDIA_ADVERTISED_ADDRS", "0.0.0.0:5"),
            ("OPENCALLS_MEDIA_ACTIVE_SPEAKERS", "0"),
            ("OPENCALLS_MEDIA_TRANSPORT_TIMEOUT_MS", "10"),
            ("OPENCALLS_MEDIA_WORKERS", "257"),
            ("OPENCALLS_MEDIA_WORKERS", "two"),
            ("OPENCALLS_MEDIA_REALTIME_PRIORITY", "100"),
            ("OPENCALLS_MEDIA_REALTIME_PRIORITY", "-1"),
            ("OPENCALLS_MEDIA_FAN_OUT_READS", "257"),
            ("OPENCALLS_MEDIA_PIN_WORKERS", "sometimes"),
        ] {
            let err = Config::default().apply_env(|n| (n == name).then(|| value.into()));
            assert!(err.is_err(), "{name}={value} must be refused");
        }
    }

    /// Both ends of each integer setting's range are taken as given.
    #[test]
    fn media_integers_accept_both_ends_of_their_range() {
        let set = |name: &str, value: &str| {
            let mut config = Config::default();
            config
                .apply_env(|n| (n == name).then(|| value.into()))
                .unwrap_or_else(|e| panic!("{name}={value} refused: {e}"));
            config.sfu_config()
        };
        let workers = MAX_MEDIA_WORKERS.to_string();
        let priority = MAX_REALTIME_PRIORITY.to_string();
        let reads = MAX_FAN_OUT_READS.to_string();
        assert_eq!(
            set("OPENCALLS_MEDIA_ACTIVE_SPEAKERS", "1").default_active_speakers,
            1
        );
        assert_eq!(
            set("OPENCALLS_MEDIA_ACTIVE_SPEAKERS", "16").default_active_speakers,
            16
        );
        assert_eq!(
            set("OPENCALLS_MEDIA_WORKERS", &workers).workers,
            MAX_MEDIA_WORKERS
        );
        assert_eq!(
            set("OPENCALLS_MEDIA_REALTIME_PRIORITY", "0").realtime_priority,
            None
        );
        assert_eq!(
            set("OPENCALLS_MEDIA_REALTIME_PRIORITY", &priority).realtime_priority,
            Some(MAX_REALTIME_PRIORITY)
        );
        assert_eq!(set("OPENCALLS_MEDIA_FAN_OUT_READS", "0").fan_out_reads, 0);
        assert_eq!(
            set("OPENCALLS_MEDIA_FAN_OUT_READS", &reads).fan_out_reads,
            MAX_FAN_OUT_READS
        );
    }
}
