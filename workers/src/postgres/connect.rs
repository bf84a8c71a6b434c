//! Connecting to PostgreSQL: the TCP connection opened here so that start-up passes through an [`AuthWatch`], TLS as
//! libpq's sslmode means it, and connection failures typed and worded without the password.

use std::time::Duration;

use polystoreiq_protocol::types::{DbTarget, TlsMode};
use polystoreiq_protocol::worker::WorkerError;
use tokio_postgres::config::SslMode;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{Client, Config, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::auth::{self, AuthWatch, Phase, WatchedTls};
use super::session::ServerFacts;

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects, and says what the server told about the session at start-up.
///
/// The TCP connection is opened here, not by the driver, so that the server's start-up messages pass through an
/// [`AuthWatch`]: the password goes in clear text only over TLS with a verified certificate (`verify_full`).
pub(super) async fn connect(target: &DbTarget, password: Option<&str>) -> Result<(Client, ServerFacts), WorkerError> {
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
                Ok((client, take_over(connection)))
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
                Ok((client, take_over(connection)))
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

/// What the server said about the session at start-up; then the connection is driven in the background until the
/// client is dropped.
fn take_over<S, T>(connection: tokio_postgres::Connection<S, T>) -> ServerFacts
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let facts =
        ServerFacts::from_parameters(connection.parameter("is_superuser"), connection.parameter("server_version"));
    spawn_connection(connection);
    facts
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
