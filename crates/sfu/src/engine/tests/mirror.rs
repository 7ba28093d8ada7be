//! A live group spread over two cores (`engine::mirror`): the host on the home core, a
//! viewer on a mirror core, the relayed messages carried between them as the shells do.

use std::time::Duration;

use super::client::ClientConfig;
use super::{Net, WINDOW, gid, pid};
use crate::api::{KeyframeCause, Kind, Policy, Role, SfuEvent};
use crate::engine::{Placement, RelayTo};

/// The home (worker 0) and one mirror (worker 1) of group `live`, forwarding on.
struct Spread {
    home: Net,
    mirror: Net,
    /// Until then, the home's messages are lost (as if the mirror's queue were full).
    lose_home_until: Option<std::time::Instant>,
}

impl Spread {
    fn new() -> Spread {
        let mut home = Net::new(Default::default());
        let mut mirror = Net::new(Default::default());
        mirror.now = home.now;
        let live = || gid("live");
        home.core
            .create_group_at(live(), Policy::Live, Placement::Home)
            .unwrap();
        let placement = Placement::Mirror { home: 0 };
        mirror
            .core
            .create_group_at(live(), Policy::Live, placement)
            .unwrap();
        for net in [&mut home, &mut mirror] {
            net.core.set_forwarding(net.now, &live(), true).unwrap();
        }
        Spread {
            home,
            mirror,
            lose_home_until: None,
        }
    }

    /// Runs both cores for `duration`, 1 ms at a time, carrying the relayed messages after
    /// each step (home → mirror, mirror → worker 0).
    fn run_for(&mut self, duration: Duration) {
        let end = self.home.now + duration;
        while self.home.now < end {
            self.home.run_for(Duration::from_millis(1));
            self.mirror.run_for(Duration::from_millis(1));
            let lost = self.lose_home_until.is_some_and(|t| self.home.now < t);
            while let Some((to, message)) = self.home.core.poll_relay() {
                assert_eq!(to, RelayTo::Mirrors);
                if !lost {
                    self.mirror.core.handle_relay(self.mirror.now, message);
                }
            }
            while let Some((to, message)) = self.mirror.core.poll_relay() {
                assert_eq!(to, RelayTo::Worker(0));
                self.home.core.handle_relay(self.home.now, message);
            }
        }
    }
}

#[test]
fn a_mirror_viewer_gets_the_home_host_and_its_keyframe_requests_reach_the_host() {
    let mut s = Spread::new();
    s.home
        .join("live", "host", Role::Host, ClientConfig::publisher(1, 0))
        .unwrap();
    s.run_for(WINDOW);
    let keyframes = s.home.client("host").keyframes_sent;
    s.mirror
        .join("live", "v", Role::Viewer, ClientConfig::viewer(2))
        .unwrap();
    s.run_for(WINDOW);
    let got = s.mirror.client("v").from(1);
    assert!(got.audio >= 10 && got.video >= 3, "{got:?}");
    assert_eq!(got.first_video_was_key, Some(true), "{got:?}");
    assert!(s.home.client("host").keyframes_sent > keyframes);
    let asked = s.home.count(|e| {
        matches!(e, SfuEvent::KeyframeRequested { peer, cause: KeyframeCause::NewSubscriber, .. }
            if *peer == pid("host"))
    });
    assert!(
        asked >= 1,
        "the home asked the host for the mirror's viewer"
    );
    // The mirror names the host as its viewer's source; the group counts on its home only.
    let routed = s.mirror.routed_since(0, "v");
    assert!(
        routed.contains(&(Kind::Video, Some(pid("host")))),
        "{routed:?}"
    );
    assert_eq!(s.mirror.core.stats().groups, 0);
    assert_eq!(s.home.core.stats().groups, 1);
}

#[test]
fn a_new_host_reaches_the_mirror_viewers_after_the_old_one_left() {
    let mut s = Spread::new();
    s.home
        .join("live", "host", Role::Host, ClientConfig::publisher(1, 0))
        .unwrap();
    s.mirror
        .join("live", "v", Role::Viewer, ClientConfig::viewer(2))
        .unwrap();
    s.run_for(WINDOW);
    assert!(s.mirror.client("v").from(1).video >= 3);
    let mark = s.mirror.events.len();
    s.home.core.remove_peer(&pid("host")).unwrap();
    s.run_for(WINDOW);
    let routed = s.mirror.routed_since(mark, "v");
    assert_eq!(routed, vec![(Kind::Audio, None), (Kind::Video, None)]);
    s.home
        .join("live", "host2", Role::Host, ClientConfig::publisher(3, 0))
        .unwrap();
    s.run_for(WINDOW);
    let got = s.mirror.client("v").from(3);
    assert!(got.audio >= 10 && got.video >= 3, "{got:?}");
    assert_eq!(got.first_video_was_key, Some(true), "{got:?}");
    // A mirror never takes a host of its own.
    let (_, offer) = super::client::Client::new(
        ClientConfig::publisher(4, 0),
        "10.0.9.9:5000".parse().unwrap(),
        s.mirror.now,
    );
    let request = crate::handle::AddPeer {
        group: gid("live"),
        peer: pid("intruder"),
        role: Role::Host,
        offer,
        replaces: None,
    };
    let refused = s.mirror.core.add_peer(s.mirror.now, request);
    assert!(refused.is_err(), "{refused:?}");
}

#[test]
fn a_mirror_that_missed_the_host_change_catches_up_on_the_next_tick() {
    let mut s = Spread::new();
    s.mirror
        .join("live", "v", Role::Viewer, ClientConfig::viewer(2))
        .unwrap();
    // The host's announcement and first frames are lost on the way to the mirror.
    s.lose_home_until = Some(s.home.now + Duration::from_millis(100));
    s.home
        .join("live", "host", Role::Host, ClientConfig::publisher(1, 0))
        .unwrap();
    s.run_for(Duration::from_millis(100));
    assert_eq!(
        s.mirror.client("v").from(1).audio,
        0,
        "nothing reached the mirror"
    );
    s.run_for(WINDOW * 2);
    let got = s.mirror.client("v").from(1);
    assert!(got.audio >= 10 && got.video >= 3, "{got:?}");
    assert_eq!(got.first_video_was_key, Some(true), "{got:?}");
}
