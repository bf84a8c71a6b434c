//! The broker process itself: one per profile, workers that refuse strangers, approval tokens, source states.

use std::io::Write;
use std::process::{Command, Stdio};

use polystoreiq_protocol::worker::ToWorker;
use polystoreiq_protocol::{Hello, Nonce, PeerRole, write_frame};

use crate::support::{Profile, bin_dir};

#[test]
fn a_second_broker_on_the_same_profile_refuses_to_start() {
    let p = Profile::new();
    p.ok(&["source", "list"]); // auto-starts the broker
    #[allow(clippy::disallowed_methods)] // The test starts a broker binary directly on purpose.
    let out = Command::new(bin_dir().join("polystoreiq-broker")).arg("--home").arg(p.home.path()).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("another broker already serves"), "{stderr}");
    p.ok(&["source", "list"]); // the first one still serves
}

#[test]
fn the_worker_refuses_to_run_unless_the_broker_started_it() {
    #[allow(clippy::disallowed_methods)] // The test starts the worker by hand on purpose.
    let out =
        Command::new(bin_dir().join("polystoreiq-worker")).env_remove("POLYSTOREIQ_WORKER_NONCE").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("runs only when the PolyStoreIQ broker starts it"));

    // Started with a nonce, it still refuses a handshake that does not repeat it.
    let nonce = Nonce([7; 16]);
    #[allow(clippy::disallowed_methods)]
    let mut child = Command::new(bin_dir().join("polystoreiq-worker"))
        .env("POLYSTOREIQ_WORKER_NONCE", nonce.to_hex())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    write_frame(&mut stdin, &ToWorker::Hello(Hello::new(PeerRole::Broker, Nonce([8; 16])))).unwrap();
    stdin.flush().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty(), "nothing but frames on stdout, and no frame for a stranger");
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong nonce"));
}

#[test]
fn approval_tokens_are_single_use_and_denied_drafts_never_run() {
    let p = Profile::new();
    let path = p.data_path("t.csv");
    std::fs::write(&path, "a\n1\n2\n").unwrap();
    p.ok(&["source", "add", "t", "--kind", "files", "--path", &path]);

    let token = p.token("t", "SELECT sum(a) AS s FROM t");
    // sum(BIGINT) is a HUGEINT in DuckDB: an exact decimal string.
    assert_eq!(p.ok(&["run", &token])["first_page"]["rows"][0]["s"], "3");
    assert_eq!(p.err(&["run", &token])["code"], "token_used");
    assert_eq!(p.err(&["run", "00112233445566778899aabbccddeeff"])["code"], "token_invalid");

    let draft = p.ok(&["query", "t", "--sql", "SELECT a FROM t"]);
    p.ok(&["deny", &draft["draft"].to_string()]);
    assert_eq!(p.err(&["run", draft["token"].as_str().unwrap()])["code"], "token_invalid");

    let rejected = p.ok(&["query", "t", "--sql", "DELETE FROM t"]);
    assert_eq!(rejected["verdict"]["allowed"], false);
    assert!(rejected["token"].is_null(), "a rejected draft gets no token");
    assert_eq!(p.err(&["query", "t", "--sql", "SELECT 1; SELECT 2", "--yes"])["code"], "query_rejected");

    let asked = p.ok(&["ask", "t", "how many t are there"]);
    assert_eq!(asked["provider"], "offline-planner");
    assert_eq!(p.ok(&["run", asked["token"].as_str().unwrap()])["first_page"]["rows"][0]["t_count"], 2);
    assert_eq!(p.err(&["ask", "t", "what is the weather"])["code"], "draft_declined");
}

#[test]
fn a_disabled_source_refuses_drafts_and_runs_until_enabled() {
    let p = Profile::new();
    let path = p.data_path("d.csv");
    std::fs::write(&path, "a\n1\n").unwrap();
    p.ok(&["source", "add", "d", "--kind", "files", "--path", &path]);
    let token = p.token("d", "SELECT a FROM d");
    assert_eq!(p.ok(&["source", "disable", "d"])["status"], "DISABLED");
    assert_eq!(p.err(&["query", "d", "--sql", "SELECT a FROM d"])["code"], "source_disabled");
    assert_eq!(p.err(&["run", &token])["code"], "source_disabled");
    assert_eq!(p.ok(&["source", "enable", "d"])["status"], "CONNECTED");
    p.query("d", "SELECT a FROM d");
    let tested = p.ok(&["source", "test", "d"]);
    assert_eq!(tested["ok"], true);
    p.ok(&["source", "remove", "d"]);
    assert_eq!(p.err(&["query", "d", "--sql", "SELECT 1"])["code"], "source_not_found");
    assert_eq!(p.err(&["source", "add", "9bad name", "--kind", "files", "--path", &path])["code"], "bad_request");
}
