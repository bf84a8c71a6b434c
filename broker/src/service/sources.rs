//! Sources: adding, testing, enabling, removing, their schema, and the refresh of file imports.

use std::time::Instant;

use polystoreiq_protocol::broker::Reply;
use polystoreiq_protocol::secret::UserSecret;
use polystoreiq_protocol::types::{
    AuditAction, Capabilities, DbTarget, SchemaCache, SchemaSnapshot, SourceInfo, SourceKind, SourceSpec, SourceStatus,
    SourceTestReport, TableStorage, WorkerKind,
};
use polystoreiq_protocol::worker::{DbAction, DbJob, FileFact, FileSource, FromWorker, Job};
use polystoreiq_protocol::{ErrorCode, TypedError};

use crate::files;
use crate::health::unix_ms;
use crate::secrets::SecretRef;
use crate::store::{DEFAULT_PROFILE, DbConfig, FileRecord, SourceConfig, StoredSource};
use crate::supervisor::{CancelToken, Execution, SupervisorEvent};

use super::jobs::file_source;
use super::{Broker, Gate, internal};

impl Broker {
    pub(super) async fn list_sources(&self) -> Result<Vec<SourceInfo>, TypedError> {
        let sources = self.store.call(|db| db.sources()).await?;
        Ok(sources.into_iter().map(|s| self.with_breaker(s.info)).collect())
    }

    pub(super) async fn source(&self, name: &str) -> Result<StoredSource, TypedError> {
        let name = name.to_owned();
        Ok(self.store.call(move |db| db.source(&name)).await?)
    }

    /// A source that may be queried: it exists and is not disabled.
    pub(super) async fn usable_source(&self, name: &str) -> Result<StoredSource, TypedError> {
        let source = self.source(name).await?;
        if source.info.status == SourceStatus::Disabled {
            return Err(TypedError::new(
                ErrorCode::SourceDisabled,
                format!("source {name} is disabled; enable it with `psiq source enable {name}`"),
            ));
        }
        Ok(source)
    }

    pub(super) async fn add_source(&self, name: String, spec: SourceSpec) -> Result<SourceInfo, TypedError> {
        validate_name(&name)?;
        if self.source(&name).await.is_ok() {
            return Err(TypedError::new(
                ErrorCode::SourceExists,
                format!("a source named {name} exists; pick another name or remove it first"),
            ));
        }
        let paths = match spec {
            SourceSpec::Files { paths } => paths,
            SourceSpec::Database { kind, target, password } => {
                return self.add_db_source(name, kind, target, password).await;
            }
        };
        let tables = files::expand(&paths)?;
        let database = tables.iter().any(|t| t.storage == TableStorage::Ingested).then(|| {
            let tag: [u8; 6] = rand::random();
            let tag: String = tag.iter().map(|b| format!("{b:02x}")).collect();
            self.config.home.join("datasets").join(format!("{name}-{tag}.duckdb"))
        });
        if let Some(db) = &database {
            std::fs::create_dir_all(db.parent().unwrap_or(&self.config.home)).map_err(internal)?;
        }
        let database = database.map(|p| p.to_string_lossy().into_owned());
        let source = FileSource { tables: tables.clone(), database: database.clone() };
        let (schema, facts) = match self.import(&name, &source).await {
            Ok(found) => found,
            Err(err) => {
                if let Some(db) = &database {
                    let _ = std::fs::remove_file(db);
                }
                let detail = format!("import failed: {} [{}]", err.message, err.code);
                self.audit(AuditAction::SourceAddFailed, Some(&name), None, None, None, detail).await;
                return Err(err);
            }
        };
        let capabilities = Capabilities { sql: true, server_side_cancel: false, schema_refresh: true };
        let stored = {
            let (name, tables, database) = (name.clone(), tables.clone(), database.clone());
            self.store
                .call(move |db| {
                    let config = SourceConfig::Files(tables.clone());
                    db.insert_source(&name, SourceKind::Files, &config, &capabilities, database.as_deref(), None)?;
                    db.record_import(&name, &records(&facts), &schema)?;
                    db.source(&name)
                })
                .await
        };
        let stored = match stored {
            Ok(stored) => stored,
            Err(err) => {
                if let Some(db) = &database {
                    let _ = std::fs::remove_file(db);
                }
                return Err(err.into());
            }
        };
        let detail = format!("files: {}", tables.iter().map(|t| t.pattern.as_str()).collect::<Vec<_>>().join(", "));
        self.audit(AuditAction::SourceAdd, Some(&name), None, None, None, detail).await;
        Ok(stored.info)
    }

    pub(super) async fn add_db_source(
        &self,
        name: String,
        kind: SourceKind,
        target: DbTarget,
        password: Option<UserSecret>,
    ) -> Result<SourceInfo, TypedError> {
        if kind == SourceKind::Files {
            return Err(TypedError::new(ErrorCode::BadRequest, "a files source takes paths, not a server"));
        }
        // MongoDB may run without authentication; the SQL servers always name a user.
        if target.host.is_empty()
            || target.database.is_empty()
            || (target.user.is_empty() && kind != SourceKind::Mongodb)
        {
            return Err(TypedError::new(
                ErrorCode::BadRequest,
                "a database source needs a host, a database and a user",
            ));
        }
        // PostgreSQL's driver reads a host that is a path as a Unix-socket directory; workers get no Unix
        // sockets (the sandbox cannot narrow one to a single path on Linux), so the server must be named by TCP.
        if target.host.starts_with('/') {
            return Err(TypedError::new(
                ErrorCode::BadRequest,
                format!(
                    "{} is a Unix-socket path; workers reach databases over TCP only: name the server's TCP address \
                     (for a local server, 127.0.0.1 and its port)",
                    target.host
                ),
            ));
        }
        let reference = match password {
            Some(password) => {
                let reference = SecretRef::new(DEFAULT_PROFILE, "source");
                self.keyring()?.store(&reference, &password.into_secret()).map_err(|e| e.to_typed())?;
                Some(reference)
            }
            None => None,
        };
        let added = self.connect_new_db_source(&name, kind, &target, reference.as_ref()).await;
        if added.is_err()
            && let Some(reference) = &reference
        {
            let _ = self.keyring().map(|k| k.delete(reference));
        }
        added
    }

    pub(super) async fn connect_new_db_source(
        &self,
        name: &str,
        kind: SourceKind,
        target: &DbTarget,
        reference: Option<&SecretRef>,
    ) -> Result<SourceInfo, TypedError> {
        let password = self.password(reference.map(SecretRef::as_str))?;
        let job = |action| Job::Database(DbJob { kind, target: target.clone(), password: password.clone(), action });
        let report = self.db_test(name, job(DbAction::Test), Gate::Untracked).await?;
        let schema = self.db_metadata(name, job(DbAction::Metadata), Gate::Untracked).await?;
        // A cancelled or timed-out query is cancelled on the server too (see `supervisor`).
        let capabilities = Capabilities { sql: true, server_side_cancel: true, schema_refresh: true };
        let config = SourceConfig::Database(DbConfig {
            target: target.clone(),
            can_write: report.can_write,
            functions: Vec::new(),
        });
        let (owned_name, keyring_ref) = (name.to_owned(), reference.map(|r| r.as_str().to_owned()));
        let stored = self
            .store
            .call(move |db| {
                db.insert_source(&owned_name, kind, &config, &capabilities, None, keyring_ref.as_deref())?;
                db.record_schema(&owned_name, &schema)?;
                db.source(&owned_name)
            })
            .await?;
        let mut detail = format!(
            "{}@{}:{}/{}, server {}",
            target.user, target.host, target.port, target.database, report.server_version
        );
        if report.can_write {
            detail.push_str("; WARNING: this role can write; a read-only role is recommended");
        }
        self.audit(AuditAction::SourceAdd, Some(name), None, None, None, detail).await;
        Ok(stored.info)
    }

    /// Imports (or re-imports) a file source in a worker: its schema and the facts of its files.
    pub(super) async fn import(
        &self,
        name: &str,
        source: &FileSource,
    ) -> Result<(SchemaSnapshot, Vec<FileFact>), TypedError> {
        let job = self.import_job(source.clone());
        let exec = Execution {
            run: None,
            source: name.to_owned(),
            kind: WorkerKind::Duckdb,
            job,
            deadline: self.config.import_deadline,
            cancel: CancelToken::default(),
        };
        let (mut schema, mut facts) = (None, Vec::new());
        self.supervisor
            .execute(exec, &mut |event| match event {
                SupervisorEvent::Output(FromWorker::Schema(s)) => schema = Some(s),
                SupervisorEvent::Output(FromWorker::Files(f)) => facts = f,
                _ => {}
            })
            .await
            .map_err(|failure| failure.to_typed())?;
        let schema =
            schema.ok_or_else(|| TypedError::new(ErrorCode::WorkerProtocol, "the import finished without a schema"))?;
        Ok((schema, facts))
    }

    /// Re-imports a source whose files changed since import, so ingested tables never go stale.
    pub(super) async fn refresh_if_changed(&self, source: &StoredSource) -> Result<(), TypedError> {
        let ingested: Vec<&str> = source
            .info
            .files
            .iter()
            .filter(|t| t.storage == TableStorage::Ingested)
            .map(|t| t.table.as_str())
            .collect();
        let changed = source.files.iter().filter(|f| ingested.contains(&f.table.as_str())).any(|f| {
            let now = std::fs::metadata(&f.path).ok();
            now.as_ref().map(|m| m.len()) != Some(f.size) || now.and_then(|m| modified_ms(&m)) != f.modified_ms
        });
        if changed {
            tracing::info!(source = %source.info.name, "files changed since import; importing again");
            self.reimport(source, Gate::Enforced).await?;
        }
        Ok(())
    }

    pub(super) async fn reimport(&self, source: &StoredSource, gate: Gate) -> Result<SchemaSnapshot, TypedError> {
        if source.info.kind != SourceKind::Files {
            return self.refresh_db_schema(source, gate).await;
        }
        let name = source.info.name.clone();
        match self.import(&name, &file_source(source)).await {
            Ok((schema, facts)) => {
                let (name, stored) = (name.clone(), schema.clone());
                self.store.call(move |db| db.record_import(&name, &records(&facts), &stored)).await?;
                self.audit(
                    AuditAction::SourceImport,
                    Some(&source.info.name),
                    None,
                    None,
                    None,
                    "imported again".into(),
                )
                .await;
                Ok(schema)
            }
            Err(err) => self.mark_failed(name, err).await,
        }
    }

    /// Marks a source FAILED with `err` (audited), and returns `err`.
    pub(super) async fn mark_failed<T>(&self, name: String, err: TypedError) -> Result<T, TypedError> {
        let message = err.message.clone();
        let source = name.clone();
        self.store.call(move |db| db.set_source_failed(&source, &message)).await?;
        self.audit(AuditAction::SourceFailed, Some(&name), None, None, None, err.message.clone()).await;
        Err(err)
    }

    /// Reads a database source's metadata again; a failure marks the source FAILED (a refusal by its open
    /// circuit breaker leaves it as it is: nothing was tried).
    pub(super) async fn refresh_db_schema(
        &self,
        source: &StoredSource,
        gate: Gate,
    ) -> Result<SchemaSnapshot, TypedError> {
        let name = source.info.name.clone();
        let result = match self.db_job(source, DbAction::Metadata) {
            Ok(job) => self.db_metadata(&name, job, gate).await,
            Err(err) => Err(err),
        };
        match result {
            Ok(mut schema) => {
                schema.cache = None;
                let stored = schema.clone();
                self.store.call(move |db| db.record_schema(&name, &stored)).await?;
                Ok(schema)
            }
            Err(err) if err.code == ErrorCode::CircuitOpen => Err(err),
            Err(err) => self.mark_failed(name, err).await,
        }
    }

    pub(super) async fn test_source(&self, name: &str) -> Result<SourceTestReport, TypedError> {
        let started = Instant::now();
        let source = self.source(name).await?;
        // A database is first asked about itself (reachability, version, TLS, whether the role can write), then
        // its metadata is read again; files are simply re-read.
        let tested = match source.info.kind {
            SourceKind::Files => Ok(None),
            _ => match self.db_job(&source, DbAction::Test) {
                Ok(job) => self.db_test(name, job, Gate::Observed).await.map(Some),
                Err(err) => Err(err),
            },
        };
        let result = match tested {
            Ok(report) => self.reimport(&source, Gate::Observed).await.map(|schema| (report, schema)),
            Err(err) => Err(err),
        };
        let status = self.source(name).await?.info.status;
        let report = SourceTestReport {
            source: name.to_owned(),
            ok: result.is_ok(),
            status,
            message: match result {
                Ok((None, schema)) => format!("all files readable; {} tables", schema.tables.len()),
                Ok((Some(server), schema)) => format!(
                    "connected to {} ({}) in {} ms; {} tables{}",
                    server.server_version,
                    if server.tls { "TLS" } else { "no TLS" },
                    server.elapsed_ms,
                    schema.tables.len(),
                    if server.can_write {
                        "; WARNING: this role can write; a read-only role is recommended"
                    } else {
                        ""
                    }
                ),
                Err(err) => err.message,
            },
            elapsed_ms: started.elapsed().as_millis() as u64,
        };
        self.audit(AuditAction::SourceTest, Some(name), None, None, None, report.message.clone()).await;
        Ok(report)
    }

    pub(super) async fn set_enabled(&self, name: String, enabled: bool) -> Result<SourceInfo, TypedError> {
        let source = name.clone();
        let info = self.store.call(move |db| db.set_source_enabled(&source, enabled)).await?;
        let action = if enabled { AuditAction::SourceEnable } else { AuditAction::SourceDisable };
        self.audit(action, Some(&name), None, None, None, String::new()).await;
        Ok(self.with_breaker(info))
    }

    pub(super) async fn remove_source(&self, name: String) -> Result<Reply, TypedError> {
        let source = name.clone();
        let removed = self.store.call(move |db| db.delete_source(&source)).await?;
        if let Some(reference) = &removed.keyring_ref {
            let deleted = self
                .keyring()
                .and_then(|k| k.delete(&SecretRef::from_stored(reference.clone())).map_err(|e| e.to_typed()));
            if let Err(err) = deleted {
                tracing::warn!(source = %name, "cannot delete the source's password from the keyring: {}", err.message);
            }
        }
        if let Some(db) = removed.database {
            let _ = std::fs::remove_file(&db);
            let _ = std::fs::remove_file(format!("{db}.wal"));
        }
        self.breakers.forget(&name);
        self.audit(AuditAction::SourceRemove, Some(&name), None, None, None, String::new()).await;
        Ok(Reply::Removed { name })
    }

    /// A source's schema. A database source answers from its stored snapshot while that is younger than
    /// `schema_ttl`, and reads it again in a worker when it is older (not while the source is disabled); files
    /// are read again whenever one changed. `refresh` reads it again now. The answer says which it was and how old.
    pub(super) async fn schema(&self, name: &str, refresh: bool) -> Result<SchemaSnapshot, TypedError> {
        let source = self.source(name).await?;
        let database = source.info.kind != SourceKind::Files;
        let ttl = self.config.schema_ttl;
        let enabled = source.info.status != SourceStatus::Disabled;
        let expired = |s: &SchemaSnapshot| unix_ms().saturating_sub(s.fetched_at_ms) >= ttl.as_millis() as u64;
        let mut snapshot = if refresh || (database && enabled && source.schema.as_ref().is_none_or(expired)) {
            let mut fresh = self.reimport(&source, Gate::Enforced).await?;
            fresh.cache = Some(SchemaCache { cached: false, age_ms: 0, ttl_ms: None });
            fresh
        } else {
            if !database && enabled {
                self.refresh_if_changed(&source).await?;
            }
            let source = self.source(name).await?;
            let mut stored = source.schema.ok_or_else(|| {
                TypedError::new(
                    ErrorCode::SourceNotFound,
                    format!("no schema for {name} yet; run `psiq source test {name}`"),
                )
            })?;
            stored.cache = Some(SchemaCache { cached: true, age_ms: 0, ttl_ms: None });
            stored
        };
        if let Some(cache) = &mut snapshot.cache {
            cache.age_ms = unix_ms().saturating_sub(snapshot.fetched_at_ms);
            cache.ttl_ms = database.then_some(ttl.as_millis() as u64);
        }
        Ok(snapshot)
    }

    /// Reads, or (owner) replaces, the user-defined functions a database source's drafted queries may call. Off by
    /// default: the guard cannot see what a user function does, so only the owner can vouch for one.
    pub(super) async fn source_functions(
        &self,
        name: &str,
        functions: Option<Vec<String>>,
    ) -> Result<Reply, TypedError> {
        let source = self.source(name).await?;
        let Some(functions) = functions else {
            return Ok(Reply::SourceFunctions { source: source.info.name, functions: source.functions });
        };
        if source.info.kind == SourceKind::Files {
            return Err(TypedError::new(ErrorCode::BadRequest, "a files source has no user-defined functions"));
        }
        let mut names: Vec<String> = Vec::new();
        for function in functions {
            let name = function.trim().to_ascii_lowercase();
            let valid = !name.is_empty()
                && name.split('.').count() <= 2
                && name.split('.').all(|part| {
                    part.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                        && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
                });
            if !valid {
                return Err(TypedError::new(
                    ErrorCode::BadRequest,
                    format!(
                        "{function:?} is not a function name: write it as a query names it, e.g. sales.fiscal_quarter"
                    ),
                ));
            }
            if !names.contains(&name) {
                names.push(name);
            }
        }
        let stored = names.clone();
        let source_name = source.info.name.clone();
        self.store.call(move |db| db.set_source_functions(&source_name, &stored)).await?;
        let detail = if names.is_empty() { "none".to_owned() } else { names.join(", ") };
        self.audit(
            AuditAction::SourceFunctions,
            Some(&source.info.name),
            None,
            None,
            None,
            format!("allowed: {detail}"),
        )
        .await;
        Ok(Reply::SourceFunctions { source: source.info.name, functions: names })
    }
}

pub(super) fn records(facts: &[FileFact]) -> Vec<FileRecord> {
    facts
        .iter()
        .map(|f| FileRecord {
            table: f.table.clone(),
            path: f.path.clone(),
            size: f.size,
            modified_ms: f.modified_ms,
            sha256: f.sha256.clone(),
        })
        .collect()
}

pub(super) fn modified_ms(meta: &std::fs::Metadata) -> Option<i64> {
    meta.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok().map(|d| d.as_millis() as i64)
}

pub(super) fn validate_name(name: &str) -> Result<(), TypedError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if ok {
        Ok(())
    } else {
        Err(TypedError::new(
            ErrorCode::BadRequest,
            format!("{name:?} is not a valid source name: use 1-64 letters, digits, - or _, starting with a letter"),
        ))
    }
}
