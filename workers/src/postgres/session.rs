//! The session a user's SQL arrives in: a read-only transaction whose string rules, name lookup, time limits and
//! memory and temporary-file limits are pinned by the worker before any user text is sent.
//!
//! The guardrail reads SQL with standard-conforming strings (a backslash is not an escape in `'...'`); a role or
//! database with `standard_conforming_strings = off` would read `'x\' , pg_read_file(...) -- '` as a call hidden
//! in what the guardrail took for a literal. So the worker sets it on for the transaction, and checks the value
//! the server answers. `search_path` is pinned too, so a bare name means what the schema snapshot says it means
//! (`metadata.rs` names tables bare in `public` and schema-qualified elsewhere): `pg_catalog` first, then
//! `public`, then `pg_temp` last, so neither a role's own search path nor a temporary table can put another
//! relation or function behind a name the user approved.
//!
//! Everything is `set_config(..., true)` (`SET LOCAL`): it ends with the transaction and never outlives the job.
//! `BEGIN READ ONLY` and the pins leave in one pipelined round trip.

use polystoreiq_protocol::worker::{SessionLimits, WorkerError};
use tokio_postgres::Client;

use super::query_error;

/// The search path every user query runs under.
pub const SEARCH_PATH: &str = "pg_catalog, public, pg_temp";

/// What the server said about the session in its start-up parameters.
#[derive(Clone, Copy, Debug, Default)]
pub struct ServerFacts {
    /// `is_superuser`: only a superuser (or, from PostgreSQL 15, a role granted `SET` on it) may set
    /// `temp_file_limit`.
    pub superuser: bool,
    /// The major version, e.g. 16; 0 when the server did not say.
    pub major: u32,
}

impl ServerFacts {
    pub fn from_parameters(is_superuser: Option<&str>, server_version: Option<&str>) -> ServerFacts {
        let major = server_version
            .and_then(|v| v.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|m| m.parse().ok())
            .unwrap_or(0);
        ServerFacts { superuser: is_superuser == Some("on"), major }
    }
}

/// The statement that pins the session, given the statement timeout in ms. Its one row: the values the server now
/// holds for `standard_conforming_strings` and `search_path`, then `temp_file_limit` as now in force (whether or
/// not this statement could set it).
///
/// `temp_file_limit` is best-effort: PostgreSQL lets only a superuser, or from version 15 a role granted `SET` on
/// it, change it, precisely so that an ordinary role cannot raise what its administrator set. A read-only role
/// (the recommended kind, like the seeded `psiq_reader`) cannot, and failing every one of its runs would make the
/// setting useless; its temporary files stay bounded by the server's own `temp_file_limit`, the statement timeout
/// and the run deadline. The check is made in the statement (`has_parameter_privilege`), so a role without the
/// right never aborts the transaction. The other pins are settable by any role and are required.
pub fn pin_sql(limits: &SessionLimits, facts: ServerFacts, timeout_ms: u64) -> String {
    let temp_kb = limits.temp_space_mb.max(1).saturating_mul(1024).min(i32::MAX as u64);
    let work_mem_kb = limits.work_mem_mb.max(1).saturating_mul(1024).min(i32::MAX as u64);
    let timeout = timeout_ms.clamp(1, i32::MAX as u64);
    let set_temp = format!("set_config('temp_file_limit', '{temp_kb}kB', true)");
    let temp = if facts.superuser {
        set_temp
    } else if facts.major >= 15 {
        format!("CASE WHEN has_parameter_privilege('temp_file_limit', 'SET') THEN {set_temp} END")
    } else {
        "NULL::text".to_owned()
    };
    format!(
        "SELECT set_config('standard_conforming_strings', 'on', true), \
                set_config('search_path', '{SEARCH_PATH}', true), \
                set_config('work_mem', '{work_mem_kb}kB', true), \
                set_config('statement_timeout', '{timeout}', true), \
                set_config('idle_in_transaction_session_timeout', '{timeout}', true), \
                {temp}, \
                current_setting('temp_file_limit')"
    )
}

/// Opens a read-only transaction and pins its session (see the module doc), in one round trip. Nothing of the
/// user's has been sent when this returns; an error means nothing of the user's may be.
pub async fn begin_pinned(
    client: &Client,
    limits: &SessionLimits,
    facts: ServerFacts,
    timeout_ms: u64,
) -> Result<(), WorkerError> {
    // Both requests are queued before either answer is awaited: tokio-postgres pipelines them. Each is one
    // extended-protocol message of ours; nothing can be smuggled in between.
    let pins = pin_sql(limits, facts, timeout_ms);
    let (begun, pinned) = tokio::join!(client.query_typed("BEGIN READ ONLY", &[]), client.query_typed(&pins, &[]));
    begun.map_err(query_error)?;
    let rows = pinned.map_err(|err| match err.as_db_error() {
        Some(db) => WorkerError::SessionPin { setting: pinned_setting(db.message()), reason: db.message().to_owned() },
        None => query_error(err),
    })?;
    let row = rows.first().ok_or_else(|| WorkerError::SessionPin {
        setting: "the session".into(),
        reason: "PostgreSQL answered the pins with no row".into(),
    })?;
    let strings: String = row.try_get(0).map_err(query_error)?;
    if strings != "on" {
        return Err(WorkerError::SessionPin {
            setting: "standard_conforming_strings".into(),
            reason: format!("the server holds {strings:?} after setting it on"),
        });
    }
    let path: String = row.try_get(1).map_err(query_error)?;
    if path != SEARCH_PATH {
        return Err(WorkerError::SessionPin {
            setting: "search_path".into(),
            reason: format!("the server holds {path:?} after setting {SEARCH_PATH:?}"),
        });
    }
    let temp_set: Option<String> = row.try_get(5).map_err(query_error)?;
    if temp_set.is_none() {
        let in_force: String = row.try_get(6).map_err(query_error)?;
        eprintln!(
            "postgres: this role may not set temp_file_limit; the server's own limit holds ({in_force}; -1 is \
             none)"
        );
    }
    Ok(())
}

/// The setting a refusal names (`permission denied to set parameter "x"`, `invalid value for parameter "x"`), or
/// all of them when it names none.
fn pinned_setting(message: &str) -> String {
    message
        .split_once("parameter \"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(name, _)| name.to_owned())
        .unwrap_or_else(|| {
            "the session (standard_conforming_strings, search_path, work_mem, temp_file_limit, statement_timeout)"
                .into()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_file_limit_is_set_only_where_the_role_may() {
        let limits = SessionLimits { temp_space_mb: 2, work_mem_mb: 3 };
        let superuser = pin_sql(&limits, ServerFacts { superuser: true, major: 13 }, 500);
        assert!(superuser.contains("set_config('temp_file_limit', '2048kB', true),"), "{superuser}");
        assert!(superuser.contains("set_config('work_mem', '3072kB', true)"), "{superuser}");
        assert!(superuser.contains("set_config('statement_timeout', '500', true)"), "{superuser}");
        let granted = pin_sql(&limits, ServerFacts { superuser: false, major: 16 }, 500);
        assert!(granted.contains("CASE WHEN has_parameter_privilege('temp_file_limit', 'SET')"), "{granted}");
        let old = pin_sql(&limits, ServerFacts { superuser: false, major: 14 }, 500);
        assert!(!old.contains("'temp_file_limit', '"), "{old}");
    }

    #[test]
    fn start_up_parameters_are_read() {
        let facts = ServerFacts::from_parameters(Some("on"), Some("16.4 (Debian 16.4-1.pgdg120+2)"));
        assert!(facts.superuser);
        assert_eq!(facts.major, 16);
        let facts = ServerFacts::from_parameters(Some("off"), Some("9.6.24"));
        assert!(!facts.superuser);
        assert_eq!(facts.major, 9);
        assert_eq!(ServerFacts::from_parameters(None, None).major, 0);
    }

    #[test]
    fn a_refusal_names_its_setting() {
        assert_eq!(pinned_setting("permission denied to set parameter \"temp_file_limit\""), "temp_file_limit");
        assert!(pinned_setting("something else").contains("standard_conforming_strings"));
    }
}
