//! The MySQL and MariaDB connector: connection test, metadata, and read-only queries streamed in batches.
//!
//! The session is read-only from its first statement (`SET SESSION TRANSACTION READ ONLY`), so a statement that
//! commits implicitly (DDL does, and starts a fresh transaction) still cannot write; each query also runs inside
//! `START TRANSACTION READ ONLY` under the server's execution time limit (`max_statement_time` on MariaDB,
//! `max_execution_time` on MySQL; a statement that lifts the limit for itself is stopped with `KILL QUERY` a
//! second past it) and ends in `ROLLBACK`. The user's SQL only ever goes through a prepared
//! statement (one statement, binary protocol) and runs only if the server says it returns rows. No local-infile
//! handler exists, so `LOAD DATA LOCAL` can never read a file here; the connection never switches to a Unix socket.
//! Before the query the worker reports its connection id, which a cancel job stops with `KILL QUERY`.
//!
//! Before any user text the session's `sql_mode` is pinned to [`SQL_MODE`], which has neither `ANSI_QUOTES` nor
//! `NO_BACKSLASH_ESCAPES`: the guardrail reads MySQL with backslash escapes in strings and `"..."` as a string,
//! and a server whose global mode says otherwise would read the same text another way (a call hidden in what the
//! guardrail took for a literal). A server that refuses the pin fails the job before the user's SQL is sent.

use std::time::{Duration, Instant};

use crate::batch::Batcher;
use crate::{Emit, done};
use futures_util::TryStreamExt;
use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::prelude::{FromValue, Queryable};
use mysql_async::{Column, Conn, DriverError, IoError, OptsBuilder, Row, SslOpts, Value};
use polystoreiq_protocol::types::{ColumnValues, DbTarget, LogicalType, ResultColumn, SourceKind, TlsMode};
use polystoreiq_protocol::worker::{
    ConnectionReport, DbAction, DbJob, FromWorker, JobDone, ServerSession, WorkerError,
};

mod metadata;

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long past its own limit a query may run before the worker gives up on the server stopping it.
const TIMEOUT_GRACE: Duration = Duration::from_secs(1);
/// The character set number MySQL uses for binary strings and blobs.
const BINARY_CHARSET: u16 = 63;
/// The session's `sql_mode`: strict and safe on MySQL 8 and MariaDB 10.11 alike, and without `ANSI_QUOTES` and
/// `NO_BACKSLASH_ESCAPES`, so the server reads strings and identifiers as the guardrail's MySQL dialect does.
pub const SQL_MODE: &str = "STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION";

/// Runs one database job, handing its frames to `emit`.
pub fn run(job: &DbJob, emit: &mut Emit<'_>) -> Result<JobDone, WorkerError> {
    if job.kind != SourceKind::Mysql {
        return Err(WorkerError::Refused(format!("the MySQL connector cannot run a {:?} job", job.kind)));
    }
    crate::block_on(async {
        let started = Instant::now();
        let mut session = connect(&job.target, job.password.as_ref().map(|c| c.0.expose())).await?;
        let result = match &job.action {
            DbAction::Test => test(&mut session, started)
                .await
                .and_then(|report| emit(FromWorker::Tested(report)))
                .map(|()| done(0, false, started)),
            DbAction::Metadata => metadata::read(&mut session.conn)
                .await
                .and_then(|schema| emit(FromWorker::Schema(schema)))
                .map(|()| done(0, false, started)),
            DbAction::Query { sql, row_limit, batch_rows, timeout_ms } => {
                let limit = Duration::from_millis(*timeout_ms).saturating_add(TIMEOUT_GRACE);
                // Before the query: the broker needs the connection id to cancel the query on the server.
                let id = match session.conn.query_first::<u64, _>("SELECT CONNECTION_ID()").await {
                    Ok(id) => id.unwrap_or_else(|| u64::from(session.conn.id())),
                    Err(err) => return Err(query_error(err)),
                };
                emit(FromWorker::ServerSession(ServerSession::Mysql { connection_id: id }))?;
                let run = query(&mut session, sql, *row_limit, *batch_rows, *timeout_ms, emit, started);
                match tokio::time::timeout(limit, run).await {
                    Ok(result) => result,
                    Err(_) => {
                        // The server did not hold the limit (a statement can lift it for itself, as MariaDB's
                        // `SET STATEMENT max_statement_time = 0 FOR ...` does): stop it there, not just here.
                        kill_query(&job.target, job.password.as_ref().map(|c| c.0.expose()), id).await;
                        Err(WorkerError::Query(format!(
                            "the query ran past its {timeout_ms} ms time limit and was stopped; narrow it (a WHERE \
                             clause, a LIMIT) and run it again"
                        )))
                    }
                }
            }
            DbAction::Cancel { session: server } => cancel(&mut session, server, started).await,
            DbAction::Check { sql, timeout_ms } => check(&mut session, sql, *timeout_ms, started).await,
        };
        // A query stopped at its row limit leaves rows unread: dropping the connection ends it (and rolls back)
        // without reading them. Otherwise say goodbye properly.
        if result.as_ref().is_ok_and(|d| !d.truncated) {
            let _ = session.conn.disconnect().await;
        }
        result
    })?
}

/// An open, read-only session and what the server said about itself.
struct Session {
    conn: Conn,
    version: String,
    mariadb: bool,
}

/// The connection options for `target`: TCP only, no local files, no clear-text password.
fn options(target: &DbTarget, password: Option<&str>) -> OptsBuilder {
    let opts = OptsBuilder::default()
        .ip_or_hostname(target.host.as_str())
        .tcp_port(target.port)
        .user(Some(target.user.as_str()))
        .pass(password)
        .db_name(Some(target.database.as_str()))
        // Never hop from TCP to the server's Unix socket: that is another account (`root@localhost`) and
        // another way out of the worker.
        .prefer_socket(false)
        .stmt_cache_size(0)
        .enable_cleartext_plugin(false)
        .local_infile_handler(None::<mysql_async::WhiteListFsHandler>);
    opts.ssl_opts(ssl_opts(target.tls))
}

/// TLS as libpq's sslmode means it, as far as the driver allows: `prefer` and `require` encrypt without checking
/// the certificate (`prefer` falls back to plain TCP when the server has no TLS, see [`open`]); `verify_full`
/// checks it against the Mozilla roots the driver carries and the host name.
fn ssl_opts(mode: TlsMode) -> Option<SslOpts> {
    match mode {
        TlsMode::Disable => None,
        TlsMode::Prefer | TlsMode::Require => {
            Some(SslOpts::default().with_danger_accept_invalid_certs(true).with_danger_skip_domain_validation(true))
        }
        TlsMode::VerifyFull => Some(SslOpts::default()),
    }
}

/// Opens a connection; with `prefer`, a server without TLS is asked again in plain TCP.
async fn open(target: &DbTarget, password: Option<&str>) -> Result<Conn, mysql_async::Error> {
    match Conn::new(options(target, password)).await {
        Err(mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer)) if target.tls == TlsMode::Prefer => {
            Conn::new(options(target, password).ssl_opts(None)).await
        }
        other => other,
    }
}

async fn connect(target: &DbTarget, password: Option<&str>) -> Result<Session, WorkerError> {
    let conn = match tokio::time::timeout(CONNECT_TIMEOUT, open(target, password)).await {
        Ok(conn) => conn.map_err(|err| connect_error(target, &err))?,
        Err(_) => {
            return Err(WorkerError::Unreachable(format!(
                "MySQL at {}:{} did not answer within {} s; is the server running and the host and port right?",
                target.host,
                target.port,
                CONNECT_TIMEOUT.as_secs()
            )));
        }
    };
    let mut session = Session { conn, version: String::new(), mariadb: false };
    // Fixed statements of ours, sent as text; nothing of the user's is ever sent this way.
    session.conn.query_drop("SET NAMES utf8mb4").await.map_err(query_error)?;
    // TIMESTAMP values come back in UTC, so they travel as instants; the string rules are the guardrail's. One
    // statement, so the pin costs no round trip of its own.
    session.conn.query_drop(format!("SET time_zone = '+00:00', SESSION sql_mode = '{SQL_MODE}'")).await.map_err(
        |err| match err {
            mysql_async::Error::Server(e) => WorkerError::SessionPin {
                setting: format!("sql_mode = '{SQL_MODE}' (and time_zone)"),
                reason: format!("the server refused it: {} [error {}]", e.message, e.code),
            },
            other => query_error(other),
        },
    )?;
    // Every transaction of this session is read-only, including the one a DDL statement's implicit commit would
    // start: `START TRANSACTION READ ONLY` alone does not stop `CREATE TABLE`.
    session.conn.query_drop("SET SESSION TRANSACTION READ ONLY").await.map_err(query_error)?;
    // The version, and the mode as the server now holds it: checked, since the guardrail's reading depends on it.
    let (version, mode): (String, String) = session
        .conn
        .query_first("SELECT VERSION(), @@SESSION.sql_mode")
        .await
        .map_err(query_error)?
        .unwrap_or_default();
    let modes: Vec<&str> = mode.split(',').collect();
    if let Some(bad) = ["ANSI_QUOTES", "NO_BACKSLASH_ESCAPES", "ANSI"].into_iter().find(|m| modes.contains(m)) {
        return Err(WorkerError::SessionPin {
            setting: "sql_mode".into(),
            reason: format!("the server holds {mode:?} after setting {SQL_MODE:?}: {bad} changes how it reads strings"),
        });
    }
    session.version = version;
    session.mariadb = session.version.to_ascii_lowercase().contains("mariadb");
    Ok(session)
}

/// Stops the statement connection `id` is running, from a second connection. Best effort: if this fails too, the
/// server ends the statement when it next notices the first connection is gone.
async fn kill_query(target: &DbTarget, password: Option<&str>, id: u64) {
    let Ok(Ok(mut conn)) = tokio::time::timeout(CONNECT_TIMEOUT, Conn::new(options(target, password))).await else {
        return;
    };
    let _ = tokio::time::timeout(CONNECT_TIMEOUT, conn.query_drop(format!("KILL QUERY {id}"))).await;
    let _ = conn.disconnect().await;
}

/// Stops what another worker's connection runs, with `KILL QUERY` from this one (a user may kill its own
/// connections' statements). Counts one operation when that connection was running a statement.
async fn cancel(session: &mut Session, server: &ServerSession, started: Instant) -> Result<JobDone, WorkerError> {
    let ServerSession::Mysql { connection_id } = server else {
        return Err(WorkerError::Refused(format!("a MySQL worker cannot cancel {server:?}")));
    };
    let command: Option<String> = session
        .conn
        .exec_first("SELECT COMMAND FROM information_schema.PROCESSLIST WHERE ID = ?", (connection_id,))
        .await
        .map_err(query_error)?;
    let running = command.is_some_and(|c| c != "Sleep");
    match session.conn.query_drop(format!("KILL QUERY {connection_id}")).await {
        Ok(()) => Ok(done(u64::from(running), false, started)),
        // ER_NO_SUCH_THREAD: the connection is gone, and its statement with it.
        Err(mysql_async::Error::Server(e)) if e.code == 1094 => Ok(done(0, false, started)),
        Err(err) => Err(query_error(err)),
    }
}

/// A connection failure, typed and worded without the password.
fn connect_error(target: &DbTarget, err: &mysql_async::Error) -> WorkerError {
    let place = format!("{}@{}:{}/{}", target.user, target.host, target.port, target.database);
    match err {
        mysql_async::Error::Server(e) if e.code == 1045 => WorkerError::AuthFailed(format!(
            "MySQL refused the credentials for {place}; check the user and enter the password again"
        )),
        mysql_async::Error::Server(e) if e.code == 1049 => WorkerError::Query(format!(
            "MySQL has no database {} at {}:{}; check the database name in the URL",
            target.database, target.host, target.port
        )),
        mysql_async::Error::Server(e) if e.code == 1044 => WorkerError::AuthFailed(format!(
            "MySQL user {} may not use database {}; grant it SELECT on {}.* or pick another database",
            target.user, target.database, target.database
        )),
        mysql_async::Error::Server(e) => {
            WorkerError::Query(format!("MySQL refused the connection to {place}: {} [error {}]", e.message, e.code))
        }
        mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer) => WorkerError::Tls(format!(
            "the server at {}:{} does not offer TLS and this source requires it; enable TLS on the server or \
             add the source with --tls prefer",
            target.host, target.port
        )),
        mysql_async::Error::Driver(DriverError::CleartextPluginDisabled) => WorkerError::AuthFailed(format!(
            "MySQL asks {place} for the password in clear text (mysql_clear_password), which PolyStoreIQ never \
             sends; use an account with another authentication plugin"
        )),
        mysql_async::Error::Io(IoError::Tls(tls)) => WorkerError::Tls(format!(
            "the TLS handshake with MySQL at {}:{} failed ({tls}); with --tls verify-full the certificate must \
             be signed by a public certificate authority and name the host; --tls require encrypts without \
             checking it",
            target.host, target.port
        )),
        mysql_async::Error::Io(io) => WorkerError::Unreachable(format!(
            "cannot reach MySQL at {}:{} ({io}); is the server running and the port right?",
            target.host, target.port
        )),
        other => WorkerError::Query(format!("cannot connect to MySQL at {place}: {other}")),
    }
}

async fn test(session: &mut Session, started: Instant) -> Result<ConnectionReport, WorkerError> {
    let cipher: Option<(String, String)> =
        session.conn.query_first("SHOW SESSION STATUS LIKE 'Ssl_cipher'").await.map_err(query_error)?;
    let grants: Vec<String> = session.conn.query("SHOW GRANTS FOR CURRENT_USER()").await.map_err(query_error)?;
    Ok(ConnectionReport {
        server_version: session.version.clone(),
        tls: cipher.is_some_and(|(_, value)| !value.is_empty()),
        can_write: grants.iter().any(|g| grant_can_write(g)),
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

/// Whether one line of `SHOW GRANTS` lets its grantee change anything: data, schema, files or the server.
/// A granted role (`GRANT role TO user`) is not looked into and counts as able to write, to be safe.
fn grant_can_write(grant: &str) -> bool {
    let upper = grant.to_ascii_uppercase();
    let Some(rest) = upper.strip_prefix("GRANT ") else { return false };
    let Some((privileges, _)) = rest.split_once(" ON ") else {
        return !rest.starts_with("PROXY");
    };
    // Column lists, as in `SELECT (a, b)`, hold commas of their own.
    let mut flat = String::new();
    let mut depth = 0;
    for c in privileges.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ if depth == 0 => flat.push(c),
            _ => {}
        }
    }
    flat.split(',').map(str::trim).any(|privilege| {
        let first = privilege.split_whitespace().next().unwrap_or_default();
        matches!(
            first,
            "ALL"
                | "INSERT"
                | "UPDATE"
                | "DELETE"
                | "CREATE"
                | "DROP"
                | "ALTER"
                | "INDEX"
                | "TRIGGER"
                | "EVENT"
                | "FILE"
                | "SUPER"
        )
    })
}

/// One value of a metadata row.
fn get<T: FromValue>(row: &mut Row, index: usize) -> Result<T, WorkerError> {
    match row.take_opt::<T, _>(index) {
        Some(Ok(value)) => Ok(value),
        _ => Err(WorkerError::Query(format!("information_schema returned an unexpected value in column {index}"))),
    }
}

/// Prepares `sql` in a read-only transaction without running it: the server resolves its tables and columns, so
/// a wrong name fails here.
async fn check(session: &mut Session, sql: &str, timeout_ms: u64, started: Instant) -> Result<JobDone, WorkerError> {
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

async fn query(
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

fn cast_error(name: &str, db_type: &str) -> WorkerError {
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
fn logical(column: &Column) -> LogicalType {
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
fn type_name(column: &Column) -> String {
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
fn logical_from_name(data_type: &str, column_type: &str) -> LogicalType {
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

fn push_null(column: &mut ColumnValues) {
    match column {
        ColumnValues::Bool(out) => out.push(None),
        ColumnValues::Int(out) => out.push(None),
        ColumnValues::Float(out) => out.push(None),
        ColumnValues::Text(out) => out.push(None),
        ColumnValues::Date(out) => out.push(None),
        ColumnValues::Timestamp(out) => out.push(None),
        ColumnValues::Bytes(out) => out.push(None),
    }
}

/// Appends one binary-protocol value to its column.
#[inline]
fn push_value(column: &mut ColumnValues, wire: &Column, meta: &ResultColumn, value: Value) -> Result<(), WorkerError> {
    let name = meta.name.as_str();
    let bad = || {
        WorkerError::Query(format!(
            "column {name}: a {} value PolyStoreIQ could not read; CAST it in the query, e.g. CAST({name} AS CHAR)",
            meta.db_type
        ))
    };
    if matches!(value, Value::NULL) {
        push_null(column);
        return Ok(());
    }
    match column {
        ColumnValues::Bool(out) => out.push(Some(match value {
            Value::Bytes(bits) => bits.iter().any(|&b| b != 0),
            Value::Int(i) => i != 0,
            Value::UInt(u) => u != 0,
            _ => return Err(bad()),
        })),
        ColumnValues::Int(out) => out.push(Some(match value {
            Value::Int(i) => i,
            Value::UInt(u) => i64::try_from(u).map_err(|_| bad())?,
            Value::Bytes(bits) => i64::try_from(bits_value(&bits).ok_or_else(bad)?).map_err(|_| bad())?,
            _ => return Err(bad()),
        })),
        ColumnValues::Float(out) => out.push(Some(match value {
            // Through its shortest decimal form, so FLOAT 1.1 stays 1.1 rather than 1.100000023841858.
            Value::Float(f) => f.to_string().parse().map_err(|_| bad())?,
            Value::Double(d) => d,
            _ => return Err(bad()),
        })),
        ColumnValues::Date(out) => match value {
            Value::Date(y, m, d, ..) => out.push(Some(days_from_civil(y, m, d).ok_or_else(|| zero_date(meta))?)),
            _ => return Err(bad()),
        },
        ColumnValues::Timestamp(out) => match value {
            Value::Date(y, m, d, h, mi, s, us) => {
                let days = days_from_civil(y, m, d).ok_or_else(|| zero_date(meta))?;
                let seconds = i64::from(days) * 86_400 + i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s);
                out.push(Some(seconds * 1_000_000 + i64::from(us)));
            }
            _ => return Err(bad()),
        },
        ColumnValues::Bytes(out) => match value {
            Value::Bytes(bytes) => out.push(Some(bytes)),
            _ => return Err(bad()),
        },
        ColumnValues::Text(out) => {
            let text = match value {
                Value::Bytes(bytes) if wire.column_type() == ColumnType::MYSQL_TYPE_BIT => {
                    bits_value(&bytes).ok_or_else(bad)?.to_string()
                }
                // The common case, copied once: from the driver's bytes into the column.
                Value::Bytes(bytes) => {
                    out.push(Some(std::str::from_utf8(&bytes).map_err(|_| {
                        WorkerError::Query(format!(
                            "column {name} holds bytes that are not UTF-8 text; convert it in the query, e.g. \
                             CONVERT({name} USING utf8mb4), or CAST({name} AS BINARY) to see the bytes"
                        ))
                    })?));
                    return Ok(());
                }
                Value::Int(i) => i.to_string(),
                Value::UInt(u) => u.to_string(),
                Value::Time(negative, days, h, m, s, us) => time_text(negative, days, h, m, s, us, wire.decimals()),
                _ => return Err(bad()),
            };
            out.push(Some(&text));
        }
    }
    Ok(())
}

fn zero_date(meta: &ResultColumn) -> WorkerError {
    let name = &meta.name;
    WorkerError::Query(format!(
        "column {name} holds a zero or partial date (such as 0000-00-00), which is no calendar day; select it as \
         text with CAST({name} AS CHAR), or as NULL with NULLIF({name}, '0000-00-00')"
    ))
}

/// A BIT value: big-endian bytes, at most eight.
fn bits_value(bytes: &[u8]) -> Option<u64> {
    (bytes.len() <= 8).then(|| bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm); `None` for MySQL's zero
/// and partial dates (a zero month or day).
fn days_from_civil(year: u16, month: u8, day: u8) -> Option<i32> {
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let (month, day) = (i64::from(month), i64::from(day));
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    i32::try_from(era * 146_097 + doe - 719_468).ok()
}

/// A TIME value as MySQL writes it: `[-]HH:MM:SS[.fraction]`, hours past 24 included (TIME is a duration).
fn time_text(negative: bool, days: u32, h: u8, m: u8, s: u8, us: u32, decimals: u8) -> String {
    let hours = u64::from(days) * 24 + u64::from(h);
    let sign = if negative { "-" } else { "" };
    let mut text = format!("{sign}{hours:02}:{m:02}:{s:02}");
    let digits = match decimals {
        1..=6 => usize::from(decimals),
        _ if us > 0 => 6,
        _ => 0,
    };
    if digits > 0 {
        text.push('.');
        text.push_str(&format!("{us:06}")[..digits]);
    }
    text
}

fn query_error(err: mysql_async::Error) -> WorkerError {
    match err {
        mysql_async::Error::Server(e) => {
            let hint = match e.code {
                1792 => "; PolyStoreIQ runs queries in a read-only transaction, so nothing can be changed",
                1969 | 3024 => "; the query ran past its time limit: narrow it (a WHERE clause, a LIMIT)",
                1295 => "; only queries run here (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN), one at a time",
                1064 => "; note that only one statement runs at a time",
                _ => "",
            };
            WorkerError::Query(format!("MySQL error {} ({}): {}{hint}", e.code, e.state, e.message))
        }
        mysql_async::Error::Driver(DriverError::LocalInfile(_)) => WorkerError::Refused(
            "the server asked for a file from this computer (LOAD DATA LOCAL INFILE); PolyStoreIQ never sends \
             local files"
                .into(),
        ),
        mysql_async::Error::Driver(DriverError::StmtParamsMismatch { .. }) => {
            WorkerError::Query("the query has ? placeholders; write the values into the query instead".into())
        }
        // Connected already: a query may have run, so this is never retried (see `WorkerError::ConnectionLost`).
        mysql_async::Error::Io(io) => WorkerError::ConnectionLost(format!(
            "the connection to MySQL broke while the job ran ({io}); the query may have run. Run it again once the \
             server is reachable"
        )),
        other => WorkerError::Query(format!("MySQL: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_count_days_from_the_epoch() {
        assert_eq!(days_from_civil(1970, 1, 1), Some(0));
        assert_eq!(days_from_civil(2000, 3, 1), Some(11_017));
        assert_eq!(days_from_civil(1969, 12, 31), Some(-1));
        assert_eq!(days_from_civil(2024, 2, 29), Some(19_782));
        assert_eq!(days_from_civil(0, 0, 0), None);
        assert_eq!(days_from_civil(2020, 5, 0), None);
    }

    #[test]
    fn times_are_durations_with_their_fraction() {
        assert_eq!(time_text(false, 0, 12, 34, 56, 0, 0), "12:34:56");
        assert_eq!(time_text(true, 1, 2, 0, 0, 0, 0), "-26:00:00");
        assert_eq!(time_text(false, 0, 0, 0, 1, 500_000, 3), "00:00:01.500");
        assert_eq!(time_text(false, 0, 0, 0, 1, 5, 0), "00:00:01.000005");
    }

    #[test]
    fn grants_that_write_are_recognised() {
        let check = |grant: &str, expected: bool| assert_eq!(grant_can_write(grant), expected, "{grant}");
        check("GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION", true);
        check("GRANT USAGE ON *.* TO `ro`@`%` IDENTIFIED BY PASSWORD '*ABC'", false);
        check("GRANT SELECT ON `shop`.* TO `ro`@`%`", false);
        check("GRANT SELECT, SHOW VIEW ON `shop`.* TO `ro`@`%`", false);
        check("GRANT SELECT (a, b), INSERT (c) ON `shop`.`t` TO `ro`@`%`", true);
        check("GRANT SELECT, CREATE TEMPORARY TABLES ON `shop`.* TO `u`@`%`", true);
        check("GRANT DELETE HISTORY ON `shop`.* TO `u`@`%`", true);
        check("GRANT PROXY ON ''@'%' TO 'root'@'localhost' WITH GRANT OPTION", false);
        check("GRANT `analyst` TO `u`@`%`", true);
    }

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
