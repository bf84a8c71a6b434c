//! Proptest strategies for every wire type, and [`Message`], one value of any top-level message enum.
//!
//! Every enum strategy names each variant once; `round_trip::every_enum_strategy_covers_every_variant` fails when a
//! variant is appended to the protocol without being added here.

use std::io::Read;

use polystoreiq_protocol::broker::{BrokerMessage, ClientMessage, Reply, Request, RunEvent};
use polystoreiq_protocol::frame::{self, FrameError};
use polystoreiq_protocol::handshake::MAGIC;
use polystoreiq_protocol::secret::{Credential, Secret, UserSecret};
use polystoreiq_protocol::types::{
    AccessState, AuditEvent, AuditFilter, Batch, BreakerState, BreakerStatus, Capabilities, ChartKind,
    ChartRecommendation, ChatMessage, ChatSession, CheckOutcome, ColumnInfo, ColumnValues, DbTarget, DiagReport,
    DraftAttempt, DraftCheck, DraftId, DraftPreview, Engine, ExitInfo, FieldSample, FileKind, FileTable, ForeignKey,
    GenerationStats, GuardVerdict, IndexInfo, Limits, LimitsChange, LlmProvider, LlmSettings, LlmTestReport,
    LogicalType, PoolStats, ResultColumn, ResultPage, Role, RunId, RunSummary, RunTrace, SandboxState, SchemaCache,
    SchemaSnapshot, SessionId, Settings, SourceBreaker, SourceId, SourceInfo, SourceKind, SourceSpec, SourceStatus,
    SourceTestReport, StageStats, TableInfo, TableKind, TableStorage, TlsMode, TraceStage, TypeCount, WorkerHealth,
    WorkerKind, WorkerState,
};
use polystoreiq_protocol::worker::{
    ConnectionReport, DbAction, DbJob, DuckLimits, Fault, FileFact, FileSource, FromWorker, ImportJob, Job, JobDone,
    Probe, QueryJob, ResolvedRelation, ResourceLimits, SandboxPolicy, SandboxReport, ServerSession, SessionLimits,
    ToWorker, WorkerError,
};
use polystoreiq_protocol::{ErrorCode, Hello, Nonce, PeerRole, TypedError, codec};
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use proptest::sample::select;

// ---- primitives -------------------------------------------------------------------------------------------------

/// Values at the varint width boundaries (bincode switches width at 251, 2^16 and 2^32), so every width is hit.
const U64_EDGES: &[u64] =
    &[0, 1, 250, 251, 252, 253, 254, 255, 256, 65_535, 65_536, 4_294_967_295, 4_294_967_296, u64::MAX - 1, u64::MAX];
const U32_EDGES: &[u32] = &[0, 1, 250, 251, 255, 256, 65_535, 65_536, u32::MAX - 1, u32::MAX];
/// Signed integers are zigzag-encoded, so the width boundaries sit at about half the unsigned ones.
const I64_EDGES: &[i64] = &[0, 1, -1, 125, -125, 126, -126, 32_767, -32_768, 32_768, -32_769, i64::MIN, i64::MAX];
const I32_EDGES: &[i32] = &[0, 1, -1, 125, -126, 32_767, -32_769, i32::MIN, i32::MAX];

pub fn u64_wide() -> BoxedStrategy<u64> {
    prop_oneof![select(U64_EDGES), 0..251u64, any::<u64>()].boxed()
}

pub fn u32_wide() -> BoxedStrategy<u32> {
    prop_oneof![select(U32_EDGES), 0..251u32, any::<u32>()].boxed()
}

pub fn i64_wide() -> BoxedStrategy<i64> {
    prop_oneof![select(I64_EDGES), -300..300i64, any::<i64>()].boxed()
}

pub fn i32_wide() -> BoxedStrategy<i32> {
    prop_oneof![select(I32_EDGES), -300..300i32, any::<i32>()].boxed()
}

/// Finite floats only: NaN is not equal to itself, so equality tests cannot carry it (see
/// `round_trip::non_finite_floats_survive_bit_exactly` for NaN and the infinities).
pub fn finite_f64() -> BoxedStrategy<f64> {
    use proptest::num::f64::{NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
    (POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO).boxed()
}

/// Any Unicode scalar values, control characters and NUL included, kept short.
pub fn text() -> BoxedStrategy<String> {
    vec(any::<char>(), 0..12).prop_map(String::from_iter).boxed()
}

/// Short collections keep nested messages small; the codec treats a length of 3 like one of 3000.
fn few<T: std::fmt::Debug + 'static>(element: BoxedStrategy<T>) -> BoxedStrategy<Vec<T>> {
    vec(element, 0..4).boxed()
}

// ---- handshake and errors ---------------------------------------------------------------------------------------

pub fn nonce() -> BoxedStrategy<Nonce> {
    any::<[u8; 16]>().prop_map(Nonce).boxed()
}

pub fn peer_role() -> BoxedStrategy<PeerRole> {
    select(&[PeerRole::Broker, PeerRole::Worker, PeerRole::Client][..]).boxed()
}

/// Mostly well-formed handshakes, some with foreign magic; versions of any size.
pub fn hello() -> BoxedStrategy<Hello> {
    (prop_oneof![3 => Just(MAGIC), 1 => any::<[u8; 4]>()], u32_wide(), peer_role(), nonce())
        .prop_map(|(magic, version, role, nonce)| Hello { magic, version, role, nonce })
        .boxed()
}

pub fn role() -> BoxedStrategy<Role> {
    select(&[Role::Owner, Role::Viewer][..]).boxed()
}

pub fn error_code() -> BoxedStrategy<ErrorCode> {
    use ErrorCode::*;
    select(
        &[
            BadRequest,
            SourceNotFound,
            SourceExists,
            SourceDisabled,
            InvalidFile,
            FileTooLarge,
            QueryRejected,
            QueryFailed,
            DraftNotFound,
            TokenInvalid,
            TokenExpired,
            TokenUsed,
            RunNotFound,
            Cancelled,
            DeadlineExceeded,
            WorkerCrashed,
            WorkerOutOfMemory,
            WorkerProtocol,
            Busy,
            VersionMismatch,
            BrokerUnavailable,
            Internal,
            DraftDeclined,
            Locked,
            Forbidden,
            UnlockFailed,
            Unreachable,
            AuthFailed,
            CircuitOpen,
            TlsFailed,
            ConnectionLost,
            LlmTimeout,
            LlmRateLimited,
            LlmServerError,
            LlmBadAnswer,
            LlmRefused,
            LlmUnauthorized,
            LlmUnreachable,
            LlmRejected,
            ForeignUser,
            SocketPathTooLong,
        ][..],
    )
    .boxed()
}

pub fn typed_error() -> BoxedStrategy<TypedError> {
    (error_code(), text(), of(u64_wide()))
        .prop_map(|(code, message, retry_after_ms)| TypedError { code, message, retry_after_ms })
        .boxed()
}

// ---- shared types -----------------------------------------------------------------------------------------------

fn source_id() -> BoxedStrategy<SourceId> {
    u64_wide().prop_map(SourceId).boxed()
}

fn draft_id() -> BoxedStrategy<DraftId> {
    u64_wide().prop_map(DraftId).boxed()
}

fn run_id() -> BoxedStrategy<RunId> {
    u64_wide().prop_map(RunId).boxed()
}

fn session_id() -> BoxedStrategy<SessionId> {
    u64_wide().prop_map(SessionId).boxed()
}

pub fn source_kind() -> BoxedStrategy<SourceKind> {
    select(&[SourceKind::Files, SourceKind::Postgres, SourceKind::Mysql, SourceKind::Mongodb][..]).boxed()
}

pub fn engine() -> BoxedStrategy<Engine> {
    select(&[Engine::Duckdb, Engine::Postgres, Engine::Mysql, Engine::Mongodb][..]).boxed()
}

pub fn file_kind() -> BoxedStrategy<FileKind> {
    select(&[FileKind::Csv, FileKind::Json, FileKind::Parquet][..]).boxed()
}

pub fn table_storage() -> BoxedStrategy<TableStorage> {
    select(&[TableStorage::InPlace, TableStorage::Ingested][..]).boxed()
}

pub fn source_status() -> BoxedStrategy<SourceStatus> {
    select(&[SourceStatus::Connected, SourceStatus::Failed, SourceStatus::Disabled][..]).boxed()
}

pub fn table_kind() -> BoxedStrategy<TableKind> {
    select(&[TableKind::Table, TableKind::View, TableKind::Collection][..]).boxed()
}

pub fn worker_kind() -> BoxedStrategy<WorkerKind> {
    select(&[WorkerKind::Duckdb, WorkerKind::Postgres, WorkerKind::Mysql, WorkerKind::Mongodb][..]).boxed()
}

pub fn worker_state() -> BoxedStrategy<WorkerState> {
    use WorkerState::*;
    select(&[Starting, Running, Finished, Failed, Cancelled, TimedOut][..]).boxed()
}

pub fn logical_type() -> BoxedStrategy<LogicalType> {
    use LogicalType::*;
    select(
        &[Bool, Int, Float, Decimal, Text, Date, Time, Timestamp, TimestampTz, Interval, Uuid, Json, Bytes, Other][..],
    )
    .boxed()
}

fn file_table() -> BoxedStrategy<FileTable> {
    (text(), file_kind(), table_storage(), few(text()), text())
        .prop_map(|(table, kind, storage, paths, pattern)| FileTable { table, kind, storage, paths, pattern })
        .boxed()
}

pub fn tls_mode() -> BoxedStrategy<TlsMode> {
    select(&[TlsMode::Disable, TlsMode::Prefer, TlsMode::Require, TlsMode::VerifyFull][..]).boxed()
}

fn db_target() -> BoxedStrategy<DbTarget> {
    (text(), any::<u16>(), text(), text(), tls_mode())
        .prop_map(|(host, port, database, user, tls)| DbTarget { host, port, database, user, tls })
        .boxed()
}

pub fn source_spec() -> BoxedStrategy<SourceSpec> {
    prop_oneof![
        few(text()).prop_map(|paths| SourceSpec::Files { paths }),
        (source_kind(), db_target(), of(text())).prop_map(|(kind, target, password)| SourceSpec::Database {
            kind,
            target,
            password: password.map(UserSecret::new)
        }),
    ]
    .boxed()
}

fn capabilities() -> BoxedStrategy<Capabilities> {
    any::<(bool, bool, bool)>()
        .prop_map(|(sql, server_side_cancel, schema_refresh)| Capabilities { sql, server_side_cancel, schema_refresh })
        .boxed()
}

pub fn breaker_state() -> BoxedStrategy<BreakerState> {
    select(&[BreakerState::Closed, BreakerState::Open, BreakerState::HalfOpen][..]).boxed()
}

fn breaker_status() -> BoxedStrategy<BreakerStatus> {
    (breaker_state(), u32_wide(), of(u64_wide()), of(text()))
        .prop_map(|(state, consecutive_failures, retry_at_ms, last_failure)| BreakerStatus {
            state,
            consecutive_failures,
            retry_at_ms,
            last_failure,
        })
        .boxed()
}

fn source_info() -> BoxedStrategy<SourceInfo> {
    (
        (source_id(), text(), source_kind(), source_status(), capabilities(), few(file_table())),
        (of(db_target()), of(any::<bool>()), of(text()), u64_wide(), breaker_status()),
    )
        .prop_map(
            |(
                (id, name, kind, status, capabilities, files),
                (target, can_write, last_error, created_at_ms, breaker),
            )| {
                SourceInfo {
                    id,
                    name,
                    kind,
                    status,
                    capabilities,
                    files,
                    target,
                    can_write,
                    last_error,
                    created_at_ms,
                    breaker,
                }
            },
        )
        .boxed()
}

fn source_test_report() -> BoxedStrategy<SourceTestReport> {
    (text(), any::<bool>(), source_status(), text(), u64_wide())
        .prop_map(|(source, ok, status, message, elapsed_ms)| SourceTestReport {
            source,
            ok,
            status,
            message,
            elapsed_ms,
        })
        .boxed()
}

fn field_sample() -> BoxedStrategy<FieldSample> {
    let type_count = (text(), u32_wide()).prop_map(|(type_name, count)| TypeCount { type_name, count }).boxed();
    (u32_wide(), u32_wide(), few(type_count))
        .prop_map(|(documents, present, types)| FieldSample { documents, present, types })
        .boxed()
}

fn column_info() -> BoxedStrategy<ColumnInfo> {
    (text(), text(), logical_type(), any::<bool>(), of(text()), of(field_sample()))
        .prop_map(|(name, db_type, logical, nullable, comment, sample)| ColumnInfo {
            name,
            db_type,
            logical,
            nullable,
            comment,
            sample,
        })
        .boxed()
}

fn foreign_key() -> BoxedStrategy<ForeignKey> {
    (of(text()), few(text()), text(), few(text()))
        .prop_map(|(name, columns, ref_table, ref_columns)| ForeignKey { name, columns, ref_table, ref_columns })
        .boxed()
}

fn index_info() -> BoxedStrategy<IndexInfo> {
    (text(), few(text()), any::<bool>()).prop_map(|(name, columns, unique)| IndexInfo { name, columns, unique }).boxed()
}

fn table_info() -> BoxedStrategy<TableInfo> {
    (
        (text(), table_kind(), of(u64_wide()), few(column_info())),
        (few(text()), few(foreign_key()), few(index_info()), of(text())),
    )
        .prop_map(|((name, kind, row_count, columns), (primary_key, foreign_keys, indexes, comment))| TableInfo {
            name,
            kind,
            row_count,
            columns,
            primary_key,
            foreign_keys,
            indexes,
            comment,
        })
        .boxed()
}

fn schema_cache() -> BoxedStrategy<SchemaCache> {
    (any::<bool>(), u64_wide(), of(u64_wide()))
        .prop_map(|(cached, age_ms, ttl_ms)| SchemaCache { cached, age_ms, ttl_ms })
        .boxed()
}

pub fn schema_snapshot() -> BoxedStrategy<SchemaSnapshot> {
    (few(table_info()), u64_wide(), of(schema_cache()))
        .prop_map(|(tables, fetched_at_ms, cache)| SchemaSnapshot { tables, fetched_at_ms, cache })
        .boxed()
}

fn result_column() -> BoxedStrategy<ResultColumn> {
    (text(), text(), logical_type())
        .prop_map(|(name, db_type, logical)| ResultColumn { name, db_type, logical })
        .boxed()
}

/// A column of up to 8 values, NULLs included.
fn cells<T: std::fmt::Debug + 'static>(value: BoxedStrategy<T>) -> BoxedStrategy<Vec<Option<T>>> {
    vec(of(value), 0..8).boxed()
}

pub fn column_values() -> BoxedStrategy<ColumnValues> {
    prop_oneof![
        cells(any::<bool>().boxed()).prop_map(ColumnValues::Bool),
        cells(i64_wide()).prop_map(|v| ColumnValues::Int(v.into_iter().collect())),
        cells(finite_f64()).prop_map(|v| ColumnValues::Float(v.into_iter().collect())),
        cells(text()).prop_map(|v| ColumnValues::Text(v.iter().map(Option::as_deref).collect())),
        cells(i32_wide()).prop_map(|v| ColumnValues::Date(v.into_iter().collect())),
        cells(i64_wide()).prop_map(|v| ColumnValues::Timestamp(v.into_iter().collect())),
        cells(vec(any::<u8>(), 0..8).boxed()).prop_map(ColumnValues::Bytes),
    ]
    .boxed()
}

pub fn batch() -> BoxedStrategy<Batch> {
    few(column_values()).prop_map(|columns| Batch { columns }).boxed()
}

fn result_page() -> BoxedStrategy<ResultPage> {
    (run_id(), few(result_column()), u64_wide(), batch(), u64_wide(), any::<bool>())
        .prop_map(|(run, columns, offset, rows, total_rows, truncated)| ResultPage {
            run,
            columns,
            offset,
            rows,
            total_rows,
            truncated,
        })
        .boxed()
}

fn guard_verdict() -> BoxedStrategy<GuardVerdict> {
    (any::<bool>(), text(), text()).prop_map(|(allowed, code, reason)| GuardVerdict { allowed, code, reason }).boxed()
}

fn draft_preview() -> BoxedStrategy<DraftPreview> {
    let head = (draft_id(), text(), engine(), of(text()), text(), text(), text(), guard_verdict());
    let tail = (of(text()), u64_wide(), vec(draft_attempt(), 0..3), of(draft_check()));
    (head, tail)
        .prop_map(
            |(
                (draft, source, engine, question, query, provider, explanation, verdict),
                (token, token_expires_in_ms, attempts, check),
            )| DraftPreview {
                draft,
                source,
                engine,
                question,
                query,
                provider,
                explanation,
                verdict,
                token,
                token_expires_in_ms,
                attempts,
                check,
            },
        )
        .boxed()
}

fn draft_attempt() -> BoxedStrategy<DraftAttempt> {
    (text(), text(), typed_error()).prop_map(|(query, provider, error)| DraftAttempt { query, provider, error }).boxed()
}

pub fn check_outcome() -> BoxedStrategy<CheckOutcome> {
    prop_oneof![Just(CheckOutcome::Passed), Just(CheckOutcome::Failed), Just(CheckOutcome::Inconclusive)].boxed()
}

fn draft_check() -> BoxedStrategy<DraftCheck> {
    (check_outcome(), u64_wide(), text())
        .prop_map(|(outcome, elapsed_ms, message)| DraftCheck { outcome, elapsed_ms, message })
        .boxed()
}

fn run_summary() -> BoxedStrategy<RunSummary> {
    (run_id(), draft_id(), text(), u64_wide(), any::<bool>(), u64_wide(), result_page(), chart_recommendation())
        .prop_map(|(run, draft, source, rows, truncated, elapsed_ms, first_page, chart)| RunSummary {
            run,
            draft,
            source,
            rows,
            truncated,
            elapsed_ms,
            first_page,
            chart,
        })
        .boxed()
}

pub fn chart_kind() -> BoxedStrategy<ChartKind> {
    prop_oneof![
        Just(ChartKind::Table),
        Just(ChartKind::Line),
        Just(ChartKind::Bar),
        Just(ChartKind::Pie),
        Just(ChartKind::Scatter),
    ]
    .boxed()
}

fn chart_recommendation() -> BoxedStrategy<ChartRecommendation> {
    (chart_kind(), of(text()), few(text()), text(), few(chart_kind()))
        .prop_map(|(kind, x, y, reason, alternatives)| ChartRecommendation { kind, x, y, reason, alternatives })
        .boxed()
}

fn exit_info() -> BoxedStrategy<ExitInfo> {
    (of(i32_wide()), of(i32_wide()), of(text()))
        .prop_map(|(code, signal, signal_name)| ExitInfo { code, signal, signal_name })
        .boxed()
}

fn worker_health() -> BoxedStrategy<WorkerHealth> {
    (
        u32_wide(),
        worker_kind(),
        text(),
        of(run_id()),
        worker_state(),
        u64_wide(),
        u64_wide(),
        u64_wide(),
        of(exit_info()),
        of(error_code()),
    )
        .prop_map(|(pid, kind, source, run, state, started_at_ms, duration_ms, peak_rss_kb, exit, error)| {
            WorkerHealth { pid, kind, source, run, state, started_at_ms, duration_ms, peak_rss_kb, exit, error }
        })
        .boxed()
}

fn pool_stats() -> BoxedStrategy<PoolStats> {
    (u32_wide(), u32_wide(), u32_wide(), u32_wide())
        .prop_map(|(running, queued, max_workers, queue_bound)| PoolStats { running, queued, max_workers, queue_bound })
        .boxed()
}

fn stage_stats() -> BoxedStrategy<StageStats> {
    (text(), u64_wide(), u64_wide(), u64_wide())
        .prop_map(|(stage, count, p50_us, p95_us)| StageStats { stage, count, p50_us, p95_us })
        .boxed()
}

fn source_breaker() -> BoxedStrategy<SourceBreaker> {
    (text(), breaker_status()).prop_map(|(source, breaker)| SourceBreaker { source, breaker }).boxed()
}

fn generation_stats() -> BoxedStrategy<GenerationStats> {
    ((text(), text(), u64_wide(), u64_wide()), (u64_wide(), u64_wide(), u64_wide(), u64_wide(), u64_wide()))
        .prop_map(|((provider, model, count, fallbacks), (tokens_in, tokens_out, attempts, p50_us, p95_us))| {
            GenerationStats { provider, model, count, fallbacks, tokens_in, tokens_out, attempts, p50_us, p95_us }
        })
        .boxed()
}

fn diag_report() -> BoxedStrategy<DiagReport> {
    (
        few(worker_health()),
        pool_stats(),
        few(stage_stats()),
        u64_wide(),
        few(source_breaker()),
        few(sandbox_state()),
        few(generation_stats()),
    )
        .prop_map(|(workers, pool, stages, window_ms, breakers, sandbox, generations)| DiagReport {
            workers,
            pool,
            stages,
            window_ms,
            breakers,
            sandbox,
            generations,
        })
        .boxed()
}

pub fn llm_provider() -> BoxedStrategy<LlmProvider> {
    select(&[LlmProvider::Offline, LlmProvider::Openai, LlmProvider::Anthropic, LlmProvider::Ollama][..]).boxed()
}

fn limits() -> BoxedStrategy<Limits> {
    (u64_wide(), u64_wide(), u64_wide(), u32_wide(), u32_wide(), u64_wide(), u64_wide())
        .prop_map(
            |(
                row_limit,
                run_timeout_ms,
                check_timeout_ms,
                max_workers,
                audit_retention_days,
                temp_space_mb,
                work_mem_mb,
            )| Limits {
                row_limit,
                run_timeout_ms,
                check_timeout_ms,
                max_workers,
                audit_retention_days,
                temp_space_mb,
                work_mem_mb,
            },
        )
        .boxed()
}

/// Any set of limits, each one left out or not (a bit of `keep` per field).
fn limits_change() -> BoxedStrategy<LimitsChange> {
    (limits(), any::<u8>())
        .prop_map(|(l, keep)| {
            let kept = |bit: u8| keep & (1 << bit) != 0;
            LimitsChange {
                row_limit: kept(0).then_some(l.row_limit),
                run_timeout_ms: kept(1).then_some(l.run_timeout_ms),
                check_timeout_ms: kept(2).then_some(l.check_timeout_ms),
                max_workers: kept(3).then_some(l.max_workers),
                audit_retention_days: kept(4).then_some(l.audit_retention_days),
                temp_space_mb: kept(5).then_some(l.temp_space_mb),
                work_mem_mb: kept(6).then_some(l.work_mem_mb),
            }
        })
        .boxed()
}

fn settings() -> BoxedStrategy<Settings> {
    (llm_provider(), text(), text(), any::<bool>(), limits(), few(text()))
        .prop_map(|(provider, model, endpoint, api_key_set, limits, env_fixed)| Settings {
            llm: LlmSettings { provider, model, endpoint, api_key_set },
            limits,
            env_fixed,
        })
        .boxed()
}

fn llm_test_report() -> BoxedStrategy<LlmTestReport> {
    (llm_provider(), text(), text(), u64_wide(), text())
        .prop_map(|(provider, model, endpoint, elapsed_ms, message)| LlmTestReport {
            provider,
            model,
            endpoint,
            elapsed_ms,
            message,
        })
        .boxed()
}

fn audit_event() -> BoxedStrategy<AuditEvent> {
    (u64_wide(), u64_wide(), text(), text(), text(), of(text()), of(session_id()), of(draft_id()), of(run_id()), text())
        .prop_map(|(id, at_ms, actor, profile, action, source, session, draft, run, detail)| AuditEvent {
            id,
            at_ms,
            actor,
            profile,
            action,
            source,
            session,
            draft,
            run,
            detail,
        })
        .boxed()
}

fn audit_filter() -> BoxedStrategy<AuditFilter> {
    (of(text()), of(session_id()), of(u64_wide()), of(u64_wide()), of(text()), of(u64_wide()))
        .prop_map(|(source, session, since_ms, until_ms, action, limit)| AuditFilter {
            source,
            session,
            since_ms,
            until_ms,
            action,
            limit,
        })
        .boxed()
}

fn chat_session() -> BoxedStrategy<ChatSession> {
    (session_id(), text(), u64_wide())
        .prop_map(|(id, title, created_at_ms)| ChatSession { id, title, created_at_ms })
        .boxed()
}

fn chat_message() -> BoxedStrategy<ChatMessage> {
    (session_id(), u64_wide(), text(), text(), of(draft_id()), u64_wide())
        .prop_map(|(session, seq, role, content, draft, created_at_ms)| ChatMessage {
            session,
            seq,
            role,
            content,
            draft,
            created_at_ms,
        })
        .boxed()
}

// ---- broker <-> front end ---------------------------------------------------------------------------------------

pub fn request() -> BoxedStrategy<Request> {
    prop_oneof![
        (text(), source_spec()).prop_map(|(name, spec)| Request::SourceAdd { name, spec }),
        Just(Request::SourceList),
        text().prop_map(|name| Request::SourceTest { name }),
        (text(), any::<bool>()).prop_map(|(name, enabled)| Request::SourceSetEnabled { name, enabled }),
        text().prop_map(|name| Request::SourceRemove { name }),
        (text(), any::<bool>()).prop_map(|(name, refresh)| Request::Schema { name, refresh }),
        (text(), text(), of(session_id())).prop_map(|(source, question, session)| Request::Ask {
            source,
            question,
            session
        }),
        (text(), text()).prop_map(|(source, query)| Request::Draft { source, query }),
        text().prop_map(|token| Request::Run { token }),
        draft_id().prop_map(|draft| Request::Deny { draft }),
        run_id().prop_map(|run| Request::Cancel { run }),
        (run_id(), u64_wide(), u64_wide()).prop_map(|(run, offset, limit)| Request::Result { run, offset, limit }),
        Just(Request::Diag),
        Just(Request::Shutdown),
        (text(), fault()).prop_map(|(source, fault)| Request::Fault { source, fault }),
        audit_filter().prop_map(|filter| Request::Audit { filter }),
        text().prop_map(|title| Request::SessionCreate { title }),
        Just(Request::Sessions),
        session_id().prop_map(|session| Request::Messages { session }),
        text().prop_map(|s| Request::Unlock { secret: UserSecret::new(s) }),
        Just(Request::Lock),
        (role(), of(text())).prop_map(|(role, s)| Request::SetLock { role, secret: s.map(UserSecret::new) }),
        Just(Request::Access),
        (run_id(), u64_wide()).prop_map(|(run, micros)| Request::RenderTime { run, micros }),
        (engine(), text()).prop_map(|(engine, query)| Request::Guard { engine, query }),
        Just(Request::Settings),
        (llm_provider(), of(text()), of(text()), of(text()), any::<bool>()).prop_map(
            |(provider, model, endpoint, key, clear_api_key)| Request::SetLlm {
                provider,
                model,
                endpoint,
                api_key: key.map(UserSecret::new),
                clear_api_key,
            }
        ),
        Just(Request::LlmTest),
        limits_change().prop_map(Request::SetLimits),
        run_id().prop_map(|run| Request::RunTrace { run }),
        (text(), of(few(text()))).prop_map(|(source, functions)| Request::SourceFunctions { source, functions }),
    ]
    .boxed()
}

pub fn reply() -> BoxedStrategy<Reply> {
    prop_oneof![
        source_info().prop_map(Reply::Source),
        few(source_info()).prop_map(Reply::Sources),
        source_test_report().prop_map(Reply::SourceTest),
        text().prop_map(|name| Reply::Removed { name }),
        schema_snapshot().prop_map(Reply::Schema),
        draft_preview().prop_map(|p| Reply::Draft(Box::new(p))),
        draft_id().prop_map(|draft| Reply::Denied { draft }),
        run_summary().prop_map(Reply::RunDone),
        run_id().prop_map(|run| Reply::CancelRequested { run }),
        result_page().prop_map(Reply::Page),
        diag_report().prop_map(Reply::Diag),
        Just(Reply::ShuttingDown),
        Just(Reply::FaultSurvived),
        few(audit_event()).prop_map(Reply::Audit),
        chat_session().prop_map(Reply::Session),
        few(chat_session()).prop_map(Reply::Sessions),
        few(chat_message()).prop_map(Reply::Messages),
        (any::<bool>(), role(), any::<bool>(), any::<bool>()).prop_map(|(locked, role, owner_lock, viewer_lock)| {
            Reply::Access(AccessState { locked, role, owner_lock, viewer_lock })
        }),
        Just(Reply::Recorded),
        guard_verdict().prop_map(Reply::Verdict),
        settings().prop_map(Reply::Settings),
        llm_test_report().prop_map(Reply::LlmTest),
        (run_id(), text(), few((text(), u64_wide(), u64_wide()).boxed())).prop_map(|(run, trace_id, stages)| {
            let stages = stages.into_iter().map(|(stage, at_ms, duration_us)| TraceStage { stage, at_ms, duration_us });
            Reply::Trace(RunTrace { run, trace_id, stages: stages.collect() })
        }),
        (text(), few(text())).prop_map(|(source, functions)| Reply::SourceFunctions { source, functions }),
    ]
    .boxed()
}

pub fn run_event() -> BoxedStrategy<RunEvent> {
    prop_oneof![
        (run_id(), u32_wide()).prop_map(|(run, pid)| RunEvent::Started { run, pid }),
        (run_id(), u64_wide(), u64_wide()).prop_map(|(run, rows, elapsed_ms)| RunEvent::Progress {
            run,
            rows,
            elapsed_ms
        }),
        (run_id(), u32_wide()).prop_map(|(run, position)| RunEvent::Queued { run, position }),
    ]
    .boxed()
}

pub fn reply_result() -> BoxedStrategy<Result<Reply, TypedError>> {
    prop_oneof![reply().prop_map(Ok), typed_error().prop_map(Err)].boxed()
}

pub fn client_message() -> BoxedStrategy<ClientMessage> {
    prop_oneof![hello().prop_map(ClientMessage::Hello), request().prop_map(ClientMessage::Request)].boxed()
}

pub fn broker_message() -> BoxedStrategy<BrokerMessage> {
    prop_oneof![
        hello().prop_map(BrokerMessage::Hello),
        reply_result().prop_map(BrokerMessage::Reply),
        run_event().prop_map(BrokerMessage::Event),
    ]
    .boxed()
}

// ---- broker <-> worker ------------------------------------------------------------------------------------------

fn file_source() -> BoxedStrategy<FileSource> {
    (few(file_table()), of(text())).prop_map(|(tables, database)| FileSource { tables, database }).boxed()
}

fn duck_limits() -> BoxedStrategy<DuckLimits> {
    (u64_wide(), u32_wide(), u64_wide())
        .prop_map(|(memory_limit_mb, threads, max_file_bytes)| DuckLimits { memory_limit_mb, threads, max_file_bytes })
        .boxed()
}

pub fn fault() -> BoxedStrategy<Fault> {
    prop_oneof![
        Just(Fault::Panic),
        Just(Fault::Abort),
        Just(Fault::Segfault),
        Just(Fault::ExhaustMemory),
        Just(Fault::GarbageOnStdout),
        i32_wide().prop_map(Fault::Exit),
        u64_wide().prop_map(|ms| Fault::Sleep { ms }),
        probe().prop_map(Fault::Probe),
    ]
    .boxed()
}

pub fn probe() -> BoxedStrategy<Probe> {
    prop_oneof![
        text().prop_map(|path| Probe::ReadFile { path }),
        text().prop_map(|path| Probe::DuckDbReadCsv { path }),
        text().prop_map(|path| Probe::WriteFile { path }),
        (text(), any::<u16>()).prop_map(|(host, port)| Probe::Connect { host, port }),
        (text(), any::<u16>()).prop_map(|(host, port)| Probe::UdpSend { host, port }),
        Just(Probe::Spawn),
        Just(Probe::ForkBomb),
        u64_wide().prop_map(|mb| Probe::Allocate { mb }),
        Just(Probe::Environment),
        u32_wide().prop_map(|pid| Probe::Ptrace { pid }),
        u32_wide().prop_map(|pid| Probe::Signal { pid }),
        u64_wide().prop_map(|seconds| Probe::Spin { seconds }),
        text().prop_map(|path| Probe::ConnectUnix { path }),
    ]
    .boxed()
}

pub fn sandbox_policy() -> BoxedStrategy<SandboxPolicy> {
    (
        few(text()),
        few(text()),
        (few(any::<u16>().boxed()), any::<bool>()),
        (u64_wide(), u64_wide(), u64_wide()),
        any::<bool>(),
    )
        .prop_map(
            |(
                read_paths,
                write_paths,
                (connect_ports, name_resolution),
                (cpu_seconds, open_files, file_size_bytes),
                allow_degraded,
            )| {
                SandboxPolicy {
                    read_paths,
                    write_paths,
                    connect_ports,
                    name_resolution,
                    limits: ResourceLimits { cpu_seconds, open_files, file_size_bytes },
                    allow_degraded,
                }
            },
        )
        .boxed()
}

fn sandbox_state() -> BoxedStrategy<SandboxState> {
    (worker_kind(), sandbox_report()).prop_map(|(kind, report)| SandboxState { kind, report }).boxed()
}

fn sandbox_report() -> BoxedStrategy<SandboxReport> {
    (few(text()), few(text()), u64_wide())
        .prop_map(|(features, missing, enforce_us)| SandboxReport { features, missing, enforce_us })
        .boxed()
}

pub fn db_action() -> BoxedStrategy<DbAction> {
    prop_oneof![
        Just(DbAction::Test),
        Just(DbAction::Metadata),
        (text(), u64_wide(), u32_wide(), u64_wide()).prop_map(|(sql, row_limit, batch_rows, timeout_ms)| {
            DbAction::Query { sql, row_limit, batch_rows, timeout_ms }
        }),
        server_session().prop_map(|session| DbAction::Cancel { session }),
        (text(), u64_wide()).prop_map(|(sql, timeout_ms)| DbAction::Check { sql, timeout_ms }),
    ]
    .boxed()
}

pub fn server_session() -> BoxedStrategy<ServerSession> {
    prop_oneof![
        i32_wide().prop_map(|backend_pid| ServerSession::Postgres { backend_pid }),
        u64_wide().prop_map(|connection_id| ServerSession::Mysql { connection_id }),
        text().prop_map(|comment| ServerSession::Mongodb { comment }),
    ]
    .boxed()
}

/// A credential as the broker hands it over: any string, wrapped so it prints redacted.
pub fn credential() -> BoxedStrategy<Credential> {
    text().prop_map(|s| Credential(Secret::new(s))).boxed()
}

pub fn db_job() -> BoxedStrategy<DbJob> {
    (source_kind(), db_target(), of(credential()), db_action())
        .prop_map(|(kind, target, password, action)| DbJob { kind, target, password, action })
        .boxed()
}

fn query_job() -> BoxedStrategy<QueryJob> {
    (file_source(), text(), u64_wide(), u32_wide(), duck_limits())
        .prop_map(|(source, sql, row_limit, batch_rows, limits)| QueryJob {
            source,
            sql,
            row_limit,
            batch_rows,
            limits,
        })
        .boxed()
}

pub fn job() -> BoxedStrategy<Job> {
    prop_oneof![
        (file_source(), duck_limits()).prop_map(|(source, limits)| Job::Import(ImportJob { source, limits })),
        query_job().prop_map(Job::Query),
        fault().prop_map(Job::Fault),
        db_job().prop_map(Job::Database),
        query_job().prop_map(Job::Check),
    ]
    .boxed()
}

pub fn worker_error() -> BoxedStrategy<WorkerError> {
    prop_oneof![
        (text(), text()).prop_map(|(path, reason)| WorkerError::InvalidFile { path, reason }),
        (text(), u64_wide(), u64_wide()).prop_map(|(path, size, limit)| WorkerError::FileTooLarge {
            path,
            size,
            limit
        }),
        text().prop_map(WorkerError::Query),
        text().prop_map(WorkerError::Panic),
        text().prop_map(WorkerError::Refused),
        text().prop_map(WorkerError::Internal),
        text().prop_map(WorkerError::Unreachable),
        text().prop_map(WorkerError::AuthFailed),
        text().prop_map(WorkerError::Tls),
        text().prop_map(WorkerError::ConnectionLost),
        (text(), text()).prop_map(|(setting, reason)| WorkerError::SessionPin { setting, reason }),
    ]
    .boxed()
}

fn file_fact() -> BoxedStrategy<FileFact> {
    (text(), text(), u64_wide(), of(i64_wide()), text())
        .prop_map(|(table, path, size, modified_ms, sha256)| FileFact { table, path, size, modified_ms, sha256 })
        .boxed()
}

fn connection_report() -> BoxedStrategy<ConnectionReport> {
    (text(), any::<bool>(), any::<bool>(), u64_wide())
        .prop_map(|(server_version, tls, can_write, elapsed_ms)| ConnectionReport {
            server_version,
            tls,
            can_write,
            elapsed_ms,
        })
        .boxed()
}

pub fn to_worker() -> BoxedStrategy<ToWorker> {
    prop_oneof![
        hello().prop_map(ToWorker::Hello),
        job().prop_map(ToWorker::Job),
        (sandbox_policy(), job()).prop_map(|(policy, job)| ToWorker::Run { policy, job }),
        (of(sandbox_policy()), job(), u64_wide(), u64_wide()).prop_map(|(policy, job, temp_space_mb, work_mem_mb)| {
            ToWorker::Execute { policy, job, limits: SessionLimits { temp_space_mb, work_mem_mb } }
        }),
    ]
    .boxed()
}

pub fn from_worker() -> BoxedStrategy<FromWorker> {
    prop_oneof![
        hello().prop_map(FromWorker::Hello),
        schema_snapshot().prop_map(FromWorker::Schema),
        few(result_column()).prop_map(FromWorker::Columns),
        batch().prop_map(FromWorker::Batch),
        (u64_wide(), any::<bool>(), u64_wide(), of(u64_wide())).prop_map(
            |(rows, truncated, elapsed_us, peak_rss_kb)| FromWorker::Done(JobDone {
                rows,
                truncated,
                elapsed_us,
                peak_rss_kb
            })
        ),
        worker_error().prop_map(FromWorker::Failed),
        few(file_fact()).prop_map(FromWorker::Files),
        connection_report().prop_map(FromWorker::Tested),
        sandbox_report().prop_map(FromWorker::Sandboxed),
        server_session().prop_map(FromWorker::ServerSession),
        few((text(), text(), any::<bool>())
            .prop_map(|(schema, name, table_function)| ResolvedRelation { schema, name, table_function })
            .boxed())
        .prop_map(FromWorker::Resolved),
    ]
    .boxed()
}

// ---- any message ------------------------------------------------------------------------------------------------

/// One value of any of the four top-level message enums, so a property can range over all of them at once.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    Client(ClientMessage),
    Broker(BrokerMessage),
    ToWorker(ToWorker),
    FromWorker(FromWorker),
}

pub fn message() -> BoxedStrategy<Message> {
    prop_oneof![
        client_message().prop_map(Message::Client),
        broker_message().prop_map(Message::Broker),
        to_worker().prop_map(Message::ToWorker),
        from_worker().prop_map(Message::FromWorker),
    ]
    .boxed()
}

impl Message {
    /// The message as one complete frame, header included.
    pub fn frame(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let encoded = match self {
            Message::Client(m) => frame::encode_frame(m, &mut out),
            Message::Broker(m) => frame::encode_frame(m, &mut out),
            Message::ToWorker(m) => frame::encode_frame(m, &mut out),
            Message::FromWorker(m) => frame::encode_frame(m, &mut out),
        };
        encoded.expect("generated messages are far below the frame limit");
        out
    }

    /// The message's payload, without a header.
    pub fn payload(&self) -> Vec<u8> {
        let encoded = match self {
            Message::Client(m) => codec::encode(m),
            Message::Broker(m) => codec::encode(m),
            Message::ToWorker(m) => codec::encode(m),
            Message::FromWorker(m) => codec::encode(m),
        };
        encoded.expect("every message encodes")
    }

    /// Reads one frame from `r` as a message of the same enum as `self`, as the peer on that stream would.
    pub fn read_same_kind(&self, r: &mut impl Read) -> Result<Message, FrameError> {
        Ok(match self {
            Message::Client(_) => Message::Client(frame::read_frame(r)?),
            Message::Broker(_) => Message::Broker(frame::read_frame(r)?),
            Message::ToWorker(_) => Message::ToWorker(frame::read_frame(r)?),
            Message::FromWorker(_) => Message::FromWorker(frame::read_frame(r)?),
        })
    }
}
