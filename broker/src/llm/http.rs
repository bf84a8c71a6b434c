//! HTTP for every adapter: one `reqwest` client, the attempt timeout, bounded retries with backoff after 429 and
//! 5xx (Retry-After honoured), cancellation at every await, and the readers of streamed bodies (SSE, NDJSON).
//!
//! A cancelled or timed-out request drops its response, which closes its connection: the provider sees the
//! client go and stops generating. Error bodies are quoted shortened and with the API key blanked out.

use std::time::{Duration, Instant};

use polystoreiq_protocol::secret::Secret;
use reqwest::header::HeaderMap;

use super::provider::{Call, LlmError, excerpt};

/// How an adapter talks HTTP. Defaults suit a hosted API; `POLYSTOREIQ_LLM_*` variables override them.
#[derive(Clone, Debug)]
pub struct HttpPolicy {
    /// One attempt's limit: until the whole body for a plain answer; until the headers, then between two chunks,
    /// for a streamed one.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Requests per call, the first included (429 and 5xx are tried again).
    pub max_attempts: u32,
    /// The pause before the first retry; doubles each time, up to `backoff_max`.
    pub backoff: Duration,
    pub backoff_max: Duration,
    /// A Retry-After longer than this is not waited for: the call fails as rate limited at once.
    pub max_retry_after: Duration,
}

impl Default for HttpPolicy {
    fn default() -> HttpPolicy {
        HttpPolicy {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
            max_attempts: 3,
            backoff: Duration::from_millis(250),
            backoff_max: Duration::from_secs(4),
            max_retry_after: Duration::from_secs(20),
        }
    }
}

impl HttpPolicy {
    /// The defaults, then `POLYSTOREIQ_LLM_TIMEOUT_MS`, `_ATTEMPTS`, `_BACKOFF_MS` and `_MAX_RETRY_AFTER_MS`.
    pub fn from_env() -> HttpPolicy {
        let d = HttpPolicy::default();
        let ms = |name: &str, default: Duration| {
            std::env::var(name).ok().and_then(|v| v.parse().ok()).map_or(default, Duration::from_millis)
        };
        HttpPolicy {
            timeout: ms("POLYSTOREIQ_LLM_TIMEOUT_MS", d.timeout).max(Duration::from_millis(1)),
            connect_timeout: d.connect_timeout,
            max_attempts: std::env::var("POLYSTOREIQ_LLM_ATTEMPTS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(d.max_attempts)
                .clamp(1, 10),
            backoff: ms("POLYSTOREIQ_LLM_BACKOFF_MS", d.backoff),
            backoff_max: d.backoff_max,
            max_retry_after: ms("POLYSTOREIQ_LLM_MAX_RETRY_AFTER_MS", d.max_retry_after),
        }
    }

    fn pause(&self, retry: u32) -> Duration {
        self.backoff.saturating_mul(1 << retry.saturating_sub(1).min(16)).min(self.backoff_max)
    }
}

/// The HTTP client adapters share. Cheap to clone.
#[derive(Clone)]
pub struct Transport {
    client: reqwest::Client,
    pub policy: HttpPolicy,
}

impl Transport {
    pub fn new(policy: HttpPolicy) -> Result<Transport, LlmError> {
        let client = reqwest::Client::builder()
            .connect_timeout(policy.connect_timeout)
            .user_agent(concat!("PolyStoreIQ/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| LlmError::Unreachable(format!("cannot set up HTTP: {err}")))?;
        Ok(Transport { client, policy })
    }

    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends the request `build` makes until it is answered with a success, a failure not worth another try, or
    /// the attempts run out. 429 and 5xx are tried again after Retry-After (when the server sends one and it is
    /// short enough) or the backoff. `key` is blanked out of any error text.
    pub async fn send(
        &self,
        call: &Call,
        key: Option<&Secret>,
        build: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, LlmError> {
        let mut retry = 0;
        loop {
            if call.cancel.is_cancelled() {
                return Err(LlmError::Cancelled);
            }
            let attempt = call.count_attempt();
            let sent = tokio::select! {
                _ = call.cancel.cancelled() => return Err(LlmError::Cancelled),
                sent = tokio::time::timeout(self.policy.timeout, build().send()) => sent,
            };
            let response = match sent {
                Err(_) => return Err(LlmError::Timeout(self.policy.timeout)),
                Ok(Err(err)) => return Err(transport_error(err, self.policy.timeout)),
                Ok(Ok(response)) => response,
            };
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            let retry_after = retry_after(response.headers());
            let message = self.error_text(call, response, key).await?;
            let error = match status.as_u16() {
                429 => LlmError::RateLimited { retry_after, message },
                401 | 403 => LlmError::Unauthorized { status: status.as_u16(), message },
                code if code >= 500 => LlmError::Server { status: code, message },
                code => LlmError::Rejected { status: code, message },
            };
            if !error.retryable() || attempt >= self.policy.max_attempts {
                return Err(error);
            }
            retry += 1;
            let pause = match retry_after {
                Some(after) if after > self.policy.max_retry_after => return Err(error),
                Some(after) => after,
                None => self.policy.pause(retry),
            };
            tracing::info!(
                attempt,
                status = status.as_u16(),
                pause_ms = pause.as_millis() as u64,
                "model provider: {error}; trying again"
            );
            tokio::select! {
                _ = call.cancel.cancelled() => return Err(LlmError::Cancelled),
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// A failed response's message: the provider's `error.message` (or `error`) when its body is JSON, else the
    /// start of the body; shortened, the key blanked out.
    async fn error_text(
        &self,
        call: &Call,
        response: reqwest::Response,
        key: Option<&Secret>,
    ) -> Result<String, LlmError> {
        let body = tokio::select! {
            _ = call.cancel.cancelled() => return Err(LlmError::Cancelled),
            body = tokio::time::timeout(self.policy.timeout, response.bytes()) => body,
        };
        let body = match body {
            Ok(Ok(bytes)) => String::from_utf8_lossy(&bytes[..bytes.len().min(8192)]).into_owned(),
            _ => String::new(),
        };
        let message = serde_json::from_str::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| {
                let error = v.get("error")?;
                error.get("message").and_then(|m| m.as_str()).or(error.as_str()).map(str::to_owned)
            })
            .unwrap_or(body);
        Ok(redact(&excerpt(message.trim(), 300), key))
    }

    /// Reads a whole (not streamed) body within the attempt's time limit.
    pub async fn body(&self, call: &Call, response: reqwest::Response, started: Instant) -> Result<Vec<u8>, LlmError> {
        let left = self.policy.timeout.saturating_sub(started.elapsed()).max(Duration::from_millis(1));
        tokio::select! {
            _ = call.cancel.cancelled() => Err(LlmError::Cancelled),
            body = tokio::time::timeout(left, response.bytes()) => match body {
                Err(_) => Err(LlmError::Timeout(self.policy.timeout)),
                Ok(Err(err)) => Err(transport_error(err, self.policy.timeout)),
                Ok(Ok(bytes)) => Ok(bytes.to_vec()),
            },
        }
    }

    /// Reads a whole body as [`Transport::body`] does, as JSON; `what` names it when it is not (`the answer`).
    pub async fn json(
        &self,
        call: &Call,
        response: reqwest::Response,
        started: Instant,
        what: &str,
    ) -> Result<serde_json::Value, LlmError> {
        let bytes = self.body(call, response, started).await?;
        serde_json::from_slice(&bytes).map_err(|err| LlmError::Malformed(format!("{what} is not JSON: {err}")))
    }
}

/// Blanks `key` out of `text`, in case a provider quotes it back.
pub fn redact(text: &str, key: Option<&Secret>) -> String {
    match key.map(Secret::expose).filter(|k| k.len() >= 4) {
        Some(key) => text.replace(key, "[redacted]"),
        None => text.to_owned(),
    }
}

fn transport_error(err: reqwest::Error, timeout: Duration) -> LlmError {
    if err.is_timeout() {
        return LlmError::Timeout(timeout);
    }
    // The whole source chain says why (refused, no such host, TLS); never a header, so never the key.
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    if err.is_decode() || err.is_body() { LlmError::Malformed(text) } else { LlmError::Unreachable(text) }
}

/// Retry-After in seconds or as an HTTP date, or OpenAI's `retry-after-ms`.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) =
        headers.get("retry-after-ms").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<f64>().ok())
    {
        return Some(Duration::from_millis(ms.max(0.0) as u64));
    }
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        return Some(Duration::from_millis((seconds.max(0.0) * 1000.0) as u64));
    }
    let at = httpdate_to_unix(value)?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` (the only date form HTTP/1.1 senders may use) to unix seconds.
fn httpdate_to_unix(text: &str) -> Option<u64> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts.as_slice() else { return None };
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .iter()
        .position(|m| m == month)? as i64
        + 1;
    let (day, year): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let hms: Vec<i64> = time.split(':').map(|p| p.parse().ok()).collect::<Option<_>>()?;
    let [h, m, s] = hms.as_slice() else { return None };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3600 + m * 60 + s).ok()
}

/// A streamed body read line by line, each chunk within the attempt timeout, stopping at a cancel.
pub struct LineReader {
    response: reqwest::Response,
    buffer: Vec<u8>,
    idle: Duration,
    done: bool,
}

/// The longest line a stream may send; a longer one is not a provider's stream.
const MAX_LINE: usize = 4 << 20;

impl LineReader {
    pub fn new(response: reqwest::Response, idle: Duration) -> LineReader {
        LineReader { response, buffer: Vec::new(), idle, done: false }
    }

    /// The next line without its line end (`\n` or `\r\n`), or `None` at the end of the body.
    pub async fn next_line(&mut self, call: &Call) -> Result<Option<String>, LlmError> {
        loop {
            if let Some(at) = self.buffer.iter().position(|b| *b == b'\n') {
                let mut line: Vec<u8> = self.buffer.drain(..=at).collect();
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return String::from_utf8(line)
                    .map(Some)
                    .map_err(|_| LlmError::Malformed("a stream line is not UTF-8".into()));
            }
            if self.done {
                if self.buffer.is_empty() {
                    return Ok(None);
                }
                let rest = std::mem::take(&mut self.buffer);
                return String::from_utf8(rest)
                    .map(Some)
                    .map_err(|_| LlmError::Malformed("a stream line is not UTF-8".into()));
            }
            if self.buffer.len() > MAX_LINE {
                return Err(LlmError::Malformed(format!("a stream line longer than {MAX_LINE} bytes")));
            }
            let chunk = tokio::select! {
                _ = call.cancel.cancelled() => return Err(LlmError::Cancelled),
                chunk = tokio::time::timeout(self.idle, self.response.chunk()) => chunk,
            };
            match chunk {
                Err(_) => return Err(LlmError::Timeout(self.idle)),
                Ok(Err(err)) => return Err(transport_error(err, self.idle)),
                Ok(Ok(Some(bytes))) => self.buffer.extend_from_slice(&bytes),
                Ok(Ok(None)) => self.done = true,
            }
        }
    }
}

/// One server-sent event: its `event:` name (if any) and its `data:` lines joined by newlines.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    pub event: Option<String>,
    pub data: String,
}

/// Server-sent events over a [`LineReader`] (the `text/event-stream` format).
pub struct SseReader {
    lines: LineReader,
}

impl SseReader {
    pub fn new(lines: LineReader) -> SseReader {
        SseReader { lines }
    }

    /// The next event with data, or `None` at the end of the stream. Comments (`:`) and ids are skipped.
    pub async fn next_event(&mut self, call: &Call) -> Result<Option<SseEvent>, LlmError> {
        let mut event = SseEvent::default();
        let mut has_data = false;
        loop {
            let Some(line) = self.lines.next_line(call).await? else {
                return Ok(has_data.then_some(event));
            };
            if line.is_empty() {
                if has_data {
                    return Ok(Some(event));
                }
                event = SseEvent::default();
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line.as_str(), ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => event.event = Some(value.to_owned()),
                "data" => {
                    if has_data {
                        event.data.push('\n');
                    }
                    event.data.push_str(value);
                    has_data = true;
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_and_backoff() {
        assert_eq!(httpdate_to_unix("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(httpdate_to_unix("yesterday"), None);
        let policy = HttpPolicy {
            backoff: Duration::from_millis(100),
            backoff_max: Duration::from_millis(300),
            ..HttpPolicy::default()
        };
        let pauses: Vec<u128> = (1..=4).map(|r| policy.pause(r).as_millis()).collect();
        assert_eq!(pauses, [100, 200, 300, 300]);
    }

    #[test]
    fn retry_after_in_seconds_milliseconds_or_a_date() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert("retry-after-ms", "150".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(150)));
        let mut past = HeaderMap::new();
        past.insert("retry-after", "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap());
        assert_eq!(retry_after(&past), Some(Duration::ZERO));
    }

    #[test]
    fn a_key_quoted_back_is_blanked() {
        let key = Secret::new("sk-test-1234567890");
        assert_eq!(
            redact("Incorrect API key provided: sk-test-1234567890.", Some(&key)),
            "Incorrect API key provided: [redacted]."
        );
    }
}
