//! Transports: an unspecified bind (or 1:1 NAT) with advertised addresses, and the ICE-TCP
//! and connect-path bookkeeping the core does for the shell.

use super::*;
use crate::api::Path;

#[test]
fn an_unspecified_bind_with_advertised_addresses_connects() {
    // Datagrams arrive addressed to 0.0.0.0:3478; str0m only answers STUN addressed to one
    // of its candidates, so the core must name the advertised one.
    let cfg = SfuConfig {
        advertised: vec![SocketAddr::from(SFU_ADDR)],
        ..SfuConfig::default()
    };
    let mut net = Net::bound(cfg, SocketAddr::from(([0, 0, 0, 0], SFU_ADDR.1)));
    net.core
        .create_group(gid("g"), Policy::Video)
        .expect("group");
    net.join_pair("g");
    assert!(net.client("b").from(1).video > 0, "b receives a's video");
    assert!(net.client("a").from(2).audio > 0, "a receives b's audio");
    let paths: Vec<Path> = net
        .events
        .iter()
        .filter_map(|e| match e {
            SfuEvent::PeerConnected { path, .. } => Some(*path),
            _ => None,
        })
        .collect();
    assert_eq!(paths, vec![Path::Udp, Path::Udp]);
}

#[test]
fn answers_carry_passive_tcp_candidates_beside_udp() {
    let public = SocketAddr::from(([203, 0, 113, 7], 50000));
    let cfg = SfuConfig {
        advertised: vec![public],
        ..SfuConfig::default()
    };
    let mut net = Net::bound(cfg, SocketAddr::from(([0, 0, 0, 0], 50000)));
    net.core.enable_tcp(SocketAddr::from(([0, 0, 0, 0], 50001)));
    net.core
        .create_group(gid("g"), Policy::Video)
        .expect("group");
    let addr = SocketAddr::from(([10, 0, 1, 1], 5000));
    let (_client, offer) = Client::new(ClientConfig::publisher(1, 1), addr, net.now);
    let request = AddPeer {
        group: gid("g"),
        peer: pid("a"),
        role: Role::Participant,
        offer,
        replaces: None,
    };
    let answer = net.core.add_peer(net.now, request).expect("answer");
    let candidates: Vec<&str> = answer
        .lines()
        .filter(|l| l.starts_with("a=candidate:"))
        .collect();
    assert!(
        candidates
            .iter()
            .any(|c| c.contains(" udp ") && c.contains("203.0.113.7 50000 typ host")),
        "{candidates:?}"
    );
    assert!(
        candidates.iter().any(
            |c| c.contains(" tcp ") && c.contains("203.0.113.7 50001 typ host tcptype passive")
        ),
        "{candidates:?}"
    );
    assert_eq!(candidates.len(), 2, "{candidates:?}");
}
