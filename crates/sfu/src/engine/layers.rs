//! Simulcast: which layer of a publisher's video each receive slot gets. Pure functions and
//! two small state machines on an explicit clock, so they are tested without a network:
//!
//! - [`LayerRates`] measures each layer (rid) a publisher sends: bitrate over a window,
//!   height from the last VP8 keyframe, when it was last seen.
//! - [`Selector`] picks a slot's *target* layer from the subscriber's bandwidth budget and
//!   its hint: down at once when the budget no longer holds the target, up only after the
//!   budget has held the higher layer (plus headroom) for `UP_HOLD` (the estimator probes
//!   for it meanwhile); a hint caps it at once.
//! - [`LayerSwitch`] makes the slot *forward* the target only from one of its keyframes on
//!   (until then the current layer goes on), so a switch never freezes the decoder.
//!
//! Invariants: layers are indexed low → high (by height when known, else by bitrate); a slot
//! of a publisher that does not simulcast has the single layer `None` and never switches.

use std::time::{Duration, Instant};

use str0m::media::Rid;

/// How long the budget must hold a higher layer before switching up.
pub const UP_HOLD: Duration = Duration::from_secs(2);
/// How often the estimator is asked to probe again while the estimate is below what the
/// subscriber's hints would take.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(3);
/// Up-switches need the layer's rate plus this share (percent) of headroom.
pub const UP_HEADROOM_PERCENT: u64 = 20;
/// Bandwidth set aside for each forwarded audio track before video gets any (Opus ~32
/// kbit/s plus RTP/UDP/IP overhead at 50 packets/s).
pub const AUDIO_RESERVE_BPS: u64 = 64_000;
/// Window over which a layer's bitrate is measured; successive windows are averaged
/// (`bitrate = (bitrate + window) / 2`) because encoders' output swings with keyframes and
/// load.
pub const RATE_WINDOW: Duration = Duration::from_millis(500);
/// A layer not seen for this long is no longer offered (the publisher stopped sending it).
pub const LAYER_STALE: Duration = Duration::from_millis(1500);
/// Most layers tracked per publisher track (Chrome sends at most 3, the SDK 3).
pub const MAX_LAYERS: usize = 4;

/// One layer of a publisher's video, as measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    pub rid: Rid,
    /// Bits per second, averaged over the last windows (0 until one completes).
    pub bitrate: u64,
    /// Height of the last keyframe, when it could be read (VP8).
    pub height: Option<u32>,
    pub last_seen: Instant,
    window_start: Instant,
    window_bytes: u64,
}

/// The layers one publisher track sends, low → high.
#[derive(Debug, Clone, Default)]
pub struct LayerRates {
    layers: Vec<Layer>,
}

impl LayerRates {
    /// The layers seen so far.
    pub fn rids(&self) -> impl Iterator<Item = Rid> + '_ {
        self.layers.iter().map(|l| l.rid)
    }

    /// Counts one received frame of layer `rid`.
    pub fn observe(&mut self, now: Instant, rid: Rid, data: &[u8]) {
        let at = match self.layers.iter().position(|l| l.rid == rid) {
            Some(at) => at,
            None if self.layers.len() < MAX_LAYERS => {
                self.layers.push(Layer {
                    rid,
                    bitrate: 0,
                    height: None,
                    last_seen: now,
                    window_start: now,
                    window_bytes: 0,
                });
                self.layers.len() - 1
            }
            None => return,
        };
        let layer = &mut self.layers[at];
        layer.last_seen = now;
        // The window closes before this frame counts: it opens the next one.
        let elapsed = now.saturating_duration_since(layer.window_start);
        if elapsed >= RATE_WINDOW {
            let window = layer.window_bytes * 8 * 1000 / elapsed.as_millis().max(1) as u64;
            layer.bitrate = if layer.bitrate == 0 {
                window
            } else {
                (layer.bitrate + window) / 2
            };
            layer.window_start = now;
            layer.window_bytes = 0;
        }
        layer.window_bytes += data.len() as u64;
        if let Some((_, height)) = vp8_keyframe_size(data)
            && layer.height != Some(height)
        {
            layer.height = Some(height);
            self.sort();
        }
    }

    fn sort(&mut self) {
        // Height orders layers when every layer has one; rates are noisy, so they only
        // order layers whose heights are not all known yet.
        if self.layers.iter().all(|l| l.height.is_some()) {
            self.layers.sort_by_key(|l| l.height);
        } else {
            self.layers.sort_by_key(|l| l.bitrate);
        }
    }

    /// The layers seen within `LAYER_STALE` of `now`, low → high (re-sorted by rate first
    /// when heights are unknown).
    pub fn active(&mut self, now: Instant) -> Vec<Layer> {
        self.sort();
        self.layers
            .iter()
            .filter(|l| now.saturating_duration_since(l.last_seen) <= LAYER_STALE)
            .cloned()
            .collect()
    }

    /// The lowest active layer (where a new slot starts).
    pub fn lowest(&self, now: Instant) -> Option<Rid> {
        self.layers
            .iter()
            .find(|l| now.saturating_duration_since(l.last_seen) <= LAYER_STALE)
            .map(|l| l.rid)
    }
}

/// Width and height of a VP8 key frame (RFC 6386 9.1), `None` for other frames.
pub fn vp8_keyframe_size(frame: &[u8]) -> Option<(u32, u32)> {
    if frame.len() < 10 || frame[0] & 1 != 0 || frame[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let w = u32::from(u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff);
    let h = u32::from(u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff);
    Some((w, h))
}

/// The highest layer index a hint allows: the tallest layer no taller than `max_height`
/// (the lowest if none is), every layer without a hint. Layers of unknown height count as
/// fitting only if they are below a known one that fits.
pub fn cap_for_height(layers: &[Layer], max_height: Option<u32>) -> usize {
    let last = layers.len().saturating_sub(1);
    let Some(max) = max_height else {
        return last;
    };
    let mut cap = 0;
    for (at, layer) in layers.iter().enumerate() {
        match layer.height {
            Some(h) if h <= max => cap = at,
            Some(_) => break,
            None => {}
        }
    }
    cap
}

/// The highest layer `<= cap` whose rate plus `headroom_percent` fits `budget`; 0 (the
/// lowest) if none does: video never stops for lack of bandwidth, it gets its least.
pub fn fitting(rates: &[u64], budget: u64, cap: usize, headroom_percent: u64) -> usize {
    rates
        .iter()
        .enumerate()
        .take(cap.saturating_add(1))
        .filter(|(_, r)| **r * (100 + headroom_percent) / 100 <= budget)
        .map(|(at, _)| at)
        .next_back()
        .unwrap_or(0)
}

/// A slot's target layer with up-switch hysteresis.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    pub target: usize,
    /// Since when the budget has allowed a layer above the target, and which.
    up_since: Option<(Instant, usize)>,
}

impl Selector {
    /// Re-evaluates the target with `rates` (low → high), the slot's video `budget` and the
    /// hint's `cap`; returns the target.
    pub fn update(&mut self, now: Instant, rates: &[u64], budget: u64, cap: usize) -> usize {
        let cap = cap.min(rates.len().saturating_sub(1));
        let fits = fitting(rates, budget, cap, 0);
        let fits_with_headroom = fitting(rates, budget, cap, UP_HEADROOM_PERCENT);
        if self.target > cap || fits < self.target {
            // The hint went down or the estimate dropped: go down now, no hold.
            self.target = fits.min(cap);
            self.up_since = None;
        } else if fits_with_headroom > self.target {
            match self.up_since {
                Some((since, _)) if now.saturating_duration_since(since) >= UP_HOLD => {
                    self.target = fits_with_headroom;
                    self.up_since = None;
                }
                Some(_) => {}
                None => self.up_since = Some((now, fits_with_headroom)),
            }
        } else {
            self.up_since = None;
        }
        self.target
    }
}

/// What a slot forwards now and what it switches to on that layer's next keyframe.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LayerSwitch {
    /// The layer forwarded now (`None` = the publisher does not simulcast, or nothing yet).
    pub current: Option<Rid>,
    pub target: Option<Rid>,
    /// Whether anything was forwarded since the slot's source was set.
    pub started: bool,
}

/// What to do with one frame of a source in a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Forward it.
    Forward,
    /// Forward it: it is the keyframe the slot switched layers on (rebase the timeline).
    Switched,
    /// Another layer's frame, or the target's before its keyframe.
    Skip,
}

impl LayerSwitch {
    /// Starts over for a new source: nothing forwarded, the target to come.
    pub fn reset(&mut self, target: Option<Rid>) {
        *self = LayerSwitch {
            current: None,
            target,
            started: false,
        };
    }

    /// Decides a frame of layer `rid` (`None` without simulcast).
    pub fn accept(&mut self, rid: Option<Rid>, keyframe: bool) -> Accept {
        if rid.is_none() {
            return Accept::Forward;
        }
        if rid == self.target && (rid != self.current || !self.started) {
            if !keyframe {
                return Accept::Skip;
            }
            let switched = self.started;
            self.current = rid;
            self.started = true;
            return if switched {
                Accept::Switched
            } else {
                Accept::Forward
            };
        }
        if rid == self.current && self.started {
            Accept::Forward
        } else {
            Accept::Skip
        }
    }

    /// Whether the slot waits for a keyframe of its target.
    pub fn pending(&self) -> bool {
        self.target.is_some() && (self.target != self.current || !self.started)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn rid(s: &str) -> Rid {
        Rid::from(s)
    }

    /// A VP8 keyframe header of `w`×`h`.
    fn keyframe(w: u16, h: u16, len: usize) -> Vec<u8> {
        let mut f = vec![0x10, 0, 0, 0x9d, 0x01, 0x2a];
        f.extend(w.to_le_bytes());
        f.extend(h.to_le_bytes());
        f.resize(len, 0);
        f
    }

    #[test]
    fn keyframe_sizes_are_read_and_delta_frames_are_not() {
        assert_eq!(vp8_keyframe_size(&keyframe(640, 360, 20)), Some((640, 360)));
        let mut delta = keyframe(640, 360, 20);
        delta[0] |= 1;
        assert_eq!(vp8_keyframe_size(&delta), None);
        assert_eq!(vp8_keyframe_size(&[0; 4]), None);
    }

    #[test]
    fn rates_are_measured_and_layers_ordered_by_height() {
        let t0 = Instant::now();
        let mut rates = LayerRates::default();
        // "f" arrives first but is the tallest; 30 fps for one second.
        for i in 0..30u32 {
            let now = t0 + MS * (i * 33);
            let key = i == 0;
            let f = if key {
                keyframe(640, 360, 4000)
            } else {
                vec![1; 4000]
            };
            let q = if key {
                keyframe(160, 90, 500)
            } else {
                vec![1; 500]
            };
            rates.observe(now, rid("f"), &f);
            rates.observe(now, rid("q"), &q);
        }
        let active = rates.active(t0 + MS * 990);
        assert_eq!(
            active.iter().map(|l| l.rid).collect::<Vec<_>>(),
            [rid("q"), rid("f")]
        );
        // 4000 B × 30/s ≈ 960 kbit/s; 500 B ≈ 120 kbit/s.
        assert!(
            (900_000..1_000_000).contains(&active[1].bitrate),
            "{active:?}"
        );
        assert!(
            (110_000..130_000).contains(&active[0].bitrate),
            "{active:?}"
        );
        assert_eq!(rates.lowest(t0), Some(rid("q")));
        // A layer the publisher stopped sending is no longer offered.
        assert!(rates.active(t0 + MS * 990 + LAYER_STALE * 2).is_empty());
    }

    fn layers(heights: &[Option<u32>]) -> Vec<Layer> {
        let now = Instant::now();
        heights
            .iter()
            .enumerate()
            .map(|(i, h)| Layer {
                rid: rid(["q", "h", "f", "x"][i]),
                bitrate: 0,
                height: *h,
                last_seen: now,
                window_start: now,
                window_bytes: 0,
            })
            .collect()
    }

    #[test]
    fn a_hint_caps_at_the_tallest_layer_that_fits() {
        let l = layers(&[Some(180), Some(360), Some(720)]);
        assert_eq!(cap_for_height(&l, None), 2);
        assert_eq!(cap_for_height(&l, Some(400)), 1);
        assert_eq!(cap_for_height(&l, Some(720)), 2);
        assert_eq!(cap_for_height(&l, Some(90)), 0, "the lowest when none fits");
        assert_eq!(cap_for_height(&layers(&[None, None]), Some(90)), 0);
    }

    const RATES: [u64; 3] = [150_000, 500_000, 1_500_000];

    #[test]
    fn the_estimate_dropping_switches_down_at_once() {
        let t0 = Instant::now();
        let mut s = Selector {
            target: 2,
            up_since: None,
        };
        assert_eq!(s.update(t0, &RATES, 2_000_000, 2), 2);
        assert_eq!(s.update(t0 + MS, &RATES, 600_000, 2), 1);
        assert_eq!(
            s.update(t0 + MS * 2, &RATES, 100_000, 2),
            0,
            "lowest, never none"
        );
    }

    #[test]
    fn up_switches_wait_for_the_estimate_to_hold_with_headroom() {
        let t0 = Instant::now();
        let mut s = Selector::default();
        // Enough for layer 1 but not its headroom: stays.
        assert_eq!(s.update(t0, &RATES, 550_000, 2), 0);
        assert_eq!(s.update(t0 + UP_HOLD * 2, &RATES, 550_000, 2), 0);
        // With headroom: only after UP_HOLD of it.
        let t1 = t0 + UP_HOLD * 3;
        assert_eq!(s.update(t1, &RATES, 700_000, 2), 0);
        assert_eq!(s.update(t1 + UP_HOLD / 2, &RATES, 700_000, 2), 0);
        // A dip restarts the hold.
        assert_eq!(s.update(t1 + UP_HOLD * 3 / 4, &RATES, 400_000, 2), 0);
        assert_eq!(s.update(t1 + UP_HOLD, &RATES, 700_000, 2), 0);
        assert_eq!(s.update(t1 + UP_HOLD * 2 - MS, &RATES, 700_000, 2), 0);
        assert_eq!(s.update(t1 + UP_HOLD * 2, &RATES, 700_000, 2), 1);
        // Hysteresis: a budget between the layer's rate and its headroom keeps it.
        assert_eq!(s.update(t1 + UP_HOLD * 3, &RATES, 520_000, 2), 1);
    }

    #[test]
    fn a_hint_caps_the_target_at_once_and_up_switches_respect_it() {
        let t0 = Instant::now();
        let mut s = Selector {
            target: 2,
            up_since: None,
        };
        assert_eq!(s.update(t0, &RATES, 10_000_000, 0), 0);
        assert_eq!(s.update(t0 + UP_HOLD * 5, &RATES, 10_000_000, 0), 0);
        assert_eq!(s.update(t0 + UP_HOLD * 6, &RATES, 10_000_000, 2), 0);
        assert_eq!(s.update(t0 + UP_HOLD * 7, &RATES, 10_000_000, 2), 2);
    }

    #[test]
    fn a_switch_happens_on_the_targets_keyframe_only() {
        let mut sw = LayerSwitch::default();
        sw.reset(Some(rid("q")));
        assert!(sw.pending());
        assert_eq!(
            sw.accept(Some(rid("q")), false),
            Accept::Skip,
            "no keyframe yet"
        );
        assert_eq!(
            sw.accept(Some(rid("f")), true),
            Accept::Skip,
            "not the target"
        );
        assert_eq!(sw.accept(Some(rid("q")), true), Accept::Forward);
        assert!(!sw.pending());
        assert_eq!(sw.accept(Some(rid("q")), false), Accept::Forward);
        // Target up: q goes on until f's keyframe, then only f.
        sw.target = Some(rid("f"));
        assert_eq!(sw.accept(Some(rid("f")), false), Accept::Skip);
        assert_eq!(
            sw.accept(Some(rid("q")), false),
            Accept::Forward,
            "no freeze"
        );
        assert_eq!(sw.accept(Some(rid("f")), true), Accept::Switched);
        assert_eq!(sw.accept(Some(rid("q")), true), Accept::Skip);
        assert_eq!(sw.accept(Some(rid("f")), false), Accept::Forward);
    }

    #[test]
    fn a_publisher_without_simulcast_is_always_forwarded() {
        let mut sw = LayerSwitch::default();
        sw.reset(None);
        assert!(!sw.pending());
        assert_eq!(sw.accept(None, false), Accept::Forward);
    }
}
