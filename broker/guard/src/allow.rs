//! What a drafted query may use, per engine, as lists of permitted names: the functions (data files in
//! `allow/`, one per SQL engine, each entry under the engine version it was checked against), the catalog views a
//! schema question needs, and the schemas that belong to the engine rather than to the source.
//!
//! A name that is not listed is refused. That is the point: an extension or a vendor build that adds a function
//! (`http_put`, `aws_s3.query_export_to_s3`, `run_command_on_workers`) gains nothing until someone lists it here.

use std::collections::HashSet;
use std::sync::OnceLock;

use polystoreiq_protocol::types::Engine;

/// One engine's list of functions, parsed from its data file.
#[derive(Debug, Default)]
pub struct FunctionList {
    /// Scalar, aggregate and window functions, callable in expressions.
    pub scalar: HashSet<&'static str>,
    /// Table functions, callable in `FROM`.
    pub table: HashSet<&'static str>,
    /// Names the SQL grammar spells like calls but the engine has no catalog function for (`GROUPING`,
    /// `CURRENT_DATE`, DuckDB's `COLUMNS`): allowed in expressions, not checked against the engine's catalog.
    pub syntax: HashSet<&'static str>,
    /// The engine versions named by the file's `@checked` lines.
    pub checked: Vec<&'static str>,
}

const POSTGRES: &str = include_str!("allow/postgres.txt");
const MYSQL: &str = include_str!("allow/mysql.txt");
const DUCKDB: &str = include_str!("allow/duckdb.txt");

/// The data file behind `engine`'s list (MongoDB has operators instead: see `mongo.rs`).
pub(crate) fn source(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => POSTGRES,
        Engine::Mysql => MYSQL,
        Engine::Duckdb | Engine::Mongodb => DUCKDB,
    }
}

/// `engine`'s function list, parsed once.
pub fn functions(engine: Engine) -> &'static FunctionList {
    static LISTS: [OnceLock<FunctionList>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let slot = match engine {
        Engine::Postgres => 0,
        Engine::Mysql => 1,
        Engine::Duckdb | Engine::Mongodb => 2,
    };
    LISTS[slot].get_or_init(|| parse(source(engine)).unwrap_or_else(|err| panic!("guard/allow for {engine:?}: {err}")))
}

/// Parses a list: `#` comments, `@checked ENGINE VERSION`, `[scalar]`, `[table]` and `[syntax]` sections, one lower-case
/// name a line. Every name comes after a `@checked` line, so each entry says what it was checked against.
pub(crate) fn parse(text: &'static str) -> Result<FunctionList, String> {
    let mut list = FunctionList::default();
    let mut section: Option<&mut HashSet<&'static str>> = None;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(version) = line.strip_prefix("@checked ") {
            list.checked.push(version.trim());
            continue;
        }
        match line {
            "[scalar]" => section = Some(&mut list.scalar),
            "[table]" => section = Some(&mut list.table),
            "[syntax]" => section = Some(&mut list.syntax),
            name => {
                let valid = name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                if !valid {
                    return Err(format!("line {}: {name:?} is not a lower-case function name", index + 1));
                }
                if list.checked.is_empty() {
                    return Err(format!("line {}: {name} comes before any @checked line", index + 1));
                }
                let Some(set) = section.as_deref_mut() else {
                    return Err(format!("line {}: {name} is outside [scalar], [table] and [syntax]", index + 1));
                };
                if !set.insert(name) {
                    return Err(format!("line {}: {name} is listed twice", index + 1));
                }
            }
        }
    }
    Ok(list)
}

/// Schemas that belong to the engine, not to the source. A relation in one of them may be read only when it is
/// one of [`catalog_view`]'s.
pub(crate) fn system_schema(engine: Engine, schema: &str) -> bool {
    match engine {
        // PostgreSQL reserves every schema name beginning `pg_` (pg_catalog, pg_toast, pg_temp_N, ...).
        Engine::Postgres => schema == "information_schema" || schema.starts_with("pg_"),
        Engine::Mysql => matches!(schema, "information_schema" | "mysql" | "performance_schema" | "sys"),
        // `system` and `temp` are DuckDB's own catalogs; a two-part name may name a catalog.
        Engine::Duckdb | Engine::Mongodb => {
            matches!(schema, "information_schema" | "pg_catalog" | "system" | "temp")
        }
    }
}

/// Whether an unqualified name falls in the engine's own namespace, which the engine searches before (PostgreSQL:
/// `pg_catalog` is searched first) or beside (DuckDB: `system.main` and `pg_catalog`) the source's schemas. MySQL
/// resolves an unqualified name in the current database only.
pub(crate) fn reserved_unqualified(engine: Engine, name: &str) -> bool {
    match engine {
        Engine::Postgres => name.starts_with("pg_"),
        Engine::Mysql => false,
        Engine::Duckdb | Engine::Mongodb => {
            ["duckdb_", "pragma_", "sqlite_", "pg_"].iter().any(|p| name.starts_with(p))
        }
    }
}

/// The catalog views a schema question needs: names of tables, columns, views and keys. Nothing about sessions,
/// settings, roles, privileges, servers or files.
pub(crate) fn catalog_view(engine: Engine, schema: &str, name: &str) -> bool {
    const STANDARD: &[&str] = &[
        "tables",
        "columns",
        "views",
        "table_constraints",
        "key_column_usage",
        "referential_constraints",
        "constraint_column_usage",
        "check_constraints",
    ];
    match (engine, schema) {
        (_, "information_schema") if STANDARD.contains(&name) => true,
        (Engine::Mysql, "information_schema") => name == "statistics",
        // Row counts and scan statistics of the source's own tables.
        (Engine::Postgres, "pg_catalog") => {
            matches!(name, "pg_tables" | "pg_views" | "pg_indexes" | "pg_matviews" | "pg_stat_user_tables")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_list_parses_and_names_its_engine_version() {
        for engine in [Engine::Postgres, Engine::Mysql, Engine::Duckdb] {
            let list = functions(engine);
            assert!(!list.checked.is_empty(), "{engine:?}");
            assert!(list.scalar.len() > 100, "{engine:?}: {}", list.scalar.len());
            assert!(list.scalar.contains("count") && list.scalar.contains("lower"), "{engine:?}");
        }
    }

    #[test]
    fn a_malformed_list_is_refused_with_its_line() {
        assert!(parse("[scalar]\nabs\n").unwrap_err().contains("before any @checked"));
        assert!(parse("@checked X 1\nabs\n").unwrap_err().contains("outside"));
        assert!(parse("@checked X 1\n[scalar]\nabs\nabs\n").unwrap_err().contains("twice"));
        assert!(parse("@checked X 1\n[scalar]\nAbs\n").unwrap_err().contains("lower-case"));
    }

    #[test]
    fn no_dangerous_name_is_listed() {
        for engine in [Engine::Postgres, Engine::Mysql, Engine::Duckdb] {
            let list = functions(engine);
            for name in list.scalar.iter().chain(&list.table) {
                assert_eq!(super::super::functions::denied(name), None, "{engine:?} lists {name}, which is denied");
            }
        }
    }
}
