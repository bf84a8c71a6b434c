//! The broker's requests, one handler each. Front ends reach these only through the socket server.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use polystoreiq_protocol::broker::{Reply, Request, RunEvent};
use polystoreiq_protocol::types::{
    Batch, Capabilities, DiagReport, DraftPreview, FileTable, PoolStats, RunId, RunSummary, SchemaSnapshot, SourceInfo,
    SourceKind, SourceSpec, SourceStatus, SourceTestReport, TableStorage, WorkerKind,
};
use polystoreiq_protocol::worker::{Fault, FileSource, FromWorker, ImportJob, Job, QueryJob};
use polystoreiq_protocol::{ErrorCode, TypedError};
use tokio::sync::mpsc;

use crate::config::BrokerConfig;
use crate::health::unix_ms;
use crate::launcher::WorkerLauncher;
use crate::state::{AppState, FileFingerprint, RunStatus, Source};
use crate::supervisor::{CancelToken, Execution, SupervisorEvent, WorkerSupervisor};
use crate::{files, guard, planner};

/// How often a running query reports its row count.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

pub struct Broker {
    config: BrokerConfig,
    state: Mutex<AppState>,
    supervisor: WorkerSupervisor,
    running: Mutex<HashMap<RunId, CancelToken>>,
}

impl Broker {
    pub fn new(config: BrokerConfig) -> Arc<Broker> {
        let launcher =
            WorkerLauncher::new(config.worker_bin.clone(), config.home.join("scratch"), config.worker_address_space_mb);
        let supervisor = WorkerSupervisor::new(launcher, config.max_workers, config.queue_bound);
        Arc::new(Broker { config, state: Mutex::default(), supervisor, running: Mutex::default() })
    }

    pub fn supervisor(&self) -> &WorkerSupervisor {
        &self.supervisor
    }

    /// Answers every request but `Run` (see [`Broker::run`]).
    pub async fn handle(&self, request: Request) -> Result<Reply, TypedError> {
        match request {
            Request::SourceAdd { name, spec } => self.add_source(name, spec).await.map(Reply::Source),
            Request::SourceList => Ok(Reply::Sources(self.state().source_infos())),
            Request::SourceTest { name } => self.test_source(&name).await.map(Reply::SourceTest),
            Request::SourceSetEnabled { name, enabled } => self.set_enabled(&name, enabled).map(Reply::Source),
            Request::SourceRemove { name } => self.remove_source(&name),
            Request::Schema { name, refresh } => self.schema(&name, refresh).await.map(Reply::Schema),
            Request::Ask { source, question, session: _ } => self.ask(&source, &question).await.map(Reply::Draft),
            Request::Draft { source, query } => self.draft_user_query(&source, query).map(Reply::Draft),
            Request::Run { token } => {
                let (tx, _rx) = mpsc::unbounded_channel();
                self.run(&token, tx).await.map(Reply::RunDone)
            }
            Request::Deny { draft } => {
                self.state().deny_draft(draft)?;
                Ok(Reply::Denied { draft })
            }
            Request::Cancel { run } => self.cancel(run),
            Request::Result { run, offset, limit } => {
                self.state().page(run, offset, limit.min(self.config.row_limit)).map(Reply::Page)
            }
            Request::Diag => Ok(Reply::Diag(self.diag())),
            Request::Shutdown => Ok(Reply::ShuttingDown),
            Request::Fault { source, fault } => self.fault(source, fault).await,
        }
    }

    #[cfg(not(debug_assertions))]
    async fn fault(&self, _source: String, _fault: Fault) -> Result<Reply, TypedError> {
        Err(TypedError::new(ErrorCode::BadRequest, "fault injection exists only in debug builds"))
    }

    #[cfg(debug_assertions)]
    async fn fault(&self, source: String, fault: Fault) -> Result<Reply, TypedError> {
        let exec = Execution {
            run: None,
            source,
            kind: WorkerKind::Duckdb,
            job: Job::Fault(fault),
            deadline: self.config.run_deadline,
            cancel: CancelToken::default(),
        };
        match self.supervisor.execute(exec, &mut |_| {}).await {
            Ok(_) => Ok(Reply::FaultSurvived),
            Err(failure) => Err(failure.to_typed()),
        }
    }

    fn state(&self) -> MutexGuard<'_, AppState> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn add_source(&self, name: String, spec: SourceSpec) -> Result<SourceInfo, TypedError> {
        validate_name(&name)?;
        if self.state().has_source(&name) {
            return Err(TypedError::new(
                ErrorCode::SourceExists,
                format!("a source named {name} exists; pick another name or remove it first"),
            ));
        }
        let SourceSpec::Files { paths } = spec;
        let tables = files::expand(&paths)?;
        let id = self.state().new_source_id();
        let database = tables
            .iter()
            .any(|t| t.storage == TableStorage::Ingested)
            .then(|| self.config.home.join("datasets").join(format!("source-{id}.duckdb")));
        if let Some(db) = &database {
            std::fs::create_dir_all(db.parent().unwrap_or(&self.config.home)).map_err(internal)?;
        }
        let database = database.map(|p| p.to_string_lossy().into_owned());
        let source = FileSource { tables: tables.clone(), database: database.clone() };
        let schema = match self.import(&name, &source).await {
            Ok(schema) => schema,
            Err(err) => {
                if let Some(db) = &database {
                    let _ = std::fs::remove_file(db);
                }
                return Err(err);
            }
        };
        let info = SourceInfo {
            id,
            name: name.clone(),
            kind: SourceKind::Files,
            status: SourceStatus::Connected,
            capabilities: Capabilities { sql: true, server_side_cancel: false, schema_refresh: true },
            files: tables.clone(),
            last_error: None,
            created_at_ms: unix_ms(),
        };
        let mut state = self.state();
        if state.has_source(&name) {
            return Err(TypedError::new(ErrorCode::SourceExists, format!("a source named {name} was just added")));
        }
        state.insert_source(Source {
            info: info.clone(),
            schema: Some(schema),
            database,
            fingerprints: fingerprints(&tables),
        });
        Ok(info)
    }

    /// Imports (or re-imports) a file source in a worker and returns its schema.
    async fn import(&self, name: &str, source: &FileSource) -> Result<SchemaSnapshot, TypedError> {
        let job = Job::Import(ImportJob { source: source.clone(), limits: self.config.duck.clone() });
        let exec = Execution {
            run: None,
            source: name.to_owned(),
            kind: WorkerKind::Duckdb,
            job,
            deadline: self.config.import_deadline,
            cancel: CancelToken::default(),
        };
        let mut schema = None;
        self.supervisor
            .execute(exec, &mut |event| {
                if let SupervisorEvent::Output(FromWorker::Schema(s)) = event {
                    schema = Some(s);
                }
            })
            .await
            .map_err(|failure| failure.to_typed())?;
        schema.ok_or_else(|| TypedError::new(ErrorCode::WorkerProtocol, "the import finished without a schema"))
    }

    /// Re-imports a source whose files changed since import, so ingested tables never go stale.
    async fn refresh_if_changed(&self, name: &str) -> Result<(), TypedError> {
        let (source, changed) = {
            let state = self.state();
            let source = state.usable_source(name)?;
            let changed = source.fingerprints.iter().any(|(path, fp)| FileFingerprint::of(path).as_ref() != Some(fp));
            (self.file_source(source), changed)
        };
        if changed {
            tracing::info!(source = name, "files changed since import; importing again");
            self.reimport(name, source).await?;
        }
        Ok(())
    }

    async fn reimport(&self, name: &str, source: FileSource) -> Result<SchemaSnapshot, TypedError> {
        let result = self.import(name, &source).await;
        let mut state = self.state();
        let entry = state.source_mut(name)?;
        match &result {
            Ok(schema) => {
                entry.schema = Some(schema.clone());
                entry.fingerprints = fingerprints(&source.tables);
                if entry.info.status == SourceStatus::Failed {
                    entry.info.status = SourceStatus::Connected;
                }
                entry.info.last_error = None;
            }
            Err(err) => {
                if entry.info.status != SourceStatus::Disabled {
                    entry.info.status = SourceStatus::Failed;
                }
                entry.info.last_error = Some(err.message.clone());
            }
        }
        result
    }

    fn file_source(&self, source: &Source) -> FileSource {
        FileSource { tables: source.info.files.clone(), database: source.database.clone() }
    }

    async fn test_source(&self, name: &str) -> Result<SourceTestReport, TypedError> {
        let started = Instant::now();
        let source = {
            let state = self.state();
            self.file_source(state.source(name)?)
        };
        let result = self.reimport(name, source).await;
        let status = self.state().source(name)?.info.status;
        Ok(SourceTestReport {
            source: name.to_owned(),
            ok: result.is_ok(),
            status,
            message: match result {
                Ok(schema) => format!("all files readable; {} tables", schema.tables.len()),
                Err(err) => err.message,
            },
            elapsed_ms: started.elapsed().as_millis() as u64,
        })
    }

    fn set_enabled(&self, name: &str, enabled: bool) -> Result<SourceInfo, TypedError> {
        let mut state = self.state();
        let source = state.source_mut(name)?;
        source.info.status = match (enabled, source.info.last_error.is_some()) {
            (false, _) => SourceStatus::Disabled,
            (true, true) => SourceStatus::Failed,
            (true, false) => SourceStatus::Connected,
        };
        Ok(source.info.clone())
    }

    fn remove_source(&self, name: &str) -> Result<Reply, TypedError> {
        let source = self.state().remove_source(name)?;
        if let Some(db) = source.database {
            let _ = std::fs::remove_file(&db);
            let _ = std::fs::remove_file(format!("{db}.wal"));
        }
        Ok(Reply::Removed { name: name.to_owned() })
    }

    async fn schema(&self, name: &str, refresh: bool) -> Result<SchemaSnapshot, TypedError> {
        if refresh {
            let source = self.file_source(self.state().source(name)?);
            return self.reimport(name, source).await;
        }
        self.refresh_if_changed(name).await?;
        let state = self.state();
        let source = state.source(name)?;
        source.schema.clone().ok_or_else(|| {
            TypedError::new(
                ErrorCode::SourceNotFound,
                format!("no schema for {name} yet; run `psiq source test {name}`"),
            )
        })
    }

    async fn ask(&self, source: &str, question: &str) -> Result<DraftPreview, TypedError> {
        let schema = self.schema(source, false).await?;
        let plan = planner::draft(question, &schema)?;
        self.make_draft(source, Some(question.to_owned()), plan.query, planner::PROVIDER, plan.explanation)
    }

    fn draft_user_query(&self, source: &str, query: String) -> Result<DraftPreview, TypedError> {
        self.make_draft(source, None, query, "user", "A query you wrote.".to_owned())
    }

    fn make_draft(
        &self,
        source: &str,
        question: Option<String>,
        query: String,
        provider: &str,
        explanation: String,
    ) -> Result<DraftPreview, TypedError> {
        let mut state = self.state();
        let engine = state.usable_source(source)?.info.kind.engine();
        let verdict = guard::check(engine, &query);
        let preview = DraftPreview {
            draft: state.new_draft_id(),
            source: source.to_owned(),
            engine,
            question,
            query,
            provider: provider.to_owned(),
            explanation,
            verdict,
            token: None,
            token_expires_in_ms: 0,
        };
        Ok(state.insert_draft(preview, self.config.token_ttl))
    }

    /// Runs an approved draft, consuming its token, and reports progress on `events`.
    pub async fn run(&self, token: &str, events: mpsc::UnboundedSender<RunEvent>) -> Result<RunSummary, TypedError> {
        let approved = self.state().consume_token(token)?;
        self.refresh_if_changed(&approved.source).await?;
        let (source, run) = {
            let mut state = self.state();
            let source = self.file_source(state.usable_source(&approved.source)?);
            (source, state.start_run(approved.draft, &approved.source))
        };
        let cancel = CancelToken::default();
        self.lock_running().insert(run, cancel.clone());
        let started = Instant::now();
        let exec = Execution {
            run: Some(run),
            source: approved.source.clone(),
            kind: WorkerKind::Duckdb,
            job: Job::Query(QueryJob {
                source,
                sql: approved.query,
                row_limit: self.config.row_limit,
                batch_rows: self.config.batch_rows,
                limits: self.config.duck.clone(),
            }),
            deadline: self.config.run_deadline,
            cancel,
        };
        let mut columns = Vec::new();
        let mut batches: Vec<Batch> = Vec::new();
        let mut rows = 0u64;
        let mut last_progress = Instant::now();
        let result = self
            .supervisor
            .execute(exec, &mut |event| match event {
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
            })
            .await;
        self.lock_running().remove(&run);
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let mut state = self.state();
        let record = state.run_mut(run).ok_or_else(|| internal("run vanished"))?;
        match result {
            Ok(outcome) => {
                record.status = RunStatus::Finished;
                record.columns = columns;
                record.batches = batches;
                record.rows = rows;
                record.truncated = outcome.done.truncated;
                let first_page = state.page(run, 0, self.config.first_page_rows)?;
                Ok(RunSummary {
                    run,
                    draft: approved.draft,
                    source: approved.source,
                    rows,
                    truncated: outcome.done.truncated,
                    elapsed_ms,
                    first_page,
                })
            }
            Err(failure) => {
                let mut err = failure.to_typed();
                err.message = format!("run {run}: {}", err.message);
                record.status = RunStatus::Failed;
                record.error = Some(err.clone());
                Err(err)
            }
        }
    }

    fn cancel(&self, run: RunId) -> Result<Reply, TypedError> {
        match self.lock_running().get(&run) {
            Some(token) => {
                token.cancel();
                Ok(Reply::CancelRequested { run })
            }
            None => Err(TypedError::new(ErrorCode::RunNotFound, format!("run {run} is not running"))),
        }
    }

    /// Cancels every run; used at shutdown.
    pub fn cancel_all(&self) {
        for token in self.lock_running().values() {
            token.cancel();
        }
    }

    fn diag(&self) -> DiagReport {
        let load = self.supervisor.load();
        DiagReport {
            workers: self.supervisor.health().snapshot(),
            pool: PoolStats {
                running: load.running as u32,
                queued: load.queued as u32,
                max_workers: load.max_workers as u32,
                queue_bound: load.queue_bound as u32,
            },
        }
    }

    fn lock_running(&self) -> MutexGuard<'_, HashMap<RunId, CancelToken>> {
        self.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn fingerprints(tables: &[FileTable]) -> Vec<(String, FileFingerprint)> {
    tables
        .iter()
        .filter(|t| t.storage == TableStorage::Ingested)
        .flat_map(|t| t.paths.iter())
        .filter_map(|p| FileFingerprint::of(p).map(|fp| (p.clone(), fp)))
        .collect()
}

fn validate_name(name: &str) -> Result<(), TypedError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if ok {
        Ok(())
    } else {
        Err(TypedError::new(
            ErrorCode::BadRequest,
            format!("{name:?} is not a valid source name: use 1-64 letters, digits, - or _, starting with a letter"),
        ))
    }
}

fn internal(err: impl std::fmt::Display) -> TypedError {
    TypedError::new(ErrorCode::Internal, err.to_string())
}
