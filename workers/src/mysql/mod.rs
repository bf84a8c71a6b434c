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
//!
//! Connecting and its failures are `connect.rs`; the check and the query `query.rs`; which result types this
//! connector reads `columns.rs`; binary-protocol values into columns `decode.rs`.

use std::time::{Duration, Instant};

use crate::{Emit, done};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, DriverError};
use polystoreiq_protocol::types::SourceKind;
use polystoreiq_protocol::worker::{
    ConnectionReport, DbAction, DbJob, FromWorker, JobDone, ServerSession, WorkerError,
};

mod columns;
mod connect;
mod decode;
mod metadata;
mod query;

/// How long past its own limit a query may run before the worker gives up on the server stopping it.
const TIMEOUT_GRACE: Duration = Duration::from_secs(1);
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
        let mut session = connect::connect(&job.target, job.password.as_ref().map(|c| c.0.expose())).await?;
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
                let run = query::query(&mut session, sql, *row_limit, *batch_rows, *timeout_ms, emit, started);
                match tokio::time::timeout(limit, run).await {
                    Ok(result) => result,
                    Err(_) => {
                        // The server did not hold the limit (a statement can lift it for itself, as MariaDB's
                        // `SET STATEMENT max_statement_time = 0 FOR ...` does): stop it there, not just here.
                        connect::kill_query(&job.target, job.password.as_ref().map(|c| c.0.expose()), id).await;
                        Err(WorkerError::Query(format!(
                            "the query ran past its {timeout_ms} ms time limit and was stopped; narrow it (a WHERE \
                             clause, a LIMIT) and run it again"
                        )))
                    }
                }
            }
            DbAction::Cancel { session: server } => cancel(&mut session, server, started).await,
            DbAction::Check { sql, timeout_ms } => query::check(&mut session, sql, *timeout_ms, started).await,
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
}
