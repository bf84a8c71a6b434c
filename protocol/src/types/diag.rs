//! Diagnostics: workers, the pool, stage timings and the model's generations.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::ErrorCode;

use super::*;

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
