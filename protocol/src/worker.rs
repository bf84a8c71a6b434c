//! Messages between the broker and one worker process, over the worker's stdin and stdout.
//!
//! The broker writes [`ToWorker::Hello`] (repeating the nonce it gave the worker at spawn), then one
//! [`ToWorker::Job`]. The worker answers [`FromWorker::Hello`], then the job's frames, ending with exactly one
//! of [`FromWorker::Done`] or [`FromWorker::Failed`], and exits.

use serde::{Deserialize, Serialize};

use crate::error::ErrorCode;
use crate::handshake::Hello;
use crate::types::{Batch, FileTable, ResultColumn, SchemaSnapshot};

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
        }
    }
}
