//! Receive slots: sources fill a subscriber's slots in join order, a source keeps its slot,
//! and a slot freed by a leaving source is refilled by the next waiting one (starting on a
//! keyframe).

use super::client::ClientConfig;
use super::{Net, WINDOW, pid};
use crate::api::{DisconnectReason, Kind, Policy, Role, SfuError};

/// Publishers a, b, c (tags 1-3) and a viewer with two slots of each kind (tag 9).
fn crowded() -> Net {
    let mut net = Net::with_group("room", Policy::Video);
    net.join_publishers("room", &["a", "b", "c"], 0);
    let viewer = ClientConfig {
        audio_slots: 2,
        video_slots: 2,
        ..ClientConfig::viewer(9)
    };
    net.join("room", "v", Role::Viewer, viewer).unwrap();
    net.run_for(WINDOW);
    net
}

#[test]
fn sources_fill_slots_in_join_order_and_later_ones_wait() {
    let net = crowded();
    let v = net.client("v");
    assert!(v.from(1).video > 0 && v.from(2).video > 0);
    assert_eq!(v.from(3), Default::default(), "c waits for a free slot");
    let mut routed = net.routed_since(0, "v");
    routed.sort_by_key(|(k, s)| (*k == Kind::Video, s.clone()));
    let expected = vec![
        (Kind::Audio, Some(pid("a"))),
        (Kind::Audio, Some(pid("b"))),
        (Kind::Video, Some(pid("a"))),
        (Kind::Video, Some(pid("b"))),
    ];
    assert_eq!(routed, expected);
}

#[test]
fn a_freed_slot_is_refilled_and_the_others_keep_their_source() {
    let mut net = crowded();
    let mark = net.events.len();
    let b_before = net.client("v").from(2);
    net.core.remove_peer(&pid("a")).unwrap();
    net.pump();
    assert_eq!(net.disconnected("a"), Some(DisconnectReason::Removed));
    assert_eq!(
        net.core.remove_peer(&pid("a")),
        Err(SfuError::PeerNotFound(pid("a")))
    );
    assert_eq!(
        net.routed_since(mark, "v"),
        vec![(Kind::Audio, Some(pid("c"))), (Kind::Video, Some(pid("c")))],
        "only a's slots change, and c takes them"
    );
    net.run_for(WINDOW);
    let v = net.client("v");
    assert!(
        v.from(3).audio >= 10 && v.from(3).video >= 3,
        "{:?}",
        v.from(3)
    );
    assert_eq!(v.from(3).first_video_was_key, Some(true));
    assert!(v.from(2).audio >= b_before.audio + 10, "b keeps flowing");
    assert_eq!(
        v.from(2).keyframes,
        b_before.keyframes,
        "b's slot was not disturbed"
    );
}

#[test]
fn a_subscription_change_frees_and_refills_slots() {
    let mut net = crowded();
    let mark = net.events.len();
    net.core
        .set_subscriptions(
            &pid("v"),
            crate::api::Subscriptions::Only(vec![pid("b"), pid("c")]),
        )
        .unwrap();
    net.pump();
    assert_eq!(
        net.routed_since(mark, "v"),
        vec![(Kind::Audio, Some(pid("c"))), (Kind::Video, Some(pid("c")))]
    );
}
