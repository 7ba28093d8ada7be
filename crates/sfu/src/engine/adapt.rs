//! Bandwidth adaptation, run on the housekeeping tick: for every subscriber, split its
//! estimated downlink (str0m's TWCC estimator, or REMB) between its slots and let each
//! simulcast slot's [`Selector`](super::layers::Selector) pick a layer; ask the publisher
//! for the keyframe a switch waits for; tell the estimator what is sent and the best rate the
//! hints allow, re-arming its probe for that rate every `PROBE_INTERVAL` while the estimate
//! is short of it.
//!
//! Invariants: audio's share (`AUDIO_RESERVE_BPS` per forwarded audio track) comes off the
//! estimate before video gets any, so video never starves audio; the video budget is split
//! evenly between the subscriber's simulcast video slots; a subscriber without an estimate
//! yet has no limit but its hints (the selector still climbs only after `UP_HOLD`). Cost:
//! one pass over the peers per tick, nothing when no publisher simulcasts.

use std::collections::HashMap;
use std::time::Instant;

use str0m::bwe::Bitrate;
use str0m::media::{Mid, Rid};

use super::SfuCore;
use super::layers::{
    AUDIO_RESERVE_BPS, Layer, PROBE_INTERVAL, UP_HEADROOM_PERCENT, cap_for_height,
};
use super::peer::{Peer, PeerKey};
use crate::api::{KeyframeCause, Kind};

/// A keyframe a slot's switch waits for: `(publisher, m-line, layer)`.
type Wanted = (PeerKey, Mid, Rid);

impl SfuCore {
    /// Re-selects every simulcast slot's layer from its subscriber's budget and hint.
    pub(super) fn adapt_layers(&mut self, now: Instant) {
        let mut sources: HashMap<(PeerKey, Mid), Vec<Layer>> = HashMap::new();
        for peer in self.peers.values_mut() {
            for ingress in peer.ingress.iter_mut().filter(|i| i.kind == Kind::Video) {
                let layers = ingress.layers.active(now);
                if !layers.is_empty() {
                    sources.insert((peer.key, ingress.mid), layers);
                }
            }
        }
        // A mirror's remote host is a source like a local one.
        for group in self.groups.values_mut() {
            let Some(remote) = group.remote.as_mut() else {
                continue;
            };
            for ingress in remote.ingress.iter_mut().filter(|i| i.kind == Kind::Video) {
                let layers = ingress.layers.active(now);
                if !layers.is_empty() {
                    sources.insert((remote.key, ingress.mid), layers);
                }
            }
        }
        if sources.is_empty() {
            return;
        }
        let mut wanted = Vec::new();
        let mut adapted = Vec::new();
        for peer in self.peers.values_mut() {
            if adapt_peer(now, peer, &sources, &mut wanted) {
                adapted.push(peer.key);
            }
        }
        // New estimator rates move the peer's timers: re-arm them.
        for key in adapted {
            self.drain(key);
        }
        for (source, mid, rid) in wanted {
            self.request_keyframe(now, source, mid, Some(rid), KeyframeCause::LayerSwitch);
        }
    }
}

/// One subscriber: targets for its simulcast slots, keyframes they wait for, and the
/// estimator's minimum (what is sent) and desired (one layer up) rates. False if the peer
/// receives no simulcast video.
fn adapt_peer(
    now: Instant,
    peer: &mut Peer,
    sources: &HashMap<(PeerKey, Mid), Vec<Layer>>,
    wanted: &mut Vec<Wanted>,
) -> bool {
    let audio = peer
        .slots
        .iter()
        .filter(|s| s.kind == Kind::Audio && s.source.is_some())
        .count() as u64;
    let simulcast = peer
        .slots
        .iter()
        .filter(|s| s.source.is_some_and(|src| sources.contains_key(&src)))
        .count() as u64;
    if simulcast == 0 {
        return false;
    }
    let reserve = audio * AUDIO_RESERVE_BPS;
    let budget = peer
        .estimate
        .map_or(u64::MAX, |e| e.saturating_sub(reserve) / simulcast);
    // Sent now, and the best the hints allow (what the estimator probes for).
    let (mut sending, mut best) = (reserve, reserve);
    for slot in &mut peer.slots {
        let Some((src, layers)) = slot.source.and_then(|src| Some((src, sources.get(&src)?)))
        else {
            continue;
        };
        let rates: Vec<u64> = layers.iter().map(|l| l.bitrate).collect();
        let cap = cap_for_height(layers, slot.max_height);
        let target = slot.selector.update(now, &rates, budget, cap);
        tracing::trace!(peer = %peer.id, estimate = ?peer.estimate, budget, ?rates, cap, target, current = ?slot.switch.current, "layers");
        let rid = layers[target].rid;
        if slot.switch.target != Some(rid) {
            tracing::debug!(peer = %peer.id, estimate = ?peer.estimate, budget, ?rates, cap, %rid, "layer target changed");
        }
        slot.switch.target = Some(rid);
        if slot.switch.pending() {
            wanted.push((src.0, src.1, rid));
        }
        let current = layers
            .iter()
            .position(|l| Some(l.rid) == slot.switch.current)
            .unwrap_or(target);
        let with_headroom = |rate: u64| rate * (100 + UP_HEADROOM_PERCENT) / 100;
        sending += rates[current];
        best += with_headroom(rates[cap.min(rates.len() - 1)]);
    }
    let best = best.max(sending);
    // str0m probes when the desired rate goes up, not when it is repeated: while the
    // estimate is short of it, lower and raise it again every `PROBE_INTERVAL` so the
    // estimate can climb (short probe bursts, no sustained padding on a weak link).
    let short = peer.estimate.is_some_and(|e| e < best);
    let due = peer
        .last_probe
        .is_none_or(|at| now.saturating_duration_since(at) >= PROBE_INTERVAL);
    debug_assert!(!peer.drain_pending, "the estimator set mid-drain");
    let mut bwe = peer.rtc.bwe();
    if short && due {
        bwe.set_bitrate(Bitrate::bps(sending), Bitrate::bps(sending));
        peer.last_probe = Some(now);
    }
    bwe.set_bitrate(Bitrate::bps(sending), Bitrate::bps(best));
    true
}
