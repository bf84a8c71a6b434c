//! The app state in SQLite, and the only module that holds SQL.
//!
//! One thread owns the connection; the rest of the broker calls typed functions through [`Store::call`].
//! The database is opened in WAL mode with foreign keys on, a busy timeout and `synchronous = FULL`, so an
//! acknowledged write survives the broker being killed. Migrations are embedded and forward-only; a database
//! written by a newer broker is refused before anything touches it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use polystoreiq_protocol::types::{
    AuditEvent, AuditFilter, BreakerStatus, Capabilities, ChatMessage, ChatSession, DbTarget, DraftId, DraftPreview,
    FileTable, GenerationStats, RunId, SchemaSnapshot, SessionId, SourceId, SourceInfo, SourceKind, SourceStatus,
    StageStats, TableInfo, TraceStage,
};
use polystoreiq_protocol::{ErrorCode, TypedError};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};
use rusqlite_migration::{M, Migrations};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

use crate::health::unix_ms;

/// Every migration, in order. Append only; never edit one that has shipped.
const MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!("../../migrations/0001_initial.sql")),
    M::up(include_str!("../../migrations/0002_results.sql")),
    M::up(include_str!("../../migrations/0003_source_schema.sql")),
    M::up(include_str!("../../migrations/0004_token_profile.sql")),
    M::up(include_str!("../../migrations/0005_draft_checks.sql")),
    M::up(include_str!("../../migrations/0006_unlock_attempts.sql")),
];

/// The schema version this broker writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the profile database {path} has schema version {found}, newer than this broker knows ({known}); \
         it was left untouched: use the newer PolyStoreIQ that wrote it"
    )]
    TooNew { path: String, found: i64, known: usize },
    #[error("app state error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot migrate the profile database: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("app state value is corrupt: {0}")]
    Corrupt(String),
    #[error("the app state thread has stopped")]
    Closed,
    #[error("{0}")]
    Refused(TypedError),
}

impl StoreError {
    pub fn to_typed(&self) -> TypedError {
        match self {
            StoreError::Refused(err) => err.clone(),
            other => TypedError::new(ErrorCode::Internal, other.to_string()),
        }
    }
}

impl From<StoreError> for TypedError {
    fn from(err: StoreError) -> TypedError {
        err.to_typed()
    }
}

fn refused(code: ErrorCode, message: impl Into<String>) -> StoreError {
    StoreError::Refused(TypedError::new(code, message))
}

type Job = Box<dyn FnOnce(&mut Db) + Send>;

/// A handle to the app-state thread. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    jobs: std::sync::mpsc::Sender<Job>,
}

impl Store {
    /// Opens (creating and migrating as needed) the database at `path` and starts its thread.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = open_connection(path)?;
        let (jobs, rx) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("app-state".into())
            .spawn(move || {
                let mut db = Db { conn };
                for job in rx {
                    job(&mut db);
                }
            })
            .map_err(|err| StoreError::Corrupt(format!("cannot start the app state thread: {err}")))?;
        Ok(Store { jobs })
    }

    /// Runs `f` on the app-state thread.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Db) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Box::new(move |db| {
                let _ = tx.send(f(db));
            }))
            .map_err(|_| StoreError::Closed)?;
        rx.await.map_err(|_| StoreError::Closed)?
    }
}

/// Opens the database, refusing one that is newer than this binary, then migrates it to the latest version.
pub fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    if path.exists() {
        // Look before touching: a read-only peek changes nothing, not even the journal mode.
        let peek = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let found: i64 = peek.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if found > SCHEMA_VERSION as i64 {
            return Err(StoreError::TooNew { path: path.display().to_string(), found, known: SCHEMA_VERSION });
        }
    }
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Migrations::from_slice(MIGRATIONS).to_latest(&mut conn)?;
    Ok(conn)
}

/// Migrates a database only up to `version`; for tests of rolling forward.
pub fn migrate_to(path: &Path, version: usize) -> Result<(), StoreError> {
    let mut conn = Connection::open(path)?;
    Migrations::from_slice(MIGRATIONS).to_version(&mut conn, version)?;
    Ok(())
}

/// A source as stored: what the front ends see, plus what only the broker needs.
#[derive(Clone, Debug)]
pub struct StoredSource {
    pub info: SourceInfo,
    pub schema: Option<SchemaSnapshot>,
    pub database: Option<String>,
    pub files: Vec<FileRecord>,
    /// Where a database source's password lives in the OS keyring.
    pub keyring_ref: Option<String>,
    /// User-defined functions the owner allowed drafted queries to call (database sources; empty by default).
    pub functions: Vec<String>,
}

/// What a source is, as the app state keeps it (as JSON in `sources.config`).
pub enum SourceConfig {
    Files(Vec<FileTable>),
    Database(DbConfig),
}

/// A database source's settings. Never a secret: the password is in the keyring.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct DbConfig {
    pub target: DbTarget,
    pub can_write: bool,
    /// User-defined functions the owner allowed drafted queries to call, as a query names them.
    #[serde(default)]
    pub functions: Vec<String>,
}

struct SourceRow {
    id: i64,
    name: String,
    kind: String,
    status: String,
    capabilities: String,
    config: String,
    database: Option<String>,
    last_error: Option<String>,
    created_at_ms: i64,
    keyring_ref: Option<String>,
    schema: Option<String>,
}

/// One file of a file source as it was at its last import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRecord {
    pub table: String,
    pub path: String,
    pub size: u64,
    pub modified_ms: Option<i64>,
    pub sha256: String,
}

/// A run's status and, when it finished, its encoded result page.
pub struct StoredRun {
    pub status: String,
    pub page: Option<Vec<u8>>,
}

/// A new draft to store.
pub struct NewDraft {
    pub preview: DraftPreview,
    pub session: Option<SessionId>,
}

/// A past draft, as [`Db::draft_outcome`] reads it for a follow-up's context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DraftOutcome {
    pub source: String,
    pub query: String,
    /// `pending`, `approved` or `denied`.
    pub status: String,
    pub run: Option<LastRun>,
}

/// A draft's latest run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastRun {
    pub run: RunId,
    /// `running`, `finished`, `failed` or `cancelled`.
    pub status: String,
    pub rows: Option<u64>,
    pub error_code: Option<String>,
}

/// What consuming a token yields: the approved draft's query and its source. Only [`Db::consume_token`] makes
/// one (the private field), and a query job is built only from one: no code path runs a query without consuming
/// a token.
#[derive(Clone, Debug)]
pub struct Approved {
    pub draft: DraftId,
    pub source: String,
    pub session: Option<SessionId>,
    pub query: String,
    consumed_at_ms: u64,
}

impl Approved {
    /// When the token was consumed.
    pub fn consumed_at_ms(&self) -> u64 {
        self.consumed_at_ms
    }
}

/// The hash a token is bound to: the query with its whitespace normalized.
pub fn query_hash(query: &str) -> [u8; 32] {
    let normalized = query.split_whitespace().collect::<Vec<_>>().join(" ");
    Sha256::digest(normalized.as_bytes()).into()
}

fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// An audit event before it is stored.
pub struct NewAudit<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub source: Option<&'a str>,
    pub session: Option<SessionId>,
    pub draft: Option<DraftId>,
    pub run: Option<RunId>,
    pub detail: String,
}

/// Wrong unlock attempts in a row, kept across broker restarts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UnlockAttempts {
    pub failures: u32,
    /// Unix time in ms before which no attempt is tried.
    pub paused_until_ms: Option<u64>,
}

/// The profile name recorded on audit events until profiles arrive in the UI.
pub const DEFAULT_PROFILE: &str = "default";

/// The connection, owned by the app-state thread. Every query of the app lives in these methods.
pub struct Db {
    conn: Connection,
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|err| StoreError::Corrupt(err.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|err| StoreError::Corrupt(err.to_string()))
}

fn kind_name(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Files => "files",
        SourceKind::Postgres => "postgres",
        SourceKind::Mysql => "mysql",
        SourceKind::Mongodb => "mongodb",
    }
}

fn kind_from(name: &str) -> Result<SourceKind, StoreError> {
    Ok(match name {
        "files" => SourceKind::Files,
        "postgres" => SourceKind::Postgres,
        "mysql" => SourceKind::Mysql,
        "mongodb" => SourceKind::Mongodb,
        other => return Err(StoreError::Corrupt(format!("unknown source kind {other}"))),
    })
}

fn status_from(name: &str) -> Result<SourceStatus, StoreError> {
    Ok(match name {
        "CONNECTED" => SourceStatus::Connected,
        "FAILED" => SourceStatus::Failed,
        "DISABLED" => SourceStatus::Disabled,
        other => return Err(StoreError::Corrupt(format!("unknown source status {other}"))),
    })
}

impl Db {
    fn transaction(&mut self) -> Result<Transaction<'_>, StoreError> {
        Ok(self.conn.transaction()?)
    }

    // ---- sources -------------------------------------------------------------------------------------------

    pub fn insert_source(
        &mut self,
        name: &str,
        kind: SourceKind,
        config: &SourceConfig,
        capabilities: &Capabilities,
        database: Option<&str>,
        keyring_ref: Option<&str>,
    ) -> Result<SourceId, StoreError> {
        let now = unix_ms() as i64;
        let config = match config {
            SourceConfig::Files(tables) => json(tables)?,
            SourceConfig::Database(db) => json(db)?,
        };
        let inserted = self.conn.execute(
            "INSERT INTO sources (name, kind, status, capabilities, config, database_path, keyring_ref,
                                  created_at_ms, updated_at_ms)
             VALUES (?1, ?2, 'CONNECTED', ?3, ?4, ?5, ?6, ?7, ?7)",
            params![name, kind_name(kind), json(capabilities)?, config, database, keyring_ref, now],
        );
        match inserted {
            Ok(_) => Ok(SourceId(self.conn.last_insert_rowid() as u64)),
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
                Err(refused(ErrorCode::SourceExists, format!("a source named {name} exists; pick another name")))
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Records a finished import: the files as they are now and the schema found.
    pub fn record_import(
        &mut self,
        name: &str,
        files: &[FileRecord],
        schema: &SchemaSnapshot,
    ) -> Result<(), StoreError> {
        let tx = self.transaction()?;
        let id: i64 = tx
            .query_row("SELECT id FROM sources WHERE name = ?1", [name], |row| row.get(0))
            .optional()?
            .ok_or_else(|| source_not_found(name))?;
        tx.execute("DELETE FROM file_datasets WHERE source_id = ?1", [id])?;
        let now = unix_ms() as i64;
        let config: String = tx.query_row("SELECT config FROM sources WHERE id = ?1", [id], |row| row.get(0))?;
        let tables: Vec<FileTable> = from_json(&config)?;
        for file in files {
            let table_schema = schema.tables.iter().find(|t| t.name == file.table);
            let pattern = tables.iter().find(|t| t.table == file.table).map(|t| t.pattern.clone());
            tx.execute(
                "INSERT INTO file_datasets (source_id, table_name, path, size, modified_ms, content_hash, schema, pattern, imported_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    id,
                    file.table,
                    file.path,
                    file.size as i64,
                    file.modified_ms,
                    file.sha256,
                    table_schema.map(json).transpose()?,
                    pattern.unwrap_or_else(|| file.path.clone()),
                    now
                ],
            )?;
        }
        tx.execute(
            "UPDATE sources SET status = CASE status WHEN 'DISABLED' THEN 'DISABLED' ELSE 'CONNECTED' END,
                    last_error = NULL, updated_at_ms = ?2 WHERE id = ?1",
            params![id, now],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Records a database source's metadata snapshot and marks it reachable.
    pub fn record_schema(&mut self, name: &str, schema: &SchemaSnapshot) -> Result<(), StoreError> {
        let changed = self.conn.execute(
            "UPDATE sources SET schema = ?2, schema_at_ms = ?3,
                    status = CASE status WHEN 'DISABLED' THEN 'DISABLED' ELSE 'CONNECTED' END,
                    last_error = NULL, updated_at_ms = ?3 WHERE name = ?1",
            params![name, json(schema)?, schema.fetched_at_ms as i64],
        )?;
        if changed == 0 {
            return Err(source_not_found(name));
        }
        Ok(())
    }

    pub fn set_source_failed(&mut self, name: &str, error: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE sources SET status = CASE status WHEN 'DISABLED' THEN 'DISABLED' ELSE 'FAILED' END,
                    last_error = ?2, updated_at_ms = ?3 WHERE name = ?1",
            params![name, error, unix_ms() as i64],
        )?;
        Ok(())
    }

    pub fn set_source_enabled(&mut self, name: &str, enabled: bool) -> Result<SourceInfo, StoreError> {
        let changed = self.conn.execute(
            "UPDATE sources SET status = CASE WHEN ?2 = 0 THEN 'DISABLED'
                                              WHEN last_error IS NOT NULL THEN 'FAILED'
                                              ELSE 'CONNECTED' END,
                    updated_at_ms = ?3 WHERE name = ?1",
            params![name, enabled, unix_ms() as i64],
        )?;
        if changed == 0 {
            return Err(source_not_found(name));
        }
        Ok(self.source(name)?.info)
    }

    pub fn delete_source(&mut self, name: &str) -> Result<StoredSource, StoreError> {
        let source = self.source(name)?;
        let tx = self.transaction()?;
        tx.execute("DELETE FROM file_datasets WHERE source_id = ?1", [source.info.id.0 as i64])?;
        tx.execute("UPDATE query_drafts SET source_id = NULL WHERE source_id = ?1", [source.info.id.0 as i64])?;
        tx.execute("DELETE FROM sources WHERE id = ?1", [source.info.id.0 as i64])?;
        tx.commit()?;
        Ok(source)
    }

    pub fn sources(&mut self) -> Result<Vec<StoredSource>, StoreError> {
        let names: Vec<String> = self
            .conn
            .prepare("SELECT name FROM sources ORDER BY name")?
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        names.iter().map(|name| self.source(name)).collect()
    }

    pub fn source(&mut self, name: &str) -> Result<StoredSource, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT id, name, kind, status, capabilities, config, database_path, last_error, created_at_ms,
                        keyring_ref, schema
                 FROM sources WHERE name = ?1",
                [name],
                |row| {
                    Ok(SourceRow {
                        id: row.get(0)?,
                        name: row.get(1)?,
                        kind: row.get(2)?,
                        status: row.get(3)?,
                        capabilities: row.get(4)?,
                        config: row.get(5)?,
                        database: row.get(6)?,
                        last_error: row.get(7)?,
                        created_at_ms: row.get(8)?,
                        keyring_ref: row.get(9)?,
                        schema: row.get(10)?,
                    })
                },
            )
            .optional()?
            .ok_or_else(|| source_not_found(name))?;
        let SourceRow {
            id,
            name,
            kind,
            status,
            capabilities,
            config,
            database,
            last_error,
            created_at_ms,
            keyring_ref,
            schema: db_schema,
        } = row;
        let kind = kind_from(&kind)?;
        let (tables, db_config): (Vec<FileTable>, Option<DbConfig>) = match kind {
            SourceKind::Files => (from_json(&config)?, None),
            _ => (Vec::new(), Some(from_json(&config)?)),
        };
        let mut stmt = self.conn.prepare(
            "SELECT table_name, path, size, modified_ms, content_hash, schema, imported_at_ms FROM file_datasets
             WHERE source_id = ?1 ORDER BY id",
        )?;
        let mut files = Vec::new();
        let mut table_schemas: Vec<TableInfo> = Vec::new();
        let mut imported_at_ms = 0;
        let rows = stmt.query_map([id], |row| {
            Ok((
                FileRecord {
                    table: row.get(0)?,
                    path: row.get(1)?,
                    size: row.get::<_, i64>(2)? as u64,
                    modified_ms: row.get(3)?,
                    sha256: row.get(4)?,
                },
                row.get::<_, Option<String>>(5)?,
                row.get::<_, i64>(6)?,
            ))
        })?;
        for row in rows {
            let (file, schema, imported) = row?;
            imported_at_ms = imported_at_ms.max(imported as u64);
            if let Some(schema) = schema
                && !table_schemas.iter().any(|t| t.name == file.table)
            {
                table_schemas.push(from_json(&schema)?);
            }
            files.push(file);
        }
        // Keep the tables in the order the source declares them.
        table_schemas.sort_by_key(|t| tables.iter().position(|ft| ft.table == t.name).unwrap_or(usize::MAX));
        let schema = match db_schema {
            Some(text) => Some(from_json(&text)?),
            None if table_schemas.is_empty() => None,
            None => Some(SchemaSnapshot { tables: table_schemas, fetched_at_ms: imported_at_ms, cache: None }),
        };
        let info = SourceInfo {
            id: SourceId(id as u64),
            name,
            kind,
            status: status_from(&status)?,
            capabilities: from_json(&capabilities)?,
            files: tables,
            target: db_config.as_ref().map(|c| c.target.clone()),
            can_write: db_config.as_ref().map(|c| c.can_write),
            last_error,
            created_at_ms: created_at_ms as u64,
            // Breakers live in the broker's memory; the service fills this in.
            breaker: BreakerStatus::default(),
        };
        let functions = db_config.map(|c| c.functions).unwrap_or_default();
        Ok(StoredSource { info, schema, database, files, keyring_ref, functions })
    }

    /// Replaces the user-defined functions a database source's queries may call. Answers the source's id.
    pub fn set_source_functions(&mut self, name: &str, functions: &[String]) -> Result<(), StoreError> {
        let config: Option<String> =
            self.conn.query_row("SELECT config FROM sources WHERE name = ?1", [name], |row| row.get(0)).optional()?;
        let config = config.ok_or_else(|| source_not_found(name))?;
        let mut config: DbConfig = from_json(&config)?;
        config.functions = functions.to_vec();
        let text = serde_json::to_string(&config).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        self.conn.execute("UPDATE sources SET config = ?1 WHERE name = ?2", params![text, name])?;
        Ok(())
    }

    // ---- drafts and approval tokens ------------------------------------------------------------------------

    /// Stores a draft and returns its id. The preview's own id is ignored.
    pub fn insert_draft(&mut self, draft: &NewDraft) -> Result<DraftId, StoreError> {
        let p = &draft.preview;
        let source_id: Option<i64> =
            self.conn.query_row("SELECT id FROM sources WHERE name = ?1", [&p.source], |row| row.get(0)).optional()?;
        self.conn.execute(
            "INSERT INTO query_drafts (source_id, source_name, session_id, question, query, provider, explanation,
                                       verdict_allowed, verdict_code, verdict_reason, status, created_at_ms,
                                       check_json, attempts_json)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'pending', ?11, ?12, ?13)",
            params![
                source_id,
                p.source,
                draft.session.map(|s| s.0 as i64),
                p.question,
                p.query,
                p.provider,
                p.explanation,
                p.verdict.allowed,
                p.verdict.code,
                p.verdict.reason,
                unix_ms() as i64,
                p.check.as_ref().map(|c| serde_json::to_string(c).unwrap_or_default()),
                (!p.attempts.is_empty()).then(|| serde_json::to_string(&p.attempts).unwrap_or_default()),
            ],
        )?;
        Ok(DraftId(self.conn.last_insert_rowid() as u64))
    }

    /// Stores a token, by hash, bound to its draft's exact query, source and session.
    pub fn insert_token(
        &mut self,
        token: &str,
        draft: DraftId,
        source: &str,
        session: Option<SessionId>,
        query: &str,
        expires_at_ms: u64,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO approval_tokens
                 (token_hash, draft_id, source_name, session_id, query_hash, expires_at_ms, profile)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                token_hash(token).as_slice(),
                draft.0 as i64,
                source,
                session.map(|s| s.0 as i64),
                query_hash(query).as_slice(),
                expires_at_ms as i64,
                DEFAULT_PROFILE
            ],
        )?;
        Ok(())
    }

    /// Consumes a token atomically: it must exist, be unused and unexpired, belong to this profile, and still
    /// match its draft's query, source and session, and the draft must still be pending. A refused token is left
    /// as it was (a replay stays a replay).
    pub fn consume_token(&mut self, token: &str) -> Result<Approved, StoreError> {
        let tx = self.transaction()?;
        let row = tx
            .query_row(
                "SELECT t.draft_id, t.source_name, t.session_id, t.query_hash, t.expires_at_ms, t.used_at_ms,
                        d.query, d.source_name, d.status,
                        t.profile = ?2 AND t.session_id IS d.session_id
                 FROM approval_tokens t JOIN query_drafts d ON d.id = t.draft_id
                 WHERE t.token_hash = ?1",
                params![token_hash(token).as_slice(), DEFAULT_PROFILE],
                |row| {
                    Ok((
                        (row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get::<_, Option<i64>>(2)?),
                        (row.get::<_, Vec<u8>>(3)?, row.get::<_, i64>(4)?, row.get::<_, Option<i64>>(5)?),
                        (row.get::<_, String>(6)?, row.get::<_, String>(7)?, row.get::<_, String>(8)?),
                        row.get::<_, bool>(9)?,
                    ))
                },
            )
            .optional()?;
        let Some(((draft, source, session), (bound_hash, expires, used), (query, draft_source, status), same_owner)) =
            row
        else {
            return Err(refused(ErrorCode::TokenInvalid, "unknown approval token; draft the query again to get one"));
        };
        if used.is_some() {
            return Err(refused(ErrorCode::TokenUsed, "this approval token was already used; draft again"));
        }
        if unix_ms() as i64 >= expires {
            return Err(refused(ErrorCode::TokenExpired, "this approval token expired; draft again"));
        }
        if status != "pending" || bound_hash != query_hash(&query) || draft_source != source || !same_owner {
            return Err(refused(ErrorCode::TokenInvalid, "the approval token does not match its draft; draft again"));
        }
        let now = unix_ms();
        tx.execute(
            "UPDATE approval_tokens SET used_at_ms = ?2 WHERE token_hash = ?1",
            params![token_hash(token).as_slice(), now as i64],
        )?;
        tx.execute("UPDATE query_drafts SET status = 'approved' WHERE id = ?1", [draft])?;
        tx.commit()?;
        Ok(Approved {
            draft: DraftId(draft as u64),
            source,
            session: session.map(|s| SessionId(s as u64)),
            query,
            consumed_at_ms: now,
        })
    }

    /// Denies a pending draft and voids its tokens. Returns the draft's source.
    pub fn deny_draft(&mut self, id: DraftId) -> Result<String, StoreError> {
        let tx = self.transaction()?;
        let row: Option<(String, String)> = tx
            .query_row("SELECT status, source_name FROM query_drafts WHERE id = ?1", [id.0 as i64], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()?;
        let Some((status, source)) = row else {
            return Err(refused(ErrorCode::DraftNotFound, format!("no draft {id}")));
        };
        if status == "approved" {
            return Err(refused(ErrorCode::BadRequest, format!("draft {id} was already approved")));
        }
        tx.execute("UPDATE query_drafts SET status = 'denied' WHERE id = ?1", [id.0 as i64])?;
        tx.execute("DELETE FROM approval_tokens WHERE draft_id = ?1", [id.0 as i64])?;
        tx.commit()?;
        Ok(source)
    }

    /// A draft as a follow-up's context sees it: its source, query, status and its latest run.
    pub fn draft_outcome(&mut self, id: DraftId) -> Result<Option<DraftOutcome>, StoreError> {
        let draft = self
            .conn
            .query_row("SELECT source_name, query, status FROM query_drafts WHERE id = ?1", [id.0 as i64], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, String>(2)?))
            })
            .optional()?;
        let Some((source, query, status)) = draft else { return Ok(None) };
        let run = self
            .conn
            .query_row(
                "SELECT id, status, row_count, error_code FROM runs WHERE draft_id = ?1 ORDER BY id DESC LIMIT 1",
                [id.0 as i64],
                |row| {
                    Ok(LastRun {
                        run: RunId(row.get::<_, i64>(0)? as u64),
                        status: row.get(1)?,
                        rows: row.get::<_, Option<i64>>(2)?.map(|n| n as u64),
                        error_code: row.get(3)?,
                    })
                },
            )
            .optional()?;
        Ok(Some(DraftOutcome { source, query, status, run }))
    }

    // ---- runs ----------------------------------------------------------------------------------------------

    pub fn insert_run(&mut self, draft: DraftId, source: &str, trace_id: &str) -> Result<RunId, StoreError> {
        self.conn.execute(
            "INSERT INTO runs (draft_id, source_name, trace_id, status, started_at_ms) VALUES (?1, ?2, ?3, 'running', ?4)",
            params![draft.0 as i64, source, trace_id, unix_ms() as i64],
        )?;
        Ok(RunId(self.conn.last_insert_rowid() as u64))
    }

    pub fn finish_run(
        &mut self,
        run: RunId,
        rows: u64,
        truncated: bool,
        elapsed_ms: u64,
        error: Option<&TypedError>,
    ) -> Result<(), StoreError> {
        let status = match error {
            None => "finished",
            Some(err) if err.code == ErrorCode::Cancelled => "cancelled",
            Some(_) => "failed",
        };
        self.conn.execute(
            "UPDATE runs SET status = ?2, row_count = ?3, truncated = ?4, finished_at_ms = ?5, elapsed_ms = ?6,
                    error_code = ?7, error_message = ?8 WHERE id = ?1",
            params![
                run.0 as i64,
                status,
                rows as i64,
                truncated,
                unix_ms() as i64,
                elapsed_ms as i64,
                error.map(|e| e.code.as_str()),
                error.map(|e| e.message.as_str())
            ],
        )?;
        Ok(())
    }

    /// A finished run's stored rows, as the bincode blob the result cache wrote.
    pub fn run_result(&mut self, run: RunId) -> Result<Option<StoredRun>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT r.status, x.page FROM runs r LEFT JOIN run_results x ON x.run_id = r.id WHERE r.id = ?1",
                [run.0 as i64],
                |row| Ok(StoredRun { status: row.get(0)?, page: row.get(1)? }),
            )
            .optional()?)
    }

    pub fn store_run_result(&mut self, run: RunId, page: &[u8]) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO run_results (run_id, page) VALUES (?1, ?2)",
            params![run.0 as i64, page],
        )?;
        Ok(())
    }

    // ---- chat sessions and messages ------------------------------------------------------------------------

    pub fn create_session(&mut self, title: &str) -> Result<ChatSession, StoreError> {
        let now = unix_ms();
        self.conn
            .execute("INSERT INTO chat_sessions (title, created_at_ms) VALUES (?1, ?2)", params![title, now as i64])?;
        Ok(ChatSession {
            id: SessionId(self.conn.last_insert_rowid() as u64),
            title: title.to_owned(),
            created_at_ms: now,
        })
    }

    pub fn sessions(&mut self) -> Result<Vec<ChatSession>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT id, title, created_at_ms FROM chat_sessions ORDER BY id")?;
        let rows = stmt.query_map([], |row| {
            Ok(ChatSession {
                id: SessionId(row.get::<_, i64>(0)? as u64),
                title: row.get(1)?,
                created_at_ms: row.get::<_, i64>(2)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn session_exists(&mut self, session: SessionId) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM chat_sessions WHERE id = ?1", [session.0 as i64], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Appends a message at the end of its session.
    pub fn append_message(
        &mut self,
        session: SessionId,
        role: &str,
        content: &str,
        draft: Option<DraftId>,
    ) -> Result<ChatMessage, StoreError> {
        let tx = self.transaction()?;
        let seq: i64 = tx.query_row(
            "SELECT coalesce(max(seq), 0) + 1 FROM chat_messages WHERE session_id = ?1",
            [session.0 as i64],
            |row| row.get(0),
        )?;
        let now = unix_ms();
        tx.execute(
            "INSERT INTO chat_messages (session_id, seq, role, content, draft_id, created_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![session.0 as i64, seq, role, content, draft.map(|d| d.0 as i64), now as i64],
        )?;
        tx.commit()?;
        Ok(ChatMessage {
            session,
            seq: seq as u64,
            role: role.to_owned(),
            content: content.to_owned(),
            draft,
            created_at_ms: now,
        })
    }

    pub fn messages(&mut self, session: SessionId) -> Result<Vec<ChatMessage>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, role, content, draft_id, created_at_ms FROM chat_messages WHERE session_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([session.0 as i64], |row| {
            Ok(ChatMessage {
                session,
                seq: row.get::<_, i64>(0)? as u64,
                role: row.get(1)?,
                content: row.get(2)?,
                draft: row.get::<_, Option<i64>>(3)?.map(|d| DraftId(d as u64)),
                created_at_ms: row.get::<_, i64>(4)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    // ---- audit ---------------------------------------------------------------------------------------------

    pub fn append_audit(&mut self, event: &NewAudit<'_>) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO audit_events (at_ms, actor, profile, action, source_name, session_id, draft_id, run_id, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                unix_ms() as i64,
                event.actor,
                DEFAULT_PROFILE,
                event.action,
                event.source,
                event.session.map(|s| s.0 as i64),
                event.draft.map(|d| d.0 as i64),
                event.run.map(|r| r.0 as i64),
                event.detail
            ],
        )?;
        Ok(())
    }

    pub fn audit(&mut self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, at_ms, actor, profile, action, source_name, session_id, draft_id, run_id, detail
             FROM audit_events
             WHERE (?1 IS NULL OR source_name = ?1) AND (?2 IS NULL OR session_id = ?2)
               AND (?3 IS NULL OR at_ms >= ?3) AND (?4 IS NULL OR at_ms < ?4) AND (?5 IS NULL OR action = ?5)
             ORDER BY id DESC LIMIT ?6",
        )?;
        let rows = stmt.query_map(
            params![
                filter.source,
                filter.session.map(|s| s.0 as i64),
                filter.since_ms.map(|t| t as i64),
                filter.until_ms.map(|t| t as i64),
                filter.action,
                filter.limit.unwrap_or(1000).min(100_000) as i64
            ],
            |row| {
                Ok(AuditEvent {
                    id: row.get::<_, i64>(0)? as u64,
                    at_ms: row.get::<_, i64>(1)? as u64,
                    actor: row.get(2)?,
                    profile: row.get(3)?,
                    action: row.get(4)?,
                    source: row.get(5)?,
                    session: row.get::<_, Option<i64>>(6)?.map(|s| SessionId(s as u64)),
                    draft: row.get::<_, Option<i64>>(7)?.map(|d| DraftId(d as u64)),
                    run: row.get::<_, Option<i64>>(8)?.map(|r| RunId(r as u64)),
                    detail: row.get(9)?,
                })
            },
        )?;
        let mut events: Vec<AuditEvent> = rows.collect::<Result<_, _>>()?;
        events.reverse();
        Ok(events)
    }

    /// Deletes audit events older than `cutoff_ms`: the only code path allowed to delete them.
    pub fn prune_audit(&mut self, cutoff_ms: u64) -> Result<usize, StoreError> {
        let tx = self.transaction()?;
        tx.execute("INSERT INTO audit_retention_gate (cutoff_ms) VALUES (?1)", [cutoff_ms as i64])?;
        let deleted = tx.execute("DELETE FROM audit_events WHERE at_ms < ?1", [cutoff_ms as i64])?;
        tx.execute("DELETE FROM audit_retention_gate", [])?;
        tx.commit()?;
        Ok(deleted)
    }

    // ---- settings ------------------------------------------------------------------------------------------

    pub fn setting(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |row| row.get(0)).optional()?)
    }

    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    pub fn delete_setting(&mut self, key: &str) -> Result<(), StoreError> {
        self.conn.execute("DELETE FROM settings WHERE key = ?1", [key])?;
        Ok(())
    }

    /// The wrong unlock attempts in a row so far, and until when further attempts are paused.
    pub fn unlock_attempts(&mut self) -> Result<UnlockAttempts, StoreError> {
        let row = self
            .conn
            .query_row("SELECT failures, paused_until_ms FROM unlock_attempts WHERE id = 1", [], |row| {
                Ok(UnlockAttempts {
                    failures: row.get::<_, i64>(0)?.clamp(0, i64::from(u32::MAX)) as u32,
                    paused_until_ms: row.get::<_, Option<i64>>(1)?.map(|ms| ms.max(0) as u64),
                })
            })
            .optional()?;
        Ok(row.unwrap_or_default())
    }

    /// Counts one more wrong attempt and pauses attempts until `now_ms + pause_ms(failures)`, in one step.
    pub fn record_unlock_failure(
        &mut self,
        now_ms: u64,
        pause_ms: impl FnOnce(u32) -> Option<u64>,
    ) -> Result<UnlockAttempts, StoreError> {
        let tx = self.conn.transaction()?;
        let failures: i64 = tx
            .query_row("SELECT failures FROM unlock_attempts WHERE id = 1", [], |row| row.get(0))
            .optional()?
            .unwrap_or(0);
        let failures = (failures.max(0) as u32).saturating_add(1);
        let paused_until_ms = pause_ms(failures).map(|pause| now_ms.saturating_add(pause));
        tx.execute(
            "INSERT INTO unlock_attempts (id, failures, paused_until_ms) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET failures = excluded.failures, paused_until_ms = excluded.paused_until_ms",
            params![i64::from(failures), paused_until_ms.map(|ms| ms as i64)],
        )?;
        tx.commit()?;
        Ok(UnlockAttempts { failures, paused_until_ms })
    }

    /// Forgets the wrong attempts (after a right one).
    pub fn clear_unlock_failures(&mut self) -> Result<(), StoreError> {
        self.conn.execute("DELETE FROM unlock_attempts", [])?;
        Ok(())
    }

    // ---- telemetry -----------------------------------------------------------------------------------------

    pub fn record_stage(
        &mut self,
        trace_id: &str,
        run: Option<RunId>,
        stage: &str,
        duration: Duration,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO telemetry (trace_id, run_id, stage, at_ms, duration_us) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![trace_id, run.map(|r| r.0 as i64), stage, unix_ms() as i64, duration.as_micros() as i64],
        )?;
        Ok(())
    }

    /// The trace id of a run.
    pub fn run_trace(&mut self, run: RunId) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT trace_id FROM runs WHERE id = ?1", [run.0 as i64], |row| row.get(0))
            .optional()?)
    }

    /// The stages timed under `trace`, oldest first.
    pub fn trace_stages(&mut self, trace: &str) -> Result<Vec<TraceStage>, StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT stage, at_ms, duration_us FROM telemetry WHERE trace_id = ?1 ORDER BY at_ms, id")?;
        let stages = statement.query_map([trace], |row| {
            Ok(TraceStage {
                stage: row.get(0)?,
                at_ms: row.get::<_, i64>(1)? as u64,
                duration_us: row.get::<_, i64>(2)? as u64,
            })
        })?;
        Ok(stages.collect::<Result<_, _>>()?)
    }

    /// p50 and p95 per stage over the events since `since_ms`.
    pub fn stage_stats(&mut self, since_ms: u64) -> Result<Vec<StageStats>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT stage, duration_us FROM telemetry WHERE at_ms >= ?1 ORDER BY stage, duration_us")?;
        let rows = stmt.query_map([since_ms as i64], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))?;
        let mut stats: Vec<StageStats> = Vec::new();
        let mut current: Vec<u64> = Vec::new();
        let mut stage = String::new();
        let flush = |stage: &str, values: &mut Vec<u64>, stats: &mut Vec<StageStats>| {
            if values.is_empty() {
                return;
            }
            let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
            stats.push(StageStats {
                stage: stage.to_owned(),
                count: values.len() as u64,
                p50_us: at(0.5),
                p95_us: at(0.95),
            });
            values.clear();
        };
        for row in rows {
            let (name, us) = row?;
            if name != stage {
                flush(&stage, &mut current, &mut stats);
                stage = name;
            }
            current.push(us as u64);
        }
        flush(&stage, &mut current, &mut stats);
        Ok(stats)
    }

    /// Records a draft's `generate` stage with what it cost its model provider (`detail`: the JSON of
    /// `llm::router::Generation`).
    pub fn record_generation(&mut self, trace_id: &str, duration: Duration, detail: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO telemetry (trace_id, run_id, stage, at_ms, duration_us, detail) \
             VALUES (?1, NULL, 'generate', ?2, ?3, ?4)",
            params![trace_id, unix_ms() as i64, duration.as_micros() as i64, detail],
        )?;
        Ok(())
    }

    /// Per provider and model, the generations since `since_ms`: counts, fallbacks, tokens, attempts and the
    /// provider's latency percentiles.
    pub fn generation_stats(&mut self, since_ms: u64) -> Result<Vec<GenerationStats>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT detail FROM telemetry WHERE stage = 'generate' AND detail IS NOT NULL AND at_ms >= ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([since_ms as i64], |row| row.get::<_, String>(0))?;
        let mut groups: std::collections::BTreeMap<(String, String), (GenerationStats, Vec<u64>)> =
            std::collections::BTreeMap::new();
        for detail in rows {
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&detail?) else { continue };
            let text = |key: &str| value[key].as_str().unwrap_or_default().to_owned();
            let number = |key: &str| value[key].as_u64().unwrap_or(0);
            let (provider, model) = (text("provider"), text("model"));
            let (stats, latencies) = groups.entry((provider.clone(), model.clone())).or_insert_with(|| {
                let stats = GenerationStats {
                    provider,
                    model,
                    count: 0,
                    fallbacks: 0,
                    tokens_in: 0,
                    tokens_out: 0,
                    attempts: 0,
                    p50_us: 0,
                    p95_us: 0,
                };
                (stats, Vec::new())
            });
            stats.count += 1;
            stats.fallbacks += u64::from(value["ok"] == false);
            stats.tokens_in += number("tokens_in");
            stats.tokens_out += number("tokens_out");
            stats.attempts += number("attempts");
            latencies.push(number("latency_us"));
        }
        Ok(groups
            .into_values()
            .map(|(mut stats, mut latencies)| {
                latencies.sort_unstable();
                let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
                stats.p50_us = at(0.5);
                stats.p95_us = at(0.95);
                stats
            })
            .collect())
    }
}

fn source_not_found(name: &str) -> StoreError {
    refused(ErrorCode::SourceNotFound, format!("no source named {name}; see `psiq source list`"))
}

/// The default location of a profile's database.
pub fn database_path(home: &Path) -> PathBuf {
    home.join("state.sqlite3")
}
