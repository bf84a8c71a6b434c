//! The [`Provider`] trait every model adapter implements (through [`Adapter`]), its normalized request and response,
//! the typed [`LlmError`], and the one reader of a model's answer ([`parse_answer`]): a fenced query plus a paragraph.
//!
//! Adapters turn a [`GenerateRequest`] into their wire format and their wire format back into text; everything
//! that does not depend on the wire (the answer format, error codes, hints) lives here, once.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use polystoreiq_protocol::types::{Engine, LlmProvider};
use polystoreiq_protocol::{ErrorCode, TypedError};

use crate::supervisor::CancelToken;

use super::prompt::Prompt;

/// A boxed future, so that providers can be chosen at run time (`Box<dyn Provider>`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A model that turns a prompt into a query.
pub trait Provider: Send + Sync {
    fn kind(&self) -> LlmProvider;

    /// The model asked, as configured.
    fn model(&self) -> &str;

    /// One answer to `request`. Retries after 429 and 5xx happen inside (counted in `call`); a cancel of
    /// `call.cancel` ends the request at once, mid-stream included, and closes its connection.
    fn generate<'a>(
        &'a self,
        request: &'a GenerateRequest,
        call: &'a Call,
    ) -> BoxFuture<'a, Result<GenerateResponse, LlmError>>;

    /// Whether the provider answers, and what it says about the model (e.g. whether it lists it).
    fn health<'a>(&'a self, call: &'a Call) -> BoxFuture<'a, Result<String, LlmError>>;
}

/// What a model adapter writes itself: its wire format. Every adapter is a [`Provider`] through it, so the boxing
/// of its futures for `Box<dyn Provider>` is written once.
pub trait Adapter: Send + Sync {
    const KIND: LlmProvider;

    /// The model asked, as configured.
    fn configured_model(&self) -> &str;

    /// [`Provider::generate`], unboxed.
    fn ask(
        &self,
        request: &GenerateRequest,
        call: &Call,
    ) -> impl Future<Output = Result<GenerateResponse, LlmError>> + Send;

    /// [`Provider::health`], unboxed.
    fn check(&self, call: &Call) -> impl Future<Output = Result<String, LlmError>> + Send;
}

impl<A: Adapter> Provider for A {
    fn kind(&self) -> LlmProvider {
        A::KIND
    }

    fn model(&self) -> &str {
        self.configured_model()
    }

    fn generate<'a>(
        &'a self,
        request: &'a GenerateRequest,
        call: &'a Call,
    ) -> BoxFuture<'a, Result<GenerateResponse, LlmError>> {
        Box::pin(self.ask(request, call))
    }

    fn health<'a>(&'a self, call: &'a Call) -> BoxFuture<'a, Result<String, LlmError>> {
        Box::pin(self.check(call))
    }
}

/// The state of one call to a provider: its cancel flag and the HTTP attempts it made.
#[derive(Default)]
pub struct Call {
    pub cancel: CancelToken,
    attempts: AtomicU32,
}

impl Call {
    pub fn new(cancel: CancelToken) -> Call {
        Call { cancel, attempts: AtomicU32::new(0) }
    }

    /// HTTP requests sent so far (the first and every retry).
    pub fn attempts(&self) -> u32 {
        self.attempts.load(Ordering::Relaxed)
    }

    pub(super) fn count_attempt(&self) -> u32 {
        self.attempts.fetch_add(1, Ordering::Relaxed) + 1
    }
}

/// Who says a message to the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

/// What every provider is asked, whatever its wire format.
#[derive(Clone, Debug)]
pub struct GenerateRequest {
    /// The engine the query is for; decides which fenced block is the query.
    pub engine: Engine,
    /// The rules: read-only, one statement, the answer format, the dialect.
    pub system: String,
    /// The conversation; the last user message holds the schema-grounded prompt and the question.
    pub messages: Vec<Message>,
    pub max_tokens: u32,
    /// Always 0: the same question over the same schema should give the same query.
    pub temperature: f32,
    /// Ask for the answer as a stream (SSE or NDJSON), so a cancel stops it mid-answer.
    pub stream: bool,
}

/// A draft that was set aside, as the model hears about it when asked to repair it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repair {
    pub query: String,
    /// What refused it: the guardrail's reason or the database's error, with its code.
    pub error: String,
}

/// An earlier question of the same chat session on the same source, for a follow-up ("now only 2024"): the
/// question, the query drafted for it, and what became of it. Never its rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exchange {
    pub question: String,
    /// The drafted query; `None` when the question was declined.
    pub query: Option<String>,
    /// What became of it: `12 rows; columns month, revenue`, `denied by the user`, or why it was declined.
    pub outcome: String,
}

impl GenerateRequest {
    /// A request for one prompt: the session's earlier exchanges first (each as a question and the model's
    /// answer), then the prompt, then the drafts already set aside for it, each as the model's own answer followed
    /// by the error it met, so the model repairs its last query rather than starting again.
    pub fn from_prompt(
        engine: Engine,
        prompt: &Prompt,
        history: &[Exchange],
        repairs: &[Repair],
        max_tokens: u32,
        stream: bool,
    ) -> GenerateRequest {
        let mut messages = Vec::with_capacity(history.len() * 2 + 1 + repairs.len() * 2);
        for exchange in history {
            let (question, answer) = super::prompt::exchange(engine, exchange);
            messages.push(Message { role: Role::User, content: question });
            messages.push(Message { role: Role::Assistant, content: answer });
        }
        messages.push(Message { role: Role::User, content: prompt.user.clone() });
        for repair in repairs {
            messages.push(Message { role: Role::Assistant, content: super::prompt::fenced(engine, &repair.query) });
            messages.push(Message { role: Role::User, content: super::prompt::repair(engine, &repair.error) });
        }
        GenerateRequest { engine, system: prompt.system.clone(), messages, max_tokens, temperature: 0.0, stream }
    }
}

/// A provider's answer, read.
#[derive(Clone, Debug, PartialEq)]
pub struct GenerateResponse {
    /// The model's whole answer.
    pub text: String,
    /// The query from its fenced block.
    pub query: String,
    /// The paragraph beside the block; may be empty.
    pub explanation: String,
    pub provider: LlmProvider,
    /// The model that answered, as the provider names it (else as configured).
    pub model: String,
    pub tokens_in: u64,
    pub tokens_out: u64,
    /// From the first request to the last byte, retries included.
    pub latency: Duration,
}

/// What an answer carries on every wire, read as it arrives: the text so far, the model that writes it, and the
/// tokens counted. Each adapter reads its own format into it.
pub(super) struct Answer {
    pub(super) text: String,
    /// The configured model until the provider names the one that answers.
    pub(super) model: String,
    pub(super) tokens_in: u64,
    pub(super) tokens_out: u64,
}

impl Answer {
    pub(super) fn new(model: &str) -> Answer {
        Answer { text: String::new(), model: model.to_owned(), tokens_in: 0, tokens_out: 0 }
    }

    /// Takes the model `value` names (`"model": ...`), when it names one.
    pub(super) fn read_model(&mut self, value: &serde_json::Value) {
        if let Some(model) = value["model"].as_str().filter(|m| !m.is_empty()) {
            self.model = model.to_owned();
        }
    }

    /// The whole answer, read with [`parse_answer`]; `started` is when the call's first request went out.
    pub(super) fn finish(
        self,
        provider: LlmProvider,
        engine: Engine,
        started: Instant,
    ) -> Result<GenerateResponse, LlmError> {
        let (query, explanation) = parse_answer(engine, &self.text)?;
        Ok(GenerateResponse {
            text: self.text,
            query,
            explanation,
            provider,
            model: self.model,
            tokens_in: self.tokens_in,
            tokens_out: self.tokens_out,
            latency: started.elapsed(),
        })
    }
}

/// Why a provider gave no query.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LlmError {
    #[error("did not answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    #[error("refused for too many requests{}: {message}", retry_note(*.retry_after))]
    RateLimited { retry_after: Option<Duration>, message: String },
    #[error("failed on its side (HTTP {status}): {message}")]
    Server { status: u16, message: String },
    #[error("sent something that is not its wire format: {0}")]
    Malformed(String),
    #[error("answered without a query")]
    EmptyAnswer,
    #[error("declined to write a query: {0}")]
    Refusal(String),
    #[error("was cancelled")]
    Cancelled,
    #[error("refused the API key (HTTP {status}): {message}")]
    Unauthorized { status: u16, message: String },
    #[error("has no usable API key: {0}")]
    NoKey(String),
    #[error("cannot be reached: {0}")]
    Unreachable(String),
    #[error("refused the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
}

fn retry_note(after: Option<Duration>) -> String {
    after.map_or(String::new(), |d| format!(" (retry after {} ms)", d.as_millis()))
}

impl LlmError {
    pub fn code(&self) -> ErrorCode {
        match self {
            LlmError::Timeout(_) => ErrorCode::LlmTimeout,
            LlmError::RateLimited { .. } => ErrorCode::LlmRateLimited,
            LlmError::Server { .. } => ErrorCode::LlmServerError,
            LlmError::Malformed(_) | LlmError::EmptyAnswer => ErrorCode::LlmBadAnswer,
            LlmError::Refusal(_) => ErrorCode::LlmRefused,
            LlmError::Cancelled => ErrorCode::Cancelled,
            LlmError::Unauthorized { .. } | LlmError::NoKey(_) => ErrorCode::LlmUnauthorized,
            LlmError::Unreachable(_) => ErrorCode::LlmUnreachable,
            LlmError::Rejected { .. } => ErrorCode::LlmRejected,
        }
    }

    /// A few words for a preview's provider field: `timed out after 30000 ms`, `HTTP 500`.
    pub fn short(&self) -> String {
        match self {
            LlmError::Timeout(d) => format!("timed out after {} ms", d.as_millis()),
            LlmError::RateLimited { .. } => "rate limited".into(),
            LlmError::Server { status, .. } => format!("server error, HTTP {status}"),
            LlmError::Malformed(_) => "unreadable answer".into(),
            LlmError::EmptyAnswer => "no query in its answer".into(),
            LlmError::Refusal(_) => "declined".into(),
            LlmError::Cancelled => "cancelled".into(),
            LlmError::Unauthorized { status, .. } => format!("API key refused, HTTP {status}"),
            LlmError::NoKey(_) => "no API key".into(),
            LlmError::Unreachable(_) => "unreachable".into(),
            LlmError::Rejected { status, .. } => format!("request refused, HTTP {status}"),
        }
    }

    /// What the user can do about it.
    pub fn hint(&self, provider: LlmProvider) -> &'static str {
        match (self, provider) {
            (LlmError::Timeout(_), _) => "try again, or raise POLYSTOREIQ_LLM_TIMEOUT_MS",
            (LlmError::RateLimited { .. }, _) => "wait and try again, or check the account's limits",
            (LlmError::Server { .. }, _) => "the provider is failing; try again later",
            (LlmError::Malformed(_), _) => "check that the endpoint speaks this provider's API",
            (LlmError::EmptyAnswer | LlmError::Refusal(_), _) => "rephrase the question, naming tables or columns",
            (LlmError::Cancelled, _) => "ask again",
            (LlmError::Unauthorized { .. } | LlmError::NoKey(_), _) => {
                "set the key again with `psiq settings llm --api-key-stdin`"
            }
            (LlmError::Unreachable(_), LlmProvider::Ollama) => "start Ollama (`ollama serve`) or fix the endpoint",
            (LlmError::Unreachable(_), _) => "check the endpoint with `psiq settings show` and the network",
            (LlmError::Rejected { .. }, LlmProvider::Ollama) => "check the model name, or `ollama pull` it",
            (LlmError::Rejected { .. }, _) => "check the model name with `psiq settings show`",
        }
    }

    /// As a front end sees it: `openai did not answer within 30000 ms; try again, ...`.
    pub fn to_typed(&self, provider: LlmProvider) -> TypedError {
        let mut err = TypedError::new(self.code(), format!("{} {self}; {}", provider.as_str(), self.hint(provider)));
        if let LlmError::RateLimited { retry_after: Some(after), .. } = self {
            err.retry_after_ms = Some(after.as_millis() as u64);
        }
        err
    }

    /// Whether a new attempt may succeed where this one failed: overload (429) and server errors (5xx).
    pub fn retryable(&self) -> bool {
        matches!(self, LlmError::RateLimited { .. } | LlmError::Server { .. })
    }
}

/// The longest explanation kept from a model's answer.
const MAX_EXPLANATION: usize = 1200;

/// Reads a model's answer: the query in a fenced block (```sql, or ```json for MongoDB; an untagged fence too),
/// and the text beside it as the explanation. An answer without a fence is taken whole when it is itself a query
/// (starts with SELECT/WITH, or is a JSON document for MongoDB). Blank is [`LlmError::EmptyAnswer`]; prose
/// without a query is the model declining ([`LlmError::Refusal`], quoting it).
pub fn parse_answer(engine: Engine, text: &str) -> Result<(String, String), LlmError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(LlmError::EmptyAnswer);
    }
    let blocks = fenced_blocks(trimmed);
    let wanted = |lang: &str| {
        let lang = lang.to_ascii_lowercase();
        match engine {
            Engine::Mongodb => matches!(lang.as_str(), "" | "json" | "javascript" | "js" | "mongodb" | "mongo"),
            _ => matches!(
                lang.as_str(),
                "" | "sql" | "postgres" | "postgresql" | "pgsql" | "mysql" | "mariadb" | "duckdb" | "plpgsql"
            ),
        }
    };
    let chosen = blocks.iter().find(|b| wanted(&b.lang) && !b.body.trim().is_empty());
    if let Some(block) = chosen {
        let query = clean_query(&block.body);
        let mut outside = String::new();
        outside.push_str(&trimmed[..block.start]);
        outside.push(' ');
        outside.push_str(&trimmed[block.end..]);
        return Ok((query, explanation_of(&outside)));
    }
    if blocks.iter().any(|b| !b.body.trim().is_empty()) {
        let langs: Vec<&str> = blocks.iter().map(|b| if b.lang.is_empty() { "untagged" } else { &b.lang }).collect();
        return Err(LlmError::Malformed(format!(
            "the answer's code blocks ({}) hold no {} query",
            langs.join(", "),
            if engine == Engine::Mongodb { "JSON" } else { "SQL" }
        )));
    }
    if !blocks.is_empty() {
        return Err(LlmError::EmptyAnswer);
    }
    let bare = match engine {
        Engine::Mongodb => trimmed.starts_with('{'),
        _ => {
            let head: String = trimmed.chars().take(7).collect::<String>().to_ascii_uppercase();
            head.starts_with("SELECT") || head.starts_with("WITH")
        }
    };
    if bare {
        return Ok((clean_query(trimmed), String::new()));
    }
    Err(LlmError::Refusal(excerpt(trimmed, 300)))
}

struct Block {
    lang: String,
    body: String,
    /// Byte range of the whole block, fences included.
    start: usize,
    end: usize,
}

/// The fenced blocks (``` or ~~~, three or more) of `text`, in order. An unclosed block runs to the end.
fn fenced_blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String, char, usize, usize)> = None; // start, lang, fence char, width, body start
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let stripped = line.trim_start();
        let fence = stripped.chars().next().filter(|c| *c == '`' || *c == '~');
        let width = fence.map_or(0, |c| stripped.chars().take_while(|x| *x == c).count());
        match (&open, fence) {
            (None, Some(c)) if width >= 3 => {
                let lang = stripped[width..].split_whitespace().next().unwrap_or("").to_owned();
                open = Some((offset, lang, c, width, offset + line.len()));
            }
            (Some((_, _, c, w, _)), Some(f)) if f == *c && width >= *w && stripped[width..].trim().is_empty() => {
                let (start, lang, _, _, body_start) = open.take().expect("an open block");
                blocks.push(Block { lang, body: text[body_start..offset].to_owned(), start, end: offset + line.len() });
            }
            _ => {}
        }
        offset += line.len();
    }
    if let Some((start, lang, _, _, body_start)) = open {
        blocks.push(Block { lang, body: text[body_start.min(text.len())..].to_owned(), start, end: text.len() });
    }
    blocks
}

/// A query as the guardrail should see it: trimmed, without one trailing semicolon.
fn clean_query(body: &str) -> String {
    let query = body.trim();
    query.strip_suffix(';').unwrap_or(query).trim_end().to_owned()
}

/// The first paragraph of prose around the block, whitespace collapsed, bounded.
fn explanation_of(outside: &str) -> String {
    let paragraph = outside.split("\n\n").map(str::trim).find(|p| !p.is_empty()).unwrap_or_default();
    excerpt(&paragraph.split_whitespace().collect::<Vec<_>>().join(" "), MAX_EXPLANATION)
}

/// At most `max` characters of `text`, cut at a character boundary, with an ellipsis when cut.
pub(super) fn excerpt(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(text: &str) -> Result<(String, String), LlmError> {
        parse_answer(Engine::Postgres, text)
    }

    #[test]
    fn a_fenced_sql_block_and_its_paragraph() {
        let (query, explanation) =
            sql("```sql\nSELECT count(*) FROM orders;\n```\nCounts the orders.\n\nMore text.").unwrap();
        assert_eq!(query, "SELECT count(*) FROM orders");
        assert_eq!(explanation, "Counts the orders.");
    }

    #[test]
    fn prose_before_the_block_is_the_explanation() {
        let (query, explanation) = sql("This counts\nthe orders.\n\n```SQL\nSELECT 1\n```").unwrap();
        assert_eq!((query.as_str(), explanation.as_str()), ("SELECT 1", "This counts the orders."));
    }

    #[test]
    fn an_untagged_or_tilde_fence_counts_and_an_unclosed_one_runs_to_the_end() {
        assert_eq!(sql("```\nSELECT 2\n```").unwrap().0, "SELECT 2");
        assert_eq!(sql("~~~sql\nSELECT 3\n~~~").unwrap().0, "SELECT 3");
        assert_eq!(sql("Here:\n```sql\nSELECT 4\n").unwrap().0, "SELECT 4");
    }

    #[test]
    fn the_block_of_the_engines_language_wins() {
        let text = "```python\nprint(1)\n```\n```sql\nSELECT 5\n```";
        assert_eq!(sql(text).unwrap().0, "SELECT 5");
        let mongo = "```json\n{\"collection\": \"orders\", \"find\": {}}\n```\nAll orders.";
        let (query, explanation) = parse_answer(Engine::Mongodb, mongo).unwrap();
        assert_eq!(query, "{\"collection\": \"orders\", \"find\": {}}");
        assert_eq!(explanation, "All orders.");
    }

    #[test]
    fn a_bare_query_is_taken_whole() {
        assert_eq!(sql("  select * from t  ").unwrap().0, "select * from t");
        assert_eq!(parse_answer(Engine::Mongodb, "{\"collection\": \"c\"}").unwrap().0, "{\"collection\": \"c\"}");
    }

    #[test]
    fn no_query_is_empty_or_a_refusal() {
        assert_eq!(sql("  \n "), Err(LlmError::EmptyAnswer));
        assert!(
            matches!(sql("I cannot help with deleting data."), Err(LlmError::Refusal(r)) if r.contains("deleting"))
        );
        assert!(matches!(sql("```python\nprint(1)\n```"), Err(LlmError::Malformed(_))));
        assert_eq!(sql("```sql\n\n```"), Err(LlmError::EmptyAnswer));
    }

    #[test]
    fn errors_map_to_stable_codes_and_keep_retry_after() {
        let limited = LlmError::RateLimited { retry_after: Some(Duration::from_secs(2)), message: "slow".into() };
        let typed = limited.to_typed(LlmProvider::Openai);
        assert_eq!(typed.code, ErrorCode::LlmRateLimited);
        assert_eq!(typed.retry_after_ms, Some(2000));
        assert!(typed.message.starts_with("openai refused for too many requests (retry after 2000 ms)"));
        assert_eq!(LlmError::Cancelled.code(), ErrorCode::Cancelled);
        assert_eq!(LlmError::EmptyAnswer.code(), ErrorCode::LlmBadAnswer);
        assert!(LlmError::Server { status: 503, message: String::new() }.retryable());
        assert!(!LlmError::Timeout(Duration::from_secs(1)).retryable());
    }
}
