-- 0001: the first app-state schema. Forward-only: later changes come as new numbered files.

CREATE TABLE profiles (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    -- Argon2id PHC string of the PIN or passphrase; NULL when the profile has no lock.
    lock_hash     TEXT,
    created_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE sources (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL CHECK (kind IN ('files', 'postgres', 'mysql', 'mongodb')),
    status        TEXT NOT NULL CHECK (status IN ('CONNECTED', 'FAILED', 'DISABLED')),
    -- JSON: what the source can do.
    capabilities  TEXT NOT NULL,
    -- JSON: the non-secret connection settings, or the file tables of a file source.
    config        TEXT NOT NULL,
    -- Where the secret lives in the OS keyring; never the secret itself.
    keyring_ref   TEXT,
    -- The per-source DuckDB database of ingested file tables.
    database_path TEXT,
    last_error    TEXT,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE file_datasets (
    id            INTEGER PRIMARY KEY,
    source_id     INTEGER NOT NULL REFERENCES sources (id) ON DELETE CASCADE,
    table_name    TEXT NOT NULL,
    path          TEXT NOT NULL,
    size          INTEGER NOT NULL,
    modified_ms   INTEGER,
    content_hash  TEXT NOT NULL,
    -- JSON of the table's inferred columns and row count.
    schema        TEXT,
    -- What the user typed (path or glob) and when it was imported.
    pattern       TEXT NOT NULL,
    imported_at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX file_datasets_source ON file_datasets (source_id);

CREATE TABLE chat_sessions (
    id            INTEGER PRIMARY KEY,
    title         TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE chat_messages (
    id            INTEGER PRIMARY KEY,
    session_id    INTEGER NOT NULL REFERENCES chat_sessions (id),
    seq           INTEGER NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
    content       TEXT NOT NULL,
    draft_id      INTEGER,
    created_at_ms INTEGER NOT NULL,
    UNIQUE (session_id, seq)
) STRICT;

CREATE TRIGGER chat_messages_immutable_update BEFORE UPDATE ON chat_messages
BEGIN SELECT RAISE(ABORT, 'chat messages are immutable'); END;
CREATE TRIGGER chat_messages_immutable_delete BEFORE DELETE ON chat_messages
BEGIN SELECT RAISE(ABORT, 'chat messages are immutable'); END;

CREATE TABLE query_drafts (
    id             INTEGER PRIMARY KEY,
    source_id      INTEGER REFERENCES sources (id) ON DELETE SET NULL,
    source_name    TEXT NOT NULL,
    session_id     INTEGER REFERENCES chat_sessions (id),
    question       TEXT,
    query          TEXT NOT NULL,
    provider       TEXT NOT NULL,
    explanation    TEXT NOT NULL,
    verdict_allowed INTEGER NOT NULL,
    verdict_code   TEXT NOT NULL,
    verdict_reason TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'denied', 'approved')),
    created_at_ms  INTEGER NOT NULL
) STRICT;

CREATE TABLE approval_tokens (
    -- SHA-256 of the token: the token itself is never stored.
    token_hash    BLOB PRIMARY KEY,
    draft_id      INTEGER NOT NULL REFERENCES query_drafts (id),
    source_name   TEXT NOT NULL,
    session_id    INTEGER,
    query_hash    BLOB NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms    INTEGER
) STRICT;

CREATE TABLE runs (
    id             INTEGER PRIMARY KEY,
    draft_id       INTEGER NOT NULL REFERENCES query_drafts (id),
    source_name    TEXT NOT NULL,
    trace_id       TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed', 'cancelled')),
    row_count      INTEGER,
    truncated      INTEGER,
    started_at_ms  INTEGER NOT NULL,
    finished_at_ms INTEGER,
    elapsed_ms     INTEGER,
    error_code     TEXT,
    error_message  TEXT
) STRICT;

CREATE TABLE audit_events (
    id          INTEGER PRIMARY KEY,
    at_ms       INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    profile     TEXT NOT NULL,
    action      TEXT NOT NULL,
    source_name TEXT,
    session_id  INTEGER,
    draft_id    INTEGER,
    run_id      INTEGER,
    detail      TEXT NOT NULL
) STRICT;
CREATE INDEX audit_events_at ON audit_events (at_ms);
CREATE INDEX audit_events_source ON audit_events (source_name, at_ms);

-- Audit events are append-only. The one exception is retention pruning, which opens this gate (inside its
-- own transaction) to a cutoff and deletes only what is older.
CREATE TABLE audit_retention_gate (
    cutoff_ms INTEGER NOT NULL
) STRICT;
CREATE TRIGGER audit_events_append_only_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_append_only_delete BEFORE DELETE ON audit_events
WHEN OLD.at_ms >= coalesce((SELECT max(cutoff_ms) FROM audit_retention_gate), -1)
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;

CREATE TABLE telemetry (
    id          INTEGER PRIMARY KEY,
    trace_id    TEXT NOT NULL,
    run_id      INTEGER,
    stage       TEXT NOT NULL CHECK (stage IN ('generate', 'validate', 'execute', 'normalize', 'render')),
    at_ms       INTEGER NOT NULL,
    duration_us INTEGER NOT NULL,
    detail      TEXT
) STRICT;
CREATE INDEX telemetry_stage_at ON telemetry (stage, at_ms);
