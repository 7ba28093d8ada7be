//! An audio-only live event: every viewer gets each of the host's frames exactly once, and
//! the core's counters agree with what the viewers received. Also the workload whose copies
//! `scripts/bench-copy-cost.sh` counts the instructions of: it uses only the test network's
//! long-standing API, so the script can run this file against older revisions too.

use super::client::ClientConfig;
use super::{Net, WINDOW, gid};
use crate::api::{Policy, Role};

/// Viewers in the audio-only live event below.
const AUDIO_VIEWERS: u32 = 24;

/// An audio-only live host (tag 1) fanning out to `AUDIO_VIEWERS` viewers that offered one
/// audio slot each: every copy is one audio packet to a subscriber without the estimator.
/// `scripts/bench-copy-cost.sh` counts the instructions of this test's copies.
#[test]
fn every_viewer_of_an_audio_host_gets_each_frame_once() {
    let mut net = Net::with_group("live", Policy::Live);
    let host = ClientConfig::speaker(1, -30, 0);
    net.join("live", "host", Role::Host, host).unwrap();
    for n in 0..AUDIO_VIEWERS {
        let viewer = ClientConfig {
            video_slots: 0,
            ..ClientConfig::viewer(100 + n)
        };
        net.join("live", &format!("v{n}"), Role::Viewer, viewer)
            .unwrap();
    }
    net.core
        .set_forwarding(net.now, &gid("live"), true)
        .unwrap();
    net.run_for(WINDOW);
    net.core.reset_stats();
    let before: Vec<u64> = (0..AUDIO_VIEWERS)
        .map(|n| net.client(&format!("v{n}")).from(1).audio)
        .collect();
    net.run_for(WINDOW);
    let got: Vec<u64> = (0..AUDIO_VIEWERS)
        .map(|n| net.client(&format!("v{n}")).from(1).audio)
        .zip(&before)
        .map(|(now, before)| now - before)
        .collect();
    // 20 ms frames: 15 in the window, give or take the one in flight at either end.
    assert!(got.iter().all(|g| (14..=16).contains(g)), "{got:?}");
    assert!(got.iter().all(|g| got[0].abs_diff(*g) <= 1), "{got:?}");
    let stats = net.core.stats();
    let received: u64 = got.iter().sum();
    // The virtual network delivers every datagram before the window ends.
    assert_eq!(stats.frames_forwarded, received, "{stats:?}");
    assert_eq!(stats.frames_forwarded, stats.packets_forwarded, "{stats:?}");
}
