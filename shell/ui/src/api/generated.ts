// Generated from the Rust types by shell/app/src/bindings.rs (ts-rs). Do not edit: change the Rust type, then run
//   UPDATE_BINDINGS=1 cargo test -p polystoreiq-app bindings
// `cargo test` fails while this file differs from what the Rust types generate.

/**
 * A registered source.
 */
export type SourceId = number;

/**
 * A query draft awaiting approval or denial.
 */
export type DraftId = number;

/**
 * One execution of an approved draft.
 */
export type RunId = number;

/**
 * A chat session.
 */
export type SessionId = number;

/**
 * The kind of a source. Appended only.
 */
export type SourceKind = "files" | "postgres" | "mysql" | "mongodb";

/**
 * The engine a query runs on; decides the SQL dialect (or Mongo's language).
 */
export type Engine = "duckdb" | "postgres" | "mysql" | "mongodb";

/**
 * A data file format DuckDB reads.
 */
export type FileKind = "csv" | "json" | "parquet";

/**
 * Where a file table's rows are read from at query time.
 */
export type TableStorage = "in_place" | "ingested";

/**
 * TLS for a database connection, with libpq's `sslmode` meanings. Appended only.
 */
export type TlsMode = "disable" | "prefer" | "require" | "verify_full";

/**
 * Status of a source.
 */
export type SourceStatus = "CONNECTED" | "FAILED" | "DISABLED";

/**
 * Where a source's circuit breaker is. Appended only.
 */
export type BreakerState = "closed" | "open" | "half_open";

/**
 * The logical type every engine's column type normalizes to. Appended only.
 */
export type LogicalType =
  | "bool"
  | "int"
  | "float"
  | "decimal"
  | "text"
  | "date"
  | "time"
  | "timestamp"
  | "timestamp_tz"
  | "interval"
  | "uuid"
  | "json"
  | "bytes"
  | "other";

export type TableKind = "table" | "view" | "collection";

/**
 * How a dry run ended. Since v4.
 */
export type CheckOutcome = "passed" | "failed" | "inconclusive";

/**
 * What kind of worker a run used.
 */
export type WorkerKind = "duckdb" | "postgres" | "mysql" | "mongodb";

/**
 * Where a worker is in its life.
 */
export type WorkerState = "starting" | "running" | "finished" | "failed" | "cancelled" | "timed_out";

/**
 * Who is acting. An owner may do everything; a viewer may ask, approve and run, but not change sources,
 * settings or the lock, nor open diagnostics or the audit log.
 */
export type Role = "owner" | "viewer";

/**
 * Who drafts queries from questions. Appended only. Since v3.
 */
export type LlmProvider = "offline" | "openai" | "anthropic" | "ollama";

/**
 * A kind of chart, or a plain table when no chart suits the result. Since v4.
 */
export type ChartKind = "table" | "line" | "bar" | "pie" | "scatter";

/**
 * Stable error codes. Their `snake_case` names appear in `--json` output and never change.
 */
export type ErrorCode =
  | "bad_request"
  | "source_not_found"
  | "source_exists"
  | "source_disabled"
  | "invalid_file"
  | "file_too_large"
  | "query_rejected"
  | "query_failed"
  | "draft_not_found"
  | "token_invalid"
  | "token_expired"
  | "token_used"
  | "run_not_found"
  | "cancelled"
  | "deadline_exceeded"
  | "worker_crashed"
  | "worker_out_of_memory"
  | "worker_protocol"
  | "busy"
  | "version_mismatch"
  | "broker_unavailable"
  | "internal"
  | "draft_declined"
  | "locked"
  | "forbidden"
  | "unlock_failed"
  | "unreachable"
  | "auth_failed"
  | "circuit_open"
  | "tls_failed"
  | "connection_lost"
  | "llm_timeout"
  | "llm_rate_limited"
  | "llm_server_error"
  | "llm_bad_answer"
  | "llm_refused"
  | "llm_unauthorized"
  | "llm_unreachable"
  | "llm_rejected"
  | "foreign_user"
  | "socket_path_too_long";

/**
 * An error as a front end sees it: a code to branch on, a message that says what to do, and hints.
 */
export type TypedErrorData = {
  code: ErrorCode;
  message: string;
  /**
   * For [`ErrorCode::Busy`], [`ErrorCode::CircuitOpen`] and [`ErrorCode::LlmRateLimited`]: when to try again.
   */
  retry_after_ms: number | null;
};

/**
 * One table of a file source: a file, or several files matched by one glob, read as one table.
 */
export type FileTable = {
  table: string;
  kind: FileKind;
  storage: TableStorage;
  /**
   * Absolute paths, already expanded from any glob.
   */
  paths: Array<string>;
  /**
   * What the user typed (a path or a glob), kept as provenance.
   */
  pattern: string;
};

/**
 * Where a database source lives. Carries no secret.
 */
export type DbTarget = {
  host: string;
  port: number;
  database: string;
  user: string;
  tls: TlsMode;
};

/**
 * What a source can do; the UI disables what a source cannot.
 */
export type Capabilities = {
  sql: boolean;
  server_side_cancel: boolean;
  schema_refresh: boolean;
};

/**
 * A source's circuit breaker as the front ends see it.
 */
export type BreakerStatus = {
  state: BreakerState;
  /**
   * Connection failures in a row (each after its retries).
   */
  consecutive_failures: number;
  /**
   * When an open breaker lets a trial run through (unix ms).
   */
  retry_at_ms: number | null;
  /**
   * The last connection failure, while the count is above zero.
   */
  last_failure: string | null;
};

/**
 * A source as the front ends see it. Never carries a secret.
 */
export type SourceInfo = {
  id: SourceId;
  name: string;
  kind: SourceKind;
  status: SourceStatus;
  capabilities: Capabilities;
  files: Array<FileTable>;
  /**
   * The server of a database source.
   */
  target: DbTarget | null;
  /**
   * For a database source: whether its role can write (onboarding recommends a read-only role).
   */
  can_write: boolean | null;
  /**
   * The last failure, if the status is FAILED.
   */
  last_error: string | null;
  created_at_ms: number;
  /**
   * The source's circuit breaker (always closed for a files source). Since v3.
   */
  breaker: BreakerStatus;
};

/**
 * One source's breaker, for diagnostics.
 */
export type SourceBreaker = {
  source: string;
  breaker: BreakerStatus;
};

/**
 * The result of testing a source.
 */
export type SourceTestReport = {
  source: string;
  ok: boolean;
  status: SourceStatus;
  message: string;
  elapsed_ms: number;
};

/**
 * How many times one type was seen.
 */
export type TypeCount = {
  type_name: string;
  count: number;
};

/**
 * What sampling documents found about one field.
 */
export type FieldSample = {
  /**
   * Documents sampled from the collection.
   */
  documents: number;
  /**
   * Sampled documents that hold the field (its presence ratio is `present / documents`).
   */
  present: number;
  /**
   * Occurrences per type (`string`, `int`, `null`, ...), most frequent first. A field inside an array of
   * documents can occur more than once in one document.
   */
  types: Array<TypeCount>;
};

/**
 * A column of a table in a schema snapshot.
 */
export type ColumnInfo = {
  name: string;
  /**
   * The engine's own type name (`BIGINT`, `VARCHAR`, `numeric(10,2)`).
   */
  db_type: string;
  logical: LogicalType;
  nullable: boolean;
  /**
   * The column's comment in the database. Since v3.
   */
  comment: string | null;
  /**
   * For a field inferred from sampled documents (MongoDB): how often it occurred, and as which types.
   * Since v3.
   */
  sample: FieldSample | null;
};

/**
 * A foreign key: `columns` of this table reference `ref_columns` of `ref_table`, position by position.
 */
export type ForeignKey = {
  /**
   * The constraint's name, where the engine names it.
   */
  name: string | null;
  columns: Array<string>;
  /**
   * Named as the snapshot names tables (schema-qualified outside PostgreSQL's `public`).
   */
  ref_table: string;
  ref_columns: Array<string>;
};

/**
 * An index of a table or collection.
 */
export type IndexInfo = {
  name: string;
  /**
   * Its keys, in order; a MongoDB key that is not ascending says how (`loc: 2dsphere`, `price: -1`).
   */
  columns: Array<string>;
  unique: boolean;
};

/**
 * A table, view or collection.
 */
export type TableInfo = {
  name: string;
  kind: TableKind;
  /**
   * Exact for files; the server's estimate for databases.
   */
  row_count: number | null;
  columns: Array<ColumnInfo>;
  /**
   * The primary key's columns, in key order; empty when there is none. Since v3.
   */
  primary_key: Array<string>;
  /**
   * Since v3.
   */
  foreign_keys: Array<ForeignKey>;
  /**
   * Indexes other than the primary key's (MongoDB's `_id_` included). Since v3.
   */
  indexes: Array<IndexInfo>;
  /**
   * The table's comment in the database. Since v3.
   */
  comment: string | null;
};

/**
 * The freshness of a schema the broker answered with.
 */
export type SchemaCache = {
  /**
   * True when the answer is the stored snapshot; false when it was read from the source for this request.
   */
  cached: boolean;
  /**
   * The snapshot's age when the broker answered.
   */
  age_ms: number;
  /**
   * How old a database source's snapshot may grow before it is read again (`POLYSTOREIQ_SCHEMA_TTL_S`);
   * `None` for files, whose schema is read again whenever a file changes.
   */
  ttl_ms: number | null;
};

/**
 * The metadata of one source at one moment.
 */
export type SchemaSnapshot = {
  tables: Array<TableInfo>;
  fetched_at_ms: number;
  /**
   * How the broker answered: from its cache or freshly read. Only on the broker's replies. Since v3.
   */
  cache: SchemaCache | null;
};

/**
 * A result column: its name and types.
 */
export type ResultColumn = {
  name: string;
  db_type: string;
  logical: LogicalType;
};

/**
 * The guardrail's verdict on a query, with a stable reason code.
 */
export type GuardVerdict = {
  allowed: boolean;
  code: string;
  reason: string;
};

/**
 * A draft that was set aside for a repaired one. Since v4.
 */
export type DraftAttempt = {
  query: string;
  provider: string;
  /**
   * Why it was set aside: the guardrail's refusal or the dry run's error, as the provider was told.
   */
  error: TypedErrorData;
};

/**
 * A draft's dry run: the server (or DuckDB) prepared or explained the query without running it. Since v4.
 */
export type DraftCheck = {
  outcome: CheckOutcome;
  elapsed_ms: number;
  /**
   * What the server said, or why the dry run could not tell.
   */
  message: string;
};

/**
 * A drafted query awaiting the user's decision. Nothing has run.
 */
export type DraftPreview = {
  draft: DraftId;
  source: string;
  engine: Engine;
  question: string | null;
  query: string;
  /**
   * Who drafted it: a provider name, or `user` for a query the user wrote.
   */
  provider: string;
  explanation: string;
  verdict: GuardVerdict;
  /**
   * Present only when the verdict allows the query and the dry run found no error in it.
   */
  token: string | null;
  token_expires_in_ms: number;
  /**
   * The drafts set aside before this one, oldest first, each with the error that was sent back to the provider
   * for repair; empty when the first draft held. Since v4.
   */
  attempts: Array<DraftAttempt>;
  /**
   * What the dry run found (the server prepared or explained the query; nothing ran); `None` when the guardrail
   * refused the query, so no dry run was tried. Since v4.
   */
  check: DraftCheck | null;
};

/**
 * Progress of a run. Appended only.
 */
export type RunEvent =
  | { "Started": { run: RunId, pid: number, } }
  | { "Progress": { run: RunId, rows: number, elapsed_ms: number, } }
  | { "Queued": { run: RunId, position: number, } };

/**
 * The chart the broker recommends for a result, from its shape alone. Since v4.
 */
export type ChartRecommendation = {
  kind: ChartKind;
  /**
   * The column along the x axis (the time, category or first measure); `None` for a table.
   */
  x: string | null;
  /**
   * The columns plotted as values; empty for a table.
   */
  y: Array<string>;
  /**
   * Why this kind, in a short phrase the user reads.
   */
  reason: string;
  /**
   * Other kinds that also fit the shape, best first; a table always fits, so it is never listed.
   */
  alternatives: Array<ChartKind>;
};

/**
 * How a worker process ended.
 */
export type ExitInfo = {
  code: number | null;
  signal: number | null;
  signal_name: string | null;
};

/**
 * One worker's entry in the health registry.
 */
export type WorkerHealth = {
  pid: number;
  kind: WorkerKind;
  source: string;
  run: RunId | null;
  state: WorkerState;
  started_at_ms: number;
  duration_ms: number;
  /**
   * Peak resident set in KiB: a live worker's `VmHWM` so far; a finished one's own `VmHWM` as it reported it;
   * for a worker that failed, `ru_maxrss` at reaping, which also counts the broker's resident set at fork.
   */
  peak_rss_kb: number;
  exit: ExitInfo | null;
  error: ErrorCode | null;
};

/**
 * The worker pool's occupancy.
 */
export type PoolStats = {
  running: number;
  queued: number;
  max_workers: number;
  queue_bound: number;
};

/**
 * Latency of one pipeline stage over the diagnostics window.
 */
export type StageStats = {
  /**
   * `generate`, `validate`, `execute`, `normalize` or `render`.
   */
  stage: string;
  count: number;
  p50_us: number;
  p95_us: number;
};

/**
 * One timed stage of a run's trace. Since v5.
 */
export type TraceStage = {
  /**
   * `generate`, `validate`, `execute`, `normalize` or `render`.
   */
  stage: string;
  /**
   * When the stage ended.
   */
  at_ms: number;
  duration_us: number;
};

/**
 * Every stage timed under a run's trace id (its execution, normalisation and render; its draft's stages are timed
 * under the draft's), oldest first. Since v5.
 */
export type RunTrace = {
  run: RunId;
  trace_id: string;
  stages: Array<TraceStage>;
};

/**
 * What the worker enforced, reported before the job's first frame. Since v3.
 */
export type SandboxReport = {
  /**
   * The features in force, e.g. `no_new_privs`, `landlock-v6-fs`, `landlock-tcp`, `seccomp`, `rlimits`.
   */
  features: Array<string>;
  /**
   * Rules this kernel could not enforce (empty unless the user allowed a degraded sandbox).
   */
  missing: Array<string>;
  /**
   * How long enforcing took, in microseconds.
   */
  enforce_us: number;
};

/**
 * The sandbox a kind of worker runs in on this machine, as its last worker reported it. Since v3.
 */
export type SandboxState = {
  kind: WorkerKind;
  report: SandboxReport;
};

/**
 * How one model provider (and model) drafted over the diagnostics window. Since v3.
 */
export type GenerationStats = {
  /**
   * The provider configured when the question was asked (`offline`, `openai`, `anthropic`, `ollama`).
   */
  provider: string;
  model: string;
  count: number;
  /**
   * Questions the provider failed, so the offline planner drafted (or declined) instead.
   */
  fallbacks: number;
  tokens_in: number;
  tokens_out: number;
  /**
   * HTTP attempts over all questions (retries after 429 and 5xx included).
   */
  attempts: number;
  /**
   * The provider's latency, retries included.
   */
  p50_us: number;
  p95_us: number;
};

/**
 * The diagnostics view.
 */
export type DiagReport = {
  workers: Array<WorkerHealth>;
  pool: PoolStats;
  /**
   * Per-stage latency over the last `window_ms`.
   */
  stages: Array<StageStats>;
  window_ms: number;
  /**
   * Every source whose circuit breaker is open, half-open, or has counted failures. Since v3.
   */
  breakers: Array<SourceBreaker>;
  /**
   * Per worker kind, the sandbox its last worker put itself in on this machine. Since v3.
   */
  sandbox: Array<SandboxState>;
  /**
   * Per model provider and model, the drafts it was asked for over the window. Since v3.
   */
  generations: Array<GenerationStats>;
};

/**
 * The model provider settings as front ends see them: whether an API key is set, never the key. Since v3.
 */
export type LlmSettings = {
  provider: LlmProvider;
  /**
   * Empty for the offline planner.
   */
  model: string;
  /**
   * The API's base URL; empty for the offline planner.
   */
  endpoint: string;
  /**
   * Whether the OS keyring holds an API key for this provider.
   */
  api_key_set: boolean;
};

/**
 * The limits the owner may change, kept in the profile. Since v5.
 */
export type Limits = {
  /**
   * Rows kept per run; a query is cut to this many and marked truncated.
   */
  row_limit: number;
  /**
   * A run's worker is killed after this long.
   */
  run_timeout_ms: number;
  /**
   * A draft's dry run gives up after this long and calls itself inconclusive.
   */
  check_timeout_ms: number;
  /**
   * Workers running at once. A smaller pool takes effect as running workers finish.
   */
  max_workers: number;
  /**
   * Audit events older than this many days are deleted.
   */
  audit_retention_days: number;
  /**
   * Temporary file space one query may fill, in MiB (PostgreSQL's `temp_file_limit` where the role may set it,
   * DuckDB's `max_temp_directory_size`). Since v6.
   */
  temp_space_mb: number;
  /**
   * Memory one sort or hash may use before it spills, in MiB (PostgreSQL's `work_mem`). Since v6.
   */
  work_mem_mb: number;
};

/**
 * A change of [`Limits`]: each field left out keeps its value. Since v5.
 */
export type LimitsChange = {
  row_limit: number | null;
  run_timeout_ms: number | null;
  check_timeout_ms: number | null;
  max_workers: number | null;
  audit_retention_days: number | null;
  /**
   * Since v6.
   */
  temp_space_mb: number | null;
  /**
   * Since v6.
   */
  work_mem_mb: number | null;
};

/**
 * The profile's settings. Since v3.
 */
export type Settings = {
  llm: LlmSettings;
  /**
   * The limits in force. Since v5.
   */
  limits: Limits;
  /**
   * The limits a `POLYSTOREIQ_*` variable set when the broker started: the variable wins over a stored value
   * until the broker starts without it. Field names of [`Limits`]. Since v5.
   */
  env_fixed: Array<string>;
};

/**
 * A model provider that answered a health check. Since v3.
 */
export type LlmTestReport = {
  provider: LlmProvider;
  model: string;
  endpoint: string;
  elapsed_ms: number;
  /**
   * What the provider said, e.g. whether it lists the model.
   */
  message: string;
};

/**
 * What an audit event records: a closed set, each named in the log, in `--json` and in `psiq audit
 * --action` as `area.what` (`source.add`, `run.cancel`). Appended only.
 */
export type AuditAction =
  | "source.add"
  | "source.add_failed"
  | "source.import"
  | "source.failed"
  | "source.test"
  | "source.enable"
  | "source.disable"
  | "source.remove"
  | "source.functions"
  | "connect.retry"
  | "draft.create"
  | "draft.declined"
  | "draft.repair"
  | "draft.deny"
  | "llm.generate"
  | "token.refused"
  | "run.refused"
  | "run.approve"
  | "run.finish"
  | "run.cancel"
  | "run.fail"
  | "run.cancel_requested"
  | "run.server_cancel"
  | "access.unlock"
  | "access.unlock_failed"
  | "access.lock"
  | "access.set_lock"
  | "settings.limits"
  | "settings.llm"
  | "profile.permissions_fixed";

/**
 * One entry of the append-only audit log.
 */
export type AuditEvent = {
  id: number;
  at_ms: number;
  /**
   * The role that acted (`owner`, `viewer`) or `broker` for its own actions.
   */
  actor: string;
  profile: string;
  /**
   * What happened.
   */
  action: AuditAction;
  source: string | null;
  session: SessionId | null;
  draft: DraftId | null;
  run: RunId | null;
  detail: string;
};

/**
 * Which audit events to list. Every field narrows; none means everything (newest `limit`).
 */
export type AuditFilter = {
  source: string | null;
  session: SessionId | null;
  since_ms: number | null;
  until_ms: number | null;
  action: AuditAction | null;
  limit: number | null;
};

/**
 * A chat session.
 */
export type ChatSession = {
  id: SessionId;
  title: string;
  created_at_ms: number;
};

/**
 * Who wrote a chat message. Since v7.
 */
export type ChatRole = "user" | "assistant";

/**
 * One message of a chat session. Messages are immutable and ordered by `seq`.
 */
export type ChatMessage = {
  session: SessionId;
  seq: number;
  role: ChatRole;
  content: string;
  draft: DraftId | null;
  created_at_ms: number;
};

/**
 * The profile lock's state as a front end sees it.
 */
export type AccessState = {
  locked: boolean;
  /**
   * The role in force while unlocked.
   */
  role: Role;
  /**
   * Whether an owner passphrase is set (without one the profile never locks).
   */
  owner_lock: boolean;
  /**
   * Whether a viewer PIN is set.
   */
  viewer_lock: boolean;
};

/**
 * One result cell as `psiq --json result` prints it: a number, string, boolean or null.
 */
export type Cell = string | number | boolean | null;

/**
 * One page of a run's rows.
 */
export type PageView = {
  run: RunId;
  offset: number;
  columns: Array<ResultColumn>;
  /**
   * Row-major cells, in column order.
   */
  rows: Array<Array<Cell>>;
  total_rows: number;
  truncated: boolean;
};

/**
 * A finished run: its summary, its first page and the recommended chart.
 */
export type RunView = {
  run: RunId;
  draft: DraftId;
  source: string;
  rows: number;
  truncated: boolean;
  elapsed_ms: number;
  first_page: PageView;
  chart: ChartRecommendation;
};

/**
 * Whether the broker is there, for the first screen and the "broker is down" screen.
 */
export type BrokerStatus = {
  running: boolean;
  home: string;
  error: string | null;
};

/**
 * What `source_add_database` takes, named as the page passes its arguments.
 */
export type DatabaseSourceArgs = {
  name: string;
  /**
   * Any kind but `files`.
   */
  kind: Exclude<SourceKind, 'files'>;
  host: string;
  port: number;
  database: string;
  user: string;
  /**
   * Null or empty: none.
   */
  password: string | null;
  tls: TlsMode;
};

/**
 * Every audit action, in the order declared.
 */
export const AUDIT_ACTIONS: readonly AuditAction[] = [
  "source.add",
  "source.add_failed",
  "source.import",
  "source.failed",
  "source.test",
  "source.enable",
  "source.disable",
  "source.remove",
  "source.functions",
  "connect.retry",
  "draft.create",
  "draft.declined",
  "draft.repair",
  "draft.deny",
  "llm.generate",
  "token.refused",
  "run.refused",
  "run.approve",
  "run.finish",
  "run.cancel",
  "run.fail",
  "run.cancel_requested",
  "run.server_cancel",
  "access.unlock",
  "access.unlock_failed",
  "access.lock",
  "access.set_lock",
  "settings.limits",
  "settings.llm",
  "profile.permissions_fixed",
];

/**
 * The commands the page may call (shell/app/src/command_names.rs).
 */
export type Command =
  | "broker_status"
  | "broker_restart"
  | "access"
  | "unlock"
  | "lock"
  | "sources"
  | "source_add_files"
  | "source_add_database"
  | "source_test"
  | "source_set_enabled"
  | "source_remove"
  | "schema"
  | "sessions"
  | "session_create"
  | "session_messages"
  | "session_rename"
  | "ask"
  | "draft"
  | "run"
  | "deny"
  | "cancel"
  | "result_page"
  | "render_time"
  | "diag"
  | "run_trace"
  | "audit"
  | "settings"
  | "set_llm"
  | "llm_test"
  | "set_limits"
  | "set_lock"
  | "export_file";
