//! The worker sandbox, enforced by the real worker in the real kernel. Each prohibited action sits beside its
//! legitimate twin, so a test cannot pass by a worker that simply fails at everything. The probes run through
//! `psiq debug-fault SOURCE probe-…` (debug builds only), in the sandbox a real job on that source gets.

use serde_json::Value;

use crate::support::{Profile, process_exists, wait_gone};

/// A files source `shop`, a private key planted outside it, and the broker's environment carrying a secret.
fn profile(env: &[(&str, &str)]) -> (Profile, String) {
    let mut env = env.to_vec();
    env.push(("POLYSTOREIQ_TEST_SECRET", "sentinel-secret-7f3a"));
    let p = Profile::with_env(&env);
    let csv = p.data_path("shop.csv");
    std::fs::write(&csv, "id,item\n1,lamp\n2,desk\n").unwrap();
    p.ok(&["source", "add", "shop", "--kind", "files", "--path", &csv]);
    let ssh = p.data.path().join("home/.ssh");
    std::fs::create_dir_all(&ssh).unwrap();
    let key = ssh.join("id_rsa");
    std::fs::write(&key, "-----BEGIN OPENSSH PRIVATE KEY-----\nplanted\n").unwrap();
    (p, key.to_string_lossy().into_owned())
}

/// Runs a probe; `Ok(())` when it worked inside the sandbox, else the broker's error object.
fn probe(p: &Profile, source: &str, probe: &str, args: &[&str]) -> Result<(), Value> {
    let mut all = vec!["debug-fault", source, probe];
    all.extend_from_slice(args);
    let out = p.run(&all);
    if out.status.success() {
        Ok(())
    } else {
        Err(crate::support::parse_last_json(&String::from_utf8_lossy(&out.stdout))["error"].clone())
    }
}

fn denied(result: Result<(), Value>, what: &str) -> String {
    let err = result.expect_err(what);
    let message = err["message"].as_str().unwrap_or_default().to_owned();
    assert!(
        message.contains("Permission denied") || message.contains("Operation not permitted"),
        "{what}: expected the OS to refuse, got {err}"
    );
    message
}

#[test]
fn files_outside_the_source_cannot_be_read_and_the_source_can() {
    let (p, key) = profile(&[]);
    let csv = p.data_path("shop.csv");
    denied(probe(&p, "shop", "probe-read", &["--path", &key]), "raw read of a planted private key");
    denied(probe(&p, "shop", "probe-read", &["--path", "/etc/shadow"]), "raw read of /etc/shadow");
    denied(probe(&p, "shop", "probe-duckdb-read", &["--path", &key]), "DuckDB read_csv of the private key");
    denied(probe(&p, "shop", "probe-duckdb-read", &["--path", "/etc/shadow"]), "DuckDB read_csv of /etc/shadow");
    let broker_env = format!("/proc/{}/environ", p.broker_pid().unwrap());
    denied(probe(&p, "shop", "probe-read", &["--path", &broker_env]), "the broker's environment");
    // The twins: the source's own file, raw and through DuckDB, and the worker's own process facts.
    probe(&p, "shop", "probe-read", &["--path", &csv]).expect("the source's file is readable");
    probe(&p, "shop", "probe-duckdb-read", &["--path", &csv]).expect("DuckDB reads the source's file");
    probe(&p, "shop", "probe-read", &["--path", "/proc/self/status"]).expect("its own status");
    assert_eq!(p.query("shop", "SELECT count(*) AS n FROM shop")["first_page"]["rows"][0]["n"], 2);
}

#[test]
fn writes_land_only_in_the_scratch_directory() {
    let (p, _) = profile(&[]);
    let outside = p.data_path("written-by-worker.txt");
    denied(probe(&p, "shop", "probe-write", &["--path", &outside]), "a write next to the user's data");
    denied(probe(&p, "shop", "probe-write", &["--path", "/tmp/psiq-sandbox-escape.txt"]), "a write to /tmp");
    assert!(!std::path::Path::new(&outside).exists());
    assert!(!std::path::Path::new("/tmp/psiq-sandbox-escape.txt").exists());
    // Relative paths land in the worker's scratch directory, its working directory.
    probe(&p, "shop", "probe-write", &["--path", "scratch-note.txt"]).expect("scratch is writable");
}

#[test]
fn a_database_worker_reaches_only_its_database_port_and_a_files_worker_no_network() {
    let (p, _) = profile(&[]);
    let added = p.run_with_stdin(
        &["source", "add", "pg", "--kind", "postgres", "--url", "postgres://postgres@127.0.0.1:5432/postgres"],
        "",
    );
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stdout));
    probe(&p, "pg", "probe-connect", &["--number", "5432"]).expect("its own database's port");
    denied(probe(&p, "pg", "probe-connect", &["--number", "3306"]), "another server's port on the same host");
    denied(probe(&p, "shop", "probe-connect", &["--number", "5432"]), "any TCP from a files worker");
    denied(probe(&p, "shop", "probe-udp", &["--number", "53"]), "a UDP datagram from a files worker");
    // A real query on the database source works inside the same sandbox.
    assert_eq!(p.query("pg", "SELECT 1 AS one")["first_page"]["rows"][0]["one"], 1);
}

#[test]
fn no_child_processes_no_tracing_no_signals_to_others_and_an_empty_environment() {
    let (p, _) = profile(&[]);
    let broker = p.broker_pid().unwrap().to_string();
    denied(probe(&p, "shop", "probe-spawn", &[]), "starting /bin/true");
    denied(probe(&p, "shop", "probe-fork-bomb", &[]), "a fork bomb");
    denied(probe(&p, "shop", "probe-ptrace", &["--number", &broker]), "ptrace of the broker");
    denied(probe(&p, "shop", "probe-signal", &["--number", &broker]), "a signal to the broker");
    // The broker's environment holds a secret; the worker's holds nothing at all.
    probe(&p, "shop", "probe-environment", &[]).expect("the worker's environment is empty");
    // Threads are not processes: DuckDB still runs a parallel query.
    let many = p.query("shop", "SELECT count(*) AS n FROM range(1000000) a, shop");
    assert_eq!(many["first_page"]["rows"][0]["n"], 2_000_000);
}

#[test]
fn memory_and_time_are_bounded_and_nothing_outlives_the_deadline() {
    let (p, _) = profile(&[("POLYSTOREIQ_WORKER_MEMORY_MB", "512"), ("POLYSTOREIQ_RUN_DEADLINE_MS", "60000")]);
    probe(&p, "shop", "probe-allocate", &["--number", "64"]).expect("a modest allocation");
    let err = probe(&p, "shop", "probe-allocate", &["--number", "2048"]).expect_err("2 GiB over a 512 MiB limit");
    assert_eq!(err["code"], "worker_out_of_memory", "{err}");

    let (p, _) = profile(&[("POLYSTOREIQ_RUN_DEADLINE_MS", "1500")]);
    let err = probe(&p, "shop", "probe-spin", &["--number", "60"]).expect_err("a minute of CPU past the deadline");
    assert_eq!(err["code"], "deadline_exceeded", "{err}");
    let diag = p.settled_diag();
    for worker in diag["workers"].as_array().unwrap() {
        let pid = worker["pid"].as_u64().unwrap() as u32;
        assert!(!process_exists(pid), "no worker outlives its run: {worker}");
    }
}

#[test]
fn a_running_worker_has_no_new_privs_and_a_seccomp_filter_and_diag_names_the_features() {
    let (p, _) = profile(&[]);
    let mut spinning = p.spawn(&["debug-fault", "shop", "probe-spin", "--number", "20"]);
    let (pid, _) = p.wait_for_any_worker();
    // The worker reports its sandbox before the job starts; poll until the filter is in place.
    let started = std::time::Instant::now();
    let status = loop {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        if status.contains("Seccomp:\t2") || started.elapsed() > std::time::Duration::from_secs(10) {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(status.contains("NoNewPrivs:\t1"), "{status}");
    assert!(status.contains("Seccomp:\t2"), "{status}");
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGKILL);
    let _ = spinning.wait();
    assert!(wait_gone(pid, std::time::Duration::from_secs(5)).is_some());

    let diag = p.diag();
    let duckdb = diag["sandbox"].as_array().unwrap().iter().find(|s| s["kind"] == "duckdb").expect("duckdb sandbox");
    let features: Vec<&str> =
        duckdb["report"]["features"].as_array().unwrap().iter().filter_map(|f| f.as_str()).collect();
    for wanted in ["rlimits", "no_new_privs", "seccomp", "landlock-tcp-ports", "landlock-scopes"] {
        assert!(features.contains(&wanted), "{wanted} missing from {features:?}");
    }
    assert!(features.iter().any(|f| f.starts_with("landlock-v")), "{features:?}");
    assert_eq!(duckdb["report"]["missing"], serde_json::json!([]));
    let human = p.plain_command(&["diag"]).output().unwrap();
    assert!(String::from_utf8_lossy(&human.stdout).contains("sandbox Duckdb: rlimits, no_new_privs"));
}

/// A pg source on the test server, added to `p`.
fn add_pg(p: &Profile) {
    let added = p.run_with_stdin(
        &["source", "add", "pg", "--kind", "postgres", "--url", "postgres://postgres@127.0.0.1:5432/postgres"],
        "",
    );
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stdout));
}

/// A live Unix socket in a temp directory, standing for the session bus (through which Secret Service hands out
/// every keyring secret), and the proof that it is live: a process outside the sandbox connects to it.
fn live_socket(dir: &std::path::Path, name: &str) -> (std::os::unix::net::UnixListener, String) {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let path = path.to_string_lossy().into_owned();
    std::os::unix::net::UnixStream::connect(&path).expect("the socket is live outside the sandbox");
    (listener, path)
}

#[test]
fn no_worker_reaches_a_unix_socket_neither_the_session_bus_nor_the_brokers_own() {
    let (p, _) = profile(&[]);
    add_pg(&p);
    let run = tempfile::Builder::new().prefix("psiq-run").tempdir().unwrap();
    let (_bus, bus) = live_socket(run.path(), "user/0/bus");
    let (_docker, docker) = live_socket(run.path(), "docker.sock");
    let broker_sock = p.home.path().join("broker.sock").to_string_lossy().into_owned();
    std::os::unix::net::UnixStream::connect(&broker_sock).expect("the broker's socket is live outside the sandbox");
    for source in ["shop", "pg"] {
        for path in [&bus, &docker, &broker_sock] {
            denied(probe(&p, source, "probe-connect-unix", &["--path", path]), &format!("{source} worker to {path}"));
        }
    }
    // The twins: the database worker still reaches its database's TCP port, and both still do their jobs.
    probe(&p, "pg", "probe-connect", &["--number", "5432"]).expect("its own database's port");
    assert_eq!(p.query("pg", "SELECT 1 AS one")["first_page"]["rows"][0]["one"], 1);
    assert_eq!(p.query("shop", "SELECT count(*) AS n FROM shop")["first_page"]["rows"][0]["n"], 2);
}

#[test]
fn a_database_worker_sends_no_udp_and_still_reaches_its_server_named_by_host_name() {
    let (p, _) = profile(&[]);
    // Named, not an address: the broker resolves `localhost` and hands the worker 127.0.0.1.
    let added = p.run_with_stdin(
        &["source", "add", "pg", "--kind", "postgres", "--url", "postgres://postgres@localhost:5432/postgres"],
        "",
    );
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stdout));
    let udp = denied(probe(&p, "pg", "probe-udp", &["--number", "53"]), "a UDP datagram from a database worker");
    assert!(udp.contains("udp send"), "{udp}");
    denied(probe(&p, "pg", "probe-udp", &["--number", "5432"]), "UDP to its own server's port");
    probe(&p, "pg", "probe-connect", &["--number", "5432"]).expect("TCP to its own database's port");
    assert_eq!(p.query("pg", "SELECT 1 AS one")["first_page"]["rows"][0]["one"], 1);
    let diag = p.diag();
    let pg = diag["sandbox"].as_array().unwrap().iter().find(|s| s["kind"] == "postgres").expect("postgres sandbox");
    let features = pg["report"]["features"].to_string();
    assert!(features.contains("sockets-tcp-only"), "{features}");
}

#[test]
fn a_worker_cannot_read_another_profiles_files() {
    let (p, _) = profile(&[]);
    let other = Profile::new();
    other.ok(&["source", "list"]);
    let planted = other.home.path().join("datasets-note.txt");
    std::fs::write(&planted, "another profile's data\n").unwrap();
    for path in [planted.clone(), other.home.path().join("state.sqlite3"), other.home.path().join("logs/broker.log")] {
        let path = path.to_string_lossy().into_owned();
        assert!(std::fs::metadata(&path).is_ok(), "{path} exists");
        denied(probe(&p, "shop", "probe-read", &["--path", &path]), &format!("another profile's {path}"));
        denied(probe(&p, "shop", "probe-duckdb-read", &["--path", &path]), &format!("DuckDB reading {path}"));
    }
    // Nor its own profile's app state; the twin: its source's file is readable.
    let own_state = p.home.path().join("state.sqlite3").to_string_lossy().into_owned();
    denied(probe(&p, "shop", "probe-read", &["--path", &own_state]), "its own profile's app state");
    probe(&p, "shop", "probe-read", &["--path", &p.data_path("shop.csv")]).expect("the source's file");
}

/// Sends one request to the profile's broker over its socket, as a front end would, and returns the reply.
fn request(p: &Profile, request: polystoreiq_protocol::broker::Request) -> polystoreiq_protocol::broker::BrokerMessage {
    use polystoreiq_protocol::broker::{BrokerMessage, ClientMessage};
    use polystoreiq_protocol::{Hello, Nonce, PeerRole, read_frame, write_frame};
    let mut stream = std::os::unix::net::UnixStream::connect(p.home.path().join("broker.sock")).unwrap();
    write_frame(&mut stream, &ClientMessage::Hello(Hello::new(PeerRole::Client, Nonce([0; 16])))).unwrap();
    assert!(matches!(read_frame(&mut stream).unwrap(), BrokerMessage::Hello(_)));
    write_frame(&mut stream, &ClientMessage::Request(request)).unwrap();
    read_frame(&mut stream).unwrap()
}

/// PostgreSQL's driver reads a host that is a path as a Unix-socket directory; no worker may open a Unix socket,
/// so such a source is refused when added, with what to use instead. The desktop app's host field can carry one.
#[test]
fn a_database_reached_through_a_unix_socket_path_is_refused_and_its_tcp_address_is_not() {
    use polystoreiq_protocol::broker::{BrokerMessage, Reply, Request};
    use polystoreiq_protocol::types::{DbTarget, SourceKind, SourceSpec, TlsMode};
    let (p, _) = profile(&[]);
    let add = |name: &str, host: &str| Request::SourceAdd {
        name: name.into(),
        spec: SourceSpec::Database {
            kind: SourceKind::Postgres,
            target: DbTarget {
                host: host.into(),
                port: 5432,
                database: "postgres".into(),
                user: "postgres".into(),
                tls: TlsMode::Disable,
            },
            password: None,
        },
    };
    match request(&p, add("local", "/var/run/postgresql")) {
        BrokerMessage::Reply(Err(err)) => {
            assert_eq!(err.code, polystoreiq_protocol::ErrorCode::BadRequest, "{err:?}");
            assert!(err.message.contains("Unix-socket path") && err.message.contains("127.0.0.1"), "{err:?}");
        }
        other => panic!("a Unix-socket source was accepted: {other:?}"),
    }
    match request(&p, add("tcp", "127.0.0.1")) {
        BrokerMessage::Reply(Ok(Reply::Source(info))) => assert_eq!(info.name, "tcp"),
        other => panic!("the TCP twin was refused: {other:?}"),
    }
}
