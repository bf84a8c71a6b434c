//! Messages between the broker and one worker process, over the worker's stdin and stdout.
//!
//! The broker writes [`ToWorker::Hello`] (repeating the nonce it gave the worker at spawn), then one
//! [`ToWorker::Job`]. The worker answers [`FromWorker::Hello`], then the job's frames, ending with exactly one
//! of [`FromWorker::Done`] or [`FromWorker::Failed`], and exits.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::ErrorCode;
use crate::handshake::Hello;
use crate::secret::Credential;
use crate::types::{Batch, DbTarget, FileTable, ResultColumn, SchemaSnapshot, SourceKind};

/// Broker to worker. Variant 0 is the handshake and never moves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ToWorker {
    /// Since v1.
    Hello(Hello),
    /// Since v1. Accepted without a sandbox policy by debug builds only (tests that exercise one layer alone);
    /// release workers refuse it.
    Job(Job),
    /// A job with the sandbox the worker must enforce before it opens any data or connection. Since v3.
    Run { policy: SandboxPolicy, job: Job },
    /// A job with its sandbox (`None` is accepted by debug builds only, as for [`ToWorker::Job`]) and the limits
    /// the worker pins in its database session or DuckDB connection before any user text. The broker sends only
    /// this; a job that arrives as [`ToWorker::Job`] or [`ToWorker::Run`] gets [`SessionLimits::default`]. Since v6.
    Execute { policy: Option<SandboxPolicy>, job: Job, limits: SessionLimits },
}

/// How much memory and temporary disk one job's engine may use, pinned by the worker before it sends any user
/// text: PostgreSQL `work_mem` and `temp_file_limit`, DuckDB `max_temp_directory_size`. Since v6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionLimits {
    /// Temporary file space a query may fill, in MiB: PostgreSQL's `temp_file_limit` (where the role may set
    /// it), DuckDB's `max_temp_directory_size`.
    pub temp_space_mb: u64,
    /// Memory a sort or hash may use before it spills to temporary files, in MiB: PostgreSQL's `work_mem`.
    pub work_mem_mb: u64,
}

impl SessionLimits {
    /// The defaults: 1 GiB of temporary files, 64 MiB per sort or hash.
    pub const DEFAULT: SessionLimits = SessionLimits { temp_space_mb: 1024, work_mem_mb: 64 };
}

impl Default for SessionLimits {
    fn default() -> SessionLimits {
        SessionLimits::DEFAULT
    }
}

/// What one worker may touch, in the terms of its job: built once by the broker per run (`broker/src/sandbox.rs`)
/// and translated by the worker into its OS's rules (Linux: `no_new_privs`, landlock, seccomp, rlimits; macOS: a
/// seatbelt profile and its parameters) before it opens data. The worker never derives a rule from its job. An
/// allow-list: anything not named is denied, and what every worker needs to run at all (system libraries,
/// certificates, `/dev/null`) is the enforcer's to add. Since v3; typed fields since v7.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxPolicy {
    /// The run's scratch directory, read and written: the worker's working directory, where DuckDB spills.
    pub scratch: String,
    /// The source's files, or folders read with everything under them, read-only.
    pub source_paths: Vec<String>,
    /// The source's DuckDB database of ingested tables, when the job opens one.
    pub database: Option<DatabaseFile>,
    /// The one server the worker may reach over TCP; `None` means no network at all. A worker never gets a Unix
    /// socket.
    pub network: Option<NetworkTarget>,
    pub limits: ResourceLimits,
    /// The user allowed a degraded sandbox (some rule this kernel cannot enforce); otherwise the worker refuses
    /// to run when a rule cannot be enforced precisely.
    pub allow_degraded: bool,
}

/// A source's DuckDB database file in a sandbox policy. Since v7.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseFile {
    pub path: String,
    /// The job is an import, which rebuilds the file: it writes the new database beside it, in
    /// [`DatabaseFile::import_dir`], and renames it into place. Otherwise the file is only read.
    pub import: bool,
}

impl DatabaseFile {
    /// The import directory (the datasets directory that holds the file), where an import writes; `None` for a job
    /// that only reads the file, or a path with no folder.
    pub fn import_dir(&self) -> Option<&str> {
        if !self.import {
            return None;
        }
        std::path::Path::new(&self.path).parent().and_then(|dir| dir.to_str())
    }
}

/// The database server a worker may reach. Since v7.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkTarget {
    /// The host as the worker connects to it: an address the broker resolved, unless the worker must resolve the
    /// name itself (see `name_resolution`). macOS holds a loopback host to loopback.
    pub host: String,
    /// The TCP port; no other port is reachable.
    pub port: u16,
    /// The worker may send UDP to resolve its server's name. Only a job that must connect by name gets it (TLS
    /// `verify-full`, whose certificate check needs the name); the broker resolves every other job's host and
    /// hands the worker an address. Since v6 (in the policy itself until v7).
    pub name_resolution: bool,
}

/// Resource limits a worker sets on itself (on top of the launcher's address-space and core limits). Since v3.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceLimits {
    pub cpu_seconds: u64,
    pub open_files: u64,
    pub file_size_bytes: u64,
}

/// What the worker enforced, reported before the job's first frame. Since v3.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SandboxReport {
    /// The features in force, e.g. `no_new_privs`, `landlock-v6-fs`, `landlock-tcp`, `seccomp`, `rlimits`.
    pub features: Vec<String>,
    /// Rules this kernel could not enforce (empty unless the user allowed a degraded sandbox).
    pub missing: Vec<String>,
    /// How long enforcing took, in microseconds.
    pub enforce_us: u64,
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
    /// The sandbox the worker put itself in, before anything else. Since v3.
    Sandboxed(SandboxReport),
    /// Which server-side session runs this job's query: sent by a database query worker right after it connects,
    /// before it sends the user's query, so the broker can cancel the query on the server too. Since v3.
    ServerSession(ServerSession),
    /// The relations the server's plan of a dry-run query reads, as the server resolved them (PostgreSQL: every
    /// scanned relation of `EXPLAIN (VERBOSE)`, schema-qualified, views expanded; DuckDB: every table and table
    /// function its `EXPLAIN (FORMAT JSON)` scans). The broker checks them again,
    /// independently of the guardrail's own reading of the text. Since v6.
    Resolved(Vec<ResolvedRelation>),
}

/// One relation a server resolved a query's name to: a table or view (`schema.name`), or for DuckDB a table
/// function its plan scans (`table_function`, the schema empty).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolvedRelation {
    pub schema: String,
    pub name: String,
    pub table_function: bool,
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
    /// Prepare one query on a file source without running it (the dry run of a draft): answers
    /// [`FromWorker::Done`] with no rows, or [`FromWorker::Failed`] with DuckDB's error. Since v4.
    Check(QueryJob),
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
    /// Run one read-only query, streaming its rows. Sends [`FromWorker::ServerSession`] before the query.
    Query { sql: String, row_limit: u64, batch_rows: u32, timeout_ms: u64 },
    /// Stop what `session` (another worker's connection, with the same target and credentials) is running on the
    /// server: PostgreSQL `pg_cancel_backend`, MySQL `KILL QUERY`, MongoDB `killOp` and `killCursors` for the
    /// operations carrying the session's comment. Answers [`FromWorker::Done`] with `rows` = the number of server
    /// operations it stopped (0 when nothing was running any more). Since v3.
    Cancel { session: ServerSession },
    /// Prepare one query without running it (the dry run of a draft), in a read-only transaction under
    /// `timeout_ms`: PostgreSQL and MySQL prepare it, MongoDB explains it. Answers [`FromWorker::Done`] with no rows,
    /// or [`FromWorker::Failed`] with the server's error. Since v4.
    Check { sql: String, timeout_ms: u64 },
}

/// A database query's session on its server, as its worker reports it: what a second connection needs to find
/// and stop the query there. Appended only. Since v3.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerSession {
    /// The backend process serving the connection (`pg_backend_pid()`).
    Postgres { backend_pid: i32 },
    /// The connection's id (`CONNECTION_ID()`), as `KILL QUERY` takes it.
    Mysql { connection_id: u64 },
    /// A unique `comment` the worker attaches to every operation of the run (`psiq-run-<hex>`), which
    /// `currentOp` shows on each of them and on their cursors.
    Mongodb { comment: String },
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Try something the sandbox should stop (or its legitimate twin) and say what happened: `Done` when it
    /// worked, `Failed(Refused)` with the OS error when it was stopped. Since v3.
    Probe(Probe),
}

/// One attempt at the world outside a worker's sandbox. Since v3.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Probe {
    /// Open a file for reading and read a byte.
    ReadFile { path: String },
    /// Read a file through DuckDB's `read_csv`, with DuckDB's own file restrictions lifted, so only the OS
    /// sandbox stands in the way.
    DuckDbReadCsv { path: String },
    /// Create and write a file.
    WriteFile { path: String },
    /// Open a TCP connection.
    Connect { host: String, port: u16 },
    /// Send one UDP datagram.
    UdpSend { host: String, port: u16 },
    /// Start a child process (`/bin/true`).
    Spawn,
    /// Fork repeatedly.
    ForkBomb,
    /// Allocate and touch this many MiB.
    Allocate { mb: u64 },
    /// Report the worker's environment variable names; fails when any variable is set.
    Environment,
    /// Attach to a process with ptrace.
    Ptrace { pid: u32 },
    /// Send signal 0 to a process.
    Signal { pid: u32 },
    /// Burn CPU for this many seconds.
    Spin { seconds: u64 },
    /// Connect to a Unix socket by path (the session bus, the broker's socket, a container engine's). Since v6.
    ConnectUnix { path: String },
}

/// How a finished job ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobDone {
    pub rows: u64,
    pub truncated: bool,
    pub elapsed_us: u64,
    /// The worker's own resident high-water mark (`VmHWM`) in KiB, read just before it reports; `None` where the
    /// platform does not say. Unlike `ru_maxrss` at reaping, it does not count the broker's memory at fork.
    /// Since v5.
    pub peak_rss_kb: Option<u64>,
}

/// `VmHWM` in KiB from the text of a Linux `/proc/<pid>/status`: the figure [`JobDone::peak_rss_kb`] carries and the
/// health registry shows for a live worker. Parsing only; the caller reads the file.
pub fn vm_hwm_kb(status: &str) -> Option<u64> {
    status.lines().find_map(|line| line.strip_prefix("VmHWM:"))?.split_whitespace().next()?.parse().ok()
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
    /// The database server cannot be reached. Reported only while connecting, before anything of the job ran,
    /// so the broker may retry it; a connection lost later is [`WorkerError::ConnectionLost`]. Since v2.
    #[error("{0}")]
    Unreachable(String),
    /// The database refused the credentials. Since v2.
    #[error("{0}")]
    AuthFailed(String),
    /// The TLS handshake failed, or the server does not offer the TLS the source requires. Since v3.
    #[error("{0}")]
    Tls(String),
    /// The connection broke after the job started talking to the server: a query may have run. Never retried.
    /// Since v3.
    #[error("{0}")]
    ConnectionLost(String),
    /// A session setting the worker pins before any user text (PostgreSQL's `standard_conforming_strings`,
    /// `search_path`, `work_mem`, `temp_file_limit`; MySQL's `sql_mode`) could not be set or did not hold, so the
    /// server might read the query differently from the guardrail: nothing of the user's was sent. Since v6.
    #[error("cannot pin {setting} for this session: {reason}")]
    SessionPin { setting: String, reason: String },
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
            WorkerError::Tls(_) => ErrorCode::TlsFailed,
            WorkerError::ConnectionLost(_) => ErrorCode::ConnectionLost,
            WorkerError::SessionPin { .. } => ErrorCode::QueryFailed,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn vm_hwm_is_read_from_its_line_in_kib() {
        let status = "Name:\tpolystoreiq-wor\nVmPeak:\t  123456 kB\nVmHWM:\t   20480 kB\nVmRSS:\t   19000 kB\n";
        assert_eq!(super::vm_hwm_kb(status), Some(20480));
        assert_eq!(super::vm_hwm_kb("Name:\tx\nVmRSS:\t1 kB\n"), None);
        assert_eq!(super::vm_hwm_kb("VmHWM:\tlots kB\n"), None);
    }
}
