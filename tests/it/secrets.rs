//! Secrets never land in a file: a database password goes to the OS keyring only, and no trace of it reaches
//! the app state, its WAL, the logs, a worker's output or anything the CLI prints, even when things go wrong.

use std::process::{Command, Output};

use polystoreiq_broker::secrets::{Keyring, SecretRef};

use crate::support::Profile;

const SENTINEL: &str = "Sentinel-9f3c-PASSWORD-never-leaks";

/// Runs SQL on the local test server as its superuser (the services script starts it).
fn psql(sql: &str) {
    #[allow(clippy::disallowed_methods)] // The test seeds the real PostgreSQL server.
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .expect("psql is installed by scripts/services");
    assert!(out.status.success(), "psql failed: {}", String::from_utf8_lossy(&out.stderr));
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn a_database_password_reaches_the_keyring_and_nothing_else() {
    psql(&format!(
        "DROP TABLE IF EXISTS psiq_secret_items; CREATE TABLE psiq_secret_items (id int PRIMARY KEY, label text);
         INSERT INTO psiq_secret_items VALUES (1, 'one'), (2, 'two');
         DO $$ BEGIN
           IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'psiq_sentinel') THEN CREATE ROLE psiq_sentinel LOGIN; END IF;
         END $$;
         ALTER ROLE psiq_sentinel PASSWORD '{SENTINEL}';
         GRANT SELECT ON psiq_secret_items TO psiq_sentinel;"
    ));
    let p = Profile::with_env(&[("POLYSTOREIQ_LOG", "debug")]);
    let mut outputs = Vec::new();
    let url = "postgres://psiq_sentinel@127.0.0.1:5432/postgres";
    let added = p.run_with_stdin(
        &["source", "add", "pg", "--kind", "postgres", "--url", url, "--password-stdin"],
        &format!("{SENTINEL}\n"),
    );
    outputs.push(text(&added));
    assert!(added.status.success(), "{}", text(&added));

    let mut run = |args: &[&str]| {
        let out = p.run(args);
        outputs.push(text(&out));
        out
    };
    let ok = run(&["query", "pg", "--sql", "SELECT id, label FROM psiq_secret_items ORDER BY id", "--yes"]);
    assert!(ok.status.success());
    assert!(!run(&["query", "pg", "--sql", "SELECT nosuch FROM psiq_secret_items", "--yes"]).status.success());
    assert!(!run(&["query", "pg", "--sql", "SELECT * FROM no_such_table", "--yes"]).status.success());
    assert!(!run(&["query", "pg", "--sql", "DELETE FROM psiq_secret_items", "--yes"]).status.success());
    assert!(run(&["source", "test", "pg"]).status.success());
    assert!(run(&["schema", "pg", "--refresh"]).status.success());
    run(&["source", "list"]);
    run(&["audit"]);
    run(&["diag"]);
    // A dead server: the password travels to a worker that cannot use it, and the typed error names no secret.
    let dead = p.run_with_stdin(
        &[
            "source",
            "add",
            "dead",
            "--kind",
            "postgres",
            "--url",
            "postgres://psiq_sentinel@127.0.0.1:1/postgres",
            "--password-stdin",
        ],
        &format!("{SENTINEL}\n"),
    );
    outputs.push(text(&dead));
    assert!(text(&dead).contains("unreachable"), "{}", text(&dead));
    // The password in the URL is refused before it goes anywhere.
    let in_url =
        p.run(&["source", "add", "x", "--kind", "postgres", "--url", &format!("postgres://u:{SENTINEL}@h/db")]);
    assert!(!in_url.status.success());
    let refusal = text(&in_url);
    assert!(refusal.contains("do not put the password in the URL"));
    // (That refusal is printed by the CLI about its own argument; it is the one output allowed to be compared
    // with the argument the user typed, so it is not scanned.)

    let reference: String = p
        .database()
        .query_row("SELECT keyring_ref FROM sources WHERE name = 'pg'", [], |r| r.get(0))
        .expect("the app state keeps a keyring reference");
    let keyring = Keyring::open().unwrap();
    let reference = SecretRef::from_stored(reference);
    assert_eq!(keyring.load(&reference).unwrap().expose(), SENTINEL, "the password is in the OS keyring");

    assert!(p.run(&["source", "remove", "pg"]).status.success());
    assert!(keyring.load(&reference).is_err(), "removing the source deleted its keyring entry");
    p.stop_broker();

    for (i, out) in outputs.iter().enumerate() {
        assert!(!out.contains(SENTINEL), "CLI output {i} leaks the password: {out}");
    }
    let log = std::fs::read_to_string(p.home.path().join("logs/broker.log")).unwrap();
    assert!(log.contains("DEBUG"), "the broker logged at debug level, worker stderr included");
    for file in ["state.sqlite3", "state.sqlite3-wal", "state.sqlite3-shm", "logs/broker.log"] {
        let bytes = std::fs::read(p.home.path().join(file)).unwrap_or_default();
        assert!(!bytes.windows(SENTINEL.len()).any(|w| w == SENTINEL.as_bytes()), "{file} holds the password");
    }
}
