//! Keyframe requests: a new subscriber starts on a keyframe, subscribers' PLIs reach the
//! publisher, and requests to one track are paced at `KEYFRAME_REQUEST_INTERVAL`.

use std::time::Duration;

use super::client::ClientConfig;
use super::{Net, WINDOW, pid, video_pair};
use crate::api::{KeyframeCause, Kind, Role, SfuEvent};
use crate::config::KEYFRAME_REQUEST_INTERVAL;

fn requests(net: &Net, from: usize, cause: KeyframeCause) -> usize {
    net.events[from..]
        .iter()
        .filter(|e| {
            matches!(e, SfuEvent::KeyframeRequested { peer, cause: c, .. }
                if *peer == pid("a") && *c == cause)
        })
        .count()
}

#[test]
fn a_late_subscriber_starts_on_a_keyframe() {
    let mut net = video_pair();
    let mark = net.events.len();
    let sent = net.client("a").keyframes_sent;
    net.join("room", "c", Role::Viewer, ClientConfig::viewer(3))
        .unwrap();
    net.run_for(WINDOW);
    let got = net.client("c").from(1);
    assert!(got.video >= 3, "{got:?}");
    assert_eq!(got.first_video_was_key, Some(true));
    assert!(
        net.client("a").keyframes_sent > sent,
        "a was asked for a new keyframe"
    );
    assert!(requests(&net, mark, KeyframeCause::NewSubscriber) >= 1);
}

#[test]
fn subscriber_plis_reach_the_publisher_at_most_once_per_interval() {
    let mut net = video_pair();
    // Past the join-time requests' pacing window.
    net.run_for(KEYFRAME_REQUEST_INTERVAL);
    let mark = net.events.len();
    let heard = net.client("a").keyframe_requests;
    let keyframes = net.client("b").from(1).keyframes;
    let window = KEYFRAME_REQUEST_INTERVAL * 4;
    let end = net.now + window;
    // b's decoder keeps asking every 20 ms (a PLI storm).
    while net.now < end {
        let now = net.now;
        net.client_mut("b").request_keyframes(now);
        net.run_for(Duration::from_millis(20));
    }
    let forwarded = requests(&net, mark, KeyframeCause::SubscriberRequest);
    assert!(
        (4..=5).contains(&forwarded),
        "{forwarded} requests in {window:?}"
    );
    assert_eq!(net.client("a").keyframe_requests - heard, forwarded as u64);
    assert!(net.client("b").from(1).keyframes >= keyframes + 3);
}

#[test]
fn resuming_twice_within_the_interval_asks_once() {
    let mut net = video_pair();
    net.run_for(KEYFRAME_REQUEST_INTERVAL);
    let mark = net.events.len();
    for _ in 0..2 {
        net.pause_and_resume("a", Kind::Video);
        net.run_for(KEYFRAME_REQUEST_INTERVAL / 3);
    }
    assert_eq!(requests(&net, mark, KeyframeCause::Resumed), 1);
    // The slots held by the throttled resume ask again (as `NewSubscriber`) once the
    // interval ends; the pacing is per track whatever the cause, so wait that out too.
    net.run_for(KEYFRAME_REQUEST_INTERVAL * 2);
    net.pause_and_resume("a", Kind::Video);
    net.pump();
    assert_eq!(
        requests(&net, mark, KeyframeCause::Resumed),
        2,
        "the next interval asks again"
    );
}
