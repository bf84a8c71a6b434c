//! The app state in SQLite, and the only module that holds SQL.
//!
//! [`Db`]'s operations are split by what they keep: [`sources`], [`drafts`] (drafts, approval tokens, runs),
//! [`sessions`], [`audit`], [`settings`] (and unlock attempts), [`telemetry`].
//!
//! One thread owns the connection; the rest of the broker calls typed functions through [`Store::call`].
//! The database is opened in WAL mode with foreign keys on, a busy timeout and `synchronous = FULL`, so an
//! acknowledged write survives the broker being killed. Migrations are embedded and forward-only; a database
//! written by a newer broker is refused before anything touches it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use polystoreiq_protocol::types::{
    AuditAction, DbTarget, DraftId, DraftPreview, FileTable, RunId, SchemaSnapshot, SessionId, SourceInfo,
};
use polystoreiq_protocol::{ErrorCode, TypedError};
use rusqlite::{Connection, OpenFlags, Transaction};
use rusqlite_migration::{M, Migrations};
use tokio::sync::oneshot;

mod audit;
mod drafts;
mod sessions;
mod settings;
mod sources;
mod telemetry;

pub use drafts::query_hash;

/// Every migration, in order. Append only; never edit one that has shipped.
const MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!("../../../migrations/0001_initial.sql")),
    M::up(include_str!("../../../migrations/0002_results.sql")),
    M::up(include_str!("../../../migrations/0003_source_schema.sql")),
    M::up(include_str!("../../../migrations/0004_token_profile.sql")),
    M::up(include_str!("../../../migrations/0005_draft_checks.sql")),
    M::up(include_str!("../../../migrations/0006_unlock_attempts.sql")),
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
    pub status: RunStatus,
    pub page: Option<Vec<u8>>,
}

/// Calls `$callback!` with a stored status's variants and their names in the app state.
macro_rules! stored_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// The name in the app state.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl rusqlite::types::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(self.as_str().into())
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                match value.as_str()? {
                    $($text => Ok($name::$variant),)*
                    other => Err(rusqlite::types::FromSqlError::Other(
                        format!("{other:?} is not a {}", stringify!($name)).into(),
                    )),
                }
            }
        }
    };
}

stored_enum! {
    /// Where a draft is: waiting for the user, approved (a token was used), or denied.
    DraftStatus {
        Pending = "pending",
        Approved = "approved",
        Denied = "denied",
    }
}

stored_enum! {
    /// How a run ended, or that it has not.
    RunStatus {
        Running = "running",
        Finished = "finished",
        Failed = "failed",
        Cancelled = "cancelled",
    }
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
    pub status: DraftStatus,
    pub run: Option<LastRun>,
}

/// A draft's latest run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastRun {
    pub run: RunId,
    pub status: RunStatus,
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

/// An audit event before it is stored.
pub struct NewAudit<'a> {
    pub actor: &'a str,
    pub action: AuditAction,
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

impl Db {
    fn transaction(&mut self) -> Result<Transaction<'_>, StoreError> {
        Ok(self.conn.transaction()?)
    }

    // ---- sources -------------------------------------------------------------------------------------------

    // ---- drafts and approval tokens ------------------------------------------------------------------------

    // ---- runs ----------------------------------------------------------------------------------------------

    // ---- chat sessions and messages ------------------------------------------------------------------------

    // ---- audit ---------------------------------------------------------------------------------------------

    // ---- settings ------------------------------------------------------------------------------------------

    // ---- telemetry -----------------------------------------------------------------------------------------
}

/// The default location of a profile's database.
pub fn database_path(home: &Path) -> PathBuf {
    home.join("state.sqlite3")
}
