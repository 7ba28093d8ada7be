//! The test's own network: a namespace for the server and a veth pair to the test's
//! namespace, with two client addresses on the test's end (one per member, so nftables can
//! treat them differently). Everything is removed on drop.
//!
//! Invariant: every name and subnet is derived from the process id and the test's index, so
//! concurrent tests and concurrent runs never share a namespace, an interface or a route.

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;

pub struct Topology {
    pub server_ns: String,
    host_if: String,
    /// The server's address in its namespace.
    pub server_ip: IpAddr,
    /// The first member's media address (the one a network takes things from).
    pub client_ip_a: IpAddr,
    /// The second member's media address (and the signaling source of both).
    pub client_ip_b: IpAddr,
    subnet: [u8; 3],
}

/// Runs a command; `Err` with its output when it fails or cannot start.
fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Like [`run`], failing the test: the namespace exists, so this must work.
fn must(program: &str, args: &[&str]) -> String {
    run(program, args).unwrap_or_else(|e| panic!("{e}"))
}

impl Topology {
    /// Builds the topology for test number `index`, or prints why it cannot (then the
    /// caller skips).
    pub fn create(index: u8) -> Option<Topology> {
        for (tool, package) in [("nft", "nftables"), ("turnserver", "coturn")] {
            if let Err(e) = run("sh", &["-c", &format!("command -v {tool}")]) {
                println!("SKIPPED: {package} is not installed ({e}); ./scripts/test installs it");
                return None;
            }
        }
        let pid = std::process::id();
        let server_ns = format!("ocs{pid}x{index}");
        if let Err(e) = run("ip", &["netns", "add", &server_ns]) {
            println!("SKIPPED: cannot create a network namespace (needs root): {e}");
            return None;
        }
        let subnet = [10, 64 + index, (pid % 250) as u8 + 1];
        let ip = |last: u8| IpAddr::V4(Ipv4Addr::new(subnet[0], subnet[1], subnet[2], last));
        let topo = Topology {
            host_if: format!("och{}x{index}", pid % 100_000),
            server_ip: ip(2),
            client_ip_a: ip(11),
            client_ip_b: ip(1),
            server_ns,
            subnet,
        };
        topo.wire();
        Some(topo)
    }

    fn cidr(&self, last: u8) -> String {
        let [a, b, c] = self.subnet;
        format!("{a}.{b}.{c}.{last}/24")
    }

    fn wire(&self) {
        let (ns, host) = (self.server_ns.as_str(), self.host_if.as_str());
        let peer_if = format!("{host}s");
        must(
            "ip",
            &[
                "link", "add", host, "type", "veth", "peer", "name", &peer_if,
            ],
        );
        must("ip", &["link", "set", &peer_if, "netns", ns]);
        must("ip", &["addr", "add", &self.cidr(1), "dev", host]);
        must("ip", &["addr", "add", &self.cidr(11), "dev", host]);
        must("ip", &["link", "set", host, "up"]);
        let exec = |args: &[&str]| {
            let mut full = vec!["netns", "exec", ns, "ip"];
            full.extend_from_slice(args);
            must("ip", &full);
        };
        exec(&["addr", "add", &self.cidr(2), "dev", &peer_if]);
        exec(&["link", "set", &peer_if, "up"]);
        exec(&["link", "set", "lo", "up"]);
    }

    /// IPv6 on the link too (no duplicate address detection, so the addresses are usable at
    /// once): returns (client address, server address).
    pub fn add_ipv6(&self) -> (IpAddr, IpAddr) {
        let [_, b, c] = self.subnet;
        let ip = |last: u16| {
            IpAddr::V6(std::net::Ipv6Addr::new(
                0xfd00,
                u16::from(b),
                u16::from(c),
                0,
                0,
                0,
                0,
                last,
            ))
        };
        let (client, server) = (ip(1), ip(2));
        let peer_if = format!("{}s", self.host_if);
        must(
            "ip",
            &[
                "-6",
                "addr",
                "add",
                &format!("{client}/64"),
                "dev",
                &self.host_if,
                "nodad",
            ],
        );
        let ns = self.server_ns.as_str();
        let server_cidr = format!("{server}/64");
        must(
            "ip",
            &[
                "netns",
                "exec",
                ns,
                "ip",
                "-6",
                "addr",
                "add",
                &server_cidr,
                "dev",
                &peer_if,
                "nodad",
            ],
        );
        (client, server)
    }

    /// nftables in the server's namespace: every UDP datagram from `from` is dropped
    /// (counted, see [`Topology::udp_dropped`]).
    pub fn drop_udp_from(&self, from: IpAddr) {
        let ns = self.server_ns.as_str();
        let nft = |rule: &str| must("ip", &["netns", "exec", ns, "nft", rule]);
        nft("add table inet reach");
        nft("add chain inet reach input { type filter hook input priority 0; policy accept; }");
        nft(&format!(
            "add rule inet reach input ip saddr {from} meta l4proto udp counter drop"
        ));
    }

    /// nftables in the server's namespace: over the veth link only TCP to `ports` gets in
    /// (a network that lets nothing but the web and TURN-over-TCP out). Traffic inside the
    /// namespace (the relay to the SFU) is untouched.
    pub fn allow_only_tcp(&self, ports: &[u16]) {
        let ns = self.server_ns.as_str();
        let link = format!("iifname \"{}s\"", self.host_if);
        let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
        let nft = |rule: &str| must("ip", &["netns", "exec", ns, "nft", rule]);
        nft("add table inet reach");
        nft("add chain inet reach input { type filter hook input priority 0; policy accept; }");
        nft(&format!(
            "add rule inet reach input {link} tcp dport {{ {} }} accept",
            ports.join(", ")
        ));
        nft(&format!("add rule inet reach input {link} drop"));
    }

    /// Datagrams the rule of [`Topology::drop_udp_from`] dropped so far.
    pub fn udp_dropped(&self) -> u64 {
        let ns = self.server_ns.as_str();
        let rules = must(
            "ip",
            &["netns", "exec", ns, "nft", "list chain inet reach input"],
        );
        rules
            .split_whitespace()
            .skip_while(|w| *w != "packets")
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    }

    /// The first member's address changes (Wi-Fi → cellular): a new one is added and the old
    /// one removed, so its sockets on the old address are dead. Returns the new address.
    pub fn move_client_a(&self) -> IpAddr {
        must("ip", &["addr", "add", &self.cidr(12), "dev", &self.host_if]);
        must("ip", &["addr", "del", &self.cidr(11), "dev", &self.host_if]);
        let [a, b, c] = self.subnet;
        IpAddr::V4(Ipv4Addr::new(a, b, c, 12))
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        // Deleting the namespace deletes its end of the veth pair, and with it ours.
        let _ = run("ip", &["netns", "del", &self.server_ns]);
        let _ = run("ip", &["link", "del", &self.host_if]);
    }
}
