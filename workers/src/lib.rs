//! Connector code that runs inside one short-lived worker process per execution.
//!
//! Architecture invariant: a worker writes only frames to stdout (logs go to stderr), opens data only after the
//! broker's handshake has been checked, and runs exactly one job before exiting. Nothing here touches the app
//! state, the keyring or an LLM.

#![deny(clippy::print_stdout)]

mod batch;
pub mod duck;
mod fault;
mod hex;
pub mod mongo;
pub mod mysql;
pub mod postgres;
pub mod sandbox;
pub mod serve;
pub mod tls;

/// DuckDB's Arrow output onto the protocol's columns, at its former path.
pub use duck::decode as arrow_map;

/// Runs a connector's future to completion on a current-thread runtime: a worker runs one job, so one thread
/// serves it, and the runtime lives only as long as the job.
fn block_on<F: Future>(job: F) -> Result<F::Output, WorkerError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| WorkerError::Internal(format!("cannot start the connector runtime: {err}")))?;
    Ok(runtime.block_on(job))
}

use std::future::Future;

use polystoreiq_protocol::worker::{FromWorker, JobDone, WorkerError};

/// Where a job hands its frames, in order: the worker's pipe (through its frame writer), or a test's or a
/// benchmark's collector. An error means the frames can no longer go anywhere, and the job stops.
pub type Emit<'a> = dyn FnMut(FromWorker) -> Result<(), WorkerError> + 'a;
pub use serve::{serve, take_spawn_nonce};

/// Now, in milliseconds since 1970-01-01 UTC (0 on a clock set before it): when a schema snapshot was read.
fn unix_ms_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// A finished job's report: `rows` sent, whether the row limit cut them, and the time since `started`.
fn done(rows: u64, truncated: bool, started: std::time::Instant) -> JobDone {
    JobDone { rows, truncated, elapsed_us: started.elapsed().as_micros() as u64, peak_rss_kb: None }
}
