//! Audio before video in a fan-out, and the bandwidth estimator (with its per-packet
//! pacer) only on subscribers that could be given another layer.

use super::client::ClientConfig;
use super::{Net, WINDOW, gid, pid};
use crate::api::{Policy, Role};
use crate::config::SfuConfig;
use crate::engine::peer::VideoSend;

/// A live group: host `h` (tag 1) and viewers `v1`..`v3`, forwarding, media flowing.
fn live_of_three() -> Net {
    // Unpaced, so a frame's datagrams all leave on the packetizing drain.
    let cfg = SfuConfig {
        bandwidth_estimation: false,
        ..SfuConfig::default()
    };
    let mut net = Net::with_config_and_group(cfg, "live", Policy::Live);
    net.join("live", "h", Role::Host, ClientConfig::publisher(1, 0))
        .unwrap();
    for (tag, name) in (2..).zip(["v1", "v2", "v3"]) {
        net.join("live", name, Role::Viewer, ClientConfig::viewer(tag))
            .unwrap();
    }
    net.core
        .set_forwarding(net.now, &gid("live"), true)
        .unwrap();
    net.run_for(WINDOW);
    net
}

/// Steps the host alone (1 ms at a time) and feeds its datagrams to the core until `done`
/// holds (checked after each datagram); until then each input is drained if `drain`.
fn feed_host_until(net: &mut Net, what: &str, drain: bool, done: impl Fn(&Net) -> bool) {
    let h = net.names["h"];
    let from = net.clients[h].addr;
    let sfu = net.core.local_addr();
    for _ in 0..1000 {
        net.now += super::MIN_STEP;
        net.clients[h].handle_timeout(net.now);
        for data in std::mem::take(&mut net.clients[h].outbox) {
            net.core.handle_receive(net.now, from, sfu, &data);
            if done(net) {
                return;
            }
            while drain && deliver_one(net) {}
        }
    }
    panic!("{what}: not reached");
}

/// Hands the transmits already built to their clients, building nothing more.
fn deliver_one_ready(net: &mut Net) -> bool {
    net.core.transmit_ready() && deliver_one(net)
}

/// Polls one transmit and hands it to its client.
fn deliver_one(net: &mut Net) -> bool {
    let Some(t) = net.core.poll_transmit() else {
        return false;
    };
    let sfu = net.core.local_addr();
    let now = net.now;
    if let Some(client) = net.clients.iter_mut().find(|c| c.addr == t.destination) {
        client.receive(now, sfu, &t.contents);
    }
    true
}

#[test]
fn an_audio_frame_goes_ahead_of_a_video_fan_out_under_way() {
    let mut net = live_of_three();
    let viewers = ["v1", "v2", "v3"];
    let before: Vec<_> = viewers.iter().map(|v| net.client(v).from(1)).collect();
    let frames_before = net.core.stats().frames_forwarded;
    // A video frame is written to all three viewers (everything before it was sent);
    // v1's copy is sent.
    feed_host_until(&mut net, "a video fan-out", true, |n| {
        n.core.copies.lens() == (0, 3)
    });
    assert!(deliver_one(&mut net), "v1's copy is built");
    while net.core.transmit_ready() {
        deliver_one(&mut net);
    }
    assert_eq!(net.core.copies.lens(), (0, 2));
    // The host's next audio frame arrives before the fan-out goes on.
    feed_host_until(&mut net, "an audio fan-out", false, |n| {
        n.core.copies.lens().0 == 3
    });
    let videos_waiting = net.core.copies.lens().1;
    assert!(videos_waiting >= 2);
    let waiting = ["v2", "v3"];
    let video_before: Vec<_> = waiting
        .iter()
        .map(|v| net.client(v).from(1).video)
        .collect();
    let audio_before: Vec<_> = waiting
        .iter()
        .map(|v| net.client(v).from(1).audio)
        .collect();
    while net.core.copies.lens().0 > 0 {
        assert!(deliver_one(&mut net), "the core had copies to build");
        assert_eq!(
            net.core.copies.lens().1,
            videos_waiting,
            "no video copy is taken while an audio copy waits"
        );
    }
    while deliver_one_ready(&mut net) {}
    // The audio pass carried only audio: the viewers whose video copy still waits got the
    // audio frame, and not the video frame with it.
    for (i, viewer) in waiting.iter().enumerate() {
        let got = net.client(viewer).from(1);
        assert!(got.audio > audio_before[i], "{viewer} got the audio first");
        assert_eq!(
            got.video, video_before[i],
            "{viewer}'s video waits its turn"
        );
    }
    while deliver_one(&mut net) {}
    net.core.transmits_sent(net.now);
    // Everything arrived, and the counters count each copy once.
    let mut received = 0;
    for (viewer, before) in viewers.iter().zip(before) {
        let got = net.client(viewer).from(1);
        assert!(got.audio > before.audio, "{viewer} got the audio frame");
        assert!(got.video > before.video, "{viewer} got the video frame");
        received += got.audio - before.audio + got.video - before.video;
    }
    let forwarded = net.core.stats().frames_forwarded - frames_before;
    assert_eq!(forwarded, received);
    net.run_for(WINDOW);
    for viewer in viewers {
        assert!(
            net.client(viewer).from(1).video >= 5,
            "{viewer} keeps receiving video"
        );
    }
}

#[test]
fn the_estimator_is_on_only_where_a_layer_could_be_chosen() {
    let mut net = Net::with_group("live", Policy::Live);
    // Nobody publishes yet: the layering is unknown, so the estimator stays on.
    net.join("live", "early", Role::Viewer, ClientConfig::viewer(2))
        .unwrap();
    net.join("live", "h", Role::Host, ClientConfig::publisher(1, 0))
        .unwrap();
    // The host sends one layer: nothing to choose for a viewer joining now.
    net.join("live", "late", Role::Viewer, ClientConfig::viewer(3))
        .unwrap();
    // A host that declared simulcast (the browser SDK's q/h/f): the estimator is on.
    let host = net.core.ids[&pid("h")];
    net.core.peers.get_mut(&host).unwrap().video_send = VideoSend::Simulcast;
    net.join("live", "third", Role::Viewer, ClientConfig::viewer(4))
        .unwrap();
    let paced = |net: &Net, name: &str| net.core.peers[&net.core.ids[&pid(name)]].paced;
    assert!(paced(&net, "early"));
    assert!(!paced(&net, "late"));
    assert!(paced(&net, "third"));
    assert!(!paced(&net, "h"), "a host receives no video");
    // With or without it, every viewer gets the host's media.
    net.core
        .set_forwarding(net.now, &gid("live"), true)
        .unwrap();
    net.run_for(WINDOW);
    for viewer in ["early", "late", "third"] {
        let got = net.client(viewer).from(1);
        assert!(got.audio >= 10 && got.video >= 3, "{viewer}: {got:?}");
    }
}

/// The SDP answer the core gives `cfg`'s offer as `name` in `group` (the client is then
/// dropped: only the answer matters).
fn answer_for(net: &mut Net, group: &str, name: &str, role: Role, cfg: ClientConfig) -> String {
    let addr = std::net::SocketAddr::from(([10, 0, 9, cfg.tag as u8], 5000));
    let (_client, answer) = net
        .offer(group, name, role, cfg, addr)
        .expect("offer accepted");
    answer
}

#[test]
fn only_publishers_and_estimating_peers_are_asked_for_twcc_feedback() {
    const TWCC: &str = "transport-wide-cc";
    let mut live = Net::with_group("live", Policy::Live);
    let early = answer_for(
        &mut live,
        "live",
        "early",
        Role::Viewer,
        ClientConfig::viewer(2),
    );
    assert!(early.contains(TWCC), "an estimating viewer keeps TWCC");
    live.join("live", "h", Role::Host, ClientConfig::publisher(1, 0))
        .unwrap();
    let late = answer_for(
        &mut live,
        "live",
        "late",
        Role::Viewer,
        ClientConfig::viewer(3),
    );
    assert!(
        !late.contains(TWCC),
        "nothing to estimate for: no TWCC\n{late}"
    );
    // A publisher in a room of single-layer publishers has no estimator but keeps TWCC:
    // its own sender estimates from the SFU's feedback.
    let mut room = Net::with_group("room", Policy::Video);
    room.join_publishers("room", &["a"], 1);
    let b = answer_for(
        &mut room,
        "room",
        "b",
        Role::Participant,
        ClientConfig::publisher(2, 1),
    );
    let key = room.core.ids[&pid("b")];
    assert!(!room.core.peers[&key].paced);
    assert!(b.contains(TWCC));
}
