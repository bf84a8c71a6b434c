//! The one way a worker process is started. Every spawn goes through [`WorkerLauncher::launch`].
//!
//! A worker gets: its own process group (so cancel kills everything it started), an empty environment but for
//! its spawn nonce, no inherited descriptors beyond its three pipes, a fresh scratch directory as its working
//! directory (removed when the run ends), no core dumps, and an address-space limit. The OS sandbox proper
//! (landlock, seccomp, seatbelt) is applied by the worker itself, after the handshake and before it opens data,
//! from the policy the supervisor sends with the job (see `sandbox.rs`).

use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStderr, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};

use polystoreiq_protocol::Nonce;
use polystoreiq_protocol::handshake::WORKER_NONCE_ENV;

/// Starts workers. Keeps one spare worker started ahead of time (when `warm` is on), so a run does not wait
/// for the executable and libduckdb to load: the spare has exec'd and waits for its handshake, holding no data
/// and no secret until a run claims it. The next spare starts when that run ends.
pub struct WorkerLauncher {
    spec: LaunchSpec,
    warm: bool,
    spare: Arc<Mutex<Option<LaunchedWorker>>>,
}

#[derive(Clone, Debug)]
struct LaunchSpec {
    bin: PathBuf,
    scratch_root: PathBuf,
    address_space_bytes: u64,
}

/// A freshly started worker: its pid, its pipes, its nonce and its scratch directory.
pub struct LaunchedWorker {
    pub pid: u32,
    pub nonce: Nonce,
    pub stdin: ChildStdin,
    pub stdout: ChildStdout,
    pub stderr: ChildStderr,
    pub scratch: ScratchDir,
}

/// A per-run directory, deleted on drop.
#[derive(Debug)]
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl WorkerLauncher {
    pub fn new(bin: PathBuf, scratch_root: PathBuf, address_space_mb: u64, warm: bool) -> WorkerLauncher {
        let spec = LaunchSpec { bin, scratch_root, address_space_bytes: address_space_mb.saturating_mul(1 << 20) };
        let launcher = WorkerLauncher { spec, warm, spare: Arc::default() };
        launcher.refill();
        launcher
    }

    /// Hands out a worker: the spare if one is ready and alive, else a fresh one. The caller owns reaping it
    /// (see the supervisor) and calls [`WorkerLauncher::refill`] when its run ends.
    pub fn launch(&self) -> io::Result<LaunchedWorker> {
        let spare = self.spare.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        match spare {
            Some(worker) if is_waiting(worker.pid) => Ok(worker),
            Some(dead) => {
                discard(dead);
                self.spec.launch()
            }
            None => self.spec.launch(),
        }
    }

    /// The spare worker's pid, if one is waiting.
    pub fn spare_pid(&self) -> Option<u32> {
        self.spare.lock().unwrap_or_else(std::sync::PoisonError::into_inner).as_ref().map(|w| w.pid)
    }

    /// Starts a new spare in the background if warm workers are on and none is waiting. The supervisor calls this
    /// when a run ends, not when one starts: loading the executable and libduckdb costs about 12 ms of CPU, which
    /// would otherwise be taken from the run that has just claimed the last spare (BENCHMARKS.md, database
    /// connectors, 2026-12-06, later).
    pub fn refill(&self) {
        if !self.warm {
            return;
        }
        let (spec, spare) = (self.spec.clone(), Arc::clone(&self.spare));
        let _ = std::thread::Builder::new().name("worker-spare".into()).spawn(move || {
            if spare.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_some() {
                return;
            }
            match spec.launch() {
                Ok(worker) => {
                    let mut slot = spare.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    if let Some(extra) = slot.replace(worker) {
                        discard(extra);
                    }
                }
                Err(err) => tracing::warn!("cannot start a spare worker: {err}"),
            }
        });
    }
}

impl Drop for WorkerLauncher {
    fn drop(&mut self) {
        if let Some(spare) = self.spare.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take() {
            discard(spare);
        }
    }
}

/// Kills and reaps a worker that will never run a job.
fn discard(worker: LaunchedWorker) {
    let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(worker.pid as i32), nix::sys::signal::Signal::SIGKILL);
    let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(worker.pid as i32), None);
}

/// True while the process is alive and not a zombie.
fn is_waiting(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()) != Some("Z"),
        // No procfs (macOS): a signal-0 probe says whether the pid exists.
        Err(_) => nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), None).is_ok(),
    }
}

impl LaunchSpec {
    fn launch(&self) -> io::Result<LaunchedWorker> {
        let nonce = Nonce(rand::random());
        let scratch = self.scratch_root.join(format!("run-{}", &nonce.to_hex()[..12]));
        std::fs::create_dir_all(&scratch)?;
        set_private(&scratch)?;
        let scratch = ScratchDir(scratch);

        #[allow(clippy::disallowed_methods)] // This is the launcher every worker spawn goes through.
        let mut cmd = Command::new(&self.bin);
        cmd.env_clear()
            .env(WORKER_NONCE_ENV, nonce.to_hex())
            .current_dir(scratch.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let address_space = self.address_space_bytes;
        // SAFETY: the closure runs between fork and exec and calls only async-signal-safe functions.
        unsafe {
            cmd.pre_exec(move || child_setup(address_space));
        }
        let mut child = cmd.spawn().map_err(|err| {
            io::Error::new(err.kind(), format!("cannot start the worker {}: {err}", self.bin.display()))
        })?;
        let pipes = (child.stdin.take(), child.stdout.take(), child.stderr.take());
        let (Some(stdin), Some(stdout), Some(stderr)) = pipes else {
            unreachable!("all three pipes were requested");
        };
        // The `Child` handle is dropped without waiting: the supervisor reaps the pid itself with wait4,
        // which also yields the peak RSS.
        Ok(LaunchedWorker { pid: child.id(), nonce, stdin, stdout, stderr, scratch })
    }
}

/// Runs in the child between fork and exec; async-signal-safe calls only.
fn child_setup(address_space: u64) -> io::Result<()> {
    use nix::sys::resource::{Resource, setrlimit};
    // Descriptors the broker itself inherited without CLOEXEC must not reach the worker. Marking them
    // close-on-exec (rather than closing them) keeps the standard library's exec-error pipe working.
    #[cfg(target_os = "linux")]
    // SAFETY: a plain syscall on this process's own descriptor table.
    unsafe {
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC);
    }
    // No transparent huge pages for a worker (the setting survives exec). Its allocator asks for them, and each
    // one is a 2 MiB page zeroed at first touch: a worker lives for one job, so that first touch is most of what
    // huge pages would cost it, and a machine whose free memory is not backed yet (a virtual machine) took about
    // 5 ms per page, several per job, before the first batch (BENCHMARKS.md, database connectors, 2026-12-06,
    // later). Best effort: an older kernel without the option keeps the default.
    #[cfg(target_os = "linux")]
    // SAFETY: a plain prctl on this process, with the arguments the call defines.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    setrlimit(Resource::RLIMIT_CORE, 0, 0).map_err(io::Error::from)?;
    if address_space > 0 {
        setrlimit(Resource::RLIMIT_AS, address_space, address_space).map_err(io::Error::from)?;
    }
    Ok(())
}

fn set_private(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}
