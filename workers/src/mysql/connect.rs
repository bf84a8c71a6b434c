//! Connecting to MySQL and MariaDB: TCP only, no local files, no clear-text password, TLS as libpq's sslmode means
//! it as far as the driver allows; the session pinned read-only with the guardrail's `sql_mode` before any user
//! text; connection failures typed and worded without the password.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, DriverError, IoError, OptsBuilder, SslOpts};
use polystoreiq_protocol::types::{DbTarget, TlsMode};
use polystoreiq_protocol::worker::WorkerError;

use super::{SQL_MODE, Session, query_error};

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

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

pub(super) async fn connect(target: &DbTarget, password: Option<&str>) -> Result<Session, WorkerError> {
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
pub(super) async fn kill_query(target: &DbTarget, password: Option<&str>, id: u64) {
    let Ok(Ok(mut conn)) = tokio::time::timeout(CONNECT_TIMEOUT, Conn::new(options(target, password))).await else {
        return;
    };
    let _ = tokio::time::timeout(CONNECT_TIMEOUT, conn.query_drop(format!("KILL QUERY {id}"))).await;
    let _ = conn.disconnect().await;
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
