//! Connect, transport and media timeouts, on the virtual clock: each fires after its
//! configured delay (within one housekeeping interval) and not before.

use std::time::Duration;

use super::client::ClientConfig;
use super::{Net, WINDOW, pid};
use crate::api::{DisconnectReason, Kind, Policy, Role, SfuEvent};
use crate::config::SfuConfig;

fn net(cfg: SfuConfig) -> Net {
    Net::with_config_and_group(cfg, "room", Policy::Video)
}

/// How many audio `MediaStarted` (or, if `stopped`, `MediaStopped`) events `net` saw.
fn audio_events(net: &Net, stopped: bool) -> usize {
    net.count(|e| match e {
        SfuEvent::MediaStarted {
            kind: Kind::Audio, ..
        } => !stopped,
        SfuEvent::MediaStopped {
            kind: Kind::Audio, ..
        } => stopped,
        _ => false,
    })
}

#[test]
fn a_peer_that_never_connects_is_removed_after_the_connect_timeout() {
    // Shorter than the default 15 s: str0m's own ICE gives up on a peer that never sent
    // STUN at about 15 s, which the core reports as `TransportLost`.
    let cfg = SfuConfig {
        connect_timeout: Duration::from_secs(5),
        ..SfuConfig::default()
    };
    let (timeout, tick) = (cfg.connect_timeout, cfg.housekeeping_interval);
    let mut net = net(cfg);
    net.join_silent("room", "ghost", ClientConfig::publisher(1, 1));
    net.run_for(timeout - tick);
    assert_eq!(net.disconnected("ghost"), None, "not before the timeout");
    assert_eq!(net.core.stats().peers, 1);
    net.run_for(tick * 2);
    assert_eq!(
        net.disconnected("ghost"),
        Some(DisconnectReason::ConnectTimeout)
    );
    let stats = net.core.stats();
    assert_eq!((stats.peers, stats.demux_entries), (0, 0));
    assert!(!net.connected("ghost"));
}

#[test]
fn a_vanished_client_is_removed_as_transport_lost() {
    let cfg = SfuConfig {
        transport_timeout: Duration::from_secs(2),
        ..SfuConfig::default()
    };
    let (timeout, tick) = (cfg.transport_timeout, cfg.housekeeping_interval);
    let mut net = net(cfg);
    net.join_pair("room");
    assert!(net.connected("a") && net.client("b").from(1).audio > 0);
    let mark = net.events.len();
    // The client vanishes without a goodbye: only the silence tells.
    net.client_mut("a").online = false;
    let now = net.now;
    net.client_mut("b").set_publishing(false, now);
    let gone = net.now;
    net.run_until("a lost", timeout + tick * 2, |n| {
        n.disconnected("a").is_some()
    });
    assert_eq!(net.disconnected("a"), Some(DisconnectReason::TransportLost));
    assert!(net.now - gone <= timeout + tick + Duration::from_millis(10));
    for kind in [Kind::Audio, Kind::Video] {
        let stopped = net.events_where(|e| {
            matches!(e, SfuEvent::MediaStopped { peer, kind: k, .. } if *peer == pid("a") && *k == kind)
        });
        assert_eq!(stopped.len(), 1, "{kind:?} stopped once");
    }
    assert_eq!(
        net.routed_since(mark, "b"),
        vec![(Kind::Audio, None), (Kind::Video, None)],
        "b's slots that carried a are idle"
    );
    let stats = net.core.stats();
    assert_eq!((stats.peers, stats.demux_entries), (1, 2));
}

#[test]
fn a_silent_track_is_reported_stopped_and_started_again() {
    let cfg = SfuConfig::default();
    let (timeout, tick) = (cfg.media_timeout, cfg.housekeeping_interval);
    let mut net = net(cfg);
    net.join(
        "room",
        "a",
        Role::Participant,
        ClientConfig::speaker(1, -20, 0),
    )
    .unwrap();
    net.run_for(WINDOW);
    let started = |n: &Net| audio_events(n, false);
    let stopped = |n: &Net| audio_events(n, true);
    assert_eq!((started(&net), stopped(&net)), (1, 0));
    let now = net.now;
    net.client_mut("a").set_publishing(false, now);
    net.run_for(timeout - tick);
    assert_eq!(stopped(&net), 0, "not before the media timeout");
    net.run_for(tick * 2);
    assert_eq!(stopped(&net), 1);
    assert_eq!(net.disconnected("a"), None, "the transport is still up");
    let now = net.now;
    net.client_mut("a").set_publishing(true, now);
    net.run_for(Duration::from_millis(100));
    assert_eq!(started(&net), 2);
}

#[test]
fn an_offer_replacing_a_peer_that_already_timed_out_is_accepted() {
    // The bridge missed the timeout's event (a full event queue) and still names the old
    // peer as the one the new offer replaces.
    let cfg = SfuConfig {
        connect_timeout: Duration::from_secs(5),
        ..SfuConfig::default()
    };
    let timeout = cfg.connect_timeout + cfg.housekeeping_interval;
    let mut net = net(cfg);
    net.join_silent("room", "ghost", ClientConfig::publisher(1, 1));
    net.run_for(timeout);
    assert!(
        net.disconnected("ghost").is_some(),
        "the old peer timed out"
    );
    let (_, offer) = super::client::Client::new(
        ClientConfig::publisher(2, 1),
        std::net::SocketAddr::from(([10, 0, 9, 1], 5000)),
        net.now,
    );
    let request = crate::AddPeer {
        group: super::gid("room"),
        peer: pid("ghost-again"),
        role: Role::Participant,
        offer,
        replaces: Some(pid("ghost")),
    };
    assert!(net.core.add_peer(net.now, request).is_ok());
}

#[test]
fn the_peer_snapshot_follows_connection_media_and_removal() {
    let cfg = SfuConfig {
        transport_timeout: Duration::from_secs(2),
        ..SfuConfig::default()
    };
    let (timeout, tick) = (cfg.transport_timeout, cfg.housekeeping_interval);
    let mut net = net(cfg);
    net.join_pair("room");
    let mut snapshot = net.core.peer_snapshots();
    snapshot.sort_by(|x, y| x.peer.cmp(&y.peer));
    let seen: Vec<_> = snapshot
        .iter()
        .map(|s| (s.peer.clone(), s.connected, s.media.len()))
        .collect();
    assert_eq!(seen, vec![(pid("a"), true, 2), (pid("b"), true, 2)]);

    net.client_mut("a").online = false;
    net.run_until("a lost", timeout + tick * 2, |n| {
        n.disconnected("a").is_some()
    });
    let snapshot = net.core.peer_snapshots();
    assert_eq!(snapshot.len(), 1, "{snapshot:?}");
    assert_eq!(snapshot[0].peer, pid("b"));
}
