//! The Ollama adapter (`POST {endpoint}/api/chat`), for a model running on this machine. A plain JSON answer,
//! or newline-delimited JSON: one `{"message": {"content": ...}, "done": false}` per piece, then a `done: true`
//! line with the token counts (`prompt_eval_count`, `eval_count`). An `{"error": ...}` line ends the answer.

use std::time::Instant;

use polystoreiq_protocol::types::LlmProvider;
use serde_json::{Value, json};

use super::http::{LineReader, Transport};
use super::provider::{BoxFuture, Call, GenerateRequest, GenerateResponse, LlmError, Provider, excerpt, parse_answer};

pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:11434";
pub const DEFAULT_MODEL: &str = "llama3.1";

pub struct Ollama {
    endpoint: String,
    model: String,
    transport: Transport,
}

impl Ollama {
    pub fn new(endpoint: &str, model: &str, transport: Transport) -> Ollama {
        Ollama { endpoint: endpoint.trim_end_matches('/').to_owned(), model: model.to_owned(), transport }
    }

    fn body(&self, request: &GenerateRequest) -> Value {
        let mut messages = vec![json!({ "role": "system", "content": request.system })];
        messages.extend(request.messages.iter().map(|m| json!({ "role": m.role.as_str(), "content": m.content })));
        json!({
            "model": self.model,
            "messages": messages,
            "stream": request.stream,
            "options": { "temperature": request.temperature, "num_predict": request.max_tokens },
        })
    }

    async fn generate_inner(&self, request: &GenerateRequest, call: &Call) -> Result<GenerateResponse, LlmError> {
        let started = Instant::now();
        let body = self.body(request);
        let url = format!("{}/api/chat", self.endpoint);
        let response = self.transport.send(call, None, || self.transport.client().post(&url).json(&body)).await?;
        let attempt_started = Instant::now();
        let mut answer = Answer { model: self.model.clone(), ..Answer::default() };
        if request.stream {
            let mut lines = LineReader::new(response, self.transport.policy.timeout);
            while let Some(line) = lines.next_line(call).await? {
                if line.trim().is_empty() {
                    continue;
                }
                let value: Value = serde_json::from_str(&line)
                    .map_err(|err| LlmError::Malformed(format!("a stream line is not JSON: {err}")))?;
                answer.read(&value)?;
                if answer.done {
                    break;
                }
            }
            if !answer.done {
                return Err(LlmError::Malformed("the stream ended before a `done: true` line".into()));
            }
        } else {
            let bytes = self.transport.body(call, response, attempt_started).await?;
            let value: Value = serde_json::from_slice(&bytes)
                .map_err(|err| LlmError::Malformed(format!("the answer is not JSON: {err}")))?;
            if !value["message"].is_object() && value.get("error").is_none() {
                return Err(LlmError::Malformed("the answer has no `message`".into()));
            }
            answer.read(&value)?;
        }
        let (query, explanation) = parse_answer(request.engine, &answer.text)?;
        Ok(GenerateResponse {
            text: answer.text,
            query,
            explanation,
            provider: LlmProvider::Ollama,
            model: answer.model,
            tokens_in: answer.tokens_in,
            tokens_out: answer.tokens_out,
            latency: started.elapsed(),
        })
    }

    async fn health_inner(&self, call: &Call) -> Result<String, LlmError> {
        let url = format!("{}/api/tags", self.endpoint);
        let response = self.transport.send(call, None, || self.transport.client().get(&url)).await?;
        let bytes = self.transport.body(call, response, Instant::now()).await?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|err| LlmError::Malformed(format!("the model list is not JSON: {err}")))?;
        let models: Vec<&str> =
            value["models"].as_array().into_iter().flatten().filter_map(|m| m["name"].as_str()).collect();
        // Ollama names a model without a tag as its `latest`.
        let wanted = if self.model.contains(':') { self.model.clone() } else { format!("{}:latest", self.model) };
        if models.iter().any(|m| *m == wanted || *m == self.model) {
            Ok(format!("answers; {} models pulled, {} among them", models.len(), self.model))
        } else {
            Ok(format!(
                "answers; {} models pulled, but not {} (run `ollama pull {}`)",
                models.len(),
                self.model,
                self.model
            ))
        }
    }
}

impl Provider for Ollama {
    fn kind(&self) -> LlmProvider {
        LlmProvider::Ollama
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn generate<'a>(
        &'a self,
        request: &'a GenerateRequest,
        call: &'a Call,
    ) -> BoxFuture<'a, Result<GenerateResponse, LlmError>> {
        Box::pin(self.generate_inner(request, call))
    }

    fn health<'a>(&'a self, call: &'a Call) -> BoxFuture<'a, Result<String, LlmError>> {
        Box::pin(self.health_inner(call))
    }
}

#[derive(Default)]
struct Answer {
    text: String,
    model: String,
    tokens_in: u64,
    tokens_out: u64,
    done: bool,
}

impl Answer {
    /// One whole answer, or one line of a stream.
    fn read(&mut self, value: &Value) -> Result<(), LlmError> {
        if let Some(error) = value.get("error") {
            let message = excerpt(error.as_str().unwrap_or("an error without a message"), 300);
            return Err(LlmError::Server { status: 200, message });
        }
        if let Some(model) = value["model"].as_str().filter(|m| !m.is_empty()) {
            self.model = model.to_owned();
        }
        self.text.push_str(value["message"]["content"].as_str().unwrap_or_default());
        if value["done"].as_bool() == Some(true) {
            self.done = true;
            self.tokens_in = value["prompt_eval_count"].as_u64().unwrap_or(0);
            self.tokens_out = value["eval_count"].as_u64().unwrap_or(0);
        }
        Ok(())
    }
}
