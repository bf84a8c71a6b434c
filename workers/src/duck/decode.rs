//! Maps DuckDB's Arrow output onto the protocol's normalized columns.
//!
//! Exact decimals become decimal strings, never floats; nested and exotic types become their text form;
//! NULL stays NULL.

use duckdb::arrow::array::{Array, AsArray, RecordBatch};
use duckdb::arrow::datatypes::{
    DataType, Date32Type, Date64Type, Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimeUnit, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
    UInt8Type, UInt16Type, UInt32Type,
};
use duckdb::arrow::util::display::{ArrayFormatter, FormatOptions};
use std::fmt::Write as _;

use polystoreiq_protocol::column::TextColumn;
use polystoreiq_protocol::types::{ColumnValues, LogicalType, ResultColumn};

use crate::batch::push_nulls;

/// The normalized type of an Arrow column.
pub fn logical_type(data_type: &DataType) -> LogicalType {
    match data_type {
        DataType::Boolean => LogicalType::Bool,
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32 => LogicalType::Int,
        DataType::UInt64 | DataType::Decimal32(..) | DataType::Decimal64(..) => LogicalType::Decimal,
        DataType::Decimal128(..) | DataType::Decimal256(..) => LogicalType::Decimal,
        DataType::Float16 | DataType::Float32 | DataType::Float64 => LogicalType::Float,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => LogicalType::Text,
        DataType::Date32 | DataType::Date64 => LogicalType::Date,
        DataType::Time32(_) | DataType::Time64(_) => LogicalType::Time,
        DataType::Timestamp(_, None) => LogicalType::Timestamp,
        DataType::Timestamp(_, Some(_)) => LogicalType::TimestampTz,
        DataType::Interval(_) | DataType::Duration(_) => LogicalType::Interval,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView | DataType::FixedSizeBinary(_) => {
            LogicalType::Bytes
        }
        DataType::List(_)
        | DataType::LargeList(_)
        | DataType::FixedSizeList(..)
        | DataType::Struct(_)
        | DataType::Map(..) => LogicalType::Json,
        _ => LogicalType::Other,
    }
}

/// The result columns of an Arrow schema.
pub fn result_columns(schema: &duckdb::arrow::datatypes::Schema) -> Vec<ResultColumn> {
    schema
        .fields()
        .iter()
        .map(|field| ResultColumn {
            name: field.name().clone(),
            db_type: field.data_type().to_string(),
            logical: logical_type(field.data_type()),
        })
        .collect()
}

/// Appends rows `[offset, offset + len)` of `batch` to `columns` (made by `ColumnValues::empty_for` for the same schema).
pub fn append_rows(batch: &RecordBatch, offset: usize, len: usize, columns: &mut [ColumnValues]) {
    for (array, target) in batch.columns().iter().zip(columns.iter_mut()) {
        let array = array.slice(offset, len);
        append_array(array.as_ref(), target);
    }
}

macro_rules! push_primitive {
    ($array:expr, $ty:ty, $out:expr, $conv:expr) => {{
        let typed = $array.as_primitive::<$ty>();
        if typed.null_count() == 0 {
            $out.extend_values(typed.values().iter().map(|v| $conv(*v)));
        } else {
            for i in 0..typed.len() {
                $out.push(if typed.is_null(i) { None } else { Some($conv(typed.value(i))) });
            }
        }
    }};
}

fn append_array(array: &dyn Array, target: &mut ColumnValues) {
    match (array.data_type(), target) {
        (DataType::Boolean, ColumnValues::Bool(out)) => {
            let typed = array.as_boolean();
            out.extend(typed.iter());
        }
        (DataType::Int8, ColumnValues::Int(out)) => push_primitive!(array, Int8Type, out, i64::from),
        (DataType::Int16, ColumnValues::Int(out)) => push_primitive!(array, Int16Type, out, i64::from),
        (DataType::Int32, ColumnValues::Int(out)) => push_primitive!(array, Int32Type, out, i64::from),
        (DataType::Int64, ColumnValues::Int(out)) => push_primitive!(array, Int64Type, out, |v: i64| v),
        (DataType::UInt8, ColumnValues::Int(out)) => push_primitive!(array, UInt8Type, out, i64::from),
        (DataType::UInt16, ColumnValues::Int(out)) => push_primitive!(array, UInt16Type, out, i64::from),
        (DataType::UInt32, ColumnValues::Int(out)) => push_primitive!(array, UInt32Type, out, i64::from),
        (DataType::Float16, ColumnValues::Float(out)) => push_primitive!(array, Float16Type, out, f64::from),
        (DataType::Float32, ColumnValues::Float(out)) => push_primitive!(array, Float32Type, out, f64::from),
        (DataType::Float64, ColumnValues::Float(out)) => push_primitive!(array, Float64Type, out, |v: f64| v),
        (DataType::Utf8, ColumnValues::Text(out)) => array.as_string::<i32>().iter().for_each(|v| out.push(v)),
        (DataType::LargeUtf8, ColumnValues::Text(out)) => array.as_string::<i64>().iter().for_each(|v| out.push(v)),
        (DataType::Utf8View, ColumnValues::Text(out)) => array.as_string_view().iter().for_each(|v| out.push(v)),
        (DataType::Date32, ColumnValues::Date(out)) => push_primitive!(array, Date32Type, out, |d: i32| d),
        (DataType::Date64, ColumnValues::Date(out)) => {
            push_primitive!(array, Date64Type, out, |ms: i64| ms.div_euclid(86_400_000) as i32)
        }
        (DataType::Timestamp(unit, _), ColumnValues::Timestamp(out)) => match unit {
            TimeUnit::Second => push_primitive!(array, TimestampSecondType, out, |v: i64| v.saturating_mul(1_000_000)),
            TimeUnit::Millisecond => {
                push_primitive!(array, TimestampMillisecondType, out, |v: i64| v.saturating_mul(1000))
            }
            TimeUnit::Microsecond => push_primitive!(array, TimestampMicrosecondType, out, |v: i64| v),
            TimeUnit::Nanosecond => push_primitive!(array, TimestampNanosecondType, out, |v: i64| v.div_euclid(1000)),
        },
        (DataType::Binary, ColumnValues::Bytes(out)) => {
            out.extend(array.as_binary::<i32>().iter().map(|v| v.map(<[u8]>::to_vec)));
        }
        (DataType::LargeBinary, ColumnValues::Bytes(out)) => {
            out.extend(array.as_binary::<i64>().iter().map(|v| v.map(<[u8]>::to_vec)));
        }
        (_, ColumnValues::Text(out)) => append_as_text(array, out),
        (_, other) => {
            // Every representation but Text is chosen for an exact Arrow type above; reaching here means the
            // schema changed between batches, which DuckDB does not do. Keep the row count honest with NULLs.
            push_nulls(other, array.len());
        }
    }
}

/// Text form of any array, through Arrow's own formatter (decimals keep every digit).
fn append_as_text(array: &dyn Array, out: &mut TextColumn) {
    let options = FormatOptions::default();
    match ArrayFormatter::try_new(array, &options) {
        Ok(formatter) => {
            let mut text = String::new();
            for i in 0..array.len() {
                if array.is_null(i) {
                    out.push(None);
                } else {
                    text.clear();
                    let _ = write!(text, "{}", formatter.value(i));
                    out.push(Some(&text));
                }
            }
        }
        Err(_) => (0..array.len()).for_each(|_| out.push(None)),
    }
}
