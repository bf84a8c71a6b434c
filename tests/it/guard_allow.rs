//! The guardrail's allow-lists against the real engines: every listed function exists in the engine it was
//! checked against, and every relation of the engines' own catalogs that is not on the list of catalog views is
//! refused, qualified and not. Enumerated from the servers, so a catalog view added by a new server version fails
//! here instead of being readable.

use polystoreiq_broker::guard::{Code, Guardrail, function_list};
use polystoreiq_protocol::types::Engine;

use crate::servers::{PgDb, mariadb, psql};

/// `Some(query)` when the guard allows it: what a refusal test collects.
fn allowed_query(engine: Engine, query: &str) -> Option<String> {
    let verdict = Guardrail::new(engine).check(query);
    (verdict.code == Code::Ok).then(|| query.to_owned())
}

#[test]
fn every_listed_postgres_function_exists_in_the_server() {
    let list = function_list(Engine::Postgres);
    let names =
        psql("postgres", "SELECT DISTINCT proname FROM pg_proc WHERE pronamespace = 'pg_catalog'::regnamespace");
    let server: std::collections::HashSet<&str> = names.lines().collect();
    let version = psql("postgres", "SHOW server_version");
    let number = version.split_whitespace().next().unwrap_or_default();
    assert!(
        list.checked.iter().any(|c| c.split_whitespace().nth(1) == Some(number)),
        "postgres.txt was checked against {:?}, this server is {version}: check the list and add a @checked line",
        list.checked
    );
    let missing: Vec<&&str> = list.scalar.iter().chain(&list.table).filter(|name| !server.contains(**name)).collect();
    assert!(missing.is_empty(), "listed but not functions of PostgreSQL {version}: {missing:?}");
}

#[test]
fn every_postgres_catalog_relation_is_refused_unless_listed() {
    let relations = psql(
        "postgres",
        "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p') AND (n.nspname IN ('pg_catalog', 'information_schema') \
         OR n.nspname LIKE 'pg\\_%')",
    );
    let mut allowed = Vec::new();
    let mut unqualified_outside_namespace = Vec::new();
    let mut checked = 0;
    for relation in relations.lines() {
        let (schema, name) = relation.split_once('.').expect("schema.name");
        checked += 1;
        let qualified = format!("SELECT * FROM {schema}.\"{name}\"");
        let listed = matches!(
            (schema, name),
            ("information_schema", "tables" | "columns" | "views" | "table_constraints" | "key_column_usage")
                | ("information_schema", "referential_constraints" | "constraint_column_usage" | "check_constraints")
                | ("pg_catalog", "pg_tables" | "pg_views" | "pg_indexes" | "pg_matviews" | "pg_stat_user_tables")
        );
        if listed {
            continue;
        }
        allowed.extend(allowed_query(Engine::Postgres, &qualified));
        // pg_catalog is searched before the source's schemas: the unqualified name reaches the catalog too.
        if schema == "pg_catalog" {
            if !name.starts_with("pg_") {
                unqualified_outside_namespace.push(name.to_owned());
            }
            allowed.extend(allowed_query(Engine::Postgres, &format!("SELECT * FROM {name}")));
            allowed.extend(allowed_query(Engine::Postgres, &format!("SELECT * FROM ONLY {name}")));
        }
    }
    assert!(checked > 150, "only {checked} catalog relations found");
    assert!(
        unqualified_outside_namespace.is_empty(),
        "pg_catalog relations outside the pg_ namespace the guard reserves: {unqualified_outside_namespace:?}"
    );
    assert!(allowed.is_empty(), "catalog relations the guard allows: {allowed:#?}");
}

#[test]
fn every_listed_duckdb_function_exists_and_every_system_view_is_refused() {
    let db = duckdb::Connection::open_in_memory().expect("duckdb");
    let version: String = db.query_row("SELECT version()", [], |row| row.get(0)).expect("version");
    let list = function_list(Engine::Duckdb);
    assert!(
        list.checked.iter().any(|c| c.contains(&version)),
        "duckdb.txt checked against {:?}, not {version}",
        list.checked
    );
    let mut statement = db.prepare("SELECT DISTINCT function_name FROM duckdb_functions()").expect("prepare");
    let server: std::collections::HashSet<String> = statement
        .query_map([], |row| row.get::<_, String>(0))
        .expect("query")
        .map(|r| r.expect("row").to_lowercase())
        .collect();
    let missing: Vec<&&str> = list.scalar.iter().chain(&list.table).filter(|name| !server.contains(**name)).collect();
    assert!(missing.is_empty(), "listed but not functions of DuckDB {version}: {missing:?}");

    let mut statement =
        db.prepare("SELECT schema_name, view_name FROM duckdb_views() WHERE internal").expect("prepare views");
    let views: Vec<(String, String)> = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .expect("views")
        .map(|r| r.expect("row"))
        .collect();
    assert!(views.len() > 30, "only {} system views", views.len());
    let mut allowed = Vec::new();
    for (schema, name) in &views {
        let listed = schema == "information_schema"
            && ["tables", "columns", "views", "table_constraints", "key_column_usage", "referential_constraints"]
                .iter()
                .chain(&["constraint_column_usage", "check_constraints"])
                .any(|n| n == name);
        if listed {
            continue;
        }
        allowed.extend(allowed_query(Engine::Duckdb, &format!("SELECT * FROM {schema}.{name}")));
        allowed.extend(allowed_query(Engine::Duckdb, &format!("SELECT * FROM system.{schema}.{name}")));
        if schema != "information_schema" {
            // DuckDB finds these unqualified too.
            allowed.extend(allowed_query(Engine::Duckdb, &format!("SELECT * FROM {name}")));
            allowed.extend(allowed_query(Engine::Duckdb, &format!("SELECT * FROM \"{}\"", name.to_uppercase())));
        }
    }
    // Every table function that is not listed: engine introspection, files, other servers, test helpers.
    let mut statement =
        db.prepare("SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type = 'table'").expect("p");
    let table_functions: Vec<String> =
        statement.query_map([], |row| row.get(0)).expect("table functions").map(|r| r.expect("row")).collect();
    for name in &table_functions {
        if !list.table.contains(name.as_str()) {
            allowed.extend(allowed_query(Engine::Duckdb, &format!("SELECT * FROM {name}()")));
        }
    }
    assert!(allowed.is_empty(), "DuckDB system views or table functions the guard allows: {allowed:#?}");
}

#[test]
fn every_listed_mariadb_function_is_documented_by_the_server_and_system_schemas_are_refused() {
    let list = function_list(Engine::Mysql);
    let version = mariadb(None, "SELECT VERSION()");
    assert!(
        list.checked.iter().any(|c| version.starts_with(c.trim_start_matches("MariaDB ").trim())),
        "mysql.txt checked against {:?}, this server is {version}",
        list.checked
    );
    // MariaDB keeps no catalog of built-in functions, but its help tables name every one.
    let topics = mariadb(None, "SELECT LOWER(name) FROM mysql.help_topic");
    // Topic names escape their underscores (`DATE\_ADD`); a few carry a suffix (`DATE FUNCTION`).
    let documented: std::collections::HashSet<String> =
        topics.lines().map(|topic| topic.replace('\\', "").trim().trim_end_matches(" function").to_owned()).collect();
    let missing: Vec<&&str> =
        list.scalar.iter().chain(&list.table).filter(|name| !documented.contains(**name)).collect();
    assert!(missing.is_empty(), "listed but not documented by MariaDB {version}: {missing:?}");

    let tables = mariadb(
        None,
        "SELECT CONCAT(table_schema, '.', table_name) FROM information_schema.tables \
         WHERE table_schema IN ('information_schema', 'mysql', 'performance_schema', 'sys')",
    );
    let mut allowed = Vec::new();
    let mut checked = 0;
    for relation in tables.lines() {
        let (schema, name) = relation.split_once('.').expect("schema.name");
        let listed = schema.eq_ignore_ascii_case("information_schema")
            && ["tables", "columns", "views", "table_constraints", "key_column_usage", "referential_constraints"]
                .iter()
                .chain(&["constraint_column_usage", "check_constraints", "statistics"])
                .any(|n| n.eq_ignore_ascii_case(name));
        checked += 1;
        if !listed {
            allowed.extend(allowed_query(Engine::Mysql, &format!("SELECT * FROM {schema}.`{name}`")));
        }
    }
    assert!(checked > 100, "only {checked} system tables found");
    assert!(allowed.is_empty(), "MariaDB system tables the guard allows: {allowed:#?}");
}

#[test]
fn a_user_function_runs_only_once_the_owner_lists_it_and_the_list_is_audited() {
    let database = PgDb::new("psiq_udf");
    database.sql(
        "CREATE SCHEMA analytics; CREATE TABLE orders (d date); INSERT INTO orders VALUES ('2024-05-01'); \
         CREATE FUNCTION analytics.fiscal_quarter(d date) RETURNS int LANGUAGE sql IMMUTABLE \
         AS 'SELECT ((extract(month FROM d)::int + 2) / 3) % 4 + 1';",
    );
    let p = crate::support::Profile::new();
    let url = database.url();
    p.ok(&["source", "add", "udf", "--kind", "postgres", "--url", &url]);
    let query = "SELECT analytics.fiscal_quarter(d) AS q FROM orders";

    let draft = p.ok(&["query", "udf", "--sql", query]);
    assert_eq!(draft["verdict"]["code"], "function_not_allowed", "{draft}");
    assert_eq!(draft["token"], serde_json::Value::Null, "{draft}");

    let listed = p.ok(&["source", "functions", "udf", "--allow", "Analytics.Fiscal_Quarter"]);
    assert_eq!(listed["functions"], serde_json::json!(["analytics.fiscal_quarter"]), "{listed}");
    let run = p.query("udf", query);
    assert_eq!(run["first_page"]["rows"][0]["q"], 3, "{run}");
    // Only the function named: the same name in another schema is still refused.
    let other = p.ok(&["query", "udf", "--sql", "SELECT public.fiscal_quarter(d) FROM orders"]);
    assert_eq!(other["verdict"]["code"], "function_not_allowed", "{other}");

    let audit = p.ok(&["audit", "--action", "source.functions"]);
    assert!(audit.to_string().contains("analytics.fiscal_quarter"), "{audit}");
    p.ok(&["source", "functions", "udf", "--clear"]);
    let again = p.ok(&["query", "udf", "--sql", query]);
    assert_eq!(again["verdict"]["code"], "function_not_allowed", "{again}");
    // A malformed name is refused with a message that says how to write it.
    let bad = p.err(&["source", "functions", "udf", "--allow", "x; DROP TABLE orders"]);
    assert_eq!(bad["code"], "bad_request", "{bad}");
}

#[test]
fn the_dry_run_checks_the_relations_of_the_servers_own_plan() {
    let database = PgDb::new("psiq_plan");
    // A view of the source's own schema over a credential catalog: by its name, an ordinary relation.
    database.sql(
        "CREATE TABLE orders (id int); INSERT INTO orders VALUES (1); \
         CREATE VIEW role_names AS SELECT rolname, rolpassword FROM pg_authid;",
    );
    let p = crate::support::Profile::new();
    let url = database.url();
    p.ok(&["source", "add", "plan", "--kind", "postgres", "--url", &url]);

    let hidden = p.ok(&["query", "plan", "--sql", "SELECT rolname FROM role_names"]);
    assert_eq!(hidden["verdict"]["allowed"], true, "the text names only a source view: {hidden}");
    assert_eq!(hidden["check"]["outcome"], "failed", "{hidden}");
    let message = hidden["check"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("pg_catalog.pg_authid"), "the dry run names what the plan reads: {message}");
    assert_eq!(hidden["token"], serde_json::Value::Null, "{hidden}");

    // Naming a catalog view beside it does not make the credential catalog pass.
    let beside = p.ok(&["query", "plan", "--sql", "SELECT r.rolname FROM role_names r, information_schema.tables t"]);
    assert_eq!(beside["check"]["outcome"], "failed", "{beside}");

    // Twins: a table of the source, and a catalog view the guard allows (its plan reads pg_class underneath).
    for sound in
        ["SELECT id FROM orders", "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"]
    {
        let draft = p.ok(&["query", "plan", "--sql", sound]);
        assert_eq!(draft["check"]["outcome"], "passed", "{sound}: {draft}");
        assert!(draft["token"].is_string(), "{sound}: {draft}");
    }
}

#[test]
fn the_catalog_views_plans_read_only_the_catalog_tables_the_second_check_expects() {
    let views = [
        "information_schema.tables",
        "information_schema.columns",
        "information_schema.views",
        "information_schema.table_constraints",
        "information_schema.key_column_usage",
        "information_schema.referential_constraints",
        "information_schema.constraint_column_usage",
        "information_schema.check_constraints",
        "pg_catalog.pg_tables",
        "pg_catalog.pg_views",
        "pg_catalog.pg_indexes",
        "pg_catalog.pg_matviews",
        "pg_catalog.pg_stat_user_tables",
    ];
    let mut unexpected = Vec::new();
    for view in views {
        assert!(allowed_query(Engine::Postgres, &format!("SELECT * FROM {view}")).is_some(), "{view} is not allowed");
        let plan = psql("postgres", &format!("EXPLAIN (VERBOSE, FORMAT JSON) SELECT * FROM {view}"));
        let plan: serde_json::Value = serde_json::from_str(&plan).expect("plan JSON");
        let mut names = Vec::new();
        relation_names(&plan, &mut names);
        unexpected.extend(
            names
                .into_iter()
                .filter(|name| !polystoreiq_broker::guard::CATALOG_VIEW_TABLES.contains(&name.as_str()))
                .map(|name| format!("{view} reads {name}")),
        );
    }
    assert!(unexpected.is_empty(), "{unexpected:?}");
}

fn relation_names(node: &serde_json::Value, out: &mut Vec<String>) {
    match node {
        serde_json::Value::Object(map) => {
            if let Some(name) = map.get("Relation Name").and_then(|v| v.as_str()) {
                out.push(name.to_owned());
            }
            map.values().for_each(|v| relation_names(v, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| relation_names(v, out)),
        _ => {}
    }
}
