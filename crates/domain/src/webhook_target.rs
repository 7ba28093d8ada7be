//! Which webhook targets are refused: a webhook `POST` made from inside the server's network
//! must not reach what only that network can (loopback, private ranges, link-local, cloud
//! metadata services), unless the operator allows it.
//!
//! Pure functions: the settings check applies [`check_url_host`] to the URL as written, and
//! the delivery worker applies [`forbidden_address`] to every address a host name resolves
//! to when it connects (names can point anywhere and change), so both agree on one policy.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is refused as a webhook target; `None` if it is a public address.
pub fn forbidden_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip == Ipv4Addr::new(169, 254, 169, 254) || ip == Ipv4Addr::new(100, 100, 100, 200) {
        return Some("a cloud metadata address");
    }
    let reason = match (a, b) {
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_unspecified() || a == 0 => "unspecified",
        _ if ip.is_private() => "private",
        _ if ip.is_link_local() => "link-local",
        (100, 64..=127) => "shared (carrier-grade NAT)",
        (192, 0) if c == 0 => "reserved",
        (198, 18..=19) => "reserved",
        _ if ip.is_multicast() || ip.is_broadcast() || a >= 240 => "reserved",
        _ => return None,
    };
    Some(reason)
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) carry an IPv4 address.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let s = ip.segments();
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return forbidden_v4(Ipv4Addr::new(a, b, c, d));
    }
    if s[..4] == [0xfd00, 0x0ec2, 0, 0] {
        return Some("a cloud metadata address");
    }
    let reason = match s[0] {
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_unspecified() => "unspecified",
        0xfc00..=0xfdff => "private (unique local)",
        0xfe80..=0xfebf => "link-local",
        0xff00..=0xffff => "reserved",
        _ => return None,
    };
    Some(reason)
}

/// Checks the host of an `http(s)://` URL as written: an address literal (also in the
/// numeric forms URL parsers accept, like `2130706433` or `127.1`) or a name that is local
/// by definition (`localhost`, `*.localhost`, `metadata.google.internal`) is refused with
/// the reason. Other names are checked when delivery resolves them.
pub fn check_url_host(host: &str) -> Result<(), String> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return match forbidden_address(ip) {
            Some(reason) => Err(format!("{ip} is {reason}")),
            None => Ok(()),
        };
    }
    if host == "localhost" || host.ends_with(".localhost") {
        return Err(format!("{host} is loopback"));
    }
    if host == "metadata.google.internal" || host == "metadata" {
        return Err(format!("{host} is a cloud metadata address"));
    }
    if is_numeric_ipv4(&host) {
        return Err(format!(
            "{host} is an address in a numeric form other than a dotted quad"
        ));
    }
    Ok(())
}

/// `2130706433`, `0x7f.1`, `127.1`: every label a decimal or `0x` hex number.
fn is_numeric_ipv4(host: &str) -> bool {
    !host.is_empty()
        && host.split('.').all(|label| {
            let digits = label
                .strip_prefix("0x")
                .map(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()));
            digits.unwrap_or_else(|| !label.is_empty() && label.bytes().all(|b| b.is_ascii_digit()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_private_and_metadata_addresses_are_refused_public_ones_not() {
        for refused in [
            "127.0.0.1",
            "127.8.9.10",
            "0.0.0.0",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.1.1",
            "100.64.0.1",
            "100.100.100.200",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "fd00:ec2::254",
            "ff02::1",
        ] {
            let ip: IpAddr = refused.parse().unwrap();
            assert!(forbidden_address(ip).is_some(), "{refused}");
        }
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
        ] {
            let ip: IpAddr = public.parse().unwrap();
            assert_eq!(forbidden_address(ip), None, "{public}");
        }
    }

    #[test]
    fn url_hosts_are_checked_as_written() {
        for refused in [
            "127.0.0.1",
            "[::1]",
            "LOCALHOST",
            "localhost.",
            "api.localhost",
            "2130706433",
            "0x7f.1",
            "127.1",
            "metadata.google.internal",
            "169.254.169.254",
        ] {
            assert!(check_url_host(refused).is_err(), "{refused}");
        }
        for allowed in [
            "example.com",
            "hooks.example.com",
            "bad.cafe",
            "1.1.1.1",
            "[2606:4700::1111]",
        ] {
            assert_eq!(check_url_host(allowed), Ok(()), "{allowed}");
        }
    }
}
