//! The VoIP push settings (docs/push.md): read from the environment into `Config`, and
//! turned into the push worker's configuration (key files read once, at start-up).
//!
//! Invariant: a provider is enabled only when all of its settings are given; a partial one
//! stops the server with a message naming what is missing, rather than ringing silently.

use crate::config::{Config, ConfigError};
use opencalls_push::{ApnsConfig, FcmConfig, PushConfig};
use std::path::{Path, PathBuf};
use std::time::Duration;

fn read(name: &'static str, path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid {
        name,
        message: format!("reading {}: {e}", path.display()),
    })
}

fn invalid(name: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        name,
        message: message.into(),
    }
}

impl Config {
    /// `OPENCALLS_APNS_*`, `OPENCALLS_FCM_*` and `OPENCALLS_PUSH_*`.
    pub(crate) fn apply_push_env(
        &mut self,
        var: &impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        let text = |name: &str| var(name).filter(|v| !v.is_empty());
        if let Some(path) = text("OPENCALLS_APNS_KEY_FILE") {
            self.apns_key_file = Some(PathBuf::from(path));
        }
        let strings: [(&str, &mut Option<String>); 3] = [
            ("OPENCALLS_APNS_KEY_ID", &mut self.apns_key_id),
            ("OPENCALLS_APNS_TEAM_ID", &mut self.apns_team_id),
            ("OPENCALLS_APNS_BUNDLE_ID", &mut self.apns_bundle_id),
        ];
        for (name, field) in strings {
            if let Some(value) = text(name) {
                *field = Some(value);
            }
        }
        if let Some(url) = text("OPENCALLS_APNS_ENDPOINT") {
            self.apns_endpoint = url.trim_end_matches('/').to_owned();
        }
        if let Some(path) = text("OPENCALLS_FCM_SERVICE_ACCOUNT_FILE") {
            self.fcm_service_account_file = Some(PathBuf::from(path));
        }
        if let Some(url) = text("OPENCALLS_FCM_ENDPOINT") {
            self.fcm_endpoint = url.trim_end_matches('/').to_owned();
        }
        let numbers: [(&'static str, &mut u64); 2] = [
            ("OPENCALLS_PUSH_MAX_ATTEMPTS", &mut self.push_max_attempts),
            ("OPENCALLS_PUSH_RETRY_BASE_MS", &mut self.push_retry_base_ms),
        ];
        for (name, field) in numbers {
            if let Some(value) = text(name) {
                *field = value
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| {
                        invalid(name, format!("expected an integer > 0, got '{value}'"))
                    })?;
            }
        }
        Ok(())
    }

    fn apns_config(&self) -> Result<Option<ApnsConfig>, ConfigError> {
        let Some(key_file) = &self.apns_key_file else {
            return Ok(None);
        };
        let need = |name: &'static str, v: &Option<String>| {
            v.clone()
                .ok_or_else(|| invalid(name, "is required with OPENCALLS_APNS_KEY_FILE"))
        };
        Ok(Some(ApnsConfig {
            endpoint: self.apns_endpoint.clone(),
            key_pem: read("OPENCALLS_APNS_KEY_FILE", key_file)?,
            key_id: need("OPENCALLS_APNS_KEY_ID", &self.apns_key_id)?,
            team_id: need("OPENCALLS_APNS_TEAM_ID", &self.apns_team_id)?,
            bundle_id: need("OPENCALLS_APNS_BUNDLE_ID", &self.apns_bundle_id)?,
        }))
    }

    fn fcm_config(&self) -> Result<Option<FcmConfig>, ConfigError> {
        let Some(file) = &self.fcm_service_account_file else {
            return Ok(None);
        };
        let name = "OPENCALLS_FCM_SERVICE_ACCOUNT_FILE";
        let json = read(name, file)?;
        FcmConfig::from_service_account(&json, self.fcm_endpoint.clone())
            .map(Some)
            .map_err(|e| invalid(name, e.to_string()))
    }

    /// The push worker's configuration; `None` when no provider is configured.
    pub fn push_config(&self) -> Result<Option<PushConfig>, ConfigError> {
        let config = PushConfig {
            apns: self.apns_config()?,
            fcm: self.fcm_config()?,
            max_attempts: u32::try_from(self.push_max_attempts).unwrap_or(u32::MAX),
            retry_base: Duration::from_millis(self.push_retry_base_ms),
        };
        Ok(config.is_enabled().then_some(config))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn apply(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut config = Config::default();
        config.apply_push_env(&|name: &str| vars.get(name).cloned())?;
        Ok(config)
    }

    #[test]
    fn pushes_are_off_until_a_provider_is_configured() {
        let config = apply(&[]).unwrap();
        assert!(config.push_config().unwrap().is_none());
        assert_eq!(config.apns_endpoint, opencalls_push::APNS_PRODUCTION);
    }

    #[test]
    fn a_partial_or_unreadable_provider_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("key.p8");
        std::fs::write(&key, "not a key").unwrap();
        let key_path = key.to_string_lossy().into_owned();
        let config = apply(&[("OPENCALLS_APNS_KEY_FILE", &key_path)]).unwrap();
        let err = config.push_config().unwrap_err().to_string();
        assert!(err.contains("OPENCALLS_APNS_KEY_ID"), "{err}");
        let config =
            apply(&[("OPENCALLS_FCM_SERVICE_ACCOUNT_FILE", "/no/such/file.json")]).unwrap();
        let err = config.push_config().unwrap_err().to_string();
        assert!(err.contains("OPENCALLS_FCM_SERVICE_ACCOUNT_FILE"), "{err}");
        let err = apply(&[("OPENCALLS_PUSH_MAX_ATTEMPTS", "0")]).unwrap_err();
        assert!(
            err.to_string().contains("OPENCALLS_PUSH_MAX_ATTEMPTS"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
