//! Fuzzing the guardrail: SQL-shaped and Mongo-shaped inputs built from fragments that matter (keywords,
//! comments of every kind, quotes, denied functions, look-alike and invisible characters, stacked statements),
//! plus raw noise. Two properties: the guardrail never panics, and whatever it allows is, re-parsed, exactly one
//! query with no write inside (and stays so once the row limit is written in).
//!
//! `cargo test` runs a quick pass. `GUARD_FUZZ_SECONDS=600 cargo test --release -p polystoreiq-broker --test it
//! guard_fuzz` runs for ten minutes (BENCHMARKS.md records the last long run).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Inputs the guardrail allowed, per engine, to show the property is exercised on every one (not only refusals).
static ALLOWED_POSTGRES: AtomicU64 = AtomicU64::new(0);
static ALLOWED_MYSQL: AtomicU64 = AtomicU64::new(0);
static ALLOWED_DUCKDB: AtomicU64 = AtomicU64::new(0);
static ALLOWED_MONGO: AtomicU64 = AtomicU64::new(0);

/// The counter of inputs `engine`'s guardrail allowed.
fn allowed_counter(engine: Engine) -> &'static AtomicU64 {
    match engine {
        Engine::Postgres => &ALLOWED_POSTGRES,
        Engine::Mysql => &ALLOWED_MYSQL,
        Engine::Duckdb => &ALLOWED_DUCKDB,
        Engine::Mongodb => &ALLOWED_MONGO,
    }
}

use polystoreiq_broker::guard::{self, Guardrail, limited};
use polystoreiq_protocol::types::Engine;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use sqlparser::ast::{SetExpr, Statement, Visit, Visitor};
use sqlparser::dialect::{Dialect, DuckDbDialect, MySqlDialect, PostgreSqlDialect};
use sqlparser::parser::Parser;

const FRAGMENTS: &[&str] = &[
    "SELECT",
    "select",
    "WITH",
    "VALUES",
    "FROM",
    "WHERE",
    "GROUP BY",
    "ORDER BY",
    "LIMIT",
    "OFFSET",
    "UNION",
    "UNION ALL",
    "INSERT INTO t VALUES (1)",
    "UPDATE t SET a = 1",
    "DELETE FROM t",
    "DROP TABLE t",
    "CREATE TABLE x (a int)",
    "COMMIT",
    "BEGIN",
    "ROLLBACK",
    "SET a = 1",
    "COPY t TO '/tmp/x'",
    "ATTACH 'x.db'",
    "INSTALL httpfs",
    "LOAD x",
    "PRAGMA x",
    "EXPLAIN ANALYZE",
    "FOR UPDATE",
    "FOR SHARE",
    "INTO OUTFILE '/tmp/x'",
    "INTO t2",
    "RETURNING *",
    "t",
    "orders",
    "a",
    "b",
    "\"q\"\"x\"",
    "`b`",
    "'s'",
    "'it''s'",
    "'\\''",
    "$$x$$",
    "E'\\x41'",
    "1",
    "2.5",
    "-1",
    "1e12",
    "*",
    ",",
    "(",
    ")",
    ";",
    ";;",
    ".",
    "::int",
    "->>",
    "#>",
    "@>",
    "||",
    "=",
    "<>",
    "+",
    "-",
    "/",
    "%",
    "--",
    "-- c\n",
    "--x",
    "#",
    "# c\n",
    "/*",
    "*/",
    "/* c */",
    "/*!",
    "/*!50000",
    "/*M!",
    "/*+",
    "/* /* */ */",
    "\n",
    "\t",
    " ",
    "pg_sleep(1)",
    " ONLY ",
    "TABLE ",
    " USING SAMPLE 10% ",
    "pg_shadow",
    "duckdb_settings()",
    "information_schema.tables",
    "http_put('x', 'y', 'z')",
    "sleep(1)",
    "pg_read_file('/etc/passwd')",
    "read_csv('/etc/passwd')",
    "read_text('x')",
    "dblink('h','q')",
    "nextval('s')",
    "current_setting('x')",
    "getenv('HOME')",
    "query('x')",
    "generate_series(1, 1e12)",
    "range(10)",
    "count(*)",
    "sum(a)",
    "lower(a)",
    "date_trunc('month', d)",
    "row_number() OVER (ORDER BY a)",
    "CASE WHEN a THEN 1 ELSE 2 END",
    "EXISTS (SELECT 1)",
    "IN (1, 2)",
    "pg_\u{0455}leep(1)",
    "\u{200B}",
    "\u{202E}",
    "\u{FEFF}",
    "\u{FF33}ELECT",
    "'/etc/passwd'",
    "'https://x/y.csv'",
    "mysql.user",
    "pg_authid",
    "LATERAL",
    "JOIN",
    "ON",
    "USING (a)",
    "AS",
    "DISTINCT",
    "HAVING",
    "QUALIFY",
];

/// Query-shaped: a clause from each list, where every list mixes legitimate and hostile choices.
fn structured_sql() -> impl Strategy<Value = String> {
    const WITH: &[&str] = &[
        "",
        "WITH c AS (SELECT a FROM t) ",
        "WITH c AS (DELETE FROM t RETURNING a) ",
        "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) ",
        "WITH c AS (INSERT INTO t VALUES (1) RETURNING a) ",
    ];
    const COLUMNS: &[&str] = &[
        "a",
        "*",
        "count(*)",
        "sum(a) AS s",
        "pg_sleep(1)",
        "lower(b)",
        "a /*! , 2 */",
        "a -- x\n, b",
        "nextval('s')",
        "current_setting('TimeZone')",
        "current_setting('data_directory')",
        "a->>'k'",
        "row_number() OVER (PARTITION BY b ORDER BY a)",
        "(SELECT max(a) FROM t)",
        "getenv('HOME')",
        "a /*+ x */",
    ];
    const RELATIONS: &[&str] = &[
        "t",
        "orders o JOIN customers c ON c.id = o.customer_id",
        "c",
        "generate_series(1, 10) g",
        "read_csv('/etc/passwd')",
        "'/etc/passwd'",
        "pg_authid",
        "mysql.user",
        "(SELECT a FROM t) s",
        "dblink('h', 'q') AS d(a int)",
        "range(1000000000000)",
        "\"x.csv\"",
    ];
    const WHERE: &[&str] = &[
        "",
        " WHERE a > 1",
        " WHERE b IN ('x', 'y')",
        " WHERE EXISTS (SELECT 1 FROM t)",
        " WHERE a = 1; DROP TABLE t",
        " WHERE pg_sleep(10) IS NULL",
        " WHERE d >= DATE '2024-01-01'",
    ];
    const TAIL: &[&str] = &[
        "",
        " GROUP BY a",
        " ORDER BY 1 DESC",
        " LIMIT 10",
        " LIMIT 5000 OFFSET 2",
        " FOR UPDATE",
        " UNION SELECT 1",
        " INTO OUTFILE '/tmp/x'",
        " ;",
        "; COMMIT",
        " -- done",
        " FETCH FIRST 3 ROWS ONLY",
        " OFFSET 4",
    ];
    (
        prop::sample::select(WITH),
        prop::collection::vec(prop::sample::select(COLUMNS), 1..4),
        prop::sample::select(RELATIONS),
        prop::sample::select(WHERE),
        prop::sample::select(TAIL),
    )
        .prop_map(|(with, columns, relation, filter, tail)| {
            format!("{with}SELECT {} FROM {relation}{filter}{tail}", columns.join(", "))
        })
}

fn sql_input() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => structured_sql(),
        4 => prop::collection::vec(prop::sample::select(FRAGMENTS), 1..24).prop_map(|parts| parts.join(" ")),
        2 => prop::collection::vec(prop::sample::select(FRAGMENTS), 1..24).prop_map(|parts| parts.concat()),
        1 => "\\PC{0,120}",
        1 => prop::collection::vec(prop::sample::select(FRAGMENTS), 1..8)
            .prop_map(|parts| format!("SELECT a FROM t WHERE {}", parts.join(" "))),
    ]
}

const MONGO_FRAGMENTS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"collection\"",
    "\"orders\"",
    "\"system.users\"",
    "\"find\"",
    "\"aggregate\"",
    "\"count\"",
    "\"distinct\"",
    "\"insert\"",
    "\"delete\"",
    "\"mapReduce\"",
    "\"$match\"",
    "\"$group\"",
    "\"$out\"",
    "\"$merge\"",
    "\"$where\"",
    "\"$function\"",
    "\"$accumulator\"",
    "\"$lookup\"",
    "\"from\"",
    "\"pipeline\"",
    "\"$facet\"",
    "\"$unionWith\"",
    "\"$sample\"",
    "\"size\"",
    "\"$limit\"",
    "\"limit\"",
    "\"db\"",
    "\"coll\"",
    "\"$currentOp\"",
    "1",
    "1000000000",
    "-1",
    "true",
    "null",
    "\"x\"",
    "{}",
    "[]",
];

/// JSON built from Mongo keys: stages, operators (allowed and not), lookups across databases, limits.
fn mongo_value() -> impl Strategy<Value = serde_json::Value> {
    const KEYS: &[&str] = &[
        "$match",
        "$group",
        "$sort",
        "$project",
        "$lookup",
        "$facet",
        "$unionWith",
        "$out",
        "$merge",
        "$where",
        "$function",
        "$accumulator",
        "$sample",
        "$limit",
        "$currentOp",
        "$_internalJsEmit",
        "$expr",
        "$sum",
        "_id",
        "from",
        "pipeline",
        "coll",
        "db",
        "size",
        "as",
        "localField",
        "foreignField",
        "$eq",
        "$gt",
        "status",
    ];
    let leaf = prop_oneof![
        Just(serde_json::json!(1)),
        Just(serde_json::json!(5_000_000)),
        Just(serde_json::json!("orders")),
        Just(serde_json::json!("$amount")),
        Just(serde_json::json!("system.users")),
        Just(serde_json::json!(null)),
        Just(serde_json::json!({"db": "admin", "coll": "x"})),
    ];
    leaf.prop_recursive(4, 48, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 1..3).prop_map(|pairs| {
                serde_json::Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

fn structured_mongo() -> impl Strategy<Value = String> {
    const OPS: &[&str] = &["find", "aggregate", "count", "distinct", "insert", "mapReduce"];
    const EXTRA: &[&str] = &["", "limit", "projection", "sort", "filter", "skip", "writeConcern"];
    (prop::sample::select(OPS), mongo_value(), prop::sample::select(EXTRA), mongo_value()).prop_map(
        |(op, value, extra, extra_value)| {
            let value = match op {
                "aggregate" => serde_json::Value::Array(match value {
                    serde_json::Value::Array(stages) => stages,
                    other => vec![other],
                }),
                "distinct" => serde_json::json!("status"),
                "find" | "count" if !value.is_object() => serde_json::json!({}),
                _ => value,
            };
            let mut doc = serde_json::json!({ "collection": "orders", op: value });
            if !extra.is_empty() {
                doc[extra] = extra_value;
            }
            doc.to_string()
        },
    )
}

fn mongo_input() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => structured_mongo(),
        3 => prop::collection::vec(prop::sample::select(MONGO_FRAGMENTS), 1..40).prop_map(|parts| parts.concat()),
        1 => prop::collection::vec(prop::sample::select(MONGO_FRAGMENTS), 0..30)
            .prop_map(|parts| format!("{{\"collection\":\"orders\",\"aggregate\":[{{{}}}]}}", parts.concat())),
        1 => "\\PC{0,80}",
    ]
}

fn dialect(engine: Engine) -> &'static dyn Dialect {
    match engine {
        Engine::Postgres => &PostgreSqlDialect {},
        Engine::Mysql => &MySqlDialect {},
        _ => &DuckDbDialect {},
    }
}

/// Finds a data-modifying statement anywhere inside a query.
struct Writes(bool);

impl Visitor for Writes {
    type Break = ();

    fn pre_visit_query(&mut self, query: &sqlparser::ast::Query) -> std::ops::ControlFlow<()> {
        if matches!(*query.body, SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_)) {
            self.0 = true;
        }
        std::ops::ControlFlow::Continue(())
    }
}

fn only_one_read_only_query(engine: Engine, query: &str) -> Result<(), TestCaseError> {
    // Engine syntax sqlparser does not know (`FROM ONLY t`, `TABLE t`, DuckDB's sampling) is read as the guard
    // documents it reads it.
    let statements = Parser::parse_sql(dialect(engine), query)
        .or_else(|err| guard::reading(engine, query).map_err(|_| err))
        .map_err(|err| TestCaseError::fail(format!("allowed but does not re-parse: {err}: {query:?}")))?;
    let [Statement::Query(parsed)] = statements.as_slice() else {
        return Err(TestCaseError::fail(format!("allowed but not exactly one query: {query:?}")));
    };
    let mut writes = Writes(false);
    let _ = parsed.visit(&mut writes);
    prop_assert!(!writes.0, "allowed a query holding a write: {query:?}");
    Ok(())
}

fn sql_property(input: String) -> Result<(), TestCaseError> {
    for engine in [Engine::Postgres, Engine::Mysql, Engine::Duckdb] {
        let verdict = Guardrail::new(engine).check(&input);
        if verdict.allowed() {
            allowed_counter(engine).fetch_add(1, Ordering::Relaxed);
            only_one_read_only_query(engine, &input)?;
            let rewritten = limited(engine, &input, 1001)
                .map_err(|v| TestCaseError::fail(format!("allowed but cannot be limited ({}): {input:?}", v.reason)))?;
            prop_assert!(Guardrail::new(engine).check(&rewritten).allowed(), "limited form refused: {rewritten:?}");
            only_one_read_only_query(engine, &rewritten)?;
        }
    }
    Ok(())
}

fn mongo_property(input: String) -> Result<(), TestCaseError> {
    if Guardrail::new(Engine::Mongodb).check(&input).allowed() {
        allowed_counter(Engine::Mongodb).fetch_add(1, Ordering::Relaxed);
        let doc: serde_json::Value = serde_json::from_str(&input).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let ops = ["find", "aggregate", "count", "distinct"].iter().filter(|op| doc.get(**op).is_some()).count();
        prop_assert_eq!(ops, 1, "allowed without exactly one read operation: {}", input);
        let mut keys = Vec::new();
        object_keys(&doc, &mut keys);
        for denied in ["$out", "$merge", "$where", "$function", "$accumulator", "$currentOp"] {
            prop_assert!(!keys.contains(&denied.to_owned()), "allowed {} in {}", denied, input);
        }
        prop_assert!(!keys.iter().any(|k| k.starts_with("$_")), "allowed an internal operator in {}", input);
        let limited = limited(Engine::Mongodb, &input, 1001).map_err(|v| TestCaseError::fail(v.reason))?;
        prop_assert!(Guardrail::new(Engine::Mongodb).check(&limited).allowed(), "limited form refused: {}", limited);
    }
    Ok(())
}

/// Every key of every object inside `value`.
fn object_keys(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                out.push(key.clone());
                object_keys(inner, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| object_keys(item, out)),
        _ => {}
    }
}

/// Runs batches of cases until `GUARD_FUZZ_SECONDS` have passed (one batch when unset), then checks that each of
/// `engines` allowed a share of the inputs above zero.
fn fuzz<S: Strategy<Value = String>>(
    strategy: S,
    property: fn(String) -> Result<(), TestCaseError>,
    engines: &[Engine],
) {
    let budget =
        Duration::from_secs(std::env::var("GUARD_FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(0));
    let started = Instant::now();
    let mut cases = 0u64;
    loop {
        let config = Config { cases: 2_000, failure_persistence: None, ..Config::default() };
        let mut runner = TestRunner::new(config);
        if let Err(err) = runner.run(&strategy, property) {
            panic!("{err}");
        }
        cases += 2_000;
        if started.elapsed() >= budget {
            break;
        }
    }
    let allowed: Vec<(Engine, u64)> =
        engines.iter().map(|&engine| (engine, allowed_counter(engine).load(Ordering::Relaxed))).collect();
    let shares: Vec<String> = allowed
        .iter()
        .map(|(engine, n)| format!("{engine:?} {n} ({:.1}%)", *n as f64 * 100.0 / cases as f64))
        .collect();
    eprintln!("{cases} cases in {:.1} s; allowed: {}", started.elapsed().as_secs_f64(), shares.join(", "));
    // A property checked only on refusals proves nothing: on every engine, some inputs must get through.
    for (engine, n) in allowed {
        assert!(n > 0, "{engine:?} allowed no input of {cases}; the strategy no longer reaches its allowed path");
    }
}

#[test]
fn sql_guardrail_never_panics_and_allows_only_single_read_only_queries() {
    fuzz(sql_input(), sql_property, &[Engine::Postgres, Engine::Mysql, Engine::Duckdb]);
}

#[test]
fn mongo_guardrail_never_panics_and_allows_only_read_operations() {
    fuzz(mongo_input(), mongo_property, &[Engine::Mongodb]);
}
