//! MySQL's binary-protocol values into the protocol's columns. Dates count days through `polystoreiq_protocol::civil`; MySQL's
//! zero and partial dates, which are no calendar day, are refused with the cast that shows them.

use mysql_async::consts::ColumnType;
use mysql_async::{Column, Value};
use polystoreiq_protocol::types::{ColumnValues, ResultColumn};
use polystoreiq_protocol::worker::WorkerError;

use crate::batch::push_nulls;
use polystoreiq_protocol::civil;

/// Appends one binary-protocol value to its column.
#[inline]
pub(super) fn push_value(
    column: &mut ColumnValues,
    wire: &Column,
    meta: &ResultColumn,
    value: Value,
) -> Result<(), WorkerError> {
    let name = meta.name.as_str();
    let bad = || {
        WorkerError::Query(format!(
            "column {name}: a {} value PolyStoreIQ could not read; CAST it in the query, e.g. CAST({name} AS CHAR)",
            meta.db_type
        ))
    };
    if matches!(value, Value::NULL) {
        push_nulls(column, 1);
        return Ok(());
    }
    match column {
        ColumnValues::Bool(out) => out.push(Some(match value {
            Value::Bytes(bits) => bits.iter().any(|&b| b != 0),
            Value::Int(i) => i != 0,
            Value::UInt(u) => u != 0,
            _ => return Err(bad()),
        })),
        ColumnValues::Int(out) => out.push(Some(match value {
            Value::Int(i) => i,
            Value::UInt(u) => i64::try_from(u).map_err(|_| bad())?,
            Value::Bytes(bits) => i64::try_from(bits_value(&bits).ok_or_else(bad)?).map_err(|_| bad())?,
            _ => return Err(bad()),
        })),
        ColumnValues::Float(out) => out.push(Some(match value {
            // Through its shortest decimal form, so FLOAT 1.1 stays 1.1 rather than 1.100000023841858.
            Value::Float(f) => f.to_string().parse().map_err(|_| bad())?,
            Value::Double(d) => d,
            _ => return Err(bad()),
        })),
        ColumnValues::Date(out) => match value {
            Value::Date(y, m, d, ..) => out.push(Some(days_from_civil(y, m, d).ok_or_else(|| zero_date(meta))?)),
            _ => return Err(bad()),
        },
        ColumnValues::Timestamp(out) => match value {
            Value::Date(y, m, d, h, mi, s, us) => {
                let days = days_from_civil(y, m, d).ok_or_else(|| zero_date(meta))?;
                let seconds = i64::from(days) * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s);
                out.push(Some(seconds * 1_000_000 + i64::from(us)));
            }
            _ => return Err(bad()),
        },
        ColumnValues::Bytes(out) => match value {
            Value::Bytes(bytes) => out.push(Some(bytes)),
            _ => return Err(bad()),
        },
        ColumnValues::Text(out) => {
            let text = match value {
                Value::Bytes(bytes) if wire.column_type() == ColumnType::MYSQL_TYPE_BIT => {
                    bits_value(&bytes).ok_or_else(bad)?.to_string()
                }
                // The common case, copied once: from the driver's bytes into the column.
                Value::Bytes(bytes) => {
                    out.push(Some(std::str::from_utf8(&bytes).map_err(|_| {
                        WorkerError::Query(format!(
                            "column {name} holds bytes that are not UTF-8 text; convert it in the query, e.g. \
                             CONVERT({name} USING utf8mb4), or CAST({name} AS BINARY) to see the bytes"
                        ))
                    })?));
                    return Ok(());
                }
                Value::Int(i) => i.to_string(),
                Value::UInt(u) => u.to_string(),
                Value::Time(negative, days, h, m, s, us) => time_text(negative, days, h, m, s, us, wire.decimals()),
                _ => return Err(bad()),
            };
            out.push(Some(&text));
        }
    }
    Ok(())
}

fn zero_date(meta: &ResultColumn) -> WorkerError {
    let name = &meta.name;
    WorkerError::Query(format!(
        "column {name} holds a zero or partial date (such as 0000-00-00), which is no calendar day; select it as \
         text with CAST({name} AS CHAR), or as NULL with NULLIF({name}, '0000-00-00')"
    ))
}

/// A BIT value: big-endian bytes, at most eight.
fn bits_value(bytes: &[u8]) -> Option<u64> {
    (bytes.len() <= 8).then(|| bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (see `polystoreiq_protocol::civil`); `None` for MySQL's zero
/// and partial dates (a zero month or day).
fn days_from_civil(year: u16, month: u8, day: u8) -> Option<i32> {
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    i32::try_from(civil::days_from_civil(i64::from(year), u32::from(month), u32::from(day))).ok()
}

/// A TIME value as MySQL writes it: `[-]HH:MM:SS[.fraction]`, hours past 24 included (TIME is a duration).
fn time_text(negative: bool, days: u32, h: u8, m: u8, s: u8, us: u32, decimals: u8) -> String {
    let hours = u64::from(days) * 24 + u64::from(h);
    let sign = if negative { "-" } else { "" };
    let mut text = format!("{sign}{hours:02}:{m:02}:{s:02}");
    let digits = match decimals {
        1..=6 => usize::from(decimals),
        _ if us > 0 => 6,
        _ => 0,
    };
    if digits > 0 {
        text.push('.');
        text.push_str(&format!("{us:06}")[..digits]);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_count_days_from_the_epoch() {
        assert_eq!(days_from_civil(1970, 1, 1), Some(0));
        assert_eq!(days_from_civil(2000, 3, 1), Some(11_017));
        assert_eq!(days_from_civil(1969, 12, 31), Some(-1));
        assert_eq!(days_from_civil(2024, 2, 29), Some(19_782));
        assert_eq!(days_from_civil(0, 0, 0), None);
        assert_eq!(days_from_civil(2020, 5, 0), None);
    }

    #[test]
    fn times_are_durations_with_their_fraction() {
        assert_eq!(time_text(false, 0, 12, 34, 56, 0, 0), "12:34:56");
        assert_eq!(time_text(true, 1, 2, 0, 0, 0, 0), "-26:00:00");
        assert_eq!(time_text(false, 0, 0, 0, 1, 500_000, 3), "00:00:01.500");
        assert_eq!(time_text(false, 0, 0, 0, 1, 5, 0), "00:00:01.000005");
    }
}
