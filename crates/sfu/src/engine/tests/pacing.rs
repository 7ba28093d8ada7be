//! Pacing of forwarded video on the virtual clock. str0m's pacer sends a subscriber's paced
//! streams at 1.1 × its bandwidth estimate and queues the rest (for up to 2 s); that only
//! helps when the SFU can follow the estimate by switching simulcast layers. Video from a
//! publisher without simulcast must go out as it comes, whatever the estimate says.

use std::time::Duration;

use super::client::ClientConfig;
use super::{Net, pid};
use crate::api::{Policy, Role};

/// Longest a forwarded frame may take on the instantaneous virtual network: one 1 ms step
/// of the clock. A pacer's queue costs hundreds of milliseconds; a pacer that lets one
/// packet out per timeout, a step per packet (a 16-packet keyframe: 15 ms).
const MAX_DELAY: Duration = Duration::from_millis(1);

#[test]
fn single_layer_video_above_the_estimate_is_not_held_back() {
    let mut net = Net::with_group("room", Policy::Video);
    // 1.5 Mbit/s of VP8 in one layer, as the benchmarks' media peers send; the viewer's
    // estimate starts at 300 kbit/s (`INITIAL_ESTIMATE_KBPS`). The viewer joins first, so
    // it gets the estimator and its pacer (no publisher's layering is known yet).
    net.join("room", "v", Role::Viewer, ClientConfig::viewer(2))
        .unwrap();
    let publisher = ClientConfig::video_at(1, 1, 1500);
    net.join("room", "a", Role::Participant, publisher).unwrap();
    net.run_for(Duration::from_secs(3));

    let key = net.core.ids[&pid("v")];
    assert!(net.core.peers[&key].paced, "the viewer has the estimator");
    let estimate = net.core.peers[&key].estimate;
    let viewer = net.client("v");
    let delays = &viewer.video_delays;
    let worst = delays.iter().max().copied().unwrap_or_default();
    let slow = delays.iter().filter(|d| **d > MAX_DELAY).count();
    eprintln!(
        "estimate {estimate:?}, {} frames, worst {worst:?}, {slow} over {MAX_DELAY:?}",
        delays.len()
    );
    // 3 s at 30 frames/s, less the connection set-up: nothing may wait in a queue.
    assert!(delays.len() >= 80, "{} video frames arrived", delays.len());
    assert_eq!(viewer.from(1).video, delays.len() as u64);
    assert!(
        worst <= MAX_DELAY,
        "{slow} of {} frames took over {MAX_DELAY:?} (worst {worst:?}; estimate {estimate:?})",
        delays.len()
    );
}
