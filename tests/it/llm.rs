//! Model providers end to end, through the real `psiq` and broker: `psiq settings llm` points the broker at a
//! local HTTP server speaking OpenAI's chat completions (SSE), `psiq ask` returns the model's query with provider
//! openai, and when the server fails the offline planner drafts instead and the preview says so. The API key goes
//! to the keyring only (never the app state, the log or a reply), switching providers needs no restart, each
//! generation is audited and counted in `psiq diag`, and no prompt carries a source's user, password, host or
//! file path (a sentinel test against the real PostgreSQL).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::servers::{PgDb, psql};
use crate::support::Profile;

#[path = "../../broker/tests/it/llm/server.rs"]
mod server;

use server::{Reply, Server};

const MODEL_QUERY: &str = "SELECT count(*) AS n FROM orders";

/// An OpenAI chat-completions stream answering with `query` in a fenced block and a sentence.
fn openai_stream(query: &str) -> Reply {
    let text = format!("```sql\n{query};\n```\nCounts the orders, one row per order in the orders table.");
    let (first, second) = text.split_at(text.len() / 2);
    let chunk = |delta: Value, finish: Value| {
        (
            None,
            json!({"id": "c", "object": "chat.completion.chunk", "model": "test-model",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
            .to_string(),
        )
    };
    Reply::sse(
        &[
            chunk(json!({"role": "assistant", "content": first}), Value::Null),
            chunk(json!({"content": second}), Value::Null),
            chunk(json!({}), json!("stop")),
            (
                None,
                json!({"id": "c", "model": "test-model", "choices": [],
                "usage": {"prompt_tokens": 321, "completion_tokens": 23}})
                .to_string(),
            ),
            (None, "[DONE]".into()),
        ],
        Duration::from_millis(5),
    )
}

/// A profile whose broker retries the provider quickly.
fn profile() -> Profile {
    Profile::with_env(&[("POLYSTOREIQ_LLM_BACKOFF_MS", "10"), ("POLYSTOREIQ_LLM_TIMEOUT_MS", "10000")])
}

/// A files source `shop` with an `orders.csv` of three rows, in a directory whose name is `dir`.
fn add_shop(profile: &Profile, dir: &str) -> String {
    let dir = profile.data.path().join(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("orders.csv");
    std::fs::write(&csv, "id,city,total\n1,Lyon,10.5\n2,Oslo,7\n3,Lyon,1\n").unwrap();
    let csv = csv.to_string_lossy().into_owned();
    profile.ok(&["source", "add", "shop", "--kind", "files", "--path", &csv]);
    csv
}

fn set_openai(profile: &Profile, server: &Server, key: &str) -> Value {
    let endpoint = format!("{}/v1", server.url());
    let args = [
        "settings",
        "llm",
        "--provider",
        "openai",
        "--model",
        "test-model",
        "--endpoint",
        &endpoint,
        "--api-key-stdin",
    ];
    let out = profile.run_with_stdin(&args, &format!("{key}\n"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "settings llm failed: {stdout} {}", String::from_utf8_lossy(&out.stderr));
    crate::support::parse_last_json(&stdout)
}

#[test]
fn ask_uses_the_configured_provider_and_falls_back_to_the_offline_planner_saying_so() {
    let profile = profile();
    add_shop(&profile, "shop");
    let server = Server::start(vec![openai_stream(MODEL_QUERY)]);
    let key = "sk-e2e-keyring-only-5bd1c0";

    // Until a provider is chosen, the offline planner drafts.
    let shown = profile.ok(&["settings", "show"]);
    assert_eq!(shown["llm"]["provider"], "offline");
    let offline = profile.ok(&["ask", "shop", "how many orders are there?"]);
    assert!(!offline["provider"].as_str().unwrap().contains("openai"), "{offline}");

    let settings = set_openai(&profile, &server, key);
    assert_eq!(
        settings["llm"],
        json!({"provider": "openai", "model": "test-model",
        "endpoint": format!("{}/v1", server.url()), "api_key_set": true})
    );
    let plain = profile.plain_command(&["settings", "show"]).output().unwrap();
    let plain = String::from_utf8_lossy(&plain.stdout);
    assert!(plain.contains("api key:      set (in the OS keyring)") && !plain.contains(key), "{plain}");

    // The model drafts, with no restart of the broker.
    let broker = profile.broker_pid();
    let draft = profile.ok(&["ask", "shop", "how many orders are there?"]);
    assert_eq!(draft["provider"], "openai (test-model)", "{draft}");
    assert_eq!(draft["query"], MODEL_QUERY);
    assert_eq!(draft["explanation"], "Counts the orders, one row per order in the orders table.");
    assert_eq!(draft["verdict"]["allowed"], true, "{draft}");
    assert_eq!(profile.broker_pid(), broker, "the broker restarted");
    let sent = server.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, "/v1/chat/completions");
    assert_eq!(sent[0].header("authorization"), Some(format!("Bearer {key}").as_str()));
    let body = sent[0].json();
    assert_eq!((body["model"].as_str(), body["stream"].as_bool()), (Some("test-model"), Some(true)));
    assert!(body["messages"][1]["content"].as_str().unwrap().contains("Table orders"), "{body}");
    // The drafted query runs like any other, after approval.
    let run = profile.ok(&["run", draft["token"].as_str().unwrap()]);
    assert_eq!(run["first_page"]["rows"], json!([{"n": 3}]), "{run}");

    // The provider fails (500 on every attempt): the offline planner drafts, and the preview says so.
    server.set_script(vec![Reply::json(500, json!({"error": {"message": "the model is down"}}))]);
    let fallback = profile.ok(&["ask", "shop", "how many orders are there?"]);
    let provider = fallback["provider"].as_str().unwrap();
    assert!(provider.contains("(fallback: openai server error, HTTP 500)"), "{fallback}");
    assert_ne!(fallback["query"], MODEL_QUERY);
    let explanation = fallback["explanation"].as_str().unwrap();
    assert!(
        explanation.starts_with("openai could not draft this (openai failed on its side (HTTP 500)"),
        "{explanation}"
    );
    assert_eq!(fallback["verdict"]["allowed"], true, "{fallback}");
    assert_eq!(server.requests().len(), 4, "three attempts at the failing provider");
    let plain = profile.plain_command(&["ask", "shop", "how many orders are there?"]).output().unwrap();
    let plain = String::from_utf8_lossy(&plain.stdout);
    assert!(plain.contains("drafted by") && plain.contains("fallback: openai"), "{plain}");

    // Each generation is audited with its provider, model, tokens, attempts and trace, and counted in diag.
    let audit = profile.ok(&["audit", "--action", "llm.generate"]);
    let details: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["detail"].as_str().unwrap()).collect();
    assert_eq!(details.len(), 3, "{details:?}");
    assert!(details[0].starts_with("openai test-model: 321 tokens in, 23 out; 1 attempt,"), "{}", details[0]);
    assert!(details[0].contains(&format!("trace draft-{}", draft["draft"])), "{}", details[0]);
    assert!(details[1].contains("failed: failed on its side (HTTP 500): the model is down [llm_server_error]"));
    assert!(details[1].contains("3 attempts"), "{}", details[1]);
    let diag = profile.ok(&["diag"]);
    let openai = diag["generations"].as_array().unwrap().iter().find(|g| g["provider"] == "openai").cloned();
    let openai = openai.unwrap_or_else(|| panic!("no openai generations in {diag}"));
    assert_eq!((openai["count"].as_u64(), openai["fallbacks"].as_u64()), (Some(3), Some(2)), "{openai}");
    assert_eq!((openai["tokens_in"].as_u64(), openai["attempts"].as_u64()), (Some(321), Some(7)), "{openai}");

    // Back to the offline planner: no request reaches the server.
    profile.ok(&["settings", "llm", "--provider", "offline"]);
    let offline = profile.ok(&["ask", "shop", "how many orders are there?"]);
    assert!(!offline["provider"].as_str().unwrap().contains("openai"), "{offline}");
    assert_eq!(server.requests().len(), 7);

    // The key was in the keyring only: not in the app state, not in the broker's log, not in any reply.
    let mut state = std::fs::read(profile.home.path().join("state.sqlite3")).unwrap();
    state.extend(std::fs::read(profile.home.path().join("state.sqlite3-wal")).unwrap_or_default());
    assert!(!contains(&state, key.as_bytes()), "the API key is in the app state");
    let log = std::fs::read_to_string(profile.home.path().join("logs/broker.log")).unwrap_or_default();
    assert!(!log.contains(key), "the API key is in the broker's log");
    let refs =
        crate::support::strings(&profile.database(), "SELECT value FROM settings WHERE key = 'llm.openai.key_ref'");
    assert!(refs.len() == 1 && refs[0].starts_with("polystoreiq:default:llm-openai:"), "{refs:?}");

    // Removing the key takes it out of the keyring.
    let cleared = profile.ok(&["settings", "llm", "--provider", "openai", "--clear-api-key"]);
    assert_eq!(cleared["llm"]["api_key_set"], false);
    assert_eq!(cleared["llm"]["model"], "test-model", "the model was kept");
}

/// A model's draft that fails its dry run goes back to the model with the database's error; the repaired draft is
/// shown with the failed one kept as an attempt. A model that never repairs it is asked twice more (the default
/// repair limit), and its last draft is shown with the error and no token.
#[test]
fn a_draft_that_fails_its_dry_run_goes_back_to_the_model_for_repair() {
    const BROKEN: &str = "SELECT count(*) AS n FROM order_lines";
    let profile = profile();
    add_shop(&profile, "shop");
    let server = Server::start(vec![openai_stream(BROKEN), openai_stream(MODEL_QUERY)]);
    set_openai(&profile, &server, "sk-repair-e2e-3f0a");

    let draft = profile.ok(&["ask", "shop", "how many orders are there?"]);
    assert_eq!((&draft["query"], &draft["provider"]), (&json!(MODEL_QUERY), &json!("openai (test-model)")), "{draft}");
    assert_eq!(draft["check"]["outcome"], "passed", "{draft}");
    let attempts = draft["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 1, "{draft}");
    assert_eq!((&attempts[0]["query"], &attempts[0]["error"]["code"]), (&json!(BROKEN), &json!("query_failed")));
    assert!(attempts[0]["error"]["message"].as_str().unwrap().contains("order_lines"), "{draft}");
    // The repair request replayed the failed query as the model's answer, then the error, quoted.
    let sent = server.requests();
    assert_eq!(sent.len(), 2);
    let messages = sent[1].json()["messages"].clone();
    assert_eq!(messages.as_array().unwrap().len(), 4, "{messages}");
    assert_eq!(messages[1], sent[0].json()["messages"][1], "the repair request lost the question and schema");
    assert_eq!(messages[2]["role"], "assistant");
    assert_eq!(messages[2]["content"], format!("```sql\n{BROKEN}\n```"));
    assert_eq!(messages[3]["role"], "user");
    let told = messages[3]["content"].as_str().unwrap();
    assert!(told.starts_with("That query was checked before the user saw it, and it failed: \""), "{told}");
    assert!(told.contains("order_lines") && told.contains("[query_failed]"), "{told}");
    // The repaired draft runs; the failed one is in the audit log.
    let run = profile.ok(&["run", draft["token"].as_str().unwrap()]);
    assert_eq!(run["first_page"]["rows"], json!([{"n": 3}]), "{run}");
    let repairs = profile.ok(&["audit", "--action", "draft.repair"]);
    let repairs = repairs.as_array().unwrap();
    assert_eq!(repairs.len(), 1, "{repairs:?}");
    assert!(repairs[0]["detail"].as_str().unwrap().starts_with("attempt 1 by openai (test-model) set aside: "));

    // A model that keeps its mistake: two repairs, then its last draft is shown, failed, and cannot run.
    server.set_script(vec![openai_stream(BROKEN)]);
    let stuck = profile.ok(&["ask", "shop", "how many orders are there?"]);
    assert_eq!(server.requests().len(), 5, "one draft and two repairs");
    assert_eq!(stuck["attempts"].as_array().unwrap().len(), 2, "{stuck}");
    assert_eq!((&stuck["check"]["outcome"], &stuck["token"]), (&json!("failed"), &Value::Null), "{stuck}");
    let plain = profile.plain_command(&["ask", "shop", "how many orders are there?"]).output().unwrap();
    let plain = String::from_utf8_lossy(&plain.stdout);
    assert!(plain.contains("dry run:     failed") && plain.contains("attempt 2:"), "{plain}");
    assert!(plain.contains("this draft cannot run: its dry run failed"), "{plain}");

    // With repairs switched off the first draft stands, failed.
    let strict = Profile::with_env(&[("POLYSTOREIQ_LLM_REPAIRS", "0")]);
    add_shop(&strict, "shop");
    set_openai(&strict, &server, "sk-repair-e2e-3f0a");
    let before = server.requests().len();
    let first = strict.ok(&["ask", "shop", "how many orders are there?"]);
    assert_eq!(server.requests().len(), before + 1);
    assert_eq!((&first["attempts"], &first["check"]["outcome"]), (&json!([]), &json!("failed")), "{first}");
}

/// A follow-up in a chat session reaches the model with the session's earlier exchanges on the same source: each
/// question, its query and what became of it (row count and columns, never rows), oldest first; exchanges on
/// another source are left out, and `POLYSTOREIQ_LLM_HISTORY_TURNS` bounds how many are sent.
#[test]
fn a_follow_up_carries_the_sessions_earlier_exchanges_to_the_model() {
    const LYON: &str = "SELECT count(*) AS n FROM orders WHERE city = 'Lyon'";
    let profile = profile();
    add_shop(&profile, "shop");
    let other = profile.data.path().join("elsewhere");
    std::fs::create_dir_all(&other).unwrap();
    let other = other.join("orders.csv");
    std::fs::write(&other, "id,city\n1,Rome\n").unwrap();
    profile.ok(&["source", "add", "other", "--kind", "files", "--path", &other.to_string_lossy()]);
    let server = Server::start(vec![openai_stream(MODEL_QUERY)]);
    set_openai(&profile, &server, "sk-follow-up-e2e-77c1");
    let session = profile.ok(&["session", "new", "orders"])["id"].to_string();

    let first = profile.ok(&["ask", "shop", "how many orders are there?", "--session", &session]);
    profile.ok(&["run", first["token"].as_str().unwrap()]);
    let denied = profile.ok(&["ask", "other", "how many orders elsewhere?", "--session", &session]);
    profile.ok(&["deny", &denied["draft"].to_string()]);
    server.set_script(vec![openai_stream(LYON)]);
    let follow = profile.ok(&["ask", "shop", "now only Lyon", "--session", &session]);
    assert_eq!(follow["query"], LYON, "{follow}");

    let sent = server.requests();
    assert_eq!(sent.len(), 3);
    let messages = sent[2].json()["messages"].clone();
    let roles: Vec<&str> = messages.as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"], "{messages}");
    assert_eq!(messages[1]["content"], "Earlier question (from the user): \"how many orders are there?\"");
    assert_eq!(
        messages[2]["content"],
        format!("```sql\n{MODEL_QUERY}\n```\nOutcome: ran and returned 1 rows; columns n"),
        "{messages}"
    );
    let prompt = messages[3]["content"].as_str().unwrap();
    assert!(prompt.contains("Question (from the user): \"now only Lyon\"") && !prompt.contains("elsewhere"));

    // Without history turns the model sees the question alone.
    let forgetful = Profile::with_env(&[("POLYSTOREIQ_LLM_HISTORY_TURNS", "0")]);
    add_shop(&forgetful, "shop");
    set_openai(&forgetful, &server, "sk-follow-up-e2e-77c1");
    let session = forgetful.ok(&["session", "new", "orders"])["id"].to_string();
    forgetful.ok(&["ask", "shop", "how many orders are there?", "--session", &session]);
    forgetful.ok(&["ask", "shop", "now only Lyon", "--session", &session]);
    let last = server.requests().last().unwrap().json();
    assert_eq!(last["messages"].as_array().unwrap().len(), 2, "{last}");
}

#[test]
fn settings_refuse_bad_input_and_an_unreachable_provider_fails_its_test() {
    let profile = profile();
    let err = profile.err(&["settings", "llm", "--provider", "openai", "--endpoint", "https://u:pw@example.com/v1"]);
    assert_eq!(err["code"], "bad_request");
    assert!(err["message"].as_str().unwrap().contains("credentials"), "{err}");
    let err = profile.err(&["settings", "llm", "--provider", "ollama", "--endpoint", "file:///etc/passwd"]);
    assert_eq!(err["code"], "bad_request");
    let err = profile.err(&["settings", "llm", "--provider", "offline", "--model", "x"]);
    assert_eq!(err["code"], "bad_request");
    // Nothing changed.
    assert_eq!(profile.ok(&["settings", "show"])["llm"]["provider"], "offline");
    // A provider that cannot be reached is reported by `settings test` with its typed code.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{port}");
    profile.ok(&["settings", "llm", "--provider", "ollama", "--model", "tiny", "--endpoint", &endpoint]);
    let err = profile.err(&["settings", "test"]);
    assert_eq!(err["code"], "llm_unreachable", "{err}");
    assert!(err["message"].as_str().unwrap().contains("ollama serve"), "{err}");
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A PostgreSQL database and a login role whose name carries a sentinel, both dropped at the end (the database
/// first: the role holds a grant in it).
struct SentinelDb {
    database: Option<PgDb>,
    role: String,
}

impl SentinelDb {
    fn database(&self) -> &PgDb {
        self.database.as_ref().expect("dropped only at the end")
    }
}

impl Drop for SentinelDb {
    fn drop(&mut self) {
        drop(self.database.take());
        let _ = std::panic::catch_unwind(|| psql("postgres", &format!("DROP ROLE IF EXISTS {}", self.role)));
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn no_prompt_carries_a_sources_user_password_host_or_path() {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let sentinel = format!("sntl{}q{n}", std::process::id());
    let role = format!("psiq_{sentinel}_user");
    psql("postgres", &format!("DROP ROLE IF EXISTS {role}"));
    let db = SentinelDb { database: Some(PgDb::new("psiq_llm")), role };
    let password = format!("pw-{sentinel}-secret");
    psql("postgres", &format!("CREATE ROLE {} LOGIN PASSWORD '{password}'", db.role));
    db.database().sql(&format!(
        "CREATE TABLE orders (id int PRIMARY KEY, city text, total numeric(10,2)); \
             COMMENT ON TABLE orders IS 'One row per order'; INSERT INTO orders VALUES (1, 'Lyon', 10.5); \
             GRANT SELECT ON orders TO {}",
        db.role
    ));

    let profile = profile();
    let csv = add_shop(&profile, &format!("files-{sentinel}"));
    let url = format!("postgres://{}@127.0.0.1:5432/{}", db.role, db.database().name());
    let out = profile.run_with_stdin(
        &["source", "add", "pg", "--kind", "postgres", "--url", &url, "--tls", "disable", "--password-stdin"],
        &format!("{password}\n"),
    );
    assert!(out.status.success(), "source add: {}", String::from_utf8_lossy(&out.stdout));

    let server = Server::start(vec![openai_stream(MODEL_QUERY)]);
    let key = format!("sk-{sentinel}-key");
    set_openai(&profile, &server, &key);
    for source in ["pg", "shop"] {
        let draft = profile.ok(&["ask", source, "how many orders per city?"]);
        assert_eq!(draft["provider"], "openai (test-model)", "{draft}");
    }
    let sent = server.requests();
    assert_eq!(sent.len(), 2);
    assert!(sent[0].body.contains(r#"comment: \"One row per order\""#), "{}", sent[0].body);
    let data_dir = profile.data.path().to_string_lossy().into_owned();
    for request in &sent {
        // The schema did reach the model ...
        assert!(request.body.contains("Table orders"), "{}", request.body);
        // ... and nothing that says where or as whom.
        for secret in [sentinel.as_str(), &db.role, &password, &key, "127.0.0.1", ":5432", &data_dir, &csv] {
            assert!(!request.body.contains(secret), "the prompt carries {secret:?}: {}", request.body);
        }
        let headers: Vec<&str> =
            request.headers.iter().filter(|(n, _)| n != "authorization").map(|(_, v)| v.as_str()).collect();
        assert!(!headers.iter().any(|h| h.contains(&sentinel)), "a header carries the sentinel: {headers:?}");
    }
    profile.ok(&["settings", "llm", "--provider", "openai", "--clear-api-key"]);
}

#[test]
fn an_api_key_is_bound_to_its_endpoint_and_travels_only_over_https_or_to_this_machine() {
    let profile = profile();
    add_shop(&profile, "shop");
    let server = Server::start(vec![openai_stream(MODEL_QUERY)]);
    let key = "sk-bound-to-one-endpoint-41c7";
    let local = format!("{}/v1", server.url());
    // Plain http to this machine may carry a key (a local llama.cpp or Ollama).
    assert_eq!(set_openai(&profile, &server, key)["llm"]["api_key_set"], true);

    // Changing the endpoint asks for the key again; nothing changes until it is given.
    let elsewhere = "https://llm.example.com/v1";
    let err = profile.err(&["settings", "llm", "--provider", "openai", "--endpoint", elsewhere]);
    assert_eq!(err["code"], "bad_request", "{err}");
    let message = err["message"].as_str().unwrap();
    assert!(message.contains(&format!("entered for {local}")) && message.contains("--api-key-stdin"), "{message}");
    let shown = profile.ok(&["settings", "show"]);
    assert_eq!((shown["llm"]["endpoint"].as_str(), shown["llm"]["api_key_set"].as_bool()), (Some(&*local), Some(true)));
    // Given again, the key is bound to the new endpoint; dropped, the endpoint changes without one.
    let args = ["settings", "llm", "--provider", "openai", "--endpoint", elsewhere, "--api-key-stdin"];
    let moved = profile.run_with_stdin(&args, &format!("{key}\n"));
    assert!(moved.status.success(), "{}", String::from_utf8_lossy(&moved.stdout));
    let back = profile.ok(&["settings", "llm", "--provider", "openai", "--endpoint", &local, "--clear-api-key"]);
    assert_eq!((back["llm"]["endpoint"].as_str(), back["llm"]["api_key_set"].as_bool()), (Some(&*local), Some(false)));

    // A key never goes over plain http to another machine, whether given with the endpoint or already stored.
    for endpoint in ["http://10.20.30.40:8080/v1", "http://llm.example.com/v1"] {
        let args = ["settings", "llm", "--provider", "openai", "--endpoint", endpoint, "--api-key-stdin"];
        let refused = profile.run_with_stdin(&args, &format!("{key}\n"));
        assert!(!refused.status.success(), "{endpoint}");
        let err = crate::support::parse_last_json(&String::from_utf8_lossy(&refused.stdout));
        assert_eq!(err["error"]["code"], "bad_request", "{err}");
        assert!(err["error"]["message"].as_str().unwrap().contains("only over https"), "{err}");
    }
    // Without a key, such an endpoint is fine (a provider on the local network that asks for none).
    profile.ok(&[
        "settings",
        "llm",
        "--provider",
        "ollama",
        "--model",
        "tiny",
        "--endpoint",
        "http://10.20.30.40:11434",
    ]);

    // A key whose binding does not match the endpoint in force (one stored before keys were bound) is not sent:
    // the question falls back to the offline planner, saying why.
    let restored = profile.run_with_stdin(
        &["settings", "llm", "--provider", "openai", "--endpoint", &local, "--api-key-stdin"],
        &format!("{key}\n"),
    );
    assert!(restored.status.success());
    let state = rusqlite::Connection::open(profile.home.path().join("state.sqlite3")).unwrap();
    state.busy_timeout(Duration::from_secs(5)).unwrap();
    state.execute("DELETE FROM settings WHERE key = 'llm.openai.key_endpoint'", []).unwrap();
    drop(state);
    assert_eq!(profile.ok(&["settings", "show"])["llm"]["api_key_set"], false);
    let draft = profile.ok(&["ask", "shop", "how many orders are there?"]);
    assert!(draft["provider"].as_str().unwrap().contains("offline-planner"), "{draft}");
    assert!(server.requests().is_empty(), "the provider never saw the key");
}
