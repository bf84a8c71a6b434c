//! Which MySQL types this connector reads, and how a result column is described: its SQL type name and logical
//! type from the wire, or from `information_schema` for metadata.

use mysql_async::Column;
use mysql_async::consts::{ColumnFlags, ColumnType};
use polystoreiq_protocol::types::LogicalType;
use polystoreiq_protocol::worker::WorkerError;

/// The character set number MySQL uses for binary strings and blobs.
const BINARY_CHARSET: u16 = 63;

pub(super) fn cast_error(name: &str, db_type: &str) -> WorkerError {
    WorkerError::Query(format!(
        "column {name} has type {db_type}, which PolyStoreIQ cannot read yet; CAST it in the query, e.g. \
         CAST({name} AS CHAR)"
    ))
}

fn unsigned(column: &Column) -> bool {
    column.flags().contains(ColumnFlags::UNSIGNED_FLAG)
}

fn binary(column: &Column) -> bool {
    column.character_set() == BINARY_CHARSET
}

/// The logical type of a result column, from its wire type.
pub(super) fn logical(column: &Column) -> LogicalType {
    use ColumnType::*;
    match column.column_type() {
        MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_INT24 | MYSQL_TYPE_LONG | MYSQL_TYPE_YEAR => LogicalType::Int,
        // Above i64::MAX an unsigned BIGINT only fits as an exact decimal.
        MYSQL_TYPE_LONGLONG if unsigned(column) => LogicalType::Decimal,
        MYSQL_TYPE_LONGLONG => LogicalType::Int,
        MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => LogicalType::Float,
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => LogicalType::Decimal,
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => LogicalType::Date,
        MYSQL_TYPE_DATETIME => LogicalType::Timestamp,
        MYSQL_TYPE_TIMESTAMP => LogicalType::TimestampTz,
        MYSQL_TYPE_TIME => LogicalType::Time,
        MYSQL_TYPE_JSON => LogicalType::Json,
        MYSQL_TYPE_BIT if column.column_length() == 1 => LogicalType::Bool,
        MYSQL_TYPE_BIT if column.column_length() < 64 => LogicalType::Int,
        MYSQL_TYPE_BIT => LogicalType::Decimal,
        MYSQL_TYPE_NULL => LogicalType::Text,
        MYSQL_TYPE_VARCHAR
        | MYSQL_TYPE_VAR_STRING
        | MYSQL_TYPE_STRING
        | MYSQL_TYPE_ENUM
        | MYSQL_TYPE_SET
        | MYSQL_TYPE_TINY_BLOB
        | MYSQL_TYPE_MEDIUM_BLOB
        | MYSQL_TYPE_LONG_BLOB
        | MYSQL_TYPE_BLOB => {
            if binary(column) {
                LogicalType::Bytes
            } else {
                LogicalType::Text
            }
        }
        // A geometry arrives in the server's internal form, a 4-byte SRID then WKB; `ST_AsText(col)` shows it as text.
        MYSQL_TYPE_GEOMETRY | MYSQL_TYPE_VECTOR => LogicalType::Bytes,
        _ => LogicalType::Other,
    }
}

/// The SQL name of a result column's wire type.
pub(super) fn type_name(column: &Column) -> String {
    use ColumnType::*;
    let flags = column.flags();
    let name = match column.column_type() {
        MYSQL_TYPE_TINY => "TINYINT",
        MYSQL_TYPE_SHORT => "SMALLINT",
        MYSQL_TYPE_INT24 => "MEDIUMINT",
        MYSQL_TYPE_LONG => "INT",
        MYSQL_TYPE_LONGLONG => "BIGINT",
        MYSQL_TYPE_YEAR => "YEAR",
        MYSQL_TYPE_FLOAT => "FLOAT",
        MYSQL_TYPE_DOUBLE => "DOUBLE",
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => "DECIMAL",
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => "DATE",
        MYSQL_TYPE_DATETIME | MYSQL_TYPE_DATETIME2 => "DATETIME",
        MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_TIMESTAMP2 => "TIMESTAMP",
        MYSQL_TYPE_TIME | MYSQL_TYPE_TIME2 => "TIME",
        MYSQL_TYPE_JSON => "JSON",
        MYSQL_TYPE_BIT => "BIT",
        MYSQL_TYPE_NULL => "NULL",
        MYSQL_TYPE_GEOMETRY => "GEOMETRY",
        MYSQL_TYPE_VECTOR => "VECTOR",
        _ if flags.contains(ColumnFlags::ENUM_FLAG) => "ENUM",
        _ if flags.contains(ColumnFlags::SET_FLAG) => "SET",
        MYSQL_TYPE_STRING if binary(column) => "BINARY",
        MYSQL_TYPE_STRING => "CHAR",
        MYSQL_TYPE_VARCHAR | MYSQL_TYPE_VAR_STRING if binary(column) => "VARBINARY",
        MYSQL_TYPE_VARCHAR | MYSQL_TYPE_VAR_STRING => "VARCHAR",
        MYSQL_TYPE_TINY_BLOB | MYSQL_TYPE_MEDIUM_BLOB | MYSQL_TYPE_LONG_BLOB | MYSQL_TYPE_BLOB if binary(column) => {
            "BLOB"
        }
        MYSQL_TYPE_TINY_BLOB | MYSQL_TYPE_MEDIUM_BLOB | MYSQL_TYPE_LONG_BLOB | MYSQL_TYPE_BLOB => "TEXT",
        other => return format!("{other:?}"),
    };
    // YEAR carries UNSIGNED (and ZEROFILL) among its flags, but is no number type to SQL.
    let numeric = column.column_type().is_numeric_type() && column.column_type() != MYSQL_TYPE_YEAR;
    if numeric && unsigned(column) { format!("{name} UNSIGNED") } else { name.to_owned() }
}

/// The logical type of a column from `information_schema`: its `DATA_TYPE` and full `COLUMN_TYPE`.
pub(super) fn logical_from_name(data_type: &str, column_type: &str) -> LogicalType {
    let unsigned = column_type.contains("unsigned");
    match data_type {
        "tinyint" | "smallint" | "mediumint" | "int" | "integer" | "year" => LogicalType::Int,
        "bigint" if unsigned => LogicalType::Decimal,
        "bigint" => LogicalType::Int,
        "float" | "double" | "real" | "double precision" => LogicalType::Float,
        "decimal" | "numeric" | "fixed" => LogicalType::Decimal,
        "date" => LogicalType::Date,
        "datetime" => LogicalType::Timestamp,
        "timestamp" => LogicalType::TimestampTz,
        "time" => LogicalType::Time,
        "json" => LogicalType::Json,
        "uuid" => LogicalType::Uuid,
        "bit" if column_type == "bit(1)" => LogicalType::Bool,
        "bit" if column_type == "bit(64)" => LogicalType::Decimal,
        "bit" => LogicalType::Int,
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "enum" | "set" | "inet4" | "inet6" => {
            LogicalType::Text
        }
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" | "geometry" | "point"
        | "linestring" | "polygon" | "multipoint" | "multilinestring" | "multipolygon" | "geometrycollection" => {
            LogicalType::Bytes
        }
        _ => LogicalType::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn information_schema_types_map_to_logical_types() {
        let check = |data: &str, full: &str, expected: LogicalType| {
            assert_eq!(logical_from_name(data, full), expected, "{full}");
        };
        check("int", "int(11)", LogicalType::Int);
        check("bigint", "bigint(20) unsigned", LogicalType::Decimal);
        check("decimal", "decimal(10,2)", LogicalType::Decimal);
        check("datetime", "datetime(6)", LogicalType::Timestamp);
        check("timestamp", "timestamp", LogicalType::TimestampTz);
        check("bit", "bit(1)", LogicalType::Bool);
        check("bit", "bit(8)", LogicalType::Int);
        check("longtext", "longtext", LogicalType::Text);
        check("blob", "blob", LogicalType::Bytes);
        check("json", "json", LogicalType::Json);
        check("geometry", "geometry", LogicalType::Bytes);
    }
}
