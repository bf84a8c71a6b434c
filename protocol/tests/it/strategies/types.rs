//! Strategies for the shared wire types: ids, sources and their status, schemas, results, drafts, runs, charts,
//! diagnostics, settings, the audit log and chat.

use polystoreiq_protocol::secret::UserSecret;
use polystoreiq_protocol::types::{
    AuditAction, AuditEvent, AuditFilter, Batch, BreakerState, BreakerStatus, Capabilities, ChartKind,
    ChartRecommendation, ChatMessage, ChatRole, ChatSession, CheckOutcome, ColumnInfo, ColumnValues, DbTarget,
    DiagReport, DraftAttempt, DraftCheck, DraftId, DraftPreview, Engine, ExitInfo, FieldSample, FileKind, FileTable,
    ForeignKey, GenerationStats, GuardVerdict, IndexInfo, Limits, LimitsChange, LlmProvider, LlmSettings,
    LlmTestReport, LogicalType, PoolStats, ResultColumn, ResultPage, RunId, RunSummary, SchemaCache, SchemaSnapshot,
    SessionId, Settings, SourceBreaker, SourceId, SourceInfo, SourceKind, SourceSpec, SourceStatus, SourceTestReport,
    StageStats, TableInfo, TableKind, TableStorage, TlsMode, TypeCount, WorkerHealth, WorkerKind, WorkerState,
};
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use proptest::sample::select;

use super::{error_code, few, finite_f64, i32_wide, i64_wide, sandbox_state, text, typed_error, u32_wide, u64_wide};

pub fn source_id() -> BoxedStrategy<SourceId> {
    u64_wide().prop_map(SourceId).boxed()
}

pub fn draft_id() -> BoxedStrategy<DraftId> {
    u64_wide().prop_map(DraftId).boxed()
}

pub fn run_id() -> BoxedStrategy<RunId> {
    u64_wide().prop_map(RunId).boxed()
}

pub fn session_id() -> BoxedStrategy<SessionId> {
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

pub fn file_table() -> BoxedStrategy<FileTable> {
    (text(), file_kind(), table_storage(), few(text()), text())
        .prop_map(|(table, kind, storage, paths, pattern)| FileTable { table, kind, storage, paths, pattern })
        .boxed()
}

pub fn tls_mode() -> BoxedStrategy<TlsMode> {
    select(&[TlsMode::Disable, TlsMode::Prefer, TlsMode::Require, TlsMode::VerifyFull][..]).boxed()
}

pub fn db_target() -> BoxedStrategy<DbTarget> {
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

pub fn capabilities() -> BoxedStrategy<Capabilities> {
    any::<(bool, bool, bool)>()
        .prop_map(|(sql, server_side_cancel, schema_refresh)| Capabilities { sql, server_side_cancel, schema_refresh })
        .boxed()
}

pub fn breaker_state() -> BoxedStrategy<BreakerState> {
    select(&[BreakerState::Closed, BreakerState::Open, BreakerState::HalfOpen][..]).boxed()
}

pub fn breaker_status() -> BoxedStrategy<BreakerStatus> {
    (breaker_state(), u32_wide(), of(u64_wide()), of(text()))
        .prop_map(|(state, consecutive_failures, retry_at_ms, last_failure)| BreakerStatus {
            state,
            consecutive_failures,
            retry_at_ms,
            last_failure,
        })
        .boxed()
}

pub fn source_info() -> BoxedStrategy<SourceInfo> {
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

pub fn source_test_report() -> BoxedStrategy<SourceTestReport> {
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

pub fn field_sample() -> BoxedStrategy<FieldSample> {
    let type_count = (text(), u32_wide()).prop_map(|(type_name, count)| TypeCount { type_name, count }).boxed();
    (u32_wide(), u32_wide(), few(type_count))
        .prop_map(|(documents, present, types)| FieldSample { documents, present, types })
        .boxed()
}

pub fn column_info() -> BoxedStrategy<ColumnInfo> {
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

pub fn foreign_key() -> BoxedStrategy<ForeignKey> {
    (of(text()), few(text()), text(), few(text()))
        .prop_map(|(name, columns, ref_table, ref_columns)| ForeignKey { name, columns, ref_table, ref_columns })
        .boxed()
}

pub fn index_info() -> BoxedStrategy<IndexInfo> {
    (text(), few(text()), any::<bool>()).prop_map(|(name, columns, unique)| IndexInfo { name, columns, unique }).boxed()
}

pub fn table_info() -> BoxedStrategy<TableInfo> {
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

pub fn schema_cache() -> BoxedStrategy<SchemaCache> {
    (any::<bool>(), u64_wide(), of(u64_wide()))
        .prop_map(|(cached, age_ms, ttl_ms)| SchemaCache { cached, age_ms, ttl_ms })
        .boxed()
}

pub fn schema_snapshot() -> BoxedStrategy<SchemaSnapshot> {
    (few(table_info()), u64_wide(), of(schema_cache()))
        .prop_map(|(tables, fetched_at_ms, cache)| SchemaSnapshot { tables, fetched_at_ms, cache })
        .boxed()
}

pub fn result_column() -> BoxedStrategy<ResultColumn> {
    (text(), text(), logical_type())
        .prop_map(|(name, db_type, logical)| ResultColumn { name, db_type, logical })
        .boxed()
}

/// A column of up to 8 values, NULLs included.
pub fn cells<T: std::fmt::Debug + 'static>(value: BoxedStrategy<T>) -> BoxedStrategy<Vec<Option<T>>> {
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

pub fn result_page() -> BoxedStrategy<ResultPage> {
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

pub fn guard_verdict() -> BoxedStrategy<GuardVerdict> {
    (any::<bool>(), text(), text()).prop_map(|(allowed, code, reason)| GuardVerdict { allowed, code, reason }).boxed()
}

pub fn draft_preview() -> BoxedStrategy<DraftPreview> {
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

pub fn draft_attempt() -> BoxedStrategy<DraftAttempt> {
    (text(), text(), typed_error()).prop_map(|(query, provider, error)| DraftAttempt { query, provider, error }).boxed()
}

pub fn check_outcome() -> BoxedStrategy<CheckOutcome> {
    prop_oneof![Just(CheckOutcome::Passed), Just(CheckOutcome::Failed), Just(CheckOutcome::Inconclusive)].boxed()
}

pub fn draft_check() -> BoxedStrategy<DraftCheck> {
    (check_outcome(), u64_wide(), text())
        .prop_map(|(outcome, elapsed_ms, message)| DraftCheck { outcome, elapsed_ms, message })
        .boxed()
}

pub fn run_summary() -> BoxedStrategy<RunSummary> {
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

pub fn chart_recommendation() -> BoxedStrategy<ChartRecommendation> {
    (chart_kind(), of(text()), few(text()), text(), few(chart_kind()))
        .prop_map(|(kind, x, y, reason, alternatives)| ChartRecommendation { kind, x, y, reason, alternatives })
        .boxed()
}

pub fn exit_info() -> BoxedStrategy<ExitInfo> {
    (of(i32_wide()), of(i32_wide()), of(text()))
        .prop_map(|(code, signal, signal_name)| ExitInfo { code, signal, signal_name })
        .boxed()
}

pub fn worker_health() -> BoxedStrategy<WorkerHealth> {
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

pub fn pool_stats() -> BoxedStrategy<PoolStats> {
    (u32_wide(), u32_wide(), u32_wide(), u32_wide())
        .prop_map(|(running, queued, max_workers, queue_bound)| PoolStats { running, queued, max_workers, queue_bound })
        .boxed()
}

pub fn stage_stats() -> BoxedStrategy<StageStats> {
    (text(), u64_wide(), u64_wide(), u64_wide())
        .prop_map(|(stage, count, p50_us, p95_us)| StageStats { stage, count, p50_us, p95_us })
        .boxed()
}

pub fn source_breaker() -> BoxedStrategy<SourceBreaker> {
    (text(), breaker_status()).prop_map(|(source, breaker)| SourceBreaker { source, breaker }).boxed()
}

pub fn generation_stats() -> BoxedStrategy<GenerationStats> {
    ((text(), text(), u64_wide(), u64_wide()), (u64_wide(), u64_wide(), u64_wide(), u64_wide(), u64_wide()))
        .prop_map(|((provider, model, count, fallbacks), (tokens_in, tokens_out, attempts, p50_us, p95_us))| {
            GenerationStats { provider, model, count, fallbacks, tokens_in, tokens_out, attempts, p50_us, p95_us }
        })
        .boxed()
}

pub fn diag_report() -> BoxedStrategy<DiagReport> {
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

pub fn limits() -> BoxedStrategy<Limits> {
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
pub fn limits_change() -> BoxedStrategy<LimitsChange> {
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

pub fn settings() -> BoxedStrategy<Settings> {
    (llm_provider(), text(), text(), any::<bool>(), limits(), few(text()))
        .prop_map(|(provider, model, endpoint, api_key_set, limits, env_fixed)| Settings {
            llm: LlmSettings { provider, model, endpoint, api_key_set },
            limits,
            env_fixed,
        })
        .boxed()
}

pub fn llm_test_report() -> BoxedStrategy<LlmTestReport> {
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

pub fn audit_action() -> BoxedStrategy<AuditAction> {
    select(AuditAction::ALL).boxed()
}

pub fn audit_event() -> BoxedStrategy<AuditEvent> {
    (
        u64_wide(),
        u64_wide(),
        text(),
        text(),
        audit_action(),
        of(text()),
        of(session_id()),
        of(draft_id()),
        of(run_id()),
        text(),
    )
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

pub fn audit_filter() -> BoxedStrategy<AuditFilter> {
    (of(text()), of(session_id()), of(u64_wide()), of(u64_wide()), of(audit_action()), of(u64_wide()))
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

pub fn chat_session() -> BoxedStrategy<ChatSession> {
    (session_id(), text(), u64_wide())
        .prop_map(|(id, title, created_at_ms)| ChatSession { id, title, created_at_ms })
        .boxed()
}

pub fn chat_message() -> BoxedStrategy<ChatMessage> {
    let role = prop_oneof![Just(ChatRole::User), Just(ChatRole::Assistant)];
    (session_id(), u64_wide(), role, text(), of(draft_id()), u64_wide())
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
