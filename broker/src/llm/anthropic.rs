//! The Anthropic Messages adapter (`POST {endpoint}/v1/messages`, `x-api-key` and `anthropic-version` headers).
//! Plain JSON answers, or server-sent events: `message_start` (input tokens), `content_block_delta` with
//! `text_delta`s, `message_delta` (stop reason, output tokens), `message_stop`; `ping` is skipped and an `error`
//! event ends the answer as the error it names.

use std::time::Instant;

use polystoreiq_protocol::secret::Secret;
use polystoreiq_protocol::types::LlmProvider;
use serde_json::{Value, json};

use super::http::{LineReader, SseReader, Transport};
use super::provider::{Adapter, Answer, Call, GenerateRequest, GenerateResponse, LlmError, excerpt};

pub const DEFAULT_ENDPOINT: &str = "https://api.anthropic.com";
pub const DEFAULT_MODEL: &str = "claude-3-5-haiku-latest";
/// The API version this adapter speaks.
pub const API_VERSION: &str = "2023-06-01";

pub struct Anthropic {
    /// The base URL without `/v1`.
    endpoint: String,
    model: String,
    key: Option<Secret>,
    transport: Transport,
}

impl Anthropic {
    pub fn new(endpoint: &str, model: &str, key: Option<Secret>, transport: Transport) -> Anthropic {
        let endpoint = endpoint.trim_end_matches('/');
        let endpoint = endpoint.strip_suffix("/v1").unwrap_or(endpoint).to_owned();
        Anthropic { endpoint, model: model.to_owned(), key, transport }
    }

    fn with_headers(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let request = request.header("anthropic-version", API_VERSION);
        match &self.key {
            Some(key) => request.header("x-api-key", key.expose()),
            None => request,
        }
    }

    fn body(&self, request: &GenerateRequest) -> Value {
        let messages: Vec<Value> =
            request.messages.iter().map(|m| json!({ "role": m.role.as_str(), "content": m.content })).collect();
        json!({
            "model": self.model,
            "system": request.system,
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": request.stream,
        })
    }
}

impl Adapter for Anthropic {
    const KIND: LlmProvider = LlmProvider::Anthropic;

    fn configured_model(&self) -> &str {
        &self.model
    }

    async fn ask(&self, request: &GenerateRequest, call: &Call) -> Result<GenerateResponse, LlmError> {
        let started = Instant::now();
        let body = self.body(request);
        let url = format!("{}/v1/messages", self.endpoint);
        let response = self
            .transport
            .send(call, self.key.as_ref(), || self.with_headers(self.transport.client().post(&url).json(&body)))
            .await?;
        let attempt_started = Instant::now();
        let mut answer = Answer::new(&self.model);
        let mut stop_reason: Option<String> = None;
        if request.stream {
            let mut events = SseReader::new(LineReader::new(response, self.transport.policy.timeout));
            let mut stopped = false;
            while let Some(event) = events.next_event(call).await? {
                let data: Value = serde_json::from_str(&event.data)
                    .map_err(|err| LlmError::Malformed(format!("a stream event is not JSON: {err}")))?;
                let kind = event.event.as_deref().or(data["type"].as_str()).unwrap_or_default().to_owned();
                match kind.as_str() {
                    "message_start" => read_message(&mut answer, &data["message"]),
                    "content_block_delta" if data["delta"]["type"] == "text_delta" => {
                        answer.text.push_str(data["delta"]["text"].as_str().unwrap_or_default());
                    }
                    "message_delta" => {
                        if let Some(reason) = data["delta"]["stop_reason"].as_str() {
                            stop_reason = Some(reason.to_owned());
                        }
                        answer.tokens_out = data["usage"]["output_tokens"].as_u64().unwrap_or(answer.tokens_out);
                    }
                    "message_stop" => {
                        stopped = true;
                        break;
                    }
                    "error" => return Err(stream_error(&data)),
                    _ => {} // ping, content_block_start, content_block_stop, and types added later
                }
            }
            if !stopped {
                return Err(LlmError::Malformed("the stream ended before `message_stop`".into()));
            }
        } else {
            let value = self.transport.json(call, response, attempt_started, "the answer").await?;
            if value["type"] == "error" {
                return Err(stream_error(&value));
            }
            if !value["content"].is_array() {
                return Err(LlmError::Malformed("the answer has no `content` list".into()));
            }
            read_message(&mut answer, &value);
            for block in value["content"].as_array().into_iter().flatten() {
                if block["type"] == "text" {
                    answer.text.push_str(block["text"].as_str().unwrap_or_default());
                }
            }
            stop_reason = value["stop_reason"].as_str().map(str::to_owned);
        }
        if stop_reason.as_deref() == Some("refusal") {
            return Err(LlmError::Refusal(if answer.text.trim().is_empty() {
                "the model stopped with `refusal`".into()
            } else {
                excerpt(answer.text.trim(), 300)
            }));
        }
        answer.finish(Self::KIND, request.engine, started)
    }

    async fn check(&self, call: &Call) -> Result<String, LlmError> {
        let url = format!("{}/v1/models", self.endpoint);
        let response = self
            .transport
            .send(call, self.key.as_ref(), || self.with_headers(self.transport.client().get(&url)))
            .await?;
        let models = self.transport.json(call, response, Instant::now(), "the model list").await?;
        Ok(super::openai::listed(&self.model, &models))
    }
}

/// A whole message, or the start of a streamed one: the model and the token counts so far.
fn read_message(answer: &mut Answer, message: &Value) {
    answer.read_model(message);
    answer.tokens_in = message["usage"]["input_tokens"].as_u64().unwrap_or(answer.tokens_in);
    answer.tokens_out = message["usage"]["output_tokens"].as_u64().unwrap_or(answer.tokens_out);
}

/// An error event or an error body: `{"type": "error", "error": {"type": "overloaded_error", "message": ...}}`.
fn stream_error(value: &Value) -> LlmError {
    let message = excerpt(value["error"]["message"].as_str().unwrap_or("an error without a message"), 300);
    match value["error"]["type"].as_str().unwrap_or_default() {
        "rate_limit_error" => LlmError::RateLimited { retry_after: None, message },
        "overloaded_error" => LlmError::Server { status: 529, message },
        "authentication_error" | "permission_error" => LlmError::Unauthorized { status: 401, message },
        "invalid_request_error" | "not_found_error" | "request_too_large" => {
            LlmError::Rejected { status: 400, message }
        }
        _ => LlmError::Server { status: 500, message },
    }
}
