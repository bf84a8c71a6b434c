//! Rows gathered column by column into batches of a fixed row count, the way every connector sends them.
//!
//! Each batch's buffers are sized from the batch before it: the rows of a long result fill them without
//! regrowing, which saves copying each column through doubling reallocations and touching fresh pages.

use polystoreiq_protocol::types::{Batch, ColumnValues, LogicalType};
use polystoreiq_protocol::worker::{FromWorker, WorkerError};

use crate::Emit;

/// The first batch reserves room for at most this many rows: a one-row result must not reserve a full batch.
const FIRST_RESERVE_ROWS: usize = 1024;

/// The batch being filled.
pub(crate) struct Batcher {
    pending: Vec<ColumnValues>,
    rows: usize,
    batch_rows: usize,
}

impl Batcher {
    /// An empty batch for columns of the `logical` types, sent every `batch_rows` rows (at least one).
    pub(crate) fn new(logical: impl IntoIterator<Item = LogicalType>, batch_rows: usize) -> Batcher {
        let batch_rows = batch_rows.max(1);
        let reserve = batch_rows.min(FIRST_RESERVE_ROWS);
        let pending = logical.into_iter().map(|l| ColumnValues::with_rows(l, reserve)).collect();
        Batcher { pending, rows: 0, batch_rows }
    }

    /// The columns to append the current row's values to, one value each.
    pub(crate) fn columns(&mut self) -> &mut [ColumnValues] {
        &mut self.pending
    }

    /// Rows that still fit in the current batch.
    pub(crate) fn room(&self) -> usize {
        self.batch_rows - self.rows
    }

    /// Counts `rows` appended to every column (at most [`Batcher::room`]); a full batch goes to `emit`.
    pub(crate) fn added(&mut self, rows: usize, emit: &mut Emit<'_>) -> Result<(), WorkerError> {
        self.rows += rows;
        if self.rows >= self.batch_rows {
            let next = self.pending.iter().map(ColumnValues::sized_like).collect();
            let full = std::mem::replace(&mut self.pending, next);
            self.rows = 0;
            emit(FromWorker::Batch(Batch { columns: full }))?;
        }
        Ok(())
    }

    /// Sends the rows of a partly filled batch, if any.
    pub(crate) fn finish(&mut self, emit: &mut Emit<'_>) -> Result<(), WorkerError> {
        if self.rows == 0 {
            return Ok(());
        }
        let next = self.pending.iter().map(ColumnValues::empty_like).collect();
        self.rows = 0;
        emit(FromWorker::Batch(Batch { columns: std::mem::replace(&mut self.pending, next) }))
    }
}

/// Appends `n` NULLs to a column of any type: one for a NULL value of a row, or a whole array's worth.
#[inline]
pub(crate) fn push_nulls(column: &mut ColumnValues, n: usize) {
    match column {
        ColumnValues::Bool(v) => v.extend((0..n).map(|_| None)),
        ColumnValues::Int(v) => (0..n).for_each(|_| v.push(None)),
        ColumnValues::Float(v) => (0..n).for_each(|_| v.push(None)),
        ColumnValues::Text(v) => (0..n).for_each(|_| v.push(None)),
        ColumnValues::Date(v) => (0..n).for_each(|_| v.push(None)),
        ColumnValues::Timestamp(v) => (0..n).for_each(|_| v.push(None)),
        ColumnValues::Bytes(v) => v.extend((0..n).map(|_| None)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns() -> [LogicalType; 2] {
        [LogicalType::Int, LogicalType::Text]
    }

    fn push(batcher: &mut Batcher, n: i64) {
        let [ColumnValues::Int(ints), ColumnValues::Text(texts)] = batcher.columns() else { panic!("two columns") };
        ints.push(Some(n));
        texts.push((n % 3 != 0).then(|| "x".repeat(n as usize % 5)).as_deref());
    }

    #[test]
    fn rows_leave_in_full_batches_then_the_rest() {
        let mut batcher = Batcher::new(columns(), 4);
        let mut sent = Vec::new();
        let mut emit = |frame: FromWorker| {
            let FromWorker::Batch(batch) = frame else { panic!("only batches") };
            sent.push(batch);
            Ok(())
        };
        for n in 0..10 {
            push(&mut batcher, n);
            batcher.added(1, &mut emit).unwrap();
        }
        batcher.finish(&mut emit).unwrap();
        batcher.finish(&mut emit).unwrap();
        assert_eq!(sent.iter().map(Batch::row_count).collect::<Vec<_>>(), [4, 4, 2]);
        let values: Vec<Option<i64>> = sent
            .iter()
            .flat_map(|b| match &b.columns[0] {
                ColumnValues::Int(c) => c.iter().collect::<Vec<_>>(),
                other => panic!("not ints: {other:?}"),
            })
            .collect();
        assert_eq!(values, (0..10).map(Some).collect::<Vec<_>>());
        let ColumnValues::Text(texts) = &sent[1].columns[1] else { panic!("text") };
        assert_eq!(texts.iter().collect::<Vec<_>>(), [Some("xxxx"), Some(""), None, Some("xx")]);
    }

    #[test]
    fn a_batch_after_a_full_one_has_room_for_as_much() {
        let mut batcher = Batcher::new(columns(), 3);
        let mut emit = |_: FromWorker| Ok(());
        for n in 1..=3 {
            push(&mut batcher, n);
            batcher.added(1, &mut emit).unwrap();
        }
        assert_eq!(batcher.room(), 3);
        let [ColumnValues::Int(ints), ColumnValues::Text(texts)] = batcher.columns() else { panic!("two columns") };
        assert!(ints.is_empty() && texts.is_empty());
        assert!(texts.byte_capacity() >= 3, "room for the last batch's 3 text bytes: {}", texts.byte_capacity());
    }

    #[test]
    fn a_failed_emit_is_the_error_returned() {
        let mut batcher = Batcher::new(columns(), 1);
        push(&mut batcher, 1);
        let err = batcher.added(1, &mut |_| Err(WorkerError::Internal("pipe closed".into()))).unwrap_err();
        assert!(matches!(err, WorkerError::Internal(ref m) if m == "pipe closed"), "{err:?}");
    }
}
