//! Runs: an approved draft executes in a worker, streams its rows, and is cancelled on request.

use std::collections::HashMap;
use std::sync::{Arc, MutexGuard};
use std::time::{Duration, Instant};

use polystoreiq_protocol::broker::{Reply, RunEvent};
use polystoreiq_protocol::types::{AuditAction, Batch, ResultPage, RunId, RunSummary};
use polystoreiq_protocol::worker::FromWorker;
use polystoreiq_protocol::{ErrorCode, TypedError, codec};
use tokio::sync::mpsc;

use crate::chart;
use crate::guard;
use crate::results::RunRows;
use crate::store::{Approved, RunStatus, StoredRun, StoredSource};
use crate::supervisor::{CancelToken, Execution, SERVER_CANCEL_DEADLINE, SupervisorEvent};

use super::drafting::guardrail;
use super::jobs::Purpose;
use super::{Broker, Gate, MAX_STORED_RESULT, PROGRESS_EVERY, internal};

impl Broker {
    /// Audits a run refused before it started (its source changed or was disabled), and gives back the error.
    async fn refused_run(&self, approved: &Approved, err: TypedError) -> TypedError {
        let detail = format!("{} [{}]", err.message, err.code);
        let (source, session, draft) = (Some(approved.source.as_str()), approved.session, Some(approved.draft));
        self.audit(AuditAction::RunRefused, source, session, draft, None, detail).await;
        err
    }

    /// Records how long the front end took to show a run's first page, under the run's trace.
    pub(super) async fn render_time(&self, run: RunId, micros: u64) -> Result<(), TypedError> {
        let trace = self.store.call(move |db| db.run_trace(run)).await?;
        let trace = trace.ok_or_else(|| TypedError::new(ErrorCode::RunNotFound, format!("no run {run}")))?;
        self.telemetry(&trace, Some(run), "render", Duration::from_micros(micros)).await;
        Ok(())
    }

    /// The timed stages of `run`'s trace, oldest first.
    pub(super) async fn run_trace(&self, run: RunId) -> Result<polystoreiq_protocol::types::RunTrace, TypedError> {
        let found = self
            .store
            .call(move |db| match db.run_trace(run)? {
                Some(trace_id) => Ok(Some((db.trace_stages(&trace_id)?, trace_id))),
                None => Ok(None),
            })
            .await?;
        let (stages, trace_id) =
            found.ok_or_else(|| TypedError::new(ErrorCode::RunNotFound, format!("no run {run}")))?;
        Ok(polystoreiq_protocol::types::RunTrace { run, trace_id, stages })
    }

    /// Runs an approved draft, consuming its token, and reports progress on `events`.
    pub async fn run(&self, token: &str, events: mpsc::UnboundedSender<RunEvent>) -> Result<RunSummary, TypedError> {
        let token_owned = token.to_owned();
        let approved = match self.store.call(move |db| db.consume_token(&token_owned)).await {
            Ok(approved) => approved,
            Err(err) => {
                let err = err.to_typed();
                self.audit(
                    AuditAction::TokenRefused,
                    None,
                    None,
                    None,
                    None,
                    format!("{} [{}]", err.message, err.code),
                )
                .await;
                return Err(err);
            }
        };
        let source = match self.usable_source(&approved.source).await {
            Ok(source) => source,
            Err(err) => return Err(self.refused_run(&approved, err).await),
        };
        // The draft was checked when it was made; check again, since the guardrail or the source may have changed
        // since, and write the row limit into what the server receives.
        let runnable = match self.runnable(&source, &approved) {
            Ok(runnable) => runnable,
            Err(err) => return Err(self.refused_run(&approved, err).await),
        };
        self.refresh_if_changed(&source).await?;
        let trace = format!("{:016x}", rand::random::<u64>());
        let run = {
            let (draft, name, trace) = (approved.draft, approved.source.clone(), trace.clone());
            self.store.call(move |db| db.insert_run(draft, &name, &trace)).await?
        };
        self.audit(
            AuditAction::RunApprove,
            Some(&approved.source),
            approved.session,
            Some(approved.draft),
            Some(run),
            approved.query.clone(),
        )
        .await;
        let cancel = CancelToken::default();
        self.lock_running().insert(run, cancel.clone());
        let started = Instant::now();
        let job = match self.query_job(&source, runnable, Purpose::Run) {
            Ok(job) => job,
            Err(err) => {
                self.lock_running().remove(&run);
                let stored_err = err.clone();
                self.store.call(move |db| db.finish_run(run, 0, false, 0, Some(&stored_err))).await?;
                return Err(err);
            }
        };
        let kind = source.info.kind.worker_kind();
        let exec = Execution {
            run: Some(run),
            source: approved.source.clone(),
            kind,
            job,
            deadline: self.limits.run_deadline(),
            cancel,
        };
        let mut columns = Vec::new();
        let mut batches: Vec<Batch> = Vec::new();
        let mut rows = 0u64;
        let mut last_progress = Instant::now();
        let mut server_cancel = None;
        let result = self
            .execute_source(exec, Gate::Enforced, &mut |event| match event {
                SupervisorEvent::Queued { position } => {
                    let _ = events.send(RunEvent::Queued { run, position });
                }
                SupervisorEvent::Started { pid } => {
                    let _ = events.send(RunEvent::Started { run, pid });
                }
                SupervisorEvent::Output(FromWorker::Columns(c)) => columns = c,
                SupervisorEvent::Output(FromWorker::Batch(batch)) => {
                    rows += batch.row_count() as u64;
                    batches.push(batch);
                    if last_progress.elapsed() >= PROGRESS_EVERY {
                        last_progress = Instant::now();
                        let elapsed_ms = started.elapsed().as_millis() as u64;
                        let _ = events.send(RunEvent::Progress { run, rows, elapsed_ms });
                    }
                }
                SupervisorEvent::Output(_) => {}
                SupervisorEvent::ServerCancel(report) => server_cancel = Some(report),
            })
            .await;
        self.lock_running().remove(&run);
        let execute = started.elapsed();
        let elapsed_ms = execute.as_millis() as u64;
        self.telemetry(&trace, Some(run), "execute", execute).await;
        match result {
            Ok(outcome) => {
                let normalize_started = Instant::now();
                let rows_kept = Arc::new(RunRows { columns, batches, rows, truncated: outcome.done.truncated });
                let whole = rows_kept.page(run, 0, rows);
                self.results.insert(run, Arc::clone(&rows_kept));
                let first_page = rows_kept.page(run, 0, self.config.first_page_rows);
                let chart = chart::recommend(&rows_kept.columns, &rows_kept.batches);
                let stored = codec::encode(&whole).ok().filter(|bytes| bytes.len() <= MAX_STORED_RESULT);
                let truncated = outcome.done.truncated;
                self.store
                    .call(move |db| {
                        if let Some(bytes) = stored {
                            db.store_run_result(run, &bytes)?;
                        }
                        db.finish_run(run, rows, truncated, elapsed_ms, None)
                    })
                    .await?;
                self.telemetry(&trace, Some(run), "normalize", normalize_started.elapsed()).await;
                let detail =
                    format!("{rows} rows in {elapsed_ms} ms{}", if truncated { " (row limit reached)" } else { "" });
                self.audit(
                    AuditAction::RunFinish,
                    Some(&approved.source),
                    approved.session,
                    Some(approved.draft),
                    Some(run),
                    detail,
                )
                .await;
                Ok(RunSummary {
                    run,
                    draft: approved.draft,
                    source: approved.source,
                    rows,
                    truncated,
                    elapsed_ms,
                    first_page,
                    chart,
                })
            }
            Err(mut err) => {
                err.message = format!("run {run}: {}", err.message);
                if let Some(report) = &server_cancel {
                    err.message.push_str(report.note());
                    let detail = report.describe();
                    let (source, session, draft) = (Some(approved.source.as_str()), approved.session, approved.draft);
                    self.audit(AuditAction::RunServerCancel, source, session, Some(draft), Some(run), detail).await;
                }
                let stored_err = err.clone();
                self.store.call(move |db| db.finish_run(run, rows, false, elapsed_ms, Some(&stored_err))).await?;
                let action =
                    if err.code == ErrorCode::Cancelled { AuditAction::RunCancel } else { AuditAction::RunFail };
                let detail = format!("{} [{}]", err.message, err.code);
                self.audit(action, Some(&approved.source), approved.session, Some(approved.draft), Some(run), detail)
                    .await;
                Err(err)
            }
        }
    }

    /// The approved query as the worker runs it: checked again, with the row limit written in (one row over, so
    /// the worker can tell the result was cut).
    pub(super) fn runnable(&self, source: &StoredSource, approved: &Approved) -> Result<String, TypedError> {
        let verdict = guardrail(source).check(&approved.query);
        if !verdict.allowed() {
            return Err(TypedError::new(
                ErrorCode::QueryRejected,
                format!("the guardrail now refuses this query: {} [{}]", verdict.reason, verdict.code.as_str()),
            ));
        }
        let engine = source.info.kind.engine();
        guard::limited(engine, &approved.query, self.limits.row_limit().saturating_add(1))
            .map_err(|verdict| TypedError::new(ErrorCode::QueryRejected, verdict.reason))
    }

    /// One page of a finished run's rows; at most the row limit per page.
    pub(super) async fn page(&self, run: RunId, offset: u64, limit: u64) -> Result<ResultPage, TypedError> {
        let limit = limit.min(self.limits.row_limit());
        if let Some(rows) = self.results.get(run) {
            return Ok(rows.page(run, offset, limit));
        }
        if self.lock_running().contains_key(&run) {
            return Err(TypedError::new(ErrorCode::BadRequest, format!("run {run} is still running")));
        }
        let stored = self.store.call(move |db| db.run_result(run)).await?;
        match stored {
            None => Err(TypedError::new(ErrorCode::RunNotFound, format!("no run {run}"))),
            Some(StoredRun { status, .. }) if status != RunStatus::Finished => {
                Err(TypedError::new(ErrorCode::RunNotFound, format!("run {run} has no result: it is {status}")))
            }
            Some(StoredRun { page: None, .. }) => Err(TypedError::new(
                ErrorCode::RunNotFound,
                format!("run {run}'s rows were too many to keep; run the query again"),
            )),
            Some(StoredRun { page: Some(bytes), .. }) => {
                let page: ResultPage = codec::decode(&bytes).map_err(internal)?;
                let rows = Arc::new(RunRows::from_page(page));
                self.results.insert(run, Arc::clone(&rows));
                Ok(rows.page(run, offset, limit))
            }
        }
    }

    pub(super) async fn cancel(&self, run: RunId) -> Result<Reply, TypedError> {
        let token = self.lock_running().get(&run).cloned();
        match token {
            Some(token) => {
                token.cancel();
                self.audit(AuditAction::RunCancelRequested, None, None, None, Some(run), String::new()).await;
                Ok(Reply::CancelRequested { run })
            }
            None => Err(TypedError::new(ErrorCode::RunNotFound, format!("run {run} is not running"))),
        }
    }

    /// Cancels every run and waits, for a bounded time, until they have ended (their database queries cancelled on
    /// the server, their workers killed); used at shutdown.
    pub async fn cancel_all(&self) {
        self.router.cancel_all();
        for token in self.lock_running().values() {
            token.cancel();
        }
        let waited = Instant::now();
        while !self.lock_running().is_empty() && waited.elapsed() < SERVER_CANCEL_DEADLINE + Duration::from_secs(2) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub(super) fn lock_running(&self) -> MutexGuard<'_, HashMap<RunId, CancelToken>> {
        self.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
