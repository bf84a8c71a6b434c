//! The guardrail in front of every run: one per engine, pure and fast (no I/O, no allocation beyond the parse).
//!
//! SQL (PostgreSQL, MySQL, DuckDB): lexer checks first (executable comments and optimizer hints, nested comments,
//! `#` comments, Unicode-escaped identifiers, statement keywords the parser may not know), then a parse in the
//! source's dialect that must give exactly one query, then a walk of the whole tree for writes hidden in queries
//! (data-modifying CTEs, `SELECT INTO`, locking clauses) and for denied functions, table functions, relations and
//! server variables (file, network, admin, sleep, lock, sequence, environment, dynamic SQL). MongoDB: see
//! [`mongo`].
//!
//! Every verdict carries a stable [`Code`]; the wire and the CLI show it beside a human reason. Codes are only
//! ever added, never renamed: tests, scripts and users match on them.
//!
//! The guardrail is one layer of several. The database runs the query read-only with timeouts, and the worker
//! runs in an OS sandbox; each layer is tested with the others switched off.

mod allow;
mod functions;
mod limit;
mod mongo;
mod normalize;
mod plain;
mod relations;
mod sizes;
mod sql;

use polystoreiq_protocol::types::{Engine, GuardVerdict};

pub use allow::{FunctionList, functions as function_list};
pub use limit::limited;
pub use sql::parse_normalized as reading;

/// The longest query the guardrail reads. Longer ones are refused before parsing.
pub const MAX_QUERY_BYTES: usize = 100 * 1024;

/// Declares [`Code`] with its stable string forms and the list of every code.
macro_rules! codes {
    ($($variant:ident => $text:literal,)*) => {
        /// Why a query was allowed or refused. Stable: the string forms are part of the CLI's and the UI's
        /// contract; codes are only ever added.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Code { $($variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $text,)* }
            }
        }
    };
}

codes! {
    Ok => "ok",
    Empty => "empty",
    TooLong => "too_long",
    ParseError => "parse_error",
    MultipleStatements => "multiple_statements",
    NotAQuery => "not_a_query",
    Write => "write",
    Ddl => "ddl",
    Transaction => "transaction",
    Explain => "explain",
    Prepare => "prepare",
    Copy => "copy",
    Set => "set",
    Lock => "lock",
    ListenNotify => "listen_notify",
    Call => "call",
    Do => "do",
    Handler => "handler",
    Attach => "attach",
    Extension => "extension",
    Pragma => "pragma",
    Export => "export",
    Secret => "secret",
    Admin => "admin",
    SelectInto => "select_into",
    IntoOutfile => "into_outfile",
    LockingClause => "locking_clause",
    WritableCte => "writable_cte",
    ExecutableComment => "executable_comment",
    CommentTrick => "comment_trick",
    Lookalike => "lookalike",
    FileAccess => "file_access",
    NetworkAccess => "network_access",
    AdminFunction => "admin_function",
    SleepOrLock => "sleep_or_lock",
    Sequence => "sequence",
    Environment => "environment",
    DynamicSql => "dynamic_sql",
    SensitiveCatalog => "sensitive_catalog",
    ResourceAbuse => "resource_abuse",
    UnsupportedSyntax => "unsupported_syntax",
    MongoInvalid => "mongo_invalid",
    MongoOperation => "mongo_operation",
    MongoStage => "mongo_stage",
    MongoOperator => "mongo_operator",
    MongoCrossDatabase => "mongo_cross_database",
    MongoLimit => "mongo_limit",
    FunctionNotAllowed => "function_not_allowed",
    RelationNotAllowed => "relation_not_allowed",
}

/// A verdict before it goes on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub code: Code,
    pub reason: String,
}

impl Verdict {
    pub fn allowed(&self) -> bool {
        self.code == Code::Ok
    }

    pub(crate) fn deny(code: Code, reason: impl Into<String>) -> Verdict {
        Verdict { code, reason: reason.into() }
    }

    fn ok(reason: &str) -> Verdict {
        Verdict { code: Code::Ok, reason: reason.to_owned() }
    }

    pub fn to_wire(&self) -> GuardVerdict {
        GuardVerdict { allowed: self.allowed(), code: self.code.as_str().to_owned(), reason: self.reason.clone() }
    }
}

/// What a guardrail knows beyond the query, from the source's settings and schema.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// Paths (or globs) a file source was registered with; table functions may read exactly these (DuckDB only).
    pub source_paths: Vec<String>,
    /// The source's own schemas (PostgreSQL, DuckDB) or database (MySQL), when known: a schema-qualified relation
    /// must be in one of them. `None` allows every schema that is not the engine's own.
    pub schemas: Option<Vec<String>>,
    /// User-defined functions the source's owner allowed, as a query names them (`analytics.fiscal_quarter`,
    /// or unqualified): off by default, since the guard cannot see what a user function does.
    pub functions: Vec<String>,
}

/// The guardrail of one engine.
#[derive(Clone, Debug)]
pub struct Guardrail {
    engine: Engine,
    policy: Policy,
}

impl Guardrail {
    pub fn new(engine: Engine) -> Guardrail {
        Guardrail { engine, policy: Policy::default() }
    }

    pub fn with_policy(engine: Engine, policy: Policy) -> Guardrail {
        Guardrail { engine, policy }
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// Judges one query.
    pub fn check(&self, query: &str) -> Verdict {
        if query.len() > MAX_QUERY_BYTES {
            return Verdict::deny(
                Code::TooLong,
                format!("the query is {} bytes; the limit is {MAX_QUERY_BYTES}", query.len()),
            );
        }
        if query.trim().is_empty() {
            return Verdict::deny(Code::Empty, "there is no query");
        }
        let verdict = match self.engine {
            Engine::Mongodb => mongo::check(query),
            sql_engine => sql::check(sql_engine, &self.policy, query),
        };
        match verdict {
            Ok(()) => Verdict::ok(match self.engine {
                Engine::Mongodb => "a single read-only find, aggregate, count or distinct",
                _ => "a single read-only query",
            }),
            Err(verdict) => verdict,
        }
    }
}

impl Guardrail {
    /// The second, independent check of a query the guardrail allowed: a relation the server's own plan of
    /// `query` reads (views expanded), as the server resolved it. A system catalog relation passes only when the
    /// query names one of the catalog views built on it (`information_schema.tables` reads `pg_class`).
    ///
    /// `table_function`: the plan scans a function (`schema` is PostgreSQL's schema of it, empty for DuckDB). It
    /// passes when it is a listed table function (in the engine's own schema), one the owner allowed, or one of the
    /// source's own file readers (DuckDB reads a source's files through views over them).
    pub fn check_resolved(&self, query: &str, schema: &str, name: &str, table_function: bool) -> Verdict {
        let parts = [schema.to_lowercase(), name.to_lowercase()];
        if table_function {
            let function = parts[1].as_str();
            let own_schema = match self.engine {
                Engine::Postgres => parts[0] == "pg_catalog",
                _ => parts[0].is_empty(),
            };
            let reader = self.engine == Engine::Duckdb
                && (functions::FILE_READERS.contains(&function)
                    || matches!(function, "parquet_scan" | "read_csv_auto" | "read_json_auto"));
            if reader || (own_schema && allow::functions(self.engine).table.contains(function)) {
                return Verdict::ok("a table function a query may scan");
            }
            let full = if schema.is_empty() { name.to_owned() } else { format!("{schema}.{name}") };
            if self.policy.functions.contains(&full) {
                return Verdict::ok("a function the source's owner allowed");
            }
            if self.engine == Engine::Duckdb
                && CATALOG_VIEW_FUNCTIONS.contains(&function)
                && self.names_catalog_view(query)
            {
                return Verdict::ok("an engine function behind a catalog view the query names");
            }
            let code = functions::denied(function).unwrap_or(Code::FunctionNotAllowed);
            return Verdict::deny(code, format!("the plan scans {function}(), which a drafted query may not call"));
        }
        if allow::system_schema(self.engine, &parts[0])
            && CATALOG_VIEW_TABLES.contains(&parts[1].as_str())
            && self.names_catalog_view(query)
        {
            return Verdict::ok("a catalog relation behind a catalog view the query names");
        }
        // The server's names are exact: compare them as a quoted name would be.
        let exact = [schema.to_owned(), name.to_owned()];
        match relations::check(self.engine, &self.policy, &exact, |_| false) {
            std::ops::ControlFlow::Continue(()) => Verdict::ok("a relation of the source"),
            std::ops::ControlFlow::Break(verdict) => verdict,
        }
    }

    /// Whether `query` names one of the catalog views (so its plan legitimately reads catalog tables): a name
    /// token, not text in a comment or a string.
    fn names_catalog_view(&self, query: &str) -> bool {
        const VIEWS: &[&str] =
            &["information_schema", "pg_tables", "pg_views", "pg_indexes", "pg_matviews", "pg_stat_user_tables"];
        let Ok(tokens) = sql::tokenize(sql::dialect(self.engine), query) else { return false };
        tokens.iter().any(|t| {
            matches!(&t.token, sqlparser::tokenizer::Token::Word(w)
                if VIEWS.iter().any(|view| w.value.eq_ignore_ascii_case(view)))
        })
    }
}

/// The catalog tables PostgreSQL's plans of the allowed catalog views read (`tests/it/guard_allow.rs` checks it
/// against the server): names, types, keys, nothing about roles, settings or data.
pub const CATALOG_VIEW_TABLES: &[&str] = &[
    "pg_attrdef",
    "pg_attribute",
    "pg_class",
    "pg_collation",
    "pg_constraint",
    "pg_depend",
    "pg_index",
    "pg_namespace",
    "pg_sequence",
    "pg_tablespace",
    "pg_trigger",
    "pg_type",
];

/// The engine functions DuckDB's plans of the allowed `information_schema` views scan.
pub const CATALOG_VIEW_FUNCTIONS: &[&str] = &["duckdb_columns", "duckdb_constraints", "duckdb_tables", "duckdb_views"];

/// Judges one query for `engine` with no source-specific policy (no local file may be read).
pub fn check(engine: Engine, query: &str) -> GuardVerdict {
    Guardrail::new(engine).check(query).to_wire()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_listed_once() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            let s = code.as_str();
            assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{s}");
            assert!(seen.insert(s), "{s} twice");
        }
        // Adding a variant without listing it in ALL fails here (49 codes today).
        assert_eq!(Code::ALL.len(), 49);
    }

    #[test]
    fn single_queries_pass_and_everything_else_is_refused() {
        let expect = |q: &str, code: &str| assert_eq!(check(Engine::Duckdb, q).code, code, "{q}");
        expect("SELECT 1", "ok");
        expect("WITH t AS (SELECT 1 AS a) SELECT a FROM t", "ok");
        expect("SELECT 1; SELECT 2", "multiple_statements");
        expect("DROP TABLE orders", "ddl");
        expect("COPY orders TO '/tmp/x.csv'", "copy");
        expect("SELEC 1", "parse_error");
        expect("", "empty");
        expect(&"x".repeat(MAX_QUERY_BYTES + 1), "too_long");
    }
}
