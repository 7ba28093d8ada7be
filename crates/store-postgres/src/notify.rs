//! Notifications between nodes, written once for every channel (docs/cluster.md, "What each
//! node runs"): sending a payload, or keeping a body too big for one in an overflow table
//! and sending its row id ([`Relay`]), and the node's ONE listening connection
//! ([`subscribe`]), which listens to every channel and hands each subscriber the
//! notifications of the channels it asked for.
//!
//! Invariants:
//! - a payload is `<head><body>`, the body being sent inline (it starts with `{`) or as
//!   `#<row id>` of the channel's overflow table when head and body are over [`MAX_INLINE`];
//! - a store (one per node) has at most one listening connection at a time: every
//!   subscription shares it; it closes when the last subscription is dropped, and when it
//!   breaks every subscription fails (each listens again, and the first opens a new one);
//! - a subscriber gets its channels' notifications in the order the database sent them;
//!   one that does not read holds the connection's reading back (at most [`FEED_QUEUE`]
//!   each), so PostgreSQL queues on its side rather than anything being dropped here.

use crate::PostgresStore;
use crate::error::Error;
use opencalls_store::StoreError;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_postgres::types::ToSql;
use tokio_postgres::{AsyncMessage, Client, GenericClient, NoTls};

/// The `application_name` of a node's listening connection (to find it in
/// `pg_stat_activity`).
pub const LISTENER_NAME: &str = "opencalls-listen";

/// Every channel a node listens to (chat and live frames, the outbox sequencer, node
/// messages, media notes).
const CHANNELS: [&str; 4] = [
    crate::chat::CHANNEL,
    crate::chat::OUTBOX_CHANNEL,
    crate::chat::NODE_CHANNEL,
    crate::media::CHANNEL,
];

/// The longest payload sent inline (PostgreSQL refuses 8000 bytes and more).
pub(crate) const MAX_INLINE: usize = 7_900;

/// How long a body kept in an overflow table stays readable.
const RELAY_KEEP_SECS: f64 = 60.0;

/// Notifications a subscriber holds before the listener waits for it.
const FEED_QUEUE: usize = 1_024;

/// A notification as it arrived: its channel and payload.
pub(crate) type Raw = (String, String);

/// A channel and the overflow table (`id`, the body `column`, `sent_at`) of its bodies too
/// big for a payload.
pub(crate) struct Relay {
    pub channel: &'static str,
    pub table: &'static str,
    pub column: &'static str,
}

/// A statement whose rows allow the notification (none: nothing is sent nor kept), and
/// its parameters (`$1`, `$2`, …).
pub(crate) struct Guard<'a> {
    pub sql: &'a str,
    pub params: Vec<&'a (dyn ToSql + Sync)>,
}

impl Guard<'_> {
    /// Always sends.
    pub fn none() -> Self {
        Guard {
            sql: "SELECT 1",
            params: Vec::new(),
        }
    }
}

impl Relay {
    /// Sends `head` + `body`, in the statement of `guard` (atomic with it), keeping `body`
    /// in the overflow table when the payload would be too big; `false` when the guard
    /// returned no row (nothing sent).
    pub async fn send(
        &self,
        conn: &impl GenericClient,
        guard: Guard<'_>,
        head: &str,
        body: &str,
    ) -> Result<bool, Error> {
        let n = guard.params.len();
        let fits = head.len() + body.len() <= MAX_INLINE;
        let inline = if fits {
            format!("{head}{body}")
        } else {
            String::new()
        };
        let mut params: Vec<&(dyn ToSql + Sync)> = guard.params;
        let sql = if fits {
            params.push(&inline);
            format!(
                "WITH taken AS ({}) SELECT pg_notify('{}', ${}::text) FROM taken",
                guard.sql,
                self.channel,
                n + 1
            )
        } else {
            params.push(&head);
            params.push(&body);
            format!(
                "WITH taken AS ({}),
                 kept AS (INSERT INTO {} ({}) SELECT ${}::text FROM taken RETURNING id)
                 SELECT pg_notify('{}', ${}::text || '#' || id::text) FROM kept",
                guard.sql,
                self.table,
                self.column,
                n + 2,
                self.channel,
                n + 1
            )
        };
        Ok(!conn.query(&sql, &params).await?.is_empty())
    }

    /// The body of a payload's `body` part: itself, or the kept one it names (`None` when
    /// malformed or swept already: too late to act on).
    pub async fn body(&self, store: &PostgresStore, body: &str) -> Result<Option<String>, Error> {
        let Some(id) = body.strip_prefix('#') else {
            return Ok(Some(body.to_owned()));
        };
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        let sql = format!("SELECT {} FROM {} WHERE id = $1", self.column, self.table);
        let row = store.conn().await?.query_opt(&sql, &[&id]).await?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Forgets kept bodies old enough to have been read.
    pub async fn sweep(&self, store: &PostgresStore) -> Result<(), Error> {
        let sql = format!(
            "DELETE FROM {} WHERE sent_at < now() - make_interval(secs => $1::float8)",
            self.table
        );
        store
            .conn()
            .await?
            .execute(&sql, &[&RELAY_KEEP_SECS])
            .await?;
        Ok(())
    }
}

/// Where a store keeps its listening connection while any subscription holds it.
pub(crate) type ListenerSlot = Arc<tokio::sync::Mutex<Weak<Listener>>>;

/// The listening connection (not pooled: it must stay open).
pub(crate) struct Listener {
    /// Keeps the connection open; dropped with the last subscription, it closes it.
    _client: Client,
    subscribers: Arc<Subscribers>,
}

#[derive(Default)]
struct Subscribers(Mutex<SubscriberList>);

#[derive(Default)]
struct SubscriberList {
    /// The connection broke: nobody may subscribe to it any more.
    broken: bool,
    list: Vec<(&'static [&'static str], mpsc::Sender<Raw>)>,
}

impl Subscribers {
    fn lock(&self) -> MutexGuard<'_, SubscriberList> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new subscriber's queue, unless the connection broke.
    fn add(&self, channels: &'static [&'static str]) -> Option<mpsc::Receiver<Raw>> {
        let mut state = self.lock();
        if state.broken {
            return None;
        }
        let (tx, rx) = mpsc::channel(FEED_QUEUE);
        state.list.push((channels, tx));
        Some(rx)
    }

    /// The queues of `channel`'s subscribers still reading.
    fn of(&self, channel: &str) -> Vec<mpsc::Sender<Raw>> {
        let mut state = self.lock();
        state.list.retain(|(_, tx)| !tx.is_closed());
        let wanted = state.list.iter().filter(|(c, _)| c.contains(&channel));
        wanted.map(|(_, tx)| tx.clone()).collect()
    }

    /// The connection broke: every subscription fails (its queue closes).
    fn break_all(&self) {
        let mut state = self.lock();
        state.broken = true;
        state.list.clear();
    }
}

/// A subscriber's view of the listening connection.
pub(crate) struct Subscription {
    _listener: Arc<Listener>,
    queue: mpsc::Receiver<Raw>,
}

impl Subscription {
    /// The next notification of the subscribed channels; an error means the connection
    /// broke (subscribe again).
    pub async fn recv(&mut self) -> Result<Raw, StoreError> {
        self.queue
            .recv()
            .await
            .ok_or_else(|| StoreError::Backend("the listening connection closed".into()))
    }
}

/// Subscribes to `channels` on the store's listening connection, opening it if there is
/// none (or only a broken one). Every notification sent after this returns is handed over.
pub(crate) async fn subscribe(
    store: &PostgresStore,
    channels: &'static [&'static str],
) -> Result<Subscription, Error> {
    let mut slot = store.listener.lock().await;
    if let Some(listener) = slot.upgrade()
        && let Some(queue) = listener.subscribers.add(channels)
    {
        return Ok(Subscription {
            _listener: listener,
            queue,
        });
    }
    let listener = Arc::new(connect(&store.config).await?);
    *slot = Arc::downgrade(&listener);
    let queue = listener
        .subscribers
        .add(channels)
        .ok_or_else(|| StoreError::Backend("the listening connection closed".into()))?;
    Ok(Subscription {
        _listener: listener,
        queue,
    })
}

/// Opens the listening connection and listens to every channel before it returns.
async fn connect(config: &tokio_postgres::Config) -> Result<Listener, Error> {
    let mut config = config.clone();
    // A connection that died silently (a cut network) is noticed within about 25 s: idle
    // 10 s, then 3 unanswered probes 5 s apart.
    config.keepalives_idle(Duration::from_secs(10));
    config.keepalives_interval(Duration::from_secs(5));
    config.keepalives_retries(3);
    config.application_name(LISTENER_NAME);
    let (client, mut connection) = config.connect(NoTls).await?;
    let subscribers = Arc::new(Subscribers::default());
    let handing = subscribers.clone();
    tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    let raw = (n.channel().to_owned(), n.payload().to_owned());
                    for tx in handing.of(&raw.0) {
                        // A subscriber dropped meanwhile is forgotten at the next one.
                        let _ = tx.send(raw.clone()).await;
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(err)) => {
                    tracing::warn!(%err, "the node's listening connection broke");
                    return handing.break_all();
                }
                None => return handing.break_all(), // closed: every subscription dropped
            }
        }
    });
    let listen: String = CHANNELS.iter().map(|c| format!("LISTEN {c};")).collect();
    client.batch_execute(&listen).await?;
    Ok(Listener {
        _client: client,
        subscribers,
    })
}
