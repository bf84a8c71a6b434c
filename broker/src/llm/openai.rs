//! The OpenAI-compatible chat-completions adapter (`POST {endpoint}/chat/completions`): OpenAI itself, and any
//! server that speaks its API (a llama.cpp or vLLM server, LM Studio). Plain JSON answers, or server-sent events
//! (`data: {...}` chunks carrying `choices[0].delta.content`, ending with `data: [DONE]`).

use std::time::Instant;

use polystoreiq_protocol::secret::Secret;
use polystoreiq_protocol::types::LlmProvider;
use serde_json::{Value, json};

use super::http::{LineReader, SseReader, Transport};
use super::provider::{Adapter, Answer, Call, GenerateRequest, GenerateResponse, LlmError};

pub const DEFAULT_ENDPOINT: &str = "https://api.openai.com/v1";
pub const DEFAULT_MODEL: &str = "gpt-4o-mini";

pub struct OpenAi {
    endpoint: String,
    model: String,
    key: Option<Secret>,
    transport: Transport,
}

impl OpenAi {
    /// `endpoint` is the API's base URL, up to and including `/v1` (`http://127.0.0.1:8080/v1` for llama.cpp).
    pub fn new(endpoint: &str, model: &str, key: Option<Secret>, transport: Transport) -> OpenAi {
        OpenAi { endpoint: endpoint.trim_end_matches('/').to_owned(), model: model.to_owned(), key, transport }
    }

    fn with_key(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.key {
            Some(key) => request.bearer_auth(key.expose()),
            None => request,
        }
    }

    fn body(&self, request: &GenerateRequest) -> Value {
        let mut messages = vec![json!({ "role": "system", "content": request.system })];
        messages.extend(request.messages.iter().map(|m| json!({ "role": m.role.as_str(), "content": m.content })));
        let mut body = json!({
            "model": self.model,
            "messages": messages,
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
            "stream": request.stream,
        });
        if request.stream {
            // The last chunk then carries the token counts.
            body["stream_options"] = json!({ "include_usage": true });
        }
        body
    }
}

impl Adapter for OpenAi {
    const KIND: LlmProvider = LlmProvider::Openai;

    fn configured_model(&self) -> &str {
        &self.model
    }

    async fn ask(&self, request: &GenerateRequest, call: &Call) -> Result<GenerateResponse, LlmError> {
        let started = Instant::now();
        let body = self.body(request);
        let url = format!("{}/chat/completions", self.endpoint);
        let response = self
            .transport
            .send(call, self.key.as_ref(), || self.with_key(self.transport.client().post(&url).json(&body)))
            .await?;
        let attempt_started = Instant::now();
        let mut completion = Completion::new(&self.model);
        if request.stream {
            let mut events = SseReader::new(LineReader::new(response, self.transport.policy.timeout));
            let mut finished = false;
            while let Some(event) = events.next_event(call).await? {
                if event.data.trim() == "[DONE]" {
                    finished = true;
                    break;
                }
                let chunk: Value = serde_json::from_str(&event.data)
                    .map_err(|err| LlmError::Malformed(format!("a stream chunk is not JSON: {err}")))?;
                completion.read_chunk(&chunk)?;
            }
            if !finished && completion.finish_reason.is_none() {
                return Err(LlmError::Malformed("the stream ended before `data: [DONE]` or a finish reason".into()));
            }
        } else {
            let value = self.transport.json(call, response, attempt_started, "the answer").await?;
            completion.read_whole(&value)?;
        }
        completion.finish(request, started)
    }

    async fn check(&self, call: &Call) -> Result<String, LlmError> {
        let url = format!("{}/models", self.endpoint);
        let response =
            self.transport.send(call, self.key.as_ref(), || self.with_key(self.transport.client().get(&url))).await?;
        let models = self.transport.json(call, response, Instant::now(), "the model list").await?;
        Ok(listed(&self.model, &models))
    }
}

/// What a health check says about the configured model, given the model list (`{"data": [{"id": ...}]}`, which
/// Anthropic's API sends too).
pub(super) fn listed(model: &str, list: &Value) -> String {
    let models: Vec<&str> = list["data"].as_array().into_iter().flatten().filter_map(|m| m["id"].as_str()).collect();
    if models.contains(&model) {
        format!("answers; lists {} models, {model} among them", models.len())
    } else {
        format!("answers; lists {} models, but not {model}", models.len())
    }
}

/// A chat completion as it arrives: the answer, and what OpenAI adds to it.
struct Completion {
    answer: Answer,
    refusal: String,
    finish_reason: Option<String>,
}

impl Completion {
    fn new(model: &str) -> Completion {
        Completion { answer: Answer::new(model), refusal: String::new(), finish_reason: None }
    }

    fn read_usage(&mut self, value: &Value) {
        if let Some(usage) = value.get("usage").filter(|u| u.is_object()) {
            self.answer.tokens_in = usage["prompt_tokens"].as_u64().unwrap_or(self.answer.tokens_in);
            self.answer.tokens_out = usage["completion_tokens"].as_u64().unwrap_or(self.answer.tokens_out);
        }
        self.answer.read_model(value);
    }

    fn read_whole(&mut self, value: &Value) -> Result<(), LlmError> {
        error_in(value)?;
        self.read_usage(value);
        let choices = value["choices"]
            .as_array()
            .ok_or_else(|| LlmError::Malformed("the answer has no `choices` list".into()))?;
        let Some(choice) = choices.first() else { return Err(LlmError::EmptyAnswer) };
        let message = &choice["message"];
        if !message.is_object() {
            return Err(LlmError::Malformed("the first choice has no `message`".into()));
        }
        self.answer.text = message["content"].as_str().unwrap_or_default().to_owned();
        self.refusal = message["refusal"].as_str().unwrap_or_default().to_owned();
        self.finish_reason = choice["finish_reason"].as_str().map(str::to_owned);
        Ok(())
    }

    /// Reads one stream chunk.
    fn read_chunk(&mut self, value: &Value) -> Result<(), LlmError> {
        error_in(value)?;
        self.read_usage(value);
        let Some(choice) = value["choices"].as_array().and_then(|c| c.first()) else {
            // The usage chunk has an empty `choices` list.
            return Ok(());
        };
        let delta = &choice["delta"];
        if let Some(text) = delta["content"].as_str() {
            self.answer.text.push_str(text);
        }
        if let Some(text) = delta["refusal"].as_str() {
            self.refusal.push_str(text);
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            self.finish_reason = Some(reason.to_owned());
        }
        Ok(())
    }

    fn finish(self, request: &GenerateRequest, started: Instant) -> Result<GenerateResponse, LlmError> {
        if !self.refusal.trim().is_empty() {
            return Err(LlmError::Refusal(self.refusal.trim().to_owned()));
        }
        if self.finish_reason.as_deref() == Some("content_filter") && self.answer.text.trim().is_empty() {
            return Err(LlmError::Refusal("the provider's content filter stopped the answer".into()));
        }
        self.answer.finish(OpenAi::KIND, request.engine, started)
    }
}

/// An `error` object in a 200 answer or a stream chunk (compatible servers report failures mid-stream this way).
fn error_in(value: &Value) -> Result<(), LlmError> {
    match value.get("error") {
        Some(error) if !error.is_null() => {
            let message = error["message"].as_str().or(error.as_str()).unwrap_or("an error without a message");
            Err(LlmError::Server { status: 200, message: super::provider::excerpt(message, 300) })
        }
        _ => Ok(()),
    }
}
