//! Chat sessions and their messages.

use polystoreiq_protocol::TypedError;
use polystoreiq_protocol::types::{ChatMessage, ChatRole, ChatSession, DraftId, SessionId};
use rusqlite::{OptionalExtension, params};

use crate::health::unix_ms;

use super::{Db, StoreError};

impl Db {
    pub fn create_session(&mut self, title: &str) -> Result<ChatSession, StoreError> {
        let now = unix_ms();
        self.conn
            .execute("INSERT INTO chat_sessions (title, created_at_ms) VALUES (?1, ?2)", params![title, now as i64])?;
        Ok(ChatSession {
            id: SessionId(self.conn.last_insert_rowid() as u64),
            title: title.to_owned(),
            created_at_ms: now,
        })
    }

    pub fn sessions(&mut self) -> Result<Vec<ChatSession>, StoreError> {
        let mut stmt = self.conn.prepare("SELECT id, title, created_at_ms FROM chat_sessions ORDER BY id")?;
        let rows = stmt.query_map([], |row| {
            Ok(ChatSession {
                id: SessionId(row.get::<_, i64>(0)? as u64),
                title: row.get(1)?,
                created_at_ms: row.get::<_, i64>(2)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Gives a session a new title; `None` when there is no such session.
    pub fn rename_session(&mut self, session: SessionId, title: &str) -> Result<Option<ChatSession>, StoreError> {
        let changed =
            self.conn.execute("UPDATE chat_sessions SET title = ?2 WHERE id = ?1", params![session.0 as i64, title])?;
        if changed == 0 {
            return Ok(None);
        }
        let created_at_ms: i64 = self.conn.query_row(
            "SELECT created_at_ms FROM chat_sessions WHERE id = ?1",
            [session.0 as i64],
            |row| row.get(0),
        )?;
        Ok(Some(ChatSession { id: session, title: title.to_owned(), created_at_ms: created_at_ms as u64 }))
    }

    pub fn session_exists(&mut self, session: SessionId) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT 1 FROM chat_sessions WHERE id = ?1", [session.0 as i64], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Appends a message at the end of its session.
    pub fn append_message(
        &mut self,
        session: SessionId,
        role: ChatRole,
        content: &str,
        draft: Option<DraftId>,
    ) -> Result<ChatMessage, StoreError> {
        let tx = self.transaction()?;
        let seq: i64 = tx.query_row(
            "SELECT coalesce(max(seq), 0) + 1 FROM chat_messages WHERE session_id = ?1",
            [session.0 as i64],
            |row| row.get(0),
        )?;
        let now = unix_ms();
        tx.execute(
            "INSERT INTO chat_messages (session_id, seq, role, content, draft_id, created_at_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![session.0 as i64, seq, role.as_str(), content, draft.map(|d| d.0 as i64), now as i64],
        )?;
        tx.commit()?;
        Ok(ChatMessage { session, seq: seq as u64, role, content: content.to_owned(), draft, created_at_ms: now })
    }

    pub fn messages(&mut self, session: SessionId) -> Result<Vec<ChatMessage>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, role, content, draft_id, created_at_ms FROM chat_messages WHERE session_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([session.0 as i64], |row| {
            Ok(ChatMessage {
                session,
                seq: row.get::<_, i64>(0)? as u64,
                role: row.get::<_, String>(1)?.parse().map_err(|err: TypedError| {
                    rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, err.message.into())
                })?,
                content: row.get(2)?,
                draft: row.get::<_, Option<i64>>(3)?.map(|d| DraftId(d as u64)),
                created_at_ms: row.get::<_, i64>(4)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
