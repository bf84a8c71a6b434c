//! The broker's settings, with defaults a desktop user would pick and environment overrides.
//!
//! Persistent, user-editable settings arrive with the app state; until then every knob can be set through a
//! `POLYSTOREIQ_*` variable when the broker starts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use polystoreiq_protocol::worker::{DuckLimits, SessionLimits};

#[derive(Clone, Debug)]
pub struct BrokerConfig {
    /// The profile directory.
    pub home: PathBuf,
    /// The worker binary.
    pub worker_bin: PathBuf,
    /// Workers running at once.
    pub max_workers: usize,
    /// Runs allowed to wait for a worker; beyond it, requests are refused as busy.
    pub queue_bound: usize,
    /// A query's worker is killed after this long.
    pub run_deadline: Duration,
    /// A draft's dry run (prepare or explain) gives up after this long and calls itself inconclusive.
    pub check_deadline: Duration,
    /// An import's worker is killed after this long.
    pub import_deadline: Duration,
    /// Rows kept per run.
    pub row_limit: u64,
    /// Rows per batch frame from a worker.
    pub batch_rows: u32,
    /// Rows in the first page returned with a finished run.
    pub first_page_rows: u64,
    pub duck: DuckLimits,
    /// The worker's address-space limit, in MiB (RLIMIT_AS); DuckDB's own memory limit sits below it.
    pub worker_address_space_mb: u64,
    /// How long an approval token stays valid.
    pub token_ttl: Duration,
    /// Keep one worker started ahead of time, so runs skip the worker's start-up.
    pub warm_worker: bool,
    /// Audit events older than this are pruned at start and daily.
    pub audit_retention: Duration,
    /// How old a database source's schema snapshot may grow before a schema request reads it again.
    pub schema_ttl: Duration,
    /// Attempts at connecting to a database server (the first included) when it cannot be reached.
    pub connect_attempts: u32,
    /// The wait before the first retry; it doubles for each further one, up to `connect_backoff_max`.
    pub connect_backoff: Duration,
    pub connect_backoff_max: Duration,
    /// Connection failures in a row (each after its retries) that open a source's circuit breaker.
    pub breaker_threshold: u32,
    /// How long an open circuit breaker refuses executions before it lets a trial through.
    pub breaker_cooldown: Duration,
    /// Run workers even when this machine cannot enforce every sandbox rule (`POLYSTOREIQ_SANDBOX_DEGRADED=1`);
    /// off by default: a worker refuses to run in a sandbox weaker than its policy.
    pub allow_degraded_sandbox: bool,
    /// Temporary file space one query may fill, in MiB: PostgreSQL's `temp_file_limit` (where the role may set
    /// it), DuckDB's `max_temp_directory_size`.
    pub temp_space_mb: u64,
    /// Memory one sort or hash may use before it spills, in MiB: PostgreSQL's `work_mem`.
    pub work_mem_mb: u64,
}

impl BrokerConfig {
    /// What a worker pins in its session or DuckDB connection.
    pub fn session_limits(&self) -> SessionLimits {
        SessionLimits { temp_space_mb: self.temp_space_mb, work_mem_mb: self.work_mem_mb }
    }

    /// Defaults for `home`, then any `POLYSTOREIQ_*` overrides from the environment.
    pub fn from_env(home: &Path, worker_bin: PathBuf) -> BrokerConfig {
        let cpus = std::thread::available_parallelism().map_or(2, usize::from);
        let duck_memory_mb = env_u64("POLYSTOREIQ_DUCKDB_MEMORY_MB", 1024);
        BrokerConfig {
            home: home.to_path_buf(),
            worker_bin,
            max_workers: env_u64("POLYSTOREIQ_MAX_WORKERS", cpus as u64).max(1) as usize,
            queue_bound: env_u64("POLYSTOREIQ_QUEUE_BOUND", 32) as usize,
            run_deadline: Duration::from_millis(env_u64("POLYSTOREIQ_RUN_DEADLINE_MS", 120_000)),
            check_deadline: Duration::from_millis(env_u64("POLYSTOREIQ_CHECK_DEADLINE_MS", 10_000).max(1)),
            import_deadline: Duration::from_millis(env_u64("POLYSTOREIQ_IMPORT_DEADLINE_MS", 600_000)),
            row_limit: env_u64("POLYSTOREIQ_ROW_LIMIT", 10_000).max(1),
            batch_rows: env_u64("POLYSTOREIQ_BATCH_ROWS", 8192).clamp(1, 1 << 20) as u32,
            first_page_rows: 1000,
            duck: DuckLimits {
                memory_limit_mb: duck_memory_mb,
                threads: env_u64("POLYSTOREIQ_DUCKDB_THREADS", cpus as u64).max(1) as u32,
                max_file_bytes: env_u64("POLYSTOREIQ_MAX_FILE_MB", 4096) << 20,
            },
            worker_address_space_mb: env_u64("POLYSTOREIQ_WORKER_MEMORY_MB", duck_memory_mb * 4 + 2048),
            token_ttl: Duration::from_millis(env_u64("POLYSTOREIQ_TOKEN_TTL_MS", 120_000)),
            warm_worker: env_u64("POLYSTOREIQ_WARM_WORKER", 1) != 0,
            audit_retention: Duration::from_secs(env_u64("POLYSTOREIQ_AUDIT_RETENTION_DAYS", 365).max(1) * 86_400),
            schema_ttl: Duration::from_secs(env_u64("POLYSTOREIQ_SCHEMA_TTL_S", 600)),
            connect_attempts: env_u64("POLYSTOREIQ_CONNECT_ATTEMPTS", 3).clamp(1, 10) as u32,
            connect_backoff: Duration::from_millis(env_u64("POLYSTOREIQ_CONNECT_BACKOFF_MS", 100)),
            connect_backoff_max: Duration::from_millis(env_u64("POLYSTOREIQ_CONNECT_BACKOFF_MAX_MS", 400)),
            breaker_threshold: env_u64("POLYSTOREIQ_BREAKER_FAILURES", 5).clamp(1, 1000) as u32,
            breaker_cooldown: Duration::from_millis(env_u64("POLYSTOREIQ_BREAKER_COOLDOWN_MS", 30_000)),
            allow_degraded_sandbox: env_u64("POLYSTOREIQ_SANDBOX_DEGRADED", 0) != 0,
            temp_space_mb: env_u64("POLYSTOREIQ_TEMP_SPACE_MB", SessionLimits::DEFAULT.temp_space_mb).max(1),
            work_mem_mb: env_u64("POLYSTOREIQ_WORK_MEM_MB", SessionLimits::DEFAULT.work_mem_mb).max(1),
        }
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(value) => value.trim().parse().unwrap_or_else(|_| {
            tracing::warn!("ignoring {name}={value:?}: not a whole number; using {default}");
            default
        }),
        Err(_) => default,
    }
}
