//! The PostgreSQL connector: connection test, metadata, and read-only queries streamed in batches.
//!
//! Every query runs inside `BEGIN READ ONLY` with `statement_timeout` and `idle_in_transaction_session_timeout`
//! set for the transaction, through the extended query protocol only (one statement per message; the simple
//! query path, which would run `COMMIT; DROP ...`, is never used), and ends in `ROLLBACK`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{TryStreamExt, pin_mut};
use polystoreiq_protocol::types::{
    Batch, ColumnInfo, ColumnValues, DbTarget, LogicalType, ResultColumn, SchemaSnapshot, SourceKind, TableInfo,
    TableKind,
};
use polystoreiq_protocol::worker::{ConnectionReport, DbAction, DbJob, FromWorker, JobDone, WorkerError};
use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::{Client, Config, NoTls};

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs one database job, handing its frames to `emit`.
pub fn run(job: &DbJob, emit: &mut dyn FnMut(FromWorker) -> Result<(), WorkerError>) -> Result<JobDone, WorkerError> {
    if job.kind != SourceKind::Postgres {
        return Err(WorkerError::Refused(format!("no {:?} connector in this worker yet", job.kind)));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| WorkerError::Internal(format!("cannot start the connector runtime: {err}")))?;
    runtime.block_on(async {
        let started = Instant::now();
        let client = connect(&job.target, job.password.as_ref().map(|c| c.0.expose())).await?;
        match &job.action {
            DbAction::Test => {
                emit(FromWorker::Tested(test(&client, started).await?))?;
                Ok(done(0, false, started))
            }
            DbAction::Metadata => {
                emit(FromWorker::Schema(metadata(&client).await?))?;
                Ok(done(0, false, started))
            }
            DbAction::Query { sql, row_limit, batch_rows, timeout_ms } => {
                query(&client, sql, *row_limit, *batch_rows, *timeout_ms, emit, started).await
            }
        }
    })
}

fn done(rows: u64, truncated: bool, started: Instant) -> JobDone {
    JobDone { rows, truncated, elapsed_us: started.elapsed().as_micros() as u64 }
}

async fn connect(target: &DbTarget, password: Option<&str>) -> Result<Client, WorkerError> {
    if target.tls == polystoreiq_protocol::types::TlsMode::Require {
        return Err(WorkerError::Refused(
            "TLS connections are not supported yet; use --tls disable or prefer for a local server".into(),
        ));
    }
    let mut config = Config::new();
    config
        .host(&target.host)
        .port(target.port)
        .dbname(&target.database)
        .user(&target.user)
        .application_name("polystoreiq")
        .connect_timeout(CONNECT_TIMEOUT);
    if let Some(password) = password {
        config.password(password);
    }
    let (client, connection) = config.connect(NoTls).await.map_err(|err| connect_error(target, &err))?;
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            eprintln!("postgres connection ended: {err}");
        }
    });
    Ok(client)
}

/// A connection failure, typed and worded without the password.
fn connect_error(target: &DbTarget, err: &tokio_postgres::Error) -> WorkerError {
    let place = format!("{}@{}:{}/{}", target.user, target.host, target.port, target.database);
    match err.as_db_error() {
        Some(db) if db.code().code() == "28P01" || db.code().code() == "28000" => WorkerError::AuthFailed(format!(
            "PostgreSQL refused the credentials for {place}; check the user and enter the password again"
        )),
        Some(db) if db.code().code() == "3D000" => {
            WorkerError::Query(format!("PostgreSQL has no database {} at {}", target.database, target.host))
        }
        Some(db) => WorkerError::Query(format!("PostgreSQL refused the connection to {place}: {}", db.message())),
        None => WorkerError::Unreachable(format!(
            "cannot reach PostgreSQL at {}:{} ({}); is the server running and the port right?",
            target.host,
            target.port,
            root_message(err)
        )),
    }
}

/// The underlying cause of a driver error (the I/O error of a refused connection, say).
fn root_message(err: &tokio_postgres::Error) -> String {
    std::error::Error::source(err).map_or_else(|| err.to_string(), |s| s.to_string())
}

async fn test(client: &Client, started: Instant) -> Result<ConnectionReport, WorkerError> {
    let row = client
        .query_one(
            "SELECT current_setting('server_version'),
                    (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                 OR has_database_privilege(current_database(), 'CREATE')
                 OR EXISTS (SELECT 1 FROM information_schema.role_table_grants
                            WHERE grantee = current_user AND privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE'))",
            &[],
        )
        .await
        .map_err(query_error)?;
    Ok(ConnectionReport {
        server_version: row.get(0),
        tls: false,
        can_write: row.get::<_, Option<bool>>(1).unwrap_or(true),
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

async fn metadata(client: &Client) -> Result<SchemaSnapshot, WorkerError> {
    let rows = client
        .query(
            "SELECT c.table_schema, c.table_name, t.table_type, c.column_name, c.data_type, c.is_nullable = 'YES',
                    greatest(cl.reltuples, 0)::bigint
             FROM information_schema.columns c
             JOIN information_schema.tables t USING (table_schema, table_name)
             LEFT JOIN pg_namespace n ON n.nspname = c.table_schema
             LEFT JOIN pg_class cl ON cl.relnamespace = n.oid AND cl.relname = c.table_name
             WHERE c.table_schema NOT IN ('pg_catalog', 'information_schema') AND c.table_schema NOT LIKE 'pg_toast%'
             ORDER BY c.table_schema, c.table_name, c.ordinal_position",
            &[],
        )
        .await
        .map_err(query_error)?;
    let mut tables: Vec<TableInfo> = Vec::new();
    for row in rows {
        let (schema, table, kind): (String, String, String) = (row.get(0), row.get(1), row.get(2));
        let name = if schema == "public" { table } else { format!("{schema}.{table}") };
        if tables.last().is_none_or(|t| t.name != name) {
            tables.push(TableInfo {
                name,
                kind: if kind == "VIEW" { TableKind::View } else { TableKind::Table },
                row_count: Some(row.get::<_, i64>(6) as u64),
                columns: Vec::new(),
            });
        }
        let db_type: String = row.get(4);
        let column =
            ColumnInfo { name: row.get(3), logical: logical_from_name(&db_type), db_type, nullable: row.get(5) };
        if let Some(table) = tables.last_mut() {
            table.columns.push(column);
        }
    }
    let fetched_at_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    Ok(SchemaSnapshot { tables, fetched_at_ms })
}

async fn query(
    client: &Client,
    sql: &str,
    row_limit: u64,
    batch_rows: u32,
    timeout_ms: u64,
    emit: &mut dyn FnMut(FromWorker) -> Result<(), WorkerError>,
    started: Instant,
) -> Result<JobDone, WorkerError> {
    // Each of these is its own extended-protocol message: one statement, no way to smuggle a second.
    client.execute("BEGIN READ ONLY", &[]).await.map_err(query_error)?;
    let timeout = timeout_ms.max(1).to_string();
    client.execute("SELECT set_config('statement_timeout', $1, true)", &[&timeout]).await.map_err(query_error)?;
    client
        .execute("SELECT set_config('idle_in_transaction_session_timeout', $1, true)", &[&timeout])
        .await
        .map_err(query_error)?;
    let statement = client.prepare(sql).await.map_err(query_error)?;
    // Only a statement that returns rows runs: COPY, DO, SET and the like describe no columns and are refused
    // here, whatever the guardrail said.
    if statement.columns().is_empty() {
        let _ = client.execute("ROLLBACK", &[]).await;
        return Err(WorkerError::Refused("only queries that return rows may run".into()));
    }
    let columns: Vec<ResultColumn> = statement
        .columns()
        .iter()
        .map(|c| ResultColumn {
            name: c.name().to_owned(),
            db_type: c.type_().name().to_owned(),
            logical: logical(c.type_()),
        })
        .collect();
    let types: Vec<Type> = statement.columns().iter().map(|c| c.type_().clone()).collect();
    emit(FromWorker::Columns(columns.clone()))?;
    let rows = client.query_raw(&statement, std::iter::empty::<&str>()).await.map_err(query_error)?;
    pin_mut!(rows);
    let fresh = || columns.iter().map(|c| ColumnValues::empty_for(c.logical)).collect::<Vec<_>>();
    let mut pending = fresh();
    let (mut pending_rows, mut total, mut truncated) = (0usize, 0u64, false);
    while let Some(row) = rows.try_next().await.map_err(query_error)? {
        if total == row_limit {
            truncated = true;
            break;
        }
        for (i, (ty, column)) in types.iter().zip(pending.iter_mut()).enumerate() {
            let raw: Option<Raw<'_>> = row.try_get(i).map_err(query_error)?;
            push_value(column, ty, raw.map(|r| r.0), &columns[i].name)?;
        }
        pending_rows += 1;
        total += 1;
        if pending_rows == batch_rows.max(1) as usize {
            emit(FromWorker::Batch(Batch { columns: std::mem::replace(&mut pending, fresh()) }))?;
            pending_rows = 0;
        }
    }
    if pending_rows > 0 {
        emit(FromWorker::Batch(Batch { columns: pending }))?;
    }
    let _ = client.execute("ROLLBACK", &[]).await;
    Ok(done(total, truncated, started))
}

/// Any value, as its binary wire bytes.
struct Raw<'a>(&'a [u8]);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Days from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_DAYS: i32 = 10_957;
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

fn logical(ty: &Type) -> LogicalType {
    match *ty {
        Type::BOOL => LogicalType::Bool,
        Type::INT2 | Type::INT4 | Type::INT8 | Type::OID => LogicalType::Int,
        Type::FLOAT4 | Type::FLOAT8 => LogicalType::Float,
        Type::NUMERIC => LogicalType::Decimal,
        Type::DATE => LogicalType::Date,
        Type::TIMESTAMP => LogicalType::Timestamp,
        Type::TIMESTAMPTZ => LogicalType::TimestampTz,
        Type::UUID => LogicalType::Uuid,
        Type::JSON | Type::JSONB => LogicalType::Json,
        Type::BYTEA => LogicalType::Bytes,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => LogicalType::Text,
        _ => LogicalType::Other,
    }
}

fn logical_from_name(name: &str) -> LogicalType {
    match name {
        "boolean" => LogicalType::Bool,
        "smallint" | "integer" | "bigint" | "oid" => LogicalType::Int,
        "real" | "double precision" => LogicalType::Float,
        "numeric" => LogicalType::Decimal,
        "date" => LogicalType::Date,
        "timestamp without time zone" => LogicalType::Timestamp,
        "timestamp with time zone" => LogicalType::TimestampTz,
        "uuid" => LogicalType::Uuid,
        "json" | "jsonb" => LogicalType::Json,
        "bytea" => LogicalType::Bytes,
        "text" | "character varying" | "character" | "name" => LogicalType::Text,
        _ => LogicalType::Other,
    }
}

fn push_value(column: &mut ColumnValues, ty: &Type, raw: Option<&[u8]>, name: &str) -> Result<(), WorkerError> {
    let bad = || WorkerError::Query(format!("column {name}: a {} value PolyStoreIQ could not read", ty.name()));
    let int = |raw: &[u8]| -> Result<i64, WorkerError> {
        Ok(match raw.len() {
            2 => i64::from(i16::from_be_bytes(raw.try_into().map_err(|_| bad())?)),
            4 if *ty == Type::OID => i64::from(u32::from_be_bytes(raw.try_into().map_err(|_| bad())?)),
            4 => i64::from(i32::from_be_bytes(raw.try_into().map_err(|_| bad())?)),
            8 => i64::from_be_bytes(raw.try_into().map_err(|_| bad())?),
            _ => return Err(bad()),
        })
    };
    match column {
        ColumnValues::Bool(out) => out.push(raw.map(|r| r.first() == Some(&1))),
        ColumnValues::Int(out) => out.push(raw.map(int).transpose()?),
        ColumnValues::Float(out) => out.push(
            raw.map(|r| match r.len() {
                4 => Ok(f64::from(f32::from_be_bytes(r.try_into().map_err(|_| bad())?))),
                8 => Ok(f64::from_be_bytes(r.try_into().map_err(|_| bad())?)),
                _ => Err(bad()),
            })
            .transpose()?,
        ),
        ColumnValues::Date(out) => {
            out.push(raw.map(|r| int(r).map(|d| d as i32 + PG_EPOCH_DAYS)).transpose()?);
        }
        ColumnValues::Timestamp(out) => out.push(raw.map(|r| int(r).map(|us| us + PG_EPOCH_MICROS)).transpose()?),
        ColumnValues::Bytes(out) => out.push(raw.map(<[u8]>::to_vec)),
        ColumnValues::Text(out) => {
            let Some(raw) = raw else {
                out.push(None);
                return Ok(());
            };
            let text = text_value(ty, raw)?.ok_or_else(|| {
                WorkerError::Query(format!(
                    "column {name} has type {}, which PolyStoreIQ cannot show yet; cast it, e.g. {name}::text",
                    ty.name()
                ))
            })?;
            out.push(Some(&text));
        }
    }
    Ok(())
}

/// The text of a value carried as text: strings, JSON, UUIDs and exact decimals; `None` for a type not read yet.
fn text_value(ty: &Type, raw: &[u8]) -> Result<Option<String>, WorkerError> {
    let utf8 = |bytes: &[u8]| {
        String::from_utf8(bytes.to_vec()).map_err(|_| WorkerError::Query(format!("a {} value is not UTF-8", ty.name())))
    };
    Ok(Some(match *ty {
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::JSON | Type::UNKNOWN => utf8(raw)?,
        Type::JSONB => utf8(raw.get(1..).unwrap_or_default())?,
        Type::UUID if raw.len() == 16 => {
            let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
            format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
        }
        Type::NUMERIC => numeric_text(raw).ok_or_else(|| WorkerError::Query("a malformed numeric value".into()))?,
        _ => return Ok(None),
    }))
}

/// PostgreSQL's binary NUMERIC (base-10000 digits) as an exact decimal string.
fn numeric_text(raw: &[u8]) -> Option<String> {
    let word = |i: usize| raw.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let (ndigits, weight, sign, dscale) = (word(0)? as usize, word(2)? as i16, word(4)?, word(6)? as usize);
    match sign {
        0xC000 => return Some("NaN".into()),
        0xD000 => return Some("Infinity".into()),
        0xF000 => return Some("-Infinity".into()),
        _ => {}
    }
    let digits: Vec<u16> = (0..ndigits).map(|i| word(8 + 2 * i)).collect::<Option<_>>()?;
    let mut int_part = String::new();
    for i in 0..=weight.max(-1) {
        let d = digits.get(i as usize).copied().unwrap_or(0);
        if int_part.is_empty() { int_part.push_str(&d.to_string()) } else { int_part.push_str(&format!("{d:04}")) }
    }
    if int_part.is_empty() {
        int_part.push('0');
    }
    let mut frac = String::new();
    let mut position = weight as i32 + 1;
    while frac.len() < dscale {
        let d = if position < 0 { 0 } else { digits.get(position as usize).copied().unwrap_or(0) };
        frac.push_str(&format!("{d:04}"));
        position += 1;
    }
    frac.truncate(dscale);
    let sign = if sign == 0x4000 { "-" } else { "" };
    Some(if dscale > 0 { format!("{sign}{int_part}.{frac}") } else { format!("{sign}{int_part}") })
}

fn query_error(err: tokio_postgres::Error) -> WorkerError {
    match err.as_db_error() {
        Some(db) => WorkerError::Query(format!("{}: {} [SQLSTATE {}]", db.severity(), db.message(), db.code().code())),
        None => WorkerError::Query(err.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::numeric_text;

    fn numeric(ndigits: u16, weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut out = Vec::new();
        for w in [ndigits, weight as u16, sign, dscale].into_iter().chain(digits.iter().copied()) {
            out.extend_from_slice(&w.to_be_bytes());
        }
        out
    }

    #[test]
    fn binary_numerics_become_exact_decimal_strings() {
        assert_eq!(numeric_text(&numeric(2, 0, 0, 2, &[12, 3400])).unwrap(), "12.34");
        assert_eq!(numeric_text(&numeric(1, 1, 0x4000, 0, &[5])).unwrap(), "-50000");
        assert_eq!(numeric_text(&numeric(1, -1, 0, 4, &[5])).unwrap(), "0.0005");
        assert_eq!(numeric_text(&numeric(0, 0, 0, 0, &[])).unwrap(), "0");
        assert_eq!(numeric_text(&numeric(3, 1, 0, 3, &[1, 2345, 6780])).unwrap(), "12345.678");
        assert_eq!(numeric_text(&numeric(2, 1, 0, 0, &[1, 2])).unwrap(), "10002");
        assert_eq!(numeric_text(&numeric(0, 0, 0xC000, 0, &[])).unwrap(), "NaN");
    }
}
