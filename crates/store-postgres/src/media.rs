//! Media placement ([`MediaStore`]) on PostgreSQL: `media_placements` records which node's
//! SFU carries each group, and nodes send each other notes through
//! `NOTIFY opencalls_media`, each node listening on one connection of its own.
//!
//! - The placement is one upsert: it inserts the least-loaded candidate (the live nodes and
//!   the asking one, by how many groups each carries, the asker first on a tie) or, on a
//!   conflict, keeps the recorded owner while its lease runs and replaces it otherwise.
//!   Concurrent callers serialize on the row, so they all return the same owner. Counting
//!   the load reads the placement index (about 1.7 ms at 2,000 placements), so a read of
//!   a live recorded owner (0.1 ms) comes first and the upsert runs only without one.
//! - A note's payload must stay under 8000 bytes: a body too big for it (an SDP offer with
//!   simulcast often is) is kept in `media_relay` and the notification carries its row id.
//!   `media_relay` is `UNLOGGED` (nothing worth a WAL write: a note is read within
//!   milliseconds or never); `media_placements` is logged, so placements survive a
//!   database crash as the groups they describe do.
//!
//! Payload: `<from node> <to node or *> <body>`, the body being the note (JSON, starts with
//! `{`) or `#<media_relay id>`. Node ids hold no space, so the header splits unambiguously.

use crate::PostgresStore;
use crate::error::Error;
use async_trait::async_trait;
use opencalls_domain::Millis;
use opencalls_store::media::MAX_NOTE_BODY;
use opencalls_store::{MediaFeed, MediaNote, MediaStore, NodeId, PlacedGroup, StoreError};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Client, NoTls};

/// Migration 6.
pub(crate) const SCHEMA: &str = r#"
CREATE TABLE media_placements (
    kind      TEXT NOT NULL,
    group_id  TEXT NOT NULL,
    node_id   TEXT NOT NULL,
    placed_at BIGINT NOT NULL,
    PRIMARY KEY (kind, group_id)
);
CREATE INDEX media_placements_by_node ON media_placements (node_id);
CREATE UNLOGGED TABLE media_relay (
    id      BIGSERIAL PRIMARY KEY,
    body    TEXT NOT NULL,
    sent_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX media_relay_by_sent_at ON media_relay (sent_at);
"#;

/// The `application_name` of a listening connection (to find it in `pg_stat_activity`).
pub const LISTENER_NAME: &str = "opencalls-media";

/// The notification channel.
const CHANNEL: &str = "opencalls_media";

/// The longest payload sent inline (PostgreSQL refuses 8000 bytes and more).
const MAX_INLINE: usize = 7_900;

/// How long a note kept in `media_relay` stays readable.
const RELAY_KEEP_SECS: f64 = 60.0;

/// Notifications a listener holds before it stops reading its connection.
const FEED_QUEUE: usize = 1_024;

/// `$1` kind, `$2` id, `$3` now: the recorded owner if it is alive.
const OWNER: &str = "SELECT m.node_id FROM media_placements m
    JOIN cluster_nodes n ON n.node_id = m.node_id AND n.expires_at > $3
    WHERE m.kind = $1::text AND m.group_id = $2::text";

/// `$1` kind, `$2` id, `$3` the asking node, `$4` now: returns the owner (see module doc).
const PLACE: &str = "
WITH candidates AS (
    SELECT node_id FROM cluster_nodes WHERE expires_at > $4
    UNION SELECT $3::text
), pick AS (
    SELECT c.node_id FROM candidates c
    ORDER BY (SELECT count(*) FROM media_placements p WHERE p.node_id = c.node_id),
             c.node_id <> $3::text, c.node_id
    LIMIT 1
)
INSERT INTO media_placements AS m (kind, group_id, node_id, placed_at)
SELECT $1::text, $2::text, pick.node_id, $4 FROM pick
ON CONFLICT (kind, group_id) DO UPDATE SET
    node_id = CASE WHEN EXISTS (SELECT 1 FROM cluster_nodes n
                                WHERE n.node_id = m.node_id AND n.expires_at > $4)
                   THEN m.node_id ELSE EXCLUDED.node_id END,
    placed_at = CASE WHEN EXISTS (SELECT 1 FROM cluster_nodes n
                                  WHERE n.node_id = m.node_id AND n.expires_at > $4)
                     THEN m.placed_at ELSE EXCLUDED.placed_at END
RETURNING node_id";

/// The payload up to the body.
fn head(note: &MediaNote) -> String {
    let to = note.to.as_ref().map_or("*", NodeId::as_str);
    format!("{} {to} ", note.from)
}

/// Splits a payload into its sender, its addressee (`None`: every node) and its body.
fn parse(payload: &str) -> Option<(NodeId, Option<NodeId>, &str)> {
    let (from, rest) = payload.split_once(' ')?;
    let (to, body) = rest.split_once(' ')?;
    let to = match to {
        "*" => None,
        id => Some(NodeId::parse(id)?),
    };
    Some((NodeId::parse(from)?, to, body))
}

#[async_trait]
impl MediaStore for PostgresStore {
    async fn place_media(
        &self,
        group: &PlacedGroup,
        me: &NodeId,
        now: Millis,
    ) -> Result<NodeId, StoreError> {
        let conn = self.conn().await?;
        let (kind, id) = (group.kind(), group.id());
        // Most offers find their group placed on a live node: one indexed read. A drop
        // racing it is caught by the owner, which places again before adding a peer.
        let owner = conn
            .query_opt(OWNER, &[&kind, &id, &now])
            .await
            .map_err(Error::from)?;
        let row = match owner {
            Some(row) => row,
            None => conn
                .query_one(PLACE, &[&kind, &id, &me.as_str(), &now])
                .await
                .map_err(Error::from)?,
        };
        let owner: String = row.try_get(0).map_err(Error::from)?;
        Ok(NodeId::parse(&owner).ok_or(Error::Corrupt("node id"))?)
    }

    async fn drop_media_placement(
        &self,
        group: &PlacedGroup,
        node: &NodeId,
    ) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        conn.execute(
            "DELETE FROM media_placements WHERE kind = $1 AND group_id = $2 AND node_id = $3",
            &[&group.kind(), &group.id(), &node.as_str()],
        )
        .await
        .map_err(Error::from)?;
        Ok(())
    }

    async fn drop_node_placements(&self, node: &NodeId) -> Result<u64, StoreError> {
        let conn = self.conn().await?;
        let n = conn
            .execute(
                "DELETE FROM media_placements WHERE node_id = $1",
                &[&node.as_str()],
            )
            .await
            .map_err(Error::from)?;
        Ok(n)
    }

    async fn send_media_note(&self, note: &MediaNote) -> Result<(), StoreError> {
        if note.body.len() > MAX_NOTE_BODY {
            return Err(StoreError::Backend(format!(
                "media note of {} bytes (at most {MAX_NOTE_BODY})",
                note.body.len()
            )));
        }
        let conn = self.conn().await?;
        let head = head(note);
        let sent = if head.len() + note.body.len() <= MAX_INLINE {
            let payload = format!("{head}{}", note.body);
            conn.execute(
                "SELECT pg_notify($1::text, $2::text)",
                &[&CHANNEL, &payload],
            )
            .await
        } else {
            conn.execute(
                "WITH kept AS (INSERT INTO media_relay (body) VALUES ($3::text) RETURNING id)
                 SELECT pg_notify($1::text, $2::text || '#' || id::text) FROM kept",
                &[&CHANNEL, &head, &note.body],
            )
            .await
        };
        sent.map_err(Error::from)?;
        Ok(())
    }

    async fn listen_media(&self, me: &NodeId) -> Result<Box<dyn MediaFeed>, StoreError> {
        Ok(Box::new(listen(self, me.clone()).await?))
    }

    async fn sweep_media(&self) -> Result<(), StoreError> {
        let conn = self.conn().await?;
        conn.execute(
            "DELETE FROM media_placements p
             WHERE NOT EXISTS (SELECT 1 FROM cluster_nodes n WHERE n.node_id = p.node_id)",
            &[],
        )
        .await
        .map_err(Error::from)?;
        conn.execute(
            "DELETE FROM media_relay WHERE sent_at < now() - make_interval(secs => $1::float8)",
            &[&RELAY_KEEP_SECS],
        )
        .await
        .map_err(Error::from)?;
        Ok(())
    }
}

/// A `LISTEN` on a connection of its own (not pooled: it must stay open).
struct PgMediaFeed {
    /// Keeps the connection open; dropping the feed closes it.
    _client: Client,
    payloads: mpsc::Receiver<Result<String, tokio_postgres::Error>>,
    store: PostgresStore,
    me: NodeId,
}

async fn listen(store: &PostgresStore, me: NodeId) -> Result<PgMediaFeed, Error> {
    let mut config = store.config.clone();
    // A connection that died silently is noticed within about 25 s (as the chat listener).
    config.keepalives_idle(Duration::from_secs(10));
    config.keepalives_interval(Duration::from_secs(5));
    config.keepalives_retries(3);
    config.application_name(LISTENER_NAME);
    let (client, mut connection) = config.connect(NoTls).await?;
    let (tx, payloads) = mpsc::channel(FEED_QUEUE);
    tokio::spawn(async move {
        loop {
            let payload = match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) => Ok(n.payload().to_owned()),
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
    client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
    Ok(PgMediaFeed {
        _client: client,
        payloads,
        store: store.clone(),
        me,
    })
}

#[async_trait]
impl MediaFeed for PgMediaFeed {
    async fn next(&mut self) -> Result<MediaNote, StoreError> {
        loop {
            let payload = match self.payloads.recv().await {
                Some(payload) => payload.map_err(Error::from)?,
                None => return Err(StoreError::Backend("media listener closed".into())),
            };
            let Some((from, to, body)) = parse(&payload) else {
                tracing::warn!(len = payload.len(), "malformed media notification; skipped");
                continue;
            };
            // Its own notes and other nodes' mail are not for this node.
            if from == self.me || to.as_ref().is_some_and(|to| to != &self.me) {
                continue;
            }
            let body = match body.strip_prefix('#') {
                Some(id) => match self.kept_body(id).await? {
                    Some(body) => body,
                    None => continue, // swept already: too late to act on
                },
                None => body.to_owned(),
            };
            return Ok(MediaNote { from, to, body });
        }
    }
}

impl PgMediaFeed {
    /// A body kept in `media_relay`, unless it is gone.
    async fn kept_body(&self, id: &str) -> Result<Option<String>, StoreError> {
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        let conn = self.store.conn().await?;
        let row = conn
            .query_opt("SELECT body FROM media_relay WHERE id = $1", &[&id])
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
        let a = NodeId::parse("node-a").unwrap();
        let b = NodeId::parse("node-b").unwrap();
        let to_b = MediaNote {
            from: a.clone(),
            to: Some(b.clone()),
            body: "{\"x\": \"a b\"}".into(),
        };
        let payload = format!("{}{}", head(&to_b), to_b.body);
        assert_eq!(
            parse(&payload),
            Some((a.clone(), Some(b), "{\"x\": \"a b\"}"))
        );
        let all = MediaNote { to: None, ..to_b };
        let payload = format!("{}#12", head(&all));
        assert_eq!(parse(&payload), Some((a, None, "#12")));
        assert!(parse("node-a").is_none());
        assert!(parse("bad id! * {}").is_none());
    }
}
