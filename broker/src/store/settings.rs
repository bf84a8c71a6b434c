//! Settings as key and value, and the count of wrong unlock attempts.

use rusqlite::{OptionalExtension, params};

use super::{Db, StoreError, UnlockAttempts};

impl Db {
    pub fn setting(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self.conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |row| row.get(0)).optional()?)
    }

    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }

    pub fn delete_setting(&mut self, key: &str) -> Result<(), StoreError> {
        self.conn.execute("DELETE FROM settings WHERE key = ?1", [key])?;
        Ok(())
    }

    /// The wrong unlock attempts in a row so far, and until when further attempts are paused.
    pub fn unlock_attempts(&mut self) -> Result<UnlockAttempts, StoreError> {
        let row = self
            .conn
            .query_row("SELECT failures, paused_until_ms FROM unlock_attempts WHERE id = 1", [], |row| {
                Ok(UnlockAttempts {
                    failures: row.get::<_, i64>(0)?.clamp(0, i64::from(u32::MAX)) as u32,
                    paused_until_ms: row.get::<_, Option<i64>>(1)?.map(|ms| ms.max(0) as u64),
                })
            })
            .optional()?;
        Ok(row.unwrap_or_default())
    }

    /// Counts one more wrong attempt and pauses attempts until `now_ms + pause_ms(failures)`, in one step.
    pub fn record_unlock_failure(
        &mut self,
        now_ms: u64,
        pause_ms: impl FnOnce(u32) -> Option<u64>,
    ) -> Result<UnlockAttempts, StoreError> {
        let tx = self.conn.transaction()?;
        let failures: i64 = tx
            .query_row("SELECT failures FROM unlock_attempts WHERE id = 1", [], |row| row.get(0))
            .optional()?
            .unwrap_or(0);
        let failures = (failures.max(0) as u32).saturating_add(1);
        let paused_until_ms = pause_ms(failures).map(|pause| now_ms.saturating_add(pause));
        tx.execute(
            "INSERT INTO unlock_attempts (id, failures, paused_until_ms) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET failures = excluded.failures, paused_until_ms = excluded.paused_until_ms",
            params![i64::from(failures), paused_until_ms.map(|ms| ms as i64)],
        )?;
        tx.commit()?;
        Ok(UnlockAttempts { failures, paused_until_ms })
    }

    /// Forgets the wrong attempts (after a right one).
    pub fn clear_unlock_failures(&mut self) -> Result<(), StoreError> {
        self.conn.execute("DELETE FROM unlock_attempts", [])?;
        Ok(())
    }
}
