//! Sources: their kinds, targets, files, status, breakers and tests.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::secret::UserSecret;

use super::*;

/// The kind of a source. Appended only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Files,
    Postgres,
    Mysql,
    Mongodb,
}

/// The engine a query runs on; decides the SQL dialect (or Mongo's language).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    Duckdb,
    Postgres,
    Mysql,
    Mongodb,
}

impl SourceKind {
    pub fn engine(self) -> Engine {
        match self {
            SourceKind::Files => Engine::Duckdb,
            SourceKind::Postgres => Engine::Postgres,
            SourceKind::Mysql => Engine::Mysql,
            SourceKind::Mongodb => Engine::Mongodb,
        }
    }

    /// The kind of worker that runs this source's jobs.
    pub fn worker_kind(self) -> WorkerKind {
        match self {
            SourceKind::Files => WorkerKind::Duckdb,
            SourceKind::Postgres => WorkerKind::Postgres,
            SourceKind::Mysql => WorkerKind::Mysql,
            SourceKind::Mongodb => WorkerKind::Mongodb,
        }
    }
}

/// A data file format DuckDB reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Csv,
    Json,
    Parquet,
}

impl FileKind {
    /// The kind a file name's extension announces.
    pub fn from_path(path: &str) -> Option<FileKind> {
        let ext = path.rsplit_once('.')?.1.to_ascii_lowercase();
        match ext.as_str() {
            "csv" | "tsv" => Some(FileKind::Csv),
            "json" | "jsonl" | "ndjson" => Some(FileKind::Json),
            "parquet" | "pq" => Some(FileKind::Parquet),
            _ => None,
        }
    }
}

/// Where a file table's rows are read from at query time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TableStorage {
    /// The file itself, on every query.
    InPlace,
    /// A copy in the source's own DuckDB database, made at import and refreshed when the file changes.
    Ingested,
}

/// One table of a file source: a file, or several files matched by one glob, read as one table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FileTable {
    pub table: String,
    pub kind: FileKind,
    pub storage: TableStorage,
    /// Absolute paths, already expanded from any glob.
    pub paths: Vec<String>,
    /// What the user typed (a path or a glob), kept as provenance.
    pub pattern: String,
}

/// What a user gives to register a source. Appended only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SourceSpec {
    /// Local files or globs; each becomes a table named after the file.
    Files { paths: Vec<String> },
    /// A database server; the password goes to the OS keyring, never to the app state. Since v2.
    Database { kind: SourceKind, target: DbTarget, password: Option<UserSecret> },
}

/// Where a database source lives. Carries no secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DbTarget {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    pub tls: TlsMode,
}

/// TLS for a database connection, with libpq's `sslmode` meanings. Appended only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, plain TCP when it does not. The certificate is not verified.
    Prefer,
    /// TLS or no connection. The certificate is not verified (as libpq's `sslmode=require`): this protects
    /// against eavesdropping, not against a server impersonating the real one.
    Require,
    /// TLS, with the server's certificate verified against the Mozilla root certificates (webpki-roots) and its
    /// name checked against the host. Since v3.
    VerifyFull,
}

/// Status of a source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SourceStatus {
    Connected,
    Failed,
    Disabled,
}

/// What a source can do; the UI disables what a source cannot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Capabilities {
    pub sql: bool,
    pub server_side_cancel: bool,
    pub schema_refresh: bool,
}

/// A source as the front ends see it. Never carries a secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct SourceInfo {
    pub id: SourceId,
    pub name: String,
    pub kind: SourceKind,
    pub status: SourceStatus,
    pub capabilities: Capabilities,
    pub files: Vec<FileTable>,
    /// The server of a database source.
    pub target: Option<DbTarget>,
    /// For a database source: whether its role can write (onboarding recommends a read-only role).
    pub can_write: Option<bool>,
    /// The last failure, if the status is FAILED.
    pub last_error: Option<String>,
    pub created_at_ms: u64,
    /// The source's circuit breaker (always closed for a files source). Since v3.
    pub breaker: BreakerStatus,
}

/// Where a source's circuit breaker is. Appended only.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum BreakerState {
    /// Runs go through.
    #[default]
    Closed,
    /// The server failed too often in a row: runs are refused until `retry_at_ms`.
    Open,
    /// The cool-down is over: the next run is let through as a trial; its outcome closes or reopens the breaker.
    HalfOpen,
}

/// A source's circuit breaker as the front ends see it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct BreakerStatus {
    pub state: BreakerState,
    /// Connection failures in a row (each after its retries).
    pub consecutive_failures: u32,
    /// When an open breaker lets a trial run through (unix ms).
    pub retry_at_ms: Option<u64>,
    /// The last connection failure, while the count is above zero.
    pub last_failure: Option<String>,
}

/// One source's breaker, for diagnostics.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SourceBreaker {
    pub source: String,
    pub breaker: BreakerStatus,
}

/// The result of testing a source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct SourceTestReport {
    pub source: String,
    pub ok: bool,
    pub status: SourceStatus,
    pub message: String,
    pub elapsed_ms: u64,
}
