//! Connection retries and the per-source circuit breaker, against the real PostgreSQL server reached through a
//! TCP forwarder of the test's own: stopping the forwarder makes the source's port refuse connections (a dead
//! server), starting it again on the same port brings the server back, and a forwarder that hangs up on its
//! first connections is a server that is not ready yet.
//!
//! A connection refused before anything ran is tried again (3 attempts, each retry audited as `connect.retry`);
//! a connection that breaks after the query was sent is not; repeated failures open the source's breaker, which
//! refuses runs with `circuit_open` until its cool-down ends, shows in `psiq source list` and `psiq diag`, and
//! closes again when a trial run reaches the server.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::servers::psql;
use crate::support::Profile;

/// A TCP forwarder from a local port to the PostgreSQL server: a real proxy, bytes passed both ways untouched.
struct Forwarder {
    port: u16,
    stop: Arc<AtomicBool>,
    accepted: Arc<AtomicUsize>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
    acceptor: Option<JoinHandle<()>>,
}

impl Forwarder {
    /// Listens on `port` (0: any free port); hangs up on the first `refuse_first` connections at once.
    fn start(port: u16, refuse_first: usize) -> Forwarder {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("the forwarder's port is free");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let streams: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let acceptor = {
            let (stop, accepted, streams) = (Arc::clone(&stop), Arc::clone(&accepted), Arc::clone(&streams));
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let client = match listener.accept() {
                        Ok((client, _)) => client,
                        Err(err) if err.kind() == ErrorKind::WouldBlock => {
                            std::thread::sleep(Duration::from_millis(5));
                            continue;
                        }
                        Err(err) => panic!("accept: {err}"),
                    };
                    if accepted.fetch_add(1, Ordering::SeqCst) < refuse_first {
                        drop(client);
                        continue;
                    }
                    client.set_nonblocking(false).unwrap();
                    let server = TcpStream::connect("127.0.0.1:5432").expect("PostgreSQL listens on 5432");
                    let mut all = streams.lock().unwrap();
                    all.push(client.try_clone().unwrap());
                    all.push(server.try_clone().unwrap());
                    drop(all);
                    pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                    pipe(server, client);
                }
                // Dropping the listener closes the port: connections to it are refused from now on.
            })
        };
        Forwarder { port, stop, accepted, streams, acceptor: Some(acceptor) }
    }

    /// Closes the port and every connection through it.
    fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            acceptor.join().expect("the acceptor ends");
        }
        for stream in self.streams.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    fn connections(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Copies `from` to `to` on a thread of its own until either end closes.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

fn add_pg(p: &Profile, name: &str, port: u16) {
    let url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
    p.ok(&["source", "add", name, "--kind", "postgres", "--url", &url, "--tls", "disable"]);
}

/// The `connect.retry` audit events of a source, oldest first.
fn retries(p: &Profile, source: &str) -> Vec<Value> {
    p.ok(&["audit", "--source", source, "--action", "connect.retry"]).as_array().cloned().unwrap_or_default()
}

fn breaker(p: &Profile, source: &str) -> Value {
    let sources = p.ok(&["source", "list"]);
    let source = sources.as_array().unwrap().iter().find(|s| s["name"] == source).expect("the source is listed");
    source["breaker"].clone()
}

/// Workers the health registry has seen for `source`.
fn workers(p: &Profile, source: &str) -> usize {
    let diag = p.settled_diag();
    diag["workers"].as_array().unwrap().iter().filter(|w| w["source"] == source).count()
}

#[test]
fn a_dead_port_is_tried_three_times_then_reported_unreachable() {
    let forwarder = Forwarder::start(0, 0);
    let p = Profile::new();
    add_pg(&p, "pg", forwarder.port);
    let before = workers(&p, "pg");
    forwarder.stop();

    let err = p.err(&["query", "pg", "--sql", "SELECT 1 AS one", "--yes"]);
    assert_eq!(err["code"], "unreachable", "{err}");
    let events = retries(&p, "pg");
    assert_eq!(events.len(), 2, "two retries after the first attempt: {events:?}");
    let run = events[0]["run"].as_u64().expect("the retries name their run");
    assert!(events.iter().all(|e| e["run"] == run), "{events:?}");
    assert!(events[0]["detail"].as_str().unwrap().starts_with("connection attempt 1 of 3 failed"), "{events:?}");
    assert!(events[1]["detail"].as_str().unwrap().starts_with("connection attempt 2 of 3 failed"), "{events:?}");
    assert!(events[0]["detail"].as_str().unwrap().contains("trying again in 100 ms"), "{events:?}");
    assert!(events[1]["detail"].as_str().unwrap().contains("trying again in 200 ms"), "{events:?}");
    // The draft's dry run found the server gone (inconclusive, tried once), then the run tried three times.
    assert_eq!(workers(&p, "pg") - before, 4, "one worker for the dry run, then one per attempt");
    // One failed run counts once against the breaker, which stays closed below its threshold (5).
    let status = breaker(&p, "pg");
    assert_eq!(status["state"], "closed", "{status}");
    assert_eq!(status["consecutive_failures"], 1, "{status}");
    assert!(status["last_failure"].as_str().unwrap().contains("cannot reach PostgreSQL"), "{status}");
}

#[test]
fn a_server_that_hangs_up_twice_is_reached_on_the_third_attempt() {
    let forwarder = Forwarder::start(0, 0);
    let port = forwarder.port;
    let p = Profile::new();
    add_pg(&p, "pg", port);
    forwarder.stop();
    // Not ready yet: the first three connections are accepted and closed before the server says anything. The
    // draft's dry run meets the first (and says it could not tell); the run meets the other two, then gets in.
    let flaky = Forwarder::start(port, 3);
    let draft = p.ok(&["query", "pg", "--sql", "SELECT 41 + 1 AS answer"]);
    assert_eq!(draft["check"]["outcome"], "inconclusive", "{draft}");
    assert!(draft["check"]["message"].as_str().unwrap().starts_with("the dry run could not tell: "), "{draft}");
    let summary = p.ok(&["run", draft["token"].as_str().expect("an inconclusive dry run leaves the draft runnable")]);
    assert_eq!(summary["first_page"]["rows"][0]["answer"], 42, "{summary}");
    assert_eq!(flaky.connections(), 4);
    let events = retries(&p, "pg");
    assert_eq!(events.len(), 2, "{events:?}");
    assert!(events.iter().all(|e| e["run"] == summary["run"]), "{events:?} {summary}");
    let status = breaker(&p, "pg");
    assert_eq!(status["state"], "closed");
    assert_eq!(status["consecutive_failures"], 0, "a run that reached the server leaves no failure: {status}");
}

#[test]
fn a_connection_lost_after_the_query_was_sent_is_not_retried() {
    let forwarder = Forwarder::start(0, 0);
    let p = Profile::new();
    add_pg(&p, "pg", forwarder.port);
    let marker = format!("psiq_cut_{}", std::process::id());
    let sql = format!(
        "SELECT count(*) AS {marker} FROM generate_series(1, 10000) a CROSS JOIN generate_series(1, 10000) b \
         WHERE md5(a::text || b::text) <> ''"
    );
    let run = p.spawn(&["query", "pg", "--sql", &sql, "--yes"]);
    // Wait until the server runs it (the run, not the dry run's EXPLAIN of it), then cut every connection and close
    // the port.
    let started = Instant::now();
    let running = format!(
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%{marker}%' \
         AND query NOT LIKE 'EXPLAIN%' AND pid <> pg_backend_pid()"
    );
    while psql("postgres", &running).trim() == "0" {
        assert!(started.elapsed() < Duration::from_secs(30), "the query never started on the server");
        std::thread::sleep(Duration::from_millis(20));
    }
    forwarder.stop();
    let out = run.wait_with_output().expect("psiq");
    // The server goes on computing for a client that is gone; stop it.
    psql(
        "postgres",
        &format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%{marker}%' AND pid <> pg_backend_pid()"
        ),
    );
    assert!(!out.status.success());
    let err = crate::support::parse_last_json(&String::from_utf8_lossy(&out.stdout))["error"].clone();
    assert_eq!(err["code"], "connection_lost", "{err}");
    assert!(err["message"].as_str().unwrap().contains("the query may have run"), "{err}");
    assert_eq!(retries(&p, "pg"), Vec::<Value>::new(), "nothing is tried again once the query may have run");
    // It counts against the breaker all the same: the server could not be kept.
    assert_eq!(breaker(&p, "pg")["consecutive_failures"], 1);
}

#[test]
fn the_breaker_opens_after_repeated_failures_and_closes_when_the_server_is_back() {
    let forwarder = Forwarder::start(0, 0);
    let port = forwarder.port;
    let p = Profile::with_env(&[
        ("POLYSTOREIQ_BREAKER_FAILURES", "2"),
        ("POLYSTOREIQ_BREAKER_COOLDOWN_MS", "4000"),
        ("POLYSTOREIQ_CONNECT_ATTEMPTS", "2"),
    ]);
    add_pg(&p, "pg", port);
    forwarder.stop();

    for failures in 1..=2 {
        let err = p.err(&["query", "pg", "--sql", "SELECT 1 AS one", "--yes"]);
        assert_eq!(err["code"], "unreachable", "{err}");
        assert_eq!(breaker(&p, "pg")["consecutive_failures"], failures);
    }
    let status = breaker(&p, "pg");
    assert_eq!(status["state"], "open", "{status}");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64;
    assert!(status["retry_at_ms"].as_u64().unwrap() > now.saturating_sub(1000), "{status}");
    let diag = p.diag();
    let listed = diag["breakers"].as_array().unwrap().iter().find(|b| b["source"] == "pg").cloned();
    assert_eq!(listed.map(|b| b["breaker"]["state"].clone()), Some(Value::from("open")), "{diag}");

    // Open: refused at once with when to try again, and no worker is started.
    let before = workers(&p, "pg");
    let err = p.err(&["query", "pg", "--sql", "SELECT 1 AS one", "--yes"]);
    assert_eq!(err["code"], "circuit_open", "{err}");
    let retry_after = err["retry_after_ms"].as_u64().expect("retry_after_ms");
    assert!(retry_after > 0 && retry_after <= 4000, "{err}");
    assert!(err["message"].as_str().unwrap().contains("psiq source test pg"), "{err}");
    assert_eq!(workers(&p, "pg"), before, "nothing was started for a refused run");
    let text = p.plain_command(&["source", "list"]).output().expect("psiq");
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.contains("breaker OPEN after 2 connection failures"), "{text}");
    let text = p.plain_command(&["diag"]).output().expect("psiq");
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.contains("source pg: breaker OPEN"), "{text}");

    // The server comes back on the same port; after the cool-down one trial run goes through and closes it.
    let back = Forwarder::start(port, 0);
    let started = Instant::now();
    while breaker(&p, "pg")["state"] != "half_open" {
        assert!(started.elapsed() < Duration::from_secs(20), "the breaker never became half-open");
        std::thread::sleep(Duration::from_millis(100));
    }
    let summary = p.query("pg", "SELECT 7 AS seven");
    assert_eq!(summary["first_page"]["rows"][0]["seven"], 7);
    assert!(back.connections() >= 1);
    let status = breaker(&p, "pg");
    assert_eq!(status["state"], "closed", "{status}");
    assert_eq!(status["consecutive_failures"], 0, "{status}");
    assert_eq!(status["retry_at_ms"], Value::Null);
    let diag = p.diag();
    assert!(diag["breakers"].as_array().unwrap().iter().all(|b| b["source"] != "pg"), "{diag}");
}
