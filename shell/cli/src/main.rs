//! `psiq`: the PolyStoreIQ command line. Every command is one call through the broker client library;
//! human-readable output by default, `--json` on every command.

mod interrupt;
mod output;
mod time;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use polystoreiq_client::{BrokerClient, parse_db_url};
use polystoreiq_protocol::broker::{Reply, Request, RunEvent};
use polystoreiq_protocol::secret::UserSecret;
use polystoreiq_protocol::types::{
    AuditFilter, DraftId, Engine, LimitsChange, LlmProvider, Role, RunId, SessionId, SourceKind, SourceSpec, TlsMode,
};
use polystoreiq_protocol::worker::{Fault, Probe};
use polystoreiq_protocol::{ErrorCode, TypedError};

use crate::output::Output;

#[derive(Parser)]
#[command(
    name = "psiq",
    version,
    about = "Ask your databases and files questions; approve every query before it runs."
)]
struct Cli {
    /// The profile directory (default: $XDG_DATA_HOME/polystoreiq or ~/.local/share/polystoreiq).
    #[arg(long, global = true, env = "POLYSTOREIQ_HOME")]
    home: Option<PathBuf>,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Register, list, test, enable, disable and remove sources.
    #[command(subcommand)]
    Source(SourceCommand),
    /// Show the tables, columns, keys, indexes and comments of a source. A database's schema is kept for
    /// POLYSTOREIQ_SCHEMA_TTL_S seconds (600 by default) and read again once older.
    Schema {
        name: String,
        /// Read the schema again now instead of using the cached one.
        #[arg(long)]
        refresh: bool,
    },
    /// Draft a query from a question. Nothing runs until you approve it with `psiq run TOKEN`.
    Ask {
        source: String,
        question: String,
        #[arg(long)]
        session: Option<u64>,
    },
    /// Run an approved draft.
    Run { token: String },
    /// Deny a draft; its token stops working.
    Deny { draft: u64 },
    /// Draft a query you wrote; with --yes, approve and run it at once.
    Query {
        source: String,
        #[arg(long)]
        sql: String,
        #[arg(long)]
        yes: bool,
    },
    /// Cancel a running query; its worker is killed.
    Cancel { run: u64 },
    /// Print the stored result of a run.
    Result {
        run: u64,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Check queries with an engine's guardrail: one query per line on standard input, one JSON verdict
    /// (`{"allowed": bool, "code": "...", "reason": "..."}`) per line on standard output. Nothing runs.
    Guard {
        #[arg(long, value_enum)]
        engine: EngineArg,
    },
    /// Worker health, pool occupancy and per-stage latency.
    Diag,
    /// The timed stages of one run (draft, dry run, execution, normalisation, render), from its trace.
    Trace { run: u64 },
    /// The audit log, oldest first. TIME is unix milliseconds, an ISO date (2026-11-22 or
    /// 2026-11-22T10:00:00Z), or an age such as 90s, 15m, 2h, 7d.
    Audit {
        #[arg(long)]
        source: Option<String>,
        #[arg(long)]
        session: Option<u64>,
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        until: Option<String>,
        #[arg(long)]
        action: Option<String>,
        #[arg(long, default_value_t = 1000)]
        limit: u64,
    },
    /// Unlock the profile: reads the owner's passphrase or the viewer's PIN from standard input.
    Unlock,
    /// Lock the profile now, or manage its lock.
    Lock {
        #[command(subcommand)]
        action: Option<LockAction>,
    },
    /// Chat sessions: a thread of questions and drafts that survives restarts.
    #[command(subcommand)]
    Session(SessionCommand),
    /// Show and change the profile's settings, such as the model provider that drafts queries.
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// Control the profile's broker.
    #[command(subcommand)]
    Broker(BrokerCommand),
    /// Run a worker that misbehaves on purpose (debug builds only), to see the supervisor cope.
    #[command(hide = true)]
    DebugFault {
        source: String,
        #[arg(value_enum)]
        fault: FaultArg,
        /// For probes: the file to read or write, or the Unix socket to connect to.
        #[arg(long)]
        path: Option<String>,
        /// For probes: the host and port to reach, the pid to trace or signal, MiB to allocate, seconds to spin.
        #[arg(long, default_value = "127.0.0.1")]
        host: String,
        #[arg(long, default_value_t = 0)]
        number: u64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum EngineArg {
    Postgres,
    Mysql,
    Duckdb,
    Mongodb,
}

#[derive(Clone, Copy, ValueEnum)]
enum FaultArg {
    Panic,
    Abort,
    Segfault,
    Oom,
    Garbage,
    Exit,
    Sleep,
    ProbeRead,
    ProbeDuckdbRead,
    ProbeWrite,
    ProbeConnect,
    ProbeUdp,
    ProbeSpawn,
    ProbeForkBomb,
    ProbeAllocate,
    ProbeEnvironment,
    ProbePtrace,
    ProbeSignal,
    ProbeSpin,
    ProbeConnectUnix,
}

impl FaultArg {
    fn fault(self, path: Option<String>, host: String, number: u64) -> Fault {
        let path = path.unwrap_or_default();
        let (port, pid) = (number as u16, number as u32);
        match self {
            FaultArg::ProbeRead => Fault::Probe(Probe::ReadFile { path }),
            FaultArg::ProbeDuckdbRead => Fault::Probe(Probe::DuckDbReadCsv { path }),
            FaultArg::ProbeWrite => Fault::Probe(Probe::WriteFile { path }),
            FaultArg::ProbeConnect => Fault::Probe(Probe::Connect { host, port }),
            FaultArg::ProbeUdp => Fault::Probe(Probe::UdpSend { host, port }),
            FaultArg::ProbeSpawn => Fault::Probe(Probe::Spawn),
            FaultArg::ProbeForkBomb => Fault::Probe(Probe::ForkBomb),
            FaultArg::ProbeAllocate => Fault::Probe(Probe::Allocate { mb: number }),
            FaultArg::ProbeEnvironment => Fault::Probe(Probe::Environment),
            FaultArg::ProbePtrace => Fault::Probe(Probe::Ptrace { pid }),
            FaultArg::ProbeSignal => Fault::Probe(Probe::Signal { pid }),
            FaultArg::ProbeSpin => Fault::Probe(Probe::Spin { seconds: number }),
            FaultArg::ProbeConnectUnix => Fault::Probe(Probe::ConnectUnix { path }),
            FaultArg::Panic => Fault::Panic,
            FaultArg::Abort => Fault::Abort,
            FaultArg::Segfault => Fault::Segfault,
            FaultArg::Oom => Fault::ExhaustMemory,
            FaultArg::Garbage => Fault::GarbageOnStdout,
            FaultArg::Exit => Fault::Exit(7),
            FaultArg::Sleep => Fault::Sleep { ms: 60_000 },
        }
    }
}

#[derive(Subcommand)]
enum SourceCommand {
    /// Register a source.
    Add {
        name: String,
        #[arg(long, value_enum)]
        kind: SourceKindArg,
        /// Files: a file or a glob (quote it); repeat for several tables.
        #[arg(long = "path", num_args = 1.., required_if_eq("kind", "files"))]
        paths: Vec<String>,
        /// Databases: postgres://USER@HOST[:PORT]/DATABASE, mysql://USER@HOST[:PORT]/DATABASE or
        /// mongodb://[USER@]HOST[:PORT]/DATABASE (no password: use --password-stdin).
        #[arg(long, required_if_eq_any([("kind", "postgres"), ("kind", "mysql"), ("kind", "mongodb")]))]
        url: Option<String>,
        /// Read the database password from standard input; it goes to the OS keyring, nowhere else.
        #[arg(long)]
        password_stdin: bool,
        /// TLS to the database, with libpq's sslmode meanings. `require` encrypts but does not check the server's
        /// certificate (it protects against eavesdropping, not against a server pretending to be yours); only
        /// `verify-full` checks the certificate (against the Mozilla root certificates) and the host name.
        /// MongoDB has no opportunistic TLS: there `prefer` connects without it.
        #[arg(long, value_enum, default_value_t = TlsArg::Prefer)]
        tls: TlsArg,
    },
    List,
    Test {
        name: String,
    },
    Disable {
        name: String,
    },
    Enable {
        name: String,
    },
    Remove {
        name: String,
    },
    /// Show, or (owner) set, the user-defined functions a database source's queries may call. None by default:
    /// the guardrail cannot see what a user function does. Every change is audited.
    Functions {
        name: String,
        /// Allow this function, named as a query names it (`sales.fiscal_quarter`); repeat for several. Replaces
        /// the list.
        #[arg(long = "allow")]
        allow: Vec<String>,
        /// Allow none again.
        #[arg(long, conflicts_with = "allow")]
        clear: bool,
    },
}

#[derive(Subcommand)]
enum LockAction {
    /// Set the owner's passphrase (6+ characters) or the viewer's PIN (4+), read from standard input.
    Set {
        #[arg(long, value_enum)]
        role: RoleArg,
    },
    /// Remove a lock (removing the owner's removes the viewer's too).
    Remove {
        #[arg(long, value_enum)]
        role: RoleArg,
    },
    /// Whether the profile is locked, and as whom it is unlocked.
    Status,
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Owner,
    Viewer,
}

impl RoleArg {
    fn role(self) -> Role {
        match self {
            RoleArg::Owner => Role::Owner,
            RoleArg::Viewer => Role::Viewer,
        }
    }
}

#[derive(Subcommand)]
enum SessionCommand {
    /// Start a session; pass its id to `psiq ask --session`.
    New {
        title: String,
    },
    List,
    /// The messages of a session, in order.
    Show {
        session: u64,
    },
    /// Give a session a new title.
    Rename {
        session: u64,
        title: String,
    },
}

#[derive(Subcommand)]
enum SettingsCommand {
    /// The settings in force; an API key is shown only as set or not set.
    Show,
    /// Choose who drafts queries from questions: the built-in offline planner, an OpenAI-compatible API (OpenAI,
    /// a llama.cpp or vLLM server, LM Studio), Anthropic, or a local Ollama. Takes effect at the next question.
    /// When the provider fails, the offline planner drafts instead and the draft says so.
    Llm {
        #[arg(long, value_enum)]
        provider: ProviderArg,
        /// The model, e.g. gpt-4o-mini, claude-3-5-haiku-latest, llama3.1 (default: the provider's last one, else
        /// a sensible default).
        #[arg(long)]
        model: Option<String>,
        /// The API's base URL, e.g. https://api.openai.com/v1, http://127.0.0.1:8080/v1 (llama.cpp),
        /// https://api.anthropic.com, http://127.0.0.1:11434 (Ollama).
        #[arg(long)]
        endpoint: Option<String>,
        /// Read the provider's API key from standard input; it goes to the OS keyring, nowhere else.
        #[arg(long, conflicts_with = "clear_api_key")]
        api_key_stdin: bool,
        /// Remove the provider's API key from the keyring.
        #[arg(long)]
        clear_api_key: bool,
    },
    /// Ask the configured model provider whether it answers (and whether it knows the model).
    Test,
    /// Change the profile's limits. Each applies at once (a smaller worker count as running workers finish) and is
    /// kept across restarts. A `POLYSTOREIQ_*` variable set when the broker started wins over these.
    Limits {
        /// Rows kept per run (1 to 1000000).
        #[arg(long)]
        row_limit: Option<u64>,
        /// A run's worker is killed after this many seconds (1 to 86400).
        #[arg(long)]
        run_timeout_s: Option<u64>,
        /// A draft's dry run gives up after this many milliseconds (100 to 120000).
        #[arg(long)]
        check_timeout_ms: Option<u64>,
        /// Workers running at once (1 to 64).
        #[arg(long)]
        max_workers: Option<u32>,
        /// Audit events older than this many days are deleted (1 to 36500).
        #[arg(long)]
        audit_retention_days: Option<u32>,
        /// Temporary file space one query may fill, in MiB (1 to 1048576): PostgreSQL's temp_file_limit (where
        /// the role may set it) and DuckDB's max_temp_directory_size.
        #[arg(long)]
        temp_space_mb: Option<u64>,
        /// Memory one sort or hash may use before it spills to disk, in MiB (1 to 65536): PostgreSQL's work_mem.
        #[arg(long)]
        work_mem_mb: Option<u64>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ProviderArg {
    Offline,
    Openai,
    Anthropic,
    Ollama,
}

#[derive(Subcommand)]
enum BrokerCommand {
    /// Stop the profile's broker (running queries are cancelled).
    Stop,
}

#[derive(Clone, Copy, ValueEnum)]
enum SourceKindArg {
    Files,
    Postgres,
    Mysql,
    Mongodb,
}

#[derive(Clone, Copy, ValueEnum)]
enum TlsArg {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, else plain TCP; the certificate is not checked.
    Prefer,
    /// TLS or no connection; the certificate is not checked (libpq's sslmode=require).
    Require,
    /// TLS with the certificate checked against the Mozilla root certificates, and the host name against it.
    VerifyFull,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

fn main() -> ExitCode {
    // A closed pipe (`psiq diag | head`) ends psiq quietly, as it does any Unix tool, instead of a panic.
    // SAFETY: restoring the default disposition of one signal, before any thread exists.
    unsafe { nix::libc::signal(nix::libc::SIGPIPE, nix::libc::SIG_DFL) };
    let cli = Cli::parse();
    let out = Output { json: cli.json };
    match run(cli, &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            out.error(&err);
            ExitCode::from(match err.code {
                ErrorCode::BrokerUnavailable | ErrorCode::VersionMismatch => 3,
                _ => 1,
            })
        }
    }
}

fn run(cli: Cli, out: &Output) -> Result<(), TypedError> {
    let home = cli.home.unwrap_or_else(polystoreiq_client::default_home);
    let home = std::path::absolute(&home).unwrap_or(home);
    if let Command::Broker(BrokerCommand::Stop) = cli.command {
        return match BrokerClient::connect(&home) {
            Ok(mut client) => client.shutdown().map(|()| out.message("broker stopped")),
            Err(_) => {
                out.message("no broker is running");
                Ok(())
            }
        };
    }
    let mut client = BrokerClient::connect_or_start(&home)?;
    match cli.command {
        Command::Source(cmd) => source(&mut client, cmd, out),
        Command::Schema { name, refresh } => out.reply(client.call(Request::Schema { name, refresh })?),
        Command::Ask { source, question, session } => {
            out.reply(client.call(Request::Ask { source, question, session: session.map(SessionId) })?)
        }
        Command::Run { token } => run_token(&mut client, &home, token, out),
        Command::Deny { draft } => out.reply(client.call(Request::Deny { draft: DraftId(draft) })?),
        Command::Query { source, sql, yes } => {
            let preview = client.draft(source, sql)?;
            match (&preview.token, yes) {
                (Some(token), true) => run_token(&mut client, &home, token.clone(), out),
                (None, true) => Err(match &preview.check {
                    Some(check) if preview.verdict.allowed => TypedError::new(
                        ErrorCode::QueryFailed,
                        format!("the dry run found an error, so nothing ran: {}", check.message),
                    ),
                    _ => TypedError::new(
                        ErrorCode::QueryRejected,
                        format!("{} [{}]", preview.verdict.reason, preview.verdict.code),
                    ),
                }),
                (_, false) => out.reply(Reply::Draft(Box::new(preview))),
            }
        }
        Command::Cancel { run } => out.reply(client.call(Request::Cancel { run: RunId(run) })?),
        Command::Result { run, format } => output::result(&mut client, RunId(run), format, out),
        Command::Guard { engine } => guard(&mut client, engine),
        Command::Diag => out.reply(client.call(Request::Diag)?),
        Command::Trace { run } => out.reply(client.call(Request::RunTrace { run: RunId(run) })?),
        Command::Audit { source, session, since, until, action, limit } => {
            let filter = AuditFilter {
                source,
                session: session.map(SessionId),
                since_ms: since.as_deref().map(time::parse).transpose()?,
                until_ms: until.as_deref().map(time::parse).transpose()?,
                action: action.as_deref().map(str::parse).transpose()?,
                limit: Some(limit),
            };
            out.reply(client.call(Request::Audit { filter })?)
        }
        Command::Unlock => out.reply(client.call(Request::Unlock { secret: read_secret()? })?),
        Command::Lock { action: None } => out.reply(client.call(Request::Lock)?),
        Command::Lock { action: Some(LockAction::Status) } => out.reply(client.call(Request::Access)?),
        Command::Lock { action: Some(LockAction::Set { role }) } => {
            out.reply(client.call(Request::SetLock { role: role.role(), secret: Some(read_secret()?) })?)
        }
        Command::Lock { action: Some(LockAction::Remove { role }) } => {
            out.reply(client.call(Request::SetLock { role: role.role(), secret: None })?)
        }
        Command::Session(SessionCommand::New { title }) => out.reply(client.call(Request::SessionCreate { title })?),
        Command::Session(SessionCommand::List) => out.reply(client.call(Request::Sessions)?),
        Command::Session(SessionCommand::Rename { session, title }) => {
            out.reply(client.call(Request::SessionRename { session: SessionId(session), title })?)
        }
        Command::Session(SessionCommand::Show { session }) => {
            out.reply(client.call(Request::Messages { session: SessionId(session) })?)
        }
        Command::Settings(SettingsCommand::Show) => out.reply(client.call(Request::Settings)?),
        Command::Settings(SettingsCommand::Test) => out.reply(client.call(Request::LlmTest)?),
        Command::Settings(SettingsCommand::Llm { provider, model, endpoint, api_key_stdin, clear_api_key }) => {
            let provider = match provider {
                ProviderArg::Offline => LlmProvider::Offline,
                ProviderArg::Openai => LlmProvider::Openai,
                ProviderArg::Anthropic => LlmProvider::Anthropic,
                ProviderArg::Ollama => LlmProvider::Ollama,
            };
            let api_key = if api_key_stdin { Some(read_secret()?) } else { None };
            out.reply(client.call(Request::SetLlm { provider, model, endpoint, api_key, clear_api_key })?)
        }
        Command::Settings(SettingsCommand::Limits {
            row_limit,
            run_timeout_s,
            check_timeout_ms,
            max_workers,
            audit_retention_days,
            temp_space_mb,
            work_mem_mb,
        }) => {
            let change = LimitsChange {
                row_limit,
                run_timeout_ms: run_timeout_s.map(|s| s.saturating_mul(1000)),
                check_timeout_ms,
                max_workers,
                audit_retention_days,
                temp_space_mb,
                work_mem_mb,
            };
            out.reply(client.call(Request::SetLimits(change))?)
        }
        Command::DebugFault { source, fault, path, host, number } => {
            out.reply(client.call(Request::Fault { source, fault: fault.fault(path, host, number) })?)
        }
        Command::Broker(_) => unreachable!("handled above"),
    }
}

fn source(client: &mut BrokerClient, cmd: SourceCommand, out: &Output) -> Result<(), TypedError> {
    let request = match cmd {
        SourceCommand::Add { name, kind: SourceKindArg::Files, paths, .. } => {
            // The broker runs elsewhere: send absolute paths.
            let paths = paths
                .into_iter()
                .map(|p| std::path::absolute(&p).map_or(p, |abs| abs.to_string_lossy().into_owned()))
                .collect();
            Request::SourceAdd { name, spec: SourceSpec::Files { paths } }
        }
        SourceCommand::Add { name, kind, url, password_stdin, tls, .. } => {
            let tls = match tls {
                TlsArg::Disable => TlsMode::Disable,
                TlsArg::Prefer => TlsMode::Prefer,
                TlsArg::Require => TlsMode::Require,
                TlsArg::VerifyFull => TlsMode::VerifyFull,
            };
            let kind = match kind {
                SourceKindArg::Postgres => SourceKind::Postgres,
                SourceKindArg::Mysql => SourceKind::Mysql,
                SourceKindArg::Mongodb => SourceKind::Mongodb,
                SourceKindArg::Files => unreachable!("matched above"),
            };
            let target = parse_db_url(url.as_deref().unwrap_or_default(), kind, tls)?;
            let password = if password_stdin { Some(read_secret()?) } else { None };
            Request::SourceAdd { name, spec: SourceSpec::Database { kind, target, password } }
        }
        SourceCommand::List => Request::SourceList,
        SourceCommand::Test { name } => Request::SourceTest { name },
        SourceCommand::Disable { name } => Request::SourceSetEnabled { name, enabled: false },
        SourceCommand::Enable { name } => Request::SourceSetEnabled { name, enabled: true },
        SourceCommand::Remove { name } => Request::SourceRemove { name },
        SourceCommand::Functions { name, allow, clear } => Request::SourceFunctions {
            source: name,
            functions: if clear { Some(Vec::new()) } else { Some(allow).filter(|list| !list.is_empty()) },
        },
    };
    out.reply(client.call(request)?)
}

/// Runs an approved draft, prints its result, and reports the print's duration as the run's `render` stage.
fn run_token(client: &mut BrokerClient, home: &Path, token: String, out: &Output) -> Result<(), TypedError> {
    let json = out.json;
    let watch = interrupt::RunWatch::start(home.to_path_buf());
    let summary = client.run(token, &mut |event| {
        if let RunEvent::Started { run, .. } | RunEvent::Queued { run, .. } = event {
            watch.set_run(run);
        }
        if json {
            return;
        }
        let mut err = std::io::stderr();
        let _ = match event {
            RunEvent::Started { run, pid } => writeln!(err, "run {run} started (worker pid {pid})"),
            RunEvent::Queued { run, position } => writeln!(err, "run {run} waits for a worker (position {position})"),
            RunEvent::Progress { run, rows, elapsed_ms } => {
                writeln!(err, "run {run}: {rows} rows after {elapsed_ms} ms")
            }
        };
    });
    drop(watch);
    let summary = summary?;
    let run = summary.run;
    let started = std::time::Instant::now();
    out.reply(Reply::RunDone(summary))?;
    let micros = started.elapsed().as_micros() as u64;
    // Telemetry is best effort: a failure to record it never fails the user's command.
    let _ = client.render_time(run, micros);
    Ok(())
}

/// One line of standard input, without its line end: a passphrase or PIN is never an argument (arguments show
/// in the process list and the shell history).
fn read_secret() -> Result<UserSecret, TypedError> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|err| TypedError::new(ErrorCode::BadRequest, format!("cannot read the secret from stdin: {err}")))?;
    let secret = line.trim_end_matches(['\n', '\r']);
    if secret.is_empty() {
        return Err(TypedError::new(ErrorCode::BadRequest, "no secret on standard input"));
    }
    Ok(UserSecret::new(secret))
}

/// `psiq guard`: every line of standard input through the broker's guardrail, one JSON verdict per line.
fn guard(client: &mut BrokerClient, engine: EngineArg) -> Result<(), TypedError> {
    use std::io::{BufRead, Write};
    let engine = match engine {
        EngineArg::Postgres => Engine::Postgres,
        EngineArg::Mysql => Engine::Mysql,
        EngineArg::Duckdb => Engine::Duckdb,
        EngineArg::Mongodb => Engine::Mongodb,
    };
    let io_error =
        |err: std::io::Error| TypedError::new(ErrorCode::BadRequest, format!("cannot read the queries: {err}"));
    let stdout = std::io::stdout();
    let mut stdout = stdout.lock();
    for line in std::io::stdin().lock().lines() {
        let query = line.map_err(io_error)?;
        let verdict = client.guard(engine, query)?;
        let line = serde_json::json!({ "allowed": verdict.allowed, "code": verdict.code, "reason": verdict.reason });
        writeln!(stdout, "{line}").map_err(io_error)?;
    }
    stdout.flush().map_err(io_error)
}
