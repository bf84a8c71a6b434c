//! The model-provider adapters against a local HTTP server that speaks each real wire format: OpenAI chat
//! completions (plain and SSE), Anthropic Messages (plain and SSE events) and Ollama (plain and NDJSON). Each
//! scenario runs for all three: success, a server that never answers (client timeout), 429 then success with
//! Retry-After, 500 until the attempts run out, malformed JSON, an empty choice, a refusal, a key quoted back,
//! an unreachable endpoint, and a cancel mid-stream that the server sees as its connection closing.

pub mod server;

use std::time::{Duration, Instant};

use polystoreiq_broker::llm::anthropic::Anthropic;
use polystoreiq_broker::llm::http::{HttpPolicy, Transport};
use polystoreiq_broker::llm::ollama::Ollama;
use polystoreiq_broker::llm::openai::OpenAi;
use polystoreiq_broker::llm::provider::{Message, Role};
use polystoreiq_broker::llm::{Call, GenerateRequest, GenerateResponse, LlmError, Provider};
use polystoreiq_broker::supervisor::CancelToken;
use polystoreiq_protocol::secret::Secret;
use polystoreiq_protocol::types::Engine;
use serde_json::{Value, json};

use self::server::{Reply, Server};

const KEY: &str = "sk-test-key-0123456789";
const ANSWER: &str = "```sql\nSELECT count(*) AS n FROM orders;\n```\nCounts the rows of orders.";
/// The same answer in pieces, as a stream delivers it.
const PIECES: &[&str] = &["```sql\nSELECT count(*)", " AS n FROM orders;\n```", "\nCounts the rows", " of orders."];

#[derive(Clone, Copy, Debug)]
enum Wire {
    OpenAi,
    Anthropic,
    Ollama,
}

const WIRES: [Wire; 3] = [Wire::OpenAi, Wire::Anthropic, Wire::Ollama];

fn policy(timeout: Duration) -> HttpPolicy {
    HttpPolicy {
        timeout,
        connect_timeout: Duration::from_secs(2),
        max_attempts: 3,
        backoff: Duration::from_millis(10),
        backoff_max: Duration::from_millis(40),
        max_retry_after: Duration::from_secs(5),
    }
}

impl Wire {
    fn provider(self, server: &Server, timeout: Duration) -> Box<dyn Provider> {
        let transport = Transport::new(policy(timeout)).unwrap();
        let key = Some(Secret::new(KEY));
        match self {
            // OpenAI-compatible servers are addressed up to /v1.
            Wire::OpenAi => Box::new(OpenAi::new(&format!("{}/v1", server.url()), "gpt-test", key, transport)),
            Wire::Anthropic => Box::new(Anthropic::new(&server.url(), "claude-test", key, transport)),
            Wire::Ollama => Box::new(Ollama::new(&server.url(), "llama-test", transport)),
        }
    }

    /// A whole answer holding `text`.
    fn whole(self, text: &str) -> Reply {
        match self {
            Wire::OpenAi => Reply::json(
                200,
                json!({
                    "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-test-0613",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150}
                }),
            ),
            Wire::Anthropic => Reply::json(
                200,
                json!({
                    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test-20250101",
                    "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": null,
                    "usage": {"input_tokens": 120, "output_tokens": 30}
                }),
            ),
            Wire::Ollama => Reply::json(
                200,
                json!({
                    "model": "llama-test:latest", "created_at": "2026-01-01T00:00:00Z",
                    "message": {"role": "assistant", "content": text}, "done": true, "done_reason": "stop",
                    "prompt_eval_count": 120, "eval_count": 30
                }),
            ),
        }
    }

    /// A streamed answer: `pieces` of text, `gap` apart.
    fn stream(self, pieces: &[&str], gap: Duration) -> Reply {
        match self {
            Wire::OpenAi => {
                let chunk = |delta: Value, finish: Value| {
                    (
                        None,
                        json!({"id": "c1", "object": "chat.completion.chunk", "model": "gpt-test-0613",
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
                        .to_string(),
                    )
                };
                let mut events = vec![chunk(json!({"role": "assistant", "content": ""}), Value::Null)];
                events.extend(pieces.iter().map(|p| chunk(json!({"content": p}), Value::Null)));
                events.push(chunk(json!({}), json!("stop")));
                events.push((
                    None,
                    json!({"id": "c1", "object": "chat.completion.chunk", "model": "gpt-test-0613",
                    "choices": [], "usage": {"prompt_tokens": 120, "completion_tokens": 30}})
                    .to_string(),
                ));
                events.push((None, "[DONE]".to_owned()));
                Reply::sse(&events, gap)
            }
            Wire::Anthropic => {
                let mut events = vec![
                    (
                        Some("message_start"),
                        json!({"type": "message_start", "message": {"id": "msg_1",
                        "type": "message", "role": "assistant", "model": "claude-test-20250101", "content": [],
                        "stop_reason": null, "usage": {"input_tokens": 120, "output_tokens": 1}}})
                        .to_string(),
                    ),
                    (
                        Some("content_block_start"),
                        json!({"type": "content_block_start", "index": 0,
                        "content_block": {"type": "text", "text": ""}})
                        .to_string(),
                    ),
                    (Some("ping"), json!({"type": "ping"}).to_string()),
                ];
                events.extend(pieces.iter().map(|p| {
                    (
                        Some("content_block_delta"),
                        json!({"type": "content_block_delta", "index": 0,
                        "delta": {"type": "text_delta", "text": p}})
                        .to_string(),
                    )
                }));
                events
                    .push((Some("content_block_stop"), json!({"type": "content_block_stop", "index": 0}).to_string()));
                events.push((
                    Some("message_delta"),
                    json!({"type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": null}, "usage": {"output_tokens": 30}})
                    .to_string(),
                ));
                events.push((Some("message_stop"), json!({"type": "message_stop"}).to_string()));
                Reply::sse(&events, gap)
            }
            Wire::Ollama => {
                let mut lines: Vec<Value> = pieces
                    .iter()
                    .map(|p| {
                        json!({"model": "llama-test:latest", "created_at": "2026-01-01T00:00:00Z",
                        "message": {"role": "assistant", "content": p}, "done": false})
                    })
                    .collect();
                lines.push(json!({"model": "llama-test:latest", "created_at": "2026-01-01T00:00:00Z",
                    "message": {"role": "assistant", "content": ""}, "done": true, "done_reason": "stop",
                    "prompt_eval_count": 120, "eval_count": 30}));
                Reply::ndjson(&lines, gap)
            }
        }
    }

    /// A 200 answer with no content to read a query from.
    fn empty(self) -> Reply {
        match self {
            Wire::OpenAi => {
                Reply::json(200, json!({"id": "c", "object": "chat.completion", "model": "m", "choices": []}))
            }
            Wire::Anthropic => Reply::json(
                200,
                json!({"id": "m", "type": "message", "role": "assistant", "model": "m", "content": [],
                    "stop_reason": "end_turn", "usage": {"input_tokens": 1, "output_tokens": 0}}),
            ),
            Wire::Ollama => self.whole(""),
        }
    }

    /// The path each provider posts a chat to.
    fn path(self) -> &'static str {
        match self {
            Wire::OpenAi => "/v1/chat/completions",
            Wire::Anthropic => "/v1/messages",
            Wire::Ollama => "/api/chat",
        }
    }

    fn model_answered(self) -> &'static str {
        match self {
            Wire::OpenAi => "gpt-test-0613",
            Wire::Anthropic => "claude-test-20250101",
            Wire::Ollama => "llama-test:latest",
        }
    }
}

fn request(stream: bool) -> GenerateRequest {
    GenerateRequest {
        engine: Engine::Postgres,
        system: "SYSTEM RULES".into(),
        messages: vec![Message { role: Role::User, content: "SCHEMA AND QUESTION".into() }],
        max_tokens: 256,
        temperature: 0.0,
        stream,
    }
}

async fn generate(provider: &dyn Provider, stream: bool) -> (Result<GenerateResponse, LlmError>, u32) {
    let call = Call::new(CancelToken::default());
    let result = provider.generate(&request(stream), &call).await;
    (result, call.attempts())
}

fn assert_answer(wire: Wire, answer: &GenerateResponse) {
    assert_eq!(answer.query, "SELECT count(*) AS n FROM orders", "{wire:?}");
    assert_eq!(answer.explanation, "Counts the rows of orders.", "{wire:?}");
    assert_eq!((answer.tokens_in, answer.tokens_out), (120, 30), "{wire:?}");
    assert_eq!(answer.model, wire.model_answered(), "{wire:?}");
}

/// What every provider must have been sent: the model, temperature 0, the system rules, the prompt, the
/// stream flag, and the key in the provider's header (never in the body).
fn assert_request(wire: Wire, server: &Server, stream: bool) {
    let seen = server.requests();
    let last = seen.last().expect("a request");
    assert_eq!((last.method.as_str(), last.path.as_str()), ("POST", wire.path()), "{wire:?}");
    let body = last.json();
    assert_eq!(body["stream"], json!(stream), "{wire:?}");
    assert!(!last.body.contains(KEY), "{wire:?}: the key is in the body");
    match wire {
        Wire::OpenAi => {
            assert_eq!(body["model"], "gpt-test");
            assert_eq!(body["temperature"], json!(0.0));
            assert_eq!(body["max_tokens"], 256);
            assert_eq!(body["messages"][0], json!({"role": "system", "content": "SYSTEM RULES"}));
            assert_eq!(body["messages"][1], json!({"role": "user", "content": "SCHEMA AND QUESTION"}));
            assert_eq!(last.header("authorization"), Some(format!("Bearer {KEY}").as_str()));
            if stream {
                assert_eq!(body["stream_options"]["include_usage"], true);
            }
        }
        Wire::Anthropic => {
            assert_eq!(body["model"], "claude-test");
            assert_eq!(body["temperature"], json!(0.0));
            assert_eq!(body["max_tokens"], 256);
            assert_eq!(body["system"], "SYSTEM RULES");
            assert_eq!(body["messages"], json!([{"role": "user", "content": "SCHEMA AND QUESTION"}]));
            assert_eq!(last.header("x-api-key"), Some(KEY));
            assert_eq!(last.header("anthropic-version"), Some("2023-06-01"));
            assert_eq!(last.header("authorization"), None);
        }
        Wire::Ollama => {
            assert_eq!(body["model"], "llama-test");
            assert_eq!(body["options"], json!({"temperature": 0.0, "num_predict": 256}));
            assert_eq!(body["messages"][0]["role"], "system");
            assert_eq!(body["messages"][1]["content"], "SCHEMA AND QUESTION");
            assert_eq!(last.header("authorization"), None);
        }
    }
}

const QUICK: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_whole_answer_is_read() {
    for wire in WIRES {
        let server = Server::start(vec![wire.whole(ANSWER)]);
        let (result, attempts) = generate(&*wire.provider(&server, QUICK), false).await;
        assert_answer(wire, &result.unwrap_or_else(|err| panic!("{wire:?}: {err}")));
        assert_eq!(attempts, 1);
        assert_request(wire, &server, false);
    }
}

#[tokio::test]
async fn a_streamed_answer_is_read_piece_by_piece() {
    for wire in WIRES {
        let server = Server::start(vec![wire.stream(PIECES, Duration::from_millis(5))]);
        let (result, attempts) = generate(&*wire.provider(&server, QUICK), true).await;
        let answer = result.unwrap_or_else(|err| panic!("{wire:?}: {err}"));
        assert_answer(wire, &answer);
        assert_eq!(answer.text, PIECES.concat());
        assert_eq!(attempts, 1);
        assert_request(wire, &server, true);
    }
}

// Multi-threaded: the HTTP connection is closed by a task of the runtime while this test waits on the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_times_out_and_the_connection_is_closed() {
    for wire in WIRES {
        let server = Server::start(vec![Reply::Hang]);
        let started = Instant::now();
        let (result, attempts) = generate(&*wire.provider(&server, Duration::from_millis(300)), false).await;
        assert_eq!(result, Err(LlmError::Timeout(Duration::from_millis(300))), "{wire:?}");
        assert!(started.elapsed() < Duration::from_secs(10), "{wire:?} took {:?}", started.elapsed());
        assert_eq!(attempts, 1, "{wire:?}: a timeout is not tried again");
        assert!(server.wait_closed_early(1, Duration::from_secs(5)), "{wire:?}: the server never saw the client go");
    }
}

// Multi-threaded: the HTTP connection is closed by a task of the runtime while this test waits on the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_stalls_times_out_between_chunks() {
    for wire in WIRES {
        let server = Server::start(vec![wire.stream(PIECES, Duration::from_secs(5))]);
        let (result, _) = generate(&*wire.provider(&server, Duration::from_millis(300)), true).await;
        assert_eq!(result, Err(LlmError::Timeout(Duration::from_millis(300))), "{wire:?}");
        assert!(server.wait_closed_early(1, Duration::from_secs(5)), "{wire:?}");
    }
}

#[tokio::test]
async fn rate_limited_then_success_waits_for_retry_after() {
    for wire in WIRES {
        let limited = Reply::json(429, json!({"error": {"message": "slow down", "type": "rate_limit_error"}}))
            .with_header("Retry-After", "1");
        let server = Server::start(vec![limited, wire.stream(PIECES, Duration::ZERO)]);
        let started = Instant::now();
        let (result, attempts) = generate(&*wire.provider(&server, QUICK), true).await;
        assert_answer(wire, &result.unwrap_or_else(|err| panic!("{wire:?}: {err}")));
        assert_eq!(attempts, 2, "{wire:?}");
        assert_eq!(server.requests().len(), 2);
        // Retry-After: 1 was honoured, not the 10 ms backoff.
        assert!(started.elapsed() >= Duration::from_secs(1), "{wire:?} retried after {:?}", started.elapsed());
    }
}

#[tokio::test]
async fn a_retry_after_too_long_to_wait_fails_at_once_saying_when() {
    for wire in WIRES {
        let limited = Reply::json(429, json!({"error": {"message": "quota"}})).with_header("Retry-After", "3600");
        let server = Server::start(vec![limited]);
        let (result, attempts) = generate(&*wire.provider(&server, QUICK), false).await;
        let err = result.unwrap_err();
        assert_eq!(
            err,
            LlmError::RateLimited { retry_after: Some(Duration::from_secs(3600)), message: "quota".into() },
            "{wire:?}"
        );
        assert_eq!(attempts, 1);
        let typed = err.to_typed(polystoreiq_protocol::types::LlmProvider::Openai);
        assert_eq!((typed.code.as_str(), typed.retry_after_ms), ("llm_rate_limited", Some(3_600_000)));
    }
}

#[tokio::test]
async fn server_errors_are_tried_again_up_to_the_attempt_limit() {
    for wire in WIRES {
        let server = Server::start(vec![Reply::json(500, json!({"error": {"message": "boom"}}))]);
        let (result, attempts) = generate(&*wire.provider(&server, QUICK), false).await;
        assert_eq!(result, Err(LlmError::Server { status: 500, message: "boom".into() }), "{wire:?}");
        assert_eq!(attempts, 3);
        assert_eq!(server.requests().len(), 3);
        // A 503 and then an answer: the retry succeeds.
        let server = Server::start(vec![Reply::raw(503, "upstream down"), wire.whole(ANSWER)]);
        let (result, attempts) = generate(&*wire.provider(&server, QUICK), false).await;
        assert!(result.is_ok(), "{wire:?}: {result:?}");
        assert_eq!(attempts, 2);
    }
}

#[tokio::test]
async fn malformed_json_is_a_bad_answer_plain_or_streamed() {
    for wire in WIRES {
        let server = Server::start(vec![Reply::raw(200, "{\"choices\": [")]);
        let (result, _) = generate(&*wire.provider(&server, QUICK), false).await;
        let err = result.unwrap_err();
        assert!(matches!(err, LlmError::Malformed(_)), "{wire:?}: {err:?}");
        assert_eq!(err.code().as_str(), "llm_bad_answer");

        let broken = match wire {
            Wire::Ollama => Reply::Stream {
                content_type: "application/x-ndjson",
                pieces: vec!["{\"message\": {\"content\": \"SEL\"}, \"done\": false}\n".into(), "{oops\n".into()],
                gap: Duration::ZERO,
            },
            _ => Reply::sse(&[(None, "{not json".to_owned())], Duration::ZERO),
        };
        let server = Server::start(vec![broken]);
        let (result, _) = generate(&*wire.provider(&server, QUICK), true).await;
        assert!(matches!(result, Err(LlmError::Malformed(_))), "{wire:?}: {result:?}");

        // A stream cut short (no [DONE], message_stop or done line) is not an answer either.
        let Reply::Stream { content_type, mut pieces, gap } = wire.stream(PIECES, Duration::ZERO) else {
            unreachable!("a stream")
        };
        pieces.truncate(2);
        let server = Server::start(vec![Reply::Stream { content_type, pieces, gap }]);
        let (result, _) = generate(&*wire.provider(&server, QUICK), true).await;
        assert!(matches!(result, Err(LlmError::Malformed(_))), "{wire:?}: {result:?}");
    }
}

#[tokio::test]
async fn an_empty_choice_is_an_empty_answer() {
    for wire in WIRES {
        let server = Server::start(vec![wire.empty()]);
        let (result, _) = generate(&*wire.provider(&server, QUICK), false).await;
        assert_eq!(result, Err(LlmError::EmptyAnswer), "{wire:?}");
        let server = Server::start(vec![wire.stream(&[], Duration::ZERO)]);
        let (result, _) = generate(&*wire.provider(&server, QUICK), true).await;
        assert_eq!(result, Err(LlmError::EmptyAnswer), "{wire:?}");
    }
}

#[tokio::test]
async fn a_model_that_declines_is_a_refusal() {
    for wire in WIRES {
        let server = Server::start(vec![wire.whole("I cannot write a query that deletes rows.")]);
        let (result, _) = generate(&*wire.provider(&server, QUICK), false).await;
        assert!(matches!(&result, Err(LlmError::Refusal(why)) if why.contains("deletes rows")), "{wire:?}: {result:?}");
    }
    // The providers' own refusal signals.
    let server = Server::start(vec![Reply::json(
        200,
        json!({"model": "m", "choices": [{"index": 0, "message": {"role": "assistant", "content": null,
            "refusal": "I can't help with that."}, "finish_reason": "stop"}]}),
    )]);
    let (result, _) = generate(&*Wire::OpenAi.provider(&server, QUICK), false).await;
    assert_eq!(result, Err(LlmError::Refusal("I can't help with that.".into())));
    let server = Server::start(vec![Reply::json(
        200,
        json!({"type": "message", "model": "m", "content": [], "stop_reason": "refusal",
            "usage": {"input_tokens": 1, "output_tokens": 0}}),
    )]);
    let (result, _) = generate(&*Wire::Anthropic.provider(&server, QUICK), false).await;
    assert!(matches!(result, Err(LlmError::Refusal(_))), "{result:?}");
}

#[tokio::test]
async fn errors_inside_a_stream_end_the_answer_as_typed_errors() {
    let overloaded = Reply::sse(
        &[(
            Some("error"),
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}).to_string(),
        )],
        Duration::ZERO,
    );
    let server = Server::start(vec![overloaded]);
    let (result, _) = generate(&*Wire::Anthropic.provider(&server, QUICK), true).await;
    assert_eq!(result, Err(LlmError::Server { status: 529, message: "Overloaded".into() }));

    let server = Server::start(vec![Reply::ndjson(&[json!({"error": "model ran out of memory"})], Duration::ZERO)]);
    let (result, _) = generate(&*Wire::Ollama.provider(&server, QUICK), true).await;
    assert!(matches!(result, Err(LlmError::Server { .. })), "{result:?}");

    let server = Server::start(vec![Reply::sse(
        &[(None, json!({"error": {"message": "context overflow"}}).to_string())],
        Duration::ZERO,
    )]);
    let (result, _) = generate(&*Wire::OpenAi.provider(&server, QUICK), true).await;
    assert_eq!(result, Err(LlmError::Server { status: 200, message: "context overflow".into() }));

    // Ollama's answer for a model it does not have.
    let server =
        Server::start(vec![Reply::json(404, json!({"error": "model 'llama-test' not found, try pulling it first"}))]);
    let (result, attempts) = generate(&*Wire::Ollama.provider(&server, QUICK), false).await;
    let err = result.unwrap_err();
    assert!(matches!(&err, LlmError::Rejected { status: 404, message } if message.contains("not found")), "{err:?}");
    assert_eq!(attempts, 1, "a 404 is not tried again");
    assert!(err.to_typed(polystoreiq_protocol::types::LlmProvider::Ollama).message.contains("ollama pull"));
}

#[tokio::test]
async fn a_refused_key_is_unauthorized_and_never_quoted_back() {
    for wire in [Wire::OpenAi, Wire::Anthropic] {
        let echo = Reply::json(401, json!({"error": {"message": format!("Incorrect API key provided: {KEY}.")}}));
        let server = Server::start(vec![echo]);
        let (result, attempts) = generate(&*wire.provider(&server, QUICK), false).await;
        let err = result.unwrap_err();
        assert_eq!(
            err,
            LlmError::Unauthorized { status: 401, message: "Incorrect API key provided: [redacted].".into() },
            "{wire:?}"
        );
        assert_eq!(attempts, 1);
        let typed = err.to_typed(polystoreiq_protocol::types::LlmProvider::Openai);
        assert_eq!(typed.code.as_str(), "llm_unauthorized");
        assert!(!typed.message.contains(KEY) && typed.message.contains("--api-key-stdin"), "{}", typed.message);
    }
}

#[tokio::test]
async fn an_endpoint_with_nothing_listening_is_unreachable() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    for wire in WIRES {
        let transport = Transport::new(policy(QUICK)).unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let provider: Box<dyn Provider> = match wire {
            Wire::OpenAi => Box::new(OpenAi::new(&url, "m", None, transport)),
            Wire::Anthropic => Box::new(Anthropic::new(&url, "m", None, transport)),
            Wire::Ollama => Box::new(Ollama::new(&url, "m", transport)),
        };
        let (result, attempts) = generate(&*provider, false).await;
        assert!(matches!(&result, Err(LlmError::Unreachable(why)) if why.contains("onnect")), "{wire:?}: {result:?}");
        assert_eq!(attempts, 1);
    }
}

// Multi-threaded: the HTTP connection is closed by a task of the runtime while this test waits on the server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_mid_stream_stops_at_once_and_closes_the_connection() {
    for wire in WIRES {
        // The first pieces come at once, then one every 100 ms for ten seconds.
        let mut pieces = PIECES[..2].to_vec();
        pieces.extend(std::iter::repeat_n(" more", 100));
        let server = Server::start(vec![wire.stream(&pieces, Duration::from_millis(100))]);
        let provider = wire.provider(&server, QUICK);
        let cancel = CancelToken::default();
        let call = Call::new(cancel.clone());
        let canceller = async {
            while server.requests().is_empty() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            // Let the stream start flowing, then cancel.
            tokio::time::sleep(Duration::from_millis(250)).await;
            cancel.cancel();
        };
        let started = Instant::now();
        let request = request(true);
        let (result, ()) = tokio::join!(provider.generate(&request, &call), canceller);
        assert_eq!(result, Err(LlmError::Cancelled), "{wire:?}");
        assert!(started.elapsed() < Duration::from_secs(5), "{wire:?}: the cancel took {:?}", started.elapsed());
        assert!(server.wait_closed_early(1, Duration::from_secs(5)), "{wire:?}: the server never saw the client go");
    }
}

#[tokio::test]
async fn health_checks_ask_each_providers_model_list() {
    let cases = [
        (Wire::OpenAi, "/v1/models", json!({"object": "list", "data": [{"id": "gpt-test"}, {"id": "other"}]})),
        (Wire::Anthropic, "/v1/models", json!({"data": [{"id": "claude-test", "type": "model"}]})),
        (Wire::Ollama, "/api/tags", json!({"models": [{"name": "llama-test:latest"}]})),
    ];
    for (wire, path, list) in cases {
        let server = Server::start(vec![Reply::json(200, list)]);
        let call = Call::new(CancelToken::default());
        let message = wire.provider(&server, QUICK).health(&call).await.unwrap();
        assert!(message.contains("among them"), "{wire:?}: {message}");
        let seen = &server.requests()[0];
        assert_eq!((seen.method.as_str(), seen.path.as_str()), ("GET", path));
    }
}
