//! How a forwarded frame's fan-out leaves the core: one subscriber's datagrams before the
//! next subscriber's are built, and nothing lost or miscounted when the caller does not
//! drain `poll_transmit` after an input.

use std::net::SocketAddr;
use std::time::Duration;

use str0m::net::Protocol;

use super::{MIN_STEP, Net, WINDOW};
use crate::api::Policy;
use crate::config::SfuConfig;
use crate::engine::peer::is_rtp;

/// A video group where `a` (tag 1) fans out to `b`, `c` and `d`, media flowing.
fn fan_out_of_three() -> Net {
    // Unpaced: these tests count each frame's datagrams as its copy is built.
    let cfg = SfuConfig {
        bandwidth_estimation: false,
        ..SfuConfig::default()
    };
    let mut net = Net::with_config_and_group(cfg, "room", Policy::Video);
    net.join_publishers("room", &["a", "b", "c", "d"], 3);
    net.run_for(WINDOW);
    net
}

/// Steps `a` alone (1 ms at a time) and hands each of its datagrams to `deliver`, until
/// `deliver` has reported `wanted` fan-outs to all three subscribers.
fn feed_a(net: &mut Net, wanted: usize, mut deliver: impl FnMut(&mut Net, &[u8]) -> bool) {
    let a = net.names["a"];
    let mut seen = 0;
    for _ in 0..1000 {
        net.now += MIN_STEP;
        net.clients[a].handle_timeout(net.now);
        for data in std::mem::take(&mut net.clients[a].outbox) {
            if deliver(net, &data) {
                seen += 1;
            }
        }
        if seen >= wanted {
            return;
        }
    }
    panic!("a forwarded only {seen} frames to all three subscribers");
}

/// Hands one core transmit to its client.
fn deliver_transmit(net: &mut Net, destination: SocketAddr, contents: &[u8]) {
    let sfu = net.core.local_addr();
    let now = net.now;
    if let Some(client) = net.clients.iter_mut().find(|c| c.addr == destination) {
        client.receive(now, sfu, contents);
    }
}

#[test]
fn a_fan_out_is_sent_one_subscriber_at_a_time() {
    let mut net = fan_out_of_three();
    let a_addr = net.client("a").addr;
    feed_a(&mut net, 10, |net, data| {
        let before = net.core.stats().frames_forwarded;
        let sfu = net.core.local_addr();
        net.core.handle_receive(net.now, a_addr, sfu, data);
        assert_eq!(
            net.core.stats().frames_forwarded,
            before,
            "the input only queues copies; building them waits for poll_transmit"
        );
        // (destination, frames counted when its first datagram was polled)
        let mut firsts: Vec<(SocketAddr, u64)> = Vec::new();
        let mut last = None;
        while let Some(t) = net.core.poll_transmit() {
            // RTP only: what is left of a subscriber's drain after its copy (RTCP, if any
            // is due) follows the fan-out.
            let rtp = is_rtp(&t.contents);
            if rtp && t.destination != a_addr && last != Some(t.destination) {
                assert!(
                    firsts.iter().all(|(d, _)| *d != t.destination),
                    "each subscriber's copy leaves in one piece"
                );
                firsts.push((t.destination, net.core.stats().frames_forwarded - before));
            }
            if rtp {
                last = Some(t.destination);
            }
            deliver_transmit(net, t.destination, &t.contents);
        }
        net.core.transmits_sent(net.now);
        if net.core.stats().frames_forwarded - before != 3 {
            return false;
        }
        let counted: Vec<u64> = firsts.iter().map(|(_, n)| *n).collect();
        assert_eq!(
            counted,
            [1, 2, 3],
            "subscriber k's datagrams are out before subscriber k+1's copy is built"
        );
        true
    });
    net.run_for(WINDOW);
    for name in ["b", "c", "d"] {
        assert!(net.client(name).from(1).audio >= 20, "{name} hears a");
    }
}

#[test]
fn the_end_of_each_drain_waits_for_the_fan_out() {
    let mut net = fan_out_of_three();
    let a_addr = net.client("a").addr;
    let mut deferred = 0;
    feed_a(&mut net, 10, |net, data| {
        let before = net.core.stats().frames_forwarded;
        let sfu = net.core.local_addr();
        net.core.handle_receive(net.now, a_addr, sfu, data);
        while let Some(t) = net.core.poll_transmit() {
            if net.core.fan_out_pending() {
                // Mid fan-out: the subscribers already served still owe their timeout.
                deferred = deferred.max(net.core.unfinished_drains());
            }
            if net.core.unfinished_drains() > 0 {
                // A caller that stopped polling here would be woken at once.
                assert!(
                    net.core.poll_timeout() <= net.now,
                    "an unfinished drain is due"
                );
            }
            deliver_transmit(net, t.destination, &t.contents);
        }
        assert_eq!(net.core.unfinished_drains(), 0, "every drain is finished");
        net.core.transmits_sent(net.now);
        net.core.stats().frames_forwarded - before == 3
    });
    assert!(deferred >= 1, "copies are sent before their drains end");
    // Their timers are armed again: str0m's RTCP keeps flowing, no peer times out.
    net.run_for(Duration::from_secs(3));
    assert!(net.connected("a"));
    for name in ["b", "c", "d"] {
        assert!(net.connected(name), "{name} connected");
        assert!(net.client(name).from(1).audio >= 100, "{name} hears a");
    }
}

#[test]
fn an_undrained_fan_out_is_built_by_the_next_timeout() {
    let mut net = fan_out_of_three();
    let a_addr = net.client("a").addr;
    let marks: Vec<u64> = ["b", "c", "d"]
        .iter()
        .map(|n| net.client(n).from(1).audio)
        .collect();
    let mut frames = 0;
    feed_a(&mut net, 10, |net, data| {
        let before = net.core.stats();
        let sfu = net.core.local_addr();
        net.core.handle_receive(net.now, a_addr, sfu, data);
        let pending = net.core.stats().frames_forwarded == before.frames_forwarded;
        // Not drained: the core asks to be woken at once, and its timeout builds the copies.
        assert!(net.core.poll_timeout() <= net.now || !pending);
        net.core.handle_timeout(net.now);
        let after = net.core.stats();
        let forwarded = after.frames_forwarded - before.frames_forwarded;
        frames += forwarded;
        let queued = after.datagrams_out - before.datagrams_out;
        let mut polled = 0;
        while let Some(t) = net.core.poll_transmit() {
            polled += 1;
            deliver_transmit(net, t.destination, &t.contents);
        }
        net.core.transmits_sent(net.now);
        let drained = net.core.stats();
        assert_eq!(drained.frames_forwarded, after.frames_forwarded);
        assert_eq!(drained.packets_forwarded, after.packets_forwarded);
        assert_eq!(polled, queued, "every datagram was queued before the drain");
        forwarded == 3
    });
    for (name, mark) in ["b", "c", "d"].iter().zip(marks) {
        assert!(
            net.client(name).from(1).audio >= mark + 3,
            "{name} got a's frames"
        );
    }
    assert!(frames >= 30);
    let stats = net.core.stats();
    assert!(
        stats.packets_forwarded >= stats.frames_forwarded,
        "{stats:?}"
    );
    assert!(stats.latency_p50 <= stats.latency_p99);
}

/// Feeds `a`'s datagrams as if each had waited `wait` in the socket, delivers every
/// transmit at once, and returns the core's stats over five fan-outs.
fn latency_when_read_after(net: &mut Net, wait: Duration) -> crate::api::SfuStats {
    let a_addr = net.client("a").addr;
    net.core.reset_stats();
    feed_a(net, 5, |net, data| {
        let before = net.core.stats().frames_forwarded;
        let sfu = net.core.local_addr();
        net.core
            .handle_receive_after(net.now, wait, Protocol::Udp, a_addr, sfu, data);
        while let Some(t) = net.core.poll_transmit() {
            deliver_transmit(net, t.destination, &t.contents);
        }
        net.core.transmits_sent(net.now);
        net.core.stats().frames_forwarded >= before + 3
    });
    net.core.stats()
}

#[test]
fn a_datagram_read_late_counts_its_wait_in_the_socket() {
    let mut net = fan_out_of_three();
    // The virtual clock stands still while the core works: read at once, nothing added.
    let prompt = latency_when_read_after(&mut net, Duration::ZERO);
    assert!(prompt.frames_forwarded >= 15, "{prompt:?}");
    assert_eq!(prompt.audio_latency_p99, Duration::ZERO, "{prompt:?}");
    // Read 4 ms after the kernel received it (the worker was busy): every frame it
    // completes has waited that long before the SFU even saw it.
    let waited = Duration::from_millis(4);
    let late = latency_when_read_after(&mut net, waited);
    assert!(late.frames_forwarded >= 15, "{late:?}");
    assert_eq!(late.audio_latency_p50, waited, "{late:?}");
    assert!(late.latency_p50 >= waited, "{late:?}");
}
