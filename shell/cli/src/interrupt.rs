//! Ctrl-C during a run cancels the run (the broker kills its worker) instead of leaving it to finish unseen.
//!
//! The signal handler only sets a flag; a watcher thread sees it and sends `Cancel` for the run on a second
//! connection. The run's own reply (a `cancelled` error) then ends the command as usual.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use polystoreiq_client::BrokerClient;
use polystoreiq_protocol::broker::Request;
use polystoreiq_protocol::types::RunId;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_: nix::libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Cancels the run it is told about if the user presses Ctrl-C; stops watching when dropped.
pub struct RunWatch {
    run: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
}

impl RunWatch {
    pub fn start(home: PathBuf) -> RunWatch {
        let action = SigAction::new(SigHandler::Handler(on_interrupt), SaFlags::SA_RESTART, SigSet::empty());
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        let _ = unsafe { sigaction(Signal::SIGINT, &action) };
        let (run, done) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
        let watch = RunWatch { run: Arc::clone(&run), done: Arc::clone(&done) };
        std::thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                let id = run.load(Ordering::SeqCst);
                if INTERRUPTED.load(Ordering::SeqCst) && id != 0 {
                    eprintln!("interrupted: cancelling run {id}");
                    if let Ok(mut client) = BrokerClient::connect(&home) {
                        let _ = client.call(Request::Cancel { run: RunId(id) });
                    }
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        watch
    }

    /// The run to cancel on Ctrl-C.
    pub fn set_run(&self, run: RunId) {
        self.run.store(run.0, Ordering::SeqCst);
    }
}

impl Drop for RunWatch {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
    }
}
