//! Schema migrations, applied in order at start-up inside one transaction each.
//!
//! Invariant: a migration once released is never edited; changes are new migrations.

use crate::error::Error;
use rusqlite::Connection;

/// `(version, SQL)`, ascending. Versions are never reused.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, ROOMS),
    (2, LIVE_EVENTS),
    (3, WEBHOOKS),
    (4, USERS_AND_TOKENS),
    (5, API_TOKENS),
    (6, DIRECT_CALLS),
    (7, ROOM_TIME_BUCKETS),
    (8, crate::seats::SCHEMA),
];

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

const LIVE_EVENTS: &str = r#"
CREATE TABLE live_events (
    seq                          INTEGER PRIMARY KEY,
    live_event_id                TEXT NOT NULL UNIQUE,
    host_type                    TEXT NOT NULL,
    state                        TEXT NOT NULL,
    created_at                   INTEGER NOT NULL,
    set_ready_at                 INTEGER,
    started_at                   INTEGER,
    ended_at                     INTEGER,
    is_host_streaming            INTEGER NOT NULL,
    current_host_id              TEXT,
    created_by                   TEXT NOT NULL,
    set_ready_by                 TEXT NOT NULL,
    started_by                   TEXT NOT NULL,
    ended_by                     TEXT NOT NULL,
    duration                     INTEGER NOT NULL,
    participant_count            INTEGER NOT NULL,
    peak_participant_count       INTEGER NOT NULL,
    cumulative_participant_count INTEGER NOT NULL,
    user_ids_for_host            TEXT NOT NULL,
    custom_items                 TEXT NOT NULL
);
CREATE INDEX live_events_by_created_at ON live_events (created_at);
CREATE INDEX live_events_by_state ON live_events (state, seq);
CREATE INDEX live_events_by_host_type ON live_events (host_type, seq);
CREATE INDEX live_events_by_creator ON live_events (created_by, seq);
CREATE INDEX live_events_by_participant_count ON live_events (participant_count);
CREATE INDEX live_events_by_duration ON live_events (duration);

CREATE TABLE live_event_hosts (
    seq             INTEGER PRIMARY KEY,
    host_id         TEXT NOT NULL UNIQUE,
    live_event_seq  INTEGER NOT NULL REFERENCES live_events (seq),
    client_id       TEXT NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users (user_id),
    state           TEXT NOT NULL,
    duration        INTEGER NOT NULL,
    entered_at      INTEGER NOT NULL,
    connected_at    INTEGER,
    disconnected_at INTEGER,
    exited_at       INTEGER,
    is_audio_on     INTEGER NOT NULL,
    is_video_on     INTEGER NOT NULL
);
CREATE INDEX live_event_hosts_by_event ON live_event_hosts (live_event_seq, seq);

CREATE TABLE live_event_participants (
    seq            INTEGER PRIMARY KEY,
    participant_id TEXT NOT NULL UNIQUE,
    live_event_seq INTEGER NOT NULL REFERENCES live_events (seq),
    client_id      TEXT NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users (user_id),
    state          TEXT NOT NULL,
    duration       INTEGER NOT NULL,
    entered_at     INTEGER NOT NULL,
    exited_at      INTEGER
);
CREATE INDEX live_event_participants_by_event ON live_event_participants (live_event_seq, seq);
CREATE INDEX live_event_participants_active ON live_event_participants (live_event_seq, seq)
    WHERE state <> 'exited';
"#;

/// Webhook settings and the delivery queue (see `webhooks.rs`). Events committed before
/// this migration are not queued: no webhook could have been configured for them.
const WEBHOOKS: &str = r#"
CREATE TABLE webhook_settings (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    enabled        INTEGER NOT NULL,
    url            TEXT NOT NULL,
    enabled_events TEXT NOT NULL,
    updated_at     INTEGER NOT NULL
);

-- How far the outbox has been judged against the settings, and this installation's random
-- id (the prefix of every delivery id, so ids never repeat across databases).
CREATE TABLE webhook_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    outbox_seq INTEGER NOT NULL,
    install_id TEXT NOT NULL
);
INSERT INTO webhook_state (id, outbox_seq, install_id)
VALUES (1, (SELECT COALESCE(MAX(seq), 0) FROM outbox), lower(hex(randomblob(16))));

-- One row per queued event; `seq` is the event's outbox seq (category, time and payload
-- stay in the outbox). Delivered rows, the vast majority, drop out of both indexes, so a
-- delivery costs little index upkeep on the single writer.
CREATE TABLE webhook_deliveries (
    seq              INTEGER PRIMARY KEY,
    stream           TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    last_attempt_at  INTEGER,
    last_status_code INTEGER,
    last_error       TEXT,
    finished_at      INTEGER
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (stream, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_undelivered ON webhook_deliveries (status, seq) WHERE status <> 'delivered';
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

/// Secondary API tokens of the Platform API, as SHA-256 hashes with a short hint.
const API_TOKENS: &str = r#"
CREATE TABLE api_tokens (
    token_hash BLOB PRIMARY KEY,
    hint       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
"#;

/// Direct calls (the resource as JSON in `body`, the filtered fields as columns) and users'
/// VoIP push tokens. Each listing filter has an index walked in `seq` order.
const DIRECT_CALLS: &str = r#"
CREATE TABLE direct_calls (
    seq           INTEGER PRIMARY KEY,
    call_id       TEXT NOT NULL UNIQUE,
    caller_id     TEXT NOT NULL,
    callee_id     TEXT NOT NULL,
    caller_device TEXT NOT NULL,
    callee_device TEXT,
    state         TEXT NOT NULL,
    end_result    TEXT,
    started_at    INTEGER NOT NULL,
    ended_at      INTEGER,
    duration      INTEGER NOT NULL,
    body          TEXT NOT NULL
);
CREATE INDEX direct_calls_by_caller ON direct_calls (caller_id, seq);
CREATE INDEX direct_calls_by_callee ON direct_calls (callee_id, seq);
CREATE INDEX direct_calls_by_started_at ON direct_calls (started_at);
CREATE INDEX direct_calls_by_end_result ON direct_calls (end_result, seq);
CREATE INDEX direct_calls_by_duration ON direct_calls (duration);
CREATE INDEX direct_calls_open ON direct_calls (seq) WHERE state <> 'ended';

CREATE TABLE push_tokens (
    user_id       TEXT NOT NULL,
    token_type    TEXT NOT NULL,
    token         TEXT NOT NULL,
    registered_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, token_type, token)
);
"#;

/// Where each stretch of creation time lies in `seq` order, so a `created_at` window is
/// walked as one `seq` range instead of read whole from the date index and sorted (see
/// `Access::Range` in room_listing.rs). A trigger keeps it exact in the inserting
/// transaction: every room with `created_at` in bucket `b` has `seq` in `[min_seq, max_seq]`
/// of `b`, whatever order the clock gave. Rooms never change `created_at`, and deleted rooms
/// stay in the table, so the bounds never shrink. The date index it replaces goes: no
/// listing reads it any more, and every insert paid for it.
const ROOM_TIME_BUCKETS: &str = r#"
DROP INDEX rooms_by_created_at;
CREATE TABLE room_time_buckets (
    bucket  INTEGER PRIMARY KEY,
    min_seq INTEGER NOT NULL,
    max_seq INTEGER NOT NULL
);
INSERT INTO room_time_buckets (bucket, min_seq, max_seq)
    SELECT created_at / 600000 - (created_at % 600000 < 0), min(seq), max(seq) FROM rooms GROUP BY 1;
CREATE TRIGGER rooms_time_bucket AFTER INSERT ON rooms BEGIN
    INSERT INTO room_time_buckets (bucket, min_seq, max_seq)
        VALUES (NEW.created_at / 600000 - (NEW.created_at % 600000 < 0), NEW.seq, NEW.seq)
        ON CONFLICT (bucket) DO UPDATE SET
            min_seq = min(min_seq, excluded.min_seq),
            max_seq = max(max_seq, excluded.max_seq);
END;
"#;

pub(crate) fn migrate(conn: &mut Connection) -> Result<(), Error> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)")?;
    // Apply every migration not recorded yet (not only those above the highest applied),
    // so a database made by a build that lacked one still gets it.
    let applied: std::collections::HashSet<i64> = conn
        .prepare("SELECT version FROM schema_migrations")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| !applied.contains(v)) {
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
