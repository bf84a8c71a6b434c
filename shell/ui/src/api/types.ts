//! The JSON the Tauri shell's commands return: the serde form of the Rust DTOs in protocol/src/types.rs and
//! broker.rs (snake_case fields, ids as plain numbers), plus the shell's own PageView, RunView and BrokerStatus.

export type SourceId = number;
export type DraftId = number;
export type RunId = number;
export type SessionId = number;

export type SourceKind = 'files' | 'postgres' | 'mysql' | 'mongodb';
export type DatabaseKind = Exclude<SourceKind, 'files'>;
export type Engine = 'duckdb' | 'postgres' | 'mysql' | 'mongodb';
export type FileKind = 'csv' | 'json' | 'parquet';
export type TableStorage = 'in_place' | 'ingested';
export type TlsMode = 'disable' | 'prefer' | 'require' | 'verify_full';
export type SourceStatus = 'CONNECTED' | 'FAILED' | 'DISABLED';
export type BreakerState = 'closed' | 'open' | 'half_open';
export type LogicalType =
  | 'bool'
  | 'int'
  | 'float'
  | 'decimal'
  | 'text'
  | 'date'
  | 'time'
  | 'timestamp'
  | 'timestamp_tz'
  | 'interval'
  | 'uuid'
  | 'json'
  | 'bytes'
  | 'other';
export type TableKind = 'table' | 'view' | 'collection';
export type CheckOutcome = 'passed' | 'failed' | 'inconclusive';
export type WorkerKind = 'duckdb' | 'postgres' | 'mysql' | 'mongodb';
export type WorkerState = 'starting' | 'running' | 'finished' | 'failed' | 'cancelled' | 'timed_out';
export type Role = 'owner' | 'viewer';
export type LlmProvider = 'offline' | 'openai' | 'anthropic' | 'ollama';

/** A stable error code (protocol::error::ErrorCode), snake_case. Codes are only appended, so any string may come. */
export type ErrorCode = string;

/** The serde form of protocol::error::TypedError. */
export interface TypedErrorData {
  code: ErrorCode;
  message: string;
  retry_after_ms: number | null;
}

export interface FileTable {
  table: string;
  kind: FileKind;
  storage: TableStorage;
  paths: string[];
  pattern: string;
}

export interface DbTarget {
  host: string;
  port: number;
  database: string;
  user: string;
  tls: TlsMode;
}

export interface Capabilities {
  sql: boolean;
  server_side_cancel: boolean;
  schema_refresh: boolean;
}

export interface BreakerStatus {
  state: BreakerState;
  consecutive_failures: number;
  retry_at_ms: number | null;
  last_failure: string | null;
}

export interface SourceInfo {
  id: SourceId;
  name: string;
  kind: SourceKind;
  status: SourceStatus;
  capabilities: Capabilities;
  files: FileTable[];
  target: DbTarget | null;
  can_write: boolean | null;
  last_error: string | null;
  created_at_ms: number;
  breaker: BreakerStatus;
}

export interface SourceBreaker {
  source: string;
  breaker: BreakerStatus;
}

export interface SourceTestReport {
  source: string;
  ok: boolean;
  status: SourceStatus;
  message: string;
  elapsed_ms: number;
}

export interface TypeCount {
  type_name: string;
  count: number;
}

export interface FieldSample {
  documents: number;
  present: number;
  types: TypeCount[];
}

export interface ColumnInfo {
  name: string;
  db_type: string;
  logical: LogicalType;
  nullable: boolean;
  comment?: string | null;
  sample?: FieldSample | null;
}

export interface ForeignKey {
  name: string | null;
  columns: string[];
  ref_table: string;
  ref_columns: string[];
}

export interface IndexInfo {
  name: string;
  columns: string[];
  unique: boolean;
}

export interface TableInfo {
  name: string;
  kind: TableKind;
  row_count: number | null;
  columns: ColumnInfo[];
  primary_key?: string[];
  foreign_keys?: ForeignKey[];
  indexes?: IndexInfo[];
  comment?: string | null;
}

export interface SchemaCache {
  cached: boolean;
  age_ms: number;
  ttl_ms: number | null;
}

export interface SchemaSnapshot {
  tables: TableInfo[];
  fetched_at_ms: number;
  cache?: SchemaCache | null;
}

export interface ResultColumn {
  name: string;
  db_type: string;
  logical: LogicalType;
}

export interface GuardVerdict {
  allowed: boolean;
  code: string;
  reason: string;
}

export interface DraftAttempt {
  query: string;
  provider: string;
  error: TypedErrorData;
}

export interface DraftCheck {
  outcome: CheckOutcome;
  elapsed_ms: number;
  message: string;
}

export interface DraftPreview {
  draft: DraftId;
  source: string;
  engine: Engine;
  question: string | null;
  query: string;
  provider: string;
  explanation: string;
  verdict: GuardVerdict;
  /** Present only when the verdict allows the query and the dry run found no error in it. */
  token: string | null;
  token_expires_in_ms: number;
  attempts: DraftAttempt[];
  check: DraftCheck | null;
}

export interface ExitInfo {
  code: number | null;
  signal: number | null;
  signal_name: string | null;
}

export interface WorkerHealth {
  pid: number;
  kind: WorkerKind;
  source: string;
  run: RunId | null;
  state: WorkerState;
  started_at_ms: number;
  duration_ms: number;
  peak_rss_kb: number;
  exit: ExitInfo | null;
  error: ErrorCode | null;
}

export interface PoolStats {
  running: number;
  queued: number;
  max_workers: number;
  queue_bound: number;
}

export interface StageStats {
  stage: string;
  count: number;
  p50_us: number;
  p95_us: number;
}

export interface SandboxReport {
  features: string[];
  missing: string[];
  enforce_us: number;
}

export interface SandboxState {
  kind: WorkerKind;
  report: SandboxReport;
}

export interface GenerationStats {
  provider: string;
  model: string;
  count: number;
  fallbacks: number;
  tokens_in: number;
  tokens_out: number;
  attempts: number;
  p50_us: number;
  p95_us: number;
}

export interface DiagReport {
  workers: WorkerHealth[];
  pool: PoolStats;
  stages: StageStats[];
  window_ms: number;
  breakers: SourceBreaker[];
  sandbox: SandboxState[];
  generations: GenerationStats[];
}

export interface LlmSettings {
  provider: LlmProvider;
  model: string;
  endpoint: string;
  api_key_set: boolean;
}

export interface Settings {
  llm: LlmSettings;
}

export interface AuditEvent {
  id: number;
  at_ms: number;
  actor: string;
  profile: string;
  action: string;
  source: string | null;
  session: SessionId | null;
  draft: DraftId | null;
  run: RunId | null;
  detail: string;
}

/** Which audit events to list. Every field narrows; null means no narrowing. */
export interface AuditFilter {
  source: string | null;
  session: SessionId | null;
  since_ms: number | null;
  until_ms: number | null;
  action: string | null;
  limit: number | null;
}

export interface ChatSession {
  id: SessionId;
  title: string;
  created_at_ms: number;
}

export interface ChatMessage {
  session: SessionId;
  seq: number;
  /** `user` or `assistant`. */
  role: string;
  content: string;
  draft: DraftId | null;
  created_at_ms: number;
}

export interface AccessState {
  locked: boolean;
  role: Role;
  owner_lock: boolean;
  viewer_lock: boolean;
}

/** protocol::broker::RunEvent: serde's default, externally tagged enum. */
export type RunEvent =
  | { Started: { run: RunId; pid: number } }
  | { Progress: { run: RunId; rows: number; elapsed_ms: number } }
  | { Queued: { run: RunId; position: number } };

// ---- The shell's own DTOs (shell/app/src/view.rs) ----

/** One result cell as `psiq --json result` prints it. */
export type Cell = string | number | boolean | null;

export interface PageView {
  run: RunId;
  offset: number;
  columns: ResultColumn[];
  rows: Cell[][];
  total_rows: number;
  truncated: boolean;
}

export type ChartKind = 'table' | 'line' | 'bar' | 'pie' | 'scatter';
export const CHART_KINDS: readonly ChartKind[] = ['table', 'line', 'bar', 'pie', 'scatter'];

export interface ChartRecommendation {
  kind: ChartKind;
  x: string | null;
  y: string[];
  reason: string;
  alternatives: ChartKind[];
}

export interface RunView {
  run: RunId;
  draft: DraftId;
  source: string;
  rows: number;
  truncated: boolean;
  elapsed_ms: number;
  first_page: PageView;
  chart: ChartRecommendation;
}

export interface BrokerStatus {
  running: boolean;
  home: string;
  error: string | null;
}

/** What `source_add_database` takes. */
export interface DatabaseSourceArgs {
  name: string;
  kind: DatabaseKind;
  host: string;
  port: number;
  database: string;
  user: string;
  password: string | null;
  tls: TlsMode;
}
