//! Drafts and runs: the guardrail's verdict, the dry run, the preview, the run's outcome and its chart.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::TypedError;

use super::*;

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
