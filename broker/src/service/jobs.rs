//! Building a worker's job from a stored source, and executing database jobs under the source's breaker.

use std::time::Duration;

use polystoreiq_protocol::secret::Credential;
use polystoreiq_protocol::types::{AuditAction, SchemaSnapshot, SourceInfo, SourceKind};
use polystoreiq_protocol::worker::{
    ConnectionReport, DbAction, DbJob, FileSource, FromWorker, ImportJob, Job, QueryJob,
};
use polystoreiq_protocol::{ErrorCode, TypedError};

use crate::breaker::{self, Ticket, Verdict};
use crate::secrets::{Keyring, SecretRef};
use crate::store::StoredSource;
use crate::supervisor::{CancelToken, Execution, Outcome, RunFailure, SupervisorEvent};

use super::{Broker, Gate, SERVER_LIMIT_MARGIN, internal};

/// What a query job is for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    /// An approved run: up to the row limit, in batches.
    Run,
    /// A dry run: prepared or explained, nothing read.
    DryRun,
    /// No query at all: the job only shapes a worker's sandbox (the diagnostics' fault injection, debug builds).
    #[cfg_attr(not(debug_assertions), allow(dead_code))]
    Policy,
}

/// A file source's tables and database file, as a worker reads them.
pub(super) fn file_source(source: &StoredSource) -> FileSource {
    FileSource { tables: source.info.files.clone(), database: source.database.clone() }
}

impl Broker {
    pub(super) fn keyring(&self) -> Result<&Keyring, TypedError> {
        self.keyring.as_ref().map_err(|err| {
            TypedError::new(
                ErrorCode::Internal,
                format!("the OS keyring is not available, so no password can be kept: {err}"),
            )
        })
    }

    /// The password of a database source, from the keyring, ready for its worker.
    pub(super) fn password(&self, reference: Option<&str>) -> Result<Option<Credential>, TypedError> {
        match reference {
            None => Ok(None),
            Some(reference) => {
                let secret =
                    self.keyring()?.load(&SecretRef::from_stored(reference.to_owned())).map_err(|e| e.to_typed())?;
                Ok(Some(Credential(secret)))
            }
        }
    }

    /// The one place a query of a stored source becomes a worker's job: DuckDB over the source's files, or the
    /// database worker with the source's target and its password from the keyring.
    pub(super) fn query_job(&self, source: &StoredSource, sql: String, purpose: Purpose) -> Result<Job, TypedError> {
        if source.info.kind == SourceKind::Files {
            let (row_limit, batch_rows) = match purpose {
                Purpose::Run => (self.limits.row_limit(), self.config.batch_rows),
                Purpose::DryRun | Purpose::Policy => (0, 1),
            };
            let query =
                QueryJob { source: file_source(source), sql, row_limit, batch_rows, limits: self.config.duck.clone() };
            return Ok(match purpose {
                Purpose::DryRun => Job::Check(query),
                Purpose::Run | Purpose::Policy => Job::Query(query),
            });
        }
        let action = match purpose {
            Purpose::Run => DbAction::Query {
                sql,
                row_limit: self.limits.row_limit(),
                batch_rows: self.config.batch_rows,
                timeout_ms: (self.limits.run_deadline() + SERVER_LIMIT_MARGIN).as_millis() as u64,
            },
            Purpose::DryRun => DbAction::Check { sql, timeout_ms: self.limits.check_deadline().as_millis() as u64 },
            Purpose::Policy => DbAction::Test,
        };
        self.db_job(source, action)
    }

    /// A DuckDB import of `files` into the source's database file.
    pub(super) fn import_job(&self, files: FileSource) -> Job {
        Job::Import(ImportJob { source: files, limits: self.config.duck.clone() })
    }

    pub(super) fn db_job(&self, source: &StoredSource, action: DbAction) -> Result<Job, TypedError> {
        let target = source.info.target.clone().ok_or_else(|| internal("a database source without a target"))?;
        let password = self.password(source.keyring_ref.as_deref())?;
        Ok(Job::Database(DbJob { kind: source.info.kind, target, password, action }))
    }

    pub(super) async fn db_worker(
        &self,
        name: &str,
        job: Job,
        deadline: Duration,
        gate: Gate,
    ) -> Result<Vec<FromWorker>, TypedError> {
        let kind = match &job {
            Job::Database(db) => db.kind.worker_kind(),
            _ => return Err(internal("a database worker was asked to run a non-database job")),
        };
        let exec =
            Execution { run: None, source: name.to_owned(), kind, job, deadline, cancel: CancelToken::default() };
        let mut frames = Vec::new();
        self.execute_source(exec, gate, &mut |event| {
            if let SupervisorEvent::Output(frame) = event {
                frames.push(frame);
            }
        })
        .await?;
        Ok(frames)
    }

    /// Runs `exec` in a worker. An execution on a database source goes through the source's circuit breaker (as
    /// `gate` says), and one whose worker could not connect, before any of its job ran, is tried again after a
    /// growing pause, up to `connect_attempts` in all, each retry audited as `connect.retry`. Nothing is tried
    /// again once a worker may have sent its query: see [`breaker::retryable`].
    pub(super) async fn execute_source(
        &self,
        exec: Execution,
        gate: Gate,
        sink: &mut (dyn FnMut(SupervisorEvent) + Send),
    ) -> Result<Outcome, TypedError> {
        if !matches!(exec.job, Job::Database(_)) {
            return self.supervisor.execute(exec, sink).await.map_err(|failure| failure.to_typed());
        }
        let ticket = match gate {
            Gate::Enforced => Some(self.breakers.admit(&exec.source)?),
            Gate::Observed => Some(self.breakers.observe(&exec.source)),
            Gate::Untracked => None,
        };
        // A half-open breaker's trial gets one attempt: it is there to find out whether the server is back.
        let attempts = if ticket.as_ref().is_some_and(Ticket::is_trial) { 1 } else { self.config.connect_attempts };
        let mut attempt = 1;
        let result = loop {
            let result = self.supervisor.execute(exec.clone(), sink).await;
            let failure = match &result {
                Err(failure) if attempt < attempts && breaker::retryable(failure) => failure.to_string(),
                _ => break result,
            };
            let wait = breaker::backoff(attempt, self.config.connect_backoff, self.config.connect_backoff_max);
            let detail = format!(
                "connection attempt {attempt} of {attempts} failed before anything ran ({failure}); trying again in \
                 {} ms",
                wait.as_millis()
            );
            self.audit(AuditAction::ConnectRetry, Some(&exec.source), None, None, exec.run, detail).await;
            tokio::select! {
                _ = exec.cancel.cancelled() => break Err(RunFailure::Cancelled { latency: Duration::ZERO }),
                _ = tokio::time::sleep(wait) => {}
            }
            attempt += 1;
        };
        if let Some(ticket) = ticket {
            ticket.settle(Verdict::of(&result));
        }
        result.map_err(|failure| failure.to_typed())
    }

    /// The source as the front ends see it, with its circuit breaker.
    pub(super) fn with_breaker(&self, mut info: SourceInfo) -> SourceInfo {
        if info.kind != SourceKind::Files {
            info.breaker = self.breakers.status(&info.name);
        }
        info
    }

    pub(super) async fn db_test(&self, name: &str, job: Job, gate: Gate) -> Result<ConnectionReport, TypedError> {
        let frames = self.db_worker(name, job, Duration::from_secs(30), gate).await?;
        frames
            .into_iter()
            .find_map(|f| if let FromWorker::Tested(report) = f { Some(report) } else { None })
            .ok_or_else(|| TypedError::new(ErrorCode::WorkerProtocol, "the connection test sent no report"))
    }

    pub(super) async fn db_metadata(&self, name: &str, job: Job, gate: Gate) -> Result<SchemaSnapshot, TypedError> {
        let frames = self.db_worker(name, job, self.config.import_deadline, gate).await?;
        frames
            .into_iter()
            .find_map(|f| if let FromWorker::Schema(schema) = f { Some(schema) } else { None })
            .ok_or_else(|| TypedError::new(ErrorCode::WorkerProtocol, "the metadata job sent no schema"))
    }
}
