//! The macOS seatbelt profiles as data: the profile text each worker kind gets (`sandbox-profiles/common.sb`
//! followed by the kind's file), the parameters the profiles read, and the checks and path resolution every
//! parameter value goes through before `macos.rs` hands it to `sandbox_init_with_parameters`.
//!
//! No FFI and nothing macOS-only here, so this compiles everywhere and the tests below check the profiles on
//! Linux: that they parse, that every allow has its reason, and that the parameters they read are exactly the
//! ones the launcher passes. Nothing here applies a sandbox.

// Outside tests only macos.rs and its caller use this module, and only on macOS.
#![cfg_attr(not(target_os = "macos"), allow(dead_code))]

use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use polystoreiq_protocol::worker::{FileSource, Job};

const COMMON: &str = include_str!("../../../sandbox-profiles/common.sb");
const DUCKDB: &str = include_str!("../../../sandbox-profiles/duckdb.sb");
const NETWORK: &str = include_str!("../../../sandbox-profiles/network.sb");

/// Which seatbelt profile a worker runs under: `common.sb` plus one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// An import or a query over a files source: reads the source, writes the scratch directory, no network.
    Duckdb,
    /// A database job: TCP to the database's port, no files.
    Network,
}

impl Profile {
    #[cfg(test)]
    pub const ALL: [Profile; 2] = [Profile::Duckdb, Profile::Network];

    /// The profile's file name without `.sb`.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Duckdb => "duckdb",
            Profile::Network => "network",
        }
    }

    /// Every parameter the profile (with `common.sb`) reads, in [`PARAMETERS`] order. The launcher passes all of
    /// them and no other.
    pub fn parameters(self) -> impl Iterator<Item = &'static str> {
        let own = match self {
            Profile::Duckdb => DUCKDB_PARAMETERS,
            Profile::Network => NETWORK_PARAMETERS,
        };
        COMMON_PARAMETERS.iter().chain(own).copied()
    }

    fn own_text(self) -> &'static str {
        match self {
            Profile::Duckdb => DUCKDB,
            Profile::Network => NETWORK,
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How many source paths a DuckDB worker's profile takes (`SOURCE_PATH_0` ..).
pub const SOURCE_PATH_SLOTS: usize = 32;

/// Every parameter any profile reads, grouped: `common.sb`'s, then `duckdb.sb`'s (its source path slots last),
/// then `network.sb`'s. Seatbelt parameters are strings; paths must be absolute, and [`prepare`] resolves them
/// to the canonical form seatbelt matches against.
pub const PARAMETERS: &[&str] = &[
    // common.sb
    "WORKER_BINARY",
    // duckdb.sb
    "SCRATCH_DIR",
    "DUCKDB_FILE",
    "IMPORT_JOB",
    "SOURCE_PATH_0",
    "SOURCE_PATH_1",
    "SOURCE_PATH_2",
    "SOURCE_PATH_3",
    "SOURCE_PATH_4",
    "SOURCE_PATH_5",
    "SOURCE_PATH_6",
    "SOURCE_PATH_7",
    "SOURCE_PATH_8",
    "SOURCE_PATH_9",
    "SOURCE_PATH_10",
    "SOURCE_PATH_11",
    "SOURCE_PATH_12",
    "SOURCE_PATH_13",
    "SOURCE_PATH_14",
    "SOURCE_PATH_15",
    "SOURCE_PATH_16",
    "SOURCE_PATH_17",
    "SOURCE_PATH_18",
    "SOURCE_PATH_19",
    "SOURCE_PATH_20",
    "SOURCE_PATH_21",
    "SOURCE_PATH_22",
    "SOURCE_PATH_23",
    "SOURCE_PATH_24",
    "SOURCE_PATH_25",
    "SOURCE_PATH_26",
    "SOURCE_PATH_27",
    "SOURCE_PATH_28",
    "SOURCE_PATH_29",
    "SOURCE_PATH_30",
    "SOURCE_PATH_31",
    // network.sb
    "DB_PORT",
    "DB_HOST_SCOPE",
    "DNS_LOOKUP",
];

const COMMON_PARAMETERS: &[&str] = PARAMETERS.split_at(1).0;
const DUCKDB_PARAMETERS: &[&str] = PARAMETERS.split_at(1).1.split_at(3 + SOURCE_PATH_SLOTS).0;
const NETWORK_PARAMETERS: &[&str] = PARAMETERS.split_at(4 + SOURCE_PATH_SLOTS).1;
/// `SOURCE_PATH_0` .. `SOURCE_PATH_31`.
pub const SOURCE_PATHS: &[&str] = DUCKDB_PARAMETERS.split_at(3).1;

/// Parameter names and values, as the launcher passes them to [`prepare`] and `macos::enforce`.
pub type Parameters = Vec<(&'static str, String)>;

/// What fills a source path slot the source does not use: common.sb lets every worker read it anyway.
const UNUSED_PATH: &str = "/dev/null";

/// The whole profile a worker of this kind applies: `common.sb`, then the kind's file.
pub fn profile_text(kind: Profile) -> String {
    let mut text = String::with_capacity(COMMON.len() + 1 + kind.own_text().len());
    text.push_str(COMMON);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(kind.own_text());
    text
}

/// The profile and parameters for `job`, run by the worker binary at `worker_binary` with `scratch_dir` as its
/// scratch directory. A fault job (debug builds only) gets the tightest profile: DuckDB's, with no source.
pub fn for_job(job: &Job, worker_binary: &str, scratch_dir: &str) -> Result<(Profile, Parameters), String> {
    let files = |source: &FileSource, import: bool| {
        let paths: Vec<&str> = source.tables.iter().flat_map(|t| t.paths.iter().map(String::as_str)).collect();
        duckdb_parameters(worker_binary, scratch_dir, &paths, source.database.as_deref(), import)
    };
    Ok(match job {
        Job::Import(import) => (Profile::Duckdb, files(&import.source, true)?),
        Job::Query(query) | Job::Check(query) => (Profile::Duckdb, files(&query.source, false)?),
        Job::Database(db) => (Profile::Network, network_parameters(worker_binary, &db.target.host, db.target.port)?),
        Job::Fault(_) => (Profile::Duckdb, duckdb_parameters(worker_binary, scratch_dir, &[], None, false)?),
    })
}

/// The parameters of a DuckDB worker. `source_paths` are the source's files (or folders, read with everything
/// under them); `duckdb_file` is the source's database of ingested tables, if it has one; `import` says whether
/// the job rebuilds that database. More distinct source paths than [`SOURCE_PATH_SLOTS`] is an error: the
/// profile would have to read more than the source, so it refuses instead of widening.
pub fn duckdb_parameters(
    worker_binary: &str,
    scratch_dir: &str,
    source_paths: &[&str],
    duckdb_file: Option<&str>,
    import: bool,
) -> Result<Parameters, String> {
    let mut distinct: Vec<&str> = Vec::with_capacity(source_paths.len());
    for path in source_paths {
        if !distinct.contains(path) {
            distinct.push(path);
        }
    }
    if distinct.len() > SOURCE_PATH_SLOTS {
        return Err(format!(
            "the source has {} files and the macOS worker sandbox takes at most {SOURCE_PATH_SLOTS} paths per run; \
             pass the folders that hold them instead (a folder counts as one path and opens every file under it)",
            distinct.len()
        ));
    }
    let mut params = vec![
        ("WORKER_BINARY", worker_binary.to_owned()),
        ("SCRATCH_DIR", scratch_dir.to_owned()),
        ("DUCKDB_FILE", duckdb_file.unwrap_or(UNUSED_PATH).to_owned()),
        ("IMPORT_JOB", flag(import && duckdb_file.is_some()).to_owned()),
    ];
    for (slot, name) in SOURCE_PATHS.iter().enumerate() {
        params.push((name, distinct.get(slot).copied().unwrap_or(UNUSED_PATH).to_owned()));
    }
    Ok(params)
}

/// The parameters of a database worker connecting to `host:port`. A host that is an address needs no name
/// lookup; a loopback one (or `localhost`) limits the worker to loopback.
pub fn network_parameters(worker_binary: &str, host: &str, port: u16) -> Result<Parameters, String> {
    if port == 0 {
        return Err("the database port is 0; set the source's port".to_owned());
    }
    if host.starts_with('/') {
        return Err(format!(
            "the source's host {host:?} is a Unix socket, which the macOS worker sandbox does not open; use the \
             server's TCP host and port"
        ));
    }
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if bare.is_empty() {
        return Err("the source has no host; set one".to_owned());
    }
    let (loopback, lookup) = match bare.parse::<IpAddr>() {
        Ok(ip) => (ip.is_loopback(), false),
        Err(_) => (bare.trim_end_matches('.').eq_ignore_ascii_case("localhost"), true),
    };
    Ok(vec![
        ("WORKER_BINARY", worker_binary.to_owned()),
        ("DB_PORT", port.to_string()),
        ("DB_HOST_SCOPE", if loopback { "localhost" } else { "*" }.to_owned()),
        ("DNS_LOOKUP", flag(lookup).to_owned()),
    ])
}

fn flag(value: bool) -> &'static str {
    if value { "TRUE" } else { "FALSE" }
}

/// The kinds of value a parameter holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Value {
    /// An absolute path that must exist and be a regular file.
    File,
    /// An absolute path that must exist and be a directory.
    Dir,
    /// An absolute path that may not exist yet (a source file deleted since, a database before its first import).
    AnyPath,
    /// `TRUE` or `FALSE`.
    Flag,
    /// A TCP port, 1 to 65535.
    Port,
    /// `localhost` or `*`, the host part of a seatbelt `(remote tcp "HOST:PORT")` filter.
    HostScope,
}

fn value_kind(name: &str) -> Value {
    match name {
        "WORKER_BINARY" => Value::File,
        "SCRATCH_DIR" => Value::Dir,
        "IMPORT_JOB" | "DNS_LOOKUP" => Value::Flag,
        "DB_PORT" => Value::Port,
        "DB_HOST_SCOPE" => Value::HostScope,
        _ => Value::AnyPath,
    }
}

/// Checks `params` against what the `kind` profile reads (each parameter exactly once, no other) and returns
/// them in [`PARAMETERS`] order, with every path resolved to its canonical form (symbolic links followed: seatbelt
/// matches the real path, so `/tmp/x` must arrive as `/private/tmp/x`). Fails closed: a value it cannot vouch
/// for is an error, never dropped or widened.
pub fn prepare(kind: Profile, params: &[(&str, String)]) -> Result<Parameters, String> {
    for (i, (name, _)) in params.iter().enumerate() {
        if !kind.parameters().any(|wanted| wanted == *name) {
            return Err(format!(
                "the {kind} sandbox profile reads no parameter {name}; the launcher passed a wrong one"
            ));
        }
        if params[..i].iter().any(|(earlier, _)| earlier == name) {
            return Err(format!("the sandbox parameter {name} was passed twice"));
        }
    }
    let mut prepared = Vec::with_capacity(params.len());
    for name in kind.parameters() {
        let Some((_, value)) = params.iter().find(|(given, _)| *given == name) else {
            return Err(format!(
                "the {kind} sandbox profile needs the parameter {name}, which the launcher did not pass"
            ));
        };
        prepared.push((name, checked_value(name, value)?));
    }
    Ok(prepared)
}

fn checked_value(name: &str, value: &str) -> Result<String, String> {
    if value.contains('\0') {
        return Err(format!("the sandbox parameter {name} contains a NUL byte"));
    }
    let kind = value_kind(name);
    match kind {
        Value::Flag if value == "TRUE" || value == "FALSE" => Ok(value.to_owned()),
        Value::Flag => Err(format!("the sandbox parameter {name} must be TRUE or FALSE, not {value:?}")),
        Value::Port => match value.parse::<u16>() {
            Ok(port) if port > 0 && value.bytes().all(|b| b.is_ascii_digit()) => Ok(value.to_owned()),
            _ => Err(format!("the sandbox parameter {name} must be a TCP port from 1 to 65535, not {value:?}")),
        },
        Value::HostScope if value == "localhost" || value == "*" => Ok(value.to_owned()),
        Value::HostScope => Err(format!("the sandbox parameter {name} must be \"localhost\" or \"*\", not {value:?}")),
        Value::File | Value::Dir | Value::AnyPath => resolve_path(name, value, kind),
    }
}

fn resolve_path(name: &str, value: &str, kind: Value) -> Result<String, String> {
    let path = Path::new(value);
    if !path.is_absolute() {
        return Err(format!("the sandbox parameter {name} must be an absolute path, not {value:?}"));
    }
    let resolved = match std::fs::canonicalize(path) {
        Ok(real) => real,
        Err(err) if kind != Value::AnyPath => {
            return Err(format!("the sandbox parameter {name} names {value}, which cannot be resolved: {err}"));
        }
        // A path that does not exist (yet): resolve its folder, so a later create lands where the rule points.
        // If the folder is missing too the path cannot be reached at all, and the rule as given grants nothing.
        Err(_) => match (path.parent(), path.file_name()) {
            (Some(parent), Some(file)) => match std::fs::canonicalize(parent) {
                Ok(real) => real.join(file),
                Err(_) => path.to_path_buf(),
            },
            _ => path.to_path_buf(),
        },
    };
    match kind {
        Value::File if !resolved.is_file() => {
            return Err(format!("the sandbox parameter {name} must name a file; {value} is not one"));
        }
        Value::Dir if !resolved.is_dir() => {
            return Err(format!("the sandbox parameter {name} must name a folder; {value} is not one"));
        }
        _ => {}
    }
    if resolved.parent().is_none() {
        return Err(format!("the sandbox parameter {name} names the root folder, which would open every file"));
    }
    resolved
        .into_os_string()
        .into_string()
        .map_err(|real| format!("the sandbox parameter {name} resolves to {real:?}, which is not UTF-8"))
}

#[cfg(test)]
mod tests {
    //! The profiles are parsed here as S-expressions and checked against the rules in `common.sb`'s header.
    //! The tests cannot run seatbelt's own compiler (that is macOS only: `macos.rs` has a test that does); they
    //! hold the profiles to the rules a reviewer would, so a profile that breaks one fails on Linux too.

    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    /// Seatbelt operations (the names `allow` and `deny` take), from Apple's SBPL as Chromium and Apple's own
    /// profiles use it. A name outside this list is a typo or an operation this project has not reviewed.
    const KNOWN_OPERATIONS: &[&str] = &[
        "default",
        "file*",
        "file-chroot",
        "file-clone",
        "file-ioctl",
        "file-issue-extension",
        "file-link",
        "file-map-executable",
        "file-mknod",
        "file-mount",
        "file-read*",
        "file-read-data",
        "file-read-metadata",
        "file-read-xattr",
        "file-revoke",
        "file-search",
        "file-test-existence",
        "file-unmount",
        "file-write*",
        "file-write-acl",
        "file-write-create",
        "file-write-data",
        "file-write-flags",
        "file-write-mode",
        "file-write-owner",
        "file-write-setugid",
        "file-write-times",
        "file-write-unlink",
        "file-write-xattr",
        "iokit*",
        "iokit-open",
        "iokit-get-properties",
        "iokit-set-properties",
        "ipc*",
        "ipc-posix*",
        "ipc-posix-sem",
        "ipc-posix-shm*",
        "ipc-posix-shm-read-data",
        "ipc-posix-shm-read-metadata",
        "ipc-posix-shm-write-create",
        "ipc-posix-shm-write-data",
        "ipc-posix-shm-write-unlink",
        "ipc-sysv*",
        "mach*",
        "mach-lookup",
        "mach-register",
        "mach-priv-host-port",
        "mach-priv-task-port",
        "mach-task-name",
        "network*",
        "network-bind",
        "network-inbound",
        "network-outbound",
        "nvram*",
        "process*",
        "process-exec",
        "process-exec*",
        "process-exec-interpreter",
        "process-fork",
        "process-info*",
        "process-info-codesignature",
        "process-info-dirtycontrol",
        "process-info-listpids",
        "process-info-pidinfo",
        "process-info-pidfdinfo",
        "process-info-rusage",
        "process-info-setcontrol",
        "pseudo-tty",
        "signal",
        "sysctl*",
        "sysctl-read",
        "sysctl-write",
        "system*",
        "system-audit",
        "system-fsctl",
        "system-socket",
        "user-preference-read",
        "user-preference-write",
    ];

    /// Seatbelt filters (the lists after the operations), and the combinators over them.
    const KNOWN_FILTERS: &[&str] = &[
        "literal",
        "path",
        "subpath",
        "prefix",
        "regex",
        "vnode-type",
        "require-all",
        "require-any",
        "require-not",
        "target",
        "sysctl-name",
        "sysctl-name-prefix",
        "sysctl-name-regex",
        "global-name",
        "global-name-regex",
        "local-name",
        "remote",
        "local",
        "control-name",
        "socket-domain",
        "socket-type",
        "socket-protocol",
        "ipc-posix-name",
        "ipc-posix-name-regex",
        "iokit-user-client-class",
        "iokit-registry-entry-class",
        "extension",
        "with",
    ];

    /// The forms a profile may use at its top level.
    const TOP_LEVEL: &[&str] = &["version", "define", "allow", "deny", "if", "when"];

    /// Operations no profile may allow: a worker never starts a process or a program.
    const NEVER_ALLOWED: &[&str] =
        &["default", "process*", "process-fork", "process-exec", "process-exec*", "process-exec-interpreter"];

    /// Operations allowed only on the process itself, `(target self)`.
    const SELF_ONLY: &[&str] = &[
        "signal",
        "process-info*",
        "process-info-codesignature",
        "process-info-dirtycontrol",
        "process-info-listpids",
        "process-info-pidinfo",
        "process-info-pidfdinfo",
        "process-info-rusage",
        "process-info-setcontrol",
    ];

    // ---- A small S-expression reader: parens, strings with escapes, #"raw" strings, symbols, ' and ; comments.

    #[derive(Clone, Debug, PartialEq)]
    enum Sexp {
        List(Vec<Sexp>, usize),
        Str(String, usize),
        Sym(String, usize),
    }

    impl Sexp {
        fn line(&self) -> usize {
            match self {
                Sexp::List(_, line) | Sexp::Str(_, line) | Sexp::Sym(_, line) => *line,
            }
        }

        fn head(&self) -> Option<&str> {
            match self {
                Sexp::List(items, _) => match items.first() {
                    Some(Sexp::Sym(name, _)) => Some(name),
                    _ => None,
                },
                _ => None,
            }
        }

        fn items(&self) -> &[Sexp] {
            match self {
                Sexp::List(items, _) => items,
                _ => &[],
            }
        }

        fn is_sym(&self, name: &str) -> bool {
            matches!(self, Sexp::Sym(s, _) if s == name)
        }

        fn is_str(&self, value: &str) -> bool {
            matches!(self, Sexp::Str(s, _) if s == value)
        }

        /// Every form in this one, itself included, depth first.
        fn walk<'a>(&'a self, out: &mut Vec<&'a Sexp>) {
            out.push(self);
            for item in self.items() {
                item.walk(out);
            }
        }

        fn mentions(&self, symbol: &str) -> bool {
            let mut all = Vec::new();
            self.walk(&mut all);
            all.iter().any(|form| form.is_sym(symbol))
        }
    }

    impl fmt::Display for Sexp {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Sexp::Sym(s, _) => f.write_str(s),
                Sexp::Str(s, _) => write!(f, "{s:?}"),
                Sexp::List(items, _) => {
                    f.write_str("(")?;
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            f.write_str(" ")?;
                        }
                        write!(f, "{item}")?;
                    }
                    f.write_str(")")
                }
            }
        }
    }

    #[derive(Debug, PartialEq)]
    enum Token {
        Open,
        Close,
        Quote,
        Str(String),
        Sym(String),
    }

    #[derive(Debug)]
    struct Parsed {
        forms: Vec<Sexp>,
        /// Lines (from 1) that hold nothing but a comment.
        comment_lines: BTreeSet<usize>,
    }

    /// Tokens with the line each starts on.
    type Tokens = Vec<(Token, usize)>;

    fn tokenize(text: &str) -> Result<(Tokens, BTreeSet<usize>), String> {
        let mut tokens = Vec::new();
        let mut comment_lines = BTreeSet::new();
        let mut line = 1;
        let mut code_on_line = false;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\n' => {
                    line += 1;
                    code_on_line = false;
                }
                c if c.is_whitespace() => {}
                ';' => {
                    if !code_on_line {
                        comment_lines.insert(line);
                    }
                    while chars.peek().is_some_and(|&c| c != '\n') {
                        chars.next();
                    }
                }
                '(' => tokens.push((Token::Open, line)),
                ')' => tokens.push((Token::Close, line)),
                '\'' => tokens.push((Token::Quote, line)),
                '"' => {
                    let start = line;
                    let mut s = String::new();
                    loop {
                        match chars.next() {
                            None => return Err(format!("line {start}: unterminated string")),
                            Some('"') => break,
                            Some('\\') => match chars.next() {
                                Some('"') => s.push('"'),
                                Some('\\') => s.push('\\'),
                                Some('n') => s.push('\n'),
                                Some('t') => s.push('\t'),
                                other => return Err(format!("line {line}: unknown escape \\{other:?} in a string")),
                            },
                            Some('\n') => {
                                line += 1;
                                s.push('\n');
                            }
                            Some(c) => s.push(c),
                        }
                    }
                    tokens.push((Token::Str(s), start));
                }
                '#' if chars.peek() == Some(&'"') => {
                    // A raw string (seatbelt's regex literal): backslashes stay as they are.
                    chars.next();
                    let mut s = String::new();
                    loop {
                        match chars.next() {
                            None => return Err(format!("line {line}: unterminated #\"...\" string")),
                            Some('"') => break,
                            Some('\n') => return Err(format!("line {line}: line break in a #\"...\" string")),
                            Some(c) => s.push(c),
                        }
                    }
                    tokens.push((Token::Str(s), line));
                }
                c => {
                    let mut s = String::from(c);
                    while let Some(&next) = chars.peek() {
                        if next.is_whitespace() || matches!(next, '(' | ')' | '"' | ';' | '\'') {
                            break;
                        }
                        s.push(next);
                        chars.next();
                    }
                    tokens.push((Token::Sym(s), line));
                }
            }
            if !matches!(c, '\n' | ';') && !c.is_whitespace() {
                code_on_line = true;
            }
        }
        Ok((tokens, comment_lines))
    }

    fn parse(text: &str) -> Result<Parsed, String> {
        let (tokens, comment_lines) = tokenize(text)?;
        let mut tokens = tokens.into_iter().peekable();
        let mut forms = Vec::new();
        while tokens.peek().is_some() {
            let form = datum(&mut tokens)?;
            if !matches!(form, Sexp::List(..)) {
                return Err(format!("line {}: stray {form} outside any form", form.line()));
            }
            forms.push(form);
        }
        Ok(Parsed { forms, comment_lines })
    }

    fn datum(tokens: &mut std::iter::Peekable<std::vec::IntoIter<(Token, usize)>>) -> Result<Sexp, String> {
        let Some((token, line)) = tokens.next() else {
            return Err("unexpected end of the profile".to_owned());
        };
        match token {
            Token::Str(s) => Ok(Sexp::Str(s, line)),
            Token::Sym(s) => Ok(Sexp::Sym(s, line)),
            Token::Quote => Ok(Sexp::List(vec![Sexp::Sym("quote".into(), line), datum(tokens)?], line)),
            Token::Close => Err(format!("line {line}: unbalanced ')'")),
            Token::Open => {
                let mut items = Vec::new();
                loop {
                    match tokens.peek() {
                        None => return Err(format!("line {line}: '(' is never closed")),
                        Some((Token::Close, _)) => {
                            tokens.next();
                            return Ok(Sexp::List(items, line));
                        }
                        Some(_) => items.push(datum(tokens)?),
                    }
                }
            }
        }
    }

    // ---- The rules.

    /// One `allow` or `deny` rule: its operations and filters, and the `if`/`when` conditions it sits under.
    struct Rule<'a> {
        allow: bool,
        form: &'a Sexp,
        operations: Vec<&'a str>,
        filters: Vec<&'a Sexp>,
        conditions: Vec<&'a Sexp>,
    }

    fn rules<'a>(forms: &'a [Sexp]) -> Vec<Rule<'a>> {
        fn visit<'a>(form: &'a Sexp, conditions: &mut Vec<&'a Sexp>, out: &mut Vec<Rule<'a>>) {
            match form.head() {
                Some(head @ ("allow" | "deny")) => {
                    let args = &form.items()[1..];
                    let operations: Vec<&str> = args
                        .iter()
                        .map_while(|a| match a {
                            Sexp::Sym(s, _) => Some(s.as_str()),
                            _ => None,
                        })
                        .collect();
                    let filters = args[operations.len()..].iter().collect();
                    out.push(Rule {
                        allow: head == "allow",
                        form,
                        operations,
                        filters,
                        conditions: conditions.clone(),
                    });
                }
                Some("if" | "when") => {
                    let items = form.items();
                    if let Some(condition) = items.get(1) {
                        conditions.push(condition);
                        for branch in &items[2..] {
                            visit(branch, conditions, out);
                        }
                        conditions.pop();
                    }
                }
                Some("begin") => {
                    for item in &form.items()[1..] {
                        visit(item, conditions, out);
                    }
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        for form in forms {
            visit(form, &mut Vec::new(), &mut out);
        }
        out
    }

    /// Everything wrong with a whole profile (common.sb plus a kind) that should read exactly `parameters`.
    fn problems(text: &str, parameters: &[&str]) -> Vec<String> {
        let parsed = match parse(text) {
            Ok(parsed) => parsed,
            Err(err) => return vec![format!("does not parse: {err}")],
        };
        let forms = &parsed.forms;
        let mut found = Vec::new();

        let is_version_1 = |f: &Sexp| f.head() == Some("version") && f.items().len() == 2 && f.items()[1].is_sym("1");
        if !forms.first().is_some_and(is_version_1) {
            found.push("does not start with (version 1)".to_owned());
        }
        let versions = forms.iter().filter(|f| f.head() == Some("version")).count();
        if versions != 1 {
            found.push(format!("has {versions} version forms; only common.sb's first line may have one"));
        }
        for form in forms {
            match form.head() {
                Some(head) if TOP_LEVEL.contains(&head) => {}
                _ => found.push(format!("line {}: unexpected top-level form {form}", form.line())),
            }
        }
        let deny_default = forms
            .iter()
            .position(|f| f.items().len() == 2 && f.head() == Some("deny") && f.items()[1].is_sym("default"));
        let first_allow = forms.iter().position(|f| f.head() == Some("allow"));
        match (deny_default, first_allow) {
            (None, _) => found.push("has no top-level (deny default)".to_owned()),
            (Some(deny), Some(allow)) if allow < deny => {
                found.push("allows something before (deny default)".to_owned())
            }
            _ => {}
        }

        for rule in rules(forms) {
            let line = rule.form.line();
            if rule.allow && !parsed.comment_lines.contains(&(line - 1)) {
                found.push(format!("line {line}: an allow without a comment line above it giving its reason"));
            }
            if rule.operations.is_empty() {
                found.push(format!("line {line}: a rule without an operation"));
            }
            for op in &rule.operations {
                if !KNOWN_OPERATIONS.contains(op) {
                    found.push(format!("line {line}: unknown seatbelt operation {op}"));
                }
                if rule.allow && NEVER_ALLOWED.contains(op) {
                    found.push(format!("line {line}: allows {op}; a worker never starts a process or a program"));
                }
                let self_only = rule.filters.len() == 1 && rule.filters[0].to_string() == "(target self)";
                if rule.allow && SELF_ONLY.contains(op) && !self_only {
                    found.push(format!("line {line}: allows {op} beyond (target self)"));
                }
                if rule.allow && rule.filters.is_empty() {
                    found.push(format!("line {line}: allows {op} without a filter, everywhere"));
                }
            }
            for filter in &rule.filters {
                check_filter(filter, &mut found);
            }
        }

        let mut all = Vec::new();
        for form in forms {
            form.walk(&mut all);
        }
        let mut used = BTreeSet::new();
        for form in all.iter().filter(|f| f.head() == Some("param")) {
            match form.items() {
                [_, Sexp::Str(name, _)] => {
                    used.insert(name.as_str());
                }
                _ => found.push(format!("line {}: {form} does not name its parameter as a string", form.line())),
            }
        }
        let passed: BTreeSet<&str> = parameters.iter().copied().collect();
        for name in used.difference(&passed) {
            found.push(format!("reads the parameter {name}, which the launcher does not pass"));
        }
        for name in passed.difference(&used) {
            found.push(format!("never reads the parameter {name}, which the launcher passes"));
        }
        found
    }

    fn check_filter(filter: &Sexp, found: &mut Vec<String>) {
        let line = filter.line();
        match filter.head() {
            Some(head @ ("require-all" | "require-any" | "require-not")) => {
                if filter.items().len() < 2 {
                    found.push(format!("line {line}: an empty {head}"));
                }
                for inner in &filter.items()[1..] {
                    check_filter(inner, found);
                }
            }
            Some(head) if KNOWN_FILTERS.contains(&head) => {
                if filter.items().len() < 2 {
                    found.push(format!("line {line}: the filter ({head}) has no argument"));
                }
            }
            _ => found.push(format!("line {line}: unknown seatbelt filter {filter}")),
        }
    }

    fn whole(kind: Profile) -> (String, Vec<&'static str>) {
        (profile_text(kind), kind.parameters().collect())
    }

    fn parsed_rules(kind: Profile) -> Parsed {
        parse(&profile_text(kind)).expect("the profile parses")
    }

    // ---- The profiles as shipped.

    #[test]
    fn every_profile_file_parses_on_its_own() {
        for (file, text) in [("common.sb", COMMON), ("duckdb.sb", DUCKDB), ("network.sb", NETWORK)] {
            let parsed = parse(text).unwrap_or_else(|err| panic!("{file}: {err}"));
            assert!(!parsed.forms.is_empty(), "{file} is empty");
        }
        let common = parse(COMMON).unwrap();
        assert_eq!(common.forms[0].to_string(), "(version 1)", "common.sb opens with (version 1)");
        assert!(common.forms.iter().any(|f| f.to_string() == "(deny default)"), "common.sb denies by default");
        for (file, text) in [("duckdb.sb", DUCKDB), ("network.sb", NETWORK)] {
            let parsed = parse(text).unwrap();
            assert!(
                parsed.forms.iter().all(|f| f.head() != Some("version")),
                "{file} follows common.sb in one profile, so it has no version form of its own"
            );
        }
    }

    #[test]
    fn every_whole_profile_keeps_the_rules() {
        for kind in Profile::ALL {
            let (text, parameters) = whole(kind);
            let found = problems(&text, &parameters);
            assert!(found.is_empty(), "{kind} profile:\n{}", found.join("\n"));
        }
    }

    #[test]
    fn parameters_are_exactly_those_the_profiles_read() {
        let mut all: Vec<&str> = Vec::new();
        for kind in Profile::ALL {
            all.extend(kind.parameters());
        }
        let union: BTreeSet<&str> = all.iter().copied().collect();
        let listed: BTreeSet<&str> = PARAMETERS.iter().copied().collect();
        assert_eq!(listed.len(), PARAMETERS.len(), "PARAMETERS lists a name twice");
        assert_eq!(union, listed, "every listed parameter belongs to some profile, and no other");
        // Only common.sb's parameters are shared between kinds.
        let shared: Vec<&str> =
            Profile::Duckdb.parameters().filter(|p| Profile::Network.parameters().any(|q| q == *p)).collect();
        assert_eq!(shared, COMMON_PARAMETERS);
        assert_eq!(SOURCE_PATHS.len(), SOURCE_PATH_SLOTS);
        for (i, name) in SOURCE_PATHS.iter().enumerate() {
            assert_eq!(*name, format!("SOURCE_PATH_{i}"));
        }
        // And the profile files themselves: common.sb reads only common parameters.
        let common = parse(COMMON).unwrap();
        let mut forms = Vec::new();
        for form in &common.forms {
            form.walk(&mut forms);
        }
        let read: BTreeSet<String> = forms
            .iter()
            .filter(|f| f.head() == Some("param"))
            .map(|f| f.items()[1].to_string().trim_matches('"').to_owned())
            .collect();
        let expected: BTreeSet<String> = COMMON_PARAMETERS.iter().map(|s| s.to_string()).collect();
        assert_eq!(read, expected);
    }

    #[test]
    fn writes_reach_only_the_scratch_dir_the_database_during_an_import_and_dev_null() {
        for kind in Profile::ALL {
            let parsed = parsed_rules(kind);
            for rule in rules(&parsed.forms).iter().filter(|r| r.allow) {
                let writes = rule.operations.iter().any(|op| op.starts_with("file-write") || *op == "file*");
                if !writes {
                    continue;
                }
                for filter in &rule.filters {
                    let scratch = filter.mentions("scratch-dir");
                    let database = filter.mentions("duckdb-file")
                        && rule.conditions.iter().any(|c| c.to_string() == "import-job?");
                    let dev_null = filter.to_string() == r#"(literal "/dev/null")"#;
                    assert!(
                        scratch || database || dev_null,
                        "{kind} profile line {}: writes {filter}, outside the scratch dir",
                        rule.form.line()
                    );
                }
            }
        }
    }

    #[test]
    fn only_the_network_profile_reaches_the_network_and_only_the_database_port() {
        let network_ops = ["network*", "network-outbound", "network-inbound", "network-bind", "system-socket"];
        let mut allowed = BTreeMap::new();
        for kind in Profile::ALL {
            let parsed = parsed_rules(kind);
            let mut reach = Vec::new();
            for rule in rules(&parsed.forms).iter().filter(|r| r.allow) {
                if !rule.operations.iter().any(|op| network_ops.contains(op)) {
                    continue;
                }
                assert_eq!(rule.operations, ["network-outbound"], "{kind}: only outbound connections");
                for filter in &rule.filters {
                    reach.push(filter.to_string());
                    let conditions: Vec<String> = rule.conditions.iter().map(|c| c.to_string()).collect();
                    if filter.head() == Some("remote") {
                        assert!(filter.items()[1].is_sym("tcp"), "{kind}: TCP only, never UDP or any IP: {filter}");
                        assert!(filter.mentions("db-port"), "{kind}: to the database's port only: {filter}");
                        assert!(filter.mentions("db-host-scope"), "{kind}: on loopback for a local database: {filter}");
                    } else {
                        assert_eq!(filter.to_string(), r#"(literal "/private/var/run/mDNSResponder")"#);
                        assert_eq!(conditions, ["dns-lookup?"], "{kind}: the resolver only when the host is a name");
                    }
                }
            }
            allowed.insert(kind.name(), reach);
        }
        assert_eq!(allowed["duckdb"], Vec::<String>::new(), "a DuckDB worker has no network at all");
        assert_eq!(allowed["network"].len(), 2);
        let duckdb = parsed_rules(Profile::Duckdb);
        assert_eq!(duckdb.forms.last().map(|f| f.to_string()), Some("(deny network*)".to_owned()));
    }

    #[test]
    fn common_denies_new_processes_explicitly() {
        let common = parse(COMMON).unwrap();
        let top: Vec<String> = common.forms.iter().map(|f| f.to_string()).collect();
        for denial in ["(deny process-fork)", "(deny process-exec)", "(allow signal (target self))"] {
            assert!(top.iter().any(|f| f == denial), "common.sb lacks {denial}");
        }
    }

    // ---- The checker itself: each rule catches what it should.

    fn problems_of(kind_text: &str, parameters: &[&str]) -> Vec<String> {
        let text = format!("{COMMON}\n{kind_text}");
        let mut all: Vec<&str> = COMMON_PARAMETERS.to_vec();
        all.extend(parameters);
        problems(&text, &all)
    }

    fn assert_caught(kind_text: &str, parameters: &[&str], expected: &str) {
        let found = problems_of(kind_text, parameters);
        assert!(
            found.iter().any(|p| p.contains(expected)),
            "expected a problem containing {expected:?}, got {found:?}"
        );
    }

    #[test]
    fn the_checker_accepts_a_good_kind_profile() {
        let good = "; Reason.\n(allow file-read* (subpath (param \"X\")))\n";
        assert_eq!(problems_of(good, &["X"]), Vec::<String>::new());
    }

    #[test]
    fn the_checker_catches_broken_profiles() {
        assert_caught("(allow file-read* (subpath \"/a\"))\n", &[], "without a comment line");
        assert_caught("; Reason.\n\n(allow file-read* (subpath \"/a\"))\n", &[], "without a comment line");
        assert_caught("(allow file-read* (subpath \"/a\")) ; trailing\n", &[], "without a comment line");
        assert_caught("; Reason.\n(allow file-reed* (subpath \"/a\"))\n", &[], "unknown seatbelt operation file-reed*");
        assert_caught("; Reason.\n(allow file-read* (subpth \"/a\"))\n", &[], "unknown seatbelt filter");
        assert_caught(
            "; Reason.\n(allow file-read* (subpath (param \"Y\")))\n",
            &[],
            "which the launcher does not pass",
        );
        assert_caught("; Reason.\n(allow file-read* (subpath \"/a\"))\n", &["Z"], "never reads the parameter Z");
        assert_caught(
            "; Reason.\n(allow file-read* (subpath (param (string-append \"A\" \"B\"))))\n",
            &[],
            "as a string",
        );
        assert_caught("; Reason.\n(allow process-fork)\n", &[], "never starts a process");
        assert_caught("; Reason.\n(allow process-exec (literal \"/bin/sh\"))\n", &[], "never starts a process");
        assert_caught("; Reason.\n(allow signal (target others))\n", &[], "beyond (target self)");
        assert_caught("; Reason.\n(allow network-outbound)\n", &[], "without a filter");
        assert_caught("(version 1)\n", &[], "2 version forms");
        assert_caught("(import \"system.sb\")\n", &[], "unexpected top-level form");
        assert_caught("; Reason.\n(allow file-read* (subpath \"/a\")\n", &[], "never closed");
        assert_caught("; Reason.\n(allow file-read* (subpath \"/a\")))\n", &[], "unbalanced ')'");
        assert_caught("; Reason.\n(allow file-read* (subpath \"/a))\n", &[], "unterminated string");
        assert_caught("stray\n", &[], "stray stray outside any form");
        assert_caught("(if x\n  ; Reason.\n  (allow process-fork))\n", &[], "never starts a process");
        // An allow ahead of (deny default), and a profile without it.
        let early = "(version 1)\n; Reason.\n(allow signal (target self))\n(deny default)\n";
        assert!(problems(early, &[]).iter().any(|p| p.contains("before (deny default)")));
        assert!(problems("(version 1)\n", &[]).iter().any(|p| p.contains("no top-level (deny default)")));
        assert!(problems("(deny default)\n(version 1)\n", &[]).iter().any(|p| p.contains("does not start with")));
    }

    #[test]
    fn the_reader_handles_strings_comments_and_quotes() {
        let parsed = parse("; a\n(a \"b \\\"c\\\" \\\\ d\" #\"^e\\.f$\" 'g) ; h\n  ; i\n(j)").unwrap();
        assert_eq!(parsed.forms.len(), 2);
        let items = parsed.forms[0].items();
        assert!(items[1].is_str("b \"c\" \\ d"));
        assert!(items[2].is_str("^e\\.f$"));
        assert_eq!(items[3].to_string(), "(quote g)");
        assert_eq!(parsed.forms[1].line(), 4);
        assert_eq!(parsed.comment_lines, BTreeSet::from([1, 3]));
        assert!(parse("(a \"\\q\")").unwrap_err().contains("unknown escape"));
    }

    // ---- Parameter values.

    fn names(params: &[(&'static str, String)]) -> Vec<&'static str> {
        params.iter().map(|(name, _)| *name).collect()
    }

    fn existing() -> (tempfile::TempDir, String, String) {
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("polystoreiq-worker");
        std::fs::write(&binary, b"").unwrap();
        let scratch = dir.path().join("scratch");
        std::fs::create_dir(&scratch).unwrap();
        (dir, binary.to_str().unwrap().to_owned(), scratch.to_str().unwrap().to_owned())
    }

    #[test]
    fn duckdb_parameters_fill_every_slot_and_pass_prepare() {
        let (dir, binary, scratch) = existing();
        let csv = dir.path().join("a.csv");
        std::fs::write(&csv, b"x\n1\n").unwrap();
        let csv = csv.to_str().unwrap();
        let params = duckdb_parameters(&binary, &scratch, &[csv, csv], None, true).unwrap();
        assert_eq!(names(&params), Profile::Duckdb.parameters().collect::<Vec<_>>());
        let value = |name: &str| params.iter().find(|(n, _)| *n == name).unwrap().1.clone();
        assert_eq!(value("SOURCE_PATH_0"), csv);
        assert_eq!(value("SOURCE_PATH_1"), "/dev/null", "a path named twice takes one slot");
        assert_eq!(value("SOURCE_PATH_31"), "/dev/null");
        assert_eq!(value("DUCKDB_FILE"), "/dev/null");
        assert_eq!(value("IMPORT_JOB"), "FALSE", "no database, nothing to import into");
        let prepared =
            prepare(Profile::Duckdb, &params.iter().map(|(n, v)| (*n, v.clone())).collect::<Vec<_>>()).unwrap();
        assert_eq!(names(&prepared), names(&params));

        let db = dir.path().join("source.duckdb");
        let params = duckdb_parameters(&binary, &scratch, &[csv], db.to_str(), true).unwrap();
        let value = |name: &str| params.iter().find(|(n, _)| *n == name).unwrap().1.clone();
        assert_eq!(value("IMPORT_JOB"), "TRUE");
        assert_eq!(value("DUCKDB_FILE"), db.to_str().unwrap());
    }

    #[test]
    fn each_job_gets_its_profile_and_only_its_own_paths() {
        use polystoreiq_protocol::types::{DbTarget, FileKind, FileTable, SourceKind, TableStorage, TlsMode};
        use polystoreiq_protocol::worker::{DbAction, DbJob, DuckLimits, Fault, ImportJob, QueryJob};

        let table = |name: &str, paths: &[&str]| FileTable {
            table: name.into(),
            kind: FileKind::Csv,
            storage: TableStorage::Ingested,
            paths: paths.iter().map(|p| p.to_string()).collect(),
            pattern: String::new(),
        };
        let source = FileSource {
            tables: vec![table("a", &["/d/a1.csv", "/d/a2.csv"]), table("b", &["/d/b.csv"])],
            database: Some("/h/datasets/s.duckdb".into()),
        };
        let limits = DuckLimits { memory_limit_mb: 1, threads: 1, max_file_bytes: 1 };
        let value = |params: &[(&'static str, String)], name: &str| {
            params.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()).unwrap()
        };

        let import = Job::Import(ImportJob { source: source.clone(), limits: limits.clone() });
        let (kind, params) = for_job(&import, "/w", "/s").unwrap();
        assert_eq!(kind, Profile::Duckdb);
        let slots: Vec<String> = SOURCE_PATHS.iter().take(4).map(|n| value(&params, n)).collect();
        assert_eq!(slots, ["/d/a1.csv", "/d/a2.csv", "/d/b.csv", "/dev/null"]);
        assert_eq!(value(&params, "DUCKDB_FILE"), "/h/datasets/s.duckdb");
        assert_eq!(value(&params, "IMPORT_JOB"), "TRUE");
        assert_eq!(value(&params, "SCRATCH_DIR"), "/s");

        let query = Job::Query(QueryJob { source, sql: String::new(), row_limit: 1, batch_rows: 1, limits });
        let (kind, params) = for_job(&query, "/w", "/s").unwrap();
        assert_eq!(kind, Profile::Duckdb);
        assert_eq!(value(&params, "IMPORT_JOB"), "FALSE", "a query never writes the database");

        let target = DbTarget {
            host: "127.0.0.1".into(),
            port: 6543,
            database: "d".into(),
            user: "u".into(),
            tls: TlsMode::Disable,
        };
        let db = Job::Database(DbJob { kind: SourceKind::Postgres, target, password: None, action: DbAction::Test });
        let (kind, params) = for_job(&db, "/w", "/s").unwrap();
        assert_eq!(kind, Profile::Network);
        assert_eq!(names(&params), Profile::Network.parameters().collect::<Vec<_>>());
        assert_eq!((value(&params, "DB_PORT"), value(&params, "DB_HOST_SCOPE")), ("6543".into(), "localhost".into()));

        let (kind, params) = for_job(&Job::Fault(Fault::Panic), "/w", "/s").unwrap();
        assert_eq!(kind, Profile::Duckdb);
        assert!(SOURCE_PATHS.iter().all(|n| value(&params, n) == "/dev/null"), "a fault job reads no source");
    }

    #[test]
    fn more_source_paths_than_slots_is_refused_not_widened() {
        let paths: Vec<String> = (0..=SOURCE_PATH_SLOTS).map(|i| format!("/data/f{i}.csv")).collect();
        let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
        let err = duckdb_parameters("/bin/w", "/tmp", &refs, None, false).unwrap_err();
        assert!(err.contains("33 files") && err.contains("at most 32"), "{err}");
        assert!(duckdb_parameters("/bin/w", "/tmp", &refs[..SOURCE_PATH_SLOTS], None, false).is_ok());
    }

    #[test]
    fn network_parameters_narrow_by_host() {
        let check = |host: &str, scope: &str, dns: &str| {
            let params = network_parameters("/bin/w", host, 5432).unwrap();
            assert_eq!(names(&params), Profile::Network.parameters().collect::<Vec<_>>());
            let value = |name: &str| params.iter().find(|(n, _)| *n == name).unwrap().1.clone();
            assert_eq!((value("DB_HOST_SCOPE").as_str(), value("DNS_LOOKUP").as_str()), (scope, dns), "host {host}");
            assert_eq!(value("DB_PORT"), "5432");
        };
        check("127.0.0.1", "localhost", "FALSE");
        check("[::1]", "localhost", "FALSE");
        check("::1", "localhost", "FALSE");
        check("localhost", "localhost", "TRUE");
        check("LOCALHOST.", "localhost", "TRUE");
        check("10.1.2.3", "*", "FALSE");
        check("db.example.com", "*", "TRUE");
        assert!(network_parameters("/bin/w", "/tmp/.s.PGSQL.5432", 5432).unwrap_err().contains("Unix socket"));
        assert!(network_parameters("/bin/w", "", 5432).is_err());
        assert!(network_parameters("/bin/w", "db", 0).is_err());
    }

    #[test]
    fn prepare_refuses_what_it_cannot_vouch_for() {
        let (_dir, binary, _scratch) = existing();
        let good = |port: &str, scope: &str, dns: &str| {
            vec![
                ("WORKER_BINARY", binary.clone()),
                ("DB_PORT", port.to_owned()),
                ("DB_HOST_SCOPE", scope.to_owned()),
                ("DNS_LOOKUP", dns.to_owned()),
            ]
        };
        assert!(prepare(Profile::Network, &good("5432", "*", "TRUE")).is_ok());
        let refused = |params: Vec<(&str, String)>, expected: &str| {
            let err = prepare(Profile::Network, &params).unwrap_err();
            assert!(err.contains(expected), "expected {expected:?} in {err:?}");
        };
        refused(good("0", "*", "TRUE"), "TCP port");
        refused(good("+5432", "*", "TRUE"), "TCP port");
        refused(good("65536", "*", "TRUE"), "TCP port");
        refused(good("5432", "10.0.0.1", "TRUE"), "\"localhost\" or \"*\"");
        refused(good("5432", "*", "yes"), "TRUE or FALSE");
        let mut missing = good("5432", "*", "TRUE");
        missing.pop();
        refused(missing, "needs the parameter DNS_LOOKUP");
        let mut twice = good("5432", "*", "TRUE");
        twice.push(("DB_PORT", "5433".to_owned()));
        refused(twice, "passed twice");
        let mut foreign = good("5432", "*", "TRUE");
        foreign.push(("SCRATCH_DIR", "/tmp".to_owned()));
        refused(foreign, "reads no parameter SCRATCH_DIR");
        let mut relative = good("5432", "*", "TRUE");
        relative[0].1 = "polystoreiq-worker".to_owned();
        refused(relative, "absolute path");
        let mut absent = good("5432", "*", "TRUE");
        absent[0].1 = "/nonexistent/polystoreiq-worker".to_owned();
        refused(absent, "cannot be resolved");
        let mut nul = good("5432", "*", "TRUE");
        nul[0].1 = "/bin/a\0b".to_owned();
        refused(nul, "NUL");
    }

    #[test]
    fn prepare_resolves_paths_to_what_seatbelt_matches() {
        let (dir, binary, scratch) = existing();
        let real = std::fs::canonicalize(dir.path()).unwrap();
        let data = real.join("data");
        std::fs::create_dir(&data).unwrap();
        std::fs::write(data.join("a.csv"), b"x\n").unwrap();
        let link = real.join("link");
        std::os::unix::fs::symlink(&data, &link).unwrap();
        let through_link = link.join("a.csv");
        let database = link.join("new.duckdb");
        let params =
            duckdb_parameters(&binary, &scratch, &[through_link.to_str().unwrap()], database.to_str(), true).unwrap();
        let prepared =
            prepare(Profile::Duckdb, &params.iter().map(|(n, v)| (*n, v.clone())).collect::<Vec<_>>()).unwrap();
        let value = |name: &str| prepared.iter().find(|(n, _)| *n == name).unwrap().1.clone();
        assert_eq!(value("SOURCE_PATH_0"), data.join("a.csv").to_str().unwrap(), "a symbolic link is followed");
        assert_eq!(value("DUCKDB_FILE"), data.join("new.duckdb").to_str().unwrap(), "a file to be made: its folder is");
        assert_eq!(value("SOURCE_PATH_1"), "/dev/null");

        let mut root = params.clone();
        root[4].1 = "/".to_owned();
        assert!(prepare(Profile::Duckdb, &root).unwrap_err().contains("root folder"));
        let mut not_dir = params.clone();
        not_dir[1].1 = binary.clone();
        assert!(prepare(Profile::Duckdb, &not_dir).unwrap_err().contains("must name a folder"));
    }
}
