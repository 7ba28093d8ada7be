//! Live chat shared by the nodes ([`ChatStore`]): per-user token buckets in `chat_buckets`
//! and a relay of every message through `NOTIFY opencalls_chat`, each node listening on one
//! connection of its own. The same connection listens to `opencalls_outbox` (the outbox
//! sequencer's new head, which wakes the node's event tail) and `opencalls_node` (typed
//! [`NodeMessage`]s, JSON); `opencalls_chat` also carries live-event frames that are not
//! chat (`relay_live_frame`: no bucket).
//!
//! One statement per message: it refills the user's bucket by the time elapsed (the
//! database's clock, the same for every node), takes a token or changes nothing, and only
//! if it took one sends the notification, in the same transaction. Notifications reach
//! listeners in commit order, so one sender's messages arrive in the order sent.
//!
//! A notification's payload must stay under 8000 bytes; a frame too big for it (a long
//! message from a user with a large profile) is kept in `chat_relay` and the notification
//! carries its row id instead. Both tables are `UNLOGGED`: chat is never stored, so neither
//! is worth a WAL write (the commit of a message waits for no disk flush), and PostgreSQL
//! empties them after a crash, which loses nothing that matters (at worst a refilled bucket
//! or a relayed message no node had read yet).
//!
//! Payloads: on `opencalls_chat`, `<origin node> <byte length of the live event id> <live
//! event id><body>`, the body being the frame (JSON, starts with `{`) or `#<chat_relay id>`;
//! on `opencalls_outbox`, the head seq in decimal; on `opencalls_node`, the JSON of
//! `{"origin": <node>, "message": <NodeMessage>}`.

use crate::PostgresStore;
use crate::error::Error;
use async_trait::async_trait;
use opencalls_domain::LiveEventId;
use opencalls_store::{
    ChatBucket, ChatStore, NodeId, NodeMessage, Notice, NoticeFeed, OutgoingChat, RelayedChat,
    StoreError,
};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Client, NoTls};

/// Migration 5.
pub(crate) const SCHEMA: &str = r#"
CREATE UNLOGGED TABLE chat_buckets (
    user_id TEXT PRIMARY KEY,
    tokens  DOUBLE PRECISION NOT NULL,
    at      TIMESTAMPTZ NOT NULL
);
CREATE UNLOGGED TABLE chat_relay (
    id      BIGSERIAL PRIMARY KEY,
    frame   TEXT NOT NULL,
    sent_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX chat_relay_by_sent_at ON chat_relay (sent_at);
"#;

/// The `application_name` of a listening connection (to find it in `pg_stat_activity`).
pub const LISTENER_NAME: &str = "opencalls-chat";

/// The notification channel of live-event frames.
const CHANNEL: &str = "opencalls_chat";

/// The channel of the outbox sequencer (see `outbox::sequence`).
const OUTBOX_CHANNEL: &str = "opencalls_outbox";

/// The channel of [`NodeMessage`]s.
const NODE_CHANNEL: &str = "opencalls_node";

/// The longest payload sent inline (PostgreSQL refuses 8000 bytes and more).
const MAX_INLINE: usize = 7_900;

/// How long a relayed frame kept in `chat_relay` stays readable.
const RELAY_KEEP_SECS: f64 = 60.0;

/// Notifications a listener holds before it stops reading its connection (PostgreSQL then
/// queues them on its side).
const FEED_QUEUE: usize = 1_024;

/// Refills `$1`'s bucket (`$2` burst, `$3` per second) by the time since its last take
/// (never negative: a statement that waited for the row lock may have started earlier) and
/// takes one token, or changes nothing and returns no row when less than one is left.
const TAKE: &str = "INSERT INTO chat_buckets AS b (user_id, tokens, at)
        VALUES ($1::text, $2::float8 - 1, now())
    ON CONFLICT (user_id) DO UPDATE SET
        tokens = LEAST($2::float8, b.tokens
            + GREATEST(0, EXTRACT(EPOCH FROM now() - b.at)::float8) * $3::float8) - 1,
        at = GREATEST(b.at, now())
    WHERE LEAST($2::float8, b.tokens
        + GREATEST(0, EXTRACT(EPOCH FROM now() - b.at)::float8) * $3::float8) >= 1
    RETURNING 1";

/// `$4` is the whole payload.
fn send_inline() -> String {
    format!("WITH taken AS ({TAKE}) SELECT pg_notify('{CHANNEL}', $4::text) FROM taken")
}

/// `$4` is the payload up to the body, `$5` the frame to keep.
fn send_kept() -> String {
    format!(
        "WITH taken AS ({TAKE}),
         kept AS (INSERT INTO chat_relay (frame) SELECT $5::text FROM taken RETURNING id)
         SELECT pg_notify('{CHANNEL}', $4::text || '#' || id::text) FROM kept"
    )
}

/// Relays a live-event frame without a bucket: `$1` is the whole payload.
fn relay_inline() -> String {
    format!("SELECT pg_notify('{CHANNEL}', $1::text)")
}

/// Relays a live-event frame too big for a payload: `$1` is the payload up to the body,
/// `$2` the frame to keep.
fn relay_kept() -> String {
    format!(
        "WITH kept AS (INSERT INTO chat_relay (frame) VALUES ($2::text) RETURNING id)
         SELECT pg_notify('{CHANNEL}', $1::text || '#' || id::text) FROM kept"
    )
}

/// A [`NodeMessage`] on the wire (`opencalls_node`).
#[derive(Serialize, Deserialize)]
struct WireMessage {
    origin: String,
    message: NodeMessage,
}

/// The payload up to the body.
fn head(origin: &NodeId, id: &LiveEventId) -> String {
    format!("{origin} {} {id}", id.as_str().len())
}

/// Splits a payload into its origin, live event id and body.
fn parse(payload: &str) -> Option<(NodeId, LiveEventId, &str)> {
    let (origin, rest) = payload.split_once(' ')?;
    let (len, rest) = rest.split_once(' ')?;
    let len: usize = len.parse().ok()?;
    let (id, body) = (rest.get(..len)?, rest.get(len..)?);
    Some((NodeId::parse(origin)?, LiveEventId::parse(id)?, body))
}

#[async_trait]
impl ChatStore for PostgresStore {
    async fn send_chat(&self, chat: OutgoingChat<'_>) -> Result<bool, StoreError> {
        let conn = self.conn().await?;
        let user = chat.user.as_str();
        let (burst, rate) = (chat.bucket.burst, chat.bucket.per_second);
        let head = head(chat.origin, chat.live_event_id);
        let rows = if head.len() + chat.frame.len() <= MAX_INLINE {
            let payload = format!("{head}{}", chat.frame);
            conn.query(&send_inline(), &[&user, &burst, &rate, &payload])
                .await
        } else {
            conn.query(&send_kept(), &[&user, &burst, &rate, &head, &chat.frame])
                .await
        };
        Ok(!rows.map_err(Error::from)?.is_empty())
    }

    async fn relay_live_frame(
        &self,
        origin: &NodeId,
        live_event_id: &LiveEventId,
        frame: &str,
    ) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        let head = head(origin, live_event_id);
        if head.len() + frame.len() <= MAX_INLINE {
            let payload = format!("{head}{frame}");
            conn.execute(&relay_inline(), &[&payload]).await
        } else {
            conn.execute(&relay_kept(), &[&head, &frame]).await
        }
        .map_err(Error::from)?;
        Ok(())
    }

    async fn broadcast(&self, origin: &NodeId, message: &NodeMessage) -> Result<(), StoreError> {
        let wire = WireMessage {
            origin: origin.as_str().to_owned(),
            message: message.clone(),
        };
        let payload = serde_json::to_string(&wire).map_err(Error::from)?;
        if payload.len() > MAX_INLINE {
            return Err(StoreError::Backend("node message too big to send".into()));
        }
        let conn = self.conn().await?;
        conn.execute(
            "SELECT pg_notify($1::text, $2::text)",
            &[&NODE_CHANNEL, &payload],
        )
        .await
        .map_err(Error::from)?;
        Ok(())
    }

    async fn listen(&self) -> Result<Box<dyn NoticeFeed>, StoreError> {
        Ok(Box::new(listen(self).await?))
    }

    async fn sweep_chat(&self, bucket: ChatBucket) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        // A bucket untouched for burst / rate seconds is full: the same as no row.
        let full = bucket.burst / bucket.per_second.max(f64::MIN_POSITIVE);
        conn.execute(
            "DELETE FROM chat_buckets WHERE at < now() - make_interval(secs => $1::float8)",
            &[&full],
        )
        .await
        .map_err(Error::from)?;
        conn.execute(
            "DELETE FROM chat_relay WHERE sent_at < now() - make_interval(secs => $1::float8)",
            &[&RELAY_KEEP_SECS],
        )
        .await
        .map_err(Error::from)?;
        Ok(())
    }
}

/// A notification as it arrived: its channel and payload.
type Raw = (String, String);

/// A `LISTEN` on a connection of its own (not pooled: it must stay open).
struct PgNoticeFeed {
    /// Keeps the connection open; dropping the feed closes it.
    _client: Client,
    payloads: mpsc::Receiver<Result<Raw, tokio_postgres::Error>>,
    store: PostgresStore,
}

async fn listen(store: &PostgresStore) -> Result<PgNoticeFeed, Error> {
    let mut config = store.config.clone();
    // A connection that died silently (a cut network) is noticed within about 25 s: idle
    // 10 s, then 3 unanswered probes 5 s apart.
    config.keepalives_idle(Duration::from_secs(10));
    config.keepalives_interval(Duration::from_secs(5));
    config.keepalives_retries(3);
    config.application_name(LISTENER_NAME);
    let (client, mut connection) = config.connect(NoTls).await?;
    let (tx, payloads) = mpsc::channel(FEED_QUEUE);
    tokio::spawn(async move {
        loop {
            let payload = match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    Ok((n.channel().to_owned(), n.payload().to_owned()))
                }
                Some(Ok(_)) => continue,
                Some(Err(err)) => Err(err),
                None => return, // closed: the feed was dropped
            };
            let broken = payload.is_err();
            if tx.send(payload).await.is_err() || broken {
                return;
            }
        }
    });
    client
        .batch_execute(&format!(
            "LISTEN {CHANNEL}; LISTEN {OUTBOX_CHANNEL}; LISTEN {NODE_CHANNEL}"
        ))
        .await?;
    Ok(PgNoticeFeed {
        _client: client,
        payloads,
        store: store.clone(),
    })
}

#[async_trait]
impl NoticeFeed for PgNoticeFeed {
    async fn next(&mut self) -> Result<Notice, StoreError> {
        loop {
            let (channel, payload) = match self.payloads.recv().await {
                Some(raw) => raw.map_err(Error::from)?,
                None => return Err(StoreError::Backend("listener closed".into())),
            };
            let notice = match channel.as_str() {
                CHANNEL => self.chat(&payload).await?.map(Notice::Chat),
                OUTBOX_CHANNEL => payload
                    .parse()
                    .ok()
                    .map(|head| Notice::OutboxSequenced { head }),
                NODE_CHANNEL => node_message(&payload),
                _ => None,
            };
            match notice {
                Some(notice) => return Ok(notice),
                None => tracing::debug!(%channel, len = payload.len(), "notification skipped"),
            }
        }
    }
}

/// A [`NodeMessage`] payload, unless malformed.
fn node_message(payload: &str) -> Option<Notice> {
    let wire: WireMessage = serde_json::from_str(payload).ok()?;
    Some(Notice::FromNode {
        origin: NodeId::parse(&wire.origin)?,
        message: wire.message,
    })
}

impl PgNoticeFeed {
    /// A relayed live-event frame; `None` if malformed or swept already (too late).
    async fn chat(&self, payload: &str) -> Result<Option<RelayedChat>, StoreError> {
        let Some((origin, live_event_id, body)) = parse(payload) else {
            tracing::warn!(len = payload.len(), "malformed chat notification; skipped");
            return Ok(None);
        };
        let frame = match body.strip_prefix('#') {
            Some(id) => match self.kept_frame(id).await? {
                Some(frame) => frame,
                None => return Ok(None),
            },
            None => body.to_owned(),
        };
        Ok(Some(RelayedChat {
            origin,
            live_event_id,
            frame,
        }))
    }

    /// A frame kept in `chat_relay`, unless it is gone.
    async fn kept_frame(&self, id: &str) -> Result<Option<String>, StoreError> {
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        let conn = self.store.conn().await?;
        let row = conn
            .query_opt("SELECT frame FROM chat_relay WHERE id = $1", &[&id])
            .await
            .map_err(Error::from)?;
        Ok(row.map(|r| r.get(0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        let node = NodeId::parse("node-a").unwrap();
        let id = LiveEventId::parse("a b\n#{").unwrap();
        let payload = format!("{}{{\"x\":1}}", head(&node, &id));
        let (origin, parsed, body) = parse(&payload).unwrap();
        assert_eq!((origin, parsed, body), (node, id, "{\"x\":1}"));
        assert!(parse("node-a 99 short").is_none());
    }
}
