//! Diagnostics, and the fault injection the cross-process tests drive.

use polystoreiq_protocol::TypedError;
use polystoreiq_protocol::broker::Reply;
use polystoreiq_protocol::types::{AuditEvent, AuditFilter, DiagReport, PoolStats};
use polystoreiq_protocol::worker::Fault;

use crate::health::unix_ms;

use super::{Broker, STAGE_WINDOW};

impl Broker {
    pub(super) async fn audit_events(&self, filter: AuditFilter) -> Result<Vec<AuditEvent>, TypedError> {
        Ok(self.store.call(move |db| db.audit(&filter)).await?)
    }

    #[cfg(not(debug_assertions))]
    pub(super) async fn fault(&self, _source: String, _fault: Fault) -> Result<Reply, TypedError> {
        use polystoreiq_protocol::ErrorCode;
        Err(TypedError::new(ErrorCode::BadRequest, "fault injection exists only in debug builds"))
    }

    #[cfg(debug_assertions)]
    pub(super) async fn fault(&self, source: String, fault: Fault) -> Result<Reply, TypedError> {
        use polystoreiq_protocol::types::WorkerKind;
        use polystoreiq_protocol::worker::Job;

        use super::jobs::Purpose;
        use crate::supervisor::{CancelToken, Execution};

        // A fault on a registered source runs in the sandbox a real job on that source gets.
        let stored = self.store.call({
            let name = source.clone();
            move |db| db.source(&name)
        });
        let (kind, policy_job) = match stored.await {
            Ok(stored) => {
                (stored.info.kind.worker_kind(), Some(self.query_job(&stored, String::new(), Purpose::Policy)?))
            }
            Err(_) => (WorkerKind::Duckdb, None),
        };
        let exec = Execution {
            run: None,
            source,
            kind,
            job: Job::Fault(fault),
            deadline: self.limits.run_deadline(),
            cancel: CancelToken::default(),
        };
        match self.supervisor.execute_sandboxed_as(exec, policy_job.as_ref(), &mut |_| {}).await {
            Ok(_) => Ok(Reply::FaultSurvived),
            Err(failure) => Err(failure.to_typed()),
        }
    }

    pub(super) async fn diag(&self) -> Result<DiagReport, TypedError> {
        let load = self.supervisor.load();
        let since = unix_ms().saturating_sub(STAGE_WINDOW.as_millis() as u64);
        let stages = self.store.call(move |db| db.stage_stats(since)).await?;
        let generations = self.store.call(move |db| db.generation_stats(since)).await?;
        Ok(DiagReport {
            workers: self.supervisor.health().snapshot(),
            sandbox: self.supervisor.health().sandboxes(),
            pool: PoolStats {
                running: load.running as u32,
                queued: load.queued as u32,
                max_workers: load.max_workers as u32,
                queue_bound: load.queue_bound as u32,
            },
            stages,
            window_ms: STAGE_WINDOW.as_millis() as u64,
            breakers: self.breakers.snapshot(),
            generations,
        })
    }
}
