//! Seeding the benchmark database, cached under `target/` between runs.
//!
//! Rooms go in through the SQLite store's `insert_room` (the store's real write path, with many
//! writes in flight so group commit batches them); deletions and participants go through
//! `RoomService`, so `participant_count`, the participant rows and the outbox all agree
//! exactly as they would in production. The data: 70 % video / 30 % audio rooms, `created_at`
//! spread evenly over the 7 days before seeding (all inside the default 14-day window of a
//! listing), 40 % created by the Platform API (`""`), 30 % by 100 heavy users and 30 % by
//! 10,000 light users, 20 % with custom items, 5 % deleted, 2 % with 1-4 participants.

use crate::load::Rng;
use anyhow::Context;
use opencalls_domain::custom_items::KeyRule;
use opencalls_domain::participant::EnterRequest;
use opencalls_domain::{
    Actor, ClientId, CustomItems, ParticipantId, Room, RoomId, RoomType, User, UserId,
};
use opencalls_runtime::SystemClock;
use opencalls_service::Services;
use opencalls_testkit::store::{open_postgres, open_sqlite, settle_postgres};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Bump when the data shape changes, so stale caches are not reused.
const SEED_VERSION: u32 = 1;
/// A cache older than this is re-seeded: its rooms would drift out of the default window.
const CACHE_MAX_AGE: Duration = Duration::from_secs(2 * 24 * 3600);
const SPAN_MS: i64 = 7 * 24 * 3600 * 1000;
const IN_FLIGHT: usize = 4096;
pub const HEAVY_USERS: u64 = 100;
pub const LIGHT_USERS: u64 = 10_000;

/// What the benchmark needs to know about the seeded data.
pub struct Seeded {
    pub db: PathBuf,
    pub rooms: u64,
    pub first_created_at: i64,
    pub last_created_at: i64,
    /// A random sample of room ids (open and deleted, with and without participants).
    pub sample_ids: Vec<String>,
    pub seconds: Option<f64>,
}

pub fn heavy_user(k: u64) -> String {
    format!("heavy-{k}")
}

pub fn light_user(k: u64) -> String {
    format!("user-{k}")
}

/// Returns the cached database for `rooms` rooms, seeding it first if needed.
pub async fn cached(cache_root: &Path, rooms: u64, fresh: bool) -> anyhow::Result<Seeded> {
    let dir = cache_root.join(format!("rooms-{rooms}-v{SEED_VERSION}"));
    let meta = dir.join("meta.txt");
    if !fresh && let Some(seeded) = read_meta(&dir, &meta, rooms)? {
        eprintln!("using cached seed in {}", dir.display());
        return Ok(seeded);
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let started = Instant::now();
    let mut seeded = seed(&dir.join("opencalls.db"), rooms).await?;
    seeded.seconds = Some(started.elapsed().as_secs_f64());
    let ids = seeded.sample_ids.join("\n");
    std::fs::write(dir.join("ids.txt"), ids)?;
    std::fs::write(
        &meta,
        format!(
            "{} {} {}",
            now_ms(),
            seeded.first_created_at,
            seeded.last_created_at
        ),
    )?;
    Ok(seeded)
}

fn read_meta(dir: &Path, meta: &Path, rooms: u64) -> anyhow::Result<Option<Seeded>> {
    let Ok(text) = std::fs::read_to_string(meta) else {
        return Ok(None);
    };
    let nums: Vec<i64> = text
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    let [seeded_at, first, last] = nums[..] else {
        return Ok(None);
    };
    if now_ms() - seeded_at > CACHE_MAX_AGE.as_millis() as i64 {
        return Ok(None);
    }
    if schema_of(&dir.join("opencalls.db"))? != current_schema(dir)? {
        eprintln!("the store's schema changed since the cache was seeded; seeding again");
        return Ok(None);
    }
    let ids = std::fs::read_to_string(dir.join("ids.txt"))?;
    Ok(Some(Seeded {
        db: dir.join("opencalls.db"),
        rooms,
        first_created_at: first,
        last_created_at: last,
        sample_ids: ids.lines().map(str::to_owned).collect(),
        seconds: None,
    }))
}

/// The schema (tables and indexes) of the database at `db`.
fn schema_of(db: &Path) -> anyhow::Result<Vec<String>> {
    let conn = rusqlite::Connection::open(db)?;
    let mut stmt = conn.prepare("SELECT coalesce(sql, name) FROM sqlite_master ORDER BY name")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The schema a new store gets from the current migrations.
fn current_schema(dir: &Path) -> anyhow::Result<Vec<String>> {
    let probe = dir.with_extension("schema-probe");
    if probe.exists() {
        std::fs::remove_dir_all(&probe)?;
    }
    drop(open_sqlite(&probe.join("opencalls.db"))?);
    let schema = schema_of(&probe.join("opencalls.db"));
    std::fs::remove_dir_all(&probe)?;
    schema
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

async fn seed(db: &Path, rooms: u64) -> anyhow::Result<Seeded> {
    let store = open_sqlite(db)?;
    let seeded = seed_store(store, rooms).await?;
    checkpoint(db)?;
    Ok(Seeded {
        db: db.to_owned(),
        ..seeded
    })
}

/// Seeds the (empty) PostgreSQL database at `url`; not cached: the database is the cache.
/// Then settles it as a default server's autovacuum and checkpointer would shortly after
/// such a load (not on one run with `autovacuum = off`, as CI's is), so the measurement
/// sees the steady state, not the load's aftermath.
pub async fn postgres(url: &str, rooms: u64) -> anyhow::Result<Seeded> {
    let store = open_postgres(url).await?;
    let started = Instant::now();
    let mut seeded = seed_store(store, rooms).await?;
    seeded.seconds = Some(started.elapsed().as_secs_f64());
    settle_postgres(url).await?;
    Ok(seeded)
}

/// Seeds `store` with `rooms` rooms (see the module doc for the data).
async fn seed_store(store: Arc<dyn opencalls_store::Store>, rooms: u64) -> anyhow::Result<Seeded> {
    let first_created_at = now_ms() - SPAN_MS;
    let step = SPAN_MS as f64 / rooms.max(1) as f64;
    let mut rng = Rng::new(42);
    let (mut deleted, mut populated, mut sample) = (Vec::new(), Vec::new(), Vec::new());
    let mut tasks = tokio::task::JoinSet::new();
    let mut last_created_at = first_created_at;
    for i in 0..rooms {
        let created_at = first_created_at + (i as f64 * step) as i64;
        last_created_at = created_at;
        let change = random_room(&mut rng, created_at)?;
        let id = change.room.room_id.clone();
        let video = change.room.room_type == RoomType::SmallRoomForVideo;
        if rng.chance(5) {
            deleted.push(id.clone());
        } else if rng.chance(2) {
            populated.push((id.clone(), video));
        }
        if rng.below(50) == 0 {
            sample.push(id.to_string());
        }
        let store = store.clone();
        tasks.spawn(async move { store.insert_room(change).await });
        if tasks.len() >= IN_FLIGHT {
            drain(&mut tasks, IN_FLIGHT / 2).await?;
        }
        if i > 0 && i % 100_000 == 0 {
            eprintln!("seeded {i} rooms");
        }
    }
    drain(&mut tasks, 0).await?;
    let services = Services::new(store.clone(), Arc::new(SystemClock));
    let mut tasks = tokio::task::JoinSet::new();
    eprintln!("deleting {} rooms", deleted.len());
    for id in deleted {
        let rooms = services.rooms.clone();
        tasks.spawn(async move { rooms.delete(&id, Actor::PlatformApi).await.map(drop) });
        if tasks.len() >= IN_FLIGHT {
            drain(&mut tasks, IN_FLIGHT / 2).await?;
        }
    }
    drain(&mut tasks, 0).await?;
    eprintln!("adding participants to {} rooms", populated.len());
    for (id, video) in populated {
        for _ in 0..=rng.below(4) {
            let rooms = services.rooms.clone();
            let (id, request) = (id.clone(), enter_request(&mut rng, video)?);
            tasks.spawn(async move { rooms.enter(&id, request).await.map(drop) });
        }
        if tasks.len() >= IN_FLIGHT {
            drain(&mut tasks, IN_FLIGHT / 2).await?;
        }
    }
    drain(&mut tasks, 0).await?;
    drop(services);
    drop(store);
    Ok(Seeded {
        db: PathBuf::new(),
        rooms,
        first_created_at,
        last_created_at,
        sample_ids: sample,
        seconds: None,
    })
}

fn random_room(
    rng: &mut Rng,
    created_at: i64,
) -> anyhow::Result<opencalls_domain::room::RoomChange> {
    let room_type = if rng.chance(70) {
        RoomType::SmallRoomForVideo
    } else {
        RoomType::LargeRoomForAudioOnly
    };
    let created_by = match rng.below(10) {
        0..4 => String::new(),
        4..7 => heavy_user(rng.below(HEAVY_USERS)),
        _ => light_user(rng.below(LIGHT_USERS)),
    };
    let mut items = BTreeMap::new();
    if rng.chance(20) {
        items.insert("topic".to_owned(), format!("topic-{}", rng.below(1000)));
    }
    let items = CustomItems::new(items, KeyRule::Plain)?;
    Ok(Room::create(
        RoomId::generate(),
        room_type,
        items,
        created_by,
        created_at,
    ))
}

fn enter_request(rng: &mut Rng, video: bool) -> anyhow::Result<EnterRequest> {
    let user = light_user(rng.below(LIGHT_USERS));
    Ok(EnterRequest {
        participant_id: ParticipantId::generate(),
        user: User {
            user_id: UserId::parse(&user).context("user id")?,
            nickname: user.clone(),
            profile_url: String::new(),
            metadata: BTreeMap::new(),
            is_active: true,
            role: None,
        },
        client_id: ClientId::generate(),
        is_audio_on: true,
        is_video_on: video && rng.chance(50),
    })
}

async fn drain<E>(
    tasks: &mut tokio::task::JoinSet<Result<(), E>>,
    down_to: usize,
) -> anyhow::Result<()>
where
    E: std::error::Error + Send + Sync + 'static,
{
    while tasks.len() > down_to {
        if let Some(done) = tasks.join_next().await {
            done??;
        }
    }
    Ok(())
}

/// Moves everything from the WAL into the database file, so the file alone can be copied.
fn checkpoint(db: &Path) -> anyhow::Result<()> {
    let conn = rusqlite::Connection::open(db)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
        if busy == 0 {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "the WAL checkpoint stayed busy");
        std::thread::sleep(Duration::from_millis(50));
    }
}
