//! The worker supervisor seen from outside: cancel kills the worker, crashes become typed errors, deadlines
//! and the queue bound hold, and the broker keeps serving throughout.

use std::time::{Duration, Instant};

use polystoreiq_tests::fixtures;

use crate::support::{ENDLESS_QUERY, Profile, group_members, parse_last_json, process_exists, wait_gone};

fn demo_profile(env: &[(&str, &str)]) -> Profile {
    let p = Profile::with_env(env);
    fixtures::write_demo(p.data.path()).expect("demo data");
    p.add_files("demo", &[p.data_path("customers.csv"), p.data_path("orders.parquet")]);
    p
}

fn worker_entry(p: &Profile, pid: u32) -> serde_json::Value {
    let diag = p.diag();
    diag["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["pid"].as_u64() == Some(u64::from(pid)))
        .cloned()
        .unwrap_or_else(|| panic!("worker {pid} not in {diag}"))
}

#[test]
fn cancel_kills_the_worker_and_its_group_within_500ms() {
    let p = demo_profile(&[]);
    let query = p.spawn(&["query", "demo", "--sql", ENDLESS_QUERY, "--yes"]);
    let (pid, run) = p.wait_for_run_worker();
    std::thread::sleep(Duration::from_millis(200)); // let DuckDB get busy

    let asked = Instant::now();
    let reply = p.ok(&["cancel", &run.to_string()]);
    assert_eq!(reply["run"], run);
    let gone = wait_gone(pid, Duration::from_secs(5)).map(|_| asked.elapsed());
    let gone = gone.unwrap_or_else(|| panic!("worker {pid} still exists 5 s after cancel"));
    assert!(gone < Duration::from_millis(500), "worker gone only after {gone:?}");
    assert!(group_members(pid).is_empty(), "no orphan left in the worker's process group");

    let out = query.wait_with_output().unwrap();
    assert!(!out.status.success());
    let err = parse_last_json(&String::from_utf8_lossy(&out.stdout))["error"].clone();
    assert_eq!(err["code"], "cancelled", "{err}");

    let entry = worker_entry(&p, pid);
    assert_eq!(entry["state"], "cancelled");
    assert_eq!(entry["exit"]["signal_name"], "SIGKILL");
    // The broker serves the next query.
    assert_eq!(p.query("demo", "SELECT count(*) AS n FROM customers")["first_page"]["rows"][0]["n"], 5000);
}

#[test]
fn crashing_workers_become_typed_errors_and_the_broker_keeps_serving() {
    let p = demo_profile(&[("POLYSTOREIQ_WORKER_MEMORY_MB", "1536"), ("POLYSTOREIQ_DUCKDB_MEMORY_MB", "256")]);
    let broker = p.broker_pid().expect("broker running");
    let cases = [
        ("segfault", "worker_crashed", "SIGSEGV"),
        ("abort", "worker_crashed", "SIGABRT"),
        ("oom", "worker_out_of_memory", "memory"),
        ("garbage", "worker_protocol", "exceeds"),
        ("panic", "worker_crashed", "injected panic"),
        ("exit", "worker_crashed", "exited with code 7"),
    ];
    for (fault, code, fragment) in cases {
        let err = p.err(&["debug-fault", "demo", fault]);
        assert_eq!(err["code"], code, "{fault}: {err}");
        assert!(err["message"].as_str().unwrap().contains(fragment), "{fault}: {err}");
        let n = p.query("demo", "SELECT count(*) AS n FROM orders")["first_page"]["rows"][0]["n"].clone();
        assert_eq!(n, fixtures::DEMO_ORDERS, "the next query after {fault} works");
    }
    assert_eq!(p.broker_pid(), Some(broker), "the same broker served throughout");

    let diag = p.settled_diag();
    let failed: Vec<_> = diag["workers"].as_array().unwrap().iter().filter(|w| w["state"] == "failed").collect();
    assert_eq!(failed.len(), cases.len(), "{diag}");
    let signals: Vec<_> = failed.iter().filter_map(|w| w["exit"]["signal_name"].as_str()).collect();
    assert!(signals.contains(&"SIGSEGV") && signals.contains(&"SIGABRT"), "{signals:?}");
    for worker in &failed {
        assert!(!process_exists(worker["pid"].as_u64().unwrap() as u32), "reaped: {worker}");
    }
}

/// Signals from outside, as a crashing library or the kernel's OOM killer would send them. (A SIGSEGV sent
/// with kill(2) is not used here: the Rust runtime's stack-overflow handler swallows the first one when no
/// instruction faulted; the real null-pointer fault is covered by the `segfault` case above.)
#[test]
fn signals_from_outside_are_reported_as_typed_errors() {
    let p = demo_profile(&[]);
    for (signal, code, fragment) in [
        (nix::sys::signal::Signal::SIGABRT, "worker_crashed", "SIGABRT"),
        (nix::sys::signal::Signal::SIGKILL, "worker_out_of_memory", "out-of-memory killer"),
    ] {
        let query = p.spawn(&["query", "demo", "--sql", ENDLESS_QUERY, "--yes"]);
        let (pid, _) = p.wait_for_run_worker();
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal).unwrap();
        let out = query.wait_with_output().unwrap();
        let err = parse_last_json(&String::from_utf8_lossy(&out.stdout))["error"].clone();
        assert_eq!(err["code"], code, "{signal}: {err}");
        assert!(err["message"].as_str().unwrap().contains(fragment), "{signal}: {err}");
        assert_eq!(worker_entry(&p, pid)["state"], "failed");
        assert!(wait_gone(pid, Duration::from_secs(2)).is_some(), "reaped");
    }
}

#[test]
fn a_runaway_query_is_killed_at_its_deadline() {
    let p = demo_profile(&[("POLYSTOREIQ_RUN_DEADLINE_MS", "1500")]);
    let started = Instant::now();
    let err = p.err(&["query", "demo", "--sql", ENDLESS_QUERY, "--yes"]);
    assert_eq!(err["code"], "deadline_exceeded", "{err}");
    assert!(started.elapsed() < Duration::from_secs(20));
    let diag = p.diag();
    let worker =
        diag["workers"].as_array().unwrap().iter().find(|w| w["state"] == "timed_out").expect("timed-out worker");
    assert!(!process_exists(worker["pid"].as_u64().unwrap() as u32));
}

#[test]
fn a_full_queue_answers_busy_with_a_retry_hint() {
    let p = demo_profile(&[("POLYSTOREIQ_MAX_WORKERS", "1"), ("POLYSTOREIQ_QUEUE_BOUND", "1")]);
    let first = p.spawn(&["query", "demo", "--sql", ENDLESS_QUERY, "--yes"]);
    let (_, first_run) = p.wait_for_run_worker();
    let second = p.spawn(&["query", "demo", "--sql", ENDLESS_QUERY, "--yes"]);
    let waited = Instant::now();
    while p.diag()["pool"]["queued"] != 1 {
        assert!(waited.elapsed() < Duration::from_secs(30), "the second run never queued");
        std::thread::sleep(Duration::from_millis(20));
    }
    let err = p.err(&["query", "demo", "--sql", "SELECT 1 AS one", "--yes"]);
    assert_eq!(err["code"], "busy", "{err}");
    assert!(err["retry_after_ms"].as_u64().unwrap() > 0, "{err}");

    // Cancelling the first lets the queued run start.
    p.ok(&["cancel", &first_run.to_string()]);
    let started = Instant::now();
    let second_run = loop {
        let diag = p.diag();
        let running = diag["workers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["state"] == "running" && w["run"].as_u64() != Some(first_run))
            .and_then(|w| w["run"].as_u64());
        if let Some(run) = running {
            break run;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the queued run never started");
        std::thread::sleep(Duration::from_millis(20));
    };
    p.ok(&["cancel", &second_run.to_string()]);
    for child in [first, second] {
        let out = child.wait_with_output().unwrap();
        let err = parse_last_json(&String::from_utf8_lossy(&out.stdout))["error"].clone();
        assert_eq!(err["code"], "cancelled");
    }
}

#[test]
fn ctrl_c_on_psiq_cancels_its_run_and_kills_the_worker() {
    let p = demo_profile(&[]);
    let query = p.spawn(&["query", "demo", "--sql", ENDLESS_QUERY, "--yes"]);
    let (pid, run) = p.wait_for_run_worker();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(query.id() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let out = query.wait_with_output().unwrap();
    let err = parse_last_json(&String::from_utf8_lossy(&out.stdout))["error"].clone();
    assert_eq!(err["code"], "cancelled", "{err}");
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("cancelling run {run}")));
    assert!(wait_gone(pid, Duration::from_secs(2)).is_some(), "the worker is gone");
    let audit = p.ok(&["audit", "--action", "run.cancel"]);
    assert_eq!(audit.as_array().unwrap().len(), 1, "{audit}");
}

/// A run takes the spare worker, and the next spare starts only once that run has ended: loading the worker's
/// executable and libduckdb would otherwise take CPU from the run that has just claimed the last spare.
#[test]
fn a_run_takes_the_spare_worker_and_the_next_spare_starts_after_it() {
    use polystoreiq_broker::launcher::WorkerLauncher;
    use polystoreiq_broker::supervisor::{CancelToken, Execution, SupervisorEvent, WorkerSupervisor};
    use polystoreiq_protocol::types::WorkerKind;
    use polystoreiq_protocol::worker::{DuckLimits, FileSource, FromWorker, Job, QueryJob};

    let scratch = tempfile::tempdir().unwrap();
    let launcher =
        WorkerLauncher::new(crate::support::bin_dir().join("polystoreiq-worker"), scratch.path().into(), 0, true);
    let supervisor = WorkerSupervisor::new(launcher, 2, 4);
    let spare = |limit: Duration| {
        let waiting = Instant::now();
        loop {
            if let Some(pid) = supervisor.launcher().spare_pid() {
                return pid;
            }
            assert!(waiting.elapsed() < limit, "no spare worker {limit:?} after asking for one");
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    let first_spare = spare(Duration::from_secs(10));

    let limits = DuckLimits { memory_limit_mb: 256, threads: 1, max_file_bytes: 1 << 20 };
    let source = FileSource { tables: Vec::new(), database: None };
    let job = Job::Query(QueryJob { source, sql: "SELECT 1 AS one".into(), row_limit: 10, batch_rows: 10, limits });
    let exec = Execution {
        run: None,
        source: "spare".into(),
        kind: WorkerKind::Duckdb,
        job,
        deadline: Duration::from_secs(60),
        cancel: CancelToken::default(),
    };
    let (mut events, mut rows, mut spares_seen) = (0, 0, Vec::new());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let outcome = runtime
        .block_on(supervisor.execute(exec, &mut |event| {
            events += 1;
            spares_seen.extend(supervisor.launcher().spare_pid());
            if let SupervisorEvent::Output(FromWorker::Batch(batch)) = event {
                rows += batch.row_count();
            }
        }))
        .expect("SELECT 1 runs");
    assert_eq!(outcome.pid, first_spare, "the run used the spare worker");
    assert_eq!(rows, 1);
    assert!(events >= 3, "Started, Columns and a Batch at least; saw {events} events");
    assert!(spares_seen.is_empty(), "a spare was started while the run went on: {spares_seen:?}");

    let next_spare = spare(Duration::from_secs(10));
    assert_ne!(next_spare, first_spare, "a new spare, not the one the run used");
}
