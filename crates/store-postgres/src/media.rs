//! Media placement ([`MediaStore`]) on PostgreSQL: `media_placements` records which node's
//! SFU carries each group, and nodes send each other notes through
//! `NOTIFY opencalls_media`, heard on the node's one listening connection (see `notify`,
//! which also keeps bodies too big for a payload).
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
use crate::notify::{self, Guard, Relay, Subscription};
use async_trait::async_trait;
use opencalls_domain::Millis;
use opencalls_store::media::MAX_NOTE_BODY;
use opencalls_store::{MediaFeed, MediaNote, MediaStore, NodeId, PlacedGroup, StoreError};

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

/// The `application_name` of the node's listening connection (shared: see `notify`).
pub use crate::notify::LISTENER_NAME;

/// The notification channel.
pub(crate) const CHANNEL: &str = "opencalls_media";

/// Notes and where bodies too big for a payload are kept.
const RELAY: Relay = Relay {
    channel: CHANNEL,
    table: "media_relay",
    column: "body",
};

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
        RELAY
            .send(&**conn, Guard::none(), &head(note), &note.body)
            .await?;
        Ok(())
    }

    async fn listen_media(&self, me: &NodeId) -> Result<Box<dyn MediaFeed>, StoreError> {
        let subscription = notify::subscribe(self, &[CHANNEL]).await?;
        Ok(Box::new(PgMediaFeed {
            subscription,
            store: self.clone(),
            me: me.clone(),
        }))
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
        RELAY.sweep(self).await?;
        Ok(())
    }
}

/// The media channel of the node's listening connection.
struct PgMediaFeed {
    subscription: Subscription,
    store: PostgresStore,
    me: NodeId,
}

#[async_trait]
impl MediaFeed for PgMediaFeed {
    async fn next(&mut self) -> Result<MediaNote, StoreError> {
        loop {
            let (_, payload) = self.subscription.recv().await?;
            let Some((from, to, body)) = parse(&payload) else {
                tracing::warn!(len = payload.len(), "malformed media notification; skipped");
                continue;
            };
            // Its own notes and other nodes' mail are not for this node.
            if from == self.me || to.as_ref().is_some_and(|to| to != &self.me) {
                continue;
            }
            let Some(body) = RELAY.body(&self.store, body).await? else {
                continue; // swept already: too late to act on
            };
            return Ok(MediaNote { from, to, body });
        }
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
