//! The health registry: what every recent worker is doing or how it ended, for the diagnostics view.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use polystoreiq_protocol::ErrorCode;
use polystoreiq_protocol::types::{ExitInfo, RunId, SandboxState, WorkerHealth, WorkerKind, WorkerState};
use polystoreiq_protocol::worker::SandboxReport;

/// Finished workers kept for diagnostics.
const KEEP_FINISHED: usize = 256;

struct Entry {
    health: WorkerHealth,
    started: Instant,
}

/// Thread-safe; every method holds the lock only briefly.
#[derive(Default)]
pub struct HealthRegistry {
    entries: Mutex<VecDeque<Entry>>,
    /// The last sandbox report of each worker kind.
    sandboxes: Mutex<Vec<SandboxState>>,
}

impl HealthRegistry {
    pub fn started(&self, pid: u32, kind: WorkerKind, source: &str, run: Option<RunId>) {
        let health = WorkerHealth {
            pid,
            kind,
            source: source.to_owned(),
            run,
            state: WorkerState::Starting,
            started_at_ms: unix_ms(),
            duration_ms: 0,
            peak_rss_kb: 0,
            exit: None,
            error: None,
        };
        let mut entries = self.lock();
        entries.push_back(Entry { health, started: Instant::now() });
        // Drop the oldest finished entries beyond the bound; running ones always stay.
        while entries.len() > KEEP_FINISHED {
            let Some(pos) = entries.iter().position(|e| is_final(e.health.state)) else { break };
            entries.remove(pos);
        }
    }

    pub fn running(&self, pid: u32) {
        self.update(pid, |h| h.state = WorkerState::Running);
    }

    pub fn finished(&self, pid: u32, state: WorkerState, exit: ExitInfo, peak_rss_kb: u64, error: Option<ErrorCode>) {
        let mut entries = self.lock();
        if let Some(entry) = entries.iter_mut().rev().find(|e| e.health.pid == pid && !is_final(e.health.state)) {
            entry.health.state = state;
            entry.health.duration_ms = entry.started.elapsed().as_millis() as u64;
            entry.health.peak_rss_kb = peak_rss_kb;
            entry.health.exit = Some(exit);
            entry.health.error = error;
        }
    }

    /// A worker of `kind` reported the sandbox it runs in.
    pub fn sandboxed(&self, kind: WorkerKind, report: SandboxReport) {
        let mut sandboxes = self.sandboxes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match sandboxes.iter_mut().find(|s| s.kind == kind) {
            Some(state) => state.report = report,
            None => sandboxes.push(SandboxState { kind, report }),
        }
    }

    /// The sandbox each kind of worker last ran in.
    pub fn sandboxes(&self) -> Vec<SandboxState> {
        self.sandboxes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Every entry, oldest first; live workers get their current duration and peak RSS.
    pub fn snapshot(&self) -> Vec<WorkerHealth> {
        self.lock()
            .iter()
            .map(|entry| {
                let mut health = entry.health.clone();
                if !is_final(health.state) {
                    health.duration_ms = entry.started.elapsed().as_millis() as u64;
                    health.peak_rss_kb = live_peak_rss_kb(health.pid).unwrap_or(0);
                }
                health
            })
            .collect()
    }

    fn update(&self, pid: u32, f: impl FnOnce(&mut WorkerHealth)) {
        let mut entries = self.lock();
        if let Some(entry) = entries.iter_mut().rev().find(|e| e.health.pid == pid && !is_final(e.health.state)) {
            f(&mut entry.health);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Entry>> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn is_final(state: WorkerState) -> bool {
    !matches!(state, WorkerState::Starting | WorkerState::Running)
}

/// `VmHWM` of a live process, in KiB.
fn live_peak_rss_kb(pid: u32) -> Option<u64> {
    polystoreiq_protocol::worker::vm_hwm_kb(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

pub fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}
