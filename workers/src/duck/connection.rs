//! The one way a DuckDB connection is opened (extensions neither installed nor autoloaded, memory and threads
//! capped, `allowed_paths` listing exactly the source's files, then external access off and the configuration
//! locked), the ingestion of tables into the source's own database file, and the SQL quoting both use.

use duckdb::{AccessMode, Config, Connection};
use polystoreiq_protocol::types::{FileKind, FileTable, TableStorage};
use polystoreiq_protocol::worker::{DuckLimits, FileSource, SessionLimits, WorkerError};

use super::internal;

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
pub(super) fn ingest(
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

pub(super) fn open_error(source: &FileSource, err: duckdb::Error) -> WorkerError {
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
