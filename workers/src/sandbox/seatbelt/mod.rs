//! The macOS seatbelt profiles as data: the profile text each worker kind gets (`sandbox-profiles/common.sb`
//! followed by the kind's file), the parameters the profiles read, and the checks and path resolution every
//! parameter value goes through before `macos.rs` hands it to `sandbox_init_with_parameters`.
//!
//! No FFI and nothing macOS-only here, so this compiles everywhere and the tests (`tests.rs`, with the profile
//! checker in `checker.rs`) check the profiles on Linux: that they parse, that every allow has its reason, and
//! that the parameters they read are exactly the ones the launcher passes. Nothing here applies a sandbox.

// Outside tests only macos.rs and its caller use this module, and only on macOS.
#![cfg_attr(not(target_os = "macos"), allow(dead_code))]

use std::fmt;
use std::net::IpAddr;
use std::path::Path;

use polystoreiq_protocol::worker::SandboxPolicy;

const COMMON: &str = include_str!("../../../../sandbox-profiles/common.sb");
const DUCKDB: &str = include_str!("../../../../sandbox-profiles/duckdb.sb");
const NETWORK: &str = include_str!("../../../../sandbox-profiles/network.sb");

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

/// The profile and parameters that hold a worker, run from the binary at `worker_binary`, to `policy`: a policy
/// with a network target gets the network profile, any other DuckDB's, with the policy's scratch directory,
/// source paths and database file (writable only to an import). A policy with neither source nor database (a
/// fault job's, debug builds only) gets the tightest: DuckDB's, reading nothing.
pub fn for_policy(policy: &SandboxPolicy, worker_binary: &str) -> Result<(Profile, Parameters), String> {
    if let Some(network) = &policy.network {
        return Ok((Profile::Network, network_parameters(worker_binary, &network.host, network.port)?));
    }
    let paths: Vec<&str> = policy.source_paths.iter().map(String::as_str).collect();
    let database = policy.database.as_ref();
    let params = duckdb_parameters(
        worker_binary,
        &policy.scratch,
        &paths,
        database.map(|database| database.path.as_str()),
        database.is_some_and(|database| database.import),
    )?;
    Ok((Profile::Duckdb, params))
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
mod checker;
#[cfg(test)]
mod tests;
