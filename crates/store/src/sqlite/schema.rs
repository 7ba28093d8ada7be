//! Schema migrations, applied in order at start-up inside one transaction each.
//!
//! Invariant: a migration once released is never edited; changes are new migrations.

use crate::StoreError;
use rusqlite::Connection;

/// `(version, SQL)`, ascending. Versions are never reused.
const MIGRATIONS: &[(i64, &str)] = &[(1, ROOMS), (4, USERS_AND_TOKENS)];

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
CREATE INDEX rooms_by_created_at ON rooms (created_at);
CREATE INDEX rooms_by_type ON rooms (room_type, state);
CREATE INDEX rooms_by_creator ON rooms (created_by);
CREATE INDEX rooms_by_participant_count ON rooms (participant_count) WHERE participant_count > 0;

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

/// Users get an insertion sequence for paging (rows created implicitly by participants
/// get theirs from the trigger), and credentials live in `user_tokens` as SHA-256 hashes.
const USERS_AND_TOKENS: &str = r#"
ALTER TABLE users ADD COLUMN seq INTEGER;
UPDATE users SET seq = rowid;
CREATE UNIQUE INDEX users_by_seq ON users (seq);
CREATE TRIGGER users_assign_seq AFTER INSERT ON users WHEN NEW.seq IS NULL
BEGIN
    UPDATE users SET seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM users) WHERE rowid = NEW.rowid;
END;

CREATE TABLE user_tokens (
    token_hash BLOB PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (user_id),
    kind       TEXT NOT NULL,
    issued_at  INTEGER NOT NULL,
    expires_at INTEGER
);
CREATE INDEX user_tokens_by_user ON user_tokens (user_id, kind);
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
