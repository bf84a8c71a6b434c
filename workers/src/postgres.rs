//! The PostgreSQL connector: connection test, metadata, and read-only queries streamed in batches.
//!
//! Every query runs inside `BEGIN READ ONLY` with `statement_timeout` and `idle_in_transaction_session_timeout`
//! set for the transaction, and the session's string rules, search path and memory and temporary-file limits
//! pinned before any user text (`session.rs`), through the extended query protocol only (one statement per
//! message; the simple query path, which would run `COMMIT; DROP ...`, is never used), and ends in `ROLLBACK`.
//! Before the query the worker reports its backend pid, which a cancel job hands to `pg_cancel_backend`. The
//! password never leaves in clear text unless the server's certificate was verified (`auth.rs`).

use std::time::{Duration, Instant};

use crate::batch::Batcher;
use crate::{Emit, done};
use futures_util::{TryStreamExt, pin_mut};
use polystoreiq_protocol::types::{ColumnValues, DbTarget, LogicalType, ResultColumn, SourceKind, TlsMode};
use polystoreiq_protocol::worker::{
    ConnectionReport, DbAction, DbJob, FromWorker, JobDone, ResolvedRelation, ServerSession, SessionLimits, WorkerError,
};
use tokio_postgres::config::SslMode;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::types::{FromSql, Kind, Type};
use tokio_postgres::{Client, Config, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

pub mod auth;
mod metadata;
pub mod session;

use auth::{AuthWatch, Phase, WatchedTls};
use session::ServerFacts;

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs one database job with the default [`SessionLimits`], handing its frames to `emit`.
pub fn run(job: &DbJob, emit: &mut Emit<'_>) -> Result<JobDone, WorkerError> {
    run_with(job, &SessionLimits::DEFAULT, emit)
}

/// Runs one database job, its session pinned with `limits`, handing its frames to `emit`.
pub fn run_with(job: &DbJob, limits: &SessionLimits, emit: &mut Emit<'_>) -> Result<JobDone, WorkerError> {
    if job.kind != SourceKind::Postgres {
        return Err(WorkerError::Refused(format!("no {:?} connector in this worker yet", job.kind)));
    }
    crate::block_on(async {
        let started = Instant::now();
        let (client, facts) = connect(&job.target, job.password.as_ref().map(|c| c.0.expose())).await?;
        match &job.action {
            DbAction::Test => {
                emit(FromWorker::Tested(test(&client, started).await?))?;
                Ok(done(0, false, started))
            }
            DbAction::Metadata => {
                emit(FromWorker::Schema(metadata::read(&client).await?))?;
                Ok(done(0, false, started))
            }
            DbAction::Query { sql, row_limit, batch_rows, timeout_ms } => {
                // Before the query: the broker needs the backend to cancel the query on the server.
                let backend_pid = client.query_one("SELECT pg_backend_pid()", &[]).await.map_err(query_error)?.get(0);
                emit(FromWorker::ServerSession(ServerSession::Postgres { backend_pid }))?;
                let pins = Pins { limits, facts, timeout_ms: *timeout_ms };
                query(&client, sql, *row_limit, *batch_rows, &pins, emit, started).await
            }
            DbAction::Cancel { session } => cancel(&client, session, started).await,
            DbAction::Check { sql, timeout_ms } => {
                check(&client, sql, &Pins { limits, facts, timeout_ms: *timeout_ms }, emit, started).await
            }
        }
    })?
}

/// Cancels what another worker's backend runs, from this connection (same role: a role may cancel its own
/// backends). Counts one operation when that backend was running a statement.
async fn cancel(client: &Client, session: &ServerSession, started: Instant) -> Result<JobDone, WorkerError> {
    let ServerSession::Postgres { backend_pid } = session else {
        return Err(WorkerError::Refused(format!("a PostgreSQL worker cannot cancel {session:?}")));
    };
    let row = client
        .query_one(
            "SELECT coalesce((SELECT state = 'active' FROM pg_stat_activity WHERE pid = $1), false),
                    pg_cancel_backend($1)",
            &[backend_pid],
        )
        .await
        .map_err(query_error)?;
    let (active, signalled): (bool, bool) = (row.get(0), row.get(1));
    Ok(done(u64::from(active && signalled), false, started))
}

/// What a query's session is pinned with (see `session.rs`).
struct Pins<'a> {
    limits: &'a SessionLimits,
    facts: ServerFacts,
    timeout_ms: u64,
}

/// Connects, and says what the server told about the session at start-up.
///
/// The TCP connection is opened here, not by the driver, so that the server's start-up messages pass through an
/// [`AuthWatch`]: the password goes in clear text only over TLS with a verified certificate (`verify_full`).
async fn connect(target: &DbTarget, password: Option<&str>) -> Result<(Client, ServerFacts), WorkerError> {
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
    // TLS as libpq's sslmode means it (see `crate::tls`): `prefer` falls back to plain TCP only when the server
    // answers that it has no TLS; `verify_full` is `require` with a certificate check.
    let tls = crate::tls::client_config(target.tls)
        .map_err(|err| WorkerError::Tls(format!("cannot set up TLS for PostgreSQL: {err}")))?;
    let unreachable = |cause: String| {
        WorkerError::Unreachable(format!(
            "cannot reach PostgreSQL at {}:{} ({cause}); is the server running and the port right?",
            target.host, target.port
        ))
    };
    let tcp =
        tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect((target.host.as_str(), target.port)))
            .await
            .map_err(|_| unreachable(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs())))?
            .map_err(|err| unreachable(err.to_string()))?;
    let _ = tcp.set_nodelay(true);
    // Start-up (TLS, authentication, parameters) under the same limit as the TCP connect.
    let startup = async {
        match tls {
            None => {
                config.ssl_mode(SslMode::Disable);
                let stream = AuthWatch::new(tcp, Phase::Messages, false);
                let (client, connection) = config.connect_raw(stream, NoTls).await?;
                let facts = ServerFacts::from_parameters(
                    connection.parameter("is_superuser"),
                    connection.parameter("server_version"),
                );
                spawn_connection(connection);
                Ok((client, facts))
            }
            Some(tls) => {
                config.ssl_mode(if target.tls == TlsMode::Prefer { SslMode::Prefer } else { SslMode::Require });
                let stream = AuthWatch::new(tcp, Phase::TlsAnswer, false);
                let make = MakeRustlsConnect::new(tls);
                let inner =
                    MakeTlsConnect::<AuthWatch<tokio::net::TcpStream>>::make_tls_connect(&mut { make }, &target.host)
                        .map_err(|never| match never {})?;
                // Only a certificate checked against the roots and the host name lets a cleartext password through.
                let connector = WatchedTls { inner, allow_cleartext: target.tls == TlsMode::VerifyFull };
                let (client, connection) = config.connect_raw(stream, connector).await?;
                let facts = ServerFacts::from_parameters(
                    connection.parameter("is_superuser"),
                    connection.parameter("server_version"),
                );
                spawn_connection(connection);
                Ok((client, facts))
            }
        }
    };
    match tokio::time::timeout(CONNECT_TIMEOUT, startup).await {
        Ok(Ok(connected)) => Ok(connected),
        Ok(Err(err)) if auth::is_refusal(&err) => Err(cleartext_refused(target)),
        Ok(Err(err)) => Err(connect_error(target, &err)),
        Err(_) => Err(unreachable(format!("start-up did not finish within {} s", CONNECT_TIMEOUT.as_secs()))),
    }
}

/// Drives the connection in the background until the client is dropped.
fn spawn_connection<S, T>(connection: tokio_postgres::Connection<S, T>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            eprintln!("postgres connection ended: {err}");
        }
    });
}

/// The server asked for the password in clear text over a channel that does not prove who the server is.
fn cleartext_refused(target: &DbTarget) -> WorkerError {
    let how = match target.tls {
        TlsMode::Disable | TlsMode::Prefer => "without a verified TLS connection",
        TlsMode::Require | TlsMode::VerifyFull => "over TLS whose certificate was not verified (--tls require)",
    };
    WorkerError::AuthFailed(format!(
        "PostgreSQL at {}:{} asks for the password of {} in clear text (pg_hba.conf method `password`), and \
         PolyStoreIQ does not send a password in clear text {how}: anyone on the path, or a server posing as this \
         one, would read it. Ask the server's administrator to use scram-sha-256 for this user, or add the source \
         with --tls verify-full against a server whose certificate a public authority signed",
        target.host, target.port, target.user
    ))
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
        // tokio-postgres names the failing stage only in its message.
        None if err.to_string().starts_with("error performing TLS handshake") => tls_error(target, &root_message(err)),
        None if err.to_string().starts_with("invalid configuration") => WorkerError::AuthFailed(format!(
            "PostgreSQL cannot log {place} in: {}; if the server asks for a password, add the source again with \
             --password-stdin",
            root_message(err)
        )),
        None if err.to_string().starts_with("authentication error") => {
            WorkerError::AuthFailed(format!("PostgreSQL's authentication of {place} failed: {}", root_message(err)))
        }
        // Everything else happened before the server accepted us: refused, timed out, closed during start-up.
        None => WorkerError::Unreachable(format!(
            "cannot reach PostgreSQL at {}:{} ({}); is the server running and the port right?",
            target.host,
            target.port,
            root_message(err)
        )),
    }
}

/// A TLS failure while connecting, with what to do about it for the source's TLS mode.
fn tls_error(target: &DbTarget, cause: &str) -> WorkerError {
    let server = format!("PostgreSQL at {}:{}", target.host, target.port);
    WorkerError::Tls(if cause.contains("does not support TLS") {
        format!(
            "{server} does not offer TLS and this source requires it; turn on ssl on the server, or add the source \
             with --tls prefer"
        )
    } else if target.tls == TlsMode::VerifyFull {
        format!(
            "the TLS handshake with {server} failed ({cause}); --tls verify-full accepts only a certificate signed \
             by a public certificate authority and naming {}; --tls require encrypts without checking the \
             certificate",
            target.host
        )
    } else {
        format!(
            "the TLS handshake with {server} failed ({cause}); add the source with --tls disable to connect without TLS"
        )
    })
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
                            WHERE grantee = current_user AND privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')),
                    coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)",
            &[],
        )
        .await
        .map_err(query_error)?;
    Ok(ConnectionReport {
        server_version: row.get(0),
        tls: row.get(2),
        can_write: row.get::<_, Option<bool>>(1).unwrap_or(true),
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

/// Prepares `sql` in a read-only transaction without running it: the server parses and analyses it, so an unknown
/// table or column, or an operator on the wrong types, fails here.
///
/// Then the server's own plan (`EXPLAIN (VERBOSE, FORMAT JSON)`, which plans without executing) says which
/// relations the query reads, views expanded; the broker checks those again, apart from the guardrail's reading
/// of the text.
async fn check(
    client: &Client,
    sql: &str,
    pins: &Pins<'_>,
    emit: &mut Emit<'_>,
    started: Instant,
) -> Result<JobDone, WorkerError> {
    session::begin_pinned(client, pins.limits, pins.facts, pins.timeout_ms).await?;
    let prepared = client.prepare(sql).await.map_err(query_error);
    let plan = match &prepared {
        // One statement through the extended protocol, as the query itself would run.
        Ok(_) => Some(client.query_one(&format!("EXPLAIN (VERBOSE, FORMAT JSON) {sql}"), &[]).await),
        Err(_) => None,
    };
    let _ = client.execute("ROLLBACK", &[]).await;
    let prepared = prepared?;
    let plan = plan.transpose().map_err(query_error)?;
    if let Some(row) = plan {
        let text: Raw<'_> = row.try_get(0).map_err(query_error)?;
        let plan: serde_json::Value = serde_json::from_slice(text.0)
            .map_err(|err| WorkerError::Query(format!("the server's plan is not JSON: {err}")))?;
        let mut relations = Vec::new();
        plan_relations(&plan, &mut relations);
        emit(FromWorker::Resolved(relations))?;
    }
    if prepared.columns().is_empty() {
        return Err(WorkerError::Refused("only queries that return rows may run".into()));
    }
    // A column of a type this connector cannot read would fail the run: say so now, with the cast to use.
    for column in prepared.columns() {
        result_column(column)?;
    }
    Ok(done(0, false, started))
}

async fn query(
    client: &Client,
    sql: &str,
    row_limit: u64,
    batch_rows: u32,
    pins: &Pins<'_>,
    emit: &mut Emit<'_>,
    started: Instant,
) -> Result<JobDone, WorkerError> {
    session::begin_pinned(client, pins.limits, pins.facts, pins.timeout_ms).await?;
    let statement = client.prepare(sql).await.map_err(query_error)?;
    // Only a statement that returns rows runs: COPY, DO, SET and the like describe no columns and are refused
    // here, whatever the guardrail said.
    if statement.columns().is_empty() {
        let _ = client.execute("ROLLBACK", &[]).await;
        return Err(WorkerError::Refused("only queries that return rows may run".into()));
    }
    let columns: Vec<ResultColumn> = statement.columns().iter().map(result_column).collect::<Result<_, _>>()?;
    let types: Vec<Type> = statement.columns().iter().map(|c| c.type_().clone()).collect();
    emit(FromWorker::Columns(columns.clone()))?;
    let rows = client.query_raw(&statement, std::iter::empty::<&str>()).await.map_err(query_error)?;
    pin_mut!(rows);
    let mut batch = Batcher::new(columns.iter().map(|c| c.logical), batch_rows as usize);
    let (mut total, mut truncated) = (0u64, false);
    while let Some(row) = rows.try_next().await.map_err(query_error)? {
        if total == row_limit {
            truncated = true;
            break;
        }
        for (i, (ty, column)) in types.iter().zip(batch.columns()).enumerate() {
            let raw: Option<Raw<'_>> = row.try_get(i).map_err(query_error)?;
            push_value(column, ty, raw.map(|r| r.0), &columns[i].name)?;
        }
        total += 1;
        batch.added(1, emit)?;
    }
    batch.finish(emit)?;
    let _ = client.execute("ROLLBACK", &[]).await;
    Ok(done(total, truncated, started))
}

/// Any value, as its binary wire bytes.
/// Every relation and set-returning function a plan's nodes scan (`"Schema"` with `"Relation Name"` or
/// `"Function Name"`), once each, in plan order.
fn plan_relations(node: &serde_json::Value, out: &mut Vec<ResolvedRelation>) {
    match node {
        serde_json::Value::Object(map) => {
            let schema = map.get("Schema").and_then(|v| v.as_str());
            // A scan of a relation, or of a set-returning function (`pg_settings` is a view over one).
            let scanned = match (map.get("Relation Name"), map.get("Function Name")) {
                (Some(name), _) => name.as_str().map(|name| (name, false)),
                (None, Some(name)) => name.as_str().map(|name| (name, true)),
                (None, None) => None,
            };
            if let (Some(schema), Some((name, table_function))) = (schema, scanned) {
                let relation = ResolvedRelation { schema: schema.to_owned(), name: name.to_owned(), table_function };
                if !out.contains(&relation) {
                    out.push(relation);
                }
            }
            map.values().for_each(|value| plan_relations(value, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| plan_relations(item, out)),
        _ => {}
    }
}

struct Raw<'a>(&'a [u8]);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw))
    }

    fn accepts(_: &Type) -> bool {
        true
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

/// Days from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_DAYS: i32 = 10_957;
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// A type with domains looked through: a domain's values travel as its base type's.
fn base(ty: &Type) -> &Type {
    match ty.kind() {
        Kind::Domain(inner) => base(inner),
        _ => ty,
    }
}

/// The result column of a statement's column; a type no decoder here reads is refused before any row runs,
/// with the cast that shows it.
fn result_column(column: &tokio_postgres::Column) -> Result<ResultColumn, WorkerError> {
    let (name, ty) = (column.name(), column.type_());
    if !readable(ty) {
        let hint = match base(ty).name() {
            "money" => cast_hint(name, "numeric"),
            // PostGIS: its text cast is hex EWKB; ST_AsText is what a person reads.
            "geometry" | "geography" => format!("ST_AsText({})", cast_hint(name, "").trim_end_matches("::")),
            _ => cast_hint(name, "text"),
        };
        return Err(WorkerError::Query(format!(
            "column {name} has type {}, which PolyStoreIQ cannot show; cast it in the query, e.g. {hint}",
            ty.name()
        )));
    }
    Ok(ResultColumn { name: name.to_owned(), db_type: ty.name().to_owned(), logical: logical(ty) })
}

/// `name::target`, the name quoted where SQL needs it.
fn cast_hint(name: &str, target: &str) -> String {
    let plain = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    match name {
        "?column?" => format!("(expression)::{target}"),
        _ if plain => format!("{name}::{target}"),
        _ => format!("\"{}\"::{target}", name.replace('"', "\"\"")),
    }
}

/// The logical type of a result column. Arrays travel as JSON text; ranges, network addresses, bit strings and
/// geometry as PostgreSQL's own text (`Other`).
fn logical(ty: &Type) -> LogicalType {
    let ty = base(ty);
    match ty.kind() {
        Kind::Enum(_) => return LogicalType::Text,
        Kind::Array(_) => return LogicalType::Json,
        Kind::Range(_) | Kind::Multirange(_) => return LogicalType::Other,
        _ => {}
    }
    match *ty {
        Type::BOOL => LogicalType::Bool,
        Type::INT2 | Type::INT4 | Type::INT8 | Type::OID | Type::XID | Type::CID | Type::XID8 => LogicalType::Int,
        Type::FLOAT4 | Type::FLOAT8 => LogicalType::Float,
        Type::NUMERIC => LogicalType::Decimal,
        Type::DATE => LogicalType::Date,
        Type::TIMESTAMP => LogicalType::Timestamp,
        Type::TIMESTAMPTZ => LogicalType::TimestampTz,
        Type::TIME | Type::TIMETZ => LogicalType::Time,
        Type::INTERVAL => LogicalType::Interval,
        Type::UUID => LogicalType::Uuid,
        Type::JSON | Type::JSONB => LogicalType::Json,
        Type::BYTEA => LogicalType::Bytes,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::CHAR | Type::XML => {
            LogicalType::Text
        }
        _ if ty.name() == "citext" => LogicalType::Text,
        _ => LogicalType::Other,
    }
}

/// Whether values of `ty` can be decoded here: every type with a logical type of its own, and the types shown
/// as PostgreSQL's text. Composite types, `money` (its text depends on the server's locale), the `reg*` object
/// identifiers (their text is a name the binary value does not carry) and extension types are not.
fn readable(ty: &Type) -> bool {
    let ty = base(ty);
    match ty.kind() {
        Kind::Enum(_) => true,
        Kind::Array(element) | Kind::Range(element) | Kind::Multirange(element) => readable(element),
        Kind::Simple | Kind::Pseudo => {
            logical(ty) != LogicalType::Other
                || matches!(
                    *ty,
                    Type::JSONPATH
                        | Type::INET
                        | Type::CIDR
                        | Type::MACADDR
                        | Type::MACADDR8
                        | Type::BIT
                        | Type::VARBIT
                        | Type::TID
                        | Type::PG_LSN
                        | Type::POINT
                        | Type::LINE
                        | Type::LSEG
                        | Type::BOX
                        | Type::PATH
                        | Type::POLYGON
                        | Type::CIRCLE
                )
        }
        _ => false,
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

/// Appends one binary value (`None` for NULL) to its column.
fn push_value(column: &mut ColumnValues, ty: &Type, raw: Option<&[u8]>, name: &str) -> Result<(), WorkerError> {
    let Some(raw) = raw else {
        push_null(column);
        return Ok(());
    };
    let ty = base(ty);
    let bad = || {
        WorkerError::Query(format!(
            "column {name}: a {} value PolyStoreIQ could not read; cast it in the query, e.g. {}",
            ty.name(),
            cast_hint(name, "text")
        ))
    };
    // infinity, or a day a timestamp since 1970 in microseconds cannot hold: no place on the calendar.
    let off_calendar = || {
        WorkerError::Query(format!(
            "column {name} holds {} infinity or a date out of range, which is no calendar day; select it as text, \
             e.g. {}",
            ty.name(),
            cast_hint(name, "text")
        ))
    };
    match column {
        ColumnValues::Bool(out) => out.push(Some(bool_value(raw).ok_or_else(bad)?)),
        ColumnValues::Int(out) => out.push(Some(int_value(ty, raw).ok_or_else(bad)?)),
        ColumnValues::Float(out) => out.push(Some(float_value(raw).ok_or_else(bad)?)),
        ColumnValues::Date(out) => {
            let days = Reader(raw).whole(Reader::i32).ok_or_else(bad)?;
            let days =
                Some(days).filter(|d| *d != i32::MAX && *d != i32::MIN).and_then(|d| d.checked_add(PG_EPOCH_DAYS));
            out.push(Some(days.ok_or_else(off_calendar)?));
        }
        ColumnValues::Timestamp(out) => {
            let micros = Reader(raw).whole(Reader::i64).ok_or_else(bad)?;
            let micros =
                Some(micros).filter(|m| *m != i64::MAX && *m != i64::MIN).and_then(|m| m.checked_add(PG_EPOCH_MICROS));
            out.push(Some(micros.ok_or_else(off_calendar)?));
        }
        ColumnValues::Bytes(out) => out.push(Some(raw.to_vec())),
        // Plain text is pushed straight from the wire bytes, with no string of its own in between.
        ColumnValues::Text(out) if matches!(*ty, Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME) => {
            out.push(Some(std::str::from_utf8(raw).map_err(|_| bad())?));
        }
        ColumnValues::Text(out) => out.push(Some(&text_value(ty, raw).ok_or_else(bad)?)),
    }
    Ok(())
}

/// Big-endian reads from a value's bytes.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn u8(&mut self) -> Option<u8> {
        self.array::<1>().map(|b| b[0])
    }

    fn i16(&mut self) -> Option<i16> {
        self.array().map(i16::from_be_bytes)
    }

    fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_be_bytes)
    }

    fn i32(&mut self) -> Option<i32> {
        self.array().map(i32::from_be_bytes)
    }

    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_be_bytes)
    }

    fn i64(&mut self) -> Option<i64> {
        self.array().map(i64::from_be_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_be_bytes)
    }

    fn f64(&mut self) -> Option<f64> {
        self.array().map(f64::from_be_bytes)
    }

    /// A length-prefixed value (`None` inside for a NULL, length -1).
    fn value(&mut self) -> Option<Option<&'a [u8]>> {
        let len = self.i32()?;
        if len < 0 { Some(None) } else { self.take(len as usize).map(Some) }
    }

    /// Reads with `read` and insists that nothing is left over.
    fn whole<T>(mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        let value = read(&mut self)?;
        self.0.is_empty().then_some(value)
    }
}

fn bool_value(raw: &[u8]) -> Option<bool> {
    match raw {
        [0] => Some(false),
        [1] => Some(true),
        _ => None,
    }
}

fn int_value(ty: &Type, raw: &[u8]) -> Option<i64> {
    let r = Reader(raw);
    match (raw.len(), ty) {
        (2, _) => r.whole(Reader::i16).map(i64::from),
        (4, _) if matches!(*ty, Type::OID | Type::XID | Type::CID) => r.whole(Reader::u32).map(i64::from),
        (4, _) => r.whole(Reader::i32).map(i64::from),
        (8, _) if *ty == Type::XID8 => r.whole(Reader::u64).and_then(|v| i64::try_from(v).ok()),
        (8, _) => r.whole(Reader::i64),
        _ => None,
    }
}

/// A float4 goes through its shortest decimal form, so `real` 1.1 stays 1.1 rather than 1.100000023841858.
fn float_value(raw: &[u8]) -> Option<f64> {
    match raw.len() {
        4 => {
            let f = f32::from_be_bytes(raw.try_into().ok()?);
            if f.is_finite() { f.to_string().parse().ok() } else { Some(f64::from(f)) }
        }
        8 => Some(f64::from_be_bytes(raw.try_into().ok()?)),
        _ => None,
    }
}

fn utf8(raw: &[u8]) -> Option<String> {
    String::from_utf8(raw.to_vec()).ok()
}

/// The text of a value carried as text, exactly as PostgreSQL prints it with `TimeZone = 'UTC'`,
/// `DateStyle = 'ISO'` and `IntervalStyle = 'iso_8601'`; arrays become JSON. `None` for a malformed value.
fn text_value(ty: &Type, raw: &[u8]) -> Option<String> {
    let ty = base(ty);
    match ty.kind() {
        Kind::Enum(_) => return utf8(raw),
        Kind::Array(element) => {
            let mut out = String::new();
            array_json(element, raw, &mut out)?;
            return Some(out);
        }
        Kind::Range(element) => return range_text(element, raw),
        Kind::Multirange(element) => {
            let mut r = Reader(raw);
            let count = r.u32()?;
            let mut ranges = Vec::new();
            for _ in 0..count {
                ranges.push(range_text(element, r.value()??)?);
            }
            return r.0.is_empty().then(|| format!("{{{}}}", ranges.join(",")));
        }
        _ => {}
    }
    Some(match *ty {
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::XML | Type::JSON => utf8(raw)?,
        _ if ty.name() == "citext" => utf8(raw)?,
        // jsonb and jsonpath: a format version (1), then the text.
        Type::JSONB | Type::JSONPATH => match raw.split_first()? {
            (1, text) => utf8(text)?,
            _ => return None,
        },
        // "char": one byte; PostgreSQL escapes one that is not ASCII as \ooo.
        Type::CHAR => match raw {
            [] | [0] => String::new(),
            [b] if b.is_ascii() => char::from(*b).to_string(),
            [b] => format!("\\{b:03o}"),
            _ => return None,
        },
        Type::BOOL => if bool_value(raw)? { "t" } else { "f" }.to_owned(),
        Type::INT2 | Type::INT4 | Type::INT8 | Type::OID | Type::XID | Type::CID | Type::XID8 => {
            int_value(ty, raw)?.to_string()
        }
        Type::FLOAT4 | Type::FLOAT8 => float_text(float_value(raw)?),
        Type::NUMERIC => numeric_text(raw)?,
        Type::UUID if raw.len() == 16 => {
            let hex = hex(raw);
            format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
        }
        Type::BYTEA => format!("\\x{}", hex(raw)),
        Type::DATE => date_text(Reader(raw).whole(Reader::i32)?),
        Type::TIMESTAMP => timestamp_text(Reader(raw).whole(Reader::i64)?, false),
        Type::TIMESTAMPTZ => timestamp_text(Reader(raw).whole(Reader::i64)?, true),
        Type::TIME => clock_text(Reader(raw).whole(Reader::i64)?),
        Type::TIMETZ => {
            let (micros, zone) = Reader(raw).whole(|r| Some((r.i64()?, r.i32()?)))?;
            format!("{}{}", clock_text(micros), zone_text(zone))
        }
        Type::INTERVAL => {
            let (micros, days, months) = Reader(raw).whole(|r| Some((r.i64()?, r.i32()?, r.i32()?)))?;
            interval_text(micros, days, months)
        }
        Type::INET | Type::CIDR => inet_text(raw)?,
        Type::MACADDR | Type::MACADDR8 if raw.len() == 6 || raw.len() == 8 => {
            raw.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
        }
        Type::BIT | Type::VARBIT => {
            let mut r = Reader(raw);
            let bits = usize::try_from(r.i32()?).ok()?;
            let bytes = r.0;
            if bytes.len() != bits.div_ceil(8) {
                return None;
            }
            (0..bits).map(|i| if bytes[i / 8] & (0x80 >> (i % 8)) != 0 { '1' } else { '0' }).collect()
        }
        Type::TID => {
            let (block, offset) = Reader(raw).whole(|r| Some((r.u32()?, r.u16()?)))?;
            format!("({block},{offset})")
        }
        Type::PG_LSN => {
            let lsn = Reader(raw).whole(Reader::u64)?;
            format!("{:X}/{:X}", lsn >> 32, lsn & 0xFFFF_FFFF)
        }
        Type::POINT | Type::LINE | Type::LSEG | Type::BOX | Type::PATH | Type::POLYGON | Type::CIRCLE => {
            geometry_text(ty, raw)?
        }
        _ => return None,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A binary array as JSON: nested arrays for each dimension (lower bounds other than 1 are not kept), elements
/// as JSON values (`json_element`).
fn array_json(element: &Type, raw: &[u8], out: &mut String) -> Option<()> {
    let mut r = Reader(raw);
    let (ndim, _has_nulls, _element_oid) = (r.i32()?, r.i32()?, r.u32()?);
    if ndim == 0 {
        out.push_str("[]");
        return r.0.is_empty().then_some(());
    }
    if !(1..=6).contains(&ndim) {
        return None;
    }
    let mut dims = Vec::new();
    for _ in 0..ndim {
        let (len, _lower_bound) = (r.i32()?, r.i32()?);
        dims.push(usize::try_from(len).ok()?);
    }
    array_level(element, &dims, &mut r, out)?;
    r.0.is_empty().then_some(())
}

fn array_level(element: &Type, dims: &[usize], r: &mut Reader<'_>, out: &mut String) -> Option<()> {
    let (&len, inner) = dims.split_first()?;
    out.push('[');
    for i in 0..len {
        if i > 0 {
            out.push(',');
        }
        if inner.is_empty() {
            match r.value()? {
                None => out.push_str("null"),
                Some(value) => json_element(element, value, out)?,
            }
        } else {
            array_level(element, inner, r, out)?;
        }
    }
    out.push(']');
    Some(())
}

/// One array element as JSON: booleans and integers as JSON literals, finite floats as numbers, JSON as
/// itself, and everything else (exact decimals included) as a string of its PostgreSQL text.
fn json_element(ty: &Type, raw: &[u8], out: &mut String) -> Option<()> {
    let ty = base(ty);
    if let Kind::Array(element) = ty.kind() {
        return array_json(element, raw, out);
    }
    match *ty {
        Type::BOOL => out.push_str(if bool_value(raw)? { "true" } else { "false" }),
        Type::INT2 | Type::INT4 | Type::INT8 | Type::OID | Type::XID | Type::CID | Type::XID8 => {
            out.push_str(&int_value(ty, raw)?.to_string());
        }
        Type::FLOAT4 | Type::FLOAT8 => {
            let f = float_value(raw)?;
            match serde_json::Number::from_f64(f) {
                Some(n) => out.push_str(&n.to_string()),
                None => out.push_str(&serde_json::Value::String(float_text(f)).to_string()),
            }
        }
        // PostgreSQL has checked it is JSON.
        Type::JSON | Type::JSONB => out.push_str(&text_value(ty, raw)?),
        _ => out.push_str(&serde_json::Value::String(text_value(ty, raw)?).to_string()),
    }
    Some(())
}

/// A binary range as PostgreSQL prints it: `empty`, or `[lower,upper)` with the bounds' text, quoted where
/// needed; an infinite bound is left empty.
fn range_text(element: &Type, raw: &[u8]) -> Option<String> {
    let mut r = Reader(raw);
    let flags = r.u8()?;
    if flags & 0x01 != 0 {
        return r.0.is_empty().then(|| "empty".to_owned());
    }
    let mut bound = |infinite: bool| -> Option<String> {
        if infinite {
            return Some(String::new());
        }
        let len = usize::try_from(r.i32()?).ok()?;
        Some(range_bound(&text_value(element, r.take(len)?)?))
    };
    let lower = bound(flags & 0x08 != 0)?;
    let upper = bound(flags & 0x10 != 0)?;
    let open = if flags & 0x02 != 0 { '[' } else { '(' };
    let close = if flags & 0x04 != 0 { ']' } else { ')' };
    r.0.is_empty().then(|| format!("{open}{lower},{upper}{close}"))
}

/// A range bound quoted as PostgreSQL's `range_bound_escape` does.
fn range_bound(text: &str) -> String {
    let special = |c: char| matches!(c, '"' | '\\' | '(' | ')' | '[' | ']' | ',') || c.is_ascii_whitespace();
    if !text.is_empty() && !text.contains(special) {
        return text.to_owned();
    }
    let mut out = String::from('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push(c);
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// A float as PostgreSQL prints it: the shortest exact digits, in exponent form below 1e-4 and from 1e15.
fn float_text(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity".into() } else { "-Infinity".into() };
    }
    let sci = format!("{f:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if f == 0.0 || (-4..15).contains(&exponent) {
        f.to_string()
    } else {
        format!("{mantissa}e{}{:02}", if exponent < 0 { '-' } else { '+' }, exponent.unsigned_abs())
    }
}

/// The proleptic Gregorian (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `YYYY-MM-DD` and whether the year is BC (PostgreSQL has no year 0: 1 BC is year 0 of the proleptic calendar).
fn day_text(days_since_1970: i64) -> (String, bool) {
    let (y, m, d) = civil_from_days(days_since_1970);
    if y <= 0 { (format!("{:04}-{m:02}-{d:02}", 1 - y), true) } else { (format!("{y:04}-{m:02}-{d:02}"), false) }
}

fn date_text(days_since_2000: i32) -> String {
    match days_since_2000 {
        i32::MAX => "infinity".into(),
        i32::MIN => "-infinity".into(),
        days => {
            let (day, bc) = day_text(i64::from(days) + i64::from(PG_EPOCH_DAYS));
            if bc { format!("{day} BC") } else { day }
        }
    }
}

fn timestamp_text(micros_since_2000: i64, utc: bool) -> String {
    match micros_since_2000 {
        i64::MAX => "infinity".into(),
        i64::MIN => "-infinity".into(),
        micros => {
            let days = micros.div_euclid(MICROS_PER_DAY) + i64::from(PG_EPOCH_DAYS);
            let (day, bc) = day_text(days);
            let zone = if utc { "+00" } else { "" };
            let era = if bc { " BC" } else { "" };
            format!("{day} {}{zone}{era}", clock_text(micros.rem_euclid(MICROS_PER_DAY)))
        }
    }
}

/// `HH:MM:SS[.fraction]`, the fraction without trailing zeros.
fn clock_text(micros: i64) -> String {
    let seconds = micros / 1_000_000;
    let mut out = format!("{:02}:{:02}:{:02}", seconds / 3600, seconds / 60 % 60, seconds % 60);
    push_fraction(&mut out, micros % 1_000_000);
    out
}

fn push_fraction(out: &mut String, micros: i64) {
    if micros != 0 {
        out.push('.');
        out.push_str(format!("{:06}", micros.unsigned_abs()).trim_end_matches('0'));
    }
}

/// A time zone offset (PostgreSQL keeps seconds west of UTC) as `+HH[:MM[:SS]]` east of UTC.
fn zone_text(seconds_west: i32) -> String {
    let total = seconds_west.unsigned_abs();
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    let sign = if seconds_west <= 0 { '+' } else { '-' };
    match (m, s) {
        (0, 0) => format!("{sign}{h:02}"),
        (_, 0) => format!("{sign}{h:02}:{m:02}"),
        _ => format!("{sign}{h:02}:{m:02}:{s:02}"),
    }
}

/// An interval in ISO 8601 (`P1Y2M3DT4H5M6.5S`), exactly as PostgreSQL's `IntervalStyle = 'iso_8601'`: each
/// field keeps its own sign, as PostgreSQL's intervals do.
fn interval_text(micros: i64, days: i32, months: i32) -> String {
    if (micros, days, months) == (i64::MAX, i32::MAX, i32::MAX) {
        return "infinity".into();
    }
    if (micros, days, months) == (i64::MIN, i32::MIN, i32::MIN) {
        return "-infinity".into();
    }
    let (years, months) = (months / 12, months % 12);
    let (hours, rest) = (micros / 3_600_000_000, micros % 3_600_000_000);
    let (minutes, rest) = (rest / 60_000_000, rest % 60_000_000);
    let (seconds, fraction) = (rest / 1_000_000, rest % 1_000_000);
    if (years, months, days, hours, minutes, seconds, fraction) == (0, 0, 0, 0, 0, 0, 0) {
        return "PT0S".into();
    }
    let mut out = String::from("P");
    let part = |value: i64, unit: char, out: &mut String| {
        if value != 0 {
            out.push_str(&format!("{value}{unit}"));
        }
    };
    part(i64::from(years), 'Y', &mut out);
    part(i64::from(months), 'M', &mut out);
    part(i64::from(days), 'D', &mut out);
    if (hours, minutes, seconds, fraction) != (0, 0, 0, 0) {
        out.push('T');
    }
    part(hours, 'H', &mut out);
    part(minutes, 'M', &mut out);
    if seconds != 0 || fraction != 0 {
        if seconds < 0 || fraction < 0 {
            out.push('-');
        }
        out.push_str(&seconds.unsigned_abs().to_string());
        push_fraction(&mut out, fraction);
        out.push('S');
    }
    out
}

/// `inet` and `cidr`: the address, and `/bits` for a cidr or an inet that is not a single host.
fn inet_text(raw: &[u8]) -> Option<String> {
    let mut r = Reader(raw);
    let (family, bits, is_cidr, len) = (r.u8()?, r.u8()?, r.u8()?, r.u8()?);
    let address = r.take(usize::from(len))?;
    if !r.0.is_empty() {
        return None;
    }
    let (text, max) = match (family, address.len()) {
        (2, 4) => (std::net::Ipv4Addr::from(<[u8; 4]>::try_from(address).ok()?).to_string(), 32),
        (3, 16) => (std::net::Ipv6Addr::from(<[u8; 16]>::try_from(address).ok()?).to_string(), 128),
        _ => return None,
    };
    Some(if is_cidr != 0 || bits != max { format!("{text}/{bits}") } else { text })
}

/// The built-in geometric types as PostgreSQL prints them.
fn geometry_text(ty: &Type, raw: &[u8]) -> Option<String> {
    let mut r = Reader(raw);
    let point = |r: &mut Reader<'_>| Some(format!("({},{})", float_text(r.f64()?), float_text(r.f64()?)));
    let points = |r: &mut Reader<'_>, n: usize| (0..n).map(|_| point(r)).collect::<Option<Vec<_>>>();
    let text = match *ty {
        Type::POINT => point(&mut r)?,
        Type::LINE => format!("{{{},{},{}}}", float_text(r.f64()?), float_text(r.f64()?), float_text(r.f64()?)),
        Type::LSEG => format!("[{}]", points(&mut r, 2)?.join(",")),
        Type::BOX => points(&mut r, 2)?.join(","),
        Type::PATH => {
            let closed = r.u8()? != 0;
            let n = usize::try_from(r.i32()?).ok()?;
            let joined = points(&mut r, n)?.join(",");
            if closed { format!("({joined})") } else { format!("[{joined}]") }
        }
        Type::POLYGON => {
            let n = usize::try_from(r.i32()?).ok()?;
            format!("({})", points(&mut r, n)?.join(","))
        }
        Type::CIRCLE => {
            let center = point(&mut r)?;
            format!("<{center},{}>", float_text(r.f64()?))
        }
        _ => return None,
    };
    r.0.is_empty().then_some(text)
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
        // The server ended the session (an administrator's pg_terminate_backend, a shutdown): the connection is
        // gone, not the query wrong.
        Some(db) if session_ended(db.code().code()) => WorkerError::ConnectionLost(format!(
            "PostgreSQL ended the session while the job ran ({} [SQLSTATE {}]); the query may have run. Run it \
             again once the server is back",
            db.message(),
            db.code().code()
        )),
        Some(db) => WorkerError::Query(format!("{}: {} [SQLSTATE {}]", db.severity(), db.message(), db.code().code())),
        // Connected already: a query may have run, so this is never retried (see `WorkerError::ConnectionLost`).
        None if err.is_closed() => WorkerError::ConnectionLost(format!(
            "the connection to PostgreSQL closed while the job ran ({err}); the query may have run. Run it again \
             once the server is reachable"
        )),
        None => WorkerError::Query(err.to_string()),
    }
}

/// SQLSTATEs with which the server ends a session: administrator shutdown or termination (57P01), crash
/// shutdown (57P02), cannot connect now (57P03), idle-session timeout (57P05).
fn session_ended(sqlstate: &str) -> bool {
    matches!(sqlstate, "57P01" | "57P02" | "57P03" | "57P05")
}

#[cfg(test)]
mod tests {
    use super::{numeric_text, session_ended};

    #[test]
    fn a_session_the_server_ended_is_a_lost_connection_not_a_query_error() {
        for ended in ["57P01", "57P02", "57P03", "57P05"] {
            assert!(session_ended(ended), "{ended}");
        }
        // A cancelled statement (57014) and a syntax error (42601) are the query's own.
        for own in ["57014", "42601", "25006", "57P04"] {
            assert!(!session_ended(own), "{own}");
        }
    }

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

    #[test]
    fn values_carried_as_text_read_as_postgresql_prints_them() {
        use super::{float_text, interval_text, range_bound, text_value, zone_text};
        use tokio_postgres::types::Type;
        assert_eq!(interval_text(0, 0, 0), "PT0S");
        assert_eq!(interval_text(4 * 3_600_000_000 + 5 * 60_000_000 + 6_500_000, 3, 14), "P1Y2M3DT4H5M6.5S");
        assert_eq!(interval_text(-(4 * 3_600_000_000 + 5 * 60_000_000 + 6_500_000), 3, -14), "P-1Y-2M3DT-4H-5M-6.5S");
        assert_eq!(interval_text(-1, 0, 0), "PT-0.000001S");
        assert_eq!(zone_text(-19_800), "+05:30");
        assert_eq!(zone_text(28_800), "-08");
        assert_eq!(zone_text(57_599), "-15:59:59");
        assert_eq!(float_text(1e20), "1e+20");
        assert_eq!(float_text(-1e-5), "-1e-05");
        assert_eq!(float_text(0.0001), "0.0001");
        assert_eq!(float_text(123_456_789_012_345.0), "123456789012345");
        assert_eq!(float_text(1e15), "1e+15");
        assert_eq!(float_text(-0.0), "-0");
        assert_eq!(float_text(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(range_bound("2024-01-01 00:00:00+00"), "\"2024-01-01 00:00:00+00\"");
        assert_eq!(range_bound("a\"b"), "\"a\"\"b\"");
        assert_eq!(range_bound("5"), "5");
        // Malformed values are refused, not misread.
        assert_eq!(text_value(&Type::UUID, &[0; 15]), None);
        assert_eq!(text_value(&Type::INT4_ARRAY, &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 23, 0, 0, 0, 2]), None);
        assert_eq!(text_value(&Type::JSONB, b"2{}"), None);
        assert_eq!(text_value(&Type::INTERVAL, &[0; 15]), None);
    }
}
