//! The profile lock and the roles: a locked broker serves nothing but unlocking, the viewer's matrix holds,
//! wrong attempts are paused, and the secrets are stored only as Argon2id hashes.

use std::time::Duration;

use crate::support::{Profile, parse_last_json, strings};

const OWNER: &str = "correct horse battery";
const VIEWER: &str = "4321";

fn ok_stdin(p: &Profile, args: &[&str], input: &str) -> serde_json::Value {
    let out = p.run_with_stdin(args, input);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "psiq {args:?} failed: {stdout}");
    parse_last_json(&stdout)
}

fn err_stdin(p: &Profile, args: &[&str], input: &str) -> serde_json::Value {
    let out = p.run_with_stdin(args, input);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "psiq {args:?} unexpectedly succeeded: {stdout}");
    parse_last_json(&stdout)["error"].clone()
}

fn locked_profile() -> Profile {
    let p = Profile::new();
    let path = p.data_path("t.csv");
    std::fs::write(&path, "a\n1\n2\n").unwrap();
    p.ok(&["source", "add", "t", "--kind", "files", "--path", &path]);
    assert_eq!(err_stdin(&p, &["lock", "set", "--role", "viewer"], &format!("{VIEWER}\n"))["code"], "bad_request");
    let state = ok_stdin(&p, &["lock", "set", "--role", "owner"], &format!("{OWNER}\n"));
    assert_eq!(state["owner_lock"], true);
    ok_stdin(&p, &["lock", "set", "--role", "viewer"], &format!("{VIEWER}\n"));
    assert_eq!(err_stdin(&p, &["lock", "set", "--role", "owner"], "short\n")["code"], "bad_request");
    p.stop_broker();
    p
}

#[test]
fn a_locked_profile_serves_nothing_until_unlocked_and_the_role_matrix_holds() {
    let p = locked_profile();
    let state = p.ok(&["lock", "status"]);
    assert_eq!(state["locked"], true, "a profile with a lock starts locked");
    for args in [vec!["source", "list"], vec!["query", "t", "--sql", "SELECT 1"], vec!["diag"], vec!["audit"]] {
        assert_eq!(p.err(&args)["code"], "locked", "{args:?}");
    }

    assert_eq!(err_stdin(&p, &["unlock"], "not it\n")["code"], "unlock_failed");
    let state = ok_stdin(&p, &["unlock"], &format!("{VIEWER}\n"));
    assert_eq!((state["locked"].clone(), state["role"].clone()), (false.into(), "viewer".into()));

    // A viewer asks, approves and runs...
    assert_eq!(p.ok(&["source", "list"])[0]["name"], "t");
    p.ok(&["schema", "t"]);
    assert_eq!(p.query("t", "SELECT count(*) AS n FROM t")["first_page"]["rows"][0]["n"], 2);
    // ...but administers nothing.
    let other = p.data_path("t.csv");
    for args in [
        vec!["source", "add", "u", "--kind", "files", "--path", &other],
        vec!["source", "disable", "t"],
        vec!["source", "remove", "t"],
        vec!["diag"],
        vec!["audit"],
        vec!["lock", "remove", "--role", "owner"],
    ] {
        assert_eq!(p.err(&args)["code"], "forbidden", "{args:?}");
    }

    p.ok(&["lock"]);
    assert_eq!(p.err(&["source", "list"])["code"], "locked");
    assert_eq!(ok_stdin(&p, &["unlock"], &format!("{OWNER}\n"))["role"], "owner");
    p.ok(&["source", "disable", "t"]);
    p.ok(&["source", "enable", "t"]);
    let audit = p.ok(&["audit"]);
    let events = audit.as_array().unwrap();
    let viewer_run = events.iter().find(|e| e["action"] == "run.approve").expect("the viewer's run is audited");
    assert_eq!(viewer_run["actor"], "viewer");
    for action in ["access.unlock_failed", "access.unlock", "access.lock", "access.set_lock", "source.disable"] {
        assert!(events.iter().any(|e| e["action"] == action), "{action} not audited");
    }

    // Removing the owner's lock removes the viewer's; the profile then never locks.
    let state = p.ok(&["lock", "remove", "--role", "owner"]);
    assert_eq!((state["owner_lock"].clone(), state["viewer_lock"].clone()), (false.into(), false.into()));
    p.stop_broker();
    assert_eq!(p.ok(&["lock", "status"])["locked"], false);
}

#[test]
fn wrong_attempts_are_paused_and_secrets_are_stored_only_as_argon2id_hashes() {
    let p = locked_profile();
    for _ in 0..3 {
        assert_eq!(err_stdin(&p, &["unlock"], "guess\n")["code"], "unlock_failed");
    }
    // Paused now: even the right passphrase waits.
    let paused = err_stdin(&p, &["unlock"], &format!("{OWNER}\n"));
    assert_eq!(paused["code"], "unlock_failed");
    assert!(paused["retry_after_ms"].as_u64().unwrap() > 0, "{paused}");
    std::thread::sleep(Duration::from_millis(paused["retry_after_ms"].as_u64().unwrap() + 50));
    assert_eq!(ok_stdin(&p, &["unlock"], &format!("{OWNER}\n"))["role"], "owner");

    let db = p.database();
    let hashes: Vec<String> = strings(&db, "SELECT value FROM settings WHERE key LIKE 'lock.%' ORDER BY key");
    assert_eq!(hashes.len(), 2);
    assert!(hashes.iter().all(|h| h.starts_with("$argon2id$")), "{hashes:?}");
    drop(db);
    p.stop_broker();
    for file in ["state.sqlite3", "state.sqlite3-wal", "logs/broker.log"] {
        let bytes = std::fs::read(p.home.path().join(file)).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(OWNER), "the passphrase is in {file}");
    }
}
