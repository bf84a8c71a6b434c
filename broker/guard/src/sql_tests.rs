//! The SQL guardrail's unit tests: the whole check, query by query.
use super::*;

/// The guardrail scans MySQL executable comments on the raw text because this version of sqlparser unwraps
/// them into tokens. If an upgrade changes that, this fails: review `lexical` and `has_executable_comment`.
#[test]
fn sqlparser_unwraps_mysql_executable_comments_in_the_pinned_version() {
    let tokens = Tokenizer::new(&MySqlDialect {}, "SELECT 1 /*!50000 , 2 */").tokenize().unwrap();
    assert!(!tokens.iter().any(|t| matches!(t, Token::Whitespace(Whitespace::MultiLineComment(_)))));
    assert!(tokens.iter().any(|t| matches!(t, Token::Number(n, _) if n == "2")));
    let lock = include_str!("../../../Cargo.lock");
    assert!(lock.contains("name = \"sqlparser\"\nversion = \"0.63.0\""), "sqlparser moved off 0.63.0");
}

#[test]
fn executable_comments_are_found_outside_literals_only() {
    assert!(has_executable_comment("SELECT 1 /*! , 2 */"));
    assert!(has_executable_comment("SELECT 1 /*M!100000 , 2 */"));
    assert!(has_executable_comment("SELECT /*+ MAX_EXECUTION_TIME(0) */ 1"));
    assert!(has_executable_comment("SELECT '/*' /*!, 2*/"));
    assert!(!has_executable_comment("SELECT '/*!' AS a"));
    assert!(!has_executable_comment("SELECT `/*!x` FROM t"));
    assert!(!has_executable_comment("SELECT 1 -- /*! no\n"));
    assert!(!has_executable_comment("SELECT 'it\\'s /*!' AS a"));
    assert!(!has_executable_comment("SELECT 1 /* plain */"));
}

#[test]
fn a_file_source_reads_its_own_paths_and_nothing_computed() {
    let policy = Policy { source_paths: vec!["/data/own.csv".into()], ..Policy::default() };
    let judge = |q: &str| check(Engine::Duckdb, &policy, q).map_err(|v| v.code);
    assert_eq!(judge("SELECT * FROM read_csv('/data/own.csv', delim = ';')"), Ok(()));
    assert_eq!(judge("SELECT * FROM read_csv(['/data/own.csv'])"), Ok(()));
    assert_eq!(judge("SELECT * FROM read_csv(['/data/own.csv', '/etc/passwd'])"), Err(Code::FileAccess));
    assert_eq!(judge("SELECT * FROM read_csv(['/data/own.csv', lower('/ETC/PASSWD')])"), Err(Code::FileAccess));
    assert_eq!(judge("SELECT * FROM read_csv('/data/own.csv' || '')"), Err(Code::FileAccess));
}

fn verdict(engine: Engine, policy: &Policy, query: &str) -> Result<(), Code> {
    check(engine, policy, query).map_err(|v| v.code)
}

#[test]
fn a_cte_hides_a_catalog_only_where_it_is_in_scope() {
    let pg = |q: &str| verdict(Engine::Postgres, &Policy::default(), q);
    assert_eq!(pg("WITH pg_shadow AS (SELECT 1 AS a) SELECT * FROM pg_shadow"), Ok(()));
    // A non-recursive CTE's body does not see the CTE itself: there the name is the catalog.
    assert_eq!(pg("WITH pg_shadow AS (SELECT * FROM pg_shadow) SELECT * FROM pg_shadow"), Err(Code::SensitiveCatalog));
    // Under RECURSIVE it does.
    assert_eq!(
        pg("WITH RECURSIVE pg_x AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM pg_x WHERE n < 3) SELECT * FROM pg_x"),
        Ok(())
    );
    // A later CTE sees an earlier one, never the reverse.
    assert_eq!(pg("WITH pg_a AS (SELECT 1 AS x), b AS (SELECT * FROM pg_a) SELECT * FROM b"), Ok(()));
    assert_eq!(
        pg("WITH b AS (SELECT * FROM pg_a), pg_a AS (SELECT 1 AS x) SELECT * FROM b"),
        Err(Code::SensitiveCatalog)
    );
    // A subquery's CTE is not visible outside it.
    assert_eq!(
        pg("SELECT * FROM (WITH pg_authid AS (SELECT 1 AS a) SELECT * FROM pg_authid) s, pg_authid"),
        Err(Code::SensitiveCatalog)
    );
    // A quoted CTE name keeps its case in PostgreSQL: it does not hide the catalog (found in review).
    for q in [
        "WITH \"PG_SETTINGS\" AS (SELECT 1) SELECT name, setting FROM pg_settings",
        "WITH \"PG_AUTHID\" AS (SELECT 1) SELECT rolname, rolpassword FROM pg_authid",
    ] {
        assert_eq!(pg(q), Err(Code::SensitiveCatalog), "{q}");
    }
    assert_eq!(pg("WITH \"pg_x\" AS (SELECT 1 AS a) SELECT a FROM pg_x"), Ok(()));
    // DuckDB ignores case even in quoted names, so there the CTE does hide it.
    let duck = |q: &str| verdict(Engine::Duckdb, &Policy::default(), q);
    assert_eq!(duck("WITH \"DUCKDB_X\" AS (SELECT 1 AS a) SELECT a FROM duckdb_x"), Ok(()));
    // A quoted capitalised function is not the built-in.
    assert_eq!(pg("SELECT \"LOWER\"(name) FROM orders"), Err(Code::FunctionNotAllowed));
    assert_eq!(pg("SELECT \"lower\"(name) FROM orders"), Ok(()));
    // An outer CTE is visible in a nested subquery.
    assert_eq!(pg("WITH pg_a AS (SELECT 1 AS x) SELECT * FROM (SELECT * FROM pg_a) s"), Ok(()));
}

#[test]
fn only_parentheses_and_table_reach_the_relation_check() {
    let pg = |q: &str| verdict(Engine::Postgres, &Policy::default(), q);
    for q in [
        "SELECT * FROM ONLY pg_authid",
        "SELECT * FROM ONLY (pg_catalog.pg_authid)",
        "SELECT * FROM only pg_authid a",
        "TABLE pg_authid",
        "TABLE ONLY pg_authid",
        "SELECT 1 UNION TABLE ONLY pg_authid",
        "SELECT * FROM t JOIN ONLY pg_authid ON true",
    ] {
        assert_eq!(pg(q), Err(Code::SensitiveCatalog), "{q}");
    }
    for q in ["SELECT * FROM ONLY orders", "SELECT * FROM ONLY (public.orders)", "TABLE orders", "TABLE ONLY orders"] {
        assert_eq!(pg(q), Ok(()), "{q}");
    }
    // ONLY with no table after it is refused however it ends, and ONLY anywhere else is left for the parser.
    for engine in [Engine::Postgres, Engine::Duckdb] {
        for q in ["FROM ONLY ", "FROM ONLY\nLIMIT 1001", "SELECT * FROM ONLY", "TABLE ONLY"] {
            assert!(check(engine, &Policy::default(), q).is_err(), "{engine:?} {q}");
        }
    }
    assert_eq!(pg("SELECT * FROM orders FETCH FIRST 3 ROWS ONLY"), Ok(()));
}

#[test]
fn table_is_read_only_in_its_grammars_shape() {
    let pg = |q: &str| verdict(Engine::Postgres, &Policy::default(), q);
    // Found by the fuzz target and in review: sqlparser's own TABLE takes the word after the name as well.
    assert_eq!(pg("TABLE SELECT COMMIT LIMIT 3"), Err(Code::ParseError));
    assert_eq!(pg("TABLE orders o"), Err(Code::ParseError));
    assert_eq!(pg("SELECT a FROM t WHERE b UNION TABLE  GROUP BY"), Err(Code::ParseError));
    assert_eq!(pg("WITH c AS (SELECT 1) TABLE orders FOR UPDATE"), Err(Code::ParseError));
    assert_eq!(pg("TABLE public.orders ORDER BY 1 LIMIT 3"), Ok(()));
    assert_eq!(pg("SELECT 1 UNION (TABLE orders) ORDER BY 1"), Ok(()));
    assert_eq!(pg("WITH c AS (SELECT 1) TABLE orders LIMIT 5"), Ok(()));
    assert_eq!(pg("WITH c AS (SELECT 1) TABLE pg_authid"), Err(Code::SensitiveCatalog));
}

#[test]
fn the_sources_schemas_and_listed_functions_bound_what_a_query_names() {
    let policy = Policy {
        schemas: Some(vec!["public".into(), "sales".into()]),
        functions: vec!["sales.fiscal_quarter".into()],
        ..Policy::default()
    };
    let pg = |q: &str| verdict(Engine::Postgres, &policy, q);
    assert_eq!(pg("SELECT * FROM sales.orders"), Ok(()));
    // The source's schemas compare exactly, as PostgreSQL compares a quoted name (found in review).
    assert_eq!(pg("SELECT * FROM Sales.orders"), Ok(()));
    assert_eq!(pg("SELECT * FROM \"Sales\".orders"), Err(Code::RelationNotAllowed));
    assert_eq!(pg("SELECT \"SALES\".fiscal_quarter(created_at) FROM orders"), Err(Code::FunctionNotAllowed));
    assert_eq!(pg("SELECT * FROM hr.salaries"), Err(Code::RelationNotAllowed));
    assert_eq!(pg("SELECT * FROM cron.job"), Err(Code::RelationNotAllowed));
    assert_eq!(pg("SELECT sales.fiscal_quarter(created_at) FROM orders"), Ok(()));
    assert_eq!(pg("SELECT fiscal_quarter(created_at) FROM orders"), Err(Code::FunctionNotAllowed));
    assert_eq!(pg("SELECT hr.fiscal_quarter(created_at) FROM orders"), Err(Code::FunctionNotAllowed));
    // Without the owner's list, no user function runs.
    let none = |q: &str| verdict(Engine::Postgres, &Policy::default(), q);
    assert_eq!(none("SELECT sales.fiscal_quarter(created_at) FROM orders"), Err(Code::FunctionNotAllowed));
    assert_eq!(none("SELECT pg_catalog.lower(name) FROM orders"), Ok(()));
    assert_eq!(none("SELECT public.lower(name) FROM orders"), Err(Code::FunctionNotAllowed));
}

#[test]
fn duckdb_sampling_is_read_without_its_clause_and_nothing_else_hides_there() {
    let duck = |q: &str| verdict(Engine::Duckdb, &Policy::default(), q);
    assert_eq!(duck("SELECT * FROM orders USING SAMPLE 10"), Ok(()));
    assert_eq!(duck("SELECT * FROM orders USING SAMPLE reservoir(50 ROWS) REPEATABLE (7)"), Ok(()));
    assert_eq!(duck("SELECT * FROM orders o USING SAMPLE 10% WHERE o.total > 3"), Ok(()));
    // A call inside the clause ends it; what is left does not parse.
    assert_eq!(duck("SELECT * FROM orders USING SAMPLE getenv('HOME')"), Err(Code::ParseError));
    assert_eq!(duck("SELECT * FROM duckdb_settings() USING SAMPLE 10"), Err(Code::Environment));
    // Not after the statement's end (found by the fuzz target).
    assert!(duck("SELECT  ONLY  ;  USING SAMPLE 10% ").is_err());
    assert!(duck("SELECT 1; USING SAMPLE 10").is_err());
    // Leading semicolons are empty statements: the clause is still inside the one statement.
    assert_eq!(duck("; SELECT * FROM orders USING SAMPLE 10%"), duck("SELECT * FROM orders USING SAMPLE 10%"));
}

#[test]
fn sizes_fold_through_powers_products_and_nesting() {
    let pg = |q: &str| verdict(Engine::Postgres, &Policy::default(), q);
    assert_eq!(pg("SELECT * FROM generate_series(1, 10^9)"), Err(Code::ResourceAbuse));
    assert_eq!(pg("SELECT * FROM generate_series(1, 10^7)"), Ok(()));
    assert_eq!(pg("SELECT * FROM generate_series(1, (SELECT 10000000000))"), Err(Code::ResourceAbuse));
    // Interval abbreviations and negative steps (found in review).
    for q in [
        "SELECT count(*) FROM generate_series(TIMESTAMP '2000-01-01', TIMESTAMP '2030-01-01', INTERVAL '1 us')",
        "SELECT count(*) FROM generate_series(TIMESTAMP '2030-01-01', TIMESTAMP '2000-01-01', INTERVAL '-1 ms')",
    ] {
        assert_eq!(pg(q), Err(Code::ResourceAbuse), "{q}");
    }
    let duck = verdict(Engine::Duckdb, &Policy::default(), "SELECT list_resize([1], 1e9)");
    assert_eq!(duck, Err(Code::ResourceAbuse));
    assert_eq!(pg("SELECT repeat(repeat('ab', 5000), 5000)"), Err(Code::ResourceAbuse));
    assert_eq!(pg("SELECT repeat(repeat('ab', 50), 50)"), Ok(()));
    assert_eq!(pg("SELECT 1 FROM generate_series(1, 20000) a, generate_series(1, 20000) b"), Err(Code::ResourceAbuse));
    assert_eq!(pg("SELECT 1 FROM generate_series(1, 2000) a, generate_series(1, 2000) b"), Ok(()));
    // Wrapping a generator in a subquery changes nothing; a LIMIT inside caps it.
    assert_eq!(
        pg("SELECT 1 FROM (SELECT * FROM generate_series(1, 20000)) a, (SELECT * FROM generate_series(1, 20000)) b"),
        Err(Code::ResourceAbuse)
    );
    assert_eq!(
        pg("SELECT 1 FROM (SELECT * FROM generate_series(1, 20000) LIMIT 10) a, generate_series(1, 20000) b"),
        Ok(())
    );
    // In MySQL `^` is XOR: 10 ^ 10 is 0, not a power.
    assert_eq!(verdict(Engine::Mysql, &Policy::default(), "SELECT REPEAT('x', 10 ^ 10)"), Ok(()));
}
