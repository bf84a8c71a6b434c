//! The worker supervisor: admits runs under a concurrency bound, launches one worker per execution, streams its
//! frames, enforces the run's deadline, cancels by killing the worker's process group (a database query is
//! first cancelled on its server, from a second worker), reaps every child, and turns every way a worker can end
//! into an [`Outcome`] or a typed [`RunFailure`].
//!
//! Each worker gets three plain threads (frame pump, stderr tail, reaper) so blocking pipe I/O and `wait4` never
//! stall the async runtime; the run itself is one async loop that races frames against cancel and the deadline.

use std::future::Future;
use std::io::{BufReader, Read};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use polystoreiq_protocol::frame::read_frame_bytes;
use polystoreiq_protocol::types::{ExitInfo, RunId, WorkerKind, WorkerState};
use polystoreiq_protocol::worker::{
    DbAction, DbJob, FromWorker, Job, JobDone, ServerSession, SessionLimits, ToWorker, WorkerError,
};
use polystoreiq_protocol::{ErrorCode, FrameError, Hello, PeerRole, TypedError, codec, read_frame, write_frame};
use tokio::sync::{Notify, Semaphore, mpsc, oneshot};

use crate::health::HealthRegistry;
use crate::launcher::{LaunchedWorker, WorkerLauncher};
use crate::sandbox::{self, SandboxSettings};

/// How long a worker that said it is done may take to exit before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(2);
/// Bytes of a worker's stderr kept for error reports.
const STDERR_TAIL: usize = 4096;
/// How long a stopped database worker's frames are read for the session it may have reported just before the stop.
const SESSION_DRAIN: Duration = Duration::from_millis(10);
/// How long cancelling a stopped run's query on its server may take; the run's worker is killed after it, done or
/// not.
pub const SERVER_CANCEL_DEADLINE: Duration = Duration::from_secs(3);

/// A cloneable cancel handle for one run. Cancelling is racy by nature (the run may finish first); killing the
/// worker is the path that always works.
#[derive(Clone, Default)]
pub struct CancelToken(Arc<CancelState>);

#[derive(Default)]
struct CancelState {
    cancelled: AtomicBool,
    at: Mutex<Option<Instant>>,
    notify: Notify,
}

impl CancelToken {
    pub fn cancel(&self) {
        let mut at = self.0.at.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        at.get_or_insert_with(Instant::now);
        self.0.cancelled.store(true, Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    fn requested_at(&self) -> Option<Instant> {
        *self.0.at.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub async fn cancelled(&self) {
        loop {
            let notified = self.0.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

/// One execution to run in a worker. Cloned to try a connection again (see `service::Broker::execute_source`).
#[derive(Clone)]
pub struct Execution {
    pub run: Option<RunId>,
    pub source: String,
    pub kind: WorkerKind,
    pub job: Job,
    pub deadline: Duration,
    pub cancel: CancelToken,
}

/// What the supervisor reports while a run is under way.
#[derive(Debug)]
pub enum SupervisorEvent {
    Queued {
        position: u32,
    },
    Started {
        pid: u32,
    },
    /// A schema, columns or batch frame from the worker.
    Output(FromWorker),
    /// A cancelled or timed-out database query was cancelled on its server (or that failed), just before its
    /// worker was killed.
    ServerCancel(ServerCancel),
}

/// What cancelling a stopped run's query on its server did.
#[derive(Clone, Debug)]
pub struct ServerCancel {
    pub session: ServerSession,
    /// Server operations stopped (0: nothing was running there any more), or why the cancel failed.
    pub stopped: Result<u64, String>,
    pub elapsed: Duration,
}

impl ServerCancel {
    /// For the audit log, e.g. `server cancel: 1 operation (PostgreSQL backend 4242) in 40 ms`.
    pub fn describe(&self) -> String {
        let session = match &self.session {
            ServerSession::Postgres { backend_pid } => format!("PostgreSQL backend {backend_pid}"),
            ServerSession::Mysql { connection_id } => format!("MySQL connection {connection_id}"),
            ServerSession::Mongodb { comment } => format!("MongoDB operations with comment {comment}"),
        };
        let ms = self.elapsed.as_millis();
        match &self.stopped {
            Ok(1) => format!("server cancel: 1 operation ({session}) in {ms} ms"),
            Ok(n) => format!("server cancel: {n} operations ({session}) in {ms} ms"),
            Err(why) => format!("server cancel failed ({session}) after {ms} ms: {why}"),
        }
    }

    /// What the run's error message adds.
    pub fn note(&self) -> &'static str {
        match self.stopped {
            Ok(0) => "",
            Ok(_) => " The query was cancelled on the server too.",
            Err(_) => {
                " Cancelling the query on the server failed, so it may run there until the server's own time limit."
            }
        }
    }
}

/// A run that finished.
#[derive(Debug)]
pub struct Outcome {
    pub done: JobDone,
    pub pid: u32,
    /// From the spawn call to the worker's handshake.
    pub ready_after: Duration,
}

/// Every way a run can fail.
#[derive(Debug, thiserror::Error)]
pub enum RunFailure {
    #[error("all {running} workers are busy and {queued} runs are waiting")]
    Busy { running: usize, queued: usize, retry_after_ms: u64 },
    #[error("cancelled; the worker was stopped {latency:?} after the request")]
    Cancelled { latency: Duration },
    #[error("the run exceeded its {limit:?} deadline and was stopped")]
    DeadlineExceeded { limit: Duration },
    #[error(transparent)]
    Worker(WorkerError),
    #[error("the worker crashed ({}){}", describe_exit(.exit), tail_suffix(.stderr_tail))]
    Crashed { exit: ExitInfo, stderr_tail: String },
    #[error("the worker ran out of memory ({}{}){}", describe_exit(.exit), oom_note(.exit), tail_suffix(.stderr_tail))]
    OutOfMemory { exit: ExitInfo, stderr_tail: String },
    #[error("the worker broke the protocol: {0}")]
    Protocol(String),
    #[error("cannot start a worker: {0}")]
    Spawn(std::io::Error),
}

impl RunFailure {
    pub fn code(&self) -> ErrorCode {
        match self {
            RunFailure::Busy { .. } => ErrorCode::Busy,
            RunFailure::Cancelled { .. } => ErrorCode::Cancelled,
            RunFailure::DeadlineExceeded { .. } => ErrorCode::DeadlineExceeded,
            RunFailure::Worker(err) => err.code(),
            RunFailure::Crashed { .. } => ErrorCode::WorkerCrashed,
            RunFailure::OutOfMemory { .. } => ErrorCode::WorkerOutOfMemory,
            RunFailure::Protocol(_) => ErrorCode::WorkerProtocol,
            RunFailure::Spawn(_) => ErrorCode::Internal,
        }
    }

    /// The error a front end shows: what happened, and what to do about it.
    pub fn to_typed(&self) -> TypedError {
        let hint = match self {
            RunFailure::Busy { .. } => " Try again shortly.",
            RunFailure::DeadlineExceeded { .. } => {
                " Narrow the query (filters, LIMIT) or raise the run deadline (POLYSTOREIQ_RUN_DEADLINE_MS)."
            }
            RunFailure::Crashed { .. } => " The broker is unaffected; retry, and report it if it happens again.",
            RunFailure::OutOfMemory { .. } => {
                " Aggregate or filter more, or raise the worker memory limit (POLYSTOREIQ_WORKER_MEMORY_MB)."
            }
            _ => "",
        };
        let what = self.to_string();
        let mut err = TypedError::new(self.code(), format!("{}.{hint}", what.trim_end_matches('.')));
        if let RunFailure::Busy { retry_after_ms, .. } = self {
            err.retry_after_ms = Some(*retry_after_ms);
        }
        err
    }

    fn state(&self) -> WorkerState {
        match self {
            RunFailure::Cancelled { .. } => WorkerState::Cancelled,
            RunFailure::DeadlineExceeded { .. } => WorkerState::TimedOut,
            _ => WorkerState::Failed,
        }
    }
}

fn describe_exit(exit: &ExitInfo) -> String {
    match (&exit.signal_name, exit.code) {
        (Some(name), _) => format!("killed by {name}"),
        (None, Some(code)) => format!("exited with code {code} before finishing"),
        (None, None) => "ended for an unknown reason".to_owned(),
    }
}

fn oom_note(exit: &ExitInfo) -> &'static str {
    if exit.signal == Some(libc::SIGKILL) { ", most likely by the kernel's out-of-memory killer" } else { "" }
}

fn tail_suffix(tail: &str) -> String {
    // The last line that says something: skip blank lines and the runtime's backtrace hints.
    let last = tail.lines().rev().map(str::trim).find(|l| !l.is_empty() && !l.starts_with("note:")).unwrap_or("");
    if last.is_empty() { String::new() } else { format!("; its last words: {last}") }
}

/// The pool's occupancy, for diagnostics.
#[derive(Clone, Copy, Debug)]
pub struct PoolLoad {
    pub running: usize,
    pub queued: usize,
    pub max_workers: usize,
    pub queue_bound: usize,
}

pub struct WorkerSupervisor {
    launcher: WorkerLauncher,
    slots: Arc<Semaphore>,
    /// The pool's size; [`WorkerSupervisor::resize`] changes it while workers run.
    max_workers: AtomicUsize,
    queue_bound: usize,
    queued: AtomicUsize,
    health: Arc<HealthRegistry>,
    sandbox: SandboxSettings,
    /// What each worker pins in its session or DuckDB connection; the owner's limits, changed at once.
    session_limits: Mutex<SessionLimits>,
}

enum Pumped {
    Ready,
    Frame(FromWorker),
    Error(FrameError),
}

enum Ending {
    Done(JobDone),
    Stopped(Stop),
}

/// Every ending but success.
enum Stop {
    Failed(WorkerError),
    Cancelled,
    Deadline,
    Protocol(String),
    StdoutClosed,
}

impl WorkerSupervisor {
    pub fn new(launcher: WorkerLauncher, max_workers: usize, queue_bound: usize) -> WorkerSupervisor {
        WorkerSupervisor {
            launcher,
            slots: Arc::new(Semaphore::new(max_workers)),
            max_workers: AtomicUsize::new(max_workers),
            queue_bound,
            queued: AtomicUsize::new(0),
            health: Arc::new(HealthRegistry::default()),
            sandbox: SandboxSettings::default(),
            session_limits: Mutex::new(SessionLimits::DEFAULT),
        }
    }

    /// The limits the next workers pin (PostgreSQL `work_mem` and `temp_file_limit`, DuckDB's temporary space).
    pub fn set_session_limits(&self, limits: SessionLimits) {
        *self.session_limits.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = limits;
    }

    fn session_limits(&self) -> SessionLimits {
        *self.session_limits.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The sandbox settings every worker's policy is built with.
    pub fn with_sandbox(mut self, sandbox: SandboxSettings) -> WorkerSupervisor {
        self.sandbox = sandbox;
        self
    }

    pub fn launcher(&self) -> &WorkerLauncher {
        &self.launcher
    }

    pub fn health(&self) -> &HealthRegistry {
        &self.health
    }

    pub fn load(&self) -> PoolLoad {
        let max_workers = self.max_workers();
        PoolLoad {
            // Right after a shrink, more slots may be free than the new size until the surplus is taken back.
            running: max_workers.saturating_sub(self.slots.available_permits()),
            queued: self.queued.load(Ordering::SeqCst),
            max_workers,
            queue_bound: self.queue_bound,
        }
    }

    fn max_workers(&self) -> usize {
        self.max_workers.load(Ordering::SeqCst)
    }

    /// Changes how many workers run at once. Growing frees slots now; shrinking takes slots back as running
    /// workers finish (none is killed), and runs that arrive meanwhile wait for a slot as usual.
    pub fn resize(&self, workers: usize) {
        let workers = workers.max(1);
        let old = self.max_workers.swap(workers, Ordering::SeqCst);
        if workers > old {
            self.slots.add_permits(workers - old);
        } else if workers < old {
            let surplus = (old - workers) as u32;
            let slots = Arc::clone(&self.slots);
            tokio::spawn(async move {
                if let Ok(permits) = slots.acquire_many_owned(surplus).await {
                    permits.forget();
                }
            });
        }
    }

    /// Runs `exec` in a fresh worker, reporting progress to `sink`. The worker's sandbox is built from the job.
    pub async fn execute(
        &self,
        exec: Execution,
        sink: &mut (dyn FnMut(SupervisorEvent) + Send),
    ) -> Result<Outcome, RunFailure> {
        self.execute_sandboxed_as(exec, None, sink).await
    }

    /// Like [`WorkerSupervisor::execute`] when a worker slot is free now; otherwise [`RunFailure::Busy`] at once,
    /// without queueing: for work that is worth doing only right away, such as a draft's dry run, which must not
    /// hold up a preview behind long runs.
    pub async fn execute_now(
        &self,
        exec: Execution,
        sink: &mut (dyn FnMut(SupervisorEvent) + Send),
    ) -> Result<Outcome, RunFailure> {
        let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() else {
            let queued = self.queued.load(Ordering::SeqCst);
            return Err(RunFailure::Busy { running: self.max_workers(), queued, retry_after_ms: 250 });
        };
        self.run_worker(exec, None, Some(permit), sink).await
    }

    /// Like [`WorkerSupervisor::execute`], with the sandbox of `policy_job` instead of the job's own: the
    /// debug-only probes run inside exactly the sandbox a real job on the same source would get.
    pub async fn execute_sandboxed_as(
        &self,
        exec: Execution,
        policy_job: Option<&Job>,
        sink: &mut (dyn FnMut(SupervisorEvent) + Send),
    ) -> Result<Outcome, RunFailure> {
        let permit = self.admit(&exec.cancel, sink).await?;
        self.run_worker(exec, policy_job, Some(permit), sink).await
    }

    /// Runs `exec` in a fresh worker that holds `permit` (a pool slot) until it is reaped.
    async fn run_worker(
        &self,
        mut exec: Execution,
        policy_job: Option<&Job>,
        permit: Option<tokio::sync::OwnedSemaphorePermit>,
        sink: &mut (dyn FnMut(SupervisorEvent) + Send),
    ) -> Result<Outcome, RunFailure> {
        // Before the worker starts, so the lookup neither holds a started worker nor counts against its deadline.
        sandbox::resolve_host(&mut exec.job, exec.deadline).await;
        let canceller = canceller_for(&exec);
        let spawned_at = Instant::now();
        let LaunchedWorker { pid, nonce, stdin, stdout, stderr, scratch } =
            self.launcher.launch().map_err(RunFailure::Spawn)?;
        self.health.started(pid, exec.kind, &exec.source, exec.run);
        sink(SupervisorEvent::Started { pid });

        let (exit_tx, mut exit_rx) = oneshot::channel();
        spawn_thread(format!("worker-{pid}-reap"), move || {
            let _ = exit_tx.send(reap(pid));
        });
        let tail = Arc::new(Mutex::new(Vec::new()));
        let stderr_done = {
            let tail = Arc::clone(&tail);
            let (tx, rx) = oneshot::channel::<()>();
            spawn_thread(format!("worker-{pid}-stderr"), move || {
                collect_stderr(pid, stderr, &tail);
                let _ = tx.send(());
            });
            rx
        };
        widen_pipe(&stdout);
        let (frames_tx, mut frames) = mpsc::unbounded_channel();
        let policy = sandbox::policy_for(policy_job.unwrap_or(&exec.job), scratch.path(), exec.deadline, &self.sandbox);
        let request = ToWorker::Execute { policy: Some(policy), job: exec.job, limits: self.session_limits() };
        spawn_thread(format!("worker-{pid}-frames"), move || pump(stdin, stdout, nonce, request, &frames_tx));

        let deadline = tokio::time::Instant::now() + exec.deadline;
        let mut ready_after = None;
        let mut session = None;
        let ending = loop {
            tokio::select! {
                biased;
                _ = exec.cancel.cancelled() => break Ending::Stopped(Stop::Cancelled),
                _ = tokio::time::sleep_until(deadline) => break Ending::Stopped(Stop::Deadline),
                pumped = frames.recv() => match pumped {
                    Some(Pumped::Ready) => {
                        ready_after = Some(spawned_at.elapsed());
                        self.health.running(pid);
                    }
                    Some(Pumped::Frame(FromWorker::Done(done))) => break Ending::Done(done),
                    Some(Pumped::Frame(FromWorker::Failed(err))) => break Ending::Stopped(Stop::Failed(err)),
                    Some(Pumped::Frame(FromWorker::Sandboxed(report))) => {
                        self.health.sandboxed(exec.kind, report.clone());
                        sink(SupervisorEvent::Output(FromWorker::Sandboxed(report)));
                    }
                    Some(Pumped::Frame(FromWorker::Hello(_))) => {
                        break Ending::Stopped(Stop::Protocol("a second handshake in the middle of a job".into()))
                    }
                    Some(Pumped::Frame(FromWorker::ServerSession(reported))) => session = Some(reported),
                    Some(Pumped::Frame(frame)) => sink(SupervisorEvent::Output(frame)),
                    Some(Pumped::Error(FrameError::Closed)) | None => break Ending::Stopped(Stop::StdoutClosed),
                    Some(Pumped::Error(err)) => break Ending::Stopped(Stop::Protocol(err.to_string())),
                },
            }
        };
        // The next spare starts now that this run no longer needs the CPU for its start.
        self.launcher.refill();

        let stop = match ending {
            Ending::Done(done) => {
                // The job is complete: answer now, and let the worker exit and be reaped in the background. Its
                // slot stays taken until then, so the pool never holds more live workers than its bound.
                let health = Arc::clone(&self.health);
                let reported_peak = done.peak_rss_kb;
                tokio::spawn(async move {
                    let (exit, reaped_peak) = match tokio::time::timeout(EXIT_GRACE, &mut exit_rx).await {
                        Ok(reaped) => reaped.unwrap_or_else(|_| lost_reaper()),
                        Err(_) => {
                            kill_group(pid);
                            exit_rx.await.unwrap_or_else(|_| lost_reaper())
                        }
                    };
                    let _ = tokio::time::timeout(Duration::from_millis(500), stderr_done).await;
                    drop(scratch);
                    // The worker's own high-water mark where it reported one: `ru_maxrss` also counts the broker's
                    // resident set at fork.
                    let peak_rss_kb = reported_peak.unwrap_or(reaped_peak);
                    health.finished(pid, WorkerState::Finished, exit, peak_rss_kb, None);
                    drop(permit);
                });
                return Ok(Outcome { done, pid, ready_after: ready_after.unwrap_or_default() });
            }
            Ending::Stopped(stop) => stop,
        };
        let mut killed_by_us = false;
        let (exit, peak_rss_kb) = match stop {
            Stop::Failed(_) | Stop::StdoutClosed => match tokio::time::timeout(EXIT_GRACE, &mut exit_rx).await {
                Ok(reaped) => reaped.unwrap_or_else(|_| lost_reaper()),
                Err(_) => {
                    kill_group(pid);
                    killed_by_us = true;
                    exit_rx.await.unwrap_or_else(|_| lost_reaper())
                }
            },
            Stop::Cancelled | Stop::Deadline | Stop::Protocol(_) => {
                // A worker that exited on its own (its job done just as the stop came) may be reaped already, and
                // then its group id may be reused: it gets no signal.
                let mut reaped = exit_rx.try_recv().ok();
                if let (None, Stop::Cancelled | Stop::Deadline, Some(canceller)) = (&reaped, &stop, canceller) {
                    // Freeze the worker first: stopped, it can neither send another statement nor exit (and be
                    // reaped) while its statement is cancelled on the server.
                    signal_group(pid, Signal::SIGSTOP);
                    // A session reported just before the stop may still be on its way from the pipe.
                    while session.is_none() {
                        match tokio::time::timeout(SESSION_DRAIN, frames.recv()).await {
                            Ok(Some(Pumped::Frame(FromWorker::ServerSession(reported)))) => session = Some(reported),
                            Ok(Some(_)) => {}
                            Ok(None) | Err(_) => break,
                        }
                    }
                    if let Some(session) = session {
                        let report = self.cancel_on_server(canceller, session).await;
                        tracing::info!(pid, source = %exec.source, "{}", report.describe());
                        sink(SupervisorEvent::ServerCancel(report));
                    }
                    reaped = exit_rx.try_recv().ok();
                }
                match reaped {
                    Some(reaped) => reaped,
                    None => {
                        // The leader is not reaped yet, so its process group id cannot have been reused.
                        kill_group(pid);
                        killed_by_us = true;
                        exit_rx.await.unwrap_or_else(|_| lost_reaper())
                    }
                }
            }
        };
        let reaped_at = Instant::now();
        // The stderr pipe closes once the whole group is gone; bounded wait regardless.
        let _ = tokio::time::timeout(Duration::from_millis(500), stderr_done).await;
        let stderr_tail = String::from_utf8_lossy(&tail.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
        drop(scratch);
        drop(permit);

        let failure = match stop {
            Stop::Failed(err) => RunFailure::Worker(err),
            Stop::Cancelled => {
                let latency = exec.cancel.requested_at().map_or(Duration::ZERO, |at| reaped_at - at);
                RunFailure::Cancelled { latency }
            }
            Stop::Deadline => RunFailure::DeadlineExceeded { limit: exec.deadline },
            Stop::Protocol(message) => RunFailure::Protocol(message),
            Stop::StdoutClosed => classify_death(exit.clone(), stderr_tail, killed_by_us),
        };
        self.health.finished(pid, failure.state(), exit, peak_rss_kb, Some(failure.code()));
        tracing::info!(pid, source = %exec.source, "worker run failed: {failure}");
        Err(failure)
    }

    /// Cancels a frozen worker's query on its server from a fresh worker (`canceller`, built by [`canceller_for`],
    /// given the session). The cancel worker skips the queue: it stands in for the worker it cancels, whose slot is
    /// still taken, so a full pool cannot hold it up. It ends within [`SERVER_CANCEL_DEADLINE`] (its deadline kills
    /// it), and is never cancelled on a server itself: its token is its own and its job is no query.
    fn cancel_on_server(
        &self,
        mut canceller: Execution,
        session: ServerSession,
    ) -> Pin<Box<dyn Future<Output = ServerCancel> + Send + '_>> {
        Box::pin(async move {
            if let Job::Database(job) = &mut canceller.job {
                job.action = DbAction::Cancel { session: session.clone() };
            }
            let started = Instant::now();
            let stopped = match self.run_worker(canceller, None, None, &mut |_| {}).await {
                Ok(outcome) => Ok(outcome.done.rows),
                Err(failure) => Err(failure.to_string()),
            };
            ServerCancel { session, stopped, elapsed: started.elapsed() }
        })
    }

    /// Waits for a worker slot, or refuses when too many runs already wait.
    async fn admit(
        &self,
        cancel: &CancelToken,
        sink: &mut (dyn FnMut(SupervisorEvent) + Send),
    ) -> Result<tokio::sync::OwnedSemaphorePermit, RunFailure> {
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(permit);
        }
        let position = self.queued.fetch_add(1, Ordering::SeqCst) + 1;
        if position > self.queue_bound {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            let max_workers = self.max_workers();
            let retry_after_ms = 250 * (1 + (position / max_workers.max(1)) as u64);
            return Err(RunFailure::Busy { running: max_workers, queued: position - 1, retry_after_ms });
        }
        sink(SupervisorEvent::Queued { position: position as u32 });
        let acquired = tokio::select! {
            permit = Arc::clone(&self.slots).acquire_owned() => Some(permit),
            _ = cancel.cancelled() => None,
        };
        self.queued.fetch_sub(1, Ordering::SeqCst);
        match acquired {
            Some(Ok(permit)) => Ok(permit),
            Some(Err(_)) => Err(RunFailure::Spawn(std::io::Error::other("the worker pool is shut down"))),
            None => Err(RunFailure::Cancelled { latency: Duration::ZERO }),
        }
    }
}

/// The pump's read buffer. Small frames (handshake, progress, the end) arrive several to one read; the bulk of a
/// batch frame, larger than this, is read straight into the frame's payload, since `BufReader` hands a large read
/// to the pipe once its buffer is empty. A buffer as large as a batch (1 MiB until 2026-12-06) copied every byte
/// once more on the way.
const PUMP_BUFFER: usize = 64 * 1024;

/// Handshake, job, then every frame until the job's end, forwarded to the async side.
fn pump(
    mut stdin: std::process::ChildStdin,
    stdout: std::process::ChildStdout,
    nonce: polystoreiq_protocol::Nonce,
    request: ToWorker,
    tx: &mpsc::UnboundedSender<Pumped>,
) {
    let mut stdout = BufReader::with_capacity(PUMP_BUFFER, stdout);
    let handshake = (|| {
        write_frame(&mut stdin, &ToWorker::Hello(Hello::new(PeerRole::Broker, nonce)))?;
        match read_frame::<_, FromWorker>(&mut stdout)? {
            FromWorker::Hello(hello) => hello.check(PeerRole::Worker, Some(nonce))?,
            _ => return Err(FrameError::Handshake("the worker's first frame was not a handshake".into())),
        }
        let _ = tx.send(Pumped::Ready);
        write_frame(&mut stdin, &request)
    })();
    drop(stdin);
    if let Err(err) = handshake {
        // A worker that died before answering shows up as a closed pipe; the exit status says why.
        let err = match err {
            FrameError::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe => FrameError::Closed,
            other => other,
        };
        let _ = tx.send(Pumped::Error(err));
        return;
    }
    let mut payload = Vec::new();
    loop {
        let frame = read_frame_bytes(&mut stdout, &mut payload).and_then(|()| codec::decode::<FromWorker>(&payload));
        match frame {
            Ok(frame) => {
                let last = matches!(frame, FromWorker::Done(_) | FromWorker::Failed(_));
                if tx.send(Pumped::Frame(frame)).is_err() || last {
                    return;
                }
            }
            Err(err) => {
                let _ = tx.send(Pumped::Error(err));
                return;
            }
        }
    }
}

fn collect_stderr(pid: u32, mut stderr: std::process::ChildStderr, tail: &Mutex<Vec<u8>>) {
    let mut buf = [0u8; 4096];
    loop {
        match stderr.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let chunk = &buf[..n];
                for line in String::from_utf8_lossy(chunk).lines() {
                    tracing::debug!(pid, "worker stderr: {line}");
                }
                let mut tail = tail.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                tail.extend_from_slice(chunk);
                if tail.len() > STDERR_TAIL {
                    let cut = tail.len() - STDERR_TAIL;
                    tail.drain(..cut);
                }
            }
        }
    }
}

/// Blocks until `pid` exits; returns how, and its peak RSS in KiB.
fn reap(pid: u32) -> (ExitInfo, u64) {
    let mut status: libc::c_int = 0;
    // SAFETY: zeroed rusage is a valid value; wait4 fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: valid pointers to locals; `pid` is our own child.
        let rc = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
        if rc == pid as libc::pid_t {
            break;
        }
        if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return (ExitInfo { code: None, signal: None, signal_name: None }, 0);
        }
    }
    let peak_rss_kb = if cfg!(target_os = "macos") { usage.ru_maxrss as u64 / 1024 } else { usage.ru_maxrss as u64 };
    let exit = if libc::WIFSIGNALED(status) {
        let signal = libc::WTERMSIG(status);
        ExitInfo { code: None, signal: Some(signal), signal_name: Signal::try_from(signal).ok().map(|s| s.to_string()) }
    } else {
        ExitInfo { code: Some(libc::WEXITSTATUS(status)), signal: None, signal_name: None }
    };
    (exit, peak_rss_kb)
}

/// A 1 MiB pipe (Linux's default is 64 KiB) lets a worker write whole batches without waiting on the broker.
fn widen_pipe(stdout: &std::process::ChildStdout) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: F_SETPIPE_SZ on a pipe we own; failure (e.g. over the system maximum) only keeps the default.
        unsafe { libc::fcntl(stdout.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20) };
    }
    #[cfg(not(target_os = "linux"))]
    let _ = stdout;
}

fn lost_reaper() -> (ExitInfo, u64) {
    (ExitInfo { code: None, signal: None, signal_name: None }, 0)
}

fn kill_group(pid: u32) {
    signal_group(pid, Signal::SIGKILL);
}

fn signal_group(pid: u32, signal: Signal) {
    let _ = killpg(Pid::from_raw(pid as i32), signal);
}

/// For a database query, the execution that can cancel it on its server: the same source, target and
/// credentials, a fresh cancel token and a short deadline (its action is set once the session is known).
fn canceller_for(exec: &Execution) -> Option<Execution> {
    match &exec.job {
        Job::Database(DbJob { action: DbAction::Query { .. }, .. }) => {
            Some(Execution { deadline: SERVER_CANCEL_DEADLINE, cancel: CancelToken::default(), ..exec.clone() })
        }
        _ => None,
    }
}

/// Why a worker's stdout closed without the job's end.
fn classify_death(exit: ExitInfo, stderr_tail: String, killed_by_us: bool) -> RunFailure {
    let out_of_memory = stderr_tail.contains("memory allocation of")
        || stderr_tail.contains("std::bad_alloc")
        || (exit.signal == Some(libc::SIGKILL) && !killed_by_us);
    if out_of_memory {
        RunFailure::OutOfMemory { exit, stderr_tail }
    } else {
        RunFailure::Crashed { exit, stderr_tail }
    }
}

fn spawn_thread(name: String, f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new().name(name).spawn(f).expect("the OS refused to start a supervisor thread");
}
