//! Results: columns, the values of a batch, and pages of a stored result.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::column::{NumColumn, TextColumn};

use super::*;

/// A result column: its name and types.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ResultColumn {
    pub name: String,
    pub db_type: String,
    pub logical: LogicalType,
}

/// The values of one result column within a batch. NULL is always distinct from an empty string.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ColumnValues {
    Bool(Vec<Option<bool>>),
    Int(NumColumn<i64>),
    Float(NumColumn<f64>),
    /// Text, and every type carried as text: decimals, UUIDs, JSON, intervals, times.
    Text(TextColumn),
    /// Days since 1970-01-01.
    Date(NumColumn<i32>),
    /// Microseconds since 1970-01-01T00:00:00 (UTC for time-zone-aware columns).
    Timestamp(NumColumn<i64>),
    Bytes(Vec<Option<Vec<u8>>>),
}

impl ColumnValues {
    pub fn len(&self) -> usize {
        match self {
            ColumnValues::Bool(v) => v.len(),
            ColumnValues::Int(v) => v.len(),
            ColumnValues::Float(v) => v.len(),
            ColumnValues::Text(v) => v.len(),
            ColumnValues::Date(v) => v.len(),
            ColumnValues::Timestamp(v) => v.len(),
            ColumnValues::Bytes(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An empty column of the representation values of `logical` travel as.
    pub fn empty_for(logical: LogicalType) -> ColumnValues {
        match logical {
            LogicalType::Bool => ColumnValues::Bool(Vec::new()),
            LogicalType::Int => ColumnValues::Int(NumColumn::default()),
            LogicalType::Float => ColumnValues::Float(NumColumn::default()),
            LogicalType::Date => ColumnValues::Date(NumColumn::default()),
            LogicalType::Timestamp | LogicalType::TimestampTz => ColumnValues::Timestamp(NumColumn::default()),
            LogicalType::Bytes => ColumnValues::Bytes(Vec::new()),
            _ => ColumnValues::Text(TextColumn::default()),
        }
    }

    /// An empty column of the representation of `logical`, with room for `rows` rows before it grows.
    pub fn with_rows(logical: LogicalType, rows: usize) -> ColumnValues {
        match ColumnValues::empty_for(logical) {
            ColumnValues::Bool(_) => ColumnValues::Bool(Vec::with_capacity(rows)),
            ColumnValues::Int(_) => ColumnValues::Int(NumColumn::with_capacity(rows, 0)),
            ColumnValues::Float(_) => ColumnValues::Float(NumColumn::with_capacity(rows, 0)),
            ColumnValues::Text(_) => ColumnValues::Text(TextColumn::with_capacity(rows, 0, 0)),
            ColumnValues::Date(_) => ColumnValues::Date(NumColumn::with_capacity(rows, 0)),
            ColumnValues::Timestamp(_) => ColumnValues::Timestamp(NumColumn::with_capacity(rows, 0)),
            ColumnValues::Bytes(_) => ColumnValues::Bytes(Vec::with_capacity(rows)),
        }
    }

    /// An empty column of the same representation with room for as many rows, NULLs and text bytes as this one
    /// holds: the next batch of a result is usually shaped like the last, so it fills without regrowing.
    pub fn sized_like(&self) -> ColumnValues {
        let rows = self.len();
        match self {
            ColumnValues::Bool(_) => ColumnValues::Bool(Vec::with_capacity(rows)),
            ColumnValues::Int(c) => ColumnValues::Int(NumColumn::with_capacity(rows, c.null_count())),
            ColumnValues::Float(c) => ColumnValues::Float(NumColumn::with_capacity(rows, c.null_count())),
            ColumnValues::Text(c) => ColumnValues::Text(TextColumn::with_capacity(rows, c.byte_len(), c.null_count())),
            ColumnValues::Date(c) => ColumnValues::Date(NumColumn::with_capacity(rows, c.null_count())),
            ColumnValues::Timestamp(c) => ColumnValues::Timestamp(NumColumn::with_capacity(rows, c.null_count())),
            ColumnValues::Bytes(_) => ColumnValues::Bytes(Vec::with_capacity(rows)),
        }
    }

    /// An empty column of the same representation.
    pub fn empty_like(&self) -> ColumnValues {
        match self {
            ColumnValues::Bool(_) => ColumnValues::Bool(Vec::new()),
            ColumnValues::Int(_) => ColumnValues::Int(NumColumn::default()),
            ColumnValues::Float(_) => ColumnValues::Float(NumColumn::default()),
            ColumnValues::Text(_) => ColumnValues::Text(TextColumn::default()),
            ColumnValues::Date(_) => ColumnValues::Date(NumColumn::default()),
            ColumnValues::Timestamp(_) => ColumnValues::Timestamp(NumColumn::default()),
            ColumnValues::Bytes(_) => ColumnValues::Bytes(Vec::new()),
        }
    }

    /// Appends rows `[start, start + len)` of `other`, which must have the same representation.
    pub fn extend_range(&mut self, other: &ColumnValues, start: usize, len: usize) {
        let range = start..start + len;
        match (self, other) {
            (ColumnValues::Bool(t), ColumnValues::Bool(s)) => t.extend_from_slice(&s[range]),
            (ColumnValues::Int(t), ColumnValues::Int(s)) => t.extend_range(s, start, len),
            (ColumnValues::Float(t), ColumnValues::Float(s)) => t.extend_range(s, start, len),
            (ColumnValues::Text(t), ColumnValues::Text(s)) => t.extend_range(s, start, len),
            (ColumnValues::Date(t), ColumnValues::Date(s)) => t.extend_range(s, start, len),
            (ColumnValues::Timestamp(t), ColumnValues::Timestamp(s)) => t.extend_range(s, start, len),
            (ColumnValues::Bytes(t), ColumnValues::Bytes(s)) => t.extend_from_slice(&s[range]),
            _ => {}
        }
    }
}

/// A run of result rows, column by column.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    pub columns: Vec<ColumnValues>,
}

impl Batch {
    pub fn row_count(&self) -> usize {
        self.columns.first().map_or(0, ColumnValues::len)
    }
}

/// A page of a stored result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultPage {
    pub run: RunId,
    pub columns: Vec<ResultColumn>,
    pub offset: u64,
    pub rows: Batch,
    /// Rows stored for the run.
    pub total_rows: u64,
    /// The run hit its row limit: more rows existed than were kept.
    pub truncated: bool,
}
