//! Schema migrations, applied at start-up in one transaction under a transaction-level
//! advisory lock, so nodes starting at once apply each migration exactly once (the others
//! wait for the lock, then find it recorded in `schema_migrations`).
//!
//! Invariant: a migration once released is never edited; changes are new migrations.

use crate::error::Error;
use tokio_postgres::Client;

/// The advisory lock key taken around migrations ("ocmigr" in ASCII).
const MIGRATION_LOCK: i64 = 0x6f63_6d69_6772;

/// `(version, SQL)`, ascending. Versions are never reused.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, INITIAL),
    (2, crate::cluster::SCHEMA),
    (3, ROOM_TIME_BUCKETS),
    (4, crate::seats::SCHEMA),
    (5, crate::chat::SCHEMA),
    (6, crate::media::SCHEMA),
    (7, crate::cluster::CLAIMS),
];

/// Every table of the SQLite schema (migrations 1–6 there), in PostgreSQL types, plus the
/// outbox head: the one-row counter that makes outbox seqs gap-free and commit-ordered.
const INITIAL: &str = r#"
CREATE TABLE users (
    seq         BIGSERIAL UNIQUE,
    user_id     TEXT PRIMARY KEY,
    nickname    TEXT NOT NULL DEFAULT '',
    profile_url TEXT NOT NULL DEFAULT '',
    metadata    TEXT NOT NULL DEFAULT '{}',
    is_active   BOOLEAN NOT NULL DEFAULT TRUE,
    role        TEXT
);

CREATE TABLE rooms (
    seq                      BIGSERIAL PRIMARY KEY,
    room_id                  TEXT NOT NULL UNIQUE,
    room_type                TEXT NOT NULL,
    state                    TEXT NOT NULL,
    created_at               BIGINT NOT NULL,
    updated_at               BIGINT NOT NULL,
    created_by               TEXT NOT NULL,
    deleted_by               TEXT NOT NULL,
    participant_count        BIGINT NOT NULL DEFAULT 0,
    custom_items             TEXT NOT NULL DEFAULT '{}',
    custom_items_affected_at BIGINT
);
-- Listings walk one of these in `seq` order (see room_listing.rs).
CREATE INDEX rooms_by_type ON rooms (room_type, state, seq);
CREATE INDEX rooms_by_creator ON rooms (created_by, seq);
CREATE INDEX rooms_by_created_at ON rooms (created_at, seq);
CREATE INDEX rooms_occupied ON rooms (seq) WHERE participant_count > 0;

CREATE TABLE room_participants (
    seq            BIGSERIAL PRIMARY KEY,
    participant_id TEXT NOT NULL UNIQUE,
    room_seq       BIGINT NOT NULL REFERENCES rooms (seq),
    client_id      TEXT NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users (user_id),
    state          TEXT NOT NULL,
    entered_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    exited_at      BIGINT,
    duration       BIGINT,
    connected_at   BIGINT,
    is_audio_on    BOOLEAN NOT NULL,
    is_video_on    BOOLEAN NOT NULL
);
CREATE INDEX room_participants_by_room ON room_participants (room_seq, seq);
CREATE INDEX room_participants_active ON room_participants (room_seq, seq) WHERE state <> 'exited';

-- Domain events, appended in the transaction of the change that caused them with `seq`
-- NULL; the sequencer (see outbox.rs) gives committed rows their gap-free, commit-ordered
-- `seq` later, in `id` order, and records the last one given in `outbox_head`.
CREATE TABLE outbox (
    id          BIGSERIAL PRIMARY KEY,
    seq         BIGINT UNIQUE,
    stream      TEXT NOT NULL,
    category    TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    payload     TEXT NOT NULL
);
CREATE INDEX outbox_unsequenced ON outbox (id) WHERE seq IS NULL;
CREATE TABLE outbox_head (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO outbox_head (id, seq) VALUES (1, 0);

CREATE TABLE live_events (
    seq                          BIGSERIAL PRIMARY KEY,
    live_event_id                TEXT NOT NULL UNIQUE,
    host_type                    TEXT NOT NULL,
    state                        TEXT NOT NULL,
    created_at                   BIGINT NOT NULL,
    set_ready_at                 BIGINT,
    started_at                   BIGINT,
    ended_at                     BIGINT,
    is_host_streaming            BOOLEAN NOT NULL,
    current_host_id              TEXT,
    created_by                   TEXT NOT NULL,
    set_ready_by                 TEXT NOT NULL,
    started_by                   TEXT NOT NULL,
    ended_by                     TEXT NOT NULL,
    duration                     BIGINT NOT NULL,
    participant_count            BIGINT NOT NULL,
    peak_participant_count       BIGINT NOT NULL,
    cumulative_participant_count BIGINT NOT NULL,
    user_ids_for_host            TEXT NOT NULL,
    custom_items                 TEXT NOT NULL
);
CREATE INDEX live_events_by_created_at ON live_events (created_at, seq);
CREATE INDEX live_events_by_state ON live_events (state, seq);
CREATE INDEX live_events_by_host_type ON live_events (host_type, seq);
CREATE INDEX live_events_by_creator ON live_events (created_by, seq);
CREATE INDEX live_events_by_participant_count ON live_events (participant_count);
CREATE INDEX live_events_by_duration ON live_events (duration);

CREATE TABLE live_event_hosts (
    seq             BIGSERIAL PRIMARY KEY,
    host_id         TEXT NOT NULL UNIQUE,
    live_event_seq  BIGINT NOT NULL REFERENCES live_events (seq),
    client_id       TEXT NOT NULL,
    user_id         TEXT NOT NULL REFERENCES users (user_id),
    state           TEXT NOT NULL,
    duration        BIGINT NOT NULL,
    entered_at      BIGINT NOT NULL,
    connected_at    BIGINT,
    disconnected_at BIGINT,
    exited_at       BIGINT,
    is_audio_on     BOOLEAN NOT NULL,
    is_video_on     BOOLEAN NOT NULL
);
CREATE INDEX live_event_hosts_by_event ON live_event_hosts (live_event_seq, seq);

CREATE TABLE live_event_participants (
    seq            BIGSERIAL PRIMARY KEY,
    participant_id TEXT NOT NULL UNIQUE,
    live_event_seq BIGINT NOT NULL REFERENCES live_events (seq),
    client_id      TEXT NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users (user_id),
    state          TEXT NOT NULL,
    duration       BIGINT NOT NULL,
    entered_at     BIGINT NOT NULL,
    exited_at      BIGINT
);
CREATE INDEX live_event_participants_by_event ON live_event_participants (live_event_seq, seq);
CREATE INDEX live_event_participants_active ON live_event_participants (live_event_seq, seq)
    WHERE state <> 'exited';

CREATE TABLE webhook_settings (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    enabled        BOOLEAN NOT NULL,
    url            TEXT NOT NULL,
    enabled_events TEXT NOT NULL,
    updated_at     BIGINT NOT NULL
);
-- How far the outbox has been judged against the settings (its row lock serializes the
-- judging across nodes), and this installation's random id (the delivery-id prefix).
CREATE TABLE webhook_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    outbox_seq BIGINT NOT NULL,
    install_id TEXT NOT NULL
);
INSERT INTO webhook_state (id, outbox_seq, install_id)
VALUES (1, 0, replace(gen_random_uuid()::text, '-', ''));
CREATE TABLE webhook_deliveries (
    seq              BIGINT PRIMARY KEY,
    stream           TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    next_attempt_at  BIGINT NOT NULL,
    last_attempt_at  BIGINT,
    last_status_code INTEGER,
    last_error       TEXT,
    finished_at      BIGINT
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (stream, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_undelivered ON webhook_deliveries (status, seq) WHERE status <> 'delivered';

CREATE TABLE user_tokens (
    token_hash BYTEA PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (user_id),
    kind       TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT
);
CREATE INDEX user_tokens_by_user ON user_tokens (user_id, kind);

CREATE TABLE api_tokens (
    token_hash BYTEA PRIMARY KEY,
    hint       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE direct_calls (
    seq           BIGSERIAL PRIMARY KEY,
    call_id       TEXT NOT NULL UNIQUE,
    caller_id     TEXT NOT NULL,
    callee_id     TEXT NOT NULL,
    caller_device TEXT NOT NULL,
    callee_device TEXT,
    state         TEXT NOT NULL,
    end_result    TEXT,
    started_at    BIGINT NOT NULL,
    ended_at      BIGINT,
    duration      BIGINT NOT NULL,
    body          TEXT NOT NULL
);
CREATE INDEX direct_calls_by_caller ON direct_calls (caller_id, seq);
CREATE INDEX direct_calls_by_callee ON direct_calls (callee_id, seq);
CREATE INDEX direct_calls_by_started_at ON direct_calls (started_at);
CREATE INDEX direct_calls_by_end_result ON direct_calls (end_result, seq);
CREATE INDEX direct_calls_by_duration ON direct_calls (duration);
CREATE INDEX direct_calls_open ON direct_calls (seq) WHERE state <> 'ended';

CREATE TABLE push_tokens (
    id            BIGSERIAL UNIQUE,
    user_id       TEXT NOT NULL,
    token_type    TEXT NOT NULL,
    token         TEXT NOT NULL,
    registered_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, token_type, token)
);
"#;

/// Migration 3: date windows are found through 10-minute time buckets (`TIME_BUCKET_MS` in
/// room_listing.rs, and the same truncating division there): the `seq` range of each
/// bucket's rooms, walked newest first, instead of the date index read whole and sorted
/// (the date index had no other use). Kept, as in SQLite, in the transaction of each create,
/// but by the create batcher (create_batch.rs) once per batch rather than by a trigger once
/// per room: every create would lock its bucket's row until commit.
pub(crate) const ROOM_TIME_BUCKETS: &str = r#"
DROP INDEX rooms_by_created_at;
CREATE TABLE room_time_buckets (
    bucket  BIGINT PRIMARY KEY,
    min_seq BIGINT NOT NULL,
    max_seq BIGINT NOT NULL
);
INSERT INTO room_time_buckets (bucket, min_seq, max_seq)
    SELECT created_at / 600000, min(seq), max(seq) FROM rooms GROUP BY 1;
"#;

/// Applies every migration not recorded yet, all in one transaction under the lock.
pub(crate) async fn migrate(client: &mut Client) -> Result<(), Error> {
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version BIGINT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await?;
    let applied: Vec<i64> = tx
        .query("SELECT version FROM schema_migrations", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| !applied.contains(v)) {
        tx.batch_execute(sql).await?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[version],
        )
        .await?;
        tracing::info!(version, "applied schema migration");
    }
    tx.commit().await?;
    Ok(())
}
