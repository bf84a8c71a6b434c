//! What the webview receives for results: rows as JSON cells, a page at a time, never a whole result in one
//! message. The cells read as `psiq --json result` prints them (numbers, strings, booleans, null).

use polystoreiq_client::render;
use polystoreiq_protocol::types::{ChartRecommendation, DraftId, ResultColumn, ResultPage, RunId, RunSummary};
use serde::Serialize;
use serde_json::Value;
use ts_rs::TS;

/// One result cell as `psiq --json result` prints it: a number, string, boolean or null.
// A newtype struct: serde writes the bare value, never an object around it.
#[derive(Debug, Serialize, TS)]
#[ts(type = "string | number | boolean | null")]
pub struct Cell(Value);

/// One page of a run's rows.
#[derive(Debug, Serialize, TS)]
pub struct PageView {
    #[ts(as = "RunId")]
    pub run: u64,
    pub offset: u64,
    pub columns: Vec<ResultColumn>,
    /// Row-major cells, in column order.
    pub rows: Vec<Vec<Cell>>,
    pub total_rows: u64,
    pub truncated: bool,
}

impl From<ResultPage> for PageView {
    fn from(page: ResultPage) -> PageView {
        let rows = (0..page.rows.row_count())
            .map(|row| page.rows.columns.iter().map(|column| Cell(render::json_value(column, row))).collect())
            .collect();
        PageView {
            run: page.run.0,
            offset: page.offset,
            columns: page.columns,
            rows,
            total_rows: page.total_rows,
            truncated: page.truncated,
        }
    }
}

/// A finished run: its summary, its first page and the recommended chart.
#[derive(Debug, Serialize, TS)]
pub struct RunView {
    #[ts(as = "RunId")]
    pub run: u64,
    #[ts(as = "DraftId")]
    pub draft: u64,
    pub source: String,
    pub rows: u64,
    pub truncated: bool,
    pub elapsed_ms: u64,
    pub first_page: PageView,
    pub chart: ChartRecommendation,
}

impl From<RunSummary> for RunView {
    fn from(summary: RunSummary) -> RunView {
        RunView {
            run: summary.run.0,
            draft: summary.draft.0,
            source: summary.source,
            rows: summary.rows,
            truncated: summary.truncated,
            elapsed_ms: summary.elapsed_ms,
            first_page: summary.first_page.into(),
            chart: summary.chart,
        }
    }
}

/// Whether the broker is there, for the first screen and the "broker is down" screen.
#[derive(Debug, Serialize, TS)]
pub struct BrokerStatus {
    pub running: bool,
    pub home: String,
    pub error: Option<String>,
}
