//! Drafting: a question or a hand-written query becomes a checked draft (guardrail, dry run), with the
//! repair loop and the chat history.

use std::time::{Duration, Instant};

use polystoreiq_protocol::broker::Reply;
use polystoreiq_protocol::types::{
    AuditAction, BreakerState, ChatMessage, ChatRole, CheckOutcome, DraftAttempt, DraftCheck, DraftId, DraftPreview,
    Engine, GuardVerdict, LlmProvider, SessionId, SourceKind,
};
use polystoreiq_protocol::worker::FromWorker;
use polystoreiq_protocol::{ErrorCode, TypedError};

use crate::guard::Guardrail;
use crate::health::unix_ms;
use crate::llm::provider::{Exchange, Repair};
use crate::llm::router::Question;
use crate::llm::settings::{self as llm_settings};
use crate::store::{DraftOutcome, DraftStatus, NewDraft, RunStatus, StoredSource};
use crate::supervisor::{CancelToken, Execution, SupervisorEvent};
use crate::{guard, llm, planner};

use super::jobs::Purpose;
use super::{Broker, SERVER_LIMIT_MARGIN};

impl Broker {
    /// A query the user wrote, checked as a drafted one is.
    pub(super) async fn draft_query(&self, source: &str, query: String) -> Result<DraftPreview, TypedError> {
        let stored = self.usable_source(source).await?;
        let validation = self.validate(&stored, &query).await;
        let proposal = Proposal {
            question: None,
            query,
            provider: "user".to_owned(),
            explanation: "A query you wrote.".to_owned(),
            attempts: Vec::new(),
        };
        self.make_draft(&stored, None, proposal, validation).await
    }

    /// Drafts `question` on `source` and checks the draft (guardrail, then a dry run). A model's draft that fails
    /// its checks goes back to the model with the error, up to the router's repair limit; every draft set aside is
    /// kept in the preview's `attempts` and audited as `draft.repair`.
    pub(super) async fn ask(
        &self,
        source: &str,
        question: &str,
        session: Option<SessionId>,
    ) -> Result<DraftPreview, TypedError> {
        if let Some(session) = session {
            self.require_session(session).await?;
            let question = question.to_owned();
            self.store.call(move |db| db.append_message(session, ChatRole::User, &question, None)).await?;
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
                        self.store
                            .call(move |db| db.append_message(session, ChatRole::Assistant, &message, None))
                            .await?;
                    }
                    self.audit(AuditAction::DraftDeclined, Some(source), session, None, None, err.message.clone())
                        .await;
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
                    self.audit(AuditAction::DraftRepair, Some(source), session, None, None, detail).await;
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
            self.store.call(move |db| db.append_message(session, ChatRole::Assistant, &content, Some(draft))).await?;
        }
        Ok(preview)
    }

    /// A session's earlier exchanges, oldest first, as a model's follow-up context: each question with the query
    /// drafted for it and what became of it (rows and columns, never the rows themselves). Drafts on other sources
    /// are left out: they would ground the model in the wrong schema.
    pub(super) async fn exchanges(&self, messages: &[ChatMessage], source: &str) -> Result<Vec<Exchange>, TypedError> {
        // Question and answer pairs, in order; only the most recent the router could send are looked up.
        let mut pairs = Vec::new();
        let mut rest = messages;
        while let [asked, answer, tail @ ..] = rest {
            if asked.role == ChatRole::User && answer.role == ChatRole::Assistant {
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
    pub(super) fn outcome_of(&self, found: &DraftOutcome) -> String {
        match (&found.run, found.status) {
            (Some(run), _) if run.status == RunStatus::Finished => {
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
            (None, DraftStatus::Denied) => "the user denied it; it did not run".to_owned(),
            (None, _) => "not run".to_owned(),
        }
    }

    /// A query's checks before the user sees it: the guardrail, then, when it allows the query, a dry run.
    pub(super) async fn validate(&self, source: &StoredSource, query: &str) -> Validation {
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
    pub(super) async fn dry_run(&self, source: &StoredSource, query: &str) -> DraftCheck {
        let started = Instant::now();
        if self.breakers.status(&source.info.name).state == BreakerState::Open {
            let message = "the dry run was skipped: the source's circuit breaker is open (see `psiq source list`)";
            return DraftCheck { outcome: CheckOutcome::Inconclusive, elapsed_ms: 0, message: message.to_owned() };
        }
        let deadline = self.limits.check_deadline();
        let job = self.query_job(source, query.to_owned(), Purpose::DryRun);
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
    pub(super) async fn record_generation(
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
            self.audit(AuditAction::LlmGenerate, Some(source), session, draft, None, generation.describe(trace)).await;
        }
    }

    /// Stores a checked proposal as a draft and mints its approval token when the guardrail allows the query and
    /// the dry run found nothing wrong with it.
    pub(super) async fn make_draft(
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
        self.audit(AuditAction::DraftCreate, Some(&preview.source), session, Some(preview.draft), None, detail).await;
        Ok(preview)
    }

    pub(super) async fn deny(&self, draft: DraftId) -> Result<Reply, TypedError> {
        let source = self.store.call(move |db| db.deny_draft(draft)).await?;
        self.audit(AuditAction::DraftDeny, Some(&source), None, Some(draft), None, "denied; nothing ran".into()).await;
        Ok(Reply::Denied { draft })
    }
}

/// A query to show the user, before its checks.
pub(super) struct Proposal {
    pub(super) question: Option<String>,
    pub(super) query: String,
    pub(super) provider: String,
    pub(super) explanation: String,
    /// The drafts set aside for this one.
    pub(super) attempts: Vec<DraftAttempt>,
}

/// What a query's checks found.
pub(super) struct Validation {
    pub(super) verdict: GuardVerdict,
    /// The dry run's findings; `None` when the guardrail refused the query.
    pub(super) check: Option<DraftCheck>,
    /// Time in the guardrail and the dry run: the `validate` stage.
    pub(super) elapsed: Duration,
}

impl Validation {
    /// Why the query must not run as it is: the guardrail's refusal, or the error the dry run found in it.
    pub(super) fn failure(&self) -> Option<TypedError> {
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

/// The guardrail for a source: its engine's rules, and for files the paths it was registered with.
pub(super) fn guardrail(source: &StoredSource) -> Guardrail {
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
pub(super) fn own_schemas(engine: Engine, source: &StoredSource) -> Option<Vec<String>> {
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
