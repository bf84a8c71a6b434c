//! Finished runs' rows: a small in-memory cache in front of the copies kept in the app state.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use polystoreiq_protocol::types::{Batch, ColumnValues, ResultColumn, ResultPage, RunId};

/// Runs whose rows stay in memory for fast paging.
const CACHED_RUNS: usize = 16;

/// The rows of one finished run.
#[derive(Debug)]
pub struct RunRows {
    pub columns: Vec<ResultColumn>,
    pub batches: Vec<Batch>,
    pub rows: u64,
    pub truncated: bool,
}

impl RunRows {
    /// Rows `[offset, offset + limit)` as one page.
    pub fn page(&self, run: RunId, offset: u64, limit: u64) -> ResultPage {
        ResultPage {
            run,
            columns: self.columns.clone(),
            offset,
            rows: slice_rows(&self.columns, &self.batches, offset, limit),
            total_rows: self.rows,
            truncated: self.truncated,
        }
    }

    /// Rebuilds a run's rows from its stored page.
    pub fn from_page(page: ResultPage) -> RunRows {
        RunRows { columns: page.columns, rows: page.total_rows, truncated: page.truncated, batches: vec![page.rows] }
    }
}

#[derive(Default)]
pub struct ResultCache {
    runs: Mutex<BTreeMap<RunId, Arc<RunRows>>>,
}

impl ResultCache {
    pub fn insert(&self, run: RunId, rows: Arc<RunRows>) {
        let mut runs = self.runs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        runs.insert(run, rows);
        while runs.len() > CACHED_RUNS {
            runs.pop_first();
        }
    }

    pub fn get(&self, run: RunId) -> Option<Arc<RunRows>> {
        self.runs.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&run).cloned()
    }
}

/// Copies rows `[offset, offset + limit)` out of a run's batches into one batch.
fn slice_rows(columns: &[ResultColumn], batches: &[Batch], offset: u64, limit: u64) -> Batch {
    let mut out: Vec<ColumnValues> = batches
        .first()
        .map(|b| b.columns.iter().map(ColumnValues::empty_like).collect())
        .unwrap_or_else(|| columns.iter().map(|_| ColumnValues::Text(Default::default())).collect());
    let (mut skip, mut want) = (offset as usize, limit as usize);
    for batch in batches {
        if want == 0 {
            break;
        }
        let n = batch.row_count();
        if skip >= n {
            skip -= n;
            continue;
        }
        let take = (n - skip).min(want);
        for (target, source) in out.iter_mut().zip(&batch.columns) {
            target.extend_range(source, skip, take);
        }
        want -= take;
        skip = 0;
    }
    Batch { columns: out }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polystoreiq_protocol::types::LogicalType;

    #[test]
    fn pages_cross_batch_boundaries() {
        let batch = |from: i64, to: i64| Batch { columns: vec![ColumnValues::Int((from..to).map(Some).collect())] };
        let rows = RunRows {
            columns: vec![ResultColumn { name: "n".into(), db_type: "BIGINT".into(), logical: LogicalType::Int }],
            batches: vec![batch(0, 3), batch(3, 5), batch(5, 9)],
            rows: 9,
            truncated: false,
        };
        let check = |offset: u64, limit: u64, expected: Vec<i64>| {
            let page = rows.page(RunId(1), offset, limit);
            assert_eq!(page.rows.columns[0], ColumnValues::Int(expected.into_iter().map(Some).collect()));
        };
        check(0, 2, vec![0, 1]);
        check(2, 4, vec![2, 3, 4, 5]);
        check(4, 100, vec![4, 5, 6, 7, 8]);
        check(9, 5, vec![]);
        check(0, 0, vec![]);
    }
}
