//! The schema of a DuckDB source: every table's columns as `DESCRIBE` prints them, with exact row counts, and the
//! logical type of each DuckDB type name.

use duckdb::Connection;
use polystoreiq_protocol::types::{ColumnInfo, LogicalType, SchemaSnapshot, TableInfo, TableKind, TableStorage};
use polystoreiq_protocol::worker::{FileSource, WorkerError};

use super::connection::{open_error, sql_ident};

/// The schema of every table of the source, with exact row counts.
pub fn schema(conn: &Connection, source: &FileSource) -> Result<SchemaSnapshot, WorkerError> {
    let mut tables = Vec::with_capacity(source.tables.len());
    for table in &source.tables {
        let ident = sql_ident(&table.table);
        let mut stmt = conn.prepare(&format!("DESCRIBE {ident}")).map_err(|e| open_error(source, e))?;
        let columns = stmt
            .query_map([], |row| {
                let name: String = row.get(0)?;
                let db_type: String = row.get(1)?;
                let null: Option<String> = row.get(2)?;
                Ok(ColumnInfo {
                    logical: logical_from_type_name(&db_type),
                    name,
                    db_type,
                    nullable: null.as_deref() != Some("NO"),
                    comment: None,
                    sample: None,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| open_error(source, e))?;
        let rows: i64 = conn
            .query_row(&format!("SELECT count(*) FROM {ident}"), [], |row| row.get(0))
            .map_err(|e| open_error(source, e))?;
        // Files carry no keys, indexes or comments.
        let kind = match table.storage {
            TableStorage::Ingested => TableKind::Table,
            TableStorage::InPlace => TableKind::View,
        };
        tables.push(TableInfo::new(table.table.clone(), kind, Some(rows as u64), columns));
    }
    let fetched_at_ms = crate::unix_ms_now();
    Ok(SchemaSnapshot { tables, fetched_at_ms, cache: None })
}

/// The normalized type of a DuckDB type name, as `DESCRIBE` prints it.
pub fn logical_from_type_name(name: &str) -> LogicalType {
    let upper = name.to_ascii_uppercase();
    let base = upper.split(['(', ' ']).next().unwrap_or("");
    if upper.ends_with("[]") || upper.starts_with("STRUCT") || upper.starts_with("MAP") {
        return LogicalType::Json;
    }
    match base {
        "BOOLEAN" => LogicalType::Bool,
        "TINYINT" | "SMALLINT" | "INTEGER" | "BIGINT" | "UTINYINT" | "USMALLINT" | "UINTEGER" => LogicalType::Int,
        "UBIGINT" | "HUGEINT" | "UHUGEINT" | "DECIMAL" => LogicalType::Decimal,
        "FLOAT" | "DOUBLE" => LogicalType::Float,
        "VARCHAR" => LogicalType::Text,
        "DATE" => LogicalType::Date,
        "TIME" => LogicalType::Time,
        "TIMESTAMP" | "TIMESTAMP_S" | "TIMESTAMP_MS" | "TIMESTAMP_NS" => {
            if upper.contains("WITH TIME ZONE") {
                LogicalType::TimestampTz
            } else {
                LogicalType::Timestamp
            }
        }
        "INTERVAL" => LogicalType::Interval,
        "UUID" => LogicalType::Uuid,
        "JSON" => LogicalType::Json,
        "BLOB" => LogicalType::Bytes,
        _ => LogicalType::Other,
    }
}
