//! Cancel and the run deadline reach the database server: through the real `psiq`, broker and workers, a cancelled
//! or timed-out query is stopped on its server from a second worker (PostgreSQL `pg_cancel_backend`, MariaDB `KILL
//! QUERY`, MongoDB `killOp`) before the run's worker is killed, and the tests look on the server itself
//! (`pg_stat_activity`, the processlist, `currentOp`). Without that the queries here would go on running long after
//! the checks give up: a server computing a result does not notice its client was killed, and the server's own
//! time limit is the run deadline plus a margin.
//!
//! Then, with no broker in front (a worker driven by hand, no guardrail): PostgreSQL's rows reach the reader while
//! the server still runs the query, and a session the server ends mid-stream is a typed error, not a hang.

use std::io::Write;
use std::process::{Child, ChildStdin, Output, Stdio};
use std::time::{Duration, Instant};

use mongodb::bson::{Bson, Document, doc};
use polystoreiq_protocol::types::SourceKind;
use polystoreiq_protocol::worker::{DbAction, DbJob, FromWorker, Job, ServerSession, WorkerError};
use serde_json::Value;

use crate::servers::{MariaDb, MongoDb, PgDb, mariadb, psql, psql_command};
use crate::support::{Profile, WorkerStream, group_members, parse_last_json, wait_gone};

/// How long after a run ends a test waits for its statement to leave the server. The statements run for minutes
/// when nothing stops them; the server's own limit is at least ten seconds past the run deadline.
const GONE_WITHIN: Duration = Duration::from_secs(5);

/// Polls `check` every 50 ms until it holds or `limit` has passed; returns whether it held.
fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    loop {
        if check() {
            return true;
        }
        if started.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits for the worker of a run (a worker with a run id, so not a connection test's or metadata's).
fn wait_for_run_worker(p: &Profile) -> (u32, u64) {
    let mut found = None;
    let appeared = wait_until(Duration::from_secs(30), || {
        let diag = p.diag();
        found = diag["workers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|w| w["state"] == "running" && w["run"].is_u64())
            .map(|w| (w["pid"].as_u64().unwrap() as u32, w["run"].as_u64().unwrap()));
        found.is_some()
    });
    assert!(appeared, "no run's worker appeared");
    found.unwrap()
}

/// The error a finished `psiq query` printed.
fn run_error(out: &Output) -> Value {
    assert!(!out.status.success(), "the run succeeded: {}", String::from_utf8_lossy(&out.stdout));
    parse_last_json(&String::from_utf8_lossy(&out.stdout))["error"].clone()
}

/// Cancels `run` with `psiq cancel`, and checks it ended `cancelled` with its worker's whole process group gone.
fn cancel_and_check(p: &Profile, run: u64, pid: u32, query: Child) {
    let reply = p.ok(&["cancel", &run.to_string()]);
    assert_eq!(reply["run"], run);
    let err = run_error(&query.wait_with_output().unwrap());
    assert_eq!(err["code"], "cancelled", "{err}");
    assert!(wait_gone(pid, Duration::from_secs(5)).is_some(), "worker {pid} still exists after the cancel");
    assert!(group_members(pid).is_empty(), "no process left in the worker's group");
}

/// The audit detail of `run`'s server-side cancel.
fn server_cancel_detail(p: &Profile, run: u64) -> String {
    let audit = p.ok(&["audit", "--action", "run.server_cancel"]);
    let event = audit.as_array().unwrap().iter().find(|e| e["run"] == run);
    let event = event.unwrap_or_else(|| panic!("no run.server_cancel event for run {run}: {audit}"));
    event["detail"].as_str().unwrap().to_owned()
}

// ---- PostgreSQL -------------------------------------------------------------------------------------------------

/// A query the guardrail allows (1e8 generated rows, its bound) that runs for minutes: an MD5 per row.
const PG_SLOW: &str = "SELECT count(*) AS n FROM generate_series(1, 10000) a, generate_series(1, 10000) b \
                       WHERE md5(a::text || b::text) <> ''";

/// A scratch database for this module's PostgreSQL tests, dropped (its sessions with it) when the test ends.
fn pg_scratch() -> PgDb {
    PgDb::new("psiq_cancel")
}

/// Client backends of `db` running a statement that contains `marker`, the test's own excepted.
fn active(db: &PgDb, marker: &str) -> Vec<i32> {
    let pids = psql(
        "postgres",
        &format!(
            "SELECT pid FROM pg_stat_activity WHERE datname = '{}' AND state = 'active' \
             AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND strpos(query, '{marker}') > 0 \
             AND query NOT LIKE 'EXPLAIN%'",
            db.name()
        ),
    );
    pids.lines().map(|l| l.parse().expect("a pid")).collect()
}

/// A query job on `db` as the superuser, for a worker driven by hand.
fn pg_job(db: &PgDb, sql: &str, batch_rows: u32) -> Job {
    Job::Database(DbJob {
        kind: SourceKind::Postgres,
        target: db.target("postgres"),
        password: None,
        action: DbAction::Query { sql: sql.into(), row_limit: 1_000_000, batch_rows, timeout_ms: 60_000 },
    })
}

fn postgres_profile(db: &PgDb, env: &[(&str, &str)]) -> Profile {
    let p = Profile::with_env(env);
    let info = p.ok(&["source", "add", "pg", "--kind", "postgres", "--url", &db.url()]);
    assert_eq!(info["capabilities"]["server_side_cancel"], true, "{info}");
    p
}

#[test]
fn cancel_stops_the_query_on_postgresql() {
    let db = pg_scratch();
    let p = postgres_profile(&db, &[]);
    let query = p.spawn(&["query", "pg", "--sql", PG_SLOW, "--yes"]);
    let (pid, run) = wait_for_run_worker(&p);
    let mut backends = Vec::new();
    let running = wait_until(Duration::from_secs(20), || {
        backends = active(&db, "generate_series(1, 10000) a");
        !backends.is_empty()
    });
    assert!(running, "the query never showed up in pg_stat_activity");

    cancel_and_check(&p, run, pid, query);
    let mut left = Vec::new();
    let gone = wait_until(GONE_WITHIN, || {
        left = active(&db, "generate_series(1, 10000) a");
        left.is_empty()
    });
    assert!(gone, "backends {left:?} still run the query {GONE_WITHIN:?} after the cancel");
    let detail = server_cancel_detail(&p, run);
    let expected = format!("server cancel: 1 operation (PostgreSQL backend {})", backends[0]);
    assert!(detail.starts_with(&expected), "{detail}");
}

#[test]
fn a_run_past_its_deadline_is_stopped_on_postgresql_too() {
    let db = pg_scratch();
    let p = postgres_profile(&db, &[("POLYSTOREIQ_RUN_DEADLINE_MS", "2000")]);
    let started = Instant::now();
    let err = p.err(&["query", "pg", "--sql", PG_SLOW, "--yes"]);
    assert_eq!(err["code"], "deadline_exceeded", "{err}");
    assert!(err["message"].as_str().unwrap().contains("cancelled on the server too"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(30));

    // The server's own limit is 12 s (the deadline and a margin) from the query's start: only the broker's cancel
    // can have ended it this early.
    let mut left = Vec::new();
    let gone = wait_until(GONE_WITHIN, || {
        left = active(&db, "generate_series(1, 10000) a");
        left.is_empty()
    });
    assert!(gone, "backends {left:?} still run the query {GONE_WITHIN:?} after the deadline");
    let diag = p.diag();
    let worker = diag["workers"].as_array().unwrap().iter().find(|w| w["state"] == "timed_out").cloned();
    let worker = worker.unwrap_or_else(|| panic!("no timed-out worker in {diag}"));
    let pid = worker["pid"].as_u64().unwrap() as u32;
    assert!(wait_gone(pid, Duration::from_secs(5)).is_some() && group_members(pid).is_empty());
    let run = worker["run"].as_u64().unwrap();
    let detail = server_cancel_detail(&p, run);
    assert!(detail.starts_with("server cancel: 1 operation (PostgreSQL backend"), "{detail}");
}

// ---- MariaDB ----------------------------------------------------------------------------------------------------

const MYSQL_PASSWORD: &str = "Cancel-Sentinel-5b2f-never-echoed";

/// A database and a read-only user of the same name, with `t` holding 3000 rows: a three-way cross join of it
/// counts 2.7 * 10^10 rows, which takes MariaDB far longer than any test waits.
fn mariadb_scratch() -> MariaDb {
    let db = MariaDb::with_reader("psiq_cancel", MYSQL_PASSWORD);
    db.sql("CREATE TABLE t (a INT PRIMARY KEY); INSERT INTO t SELECT seq FROM seq_1_to_3000;");
    db
}

/// Connections of `db`'s user running a statement that contains `marker`.
fn connections_running(db: &MariaDb, marker: &str) -> Vec<u64> {
    let ids = mariadb(
        None,
        &format!(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = '{}' AND COMMAND <> 'Sleep' \
             AND INSTR(INFO, '{marker}') > 0",
            db.name()
        ),
    );
    ids.lines().map(|l| l.parse().expect("a connection id")).collect()
}

#[test]
fn cancel_stops_the_query_on_mariadb() {
    let db = mariadb_scratch();
    let p = Profile::new();
    let url = format!("mysql://{0}@127.0.0.1:3306/{0}", db.name());
    let added = p.run_with_stdin(
        &["source", "add", "shop", "--kind", "mysql", "--url", &url, "--password-stdin"],
        &format!("{MYSQL_PASSWORD}\n"),
    );
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stdout));

    let marker = "FROM t a, t b, t c";
    let query = p.spawn(&["query", "shop", "--sql", &format!("SELECT count(*) AS n {marker}"), "--yes"]);
    let (pid, run) = wait_for_run_worker(&p);
    let mut connections = Vec::new();
    let running = wait_until(Duration::from_secs(20), || {
        connections = connections_running(&db, marker);
        !connections.is_empty()
    });
    assert!(running, "the query never showed up in the processlist");

    cancel_and_check(&p, run, pid, query);
    let mut left = Vec::new();
    let gone = wait_until(GONE_WITHIN, || {
        left = connections_running(&db, marker);
        left.is_empty()
    });
    assert!(gone, "connections {left:?} still run the query {GONE_WITHIN:?} after the cancel");
    // The read-only user stopped its own statement: KILL QUERY needs no privilege for that.
    let detail = server_cancel_detail(&p, run);
    let expected = format!("server cancel: 1 operation (MySQL connection {})", connections[0]);
    assert!(detail.starts_with(&expected), "{detail}");
}

// ---- MongoDB (SecantusDB) ---------------------------------------------------------------------------------------

/// Documents in the collection: the self-join below compares every pair, about five seconds on SecantusDB.
const MONGO_DOCS: i32 = 1000;

/// The `currentOp` entries (idle cursors included) that the server lists.
fn current_ops(db: &MongoDb) -> Vec<Document> {
    let reply = db.admin(doc! { "currentOp": 1, "idleCursors": true });
    reply.get_array("inprog").unwrap().iter().filter_map(Bson::as_document).cloned().collect()
}

/// The test's client's connection, as the server numbers it.
fn connection_id(db: &MongoDb) -> i64 {
    let hello = db.admin(doc! { "hello": 1 });
    hello
        .get("connectionId")
        .and_then(Bson::as_i64)
        .or_else(|| hello.get_i32("connectionId").ok().map(i64::from))
        .expect("hello names the connection")
}

/// The local ports of `pid`'s TCP sockets: its socket inodes (in `/proc/PID/fd`) looked up in `/proc/PID/net/tcp`.
fn tcp_ports(pid: u32) -> Vec<u16> {
    let inodes: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|link| {
            let link = link.to_string_lossy().into_owned();
            link.strip_prefix("socket:[").and_then(|rest| rest.strip_suffix(']')).map(str::to_owned)
        })
        .collect();
    let table = std::fs::read_to_string(format!("/proc/{pid}/net/tcp")).unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            // `sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode`, the port in hex.
            let fields: Vec<&str> = line.split_whitespace().collect();
            let inode = *fields.get(9)?;
            let port = fields.get(1)?.rsplit_once(':')?.1;
            if inodes.iter().any(|i| i == inode) { u16::from_str_radix(port, 16).ok() } else { None }
        })
        .collect()
}

/// Whether a `currentOp` entry is an aggregate sent from one of `ports` (the run's worker). SecantusDB keeps one
/// entry per connection, with the last command's name as `op`.
fn aggregate_from(entry: &Document, ports: &[u16]) -> bool {
    let from_worker = entry
        .get_str("client")
        .ok()
        .and_then(|client| client.rsplit_once(':'))
        .and_then(|(_, port)| port.parse::<u16>().ok())
        .is_some_and(|port| ports.contains(&port));
    let aggregate = entry.get_str("op") == Ok("aggregate")
        || entry.get_document("command").is_ok_and(|c| c.contains_key("aggregate"));
    from_worker && aggregate
}

/// Whether a `currentOp` entry carries `comment`, on its command or on the command that opened its cursor.
fn carries(entry: &Document, comment: &str) -> bool {
    let commented = |c: Option<&Document>| c.and_then(|c| c.get_str("comment").ok()) == Some(comment);
    commented(entry.get_document("command").ok())
        || commented(entry.get_document("cursor").ok().and_then(|c| c.get_document("originatingCommand").ok()))
}

/// Written against MongoDB's documented behaviour: the worker attaches one comment to every operation of the run,
/// `currentOp` shows it on them, and `killOp` interrupts the operation. SecantusDB differs, and the test says where:
/// its `currentOp` ignores the filter it is given and shows no command's comment (each connection's entry holds
/// only the last command's name), and its `killOp` closes the connection once the running command has finished,
/// so it cannot stop an aggregate midway at all. There the cancel finds nothing to stop; what the test still shows
/// is that the run ends cancelled with its worker gone, that the cancel went to the server and named the run's
/// comment, and that a server which ignores the filter does not get other clients' connections killed.
#[test]
fn cancel_stops_the_query_on_mongodb() {
    let db = MongoDb::new("psiq_cancel");
    let build = db.admin(doc! { "buildInfo": 1 });
    let secantus = build.contains_key("secantusVersion");
    let docs: Vec<Document> = (0..MONGO_DOCS).map(|i| doc! { "_id": i, "k": i % 50 }).collect();
    db.insert("c", docs);
    let bystander = connection_id(&db);

    let p = Profile::new();
    let url = db.url();
    let info = p.ok(&["source", "add", "docs", "--kind", "mongodb", "--url", &url]);
    assert_eq!(info["capabilities"]["server_side_cancel"], true, "{info}");
    let self_join = r#"{"collection": "c", "aggregate": [
        {"$lookup": {"from": "c", "let": {"k": "$k"}, "pipeline": [{"$match": {"$expr": {"$eq": ["$k", "$$k"]}}}],
                     "as": "same"}},
        {"$count": "n"}]}"#;
    let query = p.spawn(&["query", "docs", "--sql", self_join, "--yes"]);
    let (pid, run) = wait_for_run_worker(&p);
    let running = wait_until(Duration::from_secs(20), || {
        let ports = tcp_ports(pid);
        current_ops(&db).iter().any(|e| aggregate_from(e, &ports))
    });
    assert!(running, "the aggregate never showed up in currentOp");

    cancel_and_check(&p, run, pid, query);
    let detail = server_cancel_detail(&p, run);
    let comment = detail
        .split_whitespace()
        .find(|w| w.starts_with("psiq-run-"))
        .map(|w| w.trim_end_matches(')').to_owned())
        .unwrap_or_else(|| panic!("the server cancel names no comment: {detail}"));
    // MongoDB lists the running aggregate under its comment and `killOp` stops it; SecantusDB lists no comments.
    let expected = if secantus { 0 } else { 1 };
    let plural = if expected == 1 { "operation" } else { "operations" };
    assert!(detail.starts_with(&format!("server cancel: {expected} {plural} (MongoDB")), "{detail}");
    let mut left = Vec::new();
    let gone = wait_until(GONE_WITHIN, || {
        left = current_ops(&db).into_iter().filter(|e| carries(e, &comment)).collect();
        left.is_empty()
    });
    assert!(gone, "operations still carry {comment} {GONE_WITHIN:?} after the cancel: {left:?}");
    // SecantusDB answered the cancel's filtered `currentOp` with every connection, this one included; the cancel
    // killed none of them, so this client still talks over the same connection.
    assert_eq!(connection_id(&db), bystander, "the cancel killed another client's connection");
}

// ---- streaming, with no broker in front -------------------------------------------------------------------------

/// The advisory lock key the streaming tests hold.
const LOCK_KEY: i64 = 5_417_001;

/// 20000 rows; the last needs an advisory lock, so while the test holds it the server cannot finish the query
/// (the rows before it are produced, and sent, at once).
fn streamed_query() -> String {
    format!(
        "SELECT g, CASE WHEN g = 20000 THEN (SELECT 0 FROM pg_advisory_xact_lock_shared({LOCK_KEY})) ELSE g END AS v \
         FROM generate_series(1, 20000) g"
    )
}

/// A PostgreSQL advisory lock held by a psql session of the test's own until released (or dropped).
struct AdvisoryLock {
    psql: Child,
    stdin: Option<ChildStdin>,
}

impl AdvisoryLock {
    fn hold(db: &PgDb) -> AdvisoryLock {
        // A session of its own on the real server, kept open.
        let mut session =
            psql_command(db.name()).arg("-q").stdin(Stdio::piped()).stdout(Stdio::null()).spawn().expect("psql runs");
        let mut stdin = session.stdin.take().expect("stdin");
        writeln!(stdin, "SELECT pg_advisory_lock({LOCK_KEY});").unwrap();
        stdin.flush().unwrap();
        let granted = format!(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = {LOCK_KEY} AND granted \
             AND mode = 'ExclusiveLock'"
        );
        let held = wait_until(Duration::from_secs(10), || psql(db.name(), &granted) == "1");
        assert!(held, "the test could not take the advisory lock");
        AdvisoryLock { psql: session, stdin: Some(stdin) }
    }

    fn release(&mut self) {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = writeln!(stdin, "SELECT pg_advisory_unlock({LOCK_KEY});");
        }
        let _ = self.psql.wait();
    }
}

impl Drop for AdvisoryLock {
    fn drop(&mut self) {
        self.release();
    }
}

/// Reads frames until the job's first batch; returns the backend pid the worker reported before its query.
fn first_batch(worker: &mut WorkerStream) -> i32 {
    let mut backend = None;
    loop {
        match worker.next_within(Duration::from_secs(30)) {
            Some(FromWorker::ServerSession(ServerSession::Postgres { backend_pid })) => backend = Some(*backend_pid),
            Some(FromWorker::Columns(_)) => assert!(backend.is_some(), "the session is reported before the query"),
            Some(FromWorker::Batch(_)) => return backend.expect("a session before the rows"),
            Some(FromWorker::Failed(err)) => panic!("the query failed: {err}"),
            Some(FromWorker::Done(_)) | None => panic!("the query ended before its last row could be produced"),
            Some(_) => {}
        }
    }
}

/// Whether `backend` is inside a statement, waiting for an advisory lock.
fn waits_for_lock(db: &PgDb, backend: i32) -> bool {
    psql(db.name(), &format!("SELECT state, wait_event_type, wait_event FROM pg_stat_activity WHERE pid = {backend}"))
        == "active|Lock|advisory"
}

#[test]
fn postgresql_rows_reach_the_reader_while_the_server_still_runs_the_query() {
    let db = pg_scratch();
    let mut lock = AdvisoryLock::hold(&db);
    let mut worker = WorkerStream::start(pg_job(&db, &streamed_query(), 1000));
    let backend = first_batch(&mut worker);
    // The first batch is here, and the query cannot have finished: its last row waits for the test's lock.
    assert!(
        wait_until(Duration::from_secs(10), || waits_for_lock(&db, backend)),
        "the worker's backend {backend} is not waiting for the lock"
    );
    let early = worker.seen.iter().filter(|f| matches!(f, FromWorker::Batch(_))).count();
    assert!(early >= 1);
    lock.release();
    let run = worker.finish();
    assert!(run.failure().is_none(), "{:?}", run.failure());
    assert_eq!(run.rows(), 20_000);
    assert!(run.status.success(), "{}", run.stderr);
}

#[test]
fn a_session_the_server_ends_mid_stream_is_a_typed_error() {
    let db = pg_scratch();
    let _lock = AdvisoryLock::hold(&db);
    let mut worker = WorkerStream::start(pg_job(&db, &streamed_query(), 1000));
    let backend = first_batch(&mut worker);
    assert!(wait_until(Duration::from_secs(10), || waits_for_lock(&db, backend)), "the query is not mid-stream");
    assert_eq!(psql("postgres", &format!("SELECT pg_terminate_backend({backend})")), "t");

    // The rest arrives within a bound (no hang), and ends in a typed failure (no panic, no crash).
    while worker.next_within(Duration::from_secs(30)).is_some() {}
    let run = worker.finish();
    let err = run.failure().unwrap_or_else(|| panic!("no failure reported; stderr: {}", run.stderr));
    // PostgreSQL says why before it closes the socket (FATAL, SQLSTATE 57P01), and the worker passes that on, as a
    // lost connection: the session is gone, not the query wrong.
    assert!(matches!(err, WorkerError::ConnectionLost(_)), "{err:?}");
    assert!(err.to_string().contains("terminating connection due to administrator command"), "{err}");
    assert_eq!(run.status.code(), Some(1), "the worker exits after reporting the failure: {}", run.stderr);
    assert!(run.rows() < 20_000);
}
