//! Sources: their settings, file imports, schema snapshots and status.

use polystoreiq_protocol::ErrorCode;
use polystoreiq_protocol::types::{
    BreakerStatus, Capabilities, FileTable, SchemaSnapshot, SourceId, SourceInfo, SourceKind, SourceStatus, TableInfo,
};
use rusqlite::{OptionalExtension, params};

use crate::health::unix_ms;

use super::{Db, DbConfig, FileRecord, SourceConfig, StoreError, StoredSource, from_json, json, refused};

impl Db {
    pub fn insert_source(
        &mut self,
        name: &str,
        kind: SourceKind,
        config: &SourceConfig,
        capabilities: &Capabilities,
        database: Option<&str>,
        keyring_ref: Option<&str>,
    ) -> Result<SourceId, StoreError> {
        let now = unix_ms() as i64;
        let config = match config {
            SourceConfig::Files(tables) => json(tables)?,
            SourceConfig::Database(db) => json(db)?,
        };
        let inserted = self.conn.execute(
            "INSERT INTO sources (name, kind, status, capabilities, config, database_path, keyring_ref,
                                  created_at_ms, updated_at_ms)
             VALUES (?1, ?2, 'CONNECTED', ?3, ?4, ?5, ?6, ?7, ?7)",
            params![name, kind_name(kind), json(capabilities)?, config, database, keyring_ref, now],
        );
        match inserted {
            Ok(_) => Ok(SourceId(self.conn.last_insert_rowid() as u64)),
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
                Err(refused(ErrorCode::SourceExists, format!("a source named {name} exists; pick another name")))
            }
            Err(err) => Err(err.into()),
        }
    }

    /// Records a finished import: the files as they are now and the schema found.
    pub fn record_import(
        &mut self,
        name: &str,
        files: &[FileRecord],
        schema: &SchemaSnapshot,
    ) -> Result<(), StoreError> {
        let tx = self.transaction()?;
        let id: i64 = tx
            .query_row("SELECT id FROM sources WHERE name = ?1", [name], |row| row.get(0))
            .optional()?
            .ok_or_else(|| source_not_found(name))?;
        tx.execute("DELETE FROM file_datasets WHERE source_id = ?1", [id])?;
        let now = unix_ms() as i64;
        let config: String = tx.query_row("SELECT config FROM sources WHERE id = ?1", [id], |row| row.get(0))?;
        let tables: Vec<FileTable> = from_json(&config)?;
        for file in files {
            let table_schema = schema.tables.iter().find(|t| t.name == file.table);
            let pattern = tables.iter().find(|t| t.table == file.table).map(|t| t.pattern.clone());
            tx.execute(
                "INSERT INTO file_datasets (source_id, table_name, path, size, modified_ms, content_hash, schema, pattern, imported_at_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    id,
                    file.table,
                    file.path,
                    file.size as i64,
                    file.modified_ms,
                    file.sha256,
                    table_schema.map(json).transpose()?,
                    pattern.unwrap_or_else(|| file.path.clone()),
                    now
                ],
            )?;
        }
        tx.execute(
            "UPDATE sources SET status = CASE status WHEN 'DISABLED' THEN 'DISABLED' ELSE 'CONNECTED' END,
                    last_error = NULL, updated_at_ms = ?2 WHERE id = ?1",
            params![id, now],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Records a database source's metadata snapshot and marks it reachable.
    pub fn record_schema(&mut self, name: &str, schema: &SchemaSnapshot) -> Result<(), StoreError> {
        let changed = self.conn.execute(
            "UPDATE sources SET schema = ?2, schema_at_ms = ?3,
                    status = CASE status WHEN 'DISABLED' THEN 'DISABLED' ELSE 'CONNECTED' END,
                    last_error = NULL, updated_at_ms = ?3 WHERE name = ?1",
            params![name, json(schema)?, schema.fetched_at_ms as i64],
        )?;
        if changed == 0 {
            return Err(source_not_found(name));
        }
        Ok(())
    }

    pub fn set_source_failed(&mut self, name: &str, error: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE sources SET status = CASE status WHEN 'DISABLED' THEN 'DISABLED' ELSE 'FAILED' END,
                    last_error = ?2, updated_at_ms = ?3 WHERE name = ?1",
            params![name, error, unix_ms() as i64],
        )?;
        Ok(())
    }

    pub fn set_source_enabled(&mut self, name: &str, enabled: bool) -> Result<SourceInfo, StoreError> {
        let changed = self.conn.execute(
            "UPDATE sources SET status = CASE WHEN ?2 = 0 THEN 'DISABLED'
                                              WHEN last_error IS NOT NULL THEN 'FAILED'
                                              ELSE 'CONNECTED' END,
                    updated_at_ms = ?3 WHERE name = ?1",
            params![name, enabled, unix_ms() as i64],
        )?;
        if changed == 0 {
            return Err(source_not_found(name));
        }
        Ok(self.source(name)?.info)
    }

    pub fn delete_source(&mut self, name: &str) -> Result<StoredSource, StoreError> {
        let source = self.source(name)?;
        let tx = self.transaction()?;
        tx.execute("DELETE FROM file_datasets WHERE source_id = ?1", [source.info.id.0 as i64])?;
        tx.execute("UPDATE query_drafts SET source_id = NULL WHERE source_id = ?1", [source.info.id.0 as i64])?;
        tx.execute("DELETE FROM sources WHERE id = ?1", [source.info.id.0 as i64])?;
        tx.commit()?;
        Ok(source)
    }

    pub fn sources(&mut self) -> Result<Vec<StoredSource>, StoreError> {
        let names: Vec<String> = self
            .conn
            .prepare("SELECT name FROM sources ORDER BY name")?
            .query_map([], |row| row.get(0))?
            .collect::<Result<_, _>>()?;
        names.iter().map(|name| self.source(name)).collect()
    }

    pub fn source(&mut self, name: &str) -> Result<StoredSource, StoreError> {
        let row = self
            .conn
            .query_row(
                "SELECT id, name, kind, status, capabilities, config, database_path, last_error, created_at_ms,
                        keyring_ref, schema
                 FROM sources WHERE name = ?1",
                [name],
                |row| {
                    Ok(SourceRow {
                        id: row.get(0)?,
                        name: row.get(1)?,
                        kind: row.get(2)?,
                        status: row.get(3)?,
                        capabilities: row.get(4)?,
                        config: row.get(5)?,
                        database: row.get(6)?,
                        last_error: row.get(7)?,
                        created_at_ms: row.get(8)?,
                        keyring_ref: row.get(9)?,
                        schema: row.get(10)?,
                    })
                },
            )
            .optional()?
            .ok_or_else(|| source_not_found(name))?;
        let SourceRow {
            id,
            name,
            kind,
            status,
            capabilities,
            config,
            database,
            last_error,
            created_at_ms,
            keyring_ref,
            schema: db_schema,
        } = row;
        let kind = kind_from(&kind)?;
        let (tables, db_config): (Vec<FileTable>, Option<DbConfig>) = match kind {
            SourceKind::Files => (from_json(&config)?, None),
            _ => (Vec::new(), Some(from_json(&config)?)),
        };
        let mut stmt = self.conn.prepare(
            "SELECT table_name, path, size, modified_ms, content_hash, schema, imported_at_ms FROM file_datasets
             WHERE source_id = ?1 ORDER BY id",
        )?;
        let mut files = Vec::new();
        let mut table_schemas: Vec<TableInfo> = Vec::new();
        let mut imported_at_ms = 0;
        let rows = stmt.query_map([id], |row| {
            Ok((
                FileRecord {
                    table: row.get(0)?,
                    path: row.get(1)?,
                    size: row.get::<_, i64>(2)? as u64,
                    modified_ms: row.get(3)?,
                    sha256: row.get(4)?,
                },
                row.get::<_, Option<String>>(5)?,
                row.get::<_, i64>(6)?,
            ))
        })?;
        for row in rows {
            let (file, schema, imported) = row?;
            imported_at_ms = imported_at_ms.max(imported as u64);
            if let Some(schema) = schema
                && !table_schemas.iter().any(|t| t.name == file.table)
            {
                table_schemas.push(from_json(&schema)?);
            }
            files.push(file);
        }
        // Keep the tables in the order the source declares them.
        table_schemas.sort_by_key(|t| tables.iter().position(|ft| ft.table == t.name).unwrap_or(usize::MAX));
        let schema = match db_schema {
            Some(text) => Some(from_json(&text)?),
            None if table_schemas.is_empty() => None,
            None => Some(SchemaSnapshot { tables: table_schemas, fetched_at_ms: imported_at_ms, cache: None }),
        };
        let info = SourceInfo {
            id: SourceId(id as u64),
            name,
            kind,
            status: status_from(&status)?,
            capabilities: from_json(&capabilities)?,
            files: tables,
            target: db_config.as_ref().map(|c| c.target.clone()),
            can_write: db_config.as_ref().map(|c| c.can_write),
            last_error,
            created_at_ms: created_at_ms as u64,
            // Breakers live in the broker's memory; the service fills this in.
            breaker: BreakerStatus::default(),
        };
        let functions = db_config.map(|c| c.functions).unwrap_or_default();
        Ok(StoredSource { info, schema, database, files, keyring_ref, functions })
    }

    /// Replaces the user-defined functions a database source's queries may call. Answers the source's id.
    pub fn set_source_functions(&mut self, name: &str, functions: &[String]) -> Result<(), StoreError> {
        let config: Option<String> =
            self.conn.query_row("SELECT config FROM sources WHERE name = ?1", [name], |row| row.get(0)).optional()?;
        let config = config.ok_or_else(|| source_not_found(name))?;
        let mut config: DbConfig = from_json(&config)?;
        config.functions = functions.to_vec();
        let text = serde_json::to_string(&config).map_err(|err| StoreError::Corrupt(err.to_string()))?;
        self.conn.execute("UPDATE sources SET config = ?1 WHERE name = ?2", params![text, name])?;
        Ok(())
    }
}

pub(super) struct SourceRow {
    id: i64,
    name: String,
    kind: String,
    status: String,
    capabilities: String,
    config: String,
    database: Option<String>,
    last_error: Option<String>,
    created_at_ms: i64,
    keyring_ref: Option<String>,
    schema: Option<String>,
}

pub(super) fn kind_name(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Files => "files",
        SourceKind::Postgres => "postgres",
        SourceKind::Mysql => "mysql",
        SourceKind::Mongodb => "mongodb",
    }
}

pub(super) fn kind_from(name: &str) -> Result<SourceKind, StoreError> {
    Ok(match name {
        "files" => SourceKind::Files,
        "postgres" => SourceKind::Postgres,
        "mysql" => SourceKind::Mysql,
        "mongodb" => SourceKind::Mongodb,
        other => return Err(StoreError::Corrupt(format!("unknown source kind {other}"))),
    })
}

pub(super) fn status_from(name: &str) -> Result<SourceStatus, StoreError> {
    Ok(match name {
        "CONNECTED" => SourceStatus::Connected,
        "FAILED" => SourceStatus::Failed,
        "DISABLED" => SourceStatus::Disabled,
        other => return Err(StoreError::Corrupt(format!("unknown source status {other}"))),
    })
}

pub(super) fn source_not_found(name: &str) -> StoreError {
    refused(ErrorCode::SourceNotFound, format!("no source named {name}; see `psiq source list`"))
}
