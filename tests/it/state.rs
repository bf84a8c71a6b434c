//! The app state in SQLite: created on first use, migrated forward, never downgraded, surviving restarts and
//! crashes; messages immutable; the audit log append-only, filterable and pruned only by its retention policy.

use std::process::Command;
use std::time::{Duration, Instant};

use polystoreiq_broker::store::{SCHEMA_VERSION, migrate_to};
use serde_json::Value;

use crate::support::{Profile, bin_dir, strings, wait_gone};

fn csv_profile(env: &[(&str, &str)]) -> Profile {
    let p = Profile::with_env(env);
    let path = p.data_path("items.csv");
    std::fs::write(&path, "id,kind,price\n1,tool,9.5\n2,tool,3.25\n3,toy,7\n").unwrap();
    p.ok(&["source", "add", "shop", "--kind", "files", "--path", &path]);
    p
}

fn actions(events: &Value) -> Vec<String> {
    events.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn a_fresh_profile_initializes_its_database() {
    let p = Profile::new();
    p.ok(&["source", "list"]);
    let db = p.database();
    let version: i64 = db.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, SCHEMA_VERSION as i64);
    let mode: String = db.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    let tables: Vec<String> = strings(&db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
    for expected in [
        "approval_tokens",
        "audit_events",
        "chat_messages",
        "chat_sessions",
        "file_datasets",
        "profiles",
        "query_drafts",
        "run_results",
        "runs",
        "settings",
        "sources",
        "telemetry",
    ] {
        assert!(tables.iter().any(|t| t == expected), "{expected} missing from {tables:?}");
    }
}

#[test]
fn a_database_made_at_migration_1_rolls_forward_with_its_data() {
    let p = Profile::new();
    let path = p.data_path("old.csv");
    std::fs::write(&path, "a\n1\n").unwrap();
    let db_path = p.home.path().join("state.sqlite3");
    migrate_to(&db_path, 1).unwrap();
    {
        let db = rusqlite::Connection::open(&db_path).unwrap();
        let tables =
            format!(r#"[{{"table":"old","kind":"csv","storage":"in_place","paths":["{path}"],"pattern":"{path}"}}]"#);
        db.execute(
            "INSERT INTO sources (name, kind, status, capabilities, config, created_at_ms, updated_at_ms)
             VALUES ('legacy', 'files', 'CONNECTED', '{\"sql\":true,\"server_side_cancel\":false,\"schema_refresh\":true}', ?1, 1, 1)",
            [tables],
        )
        .unwrap();
        let version: i64 = db.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, 1);
    }
    let list = p.ok(&["source", "list"]);
    assert_eq!(list[0]["name"], "legacy");
    let version: i64 = p.database().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, SCHEMA_VERSION as i64);
    // The rolled-forward source works end to end.
    let run = p.query("legacy", "SELECT count(*) AS n FROM old");
    assert_eq!(run["first_page"]["rows"][0]["n"], 1);
}

#[test]
fn a_database_from_a_newer_version_is_refused_and_left_untouched() {
    let p = Profile::new();
    let db_path = p.home.path().join("state.sqlite3");
    {
        let db = rusqlite::Connection::open(&db_path).unwrap();
        db.execute_batch("CREATE TABLE future (x INTEGER); PRAGMA user_version = 99;").unwrap();
    }
    let before = std::fs::read(&db_path).unwrap();
    #[allow(clippy::disallowed_methods)] // Starts the broker directly to read its refusal.
    let out = Command::new(bin_dir().join("polystoreiq-broker")).arg("--home").arg(p.home.path()).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("schema version 99, newer than this broker knows"), "{stderr}");
    assert_eq!(std::fs::read(&db_path).unwrap(), before, "the database file is byte-for-byte unchanged");
    assert!(!p.home.path().join("state.sqlite3-wal").exists(), "not even a WAL was created");
    let err = p.err(&["source", "list"]);
    assert_eq!(err["code"], "broker_unavailable");
    assert!(err["message"].as_str().unwrap().contains("newer than this broker knows"), "{err}");
}

#[test]
fn sources_runs_and_results_survive_a_restart() {
    let p = csv_profile(&[]);
    let run = p.query("shop", "SELECT kind, sum(price) AS total FROM items GROUP BY 1 ORDER BY 1");
    let run_id = run["run"].as_u64().unwrap().to_string();
    p.ok(&["source", "disable", "shop"]);
    p.stop_broker();

    let list = p.ok(&["source", "list"]);
    assert_eq!(list[0]["name"], "shop");
    assert_eq!(list[0]["status"], "DISABLED", "status transitions persist");
    assert_eq!(p.err(&["query", "shop", "--sql", "SELECT 1"])["code"], "source_disabled");
    let result = p.ok(&["result", &run_id]);
    assert_eq!(result["rows"], run["first_page"]["rows"], "the stored result is read back after a restart");
    p.ok(&["source", "enable", "shop"]);
    assert_eq!(p.query("shop", "SELECT count(*) AS n FROM items")["first_page"]["rows"][0]["n"], 3);

    let schema = p.ok(&["schema", "shop"]);
    assert_eq!(schema["tables"][0]["row_count"], 3);
    let db = p.database();
    let (hash, size): (String, i64) = db
        .query_row("SELECT content_hash, size FROM file_datasets WHERE table_name = 'items'", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(hash.len(), 64, "a SHA-256 of the file's content is kept as provenance");
    assert_eq!(size as usize, std::fs::read(p.data_path("items.csv")).unwrap().len());

    p.ok(&["source", "remove", "shop"]);
    p.stop_broker();
    assert_eq!(p.ok(&["source", "list"]), serde_json::json!([]));
}

#[test]
fn chat_messages_are_ordered_immutable_and_resumable() {
    let p = csv_profile(&[]);
    let session = p.ok(&["session", "new", "pricing"]);
    let id = session["id"].as_u64().unwrap().to_string();
    p.ok(&["ask", "shop", "how many items", "--session", &id]);
    p.err(&["ask", "shop", "what is the weather", "--session", &id]);
    p.ok(&["ask", "shop", "show items", "--session", &id]);
    p.stop_broker();

    let messages = p.ok(&["session", "show", &id]);
    let messages = messages.as_array().unwrap();
    let seqs: Vec<u64> = messages.iter().map(|m| m["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);
    let roles: Vec<&str> = messages.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant", "user", "assistant"]);
    assert_eq!(messages[0]["content"], "how many items");
    assert!(messages[1]["draft"].as_u64().is_some(), "the assistant's reply names its draft");
    assert!(messages[3]["draft"].is_null() && messages[3]["content"].as_str().unwrap().contains("could not place"));
    assert_eq!(p.ok(&["session", "list"])[0]["title"], "pricing");

    let db = p.database();
    let update = db.execute("UPDATE chat_messages SET content = 'rewritten' WHERE seq = 1", []);
    assert!(update.unwrap_err().to_string().contains("chat messages are immutable"));
    let delete = db.execute("DELETE FROM chat_messages", []);
    assert!(delete.unwrap_err().to_string().contains("chat messages are immutable"));
    assert_eq!(p.err(&["session", "show", "999"])["code"], "bad_request");
}

#[test]
fn a_session_is_renamed_and_keeps_its_messages() {
    let p = csv_profile(&[]);
    let id = p.ok(&["session", "new", "draft title"])["id"].as_u64().unwrap().to_string();
    p.ok(&["ask", "shop", "how many items", "--session", &id]);
    let renamed = p.ok(&["session", "rename", &id, "Item counts"]);
    assert_eq!((renamed["id"].to_string(), renamed["title"].clone()), (id.clone(), "Item counts".into()));
    assert_eq!(p.ok(&["session", "list"])[0]["title"], "Item counts");
    assert_eq!(p.ok(&["session", "show", &id]).as_array().unwrap().len(), 2, "the messages stay");
    assert_eq!(p.err(&["session", "rename", "999", "x"])["code"], "bad_request");
    assert_eq!(p.err(&["session", "rename", &id, "   "])["code"], "bad_request");
    assert_eq!(p.err(&["session", "rename", &id, "two\nlines"])["code"], "bad_request");
    assert_eq!(p.ok(&["session", "list"])[0]["title"], "Item counts", "a refused rename changes nothing");
}

#[test]
fn an_unknown_audit_action_is_refused_with_the_known_ones() {
    let p = csv_profile(&[]);
    let err = p.err(&["audit", "--action", "source.added"]);
    assert_eq!(err["code"], "bad_request");
    assert!(err["message"].as_str().unwrap().contains("source.add,"), "{err}");
}

#[test]
fn every_action_is_audited_append_only_and_filterable() {
    let p = csv_profile(&[]);
    let other = p.data_path("other.csv");
    std::fs::write(&other, "x\n1\n").unwrap();
    p.ok(&["source", "add", "other", "--kind", "files", "--path", &other]);
    let session = p.ok(&["session", "new", "audit"])["id"].as_u64().unwrap().to_string();
    let draft = p.ok(&["ask", "shop", "show items", "--session", &session]);
    p.ok(&["run", draft["token"].as_str().unwrap()]);
    p.err(&["run", draft["token"].as_str().unwrap()]);
    let denied = p.ok(&["query", "shop", "--sql", "SELECT id FROM items"]);
    p.ok(&["deny", &denied["draft"].to_string()]);
    p.query("other", "SELECT x FROM other");
    p.ok(&["source", "disable", "other"]);

    let all = p.ok(&["audit"]);
    let all_actions = actions(&all);
    for expected in
        ["source.add", "draft.create", "run.approve", "run.finish", "token.refused", "draft.deny", "source.disable"]
    {
        assert!(all_actions.iter().any(|a| a == expected), "{expected} not in {all_actions:?}");
    }
    for event in all.as_array().unwrap() {
        assert_eq!(event["actor"], "owner");
        assert_eq!(event["profile"], "default");
        assert!(event["at_ms"].as_u64().unwrap() > 1_700_000_000_000);
    }
    let approve = all.as_array().unwrap().iter().find(|e| e["action"] == "run.approve").unwrap();
    assert_eq!(approve["session"].to_string(), session);
    assert!(approve["run"].as_u64().is_some() && approve["draft"].as_u64().is_some());

    let shop_only = p.ok(&["audit", "--source", "shop"]);
    assert!(shop_only.as_array().unwrap().iter().all(|e| e["source"] == "shop"));
    assert!(!shop_only.as_array().unwrap().is_empty());
    let by_session = p.ok(&["audit", "--session", &session]);
    assert_eq!(actions(&by_session), ["draft.create", "run.approve", "run.finish"]);
    assert_eq!(p.ok(&["audit", "--since", "1h"]).as_array().unwrap().len(), all.as_array().unwrap().len());
    assert_eq!(p.ok(&["audit", "--until", "2000-01-01"]), serde_json::json!([]));
    assert_eq!(actions(&p.ok(&["audit", "--action", "draft.deny"])), ["draft.deny"]);

    let db = p.database();
    let update = db.execute("UPDATE audit_events SET detail = 'forged'", []);
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = db.execute("DELETE FROM audit_events", []);
    assert!(delete.unwrap_err().to_string().contains("append-only"));
}

#[test]
fn the_retention_policy_is_the_only_way_audit_events_leave() {
    let p = csv_profile(&[("POLYSTOREIQ_AUDIT_RETENTION_DAYS", "30")]);
    p.stop_broker();
    let old = 1_000_000_000_000_i64; // 2001
    {
        let db = p.database();
        db.execute(
            "INSERT INTO audit_events (at_ms, actor, profile, action, detail) VALUES (?1, 'owner', 'default', 'source.add', 'ancient')",
            [old],
        )
        .unwrap();
        let delete = db.execute("DELETE FROM audit_events WHERE at_ms = ?1", [old]);
        assert!(delete.unwrap_err().to_string().contains("append-only"), "even old rows resist a plain DELETE");
    }
    p.ok(&["source", "list"]); // the restarted broker prunes at start
    let started = Instant::now();
    loop {
        let remaining: i64 =
            p.database().query_row("SELECT count(*) FROM audit_events WHERE at_ms = ?1", [old], |r| r.get(0)).unwrap();
        if remaining == 0 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the old event was never pruned");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(actions(&p.ok(&["audit"])).contains(&"source.add".to_owned()), "recent events stay");
}

#[test]
fn acknowledged_actions_survive_a_killed_broker() {
    let p = csv_profile(&[]);
    let broker = p.broker_pid().unwrap();
    let stop_at = Instant::now() + Duration::from_millis(1500);
    let killer = std::thread::spawn(move || {
        std::thread::sleep(stop_at.saturating_duration_since(Instant::now()));
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(broker as i32), nix::sys::signal::Signal::SIGKILL).unwrap();
    });
    let mut acknowledged = Vec::new();
    for i in 0.. {
        // Once the broker is dead, psiq must fail rather than start a new one.
        let out = p
            .command(&["query", "shop", "--sql", &format!("SELECT {i} AS marker_{i}")])
            .env("POLYSTOREIQ_BROKER_BIN", "/nonexistent/polystoreiq-broker")
            .output()
            .unwrap();
        if !out.status.success() {
            break;
        }
        acknowledged.push(i);
        assert!(i < 10_000, "the broker was never killed");
    }
    killer.join().unwrap();
    assert!(wait_gone(broker, Duration::from_secs(5)).is_some());
    assert!(acknowledged.len() > 5, "a burst happened before the kill: {}", acknowledged.len());

    let integrity: String = p.database().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(integrity, "ok");
    let events = p.ok(&["audit", "--action", "draft.create", "--limit", "100000"]);
    let details: Vec<&str> = events.as_array().unwrap().iter().map(|e| e["detail"].as_str().unwrap()).collect();
    for i in acknowledged {
        let marker = format!("marker_{i}");
        assert!(
            details.iter().any(|d| d.contains(&format!("{marker}\u{20}"))
                || d.ends_with(&marker)
                || d.contains(&format!("{marker} "))),
            "acknowledged draft {i} lost"
        );
    }
}

#[test]
fn every_run_has_a_trace_and_diag_shows_stage_percentiles() {
    let p = csv_profile(&[]);
    for _ in 0..3 {
        let draft = p.ok(&["ask", "shop", "how many items"]);
        p.ok(&["run", draft["token"].as_str().unwrap()]);
    }
    let diag = p.diag();
    let stages = diag["stages"].as_array().unwrap();
    for stage in ["generate", "validate", "execute", "normalize", "render"] {
        let s = stages.iter().find(|s| s["stage"] == stage).unwrap_or_else(|| panic!("{stage} missing: {diag}"));
        assert!(s["count"].as_u64().unwrap() >= 3, "{s}");
        assert!(s["p95_us"].as_u64().unwrap() >= s["p50_us"].as_u64().unwrap(), "{s}");
    }
    let db = p.database();
    let traces: Vec<String> = strings(&db, "SELECT trace_id FROM runs ORDER BY id");
    assert_eq!(traces.len(), 3);
    for trace in &traces {
        let stages: i64 = db
            .query_row("SELECT count(DISTINCT stage) FROM telemetry WHERE trace_id = ?1", [trace], |r| r.get(0))
            .unwrap();
        assert_eq!(stages, 3, "execute, normalize and the CLI's render share the run's trace id");
    }
    // A run looked up by id shows its trace, stage by stage.
    let run = strings(&db, "SELECT CAST(max(id) AS TEXT) FROM runs").remove(0);
    let trace = p.ok(&["trace", &run]);
    assert_eq!(trace["trace_id"].as_str(), Some(traces.last().unwrap().as_str()), "{trace}");
    let names: Vec<&str> = trace["stages"].as_array().unwrap().iter().map(|s| s["stage"].as_str().unwrap()).collect();
    assert_eq!(names, ["execute", "normalize", "render"], "{trace}");
    assert_eq!(p.err(&["trace", "999999"])["code"], "run_not_found");
}
