//! The append-only audit log.

use polystoreiq_protocol::TypedError;
use polystoreiq_protocol::types::{AuditAction, AuditEvent, AuditFilter, DraftId, RunId, SessionId};
use rusqlite::params;

use crate::health::unix_ms;

use super::{DEFAULT_PROFILE, Db, NewAudit, StoreError};

impl Db {
    pub fn append_audit(&mut self, event: &NewAudit<'_>) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO audit_events (at_ms, actor, profile, action, source_name, session_id, draft_id, run_id, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                unix_ms() as i64,
                event.actor,
                DEFAULT_PROFILE,
                event.action.as_str(),
                event.source,
                event.session.map(|s| s.0 as i64),
                event.draft.map(|d| d.0 as i64),
                event.run.map(|r| r.0 as i64),
                event.detail
            ],
        )?;
        Ok(())
    }

    pub fn audit(&mut self, filter: &AuditFilter) -> Result<Vec<AuditEvent>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, at_ms, actor, profile, action, source_name, session_id, draft_id, run_id, detail
             FROM audit_events
             WHERE (?1 IS NULL OR source_name = ?1) AND (?2 IS NULL OR session_id = ?2)
               AND (?3 IS NULL OR at_ms >= ?3) AND (?4 IS NULL OR at_ms < ?4) AND (?5 IS NULL OR action = ?5)
             ORDER BY id DESC LIMIT ?6",
        )?;
        let rows = stmt.query_map(
            params![
                filter.source,
                filter.session.map(|s| s.0 as i64),
                filter.since_ms.map(|t| t as i64),
                filter.until_ms.map(|t| t as i64),
                filter.action.map(AuditAction::as_str),
                filter.limit.unwrap_or(1000).min(100_000) as i64
            ],
            |row| {
                Ok(AuditEvent {
                    id: row.get::<_, i64>(0)? as u64,
                    at_ms: row.get::<_, i64>(1)? as u64,
                    actor: row.get(2)?,
                    profile: row.get(3)?,
                    action: row.get::<_, String>(4)?.parse().map_err(|err: TypedError| {
                        rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, err.message.into())
                    })?,
                    source: row.get(5)?,
                    session: row.get::<_, Option<i64>>(6)?.map(|s| SessionId(s as u64)),
                    draft: row.get::<_, Option<i64>>(7)?.map(|d| DraftId(d as u64)),
                    run: row.get::<_, Option<i64>>(8)?.map(|r| RunId(r as u64)),
                    detail: row.get(9)?,
                })
            },
        )?;
        let mut events: Vec<AuditEvent> = rows.collect::<Result<_, _>>()?;
        events.reverse();
        Ok(events)
    }

    /// Deletes audit events older than `cutoff_ms`: the only code path allowed to delete them.
    pub fn prune_audit(&mut self, cutoff_ms: u64) -> Result<usize, StoreError> {
        let tx = self.transaction()?;
        tx.execute("INSERT INTO audit_retention_gate (cutoff_ms) VALUES (?1)", [cutoff_ms as i64])?;
        let deleted = tx.execute("DELETE FROM audit_events WHERE at_ms < ?1", [cutoff_ms as i64])?;
        tx.execute("DELETE FROM audit_retention_gate", [])?;
        tx.commit()?;
        Ok(deleted)
    }
}
