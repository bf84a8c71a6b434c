//! The broker's app state: sources, drafts, approval tokens and runs. In memory for now; every access goes
//! through these typed functions so the SQLite store can replace the maps without touching callers.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime};

use polystoreiq_protocol::types::{
    Batch, ColumnValues, DraftId, DraftPreview, ResultColumn, ResultPage, RunId, SchemaSnapshot, SourceId, SourceInfo,
    SourceStatus,
};
use polystoreiq_protocol::{ErrorCode, TypedError};
use sha2::{Digest, Sha256};

/// A registered source with what the broker knows about it.
pub struct Source {
    pub info: SourceInfo,
    pub schema: Option<SchemaSnapshot>,
    /// The per-source DuckDB database holding ingested tables.
    pub database: Option<String>,
    /// Size and modification time of every file at import, to notice when one changes.
    pub fingerprints: Vec<(String, FileFingerprint)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileFingerprint {
    pub size: u64,
    pub modified: Option<SystemTime>,
}

impl FileFingerprint {
    pub fn of(path: &str) -> Option<FileFingerprint> {
        let meta = std::fs::metadata(path).ok()?;
        Some(FileFingerprint { size: meta.len(), modified: meta.modified().ok() })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DraftStatus {
    Pending,
    Denied,
    Approved,
}

pub struct Draft {
    pub preview: DraftPreview,
    pub status: DraftStatus,
}

struct Token {
    draft: DraftId,
    source: String,
    query_hash: [u8; 32],
    expires: Instant,
    used: bool,
}

/// What consuming a token yields: the approved draft's query and its source.
pub struct Approved {
    pub draft: DraftId,
    pub source: String,
    pub query: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunStatus {
    Running,
    Finished,
    Failed,
}

pub struct Run {
    pub draft: DraftId,
    pub source: String,
    pub status: RunStatus,
    pub columns: Vec<ResultColumn>,
    pub batches: Vec<Batch>,
    pub rows: u64,
    pub truncated: bool,
    pub error: Option<TypedError>,
}

#[derive(Default)]
pub struct AppState {
    next_id: u64,
    sources: BTreeMap<String, Source>,
    drafts: HashMap<DraftId, Draft>,
    tokens: HashMap<String, Token>,
    runs: BTreeMap<RunId, Run>,
}

/// The hash a token is bound to: the query with its whitespace normalized.
pub fn query_hash(query: &str) -> [u8; 32] {
    let normalized = query.split_whitespace().collect::<Vec<_>>().join(" ");
    Sha256::digest(normalized.as_bytes()).into()
}

impl AppState {
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn source(&self, name: &str) -> Result<&Source, TypedError> {
        self.sources.get(name).ok_or_else(|| not_found(name))
    }

    pub fn source_mut(&mut self, name: &str) -> Result<&mut Source, TypedError> {
        self.sources.get_mut(name).ok_or_else(|| not_found(name))
    }

    /// A source that may be queried: it exists and is not disabled.
    pub fn usable_source(&self, name: &str) -> Result<&Source, TypedError> {
        let source = self.source(name)?;
        if source.info.status == SourceStatus::Disabled {
            return Err(TypedError::new(
                ErrorCode::SourceDisabled,
                format!("source {name} is disabled; enable it with `psiq source enable {name}`"),
            ));
        }
        Ok(source)
    }

    pub fn has_source(&self, name: &str) -> bool {
        self.sources.contains_key(name)
    }

    pub fn insert_source(&mut self, source: Source) {
        self.sources.insert(source.info.name.clone(), source);
    }

    pub fn remove_source(&mut self, name: &str) -> Result<Source, TypedError> {
        self.sources.remove(name).ok_or_else(|| not_found(name))
    }

    pub fn source_infos(&self) -> Vec<SourceInfo> {
        self.sources.values().map(|s| s.info.clone()).collect()
    }

    pub fn new_source_id(&mut self) -> SourceId {
        SourceId(self.next_id())
    }

    pub fn new_draft_id(&mut self) -> DraftId {
        DraftId(self.next_id())
    }

    /// Stores a draft; if its verdict allows it, mints a single-use token bound to its query and source.
    pub fn insert_draft(&mut self, mut preview: DraftPreview, ttl: Duration) -> DraftPreview {
        if preview.verdict.allowed {
            let token: [u8; 16] = rand::random();
            let token: String = token.iter().map(|b| format!("{b:02x}")).collect();
            self.tokens.insert(
                token.clone(),
                Token {
                    draft: preview.draft,
                    source: preview.source.clone(),
                    query_hash: query_hash(&preview.query),
                    expires: Instant::now() + ttl,
                    used: false,
                },
            );
            preview.token = Some(token);
            preview.token_expires_in_ms = ttl.as_millis() as u64;
        }
        self.drafts.insert(preview.draft, Draft { preview: preview.clone(), status: DraftStatus::Pending });
        preview
    }

    /// Consumes a token: it must exist, be unused, unexpired, and still match its draft's query and source.
    pub fn consume_token(&mut self, token: &str) -> Result<Approved, TypedError> {
        let entry = self.tokens.get_mut(token).ok_or_else(|| {
            TypedError::new(ErrorCode::TokenInvalid, "unknown approval token; draft the query again to get one")
        })?;
        if entry.used {
            return Err(TypedError::new(ErrorCode::TokenUsed, "this approval token was already used; draft again"));
        }
        if Instant::now() >= entry.expires {
            return Err(TypedError::new(ErrorCode::TokenExpired, "this approval token expired; draft again"));
        }
        entry.used = true;
        let (draft_id, source, hash) = (entry.draft, entry.source.clone(), entry.query_hash);
        let draft = self
            .drafts
            .get_mut(&draft_id)
            .ok_or_else(|| TypedError::new(ErrorCode::DraftNotFound, format!("draft {draft_id} no longer exists")))?;
        if draft.status != DraftStatus::Pending
            || query_hash(&draft.preview.query) != hash
            || draft.preview.source != source
        {
            return Err(TypedError::new(
                ErrorCode::TokenInvalid,
                "the approval token does not match its draft; draft the query again",
            ));
        }
        draft.status = DraftStatus::Approved;
        Ok(Approved { draft: draft_id, source, query: draft.preview.query.clone() })
    }

    pub fn deny_draft(&mut self, id: DraftId) -> Result<(), TypedError> {
        let draft = self
            .drafts
            .get_mut(&id)
            .ok_or_else(|| TypedError::new(ErrorCode::DraftNotFound, format!("no draft {id}")))?;
        if draft.status == DraftStatus::Approved {
            return Err(TypedError::new(ErrorCode::BadRequest, format!("draft {id} was already approved")));
        }
        draft.status = DraftStatus::Denied;
        self.tokens.retain(|_, t| t.draft != id);
        Ok(())
    }

    pub fn start_run(&mut self, draft: DraftId, source: &str) -> RunId {
        let id = RunId(self.next_id());
        self.runs.insert(
            id,
            Run {
                draft,
                source: source.to_owned(),
                status: RunStatus::Running,
                columns: Vec::new(),
                batches: Vec::new(),
                rows: 0,
                truncated: false,
                error: None,
            },
        );
        id
    }

    pub fn run_mut(&mut self, id: RunId) -> Option<&mut Run> {
        self.runs.get_mut(&id)
    }

    /// Rows `[offset, offset + limit)` of a finished run.
    pub fn page(&self, id: RunId, offset: u64, limit: u64) -> Result<ResultPage, TypedError> {
        let run = self.runs.get(&id).ok_or_else(|| TypedError::new(ErrorCode::RunNotFound, format!("no run {id}")))?;
        match (run.status, &run.error) {
            (RunStatus::Running, _) => {
                return Err(TypedError::new(ErrorCode::BadRequest, format!("run {id} is still running")));
            }
            (RunStatus::Failed, Some(err)) => return Err(err.clone()),
            _ => {}
        }
        Ok(ResultPage {
            run: id,
            columns: run.columns.clone(),
            offset,
            rows: slice_rows(&run.columns, &run.batches, offset, limit),
            total_rows: run.rows,
            truncated: run.truncated,
        })
    }
}

fn not_found(name: &str) -> TypedError {
    TypedError::new(ErrorCode::SourceNotFound, format!("no source named {name}; see `psiq source list`"))
}

/// Copies rows `[offset, offset + limit)` out of a run's batches into one batch.
fn slice_rows(columns: &[ResultColumn], batches: &[Batch], offset: u64, limit: u64) -> Batch {
    let mut out: Vec<ColumnValues> = batches
        .first()
        .map(|b| b.columns.iter().map(empty_like).collect())
        .unwrap_or_else(|| columns.iter().map(|_| ColumnValues::Text(Vec::new())).collect());
    let (mut skip, mut want) = (offset as usize, limit as usize);
    for batch in batches {
        let n = batch.row_count();
        if skip >= n {
            skip -= n;
            continue;
        }
        let take = (n - skip).min(want);
        for (target, source) in out.iter_mut().zip(&batch.columns) {
            extend_range(target, source, skip, take);
        }
        want -= take;
        skip = 0;
        if want == 0 {
            break;
        }
    }
    Batch { columns: out }
}

fn empty_like(column: &ColumnValues) -> ColumnValues {
    match column {
        ColumnValues::Bool(_) => ColumnValues::Bool(Vec::new()),
        ColumnValues::Int(_) => ColumnValues::Int(Vec::new()),
        ColumnValues::Float(_) => ColumnValues::Float(Vec::new()),
        ColumnValues::Text(_) => ColumnValues::Text(Vec::new()),
        ColumnValues::Date(_) => ColumnValues::Date(Vec::new()),
        ColumnValues::Timestamp(_) => ColumnValues::Timestamp(Vec::new()),
        ColumnValues::Bytes(_) => ColumnValues::Bytes(Vec::new()),
    }
}

fn extend_range(target: &mut ColumnValues, source: &ColumnValues, start: usize, len: usize) {
    let range = start..start + len;
    match (target, source) {
        (ColumnValues::Bool(t), ColumnValues::Bool(s)) => t.extend_from_slice(&s[range]),
        (ColumnValues::Int(t), ColumnValues::Int(s)) => t.extend_from_slice(&s[range]),
        (ColumnValues::Float(t), ColumnValues::Float(s)) => t.extend_from_slice(&s[range]),
        (ColumnValues::Text(t), ColumnValues::Text(s)) => t.extend_from_slice(&s[range]),
        (ColumnValues::Date(t), ColumnValues::Date(s)) => t.extend_from_slice(&s[range]),
        (ColumnValues::Timestamp(t), ColumnValues::Timestamp(s)) => t.extend_from_slice(&s[range]),
        (ColumnValues::Bytes(t), ColumnValues::Bytes(s)) => t.extend_from_slice(&s[range]),
        _ => {}
    }
}
