//! The DuckDB connector: validates CSV/JSON/Parquet files, imports them, reports their schema, and runs
//! read-only queries over them.
//!
//! Every connection is opened the same way (see [`open`]): extensions neither installed nor autoloaded, memory and
//! threads capped, `allowed_paths` listing exactly the source's files, then external access switched off and the
//! configuration locked, so a query cannot reach any other file, the network, or the settings themselves.
//! Temporary files go to a directory inside the worker's scratch directory (its working directory, which the
//! broker removes when the run ends), at most [`SessionLimits::temp_space_mb`] of them, instead of DuckDB's
//! default of 90% of the free disk.
//!
//! The locked-down connection and ingestion are `connection.rs`; checks on the files and their provenance
//! `files.rs`; the schema `schema.rs`; Arrow values into the protocol's columns `decode.rs` (also reachable as
//! `crate::arrow_map`, its former path).

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use polystoreiq_protocol::worker::{
    FromWorker, ImportJob, JobDone, QueryJob, ResolvedRelation, SessionLimits, WorkerError,
};

use crate::Emit;
use crate::batch::Batcher;
use crate::serve::FrameSink;

mod connection;
pub mod decode;
mod files;
mod schema;

pub use connection::{open, sql_ident, sql_string, temp_directory};
pub use files::validate_file;
pub use schema::{logical_from_type_name, schema};

/// Validates the files, ingests the tables stored in the source's database, and reports the schema.
pub fn import<W: Write>(
    job: &ImportJob,
    session: &SessionLimits,
    out: &mut FrameSink<W>,
) -> Result<JobDone, WorkerError> {
    let started = Instant::now();
    for table in &job.source.tables {
        if table.paths.is_empty() {
            return Err(WorkerError::InvalidFile {
                path: table.pattern.clone(),
                reason: "matches no file; check the path or the glob".into(),
            });
        }
        for path in &table.paths {
            validate_file(path, table.kind, job.limits.max_file_bytes)?;
        }
    }
    if let Some(database) = &job.source.database {
        connection::ingest(&job.source, database, &job.limits, session)?;
    }
    let conn = open(&job.source, &job.limits, session)?;
    let schema = schema(&conn, &job.source)?;
    for (table, info) in job.source.tables.iter().zip(&schema.tables) {
        if info.row_count == Some(0) {
            return Err(WorkerError::InvalidFile {
                path: table.pattern.clone(),
                reason: "contains no rows (a header alone, or an empty array); add data or pick another file".into(),
            });
        }
    }
    out.emit(&FromWorker::Files(files::file_facts(&job.source)?))?;
    out.emit(&FromWorker::Schema(schema))?;
    Ok(crate::done(0, false, started))
}

/// Runs one query and streams its rows to the broker in batches of `batch_rows`, stopping at `row_limit`.
///
/// Encoding and writing happen on a second thread, so DuckDB produces the next batch while the last one is on
/// its way; two batches in flight at most bound the memory.
pub fn query<W: Write + Send>(
    job: &QueryJob,
    session: &SessionLimits,
    out: &mut FrameSink<W>,
) -> Result<JobDone, WorkerError> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<FromWorker>(2);
    std::thread::scope(|scope| {
        let writer = scope.spawn(move || -> Result<(), WorkerError> {
            for frame in rx {
                out.emit(&frame)?;
            }
            Ok(())
        });
        let result = stream_query(job, session, &mut |frame| {
            tx.send(frame).map_err(|_| WorkerError::Internal("the frame writer stopped".into()))
        });
        drop(tx);
        let written = writer.join().unwrap_or_else(|_| Err(WorkerError::Internal("the frame writer panicked".into())));
        match (result, written) {
            (Ok(done), Ok(())) => Ok(done),
            // A write failure explains a send failure: report the write failure.
            (_, Err(err)) | (Err(err), Ok(())) => Err(err),
        }
    })
}

/// Prepares one query without running it: DuckDB binds every table, column and function, so a wrong name or a
/// type error fails here, before the user approves the query. Then DuckDB's plan (`EXPLAIN (FORMAT JSON)`, which
/// plans without executing) says which tables and table functions the query scans, views expanded: the broker
/// checks those again, apart from the guardrail's reading of the text.
pub fn check(job: &QueryJob, session: &SessionLimits, emit: &mut Emit<'_>) -> Result<JobDone, WorkerError> {
    let started = Instant::now();
    let conn = open(&job.source, &job.limits, session)?;
    conn.prepare(&job.sql).map_err(query_error)?;
    let mut stmt = conn.prepare(&format!("EXPLAIN (FORMAT JSON) {}", job.sql)).map_err(query_error)?;
    let plans: Vec<String> = stmt
        .query_map([], |row| row.get::<_, String>(1))
        .map_err(query_error)?
        .collect::<Result<_, _>>()
        .map_err(query_error)?;
    let mut relations = Vec::new();
    for plan in plans {
        let plan: serde_json::Value = serde_json::from_str(&plan)
            .map_err(|err| WorkerError::Query(format!("DuckDB's plan is not JSON: {err}")))?;
        plan_scans(&plan, &mut relations);
    }
    emit(FromWorker::Resolved(relations))?;
    Ok(crate::done(0, false, started))
}

/// Every table (`"Table": "db.schema.name"`) and table function (`"Function": "NAME"`) a DuckDB plan scans.
fn plan_scans(node: &serde_json::Value, out: &mut Vec<ResolvedRelation>) {
    match node {
        serde_json::Value::Object(map) => {
            if let Some(serde_json::Value::Object(info)) = map.get("extra_info") {
                let table = info.get("Table").and_then(|v| v.as_str()).map(|table| {
                    let (schema, name) = table.rsplit_once('.').unwrap_or(("main", table));
                    let schema = schema.rsplit('.').next().unwrap_or("main");
                    ResolvedRelation { schema: schema.to_owned(), name: name.to_owned(), table_function: false }
                });
                let function = info.get("Function").and_then(|v| v.as_str()).map(|name| ResolvedRelation {
                    schema: String::new(),
                    name: name.to_ascii_lowercase(),
                    table_function: true,
                });
                for relation in table.into_iter().chain(function) {
                    if !out.contains(&relation) {
                        out.push(relation);
                    }
                }
            }
            map.values().for_each(|value| plan_scans(value, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| plan_scans(item, out)),
        _ => {}
    }
}

/// Runs one query and hands its columns, then its batches, to `emit`. The worker's job and the in-process
/// benchmark baseline share this function.
pub fn stream_query(job: &QueryJob, session: &SessionLimits, emit: &mut Emit<'_>) -> Result<JobDone, WorkerError> {
    let started = Instant::now();
    let conn = open(&job.source, &job.limits, session)?;
    let mut stmt = conn.prepare(&job.sql).map_err(query_error)?;
    let batches = stmt.stream_arrow([]).map_err(query_error)?;
    let columns = decode::result_columns(&batches.get_schema());
    emit(FromWorker::Columns(columns.clone()))?;

    let mut batch = Batcher::new(columns.iter().map(|c| c.logical), job.batch_rows as usize);
    let mut total: u64 = 0;
    let mut truncated = false;
    let mut batches = batches;
    while let Some(record) = next_batch(&mut batches)? {
        let rows = record.num_rows();
        let room = (job.row_limit - total) as usize;
        if room == 0 {
            truncated = rows > 0;
            if truncated {
                break;
            }
            continue;
        }
        let take = rows.min(room);
        let mut offset = 0;
        while offset < take {
            let n = (take - offset).min(batch.room());
            decode::append_rows(&record, offset, n, batch.columns());
            offset += n;
            batch.added(n, emit)?;
        }
        total += take as u64;
        if take < rows {
            truncated = true;
            break;
        }
    }
    batch.finish(emit)?;
    Ok(crate::done(total, truncated, started))
}

/// DuckDB's Arrow iterator panics on a fetch error (a bad value deep in a CSV, an out-of-memory): turn that
/// back into an error.
fn next_batch(batches: &mut duckdb::Arrow<'_>) -> Result<Option<duckdb::arrow::array::RecordBatch>, WorkerError> {
    match catch_unwind(AssertUnwindSafe(|| batches.next())) {
        Ok(batch) => Ok(batch),
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "the query failed while streaming".into());
            Err(WorkerError::Query(message.trim_start_matches("Failed to fetch Arrow record batch: ").to_owned()))
        }
    }
}

fn query_error(err: duckdb::Error) -> WorkerError {
    WorkerError::Query(err.to_string())
}

fn internal(err: duckdb::Error) -> WorkerError {
    WorkerError::Internal(err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use duckdb::Connection;

    /// DuckDB's own plan of a query over a table, a system view and a file reader: what the dry run reports.
    #[test]
    fn the_plan_names_every_table_and_table_function_it_scans() {
        let conn = Connection::open_in_memory().expect("duckdb");
        conn.execute_batch("CREATE TABLE orders (a INT); CREATE VIEW settings AS SELECT * FROM duckdb_settings();")
            .expect("setup");
        let scans = |sql: &str| {
            let mut stmt = conn.prepare(&format!("EXPLAIN (FORMAT JSON) {sql}")).expect("explain");
            let plans: Vec<String> =
                stmt.query_map([], |row| row.get(1)).expect("rows").map(|r| r.expect("row")).collect();
            let mut out = Vec::new();
            for plan in plans {
                plan_scans(&serde_json::from_str(&plan).expect("JSON"), &mut out);
            }
            out
        };
        let table = |schema: &str, name: &str| ResolvedRelation {
            schema: schema.into(),
            name: name.into(),
            table_function: false,
        };
        let function = |name: &str| ResolvedRelation { schema: String::new(), name: name.into(), table_function: true };
        assert_eq!(scans("SELECT * FROM orders"), [table("main", "orders")]);
        // A view is expanded: the plan shows what it really reads.
        assert_eq!(scans("SELECT * FROM settings"), [function("duckdb_settings")]);
        assert!(scans("SELECT * FROM orders, range(3)").contains(&function("range")));
    }
}
