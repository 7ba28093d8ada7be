//! The ICE servers a client is given in `hello`: the configured TURN URLs with time-limited
//! credentials in the TURN REST API scheme that coturn's `use-auth-secret` checks
//! (`username` = `<expiry unix seconds>:<user id>`, `credential` =
//! base64(HMAC-SHA1(shared secret, username))).
//!
//! Invariants: the shared secret never leaves the server; without TURN configured the list
//! is empty. Expiry is wall-clock time because the TURN server compares it with its own
//! wall clock.

use base64::Engine;
use hmac::{Hmac, Mac};
use opencalls_domain::UserId;
use opencalls_protocol::IceServer;
use sha1::Sha1;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A TURN server (or several, one secret) whose credentials the server mints.
#[derive(Clone, Debug)]
pub struct TurnConfig {
    /// `turn:host:port?transport=udp|tcp` / `turns:host:port` URLs.
    pub urls: Vec<String>,
    /// coturn's `static-auth-secret`.
    pub secret: String,
    /// How long a credential is valid after the `hello` that carried it.
    pub ttl: Duration,
}

impl TurnConfig {
    /// The `iceServers` entry for `user` at wall-clock time `now`.
    pub fn ice_server(&self, user: &UserId, now: SystemTime) -> IceServer {
        let now = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let expiry = (now + self.ttl).as_secs();
        let username = format!("{expiry}:{}", user.as_str());
        IceServer {
            urls: self.urls.clone(),
            credential: Some(turn_credential(self.secret.as_bytes(), &username)),
            username: Some(username),
        }
    }
}

/// The ICE servers for a `hello` (empty without TURN).
pub fn ice_servers(turn: Option<&TurnConfig>, user: &UserId) -> Vec<IceServer> {
    turn.map(|t| vec![t.ice_server(user, SystemTime::now())])
        .unwrap_or_default()
}

/// base64(HMAC-SHA1(secret, username)): the TURN REST API password.
pub fn turn_credential(secret: &[u8], username: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_matches_the_turn_rest_api_scheme() {
        // Computed independently: printf '1700003600:alice' |
        //   openssl dgst -sha1 -hmac 'north' -binary | base64
        assert_eq!(
            turn_credential(b"north", "1700003600:alice"),
            "wjwSXO2ch1B6VaLTLMy2Avn5O9o="
        );
        let turn = TurnConfig {
            urls: vec!["turn:192.0.2.1:3478?transport=tcp".into()],
            secret: "north".into(),
            ttl: Duration::from_secs(3600),
        };
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let server = turn.ice_server(&UserId::from_trusted("alice".into()), at);
        assert_eq!(server.username.as_deref(), Some("1700003600:alice"));
        assert_eq!(
            server.credential.as_deref(),
            Some("wjwSXO2ch1B6VaLTLMy2Avn5O9o=")
        );
        assert_eq!(server.urls, turn.urls);
    }
}
