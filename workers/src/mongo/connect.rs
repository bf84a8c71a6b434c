//! Reaching a MongoDB server: TCP first (a refused connection is answered at once), then the driver with TLS as
//! libpq's sslmode means it and a `ping`, so every failure to connect or authenticate shows before the job runs;
//! and the driver's errors typed and worded without the password.

use std::time::Duration;

use mongodb::bson::doc;
use mongodb::error::ErrorKind;
use mongodb::options::{ClientOptions, Credential, ServerAddress, Tls, TlsOptions};
use mongodb::{Client, Database};
use polystoreiq_protocol::types::{DbTarget, TlsMode};
use polystoreiq_protocol::worker::WorkerError;

/// How long reaching the server (TCP, then the driver's server selection) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A connected client and the source's database.
pub(super) struct Server<'a> {
    pub(super) target: &'a DbTarget,
    pub(super) db: Database,
}

impl<'a> Server<'a> {
    pub(super) async fn connect(target: &'a DbTarget, password: Option<&str>) -> Result<Server<'a>, WorkerError> {
        // The driver retries an unreachable server until server selection times out; a refused TCP connection
        // is answered at once, and with a plainer message.
        match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect((target.host.as_str(), target.port)))
            .await
        {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => return Err(unreachable(target, &err.to_string())),
            Err(_) => return Err(unreachable(target, "no answer within 5 s")),
        }
        let credential = match (target.user.is_empty(), password) {
            (true, Some(_)) => {
                return Err(WorkerError::Refused(
                    "a password was given but no user; add the user to the URL (mongodb://USER@HOST/DATABASE)".into(),
                ));
            }
            (true, None) => None,
            // Without an authSource in the URL, MongoDB authenticates against the URL's database.
            (false, password) => Some(
                Credential::builder()
                    .username(target.user.clone())
                    .password(password.map(str::to_owned))
                    .source(target.database.clone())
                    .build(),
            ),
        };
        // MongoDB has no opportunistic TLS: a server speaks it on its port or does not. `prefer` connects
        // without TLS (the test report says so); `require` insists on TLS without checking the certificate, as
        // libpq's sslmode does; `verify_full` checks it against the Mozilla roots and the host name.
        let tls = match target.tls {
            TlsMode::Require => Tls::Enabled(TlsOptions::builder().allow_invalid_certificates(true).build()),
            TlsMode::VerifyFull => Tls::Enabled(TlsOptions::default()),
            TlsMode::Disable | TlsMode::Prefer => Tls::Disabled,
        };
        let options = ClientOptions::builder()
            .hosts(vec![ServerAddress::Tcp { host: target.host.clone(), port: Some(target.port) }])
            .direct_connection(true)
            .app_name("polystoreiq".to_owned())
            .connect_timeout(CONNECT_TIMEOUT)
            .server_selection_timeout(CONNECT_TIMEOUT)
            .retry_writes(false)
            .credential(credential)
            .tls(tls)
            .build();
        let client = Client::with_options(options).map_err(|err| mongo_error(target, &err))?;
        let db = client.database(&target.database);
        // The driver connects lazily; a `ping` makes it select the server, connect and authenticate now, so every
        // failure to reach the server is reported here, before any of the job ran (the broker retries only these).
        db.run_command(doc! { "ping": 1 }).await.map_err(|err| mongo_error(target, &err))?;
        Ok(Server { target, db })
    }

    /// An error once connected: a connection that breaks now may have carried the job's operation, so it is
    /// [`WorkerError::ConnectionLost`], never retried.
    pub(super) fn error(&self, err: &mongodb::error::Error) -> WorkerError {
        match mongo_error(self.target, err) {
            WorkerError::Unreachable(message) => WorkerError::ConnectionLost(message),
            other => other,
        }
    }
}

fn unreachable(target: &DbTarget, why: &str) -> WorkerError {
    WorkerError::Unreachable(format!(
        "cannot reach MongoDB at {}:{} ({why}); is the server running and the port right?",
        target.host, target.port
    ))
}

/// A driver error, typed and worded without the password.
fn mongo_error(target: &DbTarget, err: &mongodb::error::Error) -> WorkerError {
    let place = if target.user.is_empty() {
        format!("{}:{}/{}", target.host, target.port, target.database)
    } else {
        format!("{}@{}:{}/{}", target.user, target.host, target.port, target.database)
    };
    match err.kind.as_ref() {
        ErrorKind::ServerSelection { message, .. } => {
            let hint = if target.tls == TlsMode::Require {
                "; does the server speak TLS on that port?"
            } else {
                "; if the server only accepts TLS, add --tls require"
            };
            WorkerError::Unreachable(format!(
                "cannot reach MongoDB at {}:{} ({}){hint}",
                target.host,
                target.port,
                message.lines().next().unwrap_or_default()
            ))
        }
        ErrorKind::Authentication { .. } => WorkerError::AuthFailed(format!(
            "MongoDB refused the credentials for {place}; check the user (it must be defined in the database {}, \
             MongoDB's authentication database for this URL) and enter the password again",
            target.database
        )),
        ErrorKind::Command(command) => match command.code {
            18 => WorkerError::AuthFailed(format!(
                "MongoDB refused the credentials for {place}; check the user and enter the password again"
            )),
            13 if target.user.is_empty() => WorkerError::AuthFailed(format!(
                "MongoDB at {place} requires authentication; add the user to the URL \
                 (mongodb://USER@HOST/DATABASE) and give the password with --password-stdin"
            )),
            13 => WorkerError::Query(format!(
                "the user {} may not do this on {place}: {}; grant it the read role on the database {}",
                target.user, command.message, target.database
            )),
            // MaxTimeMSExpired: the server stopped the operation at its time limit.
            50 => WorkerError::Query(format!(
                "MongoDB stopped the operation at its time limit (maxTimeMS): {}; narrow the filter, add an index, \
                 or raise the run deadline (POLYSTOREIQ_RUN_DEADLINE_MS)",
                command.message
            )),
            _ => WorkerError::Query(format!(
                "MongoDB: {} [code {} {}]",
                command.message, command.code, command.code_name
            )),
        },
        ErrorKind::Io(io) => {
            WorkerError::Unreachable(format!("lost the connection to MongoDB at {place} ({io}); try again"))
        }
        _ => WorkerError::Query(format!("MongoDB: {err}")),
    }
}
