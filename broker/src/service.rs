//! The broker's requests, one handler each. Front ends reach these only through the socket server.
//!
//! Every state change goes to the app state (see [`crate::store`]) and leaves an audit event; every draft and
//! run leaves per-stage telemetry under one trace id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use polystoreiq_protocol::broker::{Reply, Request, RunEvent};
use polystoreiq_protocol::secret::{Credential, UserSecret};
use polystoreiq_protocol::types::{
    Batch, BreakerState, Capabilities, ChatMessage, CheckOutcome, DbTarget, DiagReport, DraftAttempt, DraftCheck,
    DraftId, DraftPreview, Engine, GuardVerdict, LimitsChange, LlmProvider, PoolStats, ResultPage, RunId, RunSummary,
    SchemaCache, SchemaSnapshot, SessionId, SourceInfo, SourceKind, SourceSpec, SourceStatus, SourceTestReport,
    TableStorage, WorkerKind,
};
use polystoreiq_protocol::worker::{
    ConnectionReport, DbAction, DbJob, Fault, FileFact, FileSource, FromWorker, ImportJob, Job, QueryJob,
};
use polystoreiq_protocol::{ErrorCode, TypedError, codec};
use tokio::sync::mpsc;

use crate::access::AccessControl;
use crate::breaker::{self, Breakers, Ticket, Verdict};
use crate::chart;
use crate::config::BrokerConfig;
use crate::guard::Guardrail;
use crate::health::unix_ms;
use crate::launcher::WorkerLauncher;
use crate::limits::LiveLimits;
use crate::llm::provider::{Exchange, Repair};
use crate::llm::router::Question;
use crate::llm::settings::{self as llm_settings, LlmChange};
use crate::results::{ResultCache, RunRows};
use crate::sandbox::SandboxSettings;
use crate::secrets::{Keyring, SecretRef};
use crate::store::{
    Approved, DEFAULT_PROFILE, DbConfig, DraftOutcome, FileRecord, NewAudit, NewDraft, SourceConfig, Store, StoredRun,
    StoredSource,
};
use crate::supervisor::{
    CancelToken, Execution, Outcome, RunFailure, SERVER_CANCEL_DEADLINE, SupervisorEvent, WorkerSupervisor,
};
use crate::{files, guard, llm, planner};

/// How often a running query reports its row count.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);
/// The window of the diagnostics' per-stage percentiles.
const STAGE_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// Stored result pages larger than this are kept in memory only.
const MAX_STORED_RESULT: usize = 64 << 20;
/// How much later than the run's deadline the server's own time limit (`statement_timeout`, `max_statement_time`,
/// `maxTimeMS`) stops a database query. At the deadline the broker cancels the query on the server itself; the
/// server's limit is the backstop for when it cannot (the broker died, the cancel failed).
const SERVER_LIMIT_MARGIN: Duration = Duration::from_secs(10);

pub struct Broker {
    config: BrokerConfig,
    /// Row limit, timeouts and retention as the owner last set them.
    limits: LiveLimits,
    store: Store,
    access: AccessControl,
    keyring: Result<Keyring, String>,
    supervisor: WorkerSupervisor,
    running: Mutex<HashMap<RunId, CancelToken>>,
    results: ResultCache,
    breakers: Breakers,
    /// Drafts questions with the configured model provider, or the offline planner.
    router: llm::Router,
}

/// Whether an execution on a database source asks the source's circuit breaker first.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Gate {
    /// Refused while the breaker is open; the outcome counts.
    Enforced,
    /// Goes through whatever the breaker says (`psiq source test`, the way to try now); the outcome counts.
    Observed,
    /// A source being added has no breaker yet.
    Untracked,
}

impl Broker {
    pub fn new(config: BrokerConfig, store: Store, access: AccessControl) -> Arc<Broker> {
        let launcher = WorkerLauncher::new(
            config.worker_bin.clone(),
            config.home.join("scratch"),
            config.worker_address_space_mb,
            config.warm_worker,
        );
        let sandbox =
            SandboxSettings { allow_degraded: config.allow_degraded_sandbox, threads: config.duck.threads.into() };
        let supervisor = WorkerSupervisor::new(launcher, config.max_workers, config.queue_bound).with_sandbox(sandbox);
        supervisor.set_session_limits(config.session_limits());
        let breakers = Breakers::new(config.breaker_threshold, config.breaker_cooldown);
        Arc::new(Broker {
            limits: LiveLimits::new(&config),
            config,
            store,
            access,
            keyring: Keyring::open().map_err(|err| err.to_string()),
            supervisor,
            running: Mutex::default(),
            results: ResultCache::default(),
            breakers,
            router: llm::Router::new(llm::router::RouterOptions::from_env()),
        })
    }

    pub fn supervisor(&self) -> &WorkerSupervisor {
        &self.supervisor
    }

    /// The gate every request passes first: the profile lock, then the role matrix.
    pub fn authorize(&self, request: &Request) -> Result<(), TypedError> {
        self.access.check(request).map(drop)
    }

    /// Answers every request but `Run` (see [`Broker::run`]). Call [`Broker::authorize`] first.
    pub async fn handle(&self, request: Request) -> Result<Reply, TypedError> {
        match request {
            Request::SourceAdd { name, spec } => self.add_source(name, spec).await.map(Reply::Source),
            Request::SourceList => {
                let sources = self.store.call(|db| db.sources()).await?;
                Ok(Reply::Sources(sources.into_iter().map(|s| self.with_breaker(s.info)).collect()))
            }
            Request::SourceTest { name } => self.test_source(&name).await.map(Reply::SourceTest),
            Request::SourceSetEnabled { name, enabled } => {
                self.set_enabled(name, enabled).await.map(|info| Reply::Source(self.with_breaker(info)))
            }
            Request::SourceRemove { name } => self.remove_source(name).await,
            Request::Schema { name, refresh } => self.schema(&name, refresh).await.map(Reply::Schema),
            Request::Ask { source, question, session } => {
                self.ask(&source, &question, session).await.map(|p| Reply::Draft(Box::new(p)))
            }
            Request::Draft { source, query } => {
                let stored = self.usable_source(&source).await?;
                let validation = self.validate(&stored, &query).await;
                let proposal = Proposal {
                    question: None,
                    query,
                    provider: "user".to_owned(),
                    explanation: "A query you wrote.".to_owned(),
                    attempts: Vec::new(),
                };
                self.make_draft(&stored, None, proposal, validation).await.map(|p| Reply::Draft(Box::new(p)))
            }
            Request::Run { token } => {
                let (tx, _rx) = mpsc::unbounded_channel();
                self.run(&token, tx).await.map(Reply::RunDone)
            }
            Request::Deny { draft } => self.deny(draft).await,
            Request::Cancel { run } => self.cancel(run).await,
            Request::Result { run, offset, limit } => {
                self.page(run, offset, limit.min(self.limits.row_limit())).await.map(Reply::Page)
            }
            Request::Diag => self.diag().await.map(Reply::Diag),
            Request::Shutdown => Ok(Reply::ShuttingDown),
            Request::Fault { source, fault } => self.fault(source, fault).await,
            Request::Audit { filter } => Ok(Reply::Audit(self.store.call(move |db| db.audit(&filter)).await?)),
            Request::SessionCreate { title } => {
                Ok(Reply::Session(self.store.call(move |db| db.create_session(&title)).await?))
            }
            Request::Sessions => Ok(Reply::Sessions(self.store.call(|db| db.sessions()).await?)),
            Request::Messages { session } => {
                self.require_session(session).await?;
                Ok(Reply::Messages(self.store.call(move |db| db.messages(session)).await?))
            }
            Request::Unlock { secret } => match self.access.unlock(&secret).await {
                Ok(state) => {
                    self.audit("access.unlock", None, None, None, None, format!("as {}", state.role.as_str())).await;
                    Ok(Reply::Access(state))
                }
                Err(err) => {
                    self.audit("access.unlock_failed", None, None, None, None, err.message.clone()).await;
                    Err(err)
                }
            },
            Request::Lock => {
                let state = self.access.lock()?;
                self.audit("access.lock", None, None, None, None, String::new()).await;
                Ok(Reply::Access(state))
            }
            Request::SetLock { role, secret } => {
                let detail = format!("{} {}", role.as_str(), if secret.is_some() { "set" } else { "removed" });
                let state = self.access.set_lock(role, secret).await?;
                self.audit("access.set_lock", None, None, None, None, detail).await;
                Ok(Reply::Access(state))
            }
            Request::Access => Ok(Reply::Access(self.access.state())),
            Request::RenderTime { run, micros } => {
                let trace = self.store.call(move |db| db.run_trace(run)).await?;
                let trace = trace.ok_or_else(|| TypedError::new(ErrorCode::RunNotFound, format!("no run {run}")))?;
                self.telemetry(&trace, Some(run), "render", Duration::from_micros(micros)).await;
                Ok(Reply::Recorded)
            }
            Request::Guard { engine, query } => Ok(Reply::Verdict(Guardrail::new(engine).check(&query).to_wire())),
            Request::Settings => Ok(Reply::Settings(self.settings().await?)),
            Request::SetLlm { provider, model, endpoint, api_key, clear_api_key } => {
                let change = LlmChange { provider, model, endpoint, api_key, clear_api_key };
                self.set_llm(change).await.map(Reply::Settings)
            }
            Request::LlmTest => self.test_llm().await.map(Reply::LlmTest),
            Request::SetLimits(change) => self.set_limits(change).await.map(Reply::Settings),
            Request::RunTrace { run } => self.run_trace(run).await.map(Reply::Trace),
            Request::SourceFunctions { source, functions } => self.source_functions(&source, functions).await,
        }
    }

    /// Appends an audit event; a failure to audit is logged, never silently dropped.
    async fn audit(
        &self,
        action: &'static str,
        source: Option<&str>,
        session: Option<SessionId>,
        draft: Option<DraftId>,
        run: Option<RunId>,
        detail: String,
    ) {
        let source = source.map(str::to_owned);
        let actor = self.access.role().as_str();
        let result = self
            .store
            .call(move |db| {
                db.append_audit(&NewAudit { actor, action, source: source.as_deref(), session, draft, run, detail })
            })
            .await;
        if let Err(err) = result {
            tracing::error!("cannot write the audit event {action}: {err}");
        }
    }

    async fn telemetry(&self, trace: &str, run: Option<RunId>, stage: &'static str, duration: Duration) {
        let trace = trace.to_owned();
        if let Err(err) = self.store.call(move |db| db.record_stage(&trace, run, stage, duration)).await {
            tracing::warn!("cannot record telemetry: {err}");
        }
    }

    async fn source(&self, name: &str) -> Result<StoredSource, TypedError> {
        let name = name.to_owned();
        Ok(self.store.call(move |db| db.source(&name)).await?)
    }

    /// A source that may be queried: it exists and is not disabled.
    async fn usable_source(&self, name: &str) -> Result<StoredSource, TypedError> {
        let source = self.source(name).await?;
        if source.info.status == SourceStatus::Disabled {
            return Err(TypedError::new(
                ErrorCode::SourceDisabled,
                format!("source {name} is disabled; enable it with `psiq source enable {name}`"),
            ));
        }
        Ok(source)
    }

    async fn add_source(&self, name: String, spec: SourceSpec) -> Result<SourceInfo, TypedError> {
        validate_name(&name)?;
        if self.source(&name).await.is_ok() {
            return Err(TypedError::new(
                ErrorCode::SourceExists,
                format!("a source named {name} exists; pick another name or remove it first"),
            ));
        }
        let paths = match spec {
            SourceSpec::Files { paths } => paths,
            SourceSpec::Database { kind, target, password } => {
                return self.add_db_source(name, kind, target, password).await;
            }
        };
        let tables = files::expand(&paths)?;
        let database = tables.iter().any(|t| t.storage == TableStorage::Ingested).then(|| {
            let tag: [u8; 6] = rand::random();
            let tag: String = tag.iter().map(|b| format!("{b:02x}")).collect();
            self.config.home.join("datasets").join(format!("{name}-{tag}.duckdb"))
        });
        if let Some(db) = &database {
            std::fs::create_dir_all(db.parent().unwrap_or(&self.config.home)).map_err(internal)?;
        }
        let database = database.map(|p| p.to_string_lossy().into_owned());
        let source = FileSource { tables: tables.clone(), database: database.clone() };
        let (schema, facts) = match self.import(&name, &source).await {
            Ok(found) => found,
            Err(err) => {
                if let Some(db) = &database {
                    let _ = std::fs::remove_file(db);
                }
                let detail = format!("import failed: {} [{}]", err.message, err.code);
                self.audit("source.add_failed", Some(&name), None, None, None, detail).await;
                return Err(err);
            }
        };
        let capabilities = Capabilities { sql: true, server_side_cancel: false, schema_refresh: true };
        let stored = {
            let (name, tables, database) = (name.clone(), tables.clone(), database.clone());
            self.store
                .call(move |db| {
                    let config = SourceConfig::Files(tables.clone());
                    db.insert_source(&name, SourceKind::Files, &config, &capabilities, database.as_deref(), None)?;
                    db.record_import(&name, &records(&facts), &schema)?;
                    db.source(&name)
                })
                .await
        };
        let stored = match stored {
            Ok(stored) => stored,
            Err(err) => {
                if let Some(db) = &database {
                    let _ = std::fs::remove_file(db);
                }
                return Err(err.into());
            }
        };
        let detail = format!("files: {}", tables.iter().map(|t| t.pattern.as_str()).collect::<Vec<_>>().join(", "));
        self.audit("source.add", Some(&name), None, None, None, detail).await;
        Ok(stored.info)
    }

    fn keyring(&self) -> Result<&Keyring, TypedError> {
        self.keyring.as_ref().map_err(|err| {
            TypedError::new(
                ErrorCode::Internal,
                format!("the OS keyring is not available, so no password can be kept: {err}"),
            )
        })
    }

    async fn add_db_source(
        &self,
        name: String,
        kind: SourceKind,
        target: DbTarget,
        password: Option<UserSecret>,
    ) -> Result<SourceInfo, TypedError> {
        if kind == SourceKind::Files {
            return Err(TypedError::new(ErrorCode::BadRequest, "a files source takes paths, not a server"));
        }
        // MongoDB may run without authentication; the SQL servers always name a user.
        if target.host.is_empty()
            || target.database.is_empty()
            || (target.user.is_empty() && kind != SourceKind::Mongodb)
        {
            return Err(TypedError::new(
                ErrorCode::BadRequest,
                "a database source needs a host, a database and a user",
            ));
        }
        // PostgreSQL's driver reads a host that is a path as a Unix-socket directory; workers get no Unix
        // sockets (the sandbox cannot narrow one to a single path on Linux), so the server must be named by TCP.
        if target.host.starts_with('/') {
            return Err(TypedError::new(
                ErrorCode::BadRequest,
                format!(
                    "{} is a Unix-socket path; workers reach databases over TCP only: name the server's TCP address \
                     (for a local server, 127.0.0.1 and its port)",
                    target.host
                ),
            ));
        }
        let reference = match password {
            Some(password) => {
                let reference = SecretRef::new(DEFAULT_PROFILE, "source");
                self.keyring()?.store(&reference, &password.into_secret()).map_err(|e| e.to_typed())?;
                Some(reference)
            }
            None => None,
        };
        let added = self.connect_new_db_source(&name, kind, &target, reference.as_ref()).await;
        if added.is_err()
            && let Some(reference) = &reference
        {
            let _ = self.keyring().map(|k| k.delete(reference));
        }
        added
    }

    async fn connect_new_db_source(
        &self,
        name: &str,
        kind: SourceKind,
        target: &DbTarget,
        reference: Option<&SecretRef>,
    ) -> Result<SourceInfo, TypedError> {
        let password = self.password(reference.map(SecretRef::as_str))?;
        let job = |action| Job::Database(DbJob { kind, target: target.clone(), password: password.clone(), action });
        let report = self.db_test(name, job(DbAction::Test), Gate::Untracked).await?;
        let schema = self.db_metadata(name, job(DbAction::Metadata), Gate::Untracked).await?;
        // A cancelled or timed-out query is cancelled on the server too (see `supervisor`).
        let capabilities = Capabilities { sql: true, server_side_cancel: true, schema_refresh: true };
        let config = SourceConfig::Database(DbConfig {
            target: target.clone(),
            can_write: report.can_write,
            functions: Vec::new(),
        });
        let (owned_name, keyring_ref) = (name.to_owned(), reference.map(|r| r.as_str().to_owned()));
        let stored = self
            .store
            .call(move |db| {
                db.insert_source(&owned_name, kind, &config, &capabilities, None, keyring_ref.as_deref())?;
                db.record_schema(&owned_name, &schema)?;
                db.source(&owned_name)
            })
            .await?;
        let mut detail = format!(
            "{}@{}:{}/{}, server {}",
            target.user, target.host, target.port, target.database, report.server_version
        );
        if report.can_write {
            detail.push_str("; WARNING: this role can write; a read-only role is recommended");
        }
        self.audit("source.add", Some(name), None, None, None, detail).await;
        Ok(stored.info)
    }

    /// The password of a database source, from the keyring, ready for its worker.
    fn password(&self, reference: Option<&str>) -> Result<Option<Credential>, TypedError> {
        match reference {
            None => Ok(None),
            Some(reference) => {
                let secret =
                    self.keyring()?.load(&SecretRef::from_stored(reference.to_owned())).map_err(|e| e.to_typed())?;
                Ok(Some(Credential(secret)))
            }
        }
    }

    fn db_job(&self, source: &StoredSource, action: DbAction) -> Result<Job, TypedError> {
        let target = source.info.target.clone().ok_or_else(|| internal("a database source without a target"))?;
        let password = self.password(source.keyring_ref.as_deref())?;
        Ok(Job::Database(DbJob { kind: source.info.kind, target, password, action }))
    }

    async fn db_worker(
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
    async fn execute_source(
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
            self.audit("connect.retry", Some(&exec.source), None, None, exec.run, detail).await;
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
    fn with_breaker(&self, mut info: SourceInfo) -> SourceInfo {
        if info.kind != SourceKind::Files {
            info.breaker = self.breakers.status(&info.name);
        }
        info
    }

    async fn db_test(&self, name: &str, job: Job, gate: Gate) -> Result<ConnectionReport, TypedError> {
        let frames = self.db_worker(name, job, Duration::from_secs(30), gate).await?;
        frames
            .into_iter()
            .find_map(|f| if let FromWorker::Tested(report) = f { Some(report) } else { None })
            .ok_or_else(|| TypedError::new(ErrorCode::WorkerProtocol, "the connection test sent no report"))
    }

    async fn db_metadata(&self, name: &str, job: Job, gate: Gate) -> Result<SchemaSnapshot, TypedError> {
        let frames = self.db_worker(name, job, self.config.import_deadline, gate).await?;
        frames
            .into_iter()
            .find_map(|f| if let FromWorker::Schema(schema) = f { Some(schema) } else { None })
            .ok_or_else(|| TypedError::new(ErrorCode::WorkerProtocol, "the metadata job sent no schema"))
    }

    /// Imports (or re-imports) a file source in a worker: its schema and the facts of its files.
    async fn import(&self, name: &str, source: &FileSource) -> Result<(SchemaSnapshot, Vec<FileFact>), TypedError> {
        let job = Job::Import(ImportJob { source: source.clone(), limits: self.config.duck.clone() });
        let exec = Execution {
            run: None,
            source: name.to_owned(),
            kind: WorkerKind::Duckdb,
            job,
            deadline: self.config.import_deadline,
            cancel: CancelToken::default(),
        };
        let (mut schema, mut facts) = (None, Vec::new());
        self.supervisor
            .execute(exec, &mut |event| match event {
                SupervisorEvent::Output(FromWorker::Schema(s)) => schema = Some(s),
                SupervisorEvent::Output(FromWorker::Files(f)) => facts = f,
                _ => {}
            })
            .await
            .map_err(|failure| failure.to_typed())?;
        let schema =
            schema.ok_or_else(|| TypedError::new(ErrorCode::WorkerProtocol, "the import finished without a schema"))?;
        Ok((schema, facts))
    }

    /// Re-imports a source whose files changed since import, so ingested tables never go stale.
    async fn refresh_if_changed(&self, source: &StoredSource) -> Result<(), TypedError> {
        let ingested: Vec<&str> = source
            .info
            .files
            .iter()
            .filter(|t| t.storage == TableStorage::Ingested)
            .map(|t| t.table.as_str())
            .collect();
        let changed = source.files.iter().filter(|f| ingested.contains(&f.table.as_str())).any(|f| {
            let now = std::fs::metadata(&f.path).ok();
            now.as_ref().map(|m| m.len()) != Some(f.size) || now.and_then(|m| modified_ms(&m)) != f.modified_ms
        });
        if changed {
            tracing::info!(source = %source.info.name, "files changed since import; importing again");
            self.reimport(source, Gate::Enforced).await?;
        }
        Ok(())
    }

    async fn reimport(&self, source: &StoredSource, gate: Gate) -> Result<SchemaSnapshot, TypedError> {
        if source.info.kind != SourceKind::Files {
            return self.refresh_db_schema(source, gate).await;
        }
        let name = source.info.name.clone();
        let files = FileSource { tables: source.info.files.clone(), database: source.database.clone() };
        match self.import(&name, &files).await {
            Ok((schema, facts)) => {
                let (name, stored) = (name.clone(), schema.clone());
                self.store.call(move |db| db.record_import(&name, &records(&facts), &stored)).await?;
                self.audit("source.import", Some(&source.info.name), None, None, None, "imported again".into()).await;
                Ok(schema)
            }
            Err(err) => self.mark_failed(name, err).await,
        }
    }

    /// Marks a source FAILED with `err` (audited), and returns `err`.
    async fn mark_failed<T>(&self, name: String, err: TypedError) -> Result<T, TypedError> {
        let message = err.message.clone();
        let source = name.clone();
        self.store.call(move |db| db.set_source_failed(&source, &message)).await?;
        self.audit("source.failed", Some(&name), None, None, None, err.message.clone()).await;
        Err(err)
    }

    /// Reads a database source's metadata again; a failure marks the source FAILED (a refusal by its open
    /// circuit breaker leaves it as it is: nothing was tried).
    async fn refresh_db_schema(&self, source: &StoredSource, gate: Gate) -> Result<SchemaSnapshot, TypedError> {
        let name = source.info.name.clone();
        let result = match self.db_job(source, DbAction::Metadata) {
            Ok(job) => self.db_metadata(&name, job, gate).await,
            Err(err) => Err(err),
        };
        match result {
            Ok(mut schema) => {
                schema.cache = None;
                let stored = schema.clone();
                self.store.call(move |db| db.record_schema(&name, &stored)).await?;
                Ok(schema)
            }
            Err(err) if err.code == ErrorCode::CircuitOpen => Err(err),
            Err(err) => self.mark_failed(name, err).await,
        }
    }

    async fn test_source(&self, name: &str) -> Result<SourceTestReport, TypedError> {
        let started = Instant::now();
        let source = self.source(name).await?;
        // A database is first asked about itself (reachability, version, TLS, whether the role can write), then
        // its metadata is read again; files are simply re-read.
        let tested = match source.info.kind {
            SourceKind::Files => Ok(None),
            _ => match self.db_job(&source, DbAction::Test) {
                Ok(job) => self.db_test(name, job, Gate::Observed).await.map(Some),
                Err(err) => Err(err),
            },
        };
        let result = match tested {
            Ok(report) => self.reimport(&source, Gate::Observed).await.map(|schema| (report, schema)),
            Err(err) => Err(err),
        };
        let status = self.source(name).await?.info.status;
        let report = SourceTestReport {
            source: name.to_owned(),
            ok: result.is_ok(),
            status,
            message: match result {
                Ok((None, schema)) => format!("all files readable; {} tables", schema.tables.len()),
                Ok((Some(server), schema)) => format!(
                    "connected to {} ({}) in {} ms; {} tables{}",
                    server.server_version,
                    if server.tls { "TLS" } else { "no TLS" },
                    server.elapsed_ms,
                    schema.tables.len(),
                    if server.can_write {
                        "; WARNING: this role can write; a read-only role is recommended"
                    } else {
                        ""
                    }
                ),
                Err(err) => err.message,
            },
            elapsed_ms: started.elapsed().as_millis() as u64,
        };
        self.audit("source.test", Some(name), None, None, None, report.message.clone()).await;
        Ok(report)
    }

    async fn set_enabled(&self, name: String, enabled: bool) -> Result<SourceInfo, TypedError> {
        let source = name.clone();
        let info = self.store.call(move |db| db.set_source_enabled(&source, enabled)).await?;
        let action = if enabled { "source.enable" } else { "source.disable" };
        self.audit(action, Some(&name), None, None, None, String::new()).await;
        Ok(info)
    }

    async fn remove_source(&self, name: String) -> Result<Reply, TypedError> {
        let source = name.clone();
        let removed = self.store.call(move |db| db.delete_source(&source)).await?;
        if let Some(reference) = &removed.keyring_ref {
            let deleted = self
                .keyring()
                .and_then(|k| k.delete(&SecretRef::from_stored(reference.clone())).map_err(|e| e.to_typed()));
            if let Err(err) = deleted {
                tracing::warn!(source = %name, "cannot delete the source's password from the keyring: {}", err.message);
            }
        }
        if let Some(db) = removed.database {
            let _ = std::fs::remove_file(&db);
            let _ = std::fs::remove_file(format!("{db}.wal"));
        }
        self.breakers.forget(&name);
        self.audit("source.remove", Some(&name), None, None, None, String::new()).await;
        Ok(Reply::Removed { name })
    }

    /// A source's schema. A database source answers from its stored snapshot while that is younger than
    /// `schema_ttl`, and reads it again in a worker when it is older (not while the source is disabled); files
    /// are read again whenever one changed. `refresh` reads it again now. The answer says which it was and how old.
    async fn schema(&self, name: &str, refresh: bool) -> Result<SchemaSnapshot, TypedError> {
        let source = self.source(name).await?;
        let database = source.info.kind != SourceKind::Files;
        let ttl = self.config.schema_ttl;
        let enabled = source.info.status != SourceStatus::Disabled;
        let expired = |s: &SchemaSnapshot| unix_ms().saturating_sub(s.fetched_at_ms) >= ttl.as_millis() as u64;
        let mut snapshot = if refresh || (database && enabled && source.schema.as_ref().is_none_or(expired)) {
            let mut fresh = self.reimport(&source, Gate::Enforced).await?;
            fresh.cache = Some(SchemaCache { cached: false, age_ms: 0, ttl_ms: None });
            fresh
        } else {
            if !database && enabled {
                self.refresh_if_changed(&source).await?;
            }
            let source = self.source(name).await?;
            let mut stored = source.schema.ok_or_else(|| {
                TypedError::new(
                    ErrorCode::SourceNotFound,
                    format!("no schema for {name} yet; run `psiq source test {name}`"),
                )
            })?;
            stored.cache = Some(SchemaCache { cached: true, age_ms: 0, ttl_ms: None });
            stored
        };
        if let Some(cache) = &mut snapshot.cache {
            cache.age_ms = unix_ms().saturating_sub(snapshot.fetched_at_ms);
            cache.ttl_ms = database.then_some(ttl.as_millis() as u64);
        }
        Ok(snapshot)
    }

    async fn require_session(&self, session: SessionId) -> Result<(), TypedError> {
        if self.store.call(move |db| db.session_exists(session)).await? {
            Ok(())
        } else {
            Err(TypedError::new(ErrorCode::BadRequest, format!("no chat session {session}; see `psiq session list`")))
        }
    }

    /// Drafts `question` on `source` and checks the draft (guardrail, then a dry run). A model's draft that fails
    /// its checks goes back to the model with the error, up to the router's repair limit; every draft set aside is
    /// kept in the preview's `attempts` and audited as `draft.repair`.
    async fn ask(&self, source: &str, question: &str, session: Option<SessionId>) -> Result<DraftPreview, TypedError> {
        if let Some(session) = session {
            self.require_session(session).await?;
            let question = question.to_owned();
            self.store.call(move |db| db.append_message(session, "user", &question, None)).await?;
        }
        let schema = self.schema(source, false).await?;
        let stored = self.usable_source(source).await?;
        let engine = stored.info.kind.engine();
        // A follow-up ("now only 2024") is read against the session's earlier questions: the offline planner
        // replays them, a model is shown them with their queries and outcomes. The last message is this
        // question, appended above.
        let earlier = match session {
            Some(session) => {
                let mut messages = self.store.call(move |db| db.messages(session)).await?;
                messages.pop();
                messages
            }
            None => Vec::new(),
        };
        let previous = planner::replay(&earlier, &schema, engine);
        // Read for every question, so a change of provider needs no restart.
        let llm = llm_settings::load(&self.store).await?;
        let history = match llm.provider {
            LlmProvider::Offline => Vec::new(),
            _ => self.exchanges(&earlier, source).await?,
        };
        let mut repairs: Vec<Repair> = Vec::new();
        let mut attempts: Vec<DraftAttempt> = Vec::new();
        let (drafted, validation, generation) = loop {
            let asked = Question {
                engine,
                text: question,
                schema: &schema,
                previous: previous.as_ref(),
                row_limit: self.limits.row_limit(),
                history: &history,
                repairs: &repairs,
            };
            let key = llm_settings::key(&llm, self.keyring());
            let (drafted, generation) = self.router.draft(&llm, key, asked).await;
            let drafted = match drafted {
                Ok(drafted) => drafted,
                Err(mut err) => {
                    let trace = format!("ask-{:016x}", rand::random::<u64>());
                    self.record_generation(&trace, &generation, source, session, None).await;
                    if !attempts.is_empty() {
                        err.message = format!(
                            "{} ({} earlier draft{} failed its checks; see draft.repair in the audit log)",
                            err.message,
                            attempts.len(),
                            if attempts.len() == 1 { "" } else { "s" }
                        );
                    }
                    if let Some(session) = session {
                        let message = err.message.clone();
                        self.store.call(move |db| db.append_message(session, "assistant", &message, None)).await?;
                    }
                    self.audit("draft.declined", Some(source), session, None, None, err.message.clone()).await;
                    return Err(err);
                }
            };
            let validation = self.validate(&stored, &drafted.query).await;
            match validation.failure() {
                Some(error) if drafted.repairable && attempts.len() < self.router.repairs() as usize => {
                    let trace = format!("repair-{:016x}", rand::random::<u64>());
                    self.record_generation(&trace, &generation, source, session, None).await;
                    let detail = format!(
                        "attempt {} by {} set aside: {} [{}]; asked for a repair: {}",
                        attempts.len() + 1,
                        drafted.provider,
                        error.message,
                        error.code,
                        drafted.query
                    );
                    self.audit("draft.repair", Some(source), session, None, None, detail).await;
                    let told = format!("{} [{}]", error.message, error.code);
                    repairs.push(Repair { query: drafted.query.clone(), error: told });
                    attempts.push(DraftAttempt { query: drafted.query, provider: drafted.provider, error });
                }
                _ => break (drafted, validation, generation),
            }
        };
        let proposal = Proposal {
            question: Some(question.to_owned()),
            query: drafted.query,
            provider: drafted.provider,
            explanation: drafted.explanation,
            attempts,
        };
        let preview = self.make_draft(&stored, session, proposal, validation).await?;
        self.record_generation(&format!("draft-{}", preview.draft), &generation, source, session, Some(preview.draft))
            .await;
        if let Some(session) = session {
            let content = format!("{}\n{}", preview.explanation, preview.query);
            let draft = preview.draft;
            self.store.call(move |db| db.append_message(session, "assistant", &content, Some(draft))).await?;
        }
        Ok(preview)
    }

    /// A session's earlier exchanges, oldest first, as a model's follow-up context: each question with the query
    /// drafted for it and what became of it (rows and columns, never the rows themselves). Drafts on other sources
    /// are left out: they would ground the model in the wrong schema.
    async fn exchanges(&self, messages: &[ChatMessage], source: &str) -> Result<Vec<Exchange>, TypedError> {
        // Question and answer pairs, in order; only the most recent the router could send are looked up.
        let mut pairs = Vec::new();
        let mut rest = messages;
        while let [asked, answer, tail @ ..] = rest {
            if asked.role == "user" && answer.role == "assistant" {
                pairs.push((asked, answer));
                rest = tail;
            } else {
                rest = &rest[1..];
            }
        }
        let mut exchanges = Vec::new();
        for (asked, answer) in pairs.into_iter().rev() {
            if exchanges.len() == self.router.history_turns() {
                break;
            }
            let question = asked.content.clone();
            let Some(draft) = answer.draft else {
                exchanges.push(Exchange { question, query: None, outcome: answer.content.clone() });
                continue;
            };
            let Some(found) = self.store.call(move |db| db.draft_outcome(draft)).await? else { continue };
            if found.source == source {
                let outcome = self.outcome_of(&found);
                exchanges.push(Exchange { question, query: Some(found.query), outcome });
            }
        }
        exchanges.reverse();
        Ok(exchanges)
    }

    /// What became of a past draft, in a few words for the model.
    fn outcome_of(&self, found: &DraftOutcome) -> String {
        match (&found.run, found.status.as_str()) {
            (Some(run), _) if run.status == "finished" => {
                let columns = self.results.get(run.run).map(|rows| {
                    let names: Vec<&str> = rows.columns.iter().map(|c| c.name.as_str()).collect();
                    format!("; columns {}", names.join(", "))
                });
                format!("ran and returned {} rows{}", run.rows.unwrap_or(0), columns.unwrap_or_default())
            }
            (Some(run), _) => {
                let code = run.error_code.as_deref().map(|c| format!(" [{c}]")).unwrap_or_default();
                format!("its run ended {}{code}", run.status)
            }
            (None, "denied") => "the user denied it; it did not run".to_owned(),
            (None, _) => "not run".to_owned(),
        }
    }

    /// A query's checks before the user sees it: the guardrail, then, when it allows the query, a dry run.
    async fn validate(&self, source: &StoredSource, query: &str) -> Validation {
        let started = Instant::now();
        let verdict = guardrail(source).check(query).to_wire();
        let check = if verdict.allowed { Some(self.dry_run(source, query).await) } else { None };
        Validation { verdict, check, elapsed: started.elapsed() }
    }

    /// Has a worker prepare (PostgreSQL, MySQL, DuckDB) or explain (MongoDB) `query` without running it, so an
    /// unknown table or column or a type error shows in the preview instead of after approval. Only the query's
    /// own errors fail it; a dry run that could not reach the server is inconclusive and leaves the draft
    /// runnable. It is tried once, only when a worker is free (a preview never waits behind long runs), and
    /// leaves the source's circuit breaker alone: the run that follows is the one that counts, and retries, a
    /// connection failure.
    async fn dry_run(&self, source: &StoredSource, query: &str) -> DraftCheck {
        let started = Instant::now();
        if self.breakers.status(&source.info.name).state == BreakerState::Open {
            let message = "the dry run was skipped: the source's circuit breaker is open (see `psiq source list`)";
            return DraftCheck { outcome: CheckOutcome::Inconclusive, elapsed_ms: 0, message: message.to_owned() };
        }
        let deadline = self.limits.check_deadline();
        let job = match source.info.kind {
            SourceKind::Files => Ok(Job::Check(QueryJob {
                source: FileSource { tables: source.info.files.clone(), database: source.database.clone() },
                sql: query.to_owned(),
                row_limit: 0,
                batch_rows: 1,
                limits: self.config.duck.clone(),
            })),
            _ => {
                self.db_job(source, DbAction::Check { sql: query.to_owned(), timeout_ms: deadline.as_millis() as u64 })
            }
        };
        let mut resolved = Vec::new();
        let result = match job {
            Ok(job) => {
                let exec = Execution {
                    run: None,
                    source: source.info.name.clone(),
                    kind: source.info.kind.worker_kind(),
                    job,
                    deadline: deadline + SERVER_LIMIT_MARGIN,
                    cancel: CancelToken::default(),
                };
                let mut sink = |event| {
                    if let SupervisorEvent::Output(FromWorker::Resolved(relations)) = event {
                        resolved.extend(relations);
                    }
                };
                self.supervisor.execute_now(exec, &mut sink).await.map(drop).map_err(|failure| failure.to_typed())
            }
            Err(err) => Err(err),
        };
        let elapsed_ms = started.elapsed().as_millis() as u64;
        // The second, independent check: what the server's plan reads, whatever the text looked like.
        let guard = guardrail(source);
        let refused = resolved.iter().find_map(|relation| {
            let verdict = guard.check_resolved(query, &relation.schema, &relation.name, relation.table_function);
            (!verdict.allowed()).then(|| format!("{}.{}: {}", relation.schema, relation.name, verdict.reason))
        });
        if let Some(refused) = refused {
            let message = format!(
                "the server's plan of this query reads a relation the guardrail does not allow ({refused}); it will \
                 not run"
            );
            return DraftCheck { outcome: CheckOutcome::Failed, elapsed_ms, message };
        }
        let (outcome, message) = match result {
            Ok(()) => {
                let how = if source.info.kind == SourceKind::Mongodb { "explained" } else { "prepared" };
                (
                    CheckOutcome::Passed,
                    format!("the dry run {how} the query without running it: its names and types hold"),
                )
            }
            Err(err) if matches!(err.code, ErrorCode::QueryFailed | ErrorCode::BadRequest) => {
                (CheckOutcome::Failed, err.message)
            }
            Err(err) => (
                CheckOutcome::Inconclusive,
                format!("the dry run could not tell: {} [{}]; the query may still be right", err.message, err.code),
            ),
        };
        DraftCheck { outcome, elapsed_ms, message }
    }

    /// A draft's `generate` stage, with what it cost the provider; a model provider's call is audited too (the
    /// schema left the machine, or at least was sent to the configured endpoint).
    async fn record_generation(
        &self,
        trace: &str,
        generation: &llm::router::Generation,
        source: &str,
        session: Option<SessionId>,
        draft: Option<DraftId>,
    ) {
        let (owned_trace, detail) = (trace.to_owned(), generation.to_json());
        let latency = generation.latency;
        if let Err(err) = self.store.call(move |db| db.record_generation(&owned_trace, latency, &detail)).await {
            tracing::warn!("cannot record telemetry: {err}");
        }
        if generation.provider != LlmProvider::Offline {
            self.audit("llm.generate", Some(source), session, draft, None, generation.describe(trace)).await;
        }
    }

    /// The timed stages of `run`'s trace, oldest first.
    async fn run_trace(&self, run: RunId) -> Result<polystoreiq_protocol::types::RunTrace, TypedError> {
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

    /// Reads, or (owner) replaces, the user-defined functions a database source's drafted queries may call. Off by
    /// default: the guard cannot see what a user function does, so only the owner can vouch for one.
    async fn source_functions(&self, name: &str, functions: Option<Vec<String>>) -> Result<Reply, TypedError> {
        let source = self.source(name).await?;
        let Some(functions) = functions else {
            return Ok(Reply::SourceFunctions { source: source.info.name, functions: source.functions });
        };
        if source.info.kind == SourceKind::Files {
            return Err(TypedError::new(ErrorCode::BadRequest, "a files source has no user-defined functions"));
        }
        let mut names: Vec<String> = Vec::new();
        for function in functions {
            let name = function.trim().to_ascii_lowercase();
            let valid = !name.is_empty()
                && name.split('.').count() <= 2
                && name.split('.').all(|part| {
                    part.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                        && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
                });
            if !valid {
                return Err(TypedError::new(
                    ErrorCode::BadRequest,
                    format!(
                        "{function:?} is not a function name: write it as a query names it, e.g. sales.fiscal_quarter"
                    ),
                ));
            }
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let stored = names.clone();
        let source_name = source.info.name.clone();
        self.store.call(move |db| db.set_source_functions(&source_name, &stored)).await?;
        let detail = if names.is_empty() { "none".to_owned() } else { names.join(", ") };
        self.audit("source.functions", Some(&source.info.name), None, None, None, format!("allowed: {detail}")).await;
        Ok(Reply::SourceFunctions { source: source.info.name, functions: names })
    }

    async fn settings(&self) -> Result<polystoreiq_protocol::types::Settings, TypedError> {
        Ok(self.settings_with(llm_settings::load(&self.store).await?.view()))
    }

    fn settings_with(&self, llm: polystoreiq_protocol::types::LlmSettings) -> polystoreiq_protocol::types::Settings {
        polystoreiq_protocol::types::Settings { llm, limits: self.limits.get(), env_fixed: self.limits.env_fixed() }
    }

    async fn set_limits(&self, change: LimitsChange) -> Result<polystoreiq_protocol::types::Settings, TypedError> {
        let detail = self.limits.change(&self.store, change).await?;
        self.supervisor.resize(self.limits.get().max_workers as usize);
        self.supervisor.set_session_limits(self.limits.session());
        self.audit("settings.limits", None, None, None, None, detail).await;
        if change.audit_retention_days.is_some() {
            self.prune_audit().await;
        }
        self.settings().await
    }

    /// Deletes the audit events older than the retention in force.
    pub async fn prune_audit(&self) {
        let retention = self.limits.audit_retention();
        let cutoff = unix_ms().saturating_sub(retention.as_millis() as u64);
        match self.store.call(move |db| db.prune_audit(cutoff)).await {
            Ok(0) => {}
            Ok(n) => tracing::info!("pruned {n} audit events older than {} days", retention.as_secs() / 86_400),
            Err(err) => tracing::error!("cannot prune the audit log: {err}"),
        }
    }

    async fn set_llm(&self, change: LlmChange) -> Result<polystoreiq_protocol::types::Settings, TypedError> {
        let key_note = match (&change.api_key, change.clear_api_key) {
            (Some(_), _) => "; API key replaced",
            (None, true) => "; API key removed",
            (None, false) => "",
        };
        let config = llm_settings::save(&self.store, self.keyring(), change).await?;
        let detail = format!("{} {} {}{key_note}", config.provider.as_str(), config.model, config.endpoint);
        self.audit("settings.llm", None, None, None, None, detail.trim().to_owned()).await;
        Ok(self.settings_with(config.view()))
    }

    async fn test_llm(&self) -> Result<polystoreiq_protocol::types::LlmTestReport, TypedError> {
        let config = llm_settings::load(&self.store).await?;
        let started = Instant::now();
        let result = self.router.health(&config, llm_settings::key(&config, self.keyring())).await;
        let message = match result {
            Ok(message) => message,
            Err(err) => return Err(err.to_typed(config.provider)),
        };
        Ok(polystoreiq_protocol::types::LlmTestReport {
            provider: config.provider,
            model: config.model,
            endpoint: config.endpoint,
            elapsed_ms: started.elapsed().as_millis() as u64,
            message,
        })
    }

    /// Stores a checked proposal as a draft and mints its approval token when the guardrail allows the query and
    /// the dry run found nothing wrong with it.
    async fn make_draft(
        &self,
        source: &StoredSource,
        session: Option<SessionId>,
        proposal: Proposal,
        validation: Validation,
    ) -> Result<DraftPreview, TypedError> {
        let runnable = validation.failure().is_none();
        let Validation { verdict, check, elapsed } = validation;
        let mut preview = DraftPreview {
            draft: DraftId(0),
            source: source.info.name.clone(),
            engine: source.info.kind.engine(),
            question: proposal.question,
            query: proposal.query,
            provider: proposal.provider,
            explanation: proposal.explanation,
            verdict,
            token: None,
            token_expires_in_ms: 0,
            attempts: proposal.attempts,
            check,
        };
        let ttl = self.config.token_ttl;
        let minted = {
            let draft = NewDraft { preview: preview.clone(), session };
            self.store
                .call(move |db| {
                    let id = db.insert_draft(&draft)?;
                    let token = if runnable {
                        let token: [u8; 16] = rand::random();
                        let token: String = token.iter().map(|b| format!("{b:02x}")).collect();
                        let expires = unix_ms() + ttl.as_millis() as u64;
                        db.insert_token(&token, id, &draft.preview.source, session, &draft.preview.query, expires)?;
                        Some(token)
                    } else {
                        None
                    };
                    Ok((id, token))
                })
                .await?
        };
        preview.draft = minted.0;
        if let Some(token) = minted.1 {
            preview.token = Some(token);
            preview.token_expires_in_ms = ttl.as_millis() as u64;
        }
        let trace = format!("draft-{}", preview.draft);
        self.telemetry(&trace, None, "validate", elapsed).await;
        let outcome = match (&preview.check, preview.verdict.allowed) {
            (_, false) => "rejected",
            (Some(check), true) if check.outcome == CheckOutcome::Failed => "failed its dry run",
            _ => "allowed",
        };
        let detail = format!("{outcome} by {}: {} [{}]", preview.provider, preview.query, preview.verdict.code);
        self.audit("draft.create", Some(&preview.source), session, Some(preview.draft), None, detail).await;
        Ok(preview)
    }

    async fn deny(&self, draft: DraftId) -> Result<Reply, TypedError> {
        let source = self.store.call(move |db| db.deny_draft(draft)).await?;
        self.audit("draft.deny", Some(&source), None, Some(draft), None, "denied; nothing ran".into()).await;
        Ok(Reply::Denied { draft })
    }

    /// Runs an approved draft, consuming its token, and reports progress on `events`.
    pub async fn run(&self, token: &str, events: mpsc::UnboundedSender<RunEvent>) -> Result<RunSummary, TypedError> {
        let token_owned = token.to_owned();
        let approved = match self.store.call(move |db| db.consume_token(&token_owned)).await {
            Ok(approved) => approved,
            Err(err) => {
                let err = err.to_typed();
                self.audit("token.refused", None, None, None, None, format!("{} [{}]", err.message, err.code)).await;
                return Err(err);
            }
        };
        let source = match self.usable_source(&approved.source).await {
            Ok(source) => source,
            Err(err) => {
                let detail = format!("{} [{}]", err.message, err.code);
                self.audit("run.refused", Some(&approved.source), approved.session, Some(approved.draft), None, detail)
                    .await;
                return Err(err);
            }
        };
        // The draft was checked when it was made; check again, since the guardrail or the source may have changed
        // since, and write the row limit into what the server receives.
        let runnable = match self.runnable(&source, &approved) {
            Ok(runnable) => runnable,
            Err(err) => {
                let detail = format!("{} [{}]", err.message, err.code);
                self.audit("run.refused", Some(&approved.source), approved.session, Some(approved.draft), None, detail)
                    .await;
                return Err(err);
            }
        };
        self.refresh_if_changed(&source).await?;
        let trace = format!("{:016x}", rand::random::<u64>());
        let run = {
            let (draft, name, trace) = (approved.draft, approved.source.clone(), trace.clone());
            self.store.call(move |db| db.insert_run(draft, &name, &trace)).await?
        };
        self.audit(
            "run.approve",
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
        let (kind, job) = match source.info.kind {
            SourceKind::Files => (
                WorkerKind::Duckdb,
                Job::Query(QueryJob {
                    source: FileSource { tables: source.info.files.clone(), database: source.database.clone() },
                    sql: runnable,
                    row_limit: self.limits.row_limit(),
                    batch_rows: self.config.batch_rows,
                    limits: self.config.duck.clone(),
                }),
            ),
            _ => {
                let action = DbAction::Query {
                    sql: runnable,
                    row_limit: self.limits.row_limit(),
                    batch_rows: self.config.batch_rows,
                    timeout_ms: (self.limits.run_deadline() + SERVER_LIMIT_MARGIN).as_millis() as u64,
                };
                match self.db_job(&source, action) {
                    Ok(job) => (source.info.kind.worker_kind(), job),
                    Err(err) => {
                        self.lock_running().remove(&run);
                        let stored_err = err.clone();
                        self.store.call(move |db| db.finish_run(run, 0, false, 0, Some(&stored_err))).await?;
                        return Err(err);
                    }
                }
            }
        };
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
                    "run.finish",
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
                    self.audit("run.server_cancel", source, session, Some(draft), Some(run), detail).await;
                }
                let stored_err = err.clone();
                self.store.call(move |db| db.finish_run(run, rows, false, elapsed_ms, Some(&stored_err))).await?;
                let action = if err.code == ErrorCode::Cancelled { "run.cancel" } else { "run.fail" };
                let detail = format!("{} [{}]", err.message, err.code);
                self.audit(action, Some(&approved.source), approved.session, Some(approved.draft), Some(run), detail)
                    .await;
                Err(err)
            }
        }
    }

    /// The approved query as the worker runs it: checked again, with the row limit written in (one row over, so
    /// the worker can tell the result was cut).
    fn runnable(&self, source: &StoredSource, approved: &Approved) -> Result<String, TypedError> {
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

    async fn page(&self, run: RunId, offset: u64, limit: u64) -> Result<ResultPage, TypedError> {
        if let Some(rows) = self.results.get(run) {
            return Ok(rows.page(run, offset, limit));
        }
        if self.lock_running().contains_key(&run) {
            return Err(TypedError::new(ErrorCode::BadRequest, format!("run {run} is still running")));
        }
        let stored = self.store.call(move |db| db.run_result(run)).await?;
        match stored {
            None => Err(TypedError::new(ErrorCode::RunNotFound, format!("no run {run}"))),
            Some(StoredRun { status, .. }) if status != "finished" => {
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

    async fn cancel(&self, run: RunId) -> Result<Reply, TypedError> {
        let token = self.lock_running().get(&run).cloned();
        match token {
            Some(token) => {
                token.cancel();
                self.audit("run.cancel_requested", None, None, None, Some(run), String::new()).await;
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

    #[cfg(not(debug_assertions))]
    async fn fault(&self, _source: String, _fault: Fault) -> Result<Reply, TypedError> {
        Err(TypedError::new(ErrorCode::BadRequest, "fault injection exists only in debug builds"))
    }

    #[cfg(debug_assertions)]
    async fn fault(&self, source: String, fault: Fault) -> Result<Reply, TypedError> {
        // A fault on a registered source runs in the sandbox a real job on that source gets.
        let stored = self.store.call({
            let name = source.clone();
            move |db| db.source(&name)
        });
        let (kind, policy_job) = match stored.await {
            Ok(stored) => match stored.info.kind {
                SourceKind::Files => (
                    WorkerKind::Duckdb,
                    Some(Job::Query(QueryJob {
                        source: FileSource { tables: stored.info.files.clone(), database: stored.database.clone() },
                        sql: String::new(),
                        row_limit: 0,
                        batch_rows: 1,
                        limits: self.config.duck.clone(),
                    })),
                ),
                kind => (kind.worker_kind(), Some(self.db_job(&stored, DbAction::Test)?)),
            },
            Err(_) => (WorkerKind::Duckdb, None),
        };
        let exec = Execution {
            run: None,
            source,
            kind,
            job: Job::Fault(fault),
            deadline: self.limits.run_deadline(),
            cancel: CancelToken::default(),
        };
        match self.supervisor.execute_sandboxed_as(exec, policy_job.as_ref(), &mut |_| {}).await {
            Ok(_) => Ok(Reply::FaultSurvived),
            Err(failure) => Err(failure.to_typed()),
        }
    }

    async fn diag(&self) -> Result<DiagReport, TypedError> {
        let load = self.supervisor.load();
        let since = unix_ms().saturating_sub(STAGE_WINDOW.as_millis() as u64);
        let stages = self.store.call(move |db| db.stage_stats(since)).await?;
        let generations = self.store.call(move |db| db.generation_stats(since)).await?;
        Ok(DiagReport {
            workers: self.supervisor.health().snapshot(),
            sandbox: self.supervisor.health().sandboxes(),
            pool: PoolStats {
                running: load.running as u32,
                queued: load.queued as u32,
                max_workers: load.max_workers as u32,
                queue_bound: load.queue_bound as u32,
            },
            stages,
            window_ms: STAGE_WINDOW.as_millis() as u64,
            breakers: self.breakers.snapshot(),
            generations,
        })
    }

    fn lock_running(&self) -> MutexGuard<'_, HashMap<RunId, CancelToken>> {
        self.running.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn records(facts: &[FileFact]) -> Vec<FileRecord> {
    facts
        .iter()
        .map(|f| FileRecord {
            table: f.table.clone(),
            path: f.path.clone(),
            size: f.size,
            modified_ms: f.modified_ms,
            sha256: f.sha256.clone(),
        })
        .collect()
}

fn modified_ms(meta: &std::fs::Metadata) -> Option<i64> {
    meta.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok().map(|d| d.as_millis() as i64)
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

/// The guardrail for a source: its engine's rules, and for files the paths it was registered with.
/// A query to show the user, before its checks.
struct Proposal {
    question: Option<String>,
    query: String,
    provider: String,
    explanation: String,
    /// The drafts set aside for this one.
    attempts: Vec<DraftAttempt>,
}

/// What a query's checks found.
struct Validation {
    verdict: GuardVerdict,
    /// The dry run's findings; `None` when the guardrail refused the query.
    check: Option<DraftCheck>,
    /// Time in the guardrail and the dry run: the `validate` stage.
    elapsed: Duration,
}

impl Validation {
    /// Why the query must not run as it is: the guardrail's refusal, or the error the dry run found in it.
    fn failure(&self) -> Option<TypedError> {
        if !self.verdict.allowed {
            let message = format!("{} [{}]", self.verdict.reason, self.verdict.code);
            return Some(TypedError::new(ErrorCode::QueryRejected, message));
        }
        match &self.check {
            Some(check) if check.outcome == CheckOutcome::Failed => {
                Some(TypedError::new(ErrorCode::QueryFailed, check.message.clone()))
            }
            _ => None,
        }
    }
}

fn guardrail(source: &StoredSource) -> Guardrail {
    let source_paths = source
        .info
        .files
        .iter()
        .flat_map(|table| table.paths.iter().cloned().chain(std::iter::once(table.pattern.clone())))
        .collect();
    let engine = source.info.kind.engine();
    let policy =
        guard::Policy { source_paths, schemas: own_schemas(engine, source), functions: source.functions.clone() };
    Guardrail::with_policy(engine, policy)
}

/// The schemas (MySQL: the database) a query of `source` may name, from its settings and its last schema
/// snapshot; `None` when they are not known yet, and then every schema but the engine's own may be named.
fn own_schemas(engine: Engine, source: &StoredSource) -> Option<Vec<String>> {
    match engine {
        Engine::Mysql => source.info.target.as_ref().map(|target| vec![target.database.clone()]),
        Engine::Postgres => source.schema.as_ref().map(|snapshot| {
            // The snapshot names a table schema-qualified outside `public`.
            let mut schemas = vec!["public".to_owned()];
            for table in &snapshot.tables {
                if let Some((schema, _)) = table.name.split_once('.')
                    && !schemas.iter().any(|s| s == schema)
                {
                    schemas.push(schema.to_owned());
                }
            }
            schemas
        }),
        Engine::Duckdb | Engine::Mongodb => None,
    }
}
