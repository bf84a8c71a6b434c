//! Per-source circuit breakers, and which failures count against them and which may be retried.
//!
//! A source's breaker counts its connection failures in a row (one per execution, after that execution's retries).
//! At `threshold` it opens: executions on the source are refused with [`ErrorCode::CircuitOpen`], saying when the
//! next one may try, without starting a worker. After `cooldown` it is half-open: one execution at a time is let
//! through as a trial. An execution that reaches the server closes the breaker; a trial that cannot reach it opens
//! it again for another cool-down. State lives in memory: a broker restart closes every breaker.
//!
//! Only [`WorkerError::Unreachable`] is retried, because a worker reports it only while connecting, before any of
//! its job ran (see `workers/`); a connection lost later is [`WorkerError::ConnectionLost`], which counts against
//! the breaker but is never retried, since the query may have run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use polystoreiq_protocol::types::{BreakerState, BreakerStatus, SourceBreaker};
use polystoreiq_protocol::worker::WorkerError;
use polystoreiq_protocol::{ErrorCode, TypedError};

use crate::health::unix_ms;
use crate::supervisor::RunFailure;

/// What an execution's ending says about its source's server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The server answered (with rows, or with an error of its own): it is up.
    Reached,
    /// The server could not be reached, or the connection to it broke.
    ConnectionFailed(String),
    /// Says nothing about the server: cancelled, out of time, the worker crashed, the pool was busy.
    Neutral,
}

impl Verdict {
    pub fn of(result: &Result<impl Sized, RunFailure>) -> Verdict {
        match result {
            Ok(_) => Verdict::Reached,
            Err(RunFailure::Worker(WorkerError::Unreachable(m) | WorkerError::ConnectionLost(m))) => {
                Verdict::ConnectionFailed(m.clone())
            }
            Err(RunFailure::Worker(WorkerError::Query(_) | WorkerError::AuthFailed(_) | WorkerError::Tls(_))) => {
                Verdict::Reached
            }
            Err(_) => Verdict::Neutral,
        }
    }
}

/// Whether a failed attempt may be made again: only a connection refused or timed out before anything ran.
pub fn retryable(failure: &RunFailure) -> bool {
    matches!(failure, RunFailure::Worker(WorkerError::Unreachable(_)))
}

/// The wait before retry number `retry` (1 for the first): `base`, doubling each time, at most `max`.
pub fn backoff(retry: u32, base: Duration, max: Duration) -> Duration {
    let factor = 1u32.checked_shl(retry.saturating_sub(1)).unwrap_or(u32::MAX);
    base.saturating_mul(factor).min(max)
}

/// The breakers of every source, keyed by source name.
#[derive(Clone)]
pub struct Breakers {
    inner: Arc<Inner>,
}

struct Inner {
    threshold: u32,
    cooldown: Duration,
    sources: Mutex<HashMap<String, Entry>>,
}

#[derive(Default)]
struct Entry {
    failures: u32,
    /// Set while open or half-open: when it opened (for the cool-down) and the same moment in unix ms.
    opened: Option<(Instant, u64)>,
    /// A half-open trial execution is under way.
    trial: bool,
    last_failure: Option<String>,
}

impl Entry {
    fn state(&self, cooldown: Duration) -> BreakerState {
        match self.opened {
            None => BreakerState::Closed,
            Some((at, _)) if at.elapsed() < cooldown => BreakerState::Open,
            Some(_) => BreakerState::HalfOpen,
        }
    }

    fn status(&self, cooldown: Duration) -> BreakerStatus {
        BreakerStatus {
            state: self.state(cooldown),
            consecutive_failures: self.failures,
            retry_at_ms: self.opened.map(|(_, ms)| ms + cooldown.as_millis() as u64),
            last_failure: self.last_failure.clone(),
        }
    }
}

impl Breakers {
    /// Breakers that open after `threshold` connection failures in a row and stay open for `cooldown`.
    pub fn new(threshold: u32, cooldown: Duration) -> Breakers {
        Breakers { inner: Arc::new(Inner { threshold: threshold.max(1), cooldown, sources: Mutex::default() }) }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.inner.sources.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Lets an execution on `source` through, or refuses it while the breaker is open (or half-open with its one
    /// trial under way). The ticket must be settled with the execution's [`Verdict`].
    pub fn admit(&self, source: &str) -> Result<Ticket, TypedError> {
        let cooldown = self.inner.cooldown;
        let mut sources = self.lock();
        let Some(entry) = sources.get_mut(source) else {
            return Ok(self.ticket(source, false));
        };
        match entry.state(cooldown) {
            BreakerState::Closed => Ok(self.ticket(source, false)),
            BreakerState::HalfOpen if !entry.trial => {
                entry.trial = true;
                Ok(self.ticket(source, true))
            }
            state => {
                let open_for = entry.opened.map_or(Duration::ZERO, |(at, _)| at.elapsed());
                let wait = cooldown.saturating_sub(open_for);
                let (retry_after_ms, when) = if state == BreakerState::Open {
                    (wait.as_millis().max(1) as u64, format!("in {} s", wait.as_secs_f64().ceil() as u64))
                } else {
                    (1000, "once the trial run under way ends".to_owned())
                };
                let last = entry.last_failure.as_deref().unwrap_or("no detail");
                let mut err = TypedError::new(
                    ErrorCode::CircuitOpen,
                    format!(
                        "source {source} could not be reached {} times in a row (last: {last}), so its circuit \
                         breaker is open and nothing is sent to it; the next attempt goes through {when}. Check the \
                         server, or run `psiq source test {source}` to try now",
                        entry.failures
                    ),
                );
                err.retry_after_ms = Some(retry_after_ms);
                Err(err)
            }
        }
    }

    /// A ticket for an execution that does not ask the breaker first (`psiq source test`), whose outcome still
    /// counts.
    pub fn observe(&self, source: &str) -> Ticket {
        self.ticket(source, false)
    }

    fn ticket(&self, source: &str, trial: bool) -> Ticket {
        Ticket { breakers: self.clone(), source: source.to_owned(), trial, settled: false }
    }

    fn settle(&self, source: &str, trial: bool, verdict: Verdict) {
        let mut sources = self.lock();
        match verdict {
            Verdict::Reached => {
                sources.remove(source);
            }
            Verdict::ConnectionFailed(message) => {
                let entry = sources.entry(source.to_owned()).or_default();
                entry.failures = entry.failures.saturating_add(1);
                entry.last_failure = Some(message);
                // A failed trial reopens at once; a closed breaker opens at the threshold. An execution admitted
                // before the breaker opened that fails afterwards leaves the opening time alone.
                let half_open = entry.state(self.inner.cooldown) == BreakerState::HalfOpen;
                if trial || (entry.failures >= self.inner.threshold && (entry.opened.is_none() || half_open)) {
                    entry.opened = Some((Instant::now(), unix_ms()));
                }
                if trial {
                    entry.trial = false;
                }
            }
            Verdict::Neutral => {
                if trial && let Some(entry) = sources.get_mut(source) {
                    entry.trial = false;
                }
            }
        }
    }

    /// The breaker of one source (closed when it has none).
    pub fn status(&self, source: &str) -> BreakerStatus {
        self.lock().get(source).map(|e| e.status(self.inner.cooldown)).unwrap_or_default()
    }

    /// Every breaker that is open, half-open, or has counted failures, by source name.
    pub fn snapshot(&self) -> Vec<SourceBreaker> {
        let mut all: Vec<SourceBreaker> = self
            .lock()
            .iter()
            .map(|(source, e)| SourceBreaker { source: source.clone(), breaker: e.status(self.inner.cooldown) })
            .collect();
        all.sort_by(|a, b| a.source.cmp(&b.source));
        all
    }

    /// Drops a removed source's breaker.
    pub fn forget(&self, source: &str) {
        self.lock().remove(source);
    }
}

/// Permission for one execution; settle it with what the execution showed. A ticket dropped unsettled (the
/// request was abandoned) counts as [`Verdict::Neutral`], so a half-open breaker's trial slot is never lost.
pub struct Ticket {
    breakers: Breakers,
    source: String,
    trial: bool,
    settled: bool,
}

impl Ticket {
    /// Whether this execution is a half-open breaker's trial (it is not retried: one attempt decides).
    pub fn is_trial(&self) -> bool {
        self.trial
    }

    pub fn settle(mut self, verdict: Verdict) {
        self.settled = true;
        self.breakers.settle(&self.source, self.trial, verdict);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !self.settled {
            self.breakers.settle(&self.source, self.trial, Verdict::Neutral);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(breakers: &Breakers, source: &str) {
        breakers.admit(source).expect("admitted").settle(Verdict::ConnectionFailed("refused".into()));
    }

    #[test]
    fn opens_after_the_threshold_and_refuses_with_a_retry_time() {
        let breakers = Breakers::new(3, Duration::from_secs(60));
        fail(&breakers, "pg");
        fail(&breakers, "pg");
        assert_eq!(breakers.status("pg").state, BreakerState::Closed);
        assert_eq!(breakers.status("pg").consecutive_failures, 2);
        fail(&breakers, "pg");
        let status = breakers.status("pg");
        assert_eq!(status.state, BreakerState::Open);
        assert!(status.retry_at_ms.is_some_and(|at| at > unix_ms()));
        let refused = breakers.admit("pg").err().expect("refused while open");
        assert_eq!(refused.code, ErrorCode::CircuitOpen);
        assert!(refused.retry_after_ms.is_some_and(|ms| ms > 0 && ms <= 60_000), "{refused:?}");
        assert!(refused.message.contains("psiq source test pg"), "{}", refused.message);
        // Other sources are not affected.
        assert!(breakers.admit("mysql").is_ok());
    }

    #[test]
    fn success_resets_the_count() {
        let breakers = Breakers::new(2, Duration::from_secs(60));
        fail(&breakers, "pg");
        breakers.admit("pg").unwrap().settle(Verdict::Reached);
        fail(&breakers, "pg");
        assert_eq!(breakers.status("pg").state, BreakerState::Closed);
        assert_eq!(breakers.status("pg").consecutive_failures, 1);
        breakers.admit("pg").unwrap().settle(Verdict::Neutral);
        assert_eq!(breakers.status("pg").consecutive_failures, 1);
    }

    #[test]
    fn half_open_lets_one_trial_through_which_closes_or_reopens() {
        let breakers = Breakers::new(1, Duration::from_millis(30));
        fail(&breakers, "pg");
        assert!(breakers.admit("pg").is_err());
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(breakers.status("pg").state, BreakerState::HalfOpen);
        let trial = breakers.admit("pg").expect("the trial goes through");
        assert!(trial.is_trial());
        assert!(breakers.admit("pg").is_err(), "only one trial at a time");
        trial.settle(Verdict::ConnectionFailed("still down".into()));
        assert_eq!(breakers.status("pg").state, BreakerState::Open);
        std::thread::sleep(Duration::from_millis(40));
        // An abandoned trial frees its slot.
        drop(breakers.admit("pg").expect("trial"));
        let trial = breakers.admit("pg").expect("the slot is free again");
        trial.settle(Verdict::Reached);
        assert_eq!(breakers.status("pg"), BreakerStatus::default());
        assert!(breakers.snapshot().is_empty());
    }

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let (base, max) = (Duration::from_millis(100), Duration::from_millis(400));
        let waits: Vec<u128> = (1..=5).map(|n| backoff(n, base, max).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 400, 400]);
    }

    #[test]
    fn only_a_connection_refused_before_anything_ran_is_retried() {
        assert!(retryable(&RunFailure::Worker(WorkerError::Unreachable("refused".into()))));
        assert!(!retryable(&RunFailure::Worker(WorkerError::ConnectionLost("reset".into()))));
        assert!(!retryable(&RunFailure::Worker(WorkerError::Query("syntax".into()))));
        assert!(!retryable(&RunFailure::Worker(WorkerError::Tls("bad certificate".into()))));
        assert!(!retryable(&RunFailure::DeadlineExceeded { limit: Duration::from_secs(1) }));
        let lost: Result<(), RunFailure> = Err(RunFailure::Worker(WorkerError::ConnectionLost("reset".into())));
        assert_eq!(Verdict::of(&lost), Verdict::ConnectionFailed("reset".into()));
        let auth: Result<(), RunFailure> = Err(RunFailure::Worker(WorkerError::AuthFailed("no".into())));
        assert_eq!(Verdict::of(&auth), Verdict::Reached);
    }
}
