//! Messages between the broker and one worker process, over the worker's stdin and stdout.
//!
//! The broker writes [`ToWorker::Hello`] (repeating the nonce it gave the worker at spawn), then one
//! [`ToWorker::Job`]. The worker answers [`FromWorker::Hello`], then the job's frames, ending with exactly one
//! of [`FromWorker::Done`] or [`FromWorker::Failed`], and exits.

use serde::{Deserialize, Serialize};

use crate::error::ErrorCode;
use crate::handshake::Hello;
use crate::secret::Credential;
use crate::types::{Batch, DbTarget, FileTable, ResultColumn, SchemaSnapshot, SourceKind};

/// Broker to worker. Variant 0 is the handshake and never moves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ToWorker {
    /// Since v1.
    Hello(Hello),
    /// Since v1.
    Job(Job),
}

/// Worker to broker. Variant 0 is the handshake and never moves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum FromWorker {
    /// Since v1.
    Hello(Hello),
    /// The metadata an import or schema job found. Since v1.
    Schema(SchemaSnapshot),
    /// The columns of a query result, before its first batch. Since v1.
    Columns(Vec<ResultColumn>),
    /// Rows. Since v1.
    Batch(Batch),
    /// The job finished. Since v1.
    Done(JobDone),
    /// The job failed; the worker exits after this frame. Since v1.
    Failed(WorkerError),
    /// Size, modification time and content hash of every file an import read. Since v2.
    Files(Vec<FileFact>),
    /// A database connection test's findings. Since v2.
    Tested(ConnectionReport),
}

/// One file as an import found it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFact {
    pub table: String,
    pub path: String,
    pub size: u64,
    pub modified_ms: Option<i64>,
    /// Lower-case hex SHA-256 of the content.
    pub sha256: String,
}

/// One unit of work. A worker runs exactly one. Appended only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Job {
    /// Validate and import a file source, report its schema.
    Import(ImportJob),
    /// Run one read-only query and stream its rows.
    Query(QueryJob),
    /// Misbehave on purpose. Honoured only by debug builds of the worker; release builds refuse it.
    Fault(Fault),
    /// Work on a database server. Since v2.
    Database(DbJob),
}

/// A job on a database server: the connection, then what to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbJob {
    pub kind: SourceKind,
    pub target: DbTarget,
    pub password: Option<Credential>,
    pub action: DbAction,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DbAction {
    /// Connect and report on the server; answers [`FromWorker::Tested`].
    Test,
    /// Read tables, columns and keys; answers [`FromWorker::Schema`].
    Metadata,
    /// Run one read-only query, streaming its rows.
    Query { sql: String, row_limit: u64, batch_rows: u32, timeout_ms: u64 },
}

/// What a connection test found. Never echoes the password.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionReport {
    pub server_version: String,
    pub tls: bool,
    /// Whether the role can create, insert, update or delete anything.
    pub can_write: bool,
    pub elapsed_ms: u64,
}

/// The files of a file source as the worker sees them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSource {
    pub tables: Vec<FileTable>,
    /// The per-source DuckDB database that holds ingested tables, if any.
    pub database: Option<String>,
}

/// Resource settings for DuckDB inside a worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuckLimits {
    pub memory_limit_mb: u64,
    pub threads: u32,
    /// Largest file accepted for import.
    pub max_file_bytes: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportJob {
    pub source: FileSource,
    pub limits: DuckLimits,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryJob {
    pub source: FileSource,
    pub sql: String,
    /// Rows beyond this are not sent; `JobDone::truncated` says so.
    pub row_limit: u64,
    /// Rows per batch frame.
    pub batch_rows: u32,
    pub limits: DuckLimits,
}

/// A deliberate failure, for testing the supervisor against real crashes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Fault {
    Panic,
    Abort,
    Segfault,
    /// Allocate until the memory limit stops it.
    ExhaustMemory,
    /// Write bytes that are not a frame to stdout.
    GarbageOnStdout,
    /// Exit with this code before answering.
    Exit(i32),
    /// Sleep this long, then finish normally.
    Sleep {
        ms: u64,
    },
}

/// How a finished job ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobDone {
    pub rows: u64,
    pub truncated: bool,
    pub elapsed_us: u64,
}

/// A failure inside the worker, reported as data before it exits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum WorkerError {
    #[error("{path}: {reason}")]
    InvalidFile { path: String, reason: String },
    #[error("{path} is {size} bytes, over the {limit}-byte limit")]
    FileTooLarge { path: String, size: u64, limit: u64 },
    #[error("{0}")]
    Query(String),
    #[error("worker panicked: {0}")]
    Panic(String),
    #[error("{0}")]
    Refused(String),
    #[error("internal worker error: {0}")]
    Internal(String),
    /// The database server cannot be reached. Since v2.
    #[error("{0}")]
    Unreachable(String),
    /// The database refused the credentials. Since v2.
    #[error("{0}")]
    AuthFailed(String),
}

impl WorkerError {
    pub fn code(&self) -> ErrorCode {
        match self {
            WorkerError::InvalidFile { .. } => ErrorCode::InvalidFile,
            WorkerError::FileTooLarge { .. } => ErrorCode::FileTooLarge,
            WorkerError::Query(_) => ErrorCode::QueryFailed,
            WorkerError::Panic(_) => ErrorCode::WorkerCrashed,
            WorkerError::Refused(_) => ErrorCode::BadRequest,
            WorkerError::Internal(_) => ErrorCode::Internal,
            WorkerError::Unreachable(_) => ErrorCode::Unreachable,
            WorkerError::AuthFailed(_) => ErrorCode::AuthFailed,
        }
    }
}
