//! The router: drafts a question with the configured provider and, when that provider fails for any reason but
//! a cancel, with the offline planner instead, saying so in the draft's provider and explanation. Every draft
//! reports a [`Generation`] (provider, model, tokens, latency, attempts, failure) for telemetry and audit.
//!
//! The offline planner is reached through [`offline`] only, so a change of its signature touches one function.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use polystoreiq_protocol::secret::Secret;
use polystoreiq_protocol::types::{Engine, LlmProvider, SchemaSnapshot};
use polystoreiq_protocol::{ErrorCode, TypedError};

use crate::planner;
use crate::supervisor::CancelToken;

use super::anthropic::Anthropic;
use super::http::{HttpPolicy, Transport};
use super::ollama::Ollama;
use super::openai::OpenAi;
use super::prompt::{self, PromptLimits};
use super::provider::{Call, Exchange, GenerateRequest, LlmError, Provider, Repair};
use super::settings::LlmConfig;

/// The offline planner's name in previews.
pub fn offline_name() -> &'static str {
    planner::PROVIDER
}

/// The offline planner's draft for `question` on `engine`: (query, explanation), or its typed decline. The one
/// call into the planner. `previous` is the session's last turn as the planner reads it (see
/// `planner::replay`), so a follow-up ("now only 2024") rewrites the previous query.
pub fn offline(
    engine: Engine,
    question: &str,
    schema: &SchemaSnapshot,
    previous: Option<&planner::Turn>,
) -> Result<(String, String), TypedError> {
    planner::draft(question, schema, engine, previous).map(|plan| (plan.query, plan.explanation))
}

/// A drafted query and who drafted it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drafted {
    pub query: String,
    pub explanation: String,
    /// For the preview: `openai (gpt-4o-mini)`, or the offline planner with the reason it stood in.
    pub provider: String,
    /// A model drafted it, so it can be asked to repair it; the offline planner would only draft it again.
    pub repairable: bool,
}

/// What a draft is asked for.
#[derive(Clone, Copy, Debug)]
pub struct Question<'a> {
    pub engine: Engine,
    pub text: &'a str,
    pub schema: &'a SchemaSnapshot,
    /// The session's last turn as the planner reads it (see `planner::replay`), so a follow-up ("now only 2024")
    /// rewrites the previous query.
    pub previous: Option<&'a planner::Turn>,
    pub row_limit: u64,
    /// The session's earlier exchanges on this source, oldest first, for a model (the offline planner reads
    /// `previous`); the router keeps the most recent that fit its history budget.
    pub history: &'a [Exchange],
    /// The drafts already set aside for this question, oldest first: the model is asked to repair the last.
    pub repairs: &'a [Repair],
}

/// What one question cost the configured provider.
#[derive(Clone, Debug, PartialEq)]
pub struct Generation {
    /// The provider configured when the question was asked.
    pub provider: LlmProvider,
    pub model: String,
    pub tokens_in: u64,
    pub tokens_out: u64,
    /// The provider's time, retries included (the offline planner's, when it is the one configured).
    pub latency: Duration,
    /// HTTP requests sent (0 for the offline planner).
    pub attempts: u32,
    /// Why the provider gave no query; the offline planner then stood in.
    pub failure: Option<LlmError>,
}

impl Generation {
    /// The telemetry record: one JSON object.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "provider": self.provider.as_str(),
            "model": self.model,
            "ok": self.failure.is_none(),
            "error": self.failure.as_ref().map(|e| e.code().as_str()),
            "attempts": self.attempts,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "latency_us": self.latency.as_micros() as u64,
        })
        .to_string()
    }

    /// One line for the audit log.
    pub fn describe(&self, trace: &str) -> String {
        let outcome = match &self.failure {
            None => format!("{} tokens in, {} out", self.tokens_in, self.tokens_out),
            Some(err) => format!("failed: {err} [{}]; the offline planner stood in", err.code()),
        };
        format!(
            "{} {}: {outcome}; {} attempt{}, {} ms; trace {trace}",
            self.provider.as_str(),
            self.model,
            self.attempts,
            if self.attempts == 1 { "" } else { "s" },
            self.latency.as_millis()
        )
    }
}

/// How drafts are asked for.
#[derive(Clone, Debug)]
pub struct RouterOptions {
    pub http: HttpPolicy,
    pub max_tokens: u32,
    /// Ask for streamed answers (a cancel then stops the model mid-answer).
    pub stream: bool,
    pub prompt_tokens: usize,
    /// How many times a draft that failed its checks goes back to the model for repair.
    pub repairs: u32,
    /// How many of a session's earlier exchanges a follow-up carries to the model, at most.
    pub history_turns: usize,
}

impl RouterOptions {
    /// Defaults, then `POLYSTOREIQ_LLM_MAX_TOKENS`, `_STREAM` (0 or 1), `_PROMPT_TOKENS`, `_REPAIRS` (0 to 5, default
    /// 2), `_HISTORY_TURNS` (0 to 50, default 6) and the HTTP policy's.
    pub fn from_env() -> RouterOptions {
        let number =
            |name: &str, default: u64| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
        RouterOptions {
            http: HttpPolicy::from_env(),
            max_tokens: number("POLYSTOREIQ_LLM_MAX_TOKENS", 1024).clamp(64, 32_768) as u32,
            stream: number("POLYSTOREIQ_LLM_STREAM", 1) != 0,
            prompt_tokens: number("POLYSTOREIQ_LLM_PROMPT_TOKENS", 6000).clamp(500, 1_000_000) as usize,
            repairs: number("POLYSTOREIQ_LLM_REPAIRS", 2).min(5) as u32,
            history_turns: number("POLYSTOREIQ_LLM_HISTORY_TURNS", 6).min(50) as usize,
        }
    }
}

pub struct Router {
    transport: Result<Transport, LlmError>,
    options: RouterOptions,
    /// Calls in flight, cancelled at broker shutdown.
    active: Mutex<(u64, HashMap<u64, CancelToken>)>,
}

impl Router {
    /// How many times a failed draft goes back to the model for repair.
    pub fn repairs(&self) -> u32 {
        self.options.repairs
    }

    /// How many of a session's earlier exchanges a follow-up carries to the model, at most.
    pub fn history_turns(&self) -> usize {
        self.options.history_turns
    }

    pub fn new(options: RouterOptions) -> Router {
        Router { transport: Transport::new(options.http.clone()), options, active: Mutex::default() }
    }

    /// The adapter for `config`; `None` for the offline planner.
    pub fn provider(&self, config: &LlmConfig, key: Option<Secret>) -> Result<Option<Box<dyn Provider>>, LlmError> {
        let transport = self.transport.clone()?;
        let (endpoint, model) = (config.endpoint.as_str(), config.model.as_str());
        Ok(match config.provider {
            LlmProvider::Offline => None,
            LlmProvider::Openai => Some(Box::new(OpenAi::new(endpoint, model, key, transport))),
            LlmProvider::Anthropic => Some(Box::new(Anthropic::new(endpoint, model, key, transport))),
            LlmProvider::Ollama => Some(Box::new(Ollama::new(endpoint, model, transport))),
        })
    }

    /// Drafts `question`. `key` is the provider's API key (or why it could not be read).
    pub async fn draft(
        &self,
        config: &LlmConfig,
        key: Result<Option<Secret>, String>,
        question: Question<'_>,
    ) -> (Result<Drafted, TypedError>, Generation) {
        let Question { engine, text: question, schema, previous, row_limit, history, repairs } = question;
        let started = Instant::now();
        let mut generation = Generation {
            provider: config.provider,
            model: config.model.clone(),
            tokens_in: 0,
            tokens_out: 0,
            latency: Duration::ZERO,
            attempts: 0,
            failure: None,
        };
        if config.provider == LlmProvider::Offline {
            let drafted = offline(engine, question, schema, previous).map(|(query, explanation)| Drafted {
                query,
                explanation,
                provider: offline_name().to_owned(),
                repairable: false,
            });
            generation.latency = started.elapsed();
            return (drafted, generation);
        }
        let (id, cancel) = self.register();
        let call = Call::new(cancel);
        let answer = async {
            let key = key.map_err(LlmError::NoKey)?;
            let provider = self.provider(config, key)?.ok_or(LlmError::EmptyAnswer)?;
            let limits = PromptLimits { row_limit, token_budget: self.options.prompt_tokens };
            let prompt = prompt::build(engine, question, schema, limits);
            // The earlier exchanges (the service passes at most `history_turns`) take at most a quarter of the
            // prompt's budget, the most recent first.
            let history = &history[history.len() - prompt::recent(engine, history, self.options.prompt_tokens / 4)..];
            let (max_tokens, stream) = (self.options.max_tokens, self.options.stream);
            let request = GenerateRequest::from_prompt(engine, &prompt, history, repairs, max_tokens, stream);
            provider.generate(&request, &call).await
        }
        .await;
        self.unregister(id);
        generation.attempts = call.attempts();
        generation.latency = started.elapsed();
        let kind = config.provider.as_str();
        let err = match answer {
            Ok(answer) => {
                generation.tokens_in = answer.tokens_in;
                generation.tokens_out = answer.tokens_out;
                generation.model = answer.model.clone();
                let explanation = if answer.explanation.is_empty() {
                    format!("Drafted by {kind} ({}); it gave no explanation.", answer.model)
                } else {
                    answer.explanation
                };
                let provider = format!("{kind} ({})", answer.model);
                let drafted = Drafted { query: answer.query, explanation, provider, repairable: true };
                return (Ok(drafted), generation);
            }
            Err(err) => err,
        };
        tracing::warn!(provider = kind, model = %config.model, code = %err.code(), "the model provider failed: {err}");
        generation.failure = Some(err.clone());
        if err == LlmError::Cancelled {
            return (Err(TypedError::new(ErrorCode::Cancelled, "the draft was cancelled; ask again")), generation);
        }
        let drafted = match offline(engine, question, schema, previous) {
            Ok((query, explanation)) => Ok(Drafted {
                query,
                explanation: format!(
                    "{kind} could not draft this ({kind} {err}), so the offline planner did. {explanation}"
                ),
                provider: format!("{} (fallback: {kind} {})", offline_name(), err.short()),
                repairable: false,
            }),
            Err(declined) => Err(TypedError::new(
                declined.code,
                format!(
                    "{kind} could not draft this ({kind} {err} [{}]; {}), and the offline planner could not either: {}",
                    err.code(),
                    err.hint(config.provider),
                    declined.message
                ),
            )),
        };
        (drafted, generation)
    }

    /// Asks the configured provider whether it answers.
    pub async fn health(&self, config: &LlmConfig, key: Result<Option<Secret>, String>) -> Result<String, LlmError> {
        let provider = self.provider(config, key.map_err(LlmError::NoKey)?)?;
        let Some(provider) = provider else {
            return Ok(format!("the offline planner ({}) needs no model and no network", offline_name()));
        };
        let (id, cancel) = self.register();
        let result = provider.health(&Call::new(cancel)).await;
        self.unregister(id);
        result
    }

    /// Cancels every call in flight (at broker shutdown).
    pub fn cancel_all(&self) {
        for token in self.lock().1.values() {
            token.cancel();
        }
    }

    fn register(&self) -> (u64, CancelToken) {
        let mut active = self.lock();
        active.0 += 1;
        let id = active.0;
        let token = CancelToken::default();
        active.1.insert(id, token.clone());
        (id, token)
    }

    fn unregister(&self, id: u64) {
        self.lock().1.remove(&id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, HashMap<u64, CancelToken>)> {
        self.active.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
