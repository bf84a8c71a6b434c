//! The user's SQL on an open session: prepared (one statement, binary protocol) in a read-only transaction under
//! the server's time limit, then only checked, or run and streamed in batches.

use std::time::Instant;

use crate::batch::Batcher;
use crate::{Emit, done};
use futures_util::TryStreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::{Column, Row};
use polystoreiq_protocol::types::{LogicalType, ResultColumn};
use polystoreiq_protocol::worker::{FromWorker, JobDone, WorkerError};

use super::columns::{cast_error, logical, type_name};
use super::decode::push_value;
use super::{Session, query_error};

/// Prepares `sql` in a read-only transaction without running it: the server resolves its tables and columns, so
/// a wrong name fails here.
pub(super) async fn check(
    session: &mut Session,
    sql: &str,
    timeout_ms: u64,
    started: Instant,
) -> Result<JobDone, WorkerError> {
    let statement = prepare_read_only(session, sql, timeout_ms).await?;
    let _ = session.conn.close(statement).await;
    let _ = session.conn.query_drop("ROLLBACK").await;
    Ok(done(0, false, started))
}

/// Sets the statement time limit, opens a read-only transaction and prepares `sql`, which must return rows.
async fn prepare_read_only(
    session: &mut Session,
    sql: &str,
    timeout_ms: u64,
) -> Result<mysql_async::Statement, WorkerError> {
    let conn = &mut session.conn;
    let timeout_ms = timeout_ms.max(1);
    let limit = if session.mariadb {
        // MariaDB counts seconds, as a fraction, and has no max_execution_time.
        format!("SET SESSION max_statement_time = {}.{:03}", timeout_ms / 1000, timeout_ms % 1000)
    } else {
        format!("SET SESSION max_execution_time = {}", timeout_ms.min(u64::from(u32::MAX)))
    };
    conn.query_drop(limit).await.map_err(query_error)?;
    conn.query_drop("START TRANSACTION READ ONLY").await.map_err(query_error)?;
    // A prepared statement holds exactly one statement: `SELECT 1; DROP TABLE t` does not prepare.
    let statement = conn.prep(sql).await.map_err(query_error)?;
    if statement.num_columns() == 0 {
        return Err(WorkerError::Refused(
            "this statement returns no rows, so it is not a query; only queries run here (SELECT, WITH, SHOW, \
             DESCRIBE, EXPLAIN)"
                .into(),
        ));
    }
    Ok(statement)
}

pub(super) async fn query(
    session: &mut Session,
    sql: &str,
    row_limit: u64,
    batch_rows: u32,
    timeout_ms: u64,
    emit: &mut Emit<'_>,
    started: Instant,
) -> Result<JobDone, WorkerError> {
    let statement = prepare_read_only(session, sql, timeout_ms).await?;
    let conn = &mut session.conn;
    let mut result = conn.exec_iter(&statement, ()).await.map_err(query_error)?;
    let mut rows = result
        .stream::<Row>()
        .await
        .map_err(query_error)?
        .ok_or_else(|| WorkerError::Query("the statement returned no result set; only queries run here".into()))?;
    let wire: Vec<Column> = rows.columns().to_vec();
    let columns: Vec<ResultColumn> = wire
        .iter()
        .map(|c| ResultColumn { name: c.name_str().into_owned(), db_type: type_name(c), logical: logical(c) })
        .collect();
    if let Some(column) = columns.iter().find(|c| c.logical == LogicalType::Other) {
        return Err(cast_error(&column.name, &column.db_type));
    }
    emit(FromWorker::Columns(columns.clone()))?;
    let mut batch = Batcher::new(columns.iter().map(|c| c.logical), batch_rows as usize);
    let (mut total, mut truncated) = (0u64, false);
    while let Some(row) = rows.try_next().await.map_err(query_error)? {
        if total == row_limit {
            truncated = true;
            break;
        }
        // The values as the driver holds them, without `Row::unwrap`'s second pass over them.
        let values = row.unwrap_raw().into_iter().zip(batch.columns()).zip(wire.iter().zip(&columns));
        for ((value, column), (wire, meta)) in values {
            // A fresh row holds every value (none has been taken out of it); a missing one is the driver's fault, and
            // must not pass for NULL.
            let value =
                value.ok_or_else(|| WorkerError::Internal(format!("the driver lost a value of {}", meta.name)))?;
            push_value(column, wire, meta, value)?;
        }
        total += 1;
        batch.added(1, emit)?;
    }
    batch.finish(emit)?;
    drop(rows);
    drop(result);
    if !truncated {
        let _ = conn.query_drop("ROLLBACK").await;
    }
    Ok(done(total, truncated, started))
}
