//! One worker's life: check the broker's handshake, answer it, run one job, report how it ended.

use std::io::{BufWriter, Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;

use polystoreiq_protocol::frame::write_frame_direct;
use polystoreiq_protocol::types::SourceKind;
use polystoreiq_protocol::worker::{FromWorker, Job, JobDone, SandboxPolicy, SessionLimits, ToWorker, WorkerError};
use polystoreiq_protocol::{FrameError, Hello, Nonce, PeerRole, read_frame};

use crate::{Emit, duck, fault, mongo, mysql, postgres, sandbox};

use polystoreiq_protocol::handshake::WORKER_NONCE_ENV;

/// Reads the spawn nonce from the environment and removes it, so nothing the worker runs later can see it.
pub fn take_spawn_nonce() -> Option<Nonce> {
    let value = std::env::var(WORKER_NONCE_ENV).ok()?;
    // SAFETY: called first thing in `main`, before any other thread exists.
    unsafe { std::env::remove_var(WORKER_NONCE_ENV) };
    Nonce::from_hex(&value)
}

/// Room for a whole batch frame of the default size (8192 rows of ten columns is about 650 KiB), so each frame
/// leaves in one write to the pipe rather than one per column; the pages are touched only as far as frames fill them.
const FRAME_BUFFER: usize = 1 << 20;

/// Serves one job. Returns the process exit code: 0 when the job finished, 1 when it failed and said so,
/// 3 when the broker's handshake was refused.
pub fn serve<R: Read, W: Write + Send>(mut input: R, output: W, nonce: Nonce) -> ExitCode {
    let mut out = FrameSink { out: BufWriter::with_capacity(FRAME_BUFFER, output) };
    let (policy, job, limits) = match handshake(&mut input, &mut out, nonce) {
        Ok(received) => received,
        Err(err) => {
            eprintln!("worker: {err}");
            return ExitCode::from(3);
        }
    };
    // Opened before the sandbox, which may not let the worker open procfs later; read again at the end.
    let mut memory = PeakMemory::open();
    // The sandbox goes up before the job opens anything: no data, no connection, no thread yet.
    let sandboxed = match policy {
        Some(policy) => sandbox::enforce(&policy).map(Some),
        None if cfg!(debug_assertions) => Ok(None),
        None => Err(WorkerError::Refused("a release worker runs only inside a sandbox policy".into())),
    };
    let report = match sandboxed {
        Ok(report) => report,
        Err(err) => {
            let _ = out.send(&FromWorker::Failed(err));
            return ExitCode::from(1);
        }
    };
    if let Some(report) = report
        && let Err(err) = out.send(&FromWorker::Sandboxed(report))
    {
        eprintln!("worker: cannot report the sandbox: {err}");
        return ExitCode::from(4);
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| run_job(job, &limits, &mut out)));
    let result = match outcome {
        Ok(result) => result,
        Err(payload) => Err(WorkerError::Panic(panic_message(payload.as_ref()))),
    };
    let (last, code) = match result {
        Ok(mut done) => {
            done.peak_rss_kb = memory.peak_kb();
            (FromWorker::Done(done), 0)
        }
        Err(err) => (FromWorker::Failed(err), 1),
    };
    if let Err(err) = out.send(&last) {
        eprintln!("worker: cannot report the job's end: {err}");
        return ExitCode::from(4);
    }
    ExitCode::from(code)
}

/// The handshake, then the job, the sandbox policy it must run in (none only from a test harness) and the limits
/// its session pins.
fn handshake<R: Read, W: Write>(
    input: &mut R,
    out: &mut FrameSink<W>,
    nonce: Nonce,
) -> Result<(Option<SandboxPolicy>, Job, SessionLimits), FrameError> {
    match read_frame::<_, ToWorker>(input)? {
        ToWorker::Hello(hello) => hello.check(PeerRole::Broker, Some(nonce))?,
        ToWorker::Job(_) | ToWorker::Run { .. } | ToWorker::Execute { .. } => {
            return Err(FrameError::Handshake("the first frame must be the handshake".into()));
        }
    }
    out.send(&FromWorker::Hello(Hello::new(PeerRole::Worker, nonce)))?;
    match read_frame::<_, ToWorker>(input)? {
        ToWorker::Execute { policy, job, limits } => Ok((policy, job, limits)),
        ToWorker::Run { policy, job } => Ok((Some(policy), job, SessionLimits::DEFAULT)),
        ToWorker::Job(job) => Ok((None, job, SessionLimits::DEFAULT)),
        ToWorker::Hello(_) => Err(FrameError::Handshake("a second handshake instead of a job".into())),
    }
}

fn run_job<W: Write + Send>(job: Job, limits: &SessionLimits, out: &mut FrameSink<W>) -> Result<JobDone, WorkerError> {
    match job {
        Job::Import(job) => duck::import(&job, limits, out),
        Job::Query(job) => duck::query(&job, limits, out),
        Job::Check(job) => duck::check(&job, limits, &mut |frame| {
            out.send(&frame).map_err(|err| WorkerError::Internal(err.to_string()))
        }),
        Job::Fault(fault) => fault::inject(fault, out),
        Job::Database(job) => pipelined(out, |emit| match job.kind {
            SourceKind::Postgres => postgres::run_with(&job, limits, emit),
            SourceKind::Mysql => mysql::run(&job, emit),
            SourceKind::Mongodb => mongo::run(&job, emit),
            SourceKind::Files => Err(WorkerError::Refused(format!("no {:?} connector in this worker", job.kind))),
        }),
    }
}

/// Frames a connector emits waiting to be written: the one being written and one more, so a worker holds at most
/// three batches (these two and the one filling), whatever the result's size.
const FRAMES_IN_FLIGHT: usize = 1;

/// Runs `job` while a second thread writes its frames, in order, to `out`: a database connector converts the next
/// rows while the last batch is copied into the pipe (BENCHMARKS.md, database connectors, 2026-12-05 night). A
/// write that fails (the broker is gone or cancelled us) stops the job at its next frame, and its error is the one
/// reported.
fn pipelined<W: Write + Send>(
    out: &mut FrameSink<W>,
    job: impl FnOnce(&mut Emit<'_>) -> Result<JobDone, WorkerError>,
) -> Result<JobDone, WorkerError> {
    std::thread::scope(|scope| {
        let (frames, pending) = std::sync::mpsc::sync_channel::<FromWorker>(FRAMES_IN_FLIGHT);
        let writer = std::thread::Builder::new()
            .name("frame-writer".into())
            .spawn_scoped(scope, move || pending.into_iter().try_for_each(|frame| out.emit(&frame)))
            .map_err(|err| WorkerError::Internal(format!("cannot start the frame writer: {err}")))?;
        let result =
            job(&mut |frame| frames.send(frame).map_err(|_| WorkerError::Internal("the frame writer stopped".into())));
        drop(frames);
        let written = writer.join().unwrap_or_else(|payload| Err(WorkerError::Panic(panic_message(payload.as_ref()))));
        written.and(result)
    })
}

/// Where a job's frames go: stdout. A frame up to [`FRAME_BUFFER`] is gathered and leaves in one write; a column's
/// bytes larger than that go straight to the pipe, never copied into an intermediate frame.
pub struct FrameSink<W: Write> {
    out: BufWriter<W>,
}

impl<W: Write> FrameSink<W> {
    pub fn send(&mut self, msg: &FromWorker) -> Result<(), FrameError> {
        write_frame_direct(&mut self.out, msg)
    }

    /// Like [`FrameSink::send`], for use inside a job: a broken pipe means the broker is gone or cancelled us.
    pub fn emit(&mut self, msg: &FromWorker) -> Result<(), WorkerError> {
        self.send(msg).map_err(|err| WorkerError::Internal(format!("cannot write to the broker: {err}")))
    }

    /// Raw access for the garbage fault.
    #[cfg(debug_assertions)]
    pub(crate) fn raw(&mut self) -> &mut BufWriter<W> {
        &mut self.out
    }
}

/// The worker's own peak resident set, from `/proc/self/status` (Linux). The file is opened once, before the sandbox,
/// and read again from the start at the end: procfs regenerates it on every read from offset 0.
struct PeakMemory(Option<std::fs::File>);

impl PeakMemory {
    fn open() -> PeakMemory {
        PeakMemory(std::fs::File::open("/proc/self/status").ok())
    }

    /// `VmHWM` in KiB, if this platform reports it.
    fn peak_kb(&mut self) -> Option<u64> {
        use std::io::Seek;
        let file = self.0.as_mut()?;
        file.rewind().ok()?;
        let mut status = String::new();
        file.read_to_string(&mut status).ok()?;
        polystoreiq_protocol::worker::vm_hwm_kb(&status)
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use polystoreiq_protocol::worker::ServerSession;

    fn done(rows: u64) -> JobDone {
        JobDone { rows, truncated: false, elapsed_us: 0, peak_rss_kb: None }
    }

    #[test]
    fn pipelined_frames_arrive_in_order_and_the_jobs_result_is_returned() {
        let mut written = Vec::new();
        let mut out = FrameSink { out: BufWriter::new(&mut written) };
        let result = pipelined(&mut out, |emit| {
            for id in 0..100 {
                emit(FromWorker::ServerSession(ServerSession::Mysql { connection_id: id }))?;
            }
            Ok(done(100))
        });
        assert_eq!(result.unwrap(), done(100));
        drop(out);
        let mut input = written.as_slice();
        for id in 0..100 {
            match read_frame::<_, FromWorker>(&mut input).unwrap() {
                FromWorker::ServerSession(ServerSession::Mysql { connection_id }) => assert_eq!(connection_id, id),
                other => panic!("frame {id}: {other:?}"),
            }
        }
        assert!(input.is_empty(), "nothing after the job's frames");
    }

    /// A pipe whose reader is gone.
    struct Closed;

    impl Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
    }

    #[test]
    fn a_failed_write_stops_the_job_and_is_the_error_reported() {
        let mut out = FrameSink { out: BufWriter::new(Closed) };
        let mut emitted = 0u64;
        let result = pipelined(&mut out, |emit| {
            // A job that would emit forever: only a failing emit stops it.
            loop {
                emit(FromWorker::ServerSession(ServerSession::Mysql { connection_id: emitted }))?;
                emitted += 1;
            }
        });
        match result {
            Err(WorkerError::Internal(message)) => {
                assert!(message.contains("cannot write to the broker"), "{message}")
            }
            other => panic!("expected the write's error, got {other:?}"),
        }
        assert!(emitted <= 1 + FRAMES_IN_FLIGHT as u64, "the job ran on after the write failed: {emitted} frames");
    }
}
