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

/// psiq in a login session of its own (as from another terminal, or another program of the same user).
fn elsewhere(p: &Profile, args: &[&str], input: &str) -> std::process::Output {
    use std::io::Write;
    use std::os::unix::process::CommandExt;
    let mut cmd = p.command(args);
    // SAFETY: setsid is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        })
    };
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn code(out: &std::process::Output) -> serde_json::Value {
    parse_last_json(&String::from_utf8_lossy(&out.stdout))["error"]["code"].clone()
}

#[test]
fn wrong_attempts_stay_paused_across_a_broker_restart() {
    let p = locked_profile();
    for _ in 0..2 {
        assert!(err_stdin(&p, &["unlock"], "guess\n")["retry_after_ms"].is_null(), "the first guesses are free");
    }
    // From the third wrong guess on, each one pauses the next attempt: 1 s, then 2 s, then 4 s.
    for expected in [1000, 2000, 4000] {
        let wrong = err_stdin(&p, &["unlock"], "guess\n");
        assert_eq!(wrong["code"], "unlock_failed", "{wrong}");
        let wait = wrong["retry_after_ms"].as_u64().unwrap_or_else(|| panic!("no pause: {wrong}"));
        assert!(wait > expected / 2 && wait <= expected, "{wrong}");
        if expected < 4000 {
            std::thread::sleep(Duration::from_millis(wait + 50));
        }
    }
    // A locked broker refuses to stop; killing it and starting another is what an attacker would try.
    assert_eq!(p.err(&["broker", "stop"])["code"], "locked");
    let before = p.broker_pid().unwrap();
    p.kill_broker();
    // The fresh broker still pauses: even the right passphrase is refused, with when to try again.
    let paused = err_stdin(&p, &["unlock"], &format!("{OWNER}\n"));
    assert_ne!(p.broker_pid(), Some(before), "a fresh broker answered");
    assert_eq!(paused["code"], "unlock_failed", "{paused}");
    let wait = paused["retry_after_ms"].as_u64().unwrap_or_else(|| panic!("no retry_after_ms: {paused}"));
    assert!(wait > 0 && wait <= 4000, "{paused}");
    let message = paused["message"].as_str().unwrap();
    assert!(
        message.contains("too many wrong attempts (5)") && message.contains("next attempt is possible in"),
        "{paused}"
    );
    std::thread::sleep(Duration::from_millis(wait + 50));
    assert_eq!(ok_stdin(&p, &["unlock"], &format!("{OWNER}\n"))["role"], "owner");
    // A right passphrase forgets the count: the next wrong one is free again.
    assert!(err_stdin(&p, &["unlock"], "guess\n")["retry_after_ms"].is_null());
    let db = p.database();
    assert_eq!(strings(&db, "SELECT CAST(failures AS TEXT) FROM unlock_attempts"), ["1"]);
}

#[test]
fn stopping_a_locked_broker_takes_its_owner() {
    let p = locked_profile();
    assert_eq!(p.ok(&["lock", "status"])["locked"], true);
    assert_eq!(p.err(&["broker", "stop"])["code"], "locked");
    ok_stdin(&p, &["unlock"], &format!("{VIEWER}\n"));
    assert_eq!(p.err(&["broker", "stop"])["code"], "forbidden");
    let pid = p.broker_pid().unwrap();
    assert!(crate::support::process_exists(pid), "the broker still runs");
    ok_stdin(&p, &["unlock"], &format!("{OWNER}\n"));
    p.stop_broker();
}

#[test]
fn an_unlock_belongs_to_its_client_not_to_the_broker() {
    let p = locked_profile();
    // This terminal unlocks as the owner; its later invocations keep the role.
    assert_eq!(ok_stdin(&p, &["unlock"], &format!("{OWNER}\n"))["role"], "owner");
    assert_eq!(p.ok(&["source", "list"])[0]["name"], "t");
    // Another client of the same user (another terminal, another program) is still locked.
    let other = elsewhere(&p, &["source", "list"], "");
    assert_eq!(code(&other), "locked", "{}", String::from_utf8_lossy(&other.stdout));
    let status = elsewhere(&p, &["lock", "status"], "");
    assert_eq!(parse_last_json(&String::from_utf8_lossy(&status.stdout))["locked"], true);
    // It unlocks as a viewer with one command: that changes nothing here...
    let one_shot = elsewhere(&p, &["unlock"], &format!("{VIEWER}\n"));
    assert!(one_shot.status.success(), "{}", String::from_utf8_lossy(&one_shot.stdout));
    p.ok(&["diag"]);
    // ...and its next command, from yet another session, is locked again.
    assert_eq!(code(&elsewhere(&p, &["diag"], "")), "locked");
    // Locking locks every client.
    p.ok(&["lock"]);
    assert_eq!(p.err(&["source", "list"])["code"], "locked");
    ok_stdin(&p, &["unlock"], &format!("{OWNER}\n"));
}
