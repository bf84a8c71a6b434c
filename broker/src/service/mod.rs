//! The broker's requests, one handler each. Front ends reach these only through the socket server.
//!
//! [`Broker::handle`] only routes; the work is split by concern: [`sources`] (adding, testing, schema),
//! [`jobs`] (every worker job built from a stored source, and database executions under the breaker),
//! [`drafting`] (questions and queries to checked drafts), [`runs`] (approved drafts executed, paged, cancelled),
//! [`sessions`], [`lock`] (the profile lock), [`settings`] and [`diag`] (diagnostics, audit, fault injection).
//!
//! Every state change goes to the app state (see [`crate::store`]) and leaves an audit event; every draft and
//! run leaves per-stage telemetry under one trace id.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use polystoreiq_protocol::broker::{Reply, Request};
use polystoreiq_protocol::types::{AuditAction, DraftId, RunId, SessionId};
use polystoreiq_protocol::{ErrorCode, TypedError};
use tokio::sync::mpsc;

use crate::access::AccessControl;
use crate::breaker::Breakers;
use crate::config::BrokerConfig;
use crate::guard::Guardrail;
use crate::launcher::WorkerLauncher;
use crate::limits::LiveLimits;
use crate::llm;
use crate::llm::settings::LlmChange;
use crate::results::ResultCache;
use crate::sandbox::SandboxSettings;
use crate::secrets::Keyring;
use crate::store::{NewAudit, Store};
use crate::supervisor::{CancelToken, WorkerSupervisor};

mod diag;
mod drafting;
mod jobs;
mod lock;
mod runs;
mod sessions;
mod settings;
mod sources;

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

    /// Answers every request but `Run` (see [`Broker::run`]). Call [`Broker::authorize`] first. It only routes:
    /// each request's work is in the module of its concern.
    pub async fn handle(&self, request: Request) -> Result<Reply, TypedError> {
        match request {
            Request::SourceAdd { name, spec } => self.add_source(name, spec).await.map(Reply::Source),
            Request::SourceList => self.list_sources().await.map(Reply::Sources),
            Request::SourceTest { name } => self.test_source(&name).await.map(Reply::SourceTest),
            Request::SourceSetEnabled { name, enabled } => self.set_enabled(name, enabled).await.map(Reply::Source),
            Request::SourceRemove { name } => self.remove_source(name).await,
            Request::SourceFunctions { source, functions } => self.source_functions(&source, functions).await,
            Request::Schema { name, refresh } => self.schema(&name, refresh).await.map(Reply::Schema),
            Request::Ask { source, question, session } => {
                self.ask(&source, &question, session).await.map(|p| Reply::Draft(Box::new(p)))
            }
            Request::Draft { source, query } => {
                self.draft_query(&source, query).await.map(|p| Reply::Draft(Box::new(p)))
            }
            Request::Deny { draft } => self.deny(draft).await,
            Request::Guard { engine, query } => Ok(Reply::Verdict(Guardrail::new(engine).check(&query).to_wire())),
            Request::Run { token } => {
                let (tx, _rx) = mpsc::unbounded_channel();
                self.run(&token, tx).await.map(Reply::RunDone)
            }
            Request::Cancel { run } => self.cancel(run).await,
            Request::Result { run, offset, limit } => self.page(run, offset, limit).await.map(Reply::Page),
            Request::RunTrace { run } => self.run_trace(run).await.map(Reply::Trace),
            Request::RenderTime { run, micros } => self.render_time(run, micros).await.map(|()| Reply::Recorded),
            Request::SessionCreate { title } => self.create_session(title).await.map(Reply::Session),
            Request::Sessions => self.sessions().await.map(Reply::Sessions),
            Request::SessionRename { session, title } => self.rename_session(session, title).await.map(Reply::Session),
            Request::Messages { session } => self.messages(session).await.map(Reply::Messages),
            Request::Unlock { secret } => self.unlock(secret).await.map(Reply::Access),
            Request::Lock => self.lock().await.map(Reply::Access),
            Request::SetLock { role, secret } => self.set_lock(role, secret).await.map(Reply::Access),
            Request::Access => Ok(Reply::Access(self.access.state())),
            Request::Settings => self.settings().await.map(Reply::Settings),
            Request::SetLlm { provider, model, endpoint, api_key, clear_api_key } => {
                let change = LlmChange { provider, model, endpoint, api_key, clear_api_key };
                self.set_llm(change).await.map(Reply::Settings)
            }
            Request::LlmTest => self.test_llm().await.map(Reply::LlmTest),
            Request::SetLimits(change) => self.set_limits(change).await.map(Reply::Settings),
            Request::Diag => self.diag().await.map(Reply::Diag),
            Request::Audit { filter } => self.audit_events(filter).await.map(Reply::Audit),
            Request::Fault { source, fault } => self.fault(source, fault).await,
            Request::Shutdown => Ok(Reply::ShuttingDown),
        }
    }

    /// Appends an audit event; a failure to audit is logged, never silently dropped.
    async fn audit(
        &self,
        action: AuditAction,
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
}

fn internal(err: impl std::fmt::Display) -> TypedError {
    TypedError::new(ErrorCode::Internal, err.to_string())
}
