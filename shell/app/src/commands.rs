//! The commands the webview calls. Each checks its payload, makes one typed call through the broker client (on a
//! blocking thread: the client speaks a synchronous socket) and returns the reply's payload or its typed error.
//! The shell keeps no state of its own but the profile's home: every call opens its own connection, so a
//! cancel is never stuck behind the run it cancels.

use std::path::{Path, PathBuf};

use polystoreiq_client::BrokerClient;
use polystoreiq_protocol::broker::RunEvent;
use polystoreiq_protocol::secret::UserSecret;
use polystoreiq_protocol::types::{
    AccessState, AuditEvent, AuditFilter, ChatMessage, ChatSession, DbTarget, DiagReport, DraftId, DraftPreview,
    LimitsChange, LlmProvider, LlmTestReport, Role, RunId, RunTrace, SchemaSnapshot, SessionId, Settings, SourceInfo,
    SourceKind, SourceSpec, SourceTestReport, TlsMode,
};
use polystoreiq_protocol::{ErrorCode, TypedError};
use serde::Deserialize;
use tauri::State;
use tauri::ipc::{Channel, InvokeBody, Request as IpcRequest};

use crate::view::{BrokerStatus, PageView, RunView};

/// Rows per page the webview may ask for: enough to fill a screen many times, small enough to stay one quick
/// message.
const MAX_PAGE_ROWS: u64 = 5_000;
/// The largest export the shell writes.
const MAX_EXPORT_BYTES: usize = 256 << 20;
/// The header that names an export's file.
const EXPORT_NAME_HEADER: &str = "x-export-name";

/// The shell's state: which profile it serves.
pub struct Shell {
    home: PathBuf,
}

impl Shell {
    pub fn new(home: PathBuf) -> Shell {
        Shell { home }
    }

    /// Starts the profile's broker unless one runs; a failure shows on the first screen, not here.
    pub fn warm_up(&self) {
        if let Err(err) = BrokerClient::connect_or_start(&self.home) {
            eprintln!("polystoreiq: the broker did not start: {}", err.message);
        }
    }
}

/// Makes one typed call through a connection to the running broker (never starting one: a broker that died shows
/// as down, and the user restarts it with [`broker_restart`]).
async fn call<T: Send + 'static>(
    shell: &Shell,
    request: impl FnOnce(&mut BrokerClient) -> Result<T, TypedError> + Send + 'static,
) -> Result<T, TypedError> {
    let home = shell.home.clone();
    blocking(move || request(&mut BrokerClient::connect(&home)?)).await
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, TypedError> + Send + 'static,
) -> Result<T, TypedError> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|err| TypedError::new(ErrorCode::Internal, format!("the shell's worker thread failed: {err}")))?
}

fn bad_request(message: impl Into<String>) -> TypedError {
    TypedError::new(ErrorCode::BadRequest, message)
}

/// A name the user typed: not empty, not padded, printable.
fn checked_name(what: &str, value: &str) -> Result<String, TypedError> {
    if value.trim().is_empty() {
        return Err(bad_request(format!("the {what} is empty")));
    }
    if value.trim() != value || value.chars().any(char::is_control) {
        return Err(bad_request(format!("the {what} has leading or trailing spaces or control characters")));
    }
    Ok(value.to_owned())
}

#[tauri::command]
pub async fn broker_status(shell: State<'_, Shell>) -> Result<BrokerStatus, TypedError> {
    let home = shell.home.clone();
    let reached = blocking(move || BrokerClient::connect(&home).map(drop)).await;
    Ok(status(&shell.home, reached))
}

#[tauri::command]
pub async fn broker_restart(shell: State<'_, Shell>) -> Result<BrokerStatus, TypedError> {
    let home = shell.home.clone();
    let reached = blocking(move || BrokerClient::connect_or_start(&home).map(drop)).await;
    Ok(status(&shell.home, reached))
}

fn status(home: &Path, reached: Result<(), TypedError>) -> BrokerStatus {
    BrokerStatus { running: reached.is_ok(), home: home.display().to_string(), error: reached.err().map(|e| e.message) }
}

/// Registered, and granted to no webview: see `command_names::ALL`.
#[tauri::command]
pub async fn broker_stop(shell: State<'_, Shell>) -> Result<(), TypedError> {
    call(&shell, BrokerClient::shutdown).await
}

#[tauri::command]
pub async fn access(shell: State<'_, Shell>) -> Result<AccessState, TypedError> {
    call(&shell, BrokerClient::access).await
}

#[tauri::command]
pub async fn unlock(shell: State<'_, Shell>, secret: String) -> Result<AccessState, TypedError> {
    if secret.is_empty() {
        return Err(bad_request("enter the passphrase or PIN"));
    }
    let secret = UserSecret::new(secret);
    call(&shell, move |client| client.unlock(secret)).await
}

#[tauri::command]
pub async fn lock(shell: State<'_, Shell>) -> Result<AccessState, TypedError> {
    call(&shell, BrokerClient::lock).await
}

#[tauri::command]
pub async fn sources(shell: State<'_, Shell>) -> Result<Vec<SourceInfo>, TypedError> {
    call(&shell, BrokerClient::sources).await
}

#[tauri::command]
pub async fn source_add_files(
    shell: State<'_, Shell>,
    name: String,
    paths: Vec<String>,
) -> Result<SourceInfo, TypedError> {
    let name = checked_name("source name", &name)?;
    let paths: Vec<String> = paths.into_iter().map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect();
    if paths.is_empty() {
        return Err(bad_request("choose at least one CSV, JSON or Parquet file"));
    }
    call(&shell, move |client| client.source_add(name, SourceSpec::Files { paths })).await
}

/// What `source_add_database` takes, named as the page passes its arguments.
// Gathered in a struct so that its TypeScript shape is generated (see `bindings`); Tauri names a command's
// arguments in camelCase on the JavaScript side, hence `rename_all`.
#[derive(Debug, ts_rs::TS)]
#[ts(rename_all = "camelCase")]
pub struct DatabaseSourceArgs {
    pub name: String,
    /// Any kind but `files`.
    #[ts(type = "Exclude<SourceKind, 'files'>")]
    pub kind: SourceKind,
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    /// Null or empty: none.
    pub password: Option<String>,
    pub tls: TlsMode,
}

impl DatabaseSourceArgs {
    /// The source's name and spec, or why the arguments are refused.
    fn into_source(self) -> Result<(String, SourceSpec), TypedError> {
        let DatabaseSourceArgs { name, kind, host, port, database, user, password, tls } = self;
        let name = checked_name("source name", &name)?;
        if kind == SourceKind::Files {
            return Err(bad_request("a files source is added with its files, not a server"));
        }
        let host = checked_name("host", &host)?;
        let database = checked_name("database", &database)?;
        if port == 0 {
            return Err(bad_request("the port must be between 1 and 65535"));
        }
        let target = DbTarget { host, port, database, user: user.trim().to_owned(), tls };
        let password = password.filter(|p| !p.is_empty()).map(UserSecret::new);
        Ok((name, SourceSpec::Database { kind, target, password }))
    }
}

/// Takes the fields of [`DatabaseSourceArgs`] as separate arguments: the page calls it with that object spread.
#[tauri::command]
#[allow(clippy::too_many_arguments)]
pub async fn source_add_database(
    shell: State<'_, Shell>,
    name: String,
    kind: SourceKind,
    host: String,
    port: u16,
    database: String,
    user: String,
    password: Option<String>,
    tls: TlsMode,
) -> Result<SourceInfo, TypedError> {
    let (name, spec) = DatabaseSourceArgs { name, kind, host, port, database, user, password, tls }.into_source()?;
    call(&shell, move |client| client.source_add(name, spec)).await
}

#[tauri::command]
pub async fn source_test(shell: State<'_, Shell>, name: String) -> Result<SourceTestReport, TypedError> {
    call(&shell, move |client| client.source_test(name)).await
}

#[tauri::command]
pub async fn source_set_enabled(
    shell: State<'_, Shell>,
    name: String,
    enabled: bool,
) -> Result<SourceInfo, TypedError> {
    call(&shell, move |client| client.source_set_enabled(name, enabled)).await
}

#[tauri::command]
pub async fn source_remove(shell: State<'_, Shell>, name: String) -> Result<(), TypedError> {
    call(&shell, move |client| client.source_remove(name)).await.map(drop)
}

#[tauri::command]
pub async fn schema(shell: State<'_, Shell>, name: String, refresh: bool) -> Result<SchemaSnapshot, TypedError> {
    call(&shell, move |client| client.schema(name, refresh)).await
}

#[tauri::command]
pub async fn sessions(shell: State<'_, Shell>) -> Result<Vec<ChatSession>, TypedError> {
    call(&shell, BrokerClient::sessions).await
}

#[tauri::command]
pub async fn session_create(shell: State<'_, Shell>, title: String) -> Result<ChatSession, TypedError> {
    let title = checked_name("session title", &title)?;
    call(&shell, move |client| client.session_create(title)).await
}

#[tauri::command]
pub async fn session_messages(shell: State<'_, Shell>, session: u64) -> Result<Vec<ChatMessage>, TypedError> {
    call(&shell, move |client| client.messages(SessionId(session))).await
}

/// Gives a session a new title, checked like a new session's.
#[tauri::command]
pub async fn session_rename(
    shell: State<'_, Shell>,
    session: SessionId,
    title: String,
) -> Result<ChatSession, TypedError> {
    let title = checked_name("session title", &title)?;
    call(&shell, move |client| client.session_rename(session, title)).await
}

#[tauri::command]
pub async fn ask(
    shell: State<'_, Shell>,
    source: String,
    question: String,
    session: Option<u64>,
) -> Result<DraftPreview, TypedError> {
    let question = question.trim().to_owned();
    if question.is_empty() {
        return Err(bad_request("type a question first"));
    }
    call(&shell, move |client| client.ask(source, question, session.map(SessionId))).await
}

/// A query the user wrote or edited: checked like a drafted one, with a token of its own.
#[tauri::command]
pub async fn draft(shell: State<'_, Shell>, source: String, query: String) -> Result<DraftPreview, TypedError> {
    if query.trim().is_empty() {
        return Err(bad_request("the query is empty"));
    }
    call(&shell, move |client| client.draft(source, query)).await
}

/// Runs an approved draft. Progress (queued, started, rows so far) goes to `on_event` as it happens.
#[tauri::command]
pub async fn run(shell: State<'_, Shell>, token: String, on_event: Channel<RunEvent>) -> Result<RunView, TypedError> {
    let summary = call(&shell, move |client| {
        client.run(token, &mut |event| {
            // The page may be gone (a reload); the run goes on and its result stays in History.
            let _ = on_event.send(event);
        })
    })
    .await?;
    Ok(summary.into())
}

#[tauri::command]
pub async fn deny(shell: State<'_, Shell>, draft: u64) -> Result<(), TypedError> {
    call(&shell, move |client| client.deny(DraftId(draft))).await.map(drop)
}

#[tauri::command]
pub async fn cancel(shell: State<'_, Shell>, run: u64) -> Result<(), TypedError> {
    call(&shell, move |client| client.cancel(RunId(run))).await.map(drop)
}

#[tauri::command]
pub async fn result_page(shell: State<'_, Shell>, run: u64, offset: u64, limit: u64) -> Result<PageView, TypedError> {
    if limit == 0 || limit > MAX_PAGE_ROWS {
        return Err(bad_request(format!("a page holds 1 to {MAX_PAGE_ROWS} rows")));
    }
    let page = call(&shell, move |client| client.result(RunId(run), offset, limit)).await?;
    Ok(page.into())
}

/// The page reports how long a run's result took to show (its answer to the painted first rows), for the
/// diagnostics' `render` stage.
#[tauri::command]
pub async fn render_time(shell: State<'_, Shell>, run: u64, micros: u64) -> Result<(), TypedError> {
    call(&shell, move |client| client.render_time(RunId(run), micros)).await
}

#[tauri::command]
pub async fn run_trace(shell: State<'_, Shell>, run: u64) -> Result<RunTrace, TypedError> {
    call(&shell, move |client| client.run_trace(RunId(run))).await
}

#[tauri::command]
pub async fn diag(shell: State<'_, Shell>) -> Result<DiagReport, TypedError> {
    call(&shell, BrokerClient::diag).await
}

#[tauri::command]
pub async fn audit(shell: State<'_, Shell>, filter: AuditFilter) -> Result<Vec<AuditEvent>, TypedError> {
    call(&shell, move |client| client.audit(filter)).await
}

#[tauri::command]
pub async fn settings(shell: State<'_, Shell>) -> Result<Settings, TypedError> {
    call(&shell, BrokerClient::settings).await
}

/// Chooses the model provider. Empty `model` and `endpoint` keep the provider's last (else default) ones; the API key
/// goes to the OS keyring through the broker and never comes back.
#[tauri::command]
pub async fn set_llm(
    shell: State<'_, Shell>,
    provider: LlmProvider,
    model: Option<String>,
    endpoint: Option<String>,
    api_key: Option<String>,
    clear_api_key: bool,
) -> Result<Settings, TypedError> {
    let model = optional_text("model", model)?;
    let endpoint = optional_text("endpoint", endpoint)?;
    let api_key = api_key.filter(|key| !key.is_empty()).map(UserSecret::new);
    if api_key.is_some() && clear_api_key {
        return Err(bad_request("either set an API key or clear it, not both"));
    }
    call(&shell, move |client| client.set_llm(provider, model, endpoint, api_key, clear_api_key)).await
}

#[tauri::command]
pub async fn llm_test(shell: State<'_, Shell>) -> Result<LlmTestReport, TypedError> {
    call(&shell, BrokerClient::llm_test).await
}

/// Changes the profile's limits; the broker checks each against its range.
#[tauri::command]
pub async fn set_limits(shell: State<'_, Shell>, change: LimitsChange) -> Result<Settings, TypedError> {
    call(&shell, move |client| client.set_limits(change)).await
}

/// Sets the owner's passphrase or the viewer's PIN, or removes it when `secret` is null.
#[tauri::command]
pub async fn set_lock(shell: State<'_, Shell>, role: Role, secret: Option<String>) -> Result<AccessState, TypedError> {
    if secret.as_deref() == Some("") {
        return Err(bad_request("enter the new passphrase or PIN, or remove it"));
    }
    let secret = secret.map(UserSecret::new);
    call(&shell, move |client| client.set_lock(role, secret)).await
}

/// A text field left empty means "keep it": `None`. Otherwise trimmed, and refused with control characters.
fn optional_text(what: &str, value: Option<String>) -> Result<Option<String>, TypedError> {
    let Some(value) = value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()) else { return Ok(None) };
    if value.chars().any(char::is_control) {
        return Err(bad_request(format!("the {what} has control characters")));
    }
    Ok(Some(value))
}

/// Writes an export (the displayed dataset as CSV, the current chart as PNG or SVG) into the export directory
/// (`POLYSTOREIQ_EXPORT_DIR`, else `~/Downloads`), never over an existing file, and returns its path. The bytes
/// come as the request's raw body and the file name in the `x-export-name` header, so a large export is never a
/// JSON array of numbers.
#[tauri::command]
pub async fn export_file(request: IpcRequest<'_>) -> Result<String, TypedError> {
    let name = request
        .headers()
        .get(EXPORT_NAME_HEADER)
        .and_then(|value| value.to_str().ok())
        .ok_or_else(|| bad_request(format!("an export names its file in the {EXPORT_NAME_HEADER} header")))?;
    let name = export_name(name)?;
    let data = match request.body() {
        InvokeBody::Raw(bytes) => bytes.clone(),
        // A webview that cannot send raw bytes sends them as a JSON array.
        InvokeBody::Json(value) => Vec::<u8>::deserialize(value)
            .map_err(|_| bad_request("an export's body is its bytes, raw or as an array of bytes"))?,
    };
    if data.is_empty() || data.len() > MAX_EXPORT_BYTES {
        return Err(bad_request(format!("an export holds 1 byte to {} MiB", MAX_EXPORT_BYTES >> 20)));
    }
    blocking(move || {
        let dir = export_dir();
        std::fs::create_dir_all(&dir).map_err(|err| {
            TypedError::new(ErrorCode::Internal, format!("cannot create the export folder {}: {err}", dir.display()))
        })?;
        let path = free_path(&dir, &name);
        std::fs::write(&path, &data)
            .map_err(|err| TypedError::new(ErrorCode::Internal, format!("cannot write {}: {err}", path.display())))?;
        Ok(path.display().to_string())
    })
    .await
}

/// A file name for an export: letters, digits, `.`, `-`, `_`, ending in .csv, .png or .svg.
fn export_name(name: &str) -> Result<String, TypedError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    let extension = Path::new(name).extension().and_then(|e| e.to_str()).unwrap_or("");
    if name.is_empty() || name.len() > 100 || name.starts_with('.') || !name.chars().all(allowed) {
        return Err(bad_request("an export name uses letters, digits, '.', '-' and '_' only"));
    }
    if !matches!(extension, "csv" | "png" | "svg") {
        return Err(bad_request("an export is a .csv, .png or .svg file"));
    }
    Ok(name.to_owned())
}

fn export_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("POLYSTOREIQ_EXPORT_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join("Downloads")
}

/// `dir/name`, or `dir/stem-2.ext`, `-3`... when taken.
fn free_path(dir: &Path, name: &str) -> PathBuf {
    let first = dir.join(name);
    if !first.exists() {
        return first;
    }
    let path = Path::new(name);
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("export");
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    (2..).map(|n| dir.join(format!("{stem}-{n}.{extension}"))).find(|p| !p.exists()).unwrap_or(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_names_are_plain_files_of_the_three_kinds() {
        for good in ["result.csv", "chart-2024_05.png", "chart.svg"] {
            assert_eq!(export_name(good).unwrap(), good);
        }
        for bad in ["", "../x.csv", "a/b.csv", ".csv", "x.exe", "x", "résumé.csv", "a b.csv", "x.csv\n"] {
            assert_eq!(export_name(bad).unwrap_err().code, ErrorCode::BadRequest, "{bad:?}");
        }
    }

    #[test]
    fn an_export_never_overwrites_a_file() {
        let dir = tempfile_dir();
        assert_eq!(free_path(&dir, "r.csv"), dir.join("r.csv"));
        std::fs::write(dir.join("r.csv"), "a").unwrap();
        assert_eq!(free_path(&dir, "r.csv"), dir.join("r-2.csv"));
        std::fs::write(dir.join("r-2.csv"), "a").unwrap();
        assert_eq!(free_path(&dir, "r.csv"), dir.join("r-3.csv"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("psiq-export-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The page may call every granted command (all but `broker_stop`), and nothing else.
    #[test]
    fn the_capability_lists_every_granted_command_and_nothing_else() {
        let capability: serde_json::Value =
            serde_json::from_str(include_str!("../capabilities/default.json")).expect("capability JSON");
        let granted: Vec<String> = capability["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p.as_str()?.strip_prefix("allow-").map(|c| c.replace('-', "_")))
            .collect();
        let expected: Vec<String> = crate::command_names::GRANTED.iter().map(|c| (*c).to_owned()).collect();
        assert_eq!(granted, expected);
        assert!(!crate::command_names::GRANTED.contains(&"broker_stop"));
    }

    #[test]
    fn names_are_trimmed_by_nobody_and_refused_when_padded() {
        assert!(checked_name("source name", "shop").is_ok());
        for bad in ["", " ", " shop", "shop ", "sh\u{7}op"] {
            assert_eq!(checked_name("source name", bad).unwrap_err().code, ErrorCode::BadRequest, "{bad:?}");
        }
    }
}
