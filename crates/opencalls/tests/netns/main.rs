//! Media across real network boundaries: the real `opencalls` binary runs in a network
//! namespace the test creates, joined to the test's namespace by a veth pair; media peers
//! (`opencalls-media-peer`, through the Rust client) talk to it over that link, and
//! nftables inside the server's namespace takes away what a hostile network takes away.
//! Traffic never leaves the veth pair, the namespace and loopback.
//!
//! Each test prints why it is skipped when namespaces cannot be made (not root, no `ip` or
//! `nft`); everything else is a failure. The TURN case runs Debian's coturn (`turnserver`)
//! in the server's namespace and the media peer's own TURN-over-TCP client. One test binary, in this package because only
//! here does cargo build the binary (`CARGO_BIN_EXE_opencalls`).

mod net;

use net::Topology;
use opencalls_client::Client;
use opencalls_client::media::{PeerConfig, PeerHandle, TurnServer, join_media_on};
use opencalls_domain::{RoomId, RoomType};
use opencalls_testkit::binary::Spawned;
use opencalls_testkit::platform::{NewRoom, PlatformApi};
use opencalls_testkit::poll::{SLOW, until};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

/// The master token of every spawned server.
const TOKEN: &str = "netns-test-master-token-0123456789abcdef";
/// The SFU's UDP and ICE-TCP port inside the server's namespace (its own namespace: no
/// other process can hold it).
const MEDIA_PORT: u16 = 50000;
/// How fast media must come back after the client's address changed (issue 12).
const RECOVERY: Duration = Duration::from_secs(3);

/// `opencalls serve` inside the topology's server namespace, bound to an unspecified
/// address with the namespace's address advertised (as on a cloud VM behind 1:1 NAT).
async fn serve(topo: &Topology, data_dir: &Path) -> Spawned {
    serve_advertising(topo, data_dir, &[topo.server_ip]).await
}

/// Like [`serve`], with candidates on each of `ips`; bound to `[::]` (dual stack, one
/// socket) when one of them is IPv6.
async fn serve_advertising(topo: &Topology, data_dir: &Path, ips: &[IpAddr]) -> Spawned {
    let http = format!("{}:0", topo.server_ip);
    serve_with(
        topo,
        data_dir,
        ips,
        &[("OPENCALLS_HTTP_ADDR", http.as_str())],
    )
    .await
}

/// The server with `extra` environment (which may override the HTTP address).
async fn serve_with(
    topo: &Topology,
    data_dir: &Path,
    ips: &[IpAddr],
    extra: &[(&str, &str)],
) -> Spawned {
    let exe = Path::new(env!("CARGO_BIN_EXE_opencalls"));
    let any = if ips.iter().any(IpAddr::is_ipv6) {
        "[::]"
    } else {
        "0.0.0.0"
    };
    let media = format!("{any}:{MEDIA_PORT}");
    let advertised: Vec<String> = ips
        .iter()
        .map(|ip| SocketAddr::new(*ip, MEDIA_PORT).to_string())
        .collect();
    let advertised = advertised.join(",");
    let mut env = vec![
        ("OPENCALLS_MEDIA_ADDR", media.as_str()),
        ("OPENCALLS_MEDIA_ADVERTISED_ADDRS", advertised.as_str()),
    ];
    env.extend_from_slice(extra);
    let launcher = ["ip", "netns", "exec", topo.server_ns.as_str()];
    Spawned::serve_via(&launcher, exe, data_dir, TOKEN, &env).await
}

fn peer_config(tag: u32, ice_tcp: bool) -> PeerConfig {
    PeerConfig {
        tag,
        recv_audio_slots: 1,
        recv_video_slots: 1,
        video_bitrate_bps: 100_000,
        video_fps: 15,
        ice_tcp,
        ..PeerConfig::default()
    }
}

/// A participant of the room with its media on `ip`.
struct Member {
    client: Client,
    peer: PeerHandle,
    tag: u32,
}

async fn join(api: &PlatformApi, room: &str, user: &str, ip: IpAddr, cfg: PeerConfig) -> Member {
    let client = api.device(user).await.expect("device");
    client.enter(room, true, true).await.expect("room.enter");
    let tag = cfg.tag;
    let (peer, _) = join_media_on(&client, room, cfg, ip)
        .await
        .expect("media.offer");
    Member { client, peer, tag }
}

/// Video frames `to` received from `from` so far.
fn video_from(to: &Member, from: &Member) -> u64 {
    to.peer.stats().from_source(from.tag).video_frames
}

async fn media_flows_both_ways(a: &Member, b: &Member) {
    until("each member decodes the other's video", SLOW, async || {
        video_from(a, b) > 10 && video_from(b, a) > 10
    })
    .await;
}

/// `opencalls_media_peers_connected_total{path}` from `/metrics`.
async fn connected_over(api: &PlatformApi, path: &str) -> u64 {
    let text = api
        .http()
        .get(api.url("/metrics"))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics body");
    let series = format!("opencalls_media_peers_connected_total{{path=\"{path}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&series))
        .and_then(|n| n.trim().parse::<f64>().ok())
        .map_or(0, |n| n as u64)
}

async fn room(api: &PlatformApi) -> RoomId {
    let room = api
        .create_room(&NewRoom::of(RoomType::SmallRoomForVideo))
        .await
        .expect("create room");
    room.room_id
}

#[tokio::test]
async fn udp_blocked_client_connects_over_ice_tcp() {
    let Some(topo) = Topology::create(1) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve(&topo, dir.path()).await;
    // The office network: nothing but TCP from the client's address to the server.
    topo.drop_udp_from(topo.client_ip_a);
    let id = room(&server.api).await;
    let room = id.as_str();
    let blocked = join(
        &server.api,
        room,
        "office",
        topo.client_ip_a,
        peer_config(1, true),
    )
    .await;
    let open = join(
        &server.api,
        room,
        "home",
        topo.client_ip_b,
        peer_config(2, true),
    )
    .await;
    media_flows_both_ways(&blocked, &open).await;
    until(
        "the /metrics count the ICE-TCP transport",
        SLOW,
        async || connected_over(&server.api, "tcp").await >= 1,
    )
    .await;
    assert!(
        topo.udp_dropped() > 0,
        "the client's UDP was really dropped"
    );
}

#[tokio::test]
async fn media_resumes_after_the_client_address_changes() {
    let Some(topo) = Topology::create(2) else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve(&topo, dir.path()).await;
    let id = room(&server.api).await;
    let room = id.as_str();
    let mut moving = join(
        &server.api,
        room,
        "phone",
        topo.client_ip_a,
        peer_config(1, false),
    )
    .await;
    let mut other = join(
        &server.api,
        room,
        "desk",
        topo.client_ip_b,
        peer_config(2, false),
    )
    .await;
    media_flows_both_ways(&moving, &other).await;
    while other
        .client
        .next_incoming(Duration::from_millis(5))
        .await
        .is_some()
    {}

    // Wi-Fi → cellular: the old address disappears, a new one appears.
    let started = Instant::now();
    let new_ip = topo.move_client_a();
    let seen = video_from(&other, &moving);
    let (peer, _) = join_media_on(&moving.client, room, peer_config(1, false), new_ip)
        .await
        .expect("re-offer from the new address");
    let old = std::mem::replace(&mut moving.peer, peer);
    until(
        "video from the moved member resumes",
        RECOVERY,
        async || video_from(&other, &moving) > seen + 5,
    )
    .await;
    let recovery = started.elapsed();
    println!("media resumed {recovery:?} after the address change");
    old.stop().await;
    let back = moving.peer.stats().from_source(other.tag).video_frames;
    until(
        "the moved member decodes the other's video again",
        RECOVERY,
        async || video_from(&moving, &other) > back + 5,
    )
    .await;

    // Nobody left or came: the other member saw no exit/enter, the seat is the same.
    while let Some(message) = other.client.next_incoming(Duration::from_millis(200)).await {
        if let opencalls_client::Incoming::Event { name, .. } = &message {
            assert!(
                name != "room.participant_exited" && name != "room.participant_entered",
                "the others must not see the move: {message:?}"
            );
        }
    }
    let snapshot = server.api.room(&id).await.expect("room");
    assert_eq!(snapshot.current_participants.len(), 2, "{snapshot:?}");
}

#[tokio::test]
async fn dual_stack_serves_ipv6_and_ipv4_members_on_one_port() {
    let Some(topo) = Topology::create(3) else {
        return;
    };
    let (client_v6, server_v6) = topo.add_ipv6();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = serve_advertising(&topo, dir.path(), &[topo.server_ip, server_v6]).await;
    let id = room(&server.api).await;
    let room = id.as_str();
    let v6 = join(&server.api, room, "six", client_v6, peer_config(1, false)).await;
    let v4 = join(
        &server.api,
        room,
        "four",
        topo.client_ip_b,
        peer_config(2, false),
    )
    .await;
    media_flows_both_ways(&v6, &v4).await;
}

/// coturn in the server's namespace (TURN REST API secret, TCP and UDP on `TURN_PORT`),
/// killed when dropped; returns once it listens.
async fn coturn(topo: &Topology) -> tokio::process::Child {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let ip = topo.server_ip.to_string();
    let mut child = tokio::process::Command::new("ip")
        .args([
            "netns",
            "exec",
            &topo.server_ns,
            "turnserver",
            "-n",
            "--no-cli",
            "--no-tls",
        ])
        .args([
            "--no-dtls",
            "--fingerprint",
            "--use-auth-secret",
            "--realm=opencalls.test",
        ])
        .arg(format!("--static-auth-secret={TURN_SECRET}"))
        .arg(format!("--listening-ip={ip}"))
        .arg(format!("--relay-ip={ip}"))
        .arg(format!("--listening-port={TURN_PORT}"))
        .args([
            "--min-port=49160",
            "--max-port=49200",
            "--log-file=stdout",
            "--simple-log",
        ])
        .stdout(std::process::Stdio::piped())
        // It complains on stderr that this kernel has no SCTP; nothing else goes there.
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn turnserver");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    tokio::time::timeout(SLOW, async {
        while let Some(line) = lines.next_line().await.expect("turnserver output") {
            if line.contains("Total General servers") {
                break;
            }
        }
    })
    .await
    .expect("turnserver did not start in time");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    child
}

const TURN_PORT: u16 = 3478;
const TURN_SECRET: &str = "netns-turn-secret";
const HTTP_PORT: u16 = 8080;

/// A member whose media can only go through the TURN server of its `hello.ice_servers`.
async fn join_via_turn(api: &PlatformApi, room: &str, user: &str, ip: IpAddr, tag: u32) -> Member {
    let client = api.device(user).await.expect("device");
    client.enter(room, true, true).await.expect("room.enter");
    let ice = client.ice_servers();
    let server = ice.first().expect("hello.ice_servers has the TURN server");
    let turn = TurnServer::from_urls(
        &server.urls,
        server.username.as_deref().unwrap_or_default(),
        server.credential.as_deref().unwrap_or_default(),
    );
    assert!(turn.is_some(), "a turn: URL over TCP: {ice:?}");
    let cfg = PeerConfig {
        turn,
        ..peer_config(tag, false)
    };
    let (peer, _) = join_media_on(&client, room, cfg, ip)
        .await
        .expect("media.offer");
    Member { client, peer, tag }
}

#[tokio::test]
async fn only_turn_over_tcp_reachable_media_flows_through_the_relay() {
    let Some(topo) = Topology::create(4) else {
        return;
    };
    let _coturn = coturn(&topo).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let http = format!("{}:{HTTP_PORT}", topo.server_ip);
    let urls = format!("turn:{}:{TURN_PORT}?transport=tcp", topo.server_ip);
    let env = [
        ("OPENCALLS_HTTP_ADDR", http.as_str()),
        ("OPENCALLS_TURN_URLS", urls.as_str()),
        ("OPENCALLS_TURN_SECRET", TURN_SECRET),
    ];
    let server = serve_with(&topo, dir.path(), &[topo.server_ip], &env).await;
    // A network that lets out nothing but the web and TURN over TCP.
    topo.allow_only_tcp(&[HTTP_PORT, TURN_PORT]);
    let id = room(&server.api).await;
    let room = id.as_str();
    let a = join_via_turn(&server.api, room, "hotel", topo.client_ip_a, 1).await;
    let b = join_via_turn(&server.api, room, "airport", topo.client_ip_b, 2).await;
    media_flows_both_ways(&a, &b).await;
    assert_eq!(connected_over(&server.api, "relay").await, 2);
    assert_eq!(connected_over(&server.api, "udp").await, 0);
}
