//! The delivery-time half of the webhook target policy (the settings check is the other):
//! an address literal in the URL is checked before connecting, and a host name is resolved
//! by [`PublicOnly`], which hands the HTTP client only public addresses. So a name that
//! resolves (or is re-pointed) to loopback, a private range, link-local or a metadata
//! service is never connected to, unless the operator allows private targets.

use opencalls_domain::webhook_target::forbidden_address;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};

/// What the worker says when it refuses a target.
pub(crate) const REFUSED: &str = "refused: the webhook target";

/// A resolver that drops non-public addresses, and fails if none is left.
pub(crate) struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = all
                .iter()
                .copied()
                .filter(|a| forbidden_address(a.ip()).is_none())
                .collect();
            if public.is_empty() {
                let first = all.first().map(|a| a.ip());
                let reason = first.and_then(forbidden_address).unwrap_or("not found");
                let shown = first.map(|ip| format!(" ({ip})")).unwrap_or_default();
                return Err(
                    format!("{REFUSED} {host} resolves to {reason}{shown} addresses only").into(),
                );
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// Refuses a URL whose host is a non-public address literal.
pub(crate) fn check_literal(url: &str) -> Result<(), String> {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return Ok(()); // the request itself reports a malformed URL
    };
    // The URL parser has already turned numeric forms (`2130706433`, `127.1`) into
    // dotted quads, and IPv6 literals come in brackets.
    let host = parsed.host_str().unwrap_or_default();
    let Ok(ip) = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    else {
        return Ok(()); // a name: checked by `PublicOnly` when it is resolved
    };
    match forbidden_address(ip) {
        Some(reason) => Err(format!(
            "{REFUSED} {ip} is {reason} (allowed only with OPENCALLS_WEBHOOK_ALLOW_PRIVATE_TARGETS=true)"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::check_literal;

    #[test]
    fn address_literals_are_checked_in_every_form_the_url_parser_accepts() {
        for refused in [
            "http://127.0.0.1:9/hook",
            "http://2130706433/hook",
            "http://127.1/hook",
            "http://[::1]:8080/",
            "http://[::ffff:10.0.0.1]/",
            "https://169.254.169.254/latest",
        ] {
            let err = check_literal(refused).unwrap_err();
            assert!(
                err.starts_with("refused: the webhook target"),
                "{refused}: {err}"
            );
        }
        for allowed in [
            "https://1.1.1.1/hook",
            "https://hooks.example.com/x",
            "not a url",
        ] {
            assert_eq!(check_literal(allowed), Ok(()), "{allowed}");
        }
    }
}
