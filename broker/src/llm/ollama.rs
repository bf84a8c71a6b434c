//! The Ollama adapter (`POST {endpoint}/api/chat`), for a model running on this machine. A plain JSON answer,
//! or newline-delimited JSON: one `{"message": {"content": ...}, "done": false}` per piece, then a `done: true`
//! line with the token counts (`prompt_eval_count`, `eval_count`). An `{"error": ...}` line ends the answer.

use std::time::Instant;

use polystoreiq_protocol::types::LlmProvider;
use serde_json::{Value, json};

use super::http::{LineReader, Transport};
use super::provider::{Adapter, Answer, Call, GenerateRequest, GenerateResponse, LlmError, excerpt};

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
}

impl Adapter for Ollama {
    const KIND: LlmProvider = LlmProvider::Ollama;

    fn configured_model(&self) -> &str {
        &self.model
    }

    async fn ask(&self, request: &GenerateRequest, call: &Call) -> Result<GenerateResponse, LlmError> {
        let started = Instant::now();
        let body = self.body(request);
        let url = format!("{}/api/chat", self.endpoint);
        let response = self.transport.send(call, None, || self.transport.client().post(&url).json(&body)).await?;
        let attempt_started = Instant::now();
        let mut answer = Answer::new(&self.model);
        if request.stream {
            let mut done = false;
            let mut lines = LineReader::new(response, self.transport.policy.timeout);
            while let Some(line) = lines.next_line(call).await? {
                if line.trim().is_empty() {
                    continue;
                }
                let value: Value = serde_json::from_str(&line)
                    .map_err(|err| LlmError::Malformed(format!("a stream line is not JSON: {err}")))?;
                if read(&mut answer, &value)? {
                    done = true;
                    break;
                }
            }
            if !done {
                return Err(LlmError::Malformed("the stream ended before a `done: true` line".into()));
            }
        } else {
            let value = self.transport.json(call, response, attempt_started, "the answer").await?;
            if !value["message"].is_object() && value.get("error").is_none() {
                return Err(LlmError::Malformed("the answer has no `message`".into()));
            }
            read(&mut answer, &value)?;
        }
        answer.finish(Self::KIND, request.engine, started)
    }

    async fn check(&self, call: &Call) -> Result<String, LlmError> {
        let url = format!("{}/api/tags", self.endpoint);
        let response = self.transport.send(call, None, || self.transport.client().get(&url)).await?;
        let value = self.transport.json(call, response, Instant::now(), "the model list").await?;
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

/// One whole answer, or one line of a stream, into `answer`; whether it is the last (`done: true`).
fn read(answer: &mut Answer, value: &Value) -> Result<bool, LlmError> {
    if let Some(error) = value.get("error") {
        let message = excerpt(error.as_str().unwrap_or("an error without a message"), 300);
        return Err(LlmError::Server { status: 200, message });
    }
    answer.read_model(value);
    answer.text.push_str(value["message"]["content"].as_str().unwrap_or_default());
    let done = value["done"].as_bool() == Some(true);
    if done {
        answer.tokens_in = value["prompt_eval_count"].as_u64().unwrap_or(0);
        answer.tokens_out = value["eval_count"].as_u64().unwrap_or(0);
    }
    Ok(done)
}
