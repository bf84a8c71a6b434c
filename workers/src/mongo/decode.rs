//! BSON values into the protocol's columns: the BSON type names and logical types, and each value put into its
//! column exactly or refused with a hint to convert it; ObjectIds as hex, Decimal128 in plain notation.

use mongodb::bson::Bson;
use mongodb::bson::spec::BinarySubtype;
use polystoreiq_protocol::types::{ColumnValues, LogicalType};
use polystoreiq_protocol::worker::WorkerError;

use super::table::Column;
use crate::hex;

/// MongoDB's alias for a value's BSON type, as `$type` spells it (`uuid` for binary subtype 4).
pub(super) fn type_name(value: &Bson) -> &'static str {
    match value {
        Bson::Double(_) => "double",
        Bson::String(_) => "string",
        Bson::Document(_) => "object",
        Bson::Array(_) => "array",
        Bson::Binary(b) if b.subtype == BinarySubtype::Uuid && b.bytes.len() == 16 => "uuid",
        Bson::Binary(_) => "binData",
        Bson::Undefined | Bson::Null => "null",
        Bson::ObjectId(_) => "objectId",
        Bson::Boolean(_) => "bool",
        Bson::DateTime(_) => "date",
        Bson::RegularExpression(_) => "regex",
        Bson::DbPointer(_) => "dbPointer",
        Bson::JavaScriptCode(_) => "javascript",
        Bson::Symbol(_) => "symbol",
        Bson::JavaScriptCodeWithScope(_) => "javascriptWithScope",
        Bson::Int32(_) => "int",
        Bson::Timestamp(_) => "timestamp",
        Bson::Int64(_) => "long",
        Bson::Decimal128(_) => "decimal",
        Bson::MinKey => "minKey",
        Bson::MaxKey => "maxKey",
    }
}

pub(super) fn logical_for(type_name: &str) -> LogicalType {
    match type_name {
        "double" => LogicalType::Float,
        "int" | "long" => LogicalType::Int,
        "decimal" => LogicalType::Decimal,
        "string" | "objectId" | "symbol" => LogicalType::Text,
        "bool" => LogicalType::Bool,
        "date" => LogicalType::TimestampTz,
        "object" | "array" => LogicalType::Json,
        "uuid" => LogicalType::Uuid,
        "binData" => LogicalType::Bytes,
        _ => LogicalType::Other,
    }
}

/// Adds one value to its column. NULL, undefined and a missing field are NULL. A value the column's type cannot
/// show exactly fails the query rather than show something else.
pub(super) fn push_value(
    out: &mut ColumnValues,
    column: &Column,
    value: Option<&Bson>,
    row: u64,
) -> Result<(), WorkerError> {
    let value = value.filter(|v| !matches!(v, Bson::Null | Bson::Undefined));
    let misfit = |v: &Bson| {
        let name = &column.name;
        WorkerError::Query(format!(
            "field {name} holds a {} value in result row {}, but its column is {} (columns are typed by the first \
             batch of documents); convert it in the query, e.g. an aggregate with \
             {{\"$project\": {{\"{name}\": {{\"$toString\": \"${name}\"}}}}}}",
            type_name(v),
            row + 1,
            column.db_type
        ))
    };
    match out {
        ColumnValues::Bool(out) => out.push(match value {
            None => None,
            Some(Bson::Boolean(b)) => Some(*b),
            Some(v) => return Err(misfit(v)),
        }),
        ColumnValues::Int(out) => out.push(match value {
            None => None,
            Some(Bson::Int32(i)) => Some(i64::from(*i)),
            Some(Bson::Int64(i)) => Some(*i),
            Some(Bson::Double(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            Some(v) => return Err(misfit(v)),
        }),
        ColumnValues::Float(out) => out.push(match value {
            None => None,
            Some(Bson::Double(f)) => Some(*f),
            Some(Bson::Int32(i)) => Some(f64::from(*i)),
            Some(Bson::Int64(i)) if i.unsigned_abs() <= 1 << 53 => Some(*i as f64),
            Some(v) => return Err(misfit(v)),
        }),
        ColumnValues::Timestamp(out) => out.push(match value {
            None => None,
            // Microseconds since 1970 reach some 292,000 years either side; a date beyond is not clamped.
            Some(Bson::DateTime(d)) => Some(d.timestamp_millis().checked_mul(1000).ok_or_else(|| {
                WorkerError::Query(format!(
                    "field {} holds a date in result row {} that lies beyond the year 294,000, which a timestamp \
                     cannot hold; convert it in the query, e.g. an aggregate with {{\"$project\": {{\"{}\": \
                     {{\"$toString\": \"${}\"}}}}}}",
                    column.name,
                    row + 1,
                    column.name,
                    column.name
                ))
            })?),
            Some(v) => return Err(misfit(v)),
        }),
        ColumnValues::Bytes(out) => out.push(match value {
            None => None,
            Some(Bson::Binary(b)) => Some(b.bytes.clone()),
            Some(v) => return Err(misfit(v)),
        }),
        ColumnValues::Date(out) => out.push(match value {
            None => None,
            Some(v) => return Err(misfit(v)),
        }),
        ColumnValues::Text(out) => {
            let text = match (column.logical, value) {
                (_, None) => None,
                (LogicalType::Decimal, Some(Bson::Decimal128(d))) => Some(plain_decimal(&d.to_string())),
                (LogicalType::Decimal, Some(Bson::Int32(i))) => Some(i.to_string()),
                (LogicalType::Decimal, Some(Bson::Int64(i))) => Some(i.to_string()),
                (LogicalType::Uuid, Some(v)) => Some(uuid_text(v).ok_or_else(|| misfit(v))?),
                (LogicalType::Decimal, Some(v)) => return Err(misfit(v)),
                (LogicalType::Json, Some(v)) => Some(v.clone().into_relaxed_extjson().to_string()),
                (_, Some(v)) => Some(text_of(v)),
            };
            out.push(text.as_deref());
        }
    }
    Ok(())
}

/// A value as text: strings as they are, ObjectIds as hex, decimals exact, anything else as relaxed Extended
/// JSON.
fn text_of(value: &Bson) -> String {
    match value {
        Bson::String(s) | Bson::Symbol(s) => s.clone(),
        Bson::ObjectId(id) => id.to_hex(),
        Bson::Decimal128(d) => plain_decimal(&d.to_string()),
        Bson::Int32(i) => i.to_string(),
        Bson::Int64(i) => i.to_string(),
        Bson::Boolean(b) => b.to_string(),
        Bson::DateTime(d) => d.try_to_rfc3339_string().unwrap_or_else(|_| d.timestamp_millis().to_string()),
        other => other.clone().into_relaxed_extjson().to_string(),
    }
}

/// A Decimal128's text (`1.5E+3`, `1E-7`, the IEEE 754 scientific form MongoDB uses beyond some exponents) in
/// plain decimal notation, every digit kept (`1500`, `0.0000001`); `NaN`, `Infinity` and `-Infinity` as they are.
pub(super) fn plain_decimal(text: &str) -> String {
    let Some((mantissa, exponent)) = text.split_once(['E', 'e']) else { return text.to_owned() };
    let Ok(exponent) = exponent.parse::<i64>() else { return text.to_owned() };
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    // The decimal point sits after `point` digits (negative: before the first digit, with zeros between).
    let point = int.len() as i64 + exponent;
    let (whole, fraction) = if point <= 0 {
        ("0".to_owned(), format!("{}{digits}", "0".repeat(point.unsigned_abs() as usize)))
    } else if point as usize >= digits.len() {
        (format!("{digits}{}", "0".repeat(point as usize - digits.len())), String::new())
    } else {
        (digits[..point as usize].to_owned(), digits[point as usize..].to_owned())
    };
    if fraction.is_empty() { format!("{sign}{whole}") } else { format!("{sign}{whole}.{fraction}") }
}

fn uuid_text(value: &Bson) -> Option<String> {
    let Bson::Binary(b) = value else { return None };
    if b.subtype != BinarySubtype::Uuid || b.bytes.len() != 16 {
        return None;
    }
    Some(hex::uuid(b.bytes.as_slice().try_into().ok()?))
}
