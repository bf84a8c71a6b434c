//! MySQL and MariaDB metadata from `information_schema`, for the source's database: tables and views, their
//! columns (types, nullability, comments), the storage engine's row estimates and table comments, primary and
//! foreign keys (`TABLE_CONSTRAINTS` with `KEY_COLUMN_USAGE`) and indexes (`STATISTICS`).

use std::collections::HashMap;

use mysql_async::prelude::{FromValue, Queryable};
use mysql_async::{Conn, Row};
use polystoreiq_protocol::types::{ColumnInfo, ForeignKey, IndexInfo, SchemaSnapshot, TableInfo, TableKind};
use polystoreiq_protocol::worker::WorkerError;

use super::columns::logical_from_name;
use super::query_error;

pub async fn read(conn: &mut Conn) -> Result<SchemaSnapshot, WorkerError> {
    let rows: Vec<Row> = conn
        .exec(
            "SELECT c.TABLE_NAME, t.TABLE_TYPE, c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE, c.IS_NULLABLE = 'YES',
                    t.TABLE_ROWS, t.TABLE_COMMENT, c.COLUMN_COMMENT
             FROM information_schema.COLUMNS c
             JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
             WHERE c.TABLE_SCHEMA = DATABASE()
             ORDER BY CAST(c.TABLE_NAME AS BINARY), c.ORDINAL_POSITION",
            (),
        )
        .await
        .map_err(query_error)?;
    let mut tables: Vec<TableInfo> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for mut row in rows {
        let name: String = get(&mut row, 0)?;
        let at = match index.get(&name) {
            Some(&at) => at,
            None => {
                let kind: String = get(&mut row, 1)?;
                let view = kind.contains("VIEW");
                let kind = if view { TableKind::View } else { TableKind::Table };
                let mut table = TableInfo::new(name.clone(), kind, get::<Option<u64>>(&mut row, 6)?, Vec::new());
                // A view's TABLE_COMMENT is the word VIEW, not a comment anyone wrote.
                table.comment = non_empty(get(&mut row, 7)?).filter(|_| !view);
                tables.push(table);
                index.insert(name, tables.len() - 1);
                tables.len() - 1
            }
        };
        let (data_type, db_type): (String, String) = (get(&mut row, 3)?, get(&mut row, 4)?);
        tables[at].columns.push(ColumnInfo {
            name: get(&mut row, 2)?,
            logical: logical_from_name(&data_type, &db_type),
            db_type,
            nullable: get::<i64>(&mut row, 5)? != 0,
            comment: non_empty(get(&mut row, 8)?),
            sample: None,
        });
    }
    read_keys(conn, &mut tables, &index).await?;
    read_indexes(conn, &mut tables, &index).await?;
    let fetched_at_ms = crate::unix_ms_now();
    Ok(SchemaSnapshot { tables, fetched_at_ms, cache: None })
}

/// Primary and foreign keys, one row per key column, in key order.
async fn read_keys(
    conn: &mut Conn,
    tables: &mut [TableInfo],
    index: &HashMap<String, usize>,
) -> Result<(), WorkerError> {
    let rows: Vec<Row> = conn
        .exec(
            "SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, tc.CONSTRAINT_TYPE, k.COLUMN_NAME,
                    k.REFERENCED_TABLE_SCHEMA = DATABASE(), k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME,
                    k.REFERENCED_COLUMN_NAME
             FROM information_schema.KEY_COLUMN_USAGE k
             JOIN information_schema.TABLE_CONSTRAINTS tc
               ON tc.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND tc.TABLE_SCHEMA = k.TABLE_SCHEMA
              AND tc.TABLE_NAME = k.TABLE_NAME AND tc.CONSTRAINT_NAME = k.CONSTRAINT_NAME
             WHERE k.TABLE_SCHEMA = DATABASE() AND tc.CONSTRAINT_TYPE IN ('PRIMARY KEY', 'FOREIGN KEY')
             ORDER BY CAST(k.TABLE_NAME AS BINARY), CAST(k.CONSTRAINT_NAME AS BINARY), k.ORDINAL_POSITION",
            (),
        )
        .await
        .map_err(query_error)?;
    for mut row in rows {
        let table: String = get(&mut row, 0)?;
        let Some(&at) = index.get(&table) else { continue };
        let (name, kind, column): (String, String, String) = (get(&mut row, 1)?, get(&mut row, 2)?, get(&mut row, 3)?);
        let table = &mut tables[at];
        if kind == "PRIMARY KEY" {
            table.primary_key.push(column);
            continue;
        }
        let same_schema = get::<Option<i64>>(&mut row, 4)?.unwrap_or(1) != 0;
        let ref_schema: Option<String> = get(&mut row, 5)?;
        let ref_table: String = get::<Option<String>>(&mut row, 6)?.unwrap_or_default();
        let ref_table = match ref_schema {
            Some(schema) if !same_schema => format!("{schema}.{ref_table}"),
            _ => ref_table,
        };
        let ref_column: String = get::<Option<String>>(&mut row, 7)?.unwrap_or_default();
        match table.foreign_keys.last_mut() {
            Some(key) if key.name.as_deref() == Some(name.as_str()) => {
                key.columns.push(column);
                key.ref_columns.push(ref_column);
            }
            _ => table.foreign_keys.push(ForeignKey {
                name: Some(name),
                columns: vec![column],
                ref_table,
                ref_columns: vec![ref_column],
            }),
        }
    }
    Ok(())
}

/// Every index but the primary key, one row per key part, in order. A functional key part (MySQL 8) has no
/// column name and is shown as `(expression)`.
async fn read_indexes(
    conn: &mut Conn,
    tables: &mut [TableInfo],
    index: &HashMap<String, usize>,
) -> Result<(), WorkerError> {
    let rows: Vec<Row> = conn
        .exec(
            "SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE = 0, COLUMN_NAME
             FROM information_schema.STATISTICS
             WHERE TABLE_SCHEMA = DATABASE() AND INDEX_NAME <> 'PRIMARY'
             ORDER BY CAST(TABLE_NAME AS BINARY), CAST(INDEX_NAME AS BINARY), SEQ_IN_INDEX",
            (),
        )
        .await
        .map_err(query_error)?;
    for mut row in rows {
        let table: String = get(&mut row, 0)?;
        let Some(&at) = index.get(&table) else { continue };
        let (name, unique): (String, i64) = (get(&mut row, 1)?, get(&mut row, 2)?);
        let column = get::<Option<String>>(&mut row, 3)?.unwrap_or_else(|| "(expression)".to_owned());
        let indexes = &mut tables[at].indexes;
        match indexes.last_mut() {
            Some(last) if last.name == name => last.columns.push(column),
            _ => indexes.push(IndexInfo { name, columns: vec![column], unique: unique != 0 }),
        }
    }
    Ok(())
}

fn non_empty(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.is_empty())
}

/// One value of a metadata row.
fn get<T: FromValue>(row: &mut Row, index: usize) -> Result<T, WorkerError> {
    match row.take_opt::<T, _>(index) {
        Some(Ok(value)) => Ok(value),
        _ => Err(WorkerError::Query(format!("information_schema returned an unexpected value in column {index}"))),
    }
}
