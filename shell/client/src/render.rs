//! Turning normalized results into text: table cells, CSV and JSON. Shared by every front end so they agree.
//!
//! NULL is never confused with an empty string: cells render it as `NULL`, CSV as an empty unquoted field (an
//! empty string is written `""`), JSON as `null`.

use polystoreiq_protocol::civil::civil_from_days;
use polystoreiq_protocol::types::{Batch, ColumnValues, ResultColumn};
use serde_json::Value;

/// The text of row `row` of `column`, or `None` for NULL.
pub fn cell(column: &ColumnValues, row: usize) -> Option<String> {
    match column {
        ColumnValues::Bool(v) => v.get(row).copied().flatten().map(|b| b.to_string()),
        ColumnValues::Int(v) => v.get(row).map(|i| i.to_string()),
        ColumnValues::Float(v) => v.get(row).map(format_float),
        ColumnValues::Text(v) => v.get(row).map(str::to_owned),
        ColumnValues::Date(v) => v.get(row).map(format_date),
        ColumnValues::Timestamp(v) => v.get(row).map(format_timestamp),
        ColumnValues::Bytes(v) => v.get(row).and_then(Option::as_ref).map(|b| format!("\\x{}", hex(b))),
    }
}

/// The JSON value of row `row` of `column`: numbers stay numbers (non-finite floats become strings), exact
/// decimals stay strings.
pub fn json_value(column: &ColumnValues, row: usize) -> Value {
    match column {
        ColumnValues::Bool(v) => v.get(row).copied().flatten().map_or(Value::Null, Value::Bool),
        ColumnValues::Int(v) => v.get(row).map_or(Value::Null, Value::from),
        ColumnValues::Float(v) => v.get(row).map_or(Value::Null, |f| {
            serde_json::Number::from_f64(f).map_or_else(|| Value::String(format_float(f)), Value::Number)
        }),
        _ => cell(column, row).map_or(Value::Null, Value::String),
    }
}

/// Rows as JSON objects keyed by column name.
pub fn json_rows(columns: &[ResultColumn], batch: &Batch) -> Vec<Value> {
    (0..batch.row_count())
        .map(|row| {
            let object = columns
                .iter()
                .zip(&batch.columns)
                .map(|(meta, values)| (meta.name.clone(), json_value(values, row)))
                .collect::<serde_json::Map<_, _>>();
            Value::Object(object)
        })
        .collect()
}

/// The CSV header line (RFC 4180, `\n` line ends).
pub fn csv_header(columns: &[ResultColumn]) -> String {
    let mut line = columns.iter().map(|c| csv_field(Some(&c.name))).collect::<Vec<_>>().join(",");
    line.push('\n');
    line
}

/// The CSV lines of every row of `batch`.
pub fn csv_rows(batch: &Batch, out: &mut String) {
    for row in 0..batch.row_count() {
        let fields: Vec<String> = batch.columns.iter().map(|c| csv_field(cell(c, row).as_deref())).collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    }
}

fn csv_field(value: Option<&str>) -> String {
    match value {
        None => String::new(),
        Some("") => "\"\"".to_owned(),
        Some(v) if v.contains([',', '"', '\n', '\r']) || v.starts_with(' ') || v.ends_with(' ') => {
            format!("\"{}\"", v.replace('"', "\"\""))
        }
        Some(v) => v.to_owned(),
    }
}

/// A plain-text table of `batch`, columns padded to their widest cell (capped), NULL shown as `NULL`.
pub fn text_table(columns: &[ResultColumn], batch: &Batch) -> String {
    const MAX_WIDTH: usize = 40;
    let rows = batch.row_count();
    let cells: Vec<Vec<String>> = batch
        .columns
        .iter()
        .map(|c| (0..rows).map(|r| truncate(cell(c, r).unwrap_or_else(|| "NULL".into()), MAX_WIDTH)).collect())
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .zip(&cells)
        .map(|(meta, col)| col.iter().map(|c| c.chars().count()).chain([meta.name.chars().count()]).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    let line = |out: &mut String, items: Vec<String>| {
        let padded: Vec<String> = items.iter().zip(&widths).map(|(s, w)| format!("{s:<w$}")).collect();
        out.push_str(padded.join(" | ").trim_end());
        out.push('\n');
    };
    line(&mut out, columns.iter().map(|c| c.name.clone()).collect());
    out.push_str(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("-+-"));
    out.push('\n');
    for row in 0..rows {
        line(&mut out, cells.iter().map(|col| col[row].clone()).collect());
    }
    out
}

fn truncate(s: String, max: usize) -> String {
    if s.chars().count() <= max { s } else { format!("{}…", s.chars().take(max - 1).collect::<String>()) }
}

fn format_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity".into() } else { "-Infinity".into() }
    } else {
        f.to_string()
    }
}

/// `YYYY-MM-DD` of a day count since 1970-01-01 (proleptic Gregorian).
pub fn format_date(days: i32) -> String {
    let (y, m, d) = civil_from_days(i64::from(days));
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]` of microseconds since the epoch.
pub fn format_timestamp(micros: i64) -> String {
    let days = micros.div_euclid(86_400_000_000);
    let rem = micros.rem_euclid(86_400_000_000);
    let (y, m, d) = civil_from_days(days);
    let secs = rem / 1_000_000;
    let frac = rem % 1_000_000;
    let base = format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if frac == 0 { base } else { format!("{base}.{frac:06}") }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_timestamps_render_in_iso_form() {
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(19_723), "2024-01-01");
        assert_eq!(format_date(-1), "1969-12-31");
        assert_eq!(format_timestamp(0), "1970-01-01 00:00:00");
        assert_eq!(format_timestamp(1_704_067_200_000_000 + 3_723_000_001), "2024-01-01 01:02:03.000001");
        assert_eq!(format_timestamp(-1), "1969-12-31 23:59:59.999999");
    }

    #[test]
    fn csv_keeps_null_and_empty_string_apart() {
        let batch = Batch { columns: vec![ColumnValues::Text([None, Some(""), Some("a,b")].into_iter().collect())] };
        let mut out = String::new();
        csv_rows(&batch, &mut out);
        assert_eq!(out, "\n\"\"\n\"a,b\"\n");
    }
}
