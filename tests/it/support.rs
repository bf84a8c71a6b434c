//! Test support: a throw-away profile with its own broker, driven through the real `psiq` binary.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

/// The directory holding the workspace's binaries (next to this test executable's `deps/`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe.parent().and_then(Path::parent).expect("target dir").to_path_buf();
    for bin in ["psiq", "polystoreiq-broker", "polystoreiq-worker"] {
        assert!(
            dir.join(bin).exists(),
            "{bin} is not built in {}; run `cargo build --workspace --bins` first (scripts/test does)",
            dir.display()
        );
    }
    dir
}

/// A profile directory with its own broker, stopped when dropped.
pub struct Profile {
    pub home: TempDir,
    pub data: TempDir,
    env: Vec<(String, String)>,
}

/// Writes `input` to a psiq's stdin and closes it. psiq may end before it reads its input (a refusal): the
/// closed pipe is then no failure of the test.
pub fn feed(mut stdin: std::process::ChildStdin, input: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    match stdin.write_all(input) {
        Err(err) if err.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        written => written,
    }
}

impl Profile {
    pub fn new() -> Profile {
        Profile::with_env(&[])
    }

    /// A profile whose broker starts with these `POLYSTOREIQ_*` settings.
    pub fn with_env(env: &[(&str, &str)]) -> Profile {
        // 0700, as the client makes a profile: the broker would otherwise fix (and audit) a wider mode at start.
        let home = tempfile::Builder::new()
            .prefix("psiq-home")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir()
            .expect("temp home");
        Profile {
            home,
            data: tempfile::Builder::new().prefix("psiq-data").tempdir().expect("temp data"),
            env: env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        }
    }

    pub fn data_path(&self, name: &str) -> String {
        self.data.path().join(name).to_string_lossy().into_owned()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.plain_command(&[]);
        cmd.arg("--json").args(args);
        cmd
    }

    /// psiq with human-readable output.
    pub fn plain_command(&self, args: &[&str]) -> Command {
        #[allow(clippy::disallowed_methods)] // Tests drive the real CLI binary.
        let mut cmd = Command::new(bin_dir().join("psiq"));
        cmd.arg("--home").arg(self.home.path()).args(args);
        cmd.env_remove("POLYSTOREIQ_HOME");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).stdin(Stdio::null()).output().expect("psiq runs")
    }

    /// Runs psiq and returns its JSON output, asserting success.
    pub fn ok(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "psiq {args:?} failed: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        parse_last_json(&stdout)
    }

    /// Runs psiq with `input` on its standard input.
    pub fn run_with_stdin(&self, args: &[&str], input: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("psiq");
        feed(child.stdin.take().expect("stdin"), input.as_bytes()).expect("write stdin");
        child.wait_with_output().expect("psiq output")
    }

    /// Runs psiq and returns its error object, asserting failure.
    pub fn err(&self, args: &[&str]) -> Value {
        let out = self.run(args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "psiq {args:?} unexpectedly succeeded: {stdout}");
        parse_last_json(&stdout)["error"].clone()
    }

    /// Starts psiq in the background.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("psiq")
    }

    /// Adds the files at `paths` as the files source `name`, asserting success; the source's info.
    pub fn add_files(&self, name: &str, paths: &[impl AsRef<Path>]) -> Value {
        let paths: Vec<String> = paths.iter().map(|p| p.as_ref().to_string_lossy().into_owned()).collect();
        let mut args = vec!["source", "add", name, "--kind", "files", "--path"];
        args.extend(paths.iter().map(String::as_str));
        self.ok(&args)
    }

    /// Drafts `sql` on `source` and returns the approval token.
    pub fn token(&self, source: &str, sql: &str) -> String {
        let draft = self.ok(&["query", source, "--sql", sql]);
        draft["token"].as_str().unwrap_or_else(|| panic!("no token in {draft}")).to_owned()
    }

    /// Runs `sql` on `source` and returns the run summary.
    pub fn query(&self, source: &str, sql: &str) -> Value {
        self.ok(&["query", source, "--sql", sql, "--yes"])
    }

    /// The diagnostics report.
    pub fn diag(&self) -> Value {
        self.ok(&["diag"])
    }

    /// The diagnostics report once every worker has ended (a finished run's worker is reaped just after its
    /// answer is sent).
    pub fn settled_diag(&self) -> Value {
        let started = Instant::now();
        loop {
            let diag = self.diag();
            let busy = diag["workers"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|w| w["state"] == "running" || w["state"] == "starting");
            if !busy || started.elapsed() > Duration::from_secs(10) {
                return diag;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for the next running worker (any run) and returns (pid, run id).
    pub fn wait_for_any_worker(&self) -> (u32, Option<u64>) {
        self.wait_for_worker(|_| true)
    }

    /// Waits until a run's worker is running (not a draft's dry run); returns its pid and run id.
    pub fn wait_for_run_worker(&self) -> (u32, u64) {
        let (pid, run) = self.wait_for_worker(|w| w["run"].is_u64());
        (pid, run.expect("a run's worker"))
    }

    fn wait_for_worker(&self, wanted: impl Fn(&Value) -> bool) -> (u32, Option<u64>) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            let diag = self.diag();
            let mut workers = diag["workers"].as_array().into_iter().flatten();
            if let Some(worker) = workers.find(|w| w["state"] == "running" && wanted(w)) {
                return (worker["pid"].as_u64().expect("pid") as u32, worker["run"].as_u64());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no running worker appeared");
    }

    /// Stops the broker and waits until its process is gone (so the next command starts a fresh one).
    pub fn stop_broker(&self) {
        let pid = self.broker_pid();
        self.ok(&["broker", "stop"]);
        if let Some(pid) = pid {
            assert!(wait_gone(pid, Duration::from_secs(10)).is_some(), "broker {pid} did not stop");
        }
    }

    /// Kills the broker outright (as a user or an attacker could) and waits until it is gone: no `Shutdown`,
    /// which a locked profile refuses.
    pub fn kill_broker(&self) {
        if let Some(pid) = self.broker_pid().filter(|pid| process_exists(*pid)) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGKILL);
            assert!(wait_gone(pid, Duration::from_secs(10)).is_some(), "broker {pid} did not die");
        }
    }

    /// The profile's app-state database, opened directly (as an attacker or a curious user could).
    pub fn database(&self) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(self.home.path().join("state.sqlite3")).expect("state database");
        conn.busy_timeout(Duration::from_secs(5)).unwrap();
        conn
    }

    /// The broker's pid, from its lock file.
    pub fn broker_pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.home.path().join("broker.lock")).ok()?.trim().parse().ok()
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let stopped = self.run(&["broker", "stop"]).status.success();
        if !stopped {
            // A locked profile's broker refuses `Shutdown`; a test may leave it locked.
            self.kill_broker();
        }
        if let Some(pid) = self.broker_pid() {
            // Wait briefly for the broker to exit so the temp dir can go.
            let started = Instant::now();
            while process_exists(pid) && started.elapsed() < Duration::from_secs(5) {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// The first column of every row `sql` returns, as text.
pub fn strings(db: &rusqlite::Connection, sql: &str) -> Vec<String> {
    db.prepare(sql).unwrap().query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

/// The last JSON document psiq printed (runs print only one).
pub fn parse_last_json(stdout: &str) -> Value {
    let line = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("null");
    serde_json::from_str(line).unwrap_or_else(|err| panic!("not JSON ({err}): {stdout}"))
}

/// True while `/proc/PID` exists, zombies included.
pub fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Pids of every live process whose process group is `pgid`.
pub fn group_members(pgid: u32) -> Vec<u32> {
    let mut members = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else { return members };
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // Fields after the parenthesised command name: state ppid pgrp ...
        let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(2).and_then(|g| g.parse::<u32>().ok()) == Some(pgid) {
            members.push(pid);
        }
    }
    members
}

/// Waits up to `limit` for `pid` to disappear; returns how long it took, or None.
pub fn wait_gone(pid: u32, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if !process_exists(pid) {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    None
}

/// A query that runs until it is stopped (for tens of seconds on these machines: 1e8 MD5s), within the guardrail's
/// bound of 1e8 generated rows.
pub const ENDLESS_QUERY: &str =
    "SELECT max(md5(a.range::VARCHAR || b.range::VARCHAR)) AS s FROM range(10000) a, range(10000) b";

/// Everything one worker said about one job, run with no broker (and so no guardrail) in front of it.
pub struct WorkerRun {
    pub frames: Vec<polystoreiq_protocol::worker::FromWorker>,
    pub status: std::process::ExitStatus,
    pub stderr: String,
}

impl WorkerRun {
    /// The worker's typed failure, if the job failed.
    pub fn failure(&self) -> Option<&polystoreiq_protocol::worker::WorkerError> {
        self.frames.iter().find_map(|f| match f {
            polystoreiq_protocol::worker::FromWorker::Failed(err) => Some(err),
            _ => None,
        })
    }

    /// Rows the job sent.
    pub fn rows(&self) -> u64 {
        self.frames
            .iter()
            .map(|f| match f {
                polystoreiq_protocol::worker::FromWorker::Batch(b) => b.row_count() as u64,
                _ => 0,
            })
            .sum()
    }
}

/// Runs `job` in a real worker process started by hand: the handshake as the broker would do it, then the job,
/// and nothing in front of it. The database-layer tests use this to show what the database itself refuses.
pub fn run_worker_job(job: polystoreiq_protocol::worker::Job) -> WorkerRun {
    WorkerStream::start(job).finish()
}

/// Like [`run_worker_job`], with the session limits the broker would send and the working directory the launcher
/// would give it (its scratch directory).
pub fn run_worker_job_with(
    job: polystoreiq_protocol::worker::Job,
    limits: polystoreiq_protocol::worker::SessionLimits,
    cwd: &Path,
) -> WorkerRun {
    WorkerStream::start_with(job, Some(limits), Some(cwd)).finish()
}

/// A worker started by hand as [`run_worker_job`] does, whose frames are read one at a time as they arrive: what a
/// test needs to act while the job still runs.
pub struct WorkerStream {
    child: Child,
    stdin: Option<std::process::ChildStdin>,
    frames: std::sync::mpsc::Receiver<polystoreiq_protocol::worker::FromWorker>,
    /// Every frame read so far.
    pub seen: Vec<polystoreiq_protocol::worker::FromWorker>,
}

impl WorkerStream {
    pub fn start(job: polystoreiq_protocol::worker::Job) -> WorkerStream {
        WorkerStream::start_with(job, None, None)
    }

    /// Starts a worker on `job`, sent with `limits` as the broker sends it (`ToWorker::Execute`, no sandbox), or
    /// alone (`ToWorker::Job`) when there are none; in `cwd` when given.
    pub fn start_with(
        job: polystoreiq_protocol::worker::Job,
        limits: Option<polystoreiq_protocol::worker::SessionLimits>,
        cwd: Option<&Path>,
    ) -> WorkerStream {
        use polystoreiq_protocol::worker::{FromWorker, ToWorker};
        use polystoreiq_protocol::{Hello, Nonce, PeerRole, read_frame, write_frame};
        use std::io::Write;

        let nonce = Nonce([42; 16]);
        #[allow(clippy::disallowed_methods)] // The test starts the worker by hand on purpose.
        let mut command = Command::new(bin_dir().join("polystoreiq-worker"));
        if let Some(cwd) = cwd {
            command.current_dir(cwd);
        }
        let mut child = command
            .env_clear()
            .env("POLYSTOREIQ_WORKER_NONCE", nonce.to_hex())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("worker starts");
        let mut stdin = child.stdin.take().expect("stdin");
        let mut stdout = child.stdout.take().expect("stdout");
        write_frame(&mut stdin, &ToWorker::Hello(Hello::new(PeerRole::Broker, nonce))).expect("handshake");
        let request = match limits {
            Some(limits) => ToWorker::Execute { policy: None, job, limits },
            None => ToWorker::Job(job),
        };
        write_frame(&mut stdin, &request).expect("job");
        stdin.flush().expect("flush");
        // Frames are read on their own thread, so a test can wait for the next one with a time limit.
        let (tx, frames) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            while let Ok(frame) = read_frame::<_, FromWorker>(&mut stdout) {
                let last = matches!(frame, FromWorker::Done(_) | FromWorker::Failed(_));
                if tx.send(frame).is_err() || last {
                    break;
                }
            }
        });
        WorkerStream { child, stdin: Some(stdin), frames, seen: Vec::new() }
    }

    /// The next frame, or `None` once the worker has sent its last. Panics when none comes within `limit`: the
    /// worker hangs.
    pub fn next_within(&mut self, limit: Duration) -> Option<&polystoreiq_protocol::worker::FromWorker> {
        match self.frames.recv_timeout(limit) {
            Ok(frame) => {
                self.seen.push(frame);
                self.seen.last()
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => None,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                panic!("the worker sent nothing for {limit:?}; it hangs. Frames so far: {}", self.seen.len())
            }
        }
    }

    /// Reads the rest of the job's frames and waits for the worker to exit.
    pub fn finish(mut self) -> WorkerRun {
        self.seen.extend(self.frames.iter());
        drop(self.stdin.take());
        let out = self.child.wait_with_output().expect("worker exits");
        WorkerRun { frames: self.seen, status: out.status, stderr: String::from_utf8_lossy(&out.stderr).into_owned() }
    }
}
