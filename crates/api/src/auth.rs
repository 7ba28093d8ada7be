//! `Api-Token` authentication of the Platform API: the master token (compared in constant
//! time) or a valid secondary token, checked by [`crate::guard`]. The request carries which
//! one it was as a [`Credential`] extension, for the few actions only the master token may
//! take.

use crate::ApiError;

/// Which token authenticated a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Credential {
    Master,
    Secondary,
}

/// Refuses unless the request was made with the master token.
pub(crate) fn require_master(credential: Option<&Credential>) -> Result<(), ApiError> {
    match credential {
        Some(Credential::Master) => Ok(()),
        Some(Credential::Secondary) | None => Err(ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            crate::error::code::NOT_ALLOWED,
            "only the master API token manages API tokens",
        )),
    }
}

/// Compares without an early exit, so timing doesn't reveal how much of a guess matched.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn equality() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret1"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
