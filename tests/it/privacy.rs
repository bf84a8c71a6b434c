//! A profile is private to its user: the directory 0700 and every file the broker and its workers write 0600
//! (anything found open at start is made private, logged and audited); the socket lives only in the profile or a
//! private directory under `$XDG_RUNTIME_DIR`; and the client and the broker each refuse a peer of another user
//! (the kernel's `SO_PEERCRED`), checked with a real second user.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use polystoreiq_protocol::broker::{BrokerMessage, ClientMessage, Reply, Request};
use polystoreiq_protocol::{ErrorCode, Hello, Nonce, PeerRole, read_frame, write_frame};

use crate::support::{Profile, bin_dir, feed, parse_last_json};

/// Every path under `dir` (itself included) that group or others may use, with its mode.
fn exposed(dir: &Path) -> Vec<(PathBuf, u32)> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(path) = pending.pop() {
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            pending.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        }
        if meta.mode() & 0o077 != 0 {
            found.push((path, meta.mode() & 0o7777));
        }
    }
    found
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn files_profile() -> Profile {
    let p = Profile::new();
    let csv = p.data_path("t.csv");
    std::fs::write(&csv, "a,b\n1,x\n2,y\n").unwrap();
    chmod(Path::new(&csv), 0o644);
    p.ok(&["source", "add", "t", "--kind", "files", "--path", &csv]);
    assert_eq!(p.query("t", "SELECT count(*) AS n FROM t")["first_page"]["rows"][0]["n"], 2);
    p
}

#[test]
fn everything_the_broker_writes_is_private_and_a_profile_left_open_is_fixed_and_audited() {
    let p = files_profile();
    let home = p.home.path();
    // Made open on purpose: the client creates the home (and the log) itself when it starts the broker.
    chmod(home, 0o755);
    p.stop_broker();
    std::fs::remove_dir_all(home.join("logs")).unwrap();
    p.ok(&["source", "list"]);
    let datasets: Vec<PathBuf> = std::fs::read_dir(home.join("datasets")).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(datasets.iter().any(|d| d.extension().is_some_and(|e| e == "duckdb")), "{datasets:?}");
    for file in ["state.sqlite3", "state.sqlite3-wal", "logs/broker.log", "broker.lock"] {
        assert!(home.join(file).exists(), "{file} missing");
    }
    assert_eq!(exposed(home), [], "a fresh profile exposes nothing");
    // The twin: what the user keeps outside the profile keeps its own mode.
    assert_eq!(std::fs::metadata(p.data_path("t.csv")).unwrap().mode() & 0o777, 0o644);

    // A profile opened up (an older version's, or by hand) is closed again at the next start, and says so.
    p.stop_broker();
    chmod(home, 0o755);
    chmod(&home.join("state.sqlite3"), 0o644);
    chmod(&home.join("datasets"), 0o775);
    chmod(&datasets[0], 0o664);
    p.ok(&["source", "list"]);
    assert_eq!(exposed(home), [], "the broker closed what was open");
    let audit = p.ok(&["audit", "--action", "profile.permissions_fixed"]);
    let details: Vec<&str> = audit.as_array().unwrap().iter().filter_map(|e| e["detail"].as_str()).collect();
    let fixed = details.iter().find(|d| d.contains("state.sqlite3")).unwrap_or_else(|| panic!("{details:?}"));
    for part in ["state.sqlite3 was 0644, now 0600", "datasets was 0775, now 0700", ".duckdb was 0664, now 0600"] {
        assert!(fixed.contains(part), "{part} missing from {fixed}");
    }
    assert_eq!(audit[0]["actor"], "broker", "{audit}");
    let log = std::fs::read_to_string(home.join("logs/broker.log")).unwrap();
    assert!(log.contains("the profile was readable by other users"), "{log}");
}

/// A home too long for `<home>/broker.sock`: the socket goes to a private directory under `$XDG_RUNTIME_DIR`,
/// never to a guessable name under /tmp; without a runtime directory a typed error says what to do.
#[test]
fn a_long_home_listens_only_in_a_private_runtime_directory_or_says_to_shorten_it() {
    let base = tempfile::Builder::new().prefix("psiq-long").tempdir().unwrap();
    let home = base.path().join("a-profile-directory-with-a-rather-long-name-".repeat(3));
    let psiq = |runtime: Option<&Path>, args: &[&str]| {
        #[allow(clippy::disallowed_methods)] // The real CLI, with an environment of the test's choosing.
        let mut cmd = Command::new(bin_dir().join("psiq"));
        cmd.arg("--json").arg("--home").arg(&home).args(args).env_remove("POLYSTOREIQ_HOME");
        match runtime {
            Some(dir) => cmd.env("XDG_RUNTIME_DIR", dir),
            None => cmd.env_remove("XDG_RUNTIME_DIR"),
        };
        cmd.stdin(Stdio::null()).output().unwrap()
    };
    let out = psiq(None, &["source", "list"]);
    assert!(!out.status.success());
    let err = parse_last_json(&String::from_utf8_lossy(&out.stdout))["error"].clone();
    assert_eq!(err["code"], "socket_path_too_long", "{err}");
    assert!(err["message"].as_str().unwrap().contains("use a shorter --home"), "{err}");

    let runtime = tempfile::Builder::new().prefix("run").tempdir().unwrap();
    let out = psiq(Some(runtime.path()), &["source", "list"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let dir = runtime.path().join("polystoreiq");
    assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
    let sockets: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(sockets.len(), 1, "{sockets:?}");
    assert_eq!(std::fs::metadata(&sockets[0]).unwrap().mode() & 0o777, 0o600);
    assert!(!home.join("broker.sock").exists());
    assert!(psiq(Some(runtime.path()), &["broker", "stop"]).status.success());
}

/// A second user for the uid tests, created when missing. `None` (with the reason printed) where none can be.
fn other_user() -> Option<(u32, u32)> {
    const NAME: &str = "psiq-other";
    let id = |flag: &str| -> Option<u32> {
        #[allow(clippy::disallowed_methods)] // Looks the user up.
        let out = Command::new("id").arg(flag).arg(NAME).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    };
    if id("-u").is_none() {
        // SAFETY: geteuid has no arguments and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("SKIPPED: the uid tests need root to create a second user ({NAME}) and to run as it");
            return None;
        }
        #[allow(clippy::disallowed_methods)] // Creates the second user.
        let made = Command::new("useradd")
            .args(["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", NAME])
            .output();
        // Another test may have created it at the same moment.
        if id("-u").is_none() {
            eprintln!("SKIPPED: cannot create a second user ({NAME}) with useradd ({made:?}), so no second uid exists");
            return None;
        }
    }
    Some((id("-u")?, id("-g")?))
}

/// `program args` as `uid:gid`, with no supplementary groups.
fn as_user((uid, gid): (u32, u32), program: &str, args: &[&str]) -> Command {
    #[allow(clippy::disallowed_methods)] // setpriv runs a program as the second user.
    let mut cmd = Command::new("setpriv");
    cmd.arg(format!("--reuid={uid}")).arg(format!("--regid={gid}")).arg("--clear-groups").arg(program).args(args);
    cmd
}

/// The frames of a client's handshake and one `SourceList` request.
fn handshake_and_list() -> Vec<u8> {
    let mut bytes = Vec::new();
    write_frame(&mut bytes, &ClientMessage::Hello(Hello::new(PeerRole::Client, Nonce([0; 16])))).unwrap();
    write_frame(&mut bytes, &ClientMessage::Request(Request::SourceList)).unwrap();
    bytes
}

/// Sends `input` to the Unix socket at `socket` through socat run by `cmd`'s user, and decodes what came back.
fn exchange(mut cmd: Command, input: &[u8]) -> Vec<BrokerMessage> {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    let mut reader = out.stdout.as_slice();
    let mut messages = Vec::new();
    while let Ok(message) = read_frame::<_, BrokerMessage>(&mut reader) {
        messages.push(message);
    }
    assert!(!messages.is_empty(), "no answer: {}", String::from_utf8_lossy(&out.stderr));
    messages
}

#[test]
fn the_broker_refuses_a_client_of_another_user_and_serves_its_own() {
    let Some(other) = other_user() else { return };
    let p = files_profile();
    let socket = p.home.path().join("broker.sock");
    // Opened up on purpose, so that only the broker's own check stands in the way.
    chmod(p.home.path(), 0o711);
    chmod(&socket, 0o666);
    let path = format!("UNIX-CONNECT:{}", socket.display());
    // socat, not psiq: the client would refuse this broker first (see the next test).
    let theirs = exchange(as_user(other, "socat", &["-t", "1", "-", &path]), &handshake_and_list());
    assert!(matches!(theirs[0], BrokerMessage::Hello(_)), "{theirs:?}");
    match &theirs[1] {
        BrokerMessage::Reply(Err(err)) => {
            assert_eq!(err.code, ErrorCode::ForeignUser, "{err:?}");
            assert!(err.message.contains(&format!("user {}", other.0)), "{err:?}");
        }
        reply => panic!("a client of another user was served: {reply:?}"),
    }
    // The twin: the same bytes from this user are served.
    #[allow(clippy::disallowed_methods)] // socat as this user.
    let mut ours = Command::new("socat");
    ours.args(["-t", "1", "-", &path]);
    let ours = exchange(ours, &handshake_and_list());
    assert!(matches!(&ours[1], BrokerMessage::Reply(Ok(Reply::Sources(s))) if s[0].name == "t"), "{ours:?}");
    let log = std::fs::read_to_string(p.home.path().join("logs/broker.log")).unwrap();
    assert!(log.contains("refused a connection"), "{log}");
}

#[test]
fn the_client_refuses_a_listener_of_another_user_before_sending_anything() {
    let Some(other) = other_user() else { return };
    let home = tempfile::Builder::new().prefix("psiq-foreign").tempdir().unwrap();
    std::os::unix::fs::chown(home.path(), Some(other.0), Some(other.1)).unwrap();
    let socket = home.path().join("broker.sock");
    let received = home.path().join("received");
    // Another user's process listens where the profile's broker would, and keeps whatever it is sent.
    let listen = format!("UNIX-LISTEN:{},fork", socket.display());
    let sink = format!("CREATE:{}", received.display());
    let mut impostor = as_user(other, "socat", &["-u", &listen, &sink]).spawn().unwrap();
    let started = Instant::now();
    while !socket.exists() && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    #[allow(clippy::disallowed_methods)] // The real CLI, as this user, against the impostor.
    let out = Command::new(bin_dir().join("psiq"))
        .arg("--json")
        .arg("--home")
        .arg(home.path())
        .args(["unlock"])
        .env_remove("POLYSTOREIQ_HOME")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            feed(child.stdin.take().unwrap(), b"my secret passphrase\n")?;
            child.wait_with_output()
        })
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let _ = impostor.kill();
    let _ = impostor.wait();
    assert!(!out.status.success());
    let err = parse_last_json(&String::from_utf8_lossy(&out.stdout))["error"].clone();
    assert_eq!(err["code"], "foreign_user", "{err}");
    assert!(err["message"].as_str().unwrap().contains(&format!("runs as user {}", other.0)), "{err}");
    let sent = std::fs::read(&received).unwrap_or_default();
    assert!(sent.is_empty(), "the client sent {} bytes to another user's process", sent.len());
    // The twin: this user's own broker is served (the client checks the same way).
    let p = Profile::new();
    p.ok(&["source", "list"]);
}
