//! Schema migrations, applied in order at start-up inside one transaction each.
//!
//! Invariant: a migration once released is never edited; changes are new migrations.

use crate::StoreError;
use rusqlite::Connection;

/// `(version, SQL)`, ascending. Versions are never reused.
const MIGRATIONS: &[(i64, &str)] = &[(1, ROOMS)];

const ROOMS: &str = r#"
CREATE TABLE users (
    user_id     TEXT PRIMARY KEY,
    nickname    TEXT NOT NULL DEFAULT '',
    profile_url TEXT NOT NULL DEFAULT '',
    metadata    TEXT NOT NULL DEFAULT '{}',
    is_active   INTEGER NOT NULL DEFAULT 1,
    role        TEXT
);

CREATE TABLE rooms (
    seq                      INTEGER PRIMARY KEY,
    room_id                  TEXT NOT NULL UNIQUE,
    room_type                TEXT NOT NULL,
    state                    TEXT NOT NULL,
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL,
    created_by               TEXT NOT NULL,
    deleted_by               TEXT NOT NULL,
    participant_count        INTEGER NOT NULL DEFAULT 0,
    custom_items             TEXT NOT NULL DEFAULT '{}',
    custom_items_affected_at INTEGER
);
-- Listings walk one of these in `seq` (rowid) order; see `Access` in sqlite/room_listing.rs.
-- Type and state ride along in the date index so a date window is filtered in the index.
CREATE INDEX rooms_by_created_at ON rooms (created_at, room_type, state);
CREATE INDEX rooms_by_type ON rooms (room_type, state);
CREATE INDEX rooms_by_creator ON rooms (created_by);
CREATE INDEX rooms_occupied ON rooms (seq) WHERE participant_count > 0;

CREATE TABLE room_participants (
    seq            INTEGER PRIMARY KEY,
    participant_id TEXT NOT NULL UNIQUE,
    room_seq       INTEGER NOT NULL REFERENCES rooms (seq),
    client_id      TEXT NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users (user_id),
    state          TEXT NOT NULL,
    entered_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    exited_at      INTEGER,
    duration       INTEGER,
    connected_at   INTEGER,
    is_audio_on    INTEGER NOT NULL,
    is_video_on    INTEGER NOT NULL
);
CREATE INDEX room_participants_by_room ON room_participants (room_seq, seq);
CREATE INDEX room_participants_active ON room_participants (room_seq, seq) WHERE state <> 'exited';

-- Domain events, appended in the transaction of the change that caused them.
CREATE TABLE outbox (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    stream      TEXT NOT NULL,
    category    TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    payload     TEXT NOT NULL
);
"#;

pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")?;
    let current: i64 = conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, unixepoch('subsec') * 1000)",
            [version],
        )?;
        tx.commit()?;
        tracing::info!(version, "applied schema migration");
    }
    Ok(())
}
