//! Strategies for the messages between the broker and a worker: jobs, sandbox policies, probes, faults and
//! everything a worker sends back.

use polystoreiq_protocol::secret::{Credential, Secret};
use polystoreiq_protocol::types::SandboxState;
use polystoreiq_protocol::worker::{
    ConnectionReport, DatabaseFile, DbAction, DbJob, DuckLimits, Fault, FileFact, FileSource, FromWorker, ImportJob,
    Job, JobDone, NetworkTarget, Probe, QueryJob, ResolvedRelation, ResourceLimits, SandboxPolicy, SandboxReport,
    ServerSession, SessionLimits, ToWorker, WorkerError,
};
use proptest::option::of;
use proptest::prelude::*;

use super::{
    batch, db_target, few, file_table, hello, i32_wide, i64_wide, result_column, schema_snapshot, source_kind, text,
    u32_wide, u64_wide, worker_kind,
};

pub fn file_source() -> BoxedStrategy<FileSource> {
    (few(file_table()), of(text())).prop_map(|(tables, database)| FileSource { tables, database }).boxed()
}

pub fn duck_limits() -> BoxedStrategy<DuckLimits> {
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
        text(),
        few(text()),
        of(database_file()),
        of(network_target()),
        (u64_wide(), u64_wide(), u64_wide()),
        any::<bool>(),
    )
        .prop_map(
            |(scratch, source_paths, database, network, (cpu_seconds, open_files, file_size_bytes), allow_degraded)| {
                SandboxPolicy {
                    scratch,
                    source_paths,
                    database,
                    network,
                    limits: ResourceLimits { cpu_seconds, open_files, file_size_bytes },
                    allow_degraded,
                }
            },
        )
        .boxed()
}

pub fn database_file() -> BoxedStrategy<DatabaseFile> {
    (text(), any::<bool>()).prop_map(|(path, import)| DatabaseFile { path, import }).boxed()
}

pub fn network_target() -> BoxedStrategy<NetworkTarget> {
    (text(), any::<u16>(), any::<bool>())
        .prop_map(|(host, port, name_resolution)| NetworkTarget { host, port, name_resolution })
        .boxed()
}

pub fn sandbox_state() -> BoxedStrategy<SandboxState> {
    (worker_kind(), sandbox_report()).prop_map(|(kind, report)| SandboxState { kind, report }).boxed()
}

pub fn sandbox_report() -> BoxedStrategy<SandboxReport> {
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

pub fn query_job() -> BoxedStrategy<QueryJob> {
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

pub fn file_fact() -> BoxedStrategy<FileFact> {
    (text(), text(), u64_wide(), of(i64_wide()), text())
        .prop_map(|(table, path, size, modified_ms, sha256)| FileFact { table, path, size, modified_ms, sha256 })
        .boxed()
}

pub fn connection_report() -> BoxedStrategy<ConnectionReport> {
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
