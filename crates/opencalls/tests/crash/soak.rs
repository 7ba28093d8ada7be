//! The chaos and soak run behind `scripts/soak` (ignored in normal test runs): mixed load —
//! Platform API writes, WebSocket devices entering and leaving rooms, media peers
//! publishing, webhook deliveries — against the real binary, SIGKILLed and restarted every
//! `SOAK_KILL_EVERY_SECS` (60) for `SOAK_SECS` (600). Then it asserts that nothing
//! acknowledged was lost (rooms, custom items, webhook deliveries), that no seat leaked,
//! and that RSS and open file descriptors stayed flat across incarnations. Loopback only.

use crate::serve;
use opencalls_client::media::{PeerConfig, join_media};
use opencalls_client::{Client, open_session};
use opencalls_domain::{RoomId, RoomType};
use opencalls_testkit::WebhookSettings;
use opencalls_testkit::binary::Spawned;
use opencalls_testkit::platform::{NewRoom, PlatformApi};
use opencalls_testkit::poll;
use opencalls_testkit::receiver::{Hit, Receiver};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

fn env_secs(name: &str, default: u64) -> Duration {
    let secs = std::env::var(name).ok().and_then(|v| v.parse().ok());
    Duration::from_secs(secs.unwrap_or(default))
}

/// What the load saw acknowledged (or possibly applied: the write in flight at a kill).
#[derive(Default)]
struct Ledger {
    rooms: HashSet<RoomId>,
    /// Per room: the last acknowledged custom-item value, and one sent but not answered.
    items: HashMap<RoomId, (u64, Option<u64>)>,
}

#[derive(Default)]
struct Counters {
    creates: AtomicU64,
    updates: AtomicU64,
    enters: AtomicU64,
    media: AtomicU64,
}

/// One sample of an incarnation's resources, taken just before it is killed.
#[derive(Clone, Copy, Debug)]
struct Sample {
    rss_kib: u64,
    fds: usize,
}

fn sample(pid: u32) -> Option<Sample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count();
    Some(Sample { rss_kib, fds })
}

/// Creates rooms and updates the custom items of its own rooms until `stop` or an error.
async fn writer(
    api: PlatformApi,
    ledger: Arc<Mutex<Ledger>>,
    counters: Arc<Counters>,
    stop: watch::Receiver<bool>,
) {
    let mut mine: Vec<RoomId> = Vec::new();
    let mut value = 0u64;
    while !*stop.borrow() {
        if mine.len() < 20 || value.is_multiple_of(4) {
            let Ok(room) = api
                .create_room(&NewRoom::of(RoomType::SmallRoomForVideo))
                .await
            else {
                return;
            };
            ledger.lock().unwrap().rooms.insert(room.room_id.clone());
            counters.creates.fetch_add(1, Ordering::Relaxed);
            mine.push(room.room_id);
        }
        value += 1;
        let id = mine[(value as usize) % mine.len()].clone();
        ledger
            .lock()
            .unwrap()
            .items
            .entry(id.clone())
            .or_insert((0, None))
            .1 = Some(value);
        let items = BTreeMap::from([("v".to_owned(), value.to_string())]);
        if api.update_custom_items(&id, &items).await.is_err() {
            return;
        }
        ledger.lock().unwrap().items.insert(id, (value, None));
        counters.updates.fetch_add(1, Ordering::Relaxed);
    }
}

/// Devices of one user that enter a room, stay a moment, leave (or vanish), and come back
/// with a new session each time.
async fn devices(
    api: PlatformApi,
    user: String,
    room: RoomId,
    counters: Arc<Counters>,
    stop: watch::Receiver<bool>,
) {
    let Ok(issued) = api.create_user_with_token(&user).await else {
        return;
    };
    while !*stop.borrow() {
        let Ok(session) = open_session(api.base(), &user, &issued.access_token).await else {
            return;
        };
        let Ok(client) = Client::connect(&api.ws_base(), &session.session_token, None).await else {
            return;
        };
        if client.enter(room.as_str(), true, false).await.is_err() {
            return;
        }
        let entered = counters.enters.fetch_add(1, Ordering::Relaxed);
        for _ in 0..20 {
            if client.ping().await.is_err() {
                return;
            }
        }
        if entered.is_multiple_of(4) {
            client.kill(); // a dropped device: its seat waits out the grace period
        } else {
            let _ = client.exit(room.as_str()).await;
            client.close().await;
        }
    }
}

/// A device publishing media into `room` until `stop` or an error.
async fn publisher(
    api: PlatformApi,
    user: String,
    room: RoomId,
    tag: u32,
    counters: Arc<Counters>,
    mut stop: watch::Receiver<bool>,
) {
    let Ok(client) = api.device(&user).await else {
        return;
    };
    if client.enter(room.as_str(), true, true).await.is_err() {
        return;
    }
    let config = PeerConfig {
        tag,
        send_video: true,
        recv_audio_slots: 2,
        recv_video_slots: 2,
        video_bitrate_bps: 100_000,
        video_fps: 10,
        ..PeerConfig::default()
    };
    let Ok((peer, _)) = join_media(&client, room.as_str(), config).await else {
        return;
    };
    counters.media.fetch_add(1, Ordering::Relaxed);
    let _ = stop.changed().await;
    peer.stop().await;
}

async fn start_load(
    server: &Spawned,
    ledger: &Arc<Mutex<Ledger>>,
    counters: &Arc<Counters>,
    cycle: u32,
    stop: &watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    for _ in 0..4 {
        tasks.push(tokio::spawn(writer(
            server.api.clone(),
            ledger.clone(),
            counters.clone(),
            stop.clone(),
        )));
    }
    let call = match server
        .api
        .create_room(&NewRoom::of(RoomType::SmallRoomForVideo))
        .await
    {
        Ok(room) => room.room_id,
        Err(_) => return tasks,
    };
    ledger.lock().unwrap().rooms.insert(call.clone());
    for i in 0..2 {
        let user = format!("pub-{cycle}-{i}");
        tasks.push(tokio::spawn(publisher(
            server.api.clone(),
            user,
            call.clone(),
            i + 1,
            counters.clone(),
            stop.clone(),
        )));
    }
    // Devices come and go in a large audio room (100 seats), so dropped devices waiting out
    // their grace period never fill it.
    let lobby = NewRoom::of(RoomType::LargeRoomForAudioOnly);
    let Ok(lobby) = server.api.create_room(&lobby).await else {
        return tasks;
    };
    ledger.lock().unwrap().rooms.insert(lobby.room_id.clone());
    for i in 0..3 {
        let user = format!("dev-{cycle}-{i}");
        tasks.push(tokio::spawn(devices(
            server.api.clone(),
            user,
            lobby.room_id.clone(),
            counters.clone(),
            stop.clone(),
        )));
    }
    tasks
}

/// One incarnation: start, load for `length`, sample just before the end, SIGKILL mid-load.
async fn incarnation(
    dir: &std::path::Path,
    cycle: u32,
    length: Duration,
    ledger: &Arc<Mutex<Ledger>>,
    counters: &Arc<Counters>,
) -> Option<Sample> {
    let server = serve(dir, &[]).await;
    let (stop, stopped) = watch::channel(false);
    let tasks = start_load(&server, ledger, counters, cycle, &stopped).await;
    // The load runs for the incarnation's length (a paced run, not a wait for readiness).
    let before = Duration::from_secs(2).min(length);
    tokio::time::sleep(length - before).await;
    let sampled = server.pid().and_then(sample);
    if let Some(s) = sampled {
        eprintln!("cycle {cycle}: rss {} KiB, fds {}", s.rss_kib, s.fds);
    }
    tokio::time::sleep(before).await;
    server.kill().await; // mid-flight: the load is still running
    stop.send_replace(true);
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
    }
    sampled
}

/// On a fresh start without load: every acknowledged room and custom-item value is there,
/// no seat is left, and every acknowledged room's `room:create` reaches the receiver.
async fn check_nothing_lost(server: &Spawned, ledger: &Ledger, receiver: &Receiver) {
    for id in &ledger.rooms {
        let room = server.api.room(id).await;
        let room = room.unwrap_or_else(|e| panic!("acknowledged room {id} lost: {e}"));
        if let Some((acked, in_flight)) = ledger.items.get(id) {
            let stored: u64 = room.custom_items.get("v").map_or(0, |v| v.parse().unwrap());
            assert!(
                stored == *acked || Some(stored) == *in_flight,
                "room {id}: stored v={stored}, acknowledged {acked}, in flight {in_flight:?}"
            );
        }
    }
    let occupied = server
        .api
        .list_rooms("current_participant_range_gte=1&limit=100");
    let occupied = occupied.await.unwrap().rooms;
    let ids: Vec<&RoomId> = occupied.iter().map(|r| &r.room_id).collect();
    assert!(ids.is_empty(), "seats left after restart: {ids:?}");
    let wanted: HashSet<String> = ledger.rooms.iter().map(|id| id.to_string()).collect();
    let delivered = |hits: &[Hit]| -> HashSet<String> {
        hits.iter()
            .filter_map(|h| h.json["room"]["room_id"].as_str().map(str::to_owned))
            .collect()
    };
    let all = "every acknowledged room's room:create is delivered";
    poll::until(all, Duration::from_secs(120), async || {
        wanted.is_subset(&delivered(&receiver.hits()))
    })
    .await;
}

/// Flat: no incarnation holds more than the first ones plus a margin (the database grows;
/// the per-process heap and descriptors must not).
fn assert_flat(samples: &[Sample]) {
    let first = samples.iter().take(2).map(|s| (s.rss_kib, s.fds)).max();
    let Some((rss, fds)) = first else {
        panic!("no samples were taken");
    };
    for (i, s) in samples.iter().enumerate() {
        let cycle = i + 1;
        let grown = s.rss_kib > rss * 3 / 2 + 32 * 1024;
        assert!(
            !grown,
            "cycle {cycle}: RSS {} KiB vs {rss} KiB at the start",
            s.rss_kib
        );
        assert!(
            s.fds <= fds + 32,
            "cycle {cycle}: {} fds vs {fds} at the start",
            s.fds
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "minutes long: run by scripts/soak"]
async fn soak_under_kill_and_restart() {
    let (total, every) = (
        env_secs("SOAK_SECS", 600),
        env_secs("SOAK_KILL_EVERY_SECS", 60),
    );
    let dir = tempfile::tempdir().unwrap();
    let receiver = Receiver::ok().await;
    let server = serve(dir.path(), &[]).await;
    let hook = WebhookSettings::to(&receiver.url, &["room:create"]);
    server.api.set_webhook(&hook).await.unwrap();
    server.kill().await;
    let (ledger, counters): (Arc<Mutex<Ledger>>, Arc<Counters>) = Default::default();
    let (mut samples, started, mut cycle) = (Vec::new(), Instant::now(), 0);
    while started.elapsed() < total {
        cycle += 1;
        let length = total.saturating_sub(started.elapsed()).min(every);
        let sampled = incarnation(dir.path(), cycle, length, &ledger, &counters).await;
        samples.extend(sampled);
    }

    let server = serve(dir.path(), &[]).await;
    let ledger = std::mem::take(&mut *ledger.lock().unwrap());
    check_nothing_lost(&server, &ledger, &receiver).await;
    let after = server.pid().and_then(sample);
    server.kill().await;
    let (c, hits) = (&counters, receiver.hits());
    eprintln!(
        "soak: {cycle} incarnations in {:?}; acknowledged {} room creates, {} custom-item \
         updates; {} room enters over WebSocket; {} media peers; {} webhook deliveries ({} \
         distinct)",
        started.elapsed(),
        c.creates.load(Ordering::Relaxed),
        c.updates.load(Ordering::Relaxed),
        c.enters.load(Ordering::Relaxed),
        c.media.load(Ordering::Relaxed),
        hits.len(),
        opencalls_testkit::receiver::distinct(&hits),
    );
    eprintln!("soak: samples before each kill: {samples:?}; idle after the run: {after:?}");
    assert_flat(&samples);
}
