//! PostgreSQL metadata from the system catalogs: tables, views and their columns (types, nullability, comments),
//! primary and foreign keys, indexes and the planner's row estimates. Only what the role may select is listed.
//!
//! Tables are named as queries name them: bare in `public`, schema-qualified elsewhere.

use std::collections::HashMap;

use polystoreiq_protocol::types::{
    ColumnInfo, ForeignKey, IndexInfo, LogicalType, SchemaSnapshot, TableInfo, TableKind,
};
use polystoreiq_protocol::worker::WorkerError;
use tokio_postgres::Client;

use super::columns::logical_from_name;
use super::query_error;

/// The schemas that hold PostgreSQL itself, never user data.
const SYSTEM_SCHEMAS: &str = "n.nspname NOT IN ('pg_catalog', 'information_schema')
    AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'";

/// Reads the metadata of every table, view and materialized view the role can select from.
pub async fn read(client: &Client) -> Result<SchemaSnapshot, WorkerError> {
    let columns = client
        .query(
            &format!(
                "SELECT n.nspname::text, c.relname::text, c.relkind::text, a.attname::text,
                        format_type(a.atttypid, a.atttypmod),
                        format_type(CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END, NULL),
                        t.typtype::text, t.typcategory::text, NOT a.attnotnull,
                        CASE WHEN c.relkind IN ('r', 'm', 'f') AND c.reltuples >= 0 THEN c.reltuples::bigint END,
                        obj_description(c.oid, 'pg_class'), col_description(c.oid, a.attnum)
                 FROM pg_class c
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                 JOIN pg_type t ON t.oid = a.atttypid
                 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND {SYSTEM_SCHEMAS}
                   AND has_column_privilege(c.oid, a.attnum, 'SELECT')
                 ORDER BY n.nspname, c.relname, a.attnum"
            ),
            &[],
        )
        .await
        .map_err(query_error)?;
    let mut tables: Vec<TableInfo> = Vec::new();
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    for row in columns {
        let (schema, table): (String, String) = (row.get(0), row.get(1));
        let key = (schema, table);
        let at = match index.get(&key) {
            Some(&at) => at,
            None => {
                let relkind: String = row.get(2);
                let kind = if matches!(relkind.as_str(), "v" | "m") { TableKind::View } else { TableKind::Table };
                let row_count = row.get::<_, Option<i64>>(9).map(|n| n.max(0) as u64);
                let mut info = TableInfo::new(qualified(&key.0, &key.1), kind, row_count, Vec::new());
                info.comment = row.get(10);
                tables.push(info);
                index.insert(key, tables.len() - 1);
                tables.len() - 1
            }
        };
        let (base, typtype, category): (String, String, String) = (row.get(5), row.get(6), row.get(7));
        tables[at].columns.push(ColumnInfo {
            name: row.get(3),
            db_type: row.get(4),
            logical: logical_of(&base, &typtype, &category),
            nullable: row.get(8),
            comment: row.get(11),
            sample: None,
        });
    }
    read_keys(client, &mut tables, &index).await?;
    read_indexes(client, &mut tables, &index).await?;
    let fetched_at_ms = crate::unix_ms_now();
    Ok(SchemaSnapshot { tables, fetched_at_ms, cache: None })
}

/// Primary and foreign keys, columns in key order.
async fn read_keys(
    client: &Client,
    tables: &mut [TableInfo],
    index: &HashMap<(String, String), usize>,
) -> Result<(), WorkerError> {
    let rows = client
        .query(
            &format!(
                "SELECT n.nspname::text, c.relname::text, con.contype::text, con.conname::text,
                        ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, ord)
                              JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
                              ORDER BY k.ord),
                        fn.nspname::text, fc.relname::text,
                        ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, ord)
                              JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
                              ORDER BY k.ord)
                 FROM pg_constraint con
                 JOIN pg_class c ON c.oid = con.conrelid
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 LEFT JOIN pg_class fc ON fc.oid = con.confrelid
                 LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
                 WHERE con.contype IN ('p', 'f') AND {SYSTEM_SCHEMAS}
                 ORDER BY n.nspname, c.relname, con.conname"
            ),
            &[],
        )
        .await
        .map_err(query_error)?;
    for row in rows {
        let Some(&at) = index.get(&(row.get(0), row.get(1))) else { continue };
        let (contype, columns): (String, Vec<String>) = (row.get(2), row.get(4));
        if contype == "p" {
            tables[at].primary_key = columns;
        } else {
            let (ref_schema, ref_table): (Option<String>, Option<String>) = (row.get(5), row.get(6));
            tables[at].foreign_keys.push(ForeignKey {
                name: row.get(3),
                columns,
                ref_table: qualified(&ref_schema.unwrap_or_default(), &ref_table.unwrap_or_default()),
                ref_columns: row.get(7),
            });
        }
    }
    Ok(())
}

/// Every index but the primary key's, keys as PostgreSQL prints them (a column, or an expression).
async fn read_indexes(
    client: &Client,
    tables: &mut [TableInfo],
    index: &HashMap<(String, String), usize>,
) -> Result<(), WorkerError> {
    let rows = client
        .query(
            &format!(
                "SELECT n.nspname::text, c.relname::text, i.relname::text, ix.indisunique,
                        ARRAY(SELECT pg_get_indexdef(ix.indexrelid, k, true)
                              FROM generate_series(1, ix.indnkeyatts::int) k ORDER BY k)
                 FROM pg_index ix
                 JOIN pg_class c ON c.oid = ix.indrelid
                 JOIN pg_class i ON i.oid = ix.indexrelid
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE NOT ix.indisprimary AND {SYSTEM_SCHEMAS}
                 ORDER BY n.nspname, c.relname, i.relname"
            ),
            &[],
        )
        .await
        .map_err(query_error)?;
    for row in rows {
        let Some(&at) = index.get(&(row.get(0), row.get(1))) else { continue };
        tables[at].indexes.push(IndexInfo { name: row.get(2), columns: row.get(4), unique: row.get(3) });
    }
    Ok(())
}

/// A table's name as a query writes it.
fn qualified(schema: &str, table: &str) -> String {
    if schema == "public" { table.to_owned() } else { format!("{schema}.{table}") }
}

/// The logical type of a column from its base type's name (domains looked through), its `typtype` and its
/// `typcategory`: enums are text and arrays JSON, as their values travel in results.
fn logical_of(base: &str, typtype: &str, category: &str) -> LogicalType {
    match (typtype, category, base) {
        ("e", _, _) => LogicalType::Text,
        (_, "A", _) => LogicalType::Json,
        (_, _, "time without time zone" | "time with time zone") => LogicalType::Time,
        (_, _, "interval") => LogicalType::Interval,
        (_, _, "xml" | "citext" | "\"char\"") => LogicalType::Text,
        _ => logical_from_name(base),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_types() {
        assert_eq!(qualified("public", "orders"), "orders");
        assert_eq!(qualified("sales", "orders"), "sales.orders");
        assert_eq!(logical_of("mood", "e", "E"), LogicalType::Text);
        assert_eq!(logical_of("integer[]", "b", "A"), LogicalType::Json);
        assert_eq!(logical_of("numeric", "b", "N"), LogicalType::Decimal);
        assert_eq!(logical_of("time without time zone", "b", "D"), LogicalType::Time);
        assert_eq!(logical_of("character varying", "b", "S"), LogicalType::Text);
    }
}
