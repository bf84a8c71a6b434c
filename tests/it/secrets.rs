//! Secrets never land in a file: a database password goes to the OS keyring only, and no trace of it reaches
//! the app state, its WAL, the logs, a worker's output or anything the CLI prints, even when things go wrong.

use std::io::Write;
use std::process::{Child, Command, Output, Stdio};

use polystoreiq_broker::secrets::{Keyring, SecretRef};

use crate::servers::psql;
use crate::support::Profile;

const SENTINEL: &str = "Sentinel-9f3c-PASSWORD-never-leaks";

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn a_database_password_reaches_the_keyring_and_nothing_else() {
    psql("postgres", &format!(
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

/// A private session bus with GNOME Keyring's Secret Service on it, stopped when dropped.
struct SecretService {
    bus_pid: i32,
    keyring: Child,
    address: String,
    _home: tempfile::TempDir,
}

impl SecretService {
    fn start() -> SecretService {
        #[allow(clippy::disallowed_methods)] // Real D-Bus and GNOME Keyring daemons for the test.
        let bus = Command::new("dbus-daemon")
            .args(["--session", "--fork", "--print-address=1", "--print-pid=1"])
            .stderr(Stdio::null())
            .output()
            .expect("dbus-daemon is installed by scripts/setup");
        let printed = String::from_utf8_lossy(&bus.stdout).into_owned();
        let mut lines = printed.lines();
        let address = lines.next().expect("bus address").trim().to_owned();
        let bus_pid: i32 = lines.next().expect("bus pid").trim().parse().expect("pid");
        // Its own home: a fresh login keyring, unlocked by the password given on stdin.
        let home = tempfile::tempdir().unwrap();
        #[allow(clippy::disallowed_methods)]
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path())
            .env("XDG_RUNTIME_DIR", home.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon is installed by scripts/setup");
        let mut stdin = keyring.stdin.take().unwrap();
        stdin.write_all(b"test-login-password").unwrap();
        drop(stdin);
        let service = SecretService { bus_pid, keyring, address, _home: home };
        // Wait until the service answers on the bus.
        std::thread::sleep(std::time::Duration::from_millis(500));
        for _ in 0..50 {
            if service.store("polystoreiq-readiness", "x") {
                return service;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("the Secret Service did not come up");
    }

    fn tool(&self, args: &[&str]) -> Command {
        #[allow(clippy::disallowed_methods)]
        let mut cmd = Command::new("secret-tool");
        cmd.args(args).env("DBUS_SESSION_BUS_ADDRESS", &self.address);
        cmd
    }

    fn store(&self, user: &str, value: &str) -> bool {
        let mut child = self
            .tool(&["store", "--label=readiness", "service", "PolyStoreIQ", "username", user])
            .stdin(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(value.as_bytes()).unwrap();
        child.wait().unwrap().success()
    }

    /// The secret an independent client (libsecret's secret-tool) finds for `user`.
    fn lookup(&self, user: &str) -> Option<String> {
        let out = self.tool(&["lookup", "service", "PolyStoreIQ", "username", user]).output().unwrap();
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Drop for SecretService {
    fn drop(&mut self) {
        let _ = self.keyring.kill();
        let _ = self.keyring.wait();
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.bus_pid), nix::sys::signal::Signal::SIGTERM);
    }
}

#[test]
fn with_a_session_bus_the_password_goes_to_the_secret_service() {
    psql("postgres", &format!(
        "DO $$ BEGIN
           IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'psiq_sentinel_ss') THEN CREATE ROLE psiq_sentinel_ss LOGIN; END IF;
         END $$;
         ALTER ROLE psiq_sentinel_ss PASSWORD '{SENTINEL}';"
    ));
    let service = SecretService::start();
    let p = Profile::with_env(&[("DBUS_SESSION_BUS_ADDRESS", service.address.as_str())]);
    let url = "postgres://psiq_sentinel_ss@127.0.0.1:5432/postgres";
    let added = p.run_with_stdin(
        &["source", "add", "pg", "--kind", "postgres", "--url", url, "--password-stdin"],
        &format!("{SENTINEL}\n"),
    );
    assert!(added.status.success(), "{}", text(&added));
    let reference: String =
        p.database().query_row("SELECT keyring_ref FROM sources WHERE name = 'pg'", [], |r| r.get(0)).unwrap();
    assert_eq!(service.lookup(&reference).as_deref(), Some(SENTINEL), "the Secret Service holds the password");
    #[allow(clippy::disallowed_methods)] // keyutils' own client checks the kernel keyring was not used.
    let in_kernel = Command::new("keyctl").args(["search", "@u", "user", &reference]).output().unwrap();
    assert!(!in_kernel.status.success(), "not in the kernel keyring too");
    assert!(p.run(&["query", "pg", "--sql", "SELECT 1 AS one", "--yes"]).status.success(), "the worker got it");
    assert!(p.run(&["source", "remove", "pg"]).status.success());
    assert_eq!(service.lookup(&reference), None, "removing the source deleted it from the Secret Service");
}
