//! The media load of `media_load.rs`, driven through Janus's VideoRoom instead of OpenCalls,
//! for a comparison in one run (scripts/bench-janus.sh starts Janus with a minimal loopback
//! configuration and runs both). Same str0m media peers, same synthetic payloads, same
//! measurement (`opencalls_media_peer::load`): G rooms of P publishers, each receiving the
//! other P−1, plus one host publishing to V receive-only viewers.
//!
//! Signaling is Janus's own HTTP JSON API: create a session, attach
//! `janus.plugin.videoroom` handles, create the rooms, join each publisher and `publish`
//! with the peer's JSEP offer (Janus answers); each receiver attaches a subscriber handle,
//! `join`s with the feeds it wants (one multistream subscription per receiver), answers
//! Janus's offer and `start`s. Unlike OpenCalls (one peer connection per device that both
//! publishes and receives), a Janus room participant has two peer connections: its
//! publisher and its subscriber.
//!
//! `cargo run --release -p opencalls-client --example janus_load -- --janus
//!  http://127.0.0.1:18088/janus --server-pid PID [--groups 2] [--per-group 3]
//!  [--viewers 20] [--seconds 15] [--video-kbps 1500] [--warmup 3]`

use anyhow::{Context, Result, bail};
use clap::Parser;
use opencalls_media_peer::load::{Member, Snapshot, Window};
use opencalls_media_peer::{MediaPeer, PeerConfig};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Tag offset of a room participant's subscriber peer (its publisher has the plain tag).
const SUBSCRIBER_TAG: u32 = 500_000;
const HOST_TAG: u32 = 1_000_000;
/// How long one Janus event may take to come.
const EVENT_WAIT: Duration = Duration::from_secs(20);

/// Media load through Janus's VideoRoom: G rooms of P publishers plus one host → V viewers.
#[derive(Parser)]
struct Opts {
    /// Janus's HTTP API base URL.
    #[arg(long, default_value = "http://127.0.0.1:18088/janus")]
    janus: String,
    /// Address the media peers bind: where Janus gathers its ICE candidates (libnice skips
    /// loopback, so scripts/bench-janus.sh gives Janus a local dummy interface).
    #[arg(long, default_value = "127.0.0.1")]
    ip: IpAddr,
    /// Janus's process id (its CPU time is read from /proc).
    #[arg(long)]
    server_pid: u32,
    #[arg(long, default_value_t = 2)]
    groups: usize,
    /// Publishers per room (clamped to 2..=6 as in media_load).
    #[arg(long, default_value_t = 3)]
    per_group: usize,
    #[arg(long, default_value_t = 20)]
    viewers: usize,
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    #[arg(long, default_value_t = 1500)]
    video_kbps: u32,
}

/// One Janus session over HTTP, with the events that arrived for handles nobody waited on
/// yet.
struct Janus {
    http: reqwest::Client,
    base: String,
    session: u64,
    transactions: u64,
    pending: HashMap<u64, VecDeque<Value>>,
}

impl Janus {
    async fn connect(base: &str) -> Result<Janus> {
        let mut janus = Janus {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_string(),
            session: 0,
            transactions: 0,
            pending: HashMap::new(),
        };
        let created = janus
            .post(String::new(), json!({"janus": "create"}))
            .await?;
        janus.session = id_of(&created)?;
        Ok(janus)
    }

    /// Posts one request (a transaction id is added) and returns Janus's direct reply.
    async fn post(&mut self, path: String, mut body: Value) -> Result<Value> {
        self.transactions += 1;
        body["transaction"] = json!(format!("t{}", self.transactions));
        let url = format!("{}{path}", self.base);
        let reply: Value = self
            .http
            .post(&url)
            .json(&body)
            .send()
            .await?
            .json()
            .await?;
        if reply["janus"] == "error" {
            bail!("janus error for {body}: {reply}");
        }
        Ok(reply)
    }

    async fn attach(&mut self) -> Result<u64> {
        let path = format!("/{}", self.session);
        let reply = self
            .post(
                path,
                json!({"janus": "attach", "plugin": "janus.plugin.videoroom"}),
            )
            .await?;
        id_of(&reply)
    }

    /// A VideoRoom request on `handle`, with a JSEP if given.
    async fn message(&mut self, handle: u64, body: Value, jsep: Option<Value>) -> Result<Value> {
        let mut request = json!({"janus": "message", "body": body});
        if let Some(jsep) = jsep {
            request["jsep"] = jsep;
        }
        let reply = self
            .post(format!("/{}/{handle}", self.session), request)
            .await?;
        plugin_error(&reply)?;
        Ok(reply)
    }

    /// The next plugin event for `handle` that `wanted` accepts (others of that handle are
    /// dropped; other handles' events are kept for later).
    async fn event(&mut self, handle: u64, wanted: impl Fn(&Value) -> bool) -> Result<Value> {
        let deadline = Instant::now() + EVENT_WAIT;
        loop {
            while let Some(event) = self.pending.get_mut(&handle).and_then(VecDeque::pop_front) {
                plugin_error(&event)?;
                if wanted(&event) {
                    return Ok(event);
                }
            }
            if Instant::now() > deadline {
                bail!("no expected Janus event for handle {handle} within {EVENT_WAIT:?}");
            }
            let url = format!("{}/{}?maxev=50", self.base, self.session);
            let polled: Value = self.http.get(&url).send().await?.json().await?;
            let events = match polled {
                Value::Array(events) => events,
                one => vec![one],
            };
            for event in events {
                if let Some(sender) = event["sender"].as_u64() {
                    self.pending.entry(sender).or_default().push_back(event);
                }
            }
        }
    }
}

fn id_of(reply: &Value) -> Result<u64> {
    reply["data"]["id"]
        .as_u64()
        .with_context(|| format!("no id in Janus reply {reply}"))
}

fn plugin_error(reply: &Value) -> Result<()> {
    let data = &reply["plugindata"]["data"];
    if data.get("error_code").is_some() {
        bail!("videoroom error: {data}");
    }
    Ok(())
}

fn jsep_of(event: &Value, kind: &str) -> Option<String> {
    (event["jsep"]["type"] == kind)
        .then(|| event["jsep"]["sdp"].as_str().map(str::to_string))
        .flatten()
}

fn publisher(o: &Opts, tag: u32) -> PeerConfig {
    PeerConfig {
        tag,
        video_bitrate_bps: o.video_kbps * 1000,
        video_fps: 30,
        ..PeerConfig::default()
    }
}

/// A room id unique to this run and `n`.
fn room_id(n: u64) -> u64 {
    u64::from(std::process::id()) * 100 + n
}

/// Creates room `room` for up to `publishers` publishers.
async fn create_room(janus: &mut Janus, room: u64, publishers: usize) -> Result<()> {
    let handle = janus.attach().await?;
    let body = json!({
        "request": "create", "room": room, "publishers": publishers,
        "audiocodec": "opus", "videocodec": "vp8", "bitrate": 0, "notify_joining": false,
    });
    let reply = janus.message(handle, body, None).await?;
    if reply["plugindata"]["data"]["videoroom"] != "created" {
        bail!("room {room} not created: {reply}");
    }
    Ok(())
}

/// Joins a publishing peer tagged `tag` to `room`; returns it and its Janus feed id.
async fn publish(janus: &mut Janus, o: &Opts, room: u64, tag: u32) -> Result<(Member, u64)> {
    let handle = janus.attach().await?;
    let join =
        json!({"request": "join", "room": room, "ptype": "publisher", "display": tag.to_string()});
    janus.message(handle, join, None).await?;
    let joined = janus
        .event(handle, |e| e["plugindata"]["data"]["videoroom"] == "joined")
        .await?;
    let feed = joined["plugindata"]["data"]["id"]
        .as_u64()
        .context("no publisher id")?;
    let (peer, offer) = MediaPeer::new(publisher(o, tag), o.ip).await?;
    let jsep = json!({"type": "offer", "sdp": offer, "trickle": false});
    let body = json!({"request": "publish", "audio": true, "video": true});
    janus.message(handle, body, Some(jsep)).await?;
    let answered = janus
        .event(handle, |e| jsep_of(e, "answer").is_some())
        .await?;
    let answer = jsep_of(&answered, "answer").context("answer")?;
    let peer = peer.start(&answer)?;
    let member = Member {
        peer,
        tag,
        expects: Vec::new(),
    };
    Ok((member, feed))
}

/// Waits until every one of `members` has ICE and DTLS up.
async fn connected(members: &[Member], within: Duration) -> Result<()> {
    let deadline = Instant::now() + within;
    while !members.iter().all(|m| m.peer.is_connected()) {
        if Instant::now() > deadline {
            let n = members.iter().filter(|m| m.peer.is_connected()).count();
            bail!(
                "{n} of {} media peers connected within {within:?}",
                members.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// A receive-only peer tagged `tag` subscribed to `feeds` (their tags are `expects`),
/// retried while Janus does not list a feed yet (a publisher becomes a feed a little after
/// its peer connection is up).
async fn subscribe(
    janus: &mut Janus,
    ip: IpAddr,
    room: u64,
    tag: u32,
    feeds: &[u64],
    expects: Vec<u32>,
) -> Result<Member> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match try_subscribe(janus, ip, room, tag, feeds, expects.clone()).await {
            Err(e) if Instant::now() < deadline && e.to_string().contains("No such feed") => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return other,
        }
    }
}

async fn try_subscribe(
    janus: &mut Janus,
    ip: IpAddr,
    room: u64,
    tag: u32,
    feeds: &[u64],
    expects: Vec<u32>,
) -> Result<Member> {
    let handle = janus.attach().await?;
    let streams: Vec<Value> = feeds.iter().map(|f| json!({"feed": f})).collect();
    let join = json!({"request": "join", "room": room, "ptype": "subscriber", "streams": streams});
    janus.message(handle, join, None).await?;
    let offered = janus
        .event(handle, |e| jsep_of(e, "offer").is_some())
        .await?;
    let offer = jsep_of(&offered, "offer").context("offer")?;
    let (peer, answer) = MediaPeer::answer(PeerConfig::viewer(tag), ip, &offer).await?;
    let jsep = json!({"type": "answer", "sdp": answer, "trickle": false});
    janus
        .message(handle, json!({"request": "start"}), Some(jsep))
        .await?;
    Ok(Member { peer, tag, expects })
}

/// G rooms of P publishers; each participant also subscribes to the other P−1.
async fn rooms(o: &Opts, janus: &mut Janus, members: &mut Vec<Member>) -> Result<()> {
    for g in 0..o.groups {
        let room = room_id(g as u64);
        create_room(janus, room, o.per_group).await?;
        let tags: Vec<u32> = (0..o.per_group).map(|p| (g * 100 + p + 1) as u32).collect();
        let mut feeds = Vec::new();
        let first = members.len();
        for &tag in &tags {
            let (member, feed) = publish(janus, o, room, tag).await?;
            members.push(member);
            feeds.push(feed);
        }
        connected(&members[first..], Duration::from_secs(20)).await?;
        for (i, &tag) in tags.iter().enumerate() {
            let others: Vec<usize> = (0..tags.len()).filter(|&j| j != i).collect();
            let feeds: Vec<u64> = others.iter().map(|&j| feeds[j]).collect();
            let expects = others.iter().map(|&j| tags[j]).collect();
            let member =
                subscribe(janus, o.ip, room, SUBSCRIBER_TAG + tag, &feeds, expects).await?;
            members.push(member);
        }
    }
    Ok(())
}

/// One host publishing in its own room, V viewers subscribed to it.
async fn live(o: &Opts, janus: &mut Janus, members: &mut Vec<Member>) -> Result<()> {
    let room = room_id(99);
    create_room(janus, room, 1).await?;
    let (host, feed) = publish(janus, o, room, HOST_TAG).await?;
    connected(std::slice::from_ref(&host), Duration::from_secs(20)).await?;
    members.push(host);
    for v in 0..o.viewers {
        let tag = HOST_TAG + 1 + v as u32;
        members.push(subscribe(janus, o.ip, room, tag, &[feed], vec![HOST_TAG]).await?);
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut o = Opts::parse();
    o.per_group = o.per_group.clamp(2, 6);
    if o.server_pid == 0 {
        bail!("--server-pid is required (Janus's CPU time is read from /proc)");
    }
    let started = Instant::now();
    let mut janus = Janus::connect(&o.janus).await?;
    let mut members = Vec::new();
    rooms(&o, &mut janus, &mut members).await?;
    live(&o, &mut janus, &mut members).await?;
    connected(&members, Duration::from_secs(30)).await?;
    println!(
        "{} media peers connected to Janus in {:.1}s ({} rooms x {} publishers + subscribers, live host + {} viewers)",
        members.len(),
        started.elapsed().as_secs_f64(),
        o.groups,
        o.per_group,
        o.viewers
    );
    tokio::time::sleep(Duration::from_secs(o.warmup)).await;
    let a = Snapshot::take(o.server_pid, &members)?;
    tokio::time::sleep(Duration::from_secs(o.seconds)).await;
    let b = Snapshot::take(o.server_pid, &members)?;
    Window::between(&members, &a, &b).print("janus");
    for m in members {
        m.peer.stop().await;
    }
    Ok(())
}
