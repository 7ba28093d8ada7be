//! A direct call's media through the real SFU: both sides receive each other, the call
//! becomes `connected` when media flows both ways, ends `completed` with a duration that
//! matches, frees its peers; a side whose media is lost past the grace ends it
//! `connection_lost`.

use crate::calls_common::{TestUser, connected_with_track_of, dial_accepted, event};
use opencalls_client::media::{PeerConfig, PeerHandle, join_call_media};
use opencalls_client::{Client, DialOptions};
use opencalls_testkit::TestServer;
use opencalls_testkit::poll::{SLOW, until};

fn side(tag: u32) -> PeerConfig {
    PeerConfig {
        tag,
        send_video: true,
        recv_audio_slots: 1,
        recv_video_slots: 1,
        video_bitrate_bps: 100_000,
        video_fps: 15,
        ..PeerConfig::default()
    }
}

/// Alice dials Bob, Bob accepts, both offer media; returns both devices and peers.
async fn connected_call(server: &TestServer) -> (String, [Client; 2], [PeerHandle; 2]) {
    let alice = TestUser::create(server, "alice").await;
    let bob = TestUser::create(server, "bob").await;
    let mut caller = alice.device(server, None).await;
    let mut phone = bob.device(server, None).await;
    let video = DialOptions {
        is_video_call: true,
        ..DialOptions::default()
    };
    let id = dial_accepted(&caller, &mut phone, "bob", video).await;
    let caller_peer = join_call_media(&caller, &id, side(1)).await.unwrap();
    let phone_peer = join_call_media(&phone, &id, side(2)).await.unwrap();
    for (peer, other) in [(&caller_peer, 2), (&phone_peer, 1)] {
        until("audio and video from the other side", SLOW, async || {
            let got = peer.stats().from_source(other);
            got.audio_frames > 5 && got.video_frames > 5 && got.keyframes > 0
        })
        .await;
    }
    for (device, other) in [(&mut caller, "bob"), (&mut phone, "alice")] {
        connected_with_track_of(device, other).await;
    }
    (id, [caller, phone], [caller_peer, phone_peer])
}

#[tokio::test]
async fn both_sides_receive_each_other_and_the_call_ends_completed() {
    let server = TestServer::start().await;
    let (id, [caller, mut phone], peers) = connected_call(&server).await;
    let (_, body) = server.get(&format!("/v1/direct_calls/{id}")).await;
    assert_eq!(body["state"], "connected");

    let ended = caller.end_call(&id).await.unwrap();
    assert_eq!(ended.end_result.map(|r| r.as_str()), Some("completed"));
    let connected_at = ended.connected_at.expect("connected_at");
    assert!(connected_at >= ended.accepted_at.unwrap());
    assert_eq!(
        ended.duration,
        ended.ended_at.unwrap() - ended.accepted_at.unwrap()
    );
    let told = event(&mut phone, "call.ended").await;
    assert_eq!(told["duration"], ended.duration);
    until("the SFU freed both peers", SLOW, async || {
        let stats = server.sfu.stats().await.expect("stats");
        stats.peers == 0 && stats.groups == 0
    })
    .await;
    for peer in peers {
        peer.stop().await;
    }
}

#[tokio::test]
async fn media_lost_past_the_grace_ends_the_call_connection_lost() {
    let server = TestServer::start_with(|c| {
        c.media_transport_timeout_ms = 500;
        c.call_media_grace_ms = 300;
    })
    .await;
    let (id, [mut caller, mut phone], [caller_peer, phone_peer]) = connected_call(&server).await;
    phone_peer.stop().await;
    let lost = event(&mut phone, "media.disconnected").await;
    assert_eq!(lost["user_id"], "bob");
    for device in [&mut caller, &mut phone] {
        let lost = event(device, "call.media_lost").await;
        assert_eq!(lost["user_id"], "bob");
    }
    for device in [&mut caller, &mut phone] {
        let told = event(device, "call.ended").await;
        assert_eq!(told["end_result"], "connection_lost");
        assert_eq!(told["ended_by"], "bob");
    }
    let (_, body) = server.get(&format!("/v1/direct_calls/{id}")).await;
    assert_eq!(body["end_result"], "connection_lost");
    caller_peer.stop().await;
}

#[tokio::test]
async fn media_back_within_the_grace_keeps_the_call() {
    let server = TestServer::start_with(|c| {
        c.media_transport_timeout_ms = 500;
        c.call_media_grace_ms = 20_000;
    })
    .await;
    let (id, [mut caller, mut phone], [caller_peer, phone_peer]) = connected_call(&server).await;
    phone_peer.stop().await;
    event(&mut phone, "media.disconnected").await;
    for device in [&mut caller, &mut phone] {
        event(device, "call.media_lost").await;
    }
    // The phone renegotiates: a new offer for its side of the same call.
    let again = join_call_media(&phone, &id, side(3)).await.unwrap();
    for device in [&mut caller, &mut phone] {
        let back = event(device, "call.media_recovered").await;
        assert_eq!(back["user_id"], "bob");
        assert_eq!(back["call"]["state"], "connected");
    }
    until("the caller receives the new peer", SLOW, async || {
        caller_peer.stats().from_source(3).audio_frames > 5
    })
    .await;
    let ended = phone.end_call(&id).await.unwrap();
    assert_eq!(ended.end_result.map(|r| r.as_str()), Some("completed"));
    caller_peer.stop().await;
    again.stop().await;
}
