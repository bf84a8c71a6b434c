//! The profile's settings: the model provider, the limits, and the sandbox each kind of worker reported.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::*;

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
