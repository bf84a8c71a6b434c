//! The PostgreSQL connector: connection test, metadata, and read-only queries streamed in batches.
//!
//! Every query runs inside `BEGIN READ ONLY` with `statement_timeout` and `idle_in_transaction_session_timeout`
//! set for the transaction, and the session's string rules, search path and memory and temporary-file limits
//! pinned before any user text (`session.rs`), through the extended query protocol only (one statement per
//! message; the simple query path, which would run `COMMIT; DROP ...`, is never used), and ends in `ROLLBACK`.
//! Before the query the worker reports its backend pid, which a cancel job hands to `pg_cancel_backend`. The
//! password never leaves in clear text unless the server's certificate was verified (`auth.rs`).
//!
//! Connecting and its failures are `connect.rs`; the jobs that send SQL `query.rs` and `cancel.rs`; which result
//! types this connector reads `columns.rs`; binary values into columns `decode.rs`.

use std::time::Instant;

use crate::{Emit, done};
use polystoreiq_protocol::types::SourceKind;
use polystoreiq_protocol::worker::{DbAction, DbJob, FromWorker, JobDone, ServerSession, SessionLimits, WorkerError};

pub mod auth;
mod cancel;
mod columns;
mod connect;
mod decode;
mod metadata;
mod query;
pub mod session;

use session::ServerFacts;

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
        let (client, facts) = connect::connect(&job.target, job.password.as_ref().map(|c| c.0.expose())).await?;
        match &job.action {
            DbAction::Test => {
                emit(FromWorker::Tested(query::test(&client, started).await?))?;
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
                query::query(&client, sql, *row_limit, *batch_rows, &pins, emit, started).await
            }
            DbAction::Cancel { session } => cancel::cancel(&client, session, started).await,
            DbAction::Check { sql, timeout_ms } => {
                query::check(&client, sql, &Pins { limits, facts, timeout_ms: *timeout_ms }, emit, started).await
            }
        }
    })?
}

/// What a query's session is pinned with (see `session.rs`).
struct Pins<'a> {
    limits: &'a SessionLimits,
    facts: ServerFacts,
    timeout_ms: u64,
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
    use super::session_ended;

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
}
