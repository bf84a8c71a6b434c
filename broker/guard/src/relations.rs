//! Which relations a query may read, resolved the way the engine resolves them.
//!
//! A name reaches this check lower-cased (the engines fold unquoted names; refusing a quoted look-alike costs
//! nothing) and with `ONLY` already gone (see `sql::strip_only`), whether it came from `FROM`, a join, a
//! parenthesised join or `TABLE x`. Then:
//! - an unqualified name is a CTE in scope, or a relation of the source, unless it lies in the engine's own
//!   namespace (which PostgreSQL searches before the source's schemas, and DuckDB beside them);
//! - a qualified name is in one of the source's schemas (when the guard knows them), or is one of the catalog
//!   views on the allow-list ([`allow::catalog_view`]); every other system schema is refused.
//!
//! The worker pins `search_path` to the source's schemas, so an unqualified name that is neither a CTE nor in the
//! engine's namespace can only be a relation of the source, or nothing.

use std::ops::ControlFlow;

use polystoreiq_protocol::types::Engine;

use super::allow::{catalog_view, reserved_unqualified, system_schema};
use super::{Code, Policy, Verdict};

/// Judges one relation name, its parts as the engine compares them (see `sql::folded`). `cte` says whether an
/// unqualified name is a CTE in scope. The engine's own namespaces are matched in lower case (refusing a quoted
/// look-alike costs nothing); the source's schemas exactly.
pub(super) fn check(
    engine: Engine,
    policy: &Policy,
    parts: &[String],
    cte: impl Fn(&str) -> bool,
) -> ControlFlow<Verdict> {
    let shown = parts.join(".");
    if let [name] = parts
        && cte(name)
    {
        return ControlFlow::Continue(());
    }
    let exact = parts;
    let lower: Vec<String> = parts.iter().map(|p| p.to_lowercase()).collect();
    match lower.as_slice() {
        [name] => {
            if !reserved_unqualified(engine, name) {
                return ControlFlow::Continue(());
            }
            if engine == Engine::Postgres && catalog_view(engine, "pg_catalog", name) {
                return ControlFlow::Continue(());
            }
            catalog(&shown)
        }
        [schema, name] => qualified(engine, policy, schema, &exact[0], name, &shown),
        [database, schema, name] => {
            if engine == Engine::Mysql {
                return deny(Code::RelationNotAllowed, format!("{shown}: MySQL names a table with at most two parts"));
            }
            if system_schema(engine, database) {
                return catalog(&shown);
            }
            qualified(engine, policy, schema, &exact[1], name, &shown)
        }
        _ => deny(Code::RelationNotAllowed, format!("{shown} has more parts than a table name can have")),
    }
}

fn qualified(
    engine: Engine,
    policy: &Policy,
    schema: &str,
    exact_schema: &str,
    name: &str,
    shown: &str,
) -> ControlFlow<Verdict> {
    if system_schema(engine, schema) {
        return if catalog_view(engine, schema, name) { ControlFlow::Continue(()) } else { catalog(shown) };
    }
    // DuckDB looks a schema-qualified name up in its system catalog too (`main.duckdb_tables` works).
    if matches!(engine, Engine::Duckdb | Engine::Mongodb) && reserved_unqualified(engine, name) {
        return catalog(shown);
    }
    if let Some(schemas) = &policy.schemas
        && !schemas
            .iter()
            .any(|own| own == exact_schema || (engine == Engine::Duckdb && own.eq_ignore_ascii_case(schema)))
    {
        return deny(
            Code::RelationNotAllowed,
            format!("{shown} is outside this source's schemas ({}); query the source's own tables", schemas.join(", ")),
        );
    }
    ControlFlow::Continue(())
}

fn catalog(shown: &str) -> ControlFlow<Verdict> {
    deny(
        Code::SensitiveCatalog,
        format!(
            "{shown} is a system catalog or engine view, not a table of this source; only the standard \
             information_schema views of tables, columns and keys may be read"
        ),
    )
}

fn deny(code: Code, reason: String) -> ControlFlow<Verdict> {
    ControlFlow::Break(Verdict::deny(code, reason))
}
