//! The DuckDB connector: validates CSV/JSON/Parquet files, imports them, reports their schema, and runs
//! read-only queries over them.
//!
//! Every connection is opened the same way (see [`open`]): extensions neither installed nor autoloaded, memory and
//! threads capped, `allowed_paths` listing exactly the source's files, then external access switched off and the
//! configuration locked, so a query cannot reach any other file, the network, or the settings themselves.
//! Temporary files go to a directory inside the worker's scratch directory (its working directory, which the
//! broker removes when the run ends), at most [`SessionLimits::temp_space_mb`] of them, instead of DuckDB's
//! default of 90% of the free disk.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use duckdb::{AccessMode, Config, Connection};
use polystoreiq_protocol::types::{
    ColumnInfo, FileKind, FileTable, LogicalType, SchemaSnapshot, TableInfo, TableKind, TableStorage,
};
use polystoreiq_protocol::worker::{
    DuckLimits, FileFact, FileSource, FromWorker, ImportJob, JobDone, QueryJob, ResolvedRelation, SessionLimits,
    WorkerError,
};
use sha2::{Digest, Sha256};

use crate::Emit;
use crate::arrow_map;
use crate::batch::Batcher;
use crate::serve::FrameSink;

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
        ingest(&job.source, database, &job.limits, session)?;
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
    out.emit(&FromWorker::Files(file_facts(&job.source)?))?;
    out.emit(&FromWorker::Schema(schema))?;
    Ok(crate::done(0, false, started))
}

/// Size, modification time and SHA-256 of every file of the source, as provenance for the app state.
fn file_facts(source: &FileSource) -> Result<Vec<FileFact>, WorkerError> {
    let mut facts = Vec::new();
    for table in &source.tables {
        for path in &table.paths {
            let unreadable = |err: std::io::Error| WorkerError::InvalidFile {
                path: path.clone(),
                reason: format!("cannot be read: {err}"),
            };
            let mut file = File::open(path).map_err(unreadable)?;
            let meta = file.metadata().map_err(unreadable)?;
            let mut hasher = Sha256::new();
            std::io::copy(&mut file, &mut hasher).map_err(unreadable)?;
            let sha256 = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
            let modified_ms =
                meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_millis() as i64);
            facts.push(FileFact {
                table: table.table.clone(),
                path: path.clone(),
                size: meta.len(),
                modified_ms,
                sha256,
            });
        }
    }
    Ok(facts)
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
    let columns = arrow_map::result_columns(&batches.get_schema());
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
            arrow_map::append_rows(&record, offset, n, batch.columns());
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

/// Opens an in-memory DuckDB over the source: views for every table, then locked down.
pub fn open(source: &FileSource, limits: &DuckLimits, session: &SessionLimits) -> Result<Connection, WorkerError> {
    let conn = Connection::open_in_memory_with_flags(base_config(limits)?).map_err(internal)?;
    let mut allowed: Vec<&str> = source.tables.iter().flat_map(|t| t.paths.iter().map(String::as_str)).collect();
    if let Some(db) = &source.database {
        allowed.push(db);
    }
    let mut setup = temp_setup(session)?;
    setup += &format!("SET allowed_paths = [{}];\n", sql_list(&allowed));
    if let Some(db) = &source.database {
        setup += &format!("ATTACH {} AS ingested (READ_ONLY);\n", sql_string(db));
    }
    for table in &source.tables {
        let body = match table.storage {
            TableStorage::Ingested => format!("SELECT * FROM ingested.{}", sql_ident(&table.table)),
            TableStorage::InPlace => format!("SELECT * FROM {}", reader(table)),
        };
        setup += &format!("CREATE VIEW {} AS {body};\n", sql_ident(&table.table));
    }
    setup += "SET enable_external_access = false;\nSET lock_configuration = true;\n";
    conn.execute_batch(&setup).map_err(|err| open_error(source, err))?;
    Ok(conn)
}

/// The directory DuckDB spills into: inside the worker's working directory, which the launcher makes a fresh
/// scratch directory per run (mode 0700, removed when the run ends, the only place the sandbox lets a query
/// worker write). A relative working directory cannot be, so this is absolute.
pub fn temp_directory() -> Result<std::path::PathBuf, WorkerError> {
    let cwd = std::env::current_dir()
        .map_err(|err| WorkerError::Internal(format!("cannot find the worker's scratch directory: {err}")))?;
    Ok(cwd.join("duckdb-temp"))
}

/// Where and how much DuckDB may spill, as statements for a connection's setup, before its configuration is locked.
/// Statements, not open-time options: DuckDB 1.5 shows a `max_temp_directory_size` given when the database is
/// opened but does not enforce it (a sort then wrote 347 MB of temporary files under a 5 MiB limit); set on the
/// connection, the limit holds.
fn temp_setup(session: &SessionLimits) -> Result<String, WorkerError> {
    let temp = temp_directory()?;
    let temp = temp
        .to_str()
        .ok_or_else(|| WorkerError::Internal(format!("the scratch directory {} is not UTF-8", temp.display())))?;
    Ok(format!(
        "SET temp_directory = {};\nSET max_temp_directory_size = '{}MiB';\n",
        sql_string(temp),
        session.temp_space_mb.max(1)
    ))
}

fn base_config(limits: &DuckLimits) -> Result<Config, WorkerError> {
    Config::default()
        .enable_autoload_extension(false)
        .and_then(|c| c.with("autoinstall_known_extensions", "false"))
        .and_then(|c| c.with("allow_community_extensions", "false"))
        .and_then(|c| c.with("allow_unsigned_extensions", "false"))
        .and_then(|c| c.max_memory(&format!("{}MB", limits.memory_limit_mb)))
        .and_then(|c| c.threads(i64::from(limits.threads.max(1))))
        .map_err(internal)
}

/// Copies the tables the broker chose to ingest into the source's own database file, atomically.
fn ingest(
    source: &FileSource,
    database: &str,
    limits: &DuckLimits,
    session: &SessionLimits,
) -> Result<(), WorkerError> {
    let tmp = format!("{database}.importing");
    let _ = std::fs::remove_file(&tmp);
    let _ = std::fs::remove_file(format!("{tmp}.wal"));
    let config = base_config(limits)?.access_mode(AccessMode::ReadWrite).map_err(internal)?;
    let conn = Connection::open_with_flags(&tmp, config).map_err(internal)?;
    let files: Vec<&str> = source.tables.iter().flat_map(|t| t.paths.iter().map(String::as_str)).collect();
    let mut setup = temp_setup(session)?;
    setup += &format!(
        "SET allowed_paths = [{}];\nSET enable_external_access = false;\nSET lock_configuration = true;\n",
        sql_list(&files)
    );
    for table in source.tables.iter().filter(|t| t.storage == TableStorage::Ingested) {
        setup += &format!("CREATE TABLE {} AS SELECT * FROM {};\n", sql_ident(&table.table), reader(table));
    }
    setup += "CHECKPOINT;\n";
    let created = conn.execute_batch(&setup).map_err(|err| open_error(source, err));
    drop(conn);
    if let Err(err) = created {
        // A failed import leaves nothing behind.
        let _ = std::fs::remove_file(&tmp);
        let _ = std::fs::remove_file(format!("{tmp}.wal"));
        return Err(err);
    }
    std::fs::rename(&tmp, database)
        .map_err(|err| WorkerError::Internal(format!("cannot move the imported database into place: {err}")))
}

/// The table function that reads a file table.
fn reader(table: &FileTable) -> String {
    let paths: Vec<&str> = table.paths.iter().map(String::as_str).collect();
    let list = sql_list(&paths);
    match table.kind {
        FileKind::Csv => format!("read_csv([{list}], union_by_name = true)"),
        FileKind::Json => format!("read_json_auto([{list}], union_by_name = true)"),
        FileKind::Parquet => format!("read_parquet([{list}], union_by_name = true)"),
    }
}

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
    let fetched_at_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
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

/// Checks what can be checked before DuckDB reads a file: it exists, is a regular readable file, is within the
/// size limit, is not empty, and starts like the format its name claims.
pub fn validate_file(path: &str, kind: FileKind, max_bytes: u64) -> Result<(), WorkerError> {
    let invalid = |reason: String| WorkerError::InvalidFile { path: path.to_owned(), reason };
    let meta = std::fs::metadata(path).map_err(|err| invalid(format!("cannot be read: {err}")))?;
    if !meta.is_file() {
        return Err(invalid("is not a regular file".into()));
    }
    if meta.len() > max_bytes {
        return Err(WorkerError::FileTooLarge { path: path.to_owned(), size: meta.len(), limit: max_bytes });
    }
    if meta.len() == 0 {
        return Err(invalid("is empty (0 bytes)".into()));
    }
    let mut file = File::open(path).map_err(|err| invalid(format!("cannot be opened: {err}")))?;
    let mut head = [0u8; 4096];
    let n = read_up_to(&mut file, &mut head).map_err(|err| invalid(format!("cannot be read: {err}")))?;
    let head = &head[..n];
    match kind {
        FileKind::Parquet => {
            let mut tail = [0u8; 4];
            let ok_tail = meta.len() >= 8
                && file.seek(SeekFrom::End(-4)).is_ok()
                && file.read_exact(&mut tail).is_ok()
                && &tail == b"PAR1";
            if !head.starts_with(b"PAR1") || !ok_tail {
                return Err(invalid(
                    "is not a Parquet file (no PAR1 magic); was it renamed from another format?".into(),
                ));
            }
        }
        FileKind::Json => {
            let first =
                head.iter().copied().find(|b| !b.is_ascii_whitespace() && *b != 0xEF && *b != 0xBB && *b != 0xBF);
            if !matches!(first, Some(b'{' | b'[')) {
                return Err(invalid("is not JSON: it must hold an array of objects or one object per line".into()));
            }
        }
        FileKind::Csv => {
            if head.contains(&0) {
                return Err(invalid("is binary, not CSV text; pick a .csv/.tsv text file".into()));
            }
        }
    }
    Ok(())
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

fn open_error(source: &FileSource, err: duckdb::Error) -> WorkerError {
    let message = err.to_string();
    // Name the file DuckDB choked on, when it says which.
    let path = source
        .tables
        .iter()
        .flat_map(|t| t.paths.iter())
        .find(|p| message.contains(p.as_str()))
        .or_else(|| source.tables.first().and_then(|t| t.paths.first()))
        .cloned()
        .unwrap_or_default();
    let hint = if message.contains("Invalid Input Error") || message.contains("Error when sniffing") {
        " (DuckDB could not parse it; check the delimiter, quoting and encoding)"
    } else {
        ""
    };
    WorkerError::InvalidFile { path, reason: format!("{}{hint}", first_line(&message)) }
}

fn query_error(err: duckdb::Error) -> WorkerError {
    WorkerError::Query(err.to_string())
}

fn internal(err: duckdb::Error) -> WorkerError {
    WorkerError::Internal(err.to_string())
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// A SQL string literal.
pub fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A SQL identifier, always quoted.
pub fn sql_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

fn sql_list(items: &[&str]) -> String {
    items.iter().map(|s| sql_string(s)).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

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
