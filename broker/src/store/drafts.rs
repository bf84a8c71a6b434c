//! Drafts, their one-use approval tokens, and the runs an approval starts.

use polystoreiq_protocol::types::{DraftId, RunId, SessionId};
use polystoreiq_protocol::{ErrorCode, TypedError};
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::health::unix_ms;

use super::{
    Approved, DEFAULT_PROFILE, Db, DraftOutcome, DraftStatus, LastRun, NewDraft, RunStatus, StoreError, StoredRun,
    refused,
};

impl Db {
    /// Stores a draft and returns its id. The preview's own id is ignored.
    pub fn insert_draft(&mut self, draft: &NewDraft) -> Result<DraftId, StoreError> {
        let p = &draft.preview;
        let source_id: Option<i64> =
            self.conn.query_row("SELECT id FROM sources WHERE name = ?1", [&p.source], |row| row.get(0)).optional()?;
        self.conn.execute(
            "INSERT INTO query_drafts (source_id, source_name, session_id, question, query, provider, explanation,
                                       verdict_allowed, verdict_code, verdict_reason, status, created_at_ms,
                                       check_json, attempts_json)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?14, ?11, ?12, ?13)",
            params![
                source_id,
                p.source,
                draft.session.map(|s| s.0 as i64),
                p.question,
                p.query,
                p.provider,
                p.explanation,
                p.verdict.allowed,
                p.verdict.code,
                p.verdict.reason,
                unix_ms() as i64,
                p.check.as_ref().map(|c| serde_json::to_string(c).unwrap_or_default()),
                (!p.attempts.is_empty()).then(|| serde_json::to_string(&p.attempts).unwrap_or_default()),
                DraftStatus::Pending,
            ],
        )?;
        Ok(DraftId(self.conn.last_insert_rowid() as u64))
    }

    /// Stores a token, by hash, bound to its draft's exact query, source and session.
    pub fn insert_token(
        &mut self,
        token: &str,
        draft: DraftId,
        source: &str,
        session: Option<SessionId>,
        query: &str,
        expires_at_ms: u64,
    ) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO approval_tokens
                 (token_hash, draft_id, source_name, session_id, query_hash, expires_at_ms, profile)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                token_hash(token).as_slice(),
                draft.0 as i64,
                source,
                session.map(|s| s.0 as i64),
                query_hash(query).as_slice(),
                expires_at_ms as i64,
                DEFAULT_PROFILE
            ],
        )?;
        Ok(())
    }

    /// Consumes a token atomically: it must exist, be unused and unexpired, belong to this profile, and still
    /// match its draft's query, source and session, and the draft must still be pending. A refused token is left
    /// as it was (a replay stays a replay).
    pub fn consume_token(&mut self, token: &str) -> Result<Approved, StoreError> {
        let tx = self.transaction()?;
        let row = tx
            .query_row(
                "SELECT t.draft_id, t.source_name, t.session_id, t.query_hash, t.expires_at_ms, t.used_at_ms,
                        d.query, d.source_name, d.status,
                        t.profile = ?2 AND t.session_id IS d.session_id
                 FROM approval_tokens t JOIN query_drafts d ON d.id = t.draft_id
                 WHERE t.token_hash = ?1",
                params![token_hash(token).as_slice(), DEFAULT_PROFILE],
                |row| {
                    Ok((
                        (row.get::<_, i64>(0)?, row.get::<_, String>(1)?, row.get::<_, Option<i64>>(2)?),
                        (row.get::<_, Vec<u8>>(3)?, row.get::<_, i64>(4)?, row.get::<_, Option<i64>>(5)?),
                        (row.get::<_, String>(6)?, row.get::<_, String>(7)?, row.get::<_, DraftStatus>(8)?),
                        row.get::<_, bool>(9)?,
                    ))
                },
            )
            .optional()?;
        let Some(((draft, source, session), (bound_hash, expires, used), (query, draft_source, status), same_owner)) =
            row
        else {
            return Err(refused(ErrorCode::TokenInvalid, "unknown approval token; draft the query again to get one"));
        };
        if used.is_some() {
            return Err(refused(ErrorCode::TokenUsed, "this approval token was already used; draft again"));
        }
        if unix_ms() as i64 >= expires {
            return Err(refused(ErrorCode::TokenExpired, "this approval token expired; draft again"));
        }
        if status != DraftStatus::Pending || bound_hash != query_hash(&query) || draft_source != source || !same_owner {
            return Err(refused(ErrorCode::TokenInvalid, "the approval token does not match its draft; draft again"));
        }
        let now = unix_ms();
        tx.execute(
            "UPDATE approval_tokens SET used_at_ms = ?2 WHERE token_hash = ?1",
            params![token_hash(token).as_slice(), now as i64],
        )?;
        tx.execute("UPDATE query_drafts SET status = ?2 WHERE id = ?1", params![draft, DraftStatus::Approved])?;
        tx.commit()?;
        Ok(Approved {
            draft: DraftId(draft as u64),
            source,
            session: session.map(|s| SessionId(s as u64)),
            query,
            consumed_at_ms: now,
        })
    }

    /// Denies a pending draft and voids its tokens. Returns the draft's source.
    pub fn deny_draft(&mut self, id: DraftId) -> Result<String, StoreError> {
        let tx = self.transaction()?;
        let row: Option<(DraftStatus, String)> = tx
            .query_row("SELECT status, source_name FROM query_drafts WHERE id = ?1", [id.0 as i64], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()?;
        let Some((status, source)) = row else {
            return Err(refused(ErrorCode::DraftNotFound, format!("no draft {id}")));
        };
        if status == DraftStatus::Approved {
            return Err(refused(ErrorCode::BadRequest, format!("draft {id} was already approved")));
        }
        tx.execute("UPDATE query_drafts SET status = ?2 WHERE id = ?1", params![id.0 as i64, DraftStatus::Denied])?;
        tx.execute("DELETE FROM approval_tokens WHERE draft_id = ?1", [id.0 as i64])?;
        tx.commit()?;
        Ok(source)
    }

    /// A draft as a follow-up's context sees it: its source, query, status and its latest run.
    pub fn draft_outcome(&mut self, id: DraftId) -> Result<Option<DraftOutcome>, StoreError> {
        let draft = self
            .conn
            .query_row("SELECT source_name, query, status FROM query_drafts WHERE id = ?1", [id.0 as i64], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?, row.get::<_, DraftStatus>(2)?))
            })
            .optional()?;
        let Some((source, query, status)) = draft else { return Ok(None) };
        let run = self
            .conn
            .query_row(
                "SELECT id, status, row_count, error_code FROM runs WHERE draft_id = ?1 ORDER BY id DESC LIMIT 1",
                [id.0 as i64],
                |row| {
                    Ok(LastRun {
                        run: RunId(row.get::<_, i64>(0)? as u64),
                        status: row.get(1)?,
                        rows: row.get::<_, Option<i64>>(2)?.map(|n| n as u64),
                        error_code: row.get(3)?,
                    })
                },
            )
            .optional()?;
        Ok(Some(DraftOutcome { source, query, status, run }))
    }

    pub fn insert_run(&mut self, draft: DraftId, source: &str, trace_id: &str) -> Result<RunId, StoreError> {
        self.conn.execute(
            "INSERT INTO runs (draft_id, source_name, trace_id, status, started_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![draft.0 as i64, source, trace_id, RunStatus::Running, unix_ms() as i64],
        )?;
        Ok(RunId(self.conn.last_insert_rowid() as u64))
    }

    pub fn finish_run(
        &mut self,
        run: RunId,
        rows: u64,
        truncated: bool,
        elapsed_ms: u64,
        error: Option<&TypedError>,
    ) -> Result<(), StoreError> {
        let status = match error {
            None => RunStatus::Finished,
            Some(err) if err.code == ErrorCode::Cancelled => RunStatus::Cancelled,
            Some(_) => RunStatus::Failed,
        };
        self.conn.execute(
            "UPDATE runs SET status = ?2, row_count = ?3, truncated = ?4, finished_at_ms = ?5, elapsed_ms = ?6,
                    error_code = ?7, error_message = ?8 WHERE id = ?1",
            params![
                run.0 as i64,
                status,
                rows as i64,
                truncated,
                unix_ms() as i64,
                elapsed_ms as i64,
                error.map(|e| e.code.as_str()),
                error.map(|e| e.message.as_str())
            ],
        )?;
        Ok(())
    }

    /// A finished run's stored rows, as the bincode blob the result cache wrote.
    pub fn run_result(&mut self, run: RunId) -> Result<Option<StoredRun>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT r.status, x.page FROM runs r LEFT JOIN run_results x ON x.run_id = r.id WHERE r.id = ?1",
                [run.0 as i64],
                |row| Ok(StoredRun { status: row.get(0)?, page: row.get(1)? }),
            )
            .optional()?)
    }

    pub fn store_run_result(&mut self, run: RunId, page: &[u8]) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT OR REPLACE INTO run_results (run_id, page) VALUES (?1, ?2)",
            params![run.0 as i64, page],
        )?;
        Ok(())
    }
}

/// The hash a token is bound to: the query with its whitespace normalized.
pub fn query_hash(query: &str) -> [u8; 32] {
    let normalized = query.split_whitespace().collect::<Vec<_>>().join(" ");
    Sha256::digest(normalized.as_bytes()).into()
}

pub(super) fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}
