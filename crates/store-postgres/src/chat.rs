//! Live chat shared by the nodes ([`ChatStore`]): per-user token buckets in `chat_buckets`
//! and a relay of every message through `NOTIFY opencalls_chat`, heard on the node's one
//! listening connection (`notify`, which also keeps frames too big for a payload). The
//! same connection listens to `opencalls_outbox` (the outbox
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
use crate::notify::{self, Guard, Relay, Subscription};
use async_trait::async_trait;
use opencalls_domain::LiveEventId;
use opencalls_store::{
    ChatBucket, ChatStore, NodeId, NodeMessage, Notice, NoticeFeed, OutgoingChat, RelayedChat,
    StoreError,
};
use serde::{Deserialize, Serialize};

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

/// The `application_name` of the node's listening connection (shared: see `notify`).
pub use crate::notify::LISTENER_NAME;

/// The notification channel of live-event frames.
pub(crate) const CHANNEL: &str = "opencalls_chat";

/// The channel of the outbox sequencer (see `outbox::sequence`).
pub(crate) const OUTBOX_CHANNEL: &str = "opencalls_outbox";

/// The channel of [`NodeMessage`]s.
pub(crate) const NODE_CHANNEL: &str = "opencalls_node";

/// The channels a [`NoticeFeed`] hears.
const FEED_CHANNELS: &[&str] = &[CHANNEL, OUTBOX_CHANNEL, NODE_CHANNEL];

/// Live-event frames and where those too big for a payload are kept.
const RELAY: Relay = Relay {
    channel: CHANNEL,
    table: "chat_relay",
    column: "frame",
};

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
        let guard = Guard {
            sql: TAKE,
            params: vec![&user, &burst, &rate],
        };
        let head = head(chat.origin, chat.live_event_id);
        Ok(RELAY.send(&**conn, guard, &head, chat.frame).await?)
    }

    async fn relay_live_frame(
        &self,
        origin: &NodeId,
        live_event_id: &LiveEventId,
        frame: &str,
    ) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        let head = head(origin, live_event_id);
        RELAY.send(&**conn, Guard::none(), &head, frame).await?;
        Ok(())
    }

    async fn broadcast(&self, origin: &NodeId, message: &NodeMessage) -> Result<(), StoreError> {
        let wire = WireMessage {
            origin: origin.as_str().to_owned(),
            message: message.clone(),
        };
        let payload = serde_json::to_string(&wire).map_err(Error::from)?;
        if payload.len() > notify::MAX_INLINE {
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
        let subscription = notify::subscribe(self, FEED_CHANNELS).await?;
        Ok(Box::new(PgNoticeFeed {
            subscription,
            store: self.clone(),
        }))
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
        RELAY.sweep(self).await?;
        Ok(())
    }
}

/// The chat channels of the node's listening connection.
struct PgNoticeFeed {
    subscription: Subscription,
    store: PostgresStore,
}

#[async_trait]
impl NoticeFeed for PgNoticeFeed {
    async fn next(&mut self) -> Result<Notice, StoreError> {
        loop {
            let (channel, payload) = self.subscription.recv().await?;
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
        let Some(frame) = RELAY.body(&self.store, body).await? else {
            return Ok(None);
        };
        Ok(Some(RelayedChat {
            origin,
            live_event_id,
            frame,
        }))
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
