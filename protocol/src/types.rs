//! Shared domain types: identifiers, sources, schema snapshots, query drafts and normalized results.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::column::{NumColumn, TextColumn};
use crate::error::{ErrorCode, TypedError};
use crate::secret::UserSecret;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, TS)]
        pub struct $name(pub u64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A registered source.
    SourceId
);
id_type!(
    /// A query draft awaiting approval or denial.
    DraftId
);
id_type!(
    /// One execution of an approved draft.
    RunId
);
id_type!(
    /// A chat session.
    SessionId
);

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

/// The logical type every engine's column type normalizes to. Appended only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LogicalType {
    Bool,
    Int,
    Float,
    /// Exact decimal, carried as a decimal string.
    Decimal,
    Text,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Interval,
    Uuid,
    Json,
    Bytes,
    Other,
}

/// A column of a table in a schema snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ColumnInfo {
    pub name: String,
    /// The engine's own type name (`BIGINT`, `VARCHAR`, `numeric(10,2)`).
    pub db_type: String,
    pub logical: LogicalType,
    pub nullable: bool,
    /// The column's comment in the database. Since v3.
    #[serde(default)]
    pub comment: Option<String>,
    /// For a field inferred from sampled documents (MongoDB): how often it occurred, and as which types.
    /// Since v3.
    #[serde(default)]
    pub sample: Option<FieldSample>,
}

/// What sampling documents found about one field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FieldSample {
    /// Documents sampled from the collection.
    pub documents: u32,
    /// Sampled documents that hold the field (its presence ratio is `present / documents`).
    pub present: u32,
    /// Occurrences per type (`string`, `int`, `null`, ...), most frequent first. A field inside an array of
    /// documents can occur more than once in one document.
    pub types: Vec<TypeCount>,
}

impl FieldSample {
    /// The share of sampled documents holding the field, from 0 to 1.
    pub fn presence(&self) -> f64 {
        if self.documents == 0 { 0.0 } else { f64::from(self.present) / f64::from(self.documents) }
    }
}

/// How many times one type was seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TypeCount {
    pub type_name: String,
    pub count: u32,
}

/// A foreign key: `columns` of this table reference `ref_columns` of `ref_table`, position by position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ForeignKey {
    /// The constraint's name, where the engine names it.
    pub name: Option<String>,
    pub columns: Vec<String>,
    /// Named as the snapshot names tables (schema-qualified outside PostgreSQL's `public`).
    pub ref_table: String,
    pub ref_columns: Vec<String>,
}

/// An index of a table or collection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct IndexInfo {
    pub name: String,
    /// Its keys, in order; a MongoDB key that is not ascending says how (`loc: 2dsphere`, `price: -1`).
    pub columns: Vec<String>,
    pub unique: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    Table,
    View,
    Collection,
}

/// A table, view or collection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TableInfo {
    pub name: String,
    pub kind: TableKind,
    /// Exact for files; the server's estimate for databases.
    pub row_count: Option<u64>,
    pub columns: Vec<ColumnInfo>,
    /// The primary key's columns, in key order; empty when there is none. Since v3.
    #[serde(default)]
    pub primary_key: Vec<String>,
    /// Since v3.
    #[serde(default)]
    pub foreign_keys: Vec<ForeignKey>,
    /// Indexes other than the primary key's (MongoDB's `_id_` included). Since v3.
    #[serde(default)]
    pub indexes: Vec<IndexInfo>,
    /// The table's comment in the database. Since v3.
    #[serde(default)]
    pub comment: Option<String>,
}

impl TableInfo {
    /// A table with columns only: no keys, indexes or comment.
    pub fn new(name: String, kind: TableKind, row_count: Option<u64>, columns: Vec<ColumnInfo>) -> TableInfo {
        TableInfo {
            name,
            kind,
            row_count,
            columns,
            primary_key: Vec::new(),
            foreign_keys: Vec::new(),
            indexes: Vec::new(),
            comment: None,
        }
    }
}

/// The metadata of one source at one moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SchemaSnapshot {
    pub tables: Vec<TableInfo>,
    pub fetched_at_ms: u64,
    /// How the broker answered: from its cache or freshly read. Only on the broker's replies. Since v3.
    #[serde(default)]
    pub cache: Option<SchemaCache>,
}

/// The freshness of a schema the broker answered with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SchemaCache {
    /// True when the answer is the stored snapshot; false when it was read from the source for this request.
    pub cached: bool,
    /// The snapshot's age when the broker answered.
    pub age_ms: u64,
    /// How old a database source's snapshot may grow before it is read again (`POLYSTOREIQ_SCHEMA_TTL_S`);
    /// `None` for files, whose schema is read again whenever a file changes.
    pub ttl_ms: Option<u64>,
}

/// A result column: its name and types.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ResultColumn {
    pub name: String,
    pub db_type: String,
    pub logical: LogicalType,
}

/// The values of one result column within a batch. NULL is always distinct from an empty string.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ColumnValues {
    Bool(Vec<Option<bool>>),
    Int(NumColumn<i64>),
    Float(NumColumn<f64>),
    /// Text, and every type carried as text: decimals, UUIDs, JSON, intervals, times.
    Text(TextColumn),
    /// Days since 1970-01-01.
    Date(NumColumn<i32>),
    /// Microseconds since 1970-01-01T00:00:00 (UTC for time-zone-aware columns).
    Timestamp(NumColumn<i64>),
    Bytes(Vec<Option<Vec<u8>>>),
}

impl ColumnValues {
    pub fn len(&self) -> usize {
        match self {
            ColumnValues::Bool(v) => v.len(),
            ColumnValues::Int(v) => v.len(),
            ColumnValues::Float(v) => v.len(),
            ColumnValues::Text(v) => v.len(),
            ColumnValues::Date(v) => v.len(),
            ColumnValues::Timestamp(v) => v.len(),
            ColumnValues::Bytes(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An empty column of the representation values of `logical` travel as.
    pub fn empty_for(logical: LogicalType) -> ColumnValues {
        match logical {
            LogicalType::Bool => ColumnValues::Bool(Vec::new()),
            LogicalType::Int => ColumnValues::Int(NumColumn::default()),
            LogicalType::Float => ColumnValues::Float(NumColumn::default()),
            LogicalType::Date => ColumnValues::Date(NumColumn::default()),
            LogicalType::Timestamp | LogicalType::TimestampTz => ColumnValues::Timestamp(NumColumn::default()),
            LogicalType::Bytes => ColumnValues::Bytes(Vec::new()),
            _ => ColumnValues::Text(TextColumn::default()),
        }
    }

    /// An empty column of the representation of `logical`, with room for `rows` rows before it grows.
    pub fn with_rows(logical: LogicalType, rows: usize) -> ColumnValues {
        match ColumnValues::empty_for(logical) {
            ColumnValues::Bool(_) => ColumnValues::Bool(Vec::with_capacity(rows)),
            ColumnValues::Int(_) => ColumnValues::Int(NumColumn::with_capacity(rows, 0)),
            ColumnValues::Float(_) => ColumnValues::Float(NumColumn::with_capacity(rows, 0)),
            ColumnValues::Text(_) => ColumnValues::Text(TextColumn::with_capacity(rows, 0, 0)),
            ColumnValues::Date(_) => ColumnValues::Date(NumColumn::with_capacity(rows, 0)),
            ColumnValues::Timestamp(_) => ColumnValues::Timestamp(NumColumn::with_capacity(rows, 0)),
            ColumnValues::Bytes(_) => ColumnValues::Bytes(Vec::with_capacity(rows)),
        }
    }

    /// An empty column of the same representation with room for as many rows, NULLs and text bytes as this one
    /// holds: the next batch of a result is usually shaped like the last, so it fills without regrowing.
    pub fn sized_like(&self) -> ColumnValues {
        let rows = self.len();
        match self {
            ColumnValues::Bool(_) => ColumnValues::Bool(Vec::with_capacity(rows)),
            ColumnValues::Int(c) => ColumnValues::Int(NumColumn::with_capacity(rows, c.null_count())),
            ColumnValues::Float(c) => ColumnValues::Float(NumColumn::with_capacity(rows, c.null_count())),
            ColumnValues::Text(c) => ColumnValues::Text(TextColumn::with_capacity(rows, c.byte_len(), c.null_count())),
            ColumnValues::Date(c) => ColumnValues::Date(NumColumn::with_capacity(rows, c.null_count())),
            ColumnValues::Timestamp(c) => ColumnValues::Timestamp(NumColumn::with_capacity(rows, c.null_count())),
            ColumnValues::Bytes(_) => ColumnValues::Bytes(Vec::with_capacity(rows)),
        }
    }

    /// An empty column of the same representation.
    pub fn empty_like(&self) -> ColumnValues {
        match self {
            ColumnValues::Bool(_) => ColumnValues::Bool(Vec::new()),
            ColumnValues::Int(_) => ColumnValues::Int(NumColumn::default()),
            ColumnValues::Float(_) => ColumnValues::Float(NumColumn::default()),
            ColumnValues::Text(_) => ColumnValues::Text(TextColumn::default()),
            ColumnValues::Date(_) => ColumnValues::Date(NumColumn::default()),
            ColumnValues::Timestamp(_) => ColumnValues::Timestamp(NumColumn::default()),
            ColumnValues::Bytes(_) => ColumnValues::Bytes(Vec::new()),
        }
    }

    /// Appends rows `[start, start + len)` of `other`, which must have the same representation.
    pub fn extend_range(&mut self, other: &ColumnValues, start: usize, len: usize) {
        let range = start..start + len;
        match (self, other) {
            (ColumnValues::Bool(t), ColumnValues::Bool(s)) => t.extend_from_slice(&s[range]),
            (ColumnValues::Int(t), ColumnValues::Int(s)) => t.extend_range(s, start, len),
            (ColumnValues::Float(t), ColumnValues::Float(s)) => t.extend_range(s, start, len),
            (ColumnValues::Text(t), ColumnValues::Text(s)) => t.extend_range(s, start, len),
            (ColumnValues::Date(t), ColumnValues::Date(s)) => t.extend_range(s, start, len),
            (ColumnValues::Timestamp(t), ColumnValues::Timestamp(s)) => t.extend_range(s, start, len),
            (ColumnValues::Bytes(t), ColumnValues::Bytes(s)) => t.extend_from_slice(&s[range]),
            _ => {}
        }
    }
}

/// A run of result rows, column by column.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    pub columns: Vec<ColumnValues>,
}

impl Batch {
    pub fn row_count(&self) -> usize {
        self.columns.first().map_or(0, ColumnValues::len)
    }
}

/// A page of a stored result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultPage {
    pub run: RunId,
    pub columns: Vec<ResultColumn>,
    pub offset: u64,
    pub rows: Batch,
    /// Rows stored for the run.
    pub total_rows: u64,
    /// The run hit its row limit: more rows existed than were kept.
    pub truncated: bool,
}

/// The guardrail's verdict on a query, with a stable reason code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct GuardVerdict {
    pub allowed: bool,
    pub code: String,
    pub reason: String,
}

/// A drafted query awaiting the user's decision. Nothing has run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct DraftPreview {
    pub draft: DraftId,
    pub source: String,
    pub engine: Engine,
    pub question: Option<String>,
    pub query: String,
    /// Who drafted it: a provider name, or `user` for a query the user wrote.
    pub provider: String,
    pub explanation: String,
    pub verdict: GuardVerdict,
    /// Present only when the verdict allows the query and the dry run found no error in it.
    pub token: Option<String>,
    pub token_expires_in_ms: u64,
    /// The drafts set aside before this one, oldest first, each with the error that was sent back to the provider
    /// for repair; empty when the first draft held. Since v4.
    pub attempts: Vec<DraftAttempt>,
    /// What the dry run found (the server prepared or explained the query; nothing ran); `None` when the guardrail
    /// refused the query, so no dry run was tried. Since v4.
    pub check: Option<DraftCheck>,
}

/// A draft that was set aside for a repaired one. Since v4.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct DraftAttempt {
    pub query: String,
    pub provider: String,
    /// Why it was set aside: the guardrail's refusal or the dry run's error, as the provider was told.
    pub error: TypedError,
}

/// A draft's dry run: the server (or DuckDB) prepared or explained the query without running it. Since v4.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct DraftCheck {
    pub outcome: CheckOutcome,
    pub elapsed_ms: u64,
    /// What the server said, or why the dry run could not tell.
    pub message: String,
}

/// How a dry run ended. Since v4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CheckOutcome {
    /// The query prepared: its tables, columns and types hold.
    Passed,
    /// The query is wrong as written (an unknown column, a type error, a syntax the server refuses).
    Failed,
    /// The dry run could not tell (the server was unreachable, the worker failed): the query may still be right.
    Inconclusive,
}

impl CheckOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckOutcome::Passed => "passed",
            CheckOutcome::Failed => "failed",
            CheckOutcome::Inconclusive => "inconclusive",
        }
    }
}

/// The outcome of a finished run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub run: RunId,
    pub draft: DraftId,
    pub source: String,
    pub rows: u64,
    pub truncated: bool,
    pub elapsed_ms: u64,
    pub first_page: ResultPage,
    /// The chart that suits the result's shape, or a table with the reason none does. Since v4.
    pub chart: ChartRecommendation,
}

/// The chart the broker recommends for a result, from its shape alone. Since v4.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ChartRecommendation {
    pub kind: ChartKind,
    /// The column along the x axis (the time, category or first measure); `None` for a table.
    pub x: Option<String>,
    /// The columns plotted as values; empty for a table.
    pub y: Vec<String>,
    /// Why this kind, in a short phrase the user reads.
    pub reason: String,
    /// Other kinds that also fit the shape, best first; a table always fits, so it is never listed.
    pub alternatives: Vec<ChartKind>,
}

/// A kind of chart, or a plain table when no chart suits the result. Since v4.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    Table,
    Line,
    Bar,
    Pie,
    Scatter,
}

impl ChartKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChartKind::Table => "table",
            ChartKind::Line => "line",
            ChartKind::Bar => "bar",
            ChartKind::Pie => "pie",
            ChartKind::Scatter => "scatter",
        }
    }
}

/// What kind of worker a run used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum WorkerKind {
    Duckdb,
    Postgres,
    Mysql,
    Mongodb,
}

/// Where a worker is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum WorkerState {
    Starting,
    Running,
    Finished,
    Failed,
    Cancelled,
    TimedOut,
}

/// How a worker process ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ExitInfo {
    pub code: Option<i32>,
    pub signal: Option<i32>,
    pub signal_name: Option<String>,
}

/// One worker's entry in the health registry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct WorkerHealth {
    pub pid: u32,
    pub kind: WorkerKind,
    pub source: String,
    pub run: Option<RunId>,
    pub state: WorkerState,
    pub started_at_ms: u64,
    pub duration_ms: u64,
    /// Peak resident set in KiB: a live worker's `VmHWM` so far; a finished one's own `VmHWM` as it reported it;
    /// for a worker that failed, `ru_maxrss` at reaping, which also counts the broker's resident set at fork.
    pub peak_rss_kb: u64,
    pub exit: Option<ExitInfo>,
    pub error: Option<ErrorCode>,
}

/// The worker pool's occupancy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct PoolStats {
    pub running: u32,
    pub queued: u32,
    pub max_workers: u32,
    pub queue_bound: u32,
}

/// One timed stage of a run's trace. Since v5.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TraceStage {
    /// `generate`, `validate`, `execute`, `normalize` or `render`.
    pub stage: String,
    /// When the stage ended.
    pub at_ms: u64,
    pub duration_us: u64,
}

/// Every stage timed under a run's trace id (its execution, normalisation and render; its draft's stages are timed
/// under the draft's), oldest first. Since v5.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RunTrace {
    pub run: RunId,
    pub trace_id: String,
    pub stages: Vec<TraceStage>,
}

/// Latency of one pipeline stage over the diagnostics window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct StageStats {
    /// `generate`, `validate`, `execute`, `normalize` or `render`.
    pub stage: String,
    pub count: u64,
    pub p50_us: u64,
    pub p95_us: u64,
}

/// The diagnostics view.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, TS)]
pub struct DiagReport {
    pub workers: Vec<WorkerHealth>,
    pub pool: PoolStats,
    /// Per-stage latency over the last `window_ms`.
    pub stages: Vec<StageStats>,
    pub window_ms: u64,
    /// Every source whose circuit breaker is open, half-open, or has counted failures. Since v3.
    pub breakers: Vec<SourceBreaker>,
    /// Per worker kind, the sandbox its last worker put itself in on this machine. Since v3.
    pub sandbox: Vec<SandboxState>,
    /// Per model provider and model, the drafts it was asked for over the window. Since v3.
    pub generations: Vec<GenerationStats>,
}

/// How one model provider (and model) drafted over the diagnostics window. Since v3.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct GenerationStats {
    /// The provider configured when the question was asked (`offline`, `openai`, `anthropic`, `ollama`).
    pub provider: String,
    pub model: String,
    pub count: u64,
    /// Questions the provider failed, so the offline planner drafted (or declined) instead.
    pub fallbacks: u64,
    pub tokens_in: u64,
    pub tokens_out: u64,
    /// HTTP attempts over all questions (retries after 429 and 5xx included).
    pub attempts: u64,
    /// The provider's latency, retries included.
    pub p50_us: u64,
    pub p95_us: u64,
}

/// Who drafts queries from questions. Appended only. Since v3.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LlmProvider {
    /// The built-in planner: no model, no network.
    Offline,
    /// An OpenAI-compatible chat-completions API (OpenAI, a llama.cpp or vLLM server, LM Studio).
    Openai,
    /// Anthropic's Messages API.
    Anthropic,
    /// A local Ollama server.
    Ollama,
}

impl LlmProvider {
    pub fn as_str(self) -> &'static str {
        match self {
            LlmProvider::Offline => "offline",
            LlmProvider::Openai => "openai",
            LlmProvider::Anthropic => "anthropic",
            LlmProvider::Ollama => "ollama",
        }
    }
}

/// The model provider settings as front ends see them: whether an API key is set, never the key. Since v3.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LlmSettings {
    pub provider: LlmProvider,
    /// Empty for the offline planner.
    pub model: String,
    /// The API's base URL; empty for the offline planner.
    pub endpoint: String,
    /// Whether the OS keyring holds an API key for this provider.
    pub api_key_set: bool,
}

/// The profile's settings. Since v3.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Settings {
    pub llm: LlmSettings,
    /// The limits in force. Since v5.
    pub limits: Limits,
    /// The limits a `POLYSTOREIQ_*` variable set when the broker started: the variable wins over a stored value
    /// until the broker starts without it. Field names of [`Limits`]. Since v5.
    pub env_fixed: Vec<String>,
}

/// The limits the owner may change, kept in the profile. Since v5.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Limits {
    /// Rows kept per run; a query is cut to this many and marked truncated.
    pub row_limit: u64,
    /// A run's worker is killed after this long.
    pub run_timeout_ms: u64,
    /// A draft's dry run gives up after this long and calls itself inconclusive.
    pub check_timeout_ms: u64,
    /// Workers running at once. A smaller pool takes effect as running workers finish.
    pub max_workers: u32,
    /// Audit events older than this many days are deleted.
    pub audit_retention_days: u32,
    /// Temporary file space one query may fill, in MiB (PostgreSQL's `temp_file_limit` where the role may set it,
    /// DuckDB's `max_temp_directory_size`). Since v6.
    pub temp_space_mb: u64,
    /// Memory one sort or hash may use before it spills, in MiB (PostgreSQL's `work_mem`). Since v6.
    pub work_mem_mb: u64,
}

/// A change of [`Limits`]: each field left out keeps its value. Since v5.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LimitsChange {
    pub row_limit: Option<u64>,
    pub run_timeout_ms: Option<u64>,
    pub check_timeout_ms: Option<u64>,
    pub max_workers: Option<u32>,
    pub audit_retention_days: Option<u32>,
    /// Since v6.
    pub temp_space_mb: Option<u64>,
    /// Since v6.
    pub work_mem_mb: Option<u64>,
}

/// A model provider that answered a health check. Since v3.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct LlmTestReport {
    pub provider: LlmProvider,
    pub model: String,
    pub endpoint: String,
    pub elapsed_ms: u64,
    /// What the provider said, e.g. whether it lists the model.
    pub message: String,
}

/// The sandbox a kind of worker runs in on this machine, as its last worker reported it. Since v3.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SandboxState {
    pub kind: WorkerKind,
    pub report: crate::worker::SandboxReport,
}

/// One entry of the append-only audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AuditEvent {
    pub id: u64,
    pub at_ms: u64,
    /// The role that acted (`owner`, `viewer`) or `broker` for its own actions.
    pub actor: String,
    pub profile: String,
    /// What happened, e.g. `source.add`, `draft.create`, `run.approve`, `run.cancel`, `token.refused`.
    pub action: String,
    pub source: Option<String>,
    pub session: Option<SessionId>,
    pub draft: Option<DraftId>,
    pub run: Option<RunId>,
    pub detail: String,
}

/// Which audit events to list. Every field narrows; none means everything (newest `limit`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AuditFilter {
    pub source: Option<String>,
    pub session: Option<SessionId>,
    pub since_ms: Option<u64>,
    pub until_ms: Option<u64>,
    pub action: Option<String>,
    pub limit: Option<u64>,
}

/// A chat session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ChatSession {
    pub id: SessionId,
    pub title: String,
    pub created_at_ms: u64,
}

/// One message of a chat session. Messages are immutable and ordered by `seq`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ChatMessage {
    pub session: SessionId,
    pub seq: u64,
    /// `user` or `assistant`.
    pub role: String,
    pub content: String,
    pub draft: Option<DraftId>,
    pub created_at_ms: u64,
}

/// Who is acting. An owner may do everything; a viewer may ask, approve and run, but not change sources,
/// settings or the lock, nor open diagnostics or the audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Viewer => "viewer",
        }
    }
}

/// The profile lock's state as a front end sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AccessState {
    pub locked: bool,
    /// The role in force while unlocked.
    pub role: Role,
    /// Whether an owner passphrase is set (without one the profile never locks).
    pub owner_lock: bool,
    /// Whether a viewer PIN is set.
    pub viewer_lock: bool,
}
