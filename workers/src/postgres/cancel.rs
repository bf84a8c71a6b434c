//! Cancelling another worker's query on the server, by its backend pid (`pg_cancel_backend`).

use std::time::Instant;

use crate::done;
use polystoreiq_protocol::worker::{JobDone, ServerSession, WorkerError};
use tokio_postgres::Client;

use super::query_error;

/// Cancels what another worker's backend runs, from this connection (same role: a role may cancel its own
/// backends). Counts one operation when that backend was running a statement.
pub(super) async fn cancel(client: &Client, session: &ServerSession, started: Instant) -> Result<JobDone, WorkerError> {
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
