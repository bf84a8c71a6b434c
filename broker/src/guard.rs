//! The guardrail in front of every run: a query must parse in the source's dialect, be exactly one statement,
//! and be a query. Pure and fast; no I/O.

use polystoreiq_protocol::types::{Engine, GuardVerdict};
use sqlparser::ast::Statement;
use sqlparser::dialect::{Dialect, DuckDbDialect, MySqlDialect, PostgreSqlDialect};
use sqlparser::parser::Parser;

/// Judges one query for `engine`.
pub fn check(engine: Engine, query: &str) -> GuardVerdict {
    let dialect: &dyn Dialect = match engine {
        Engine::Duckdb => &DuckDbDialect {},
        Engine::Postgres => &PostgreSqlDialect {},
        Engine::Mysql => &MySqlDialect {},
        Engine::Mongodb => return deny("unsupported_engine", "Mongo queries are checked by the Mongo guardrail"),
    };
    let statements = match Parser::parse_sql(dialect, query) {
        Ok(statements) => statements,
        Err(err) => return deny("parse_error", &format!("the query does not parse: {err}")),
    };
    match statements.as_slice() {
        [] => deny("empty", "there is no query"),
        [Statement::Query(_)] => {
            GuardVerdict { allowed: true, code: "ok".into(), reason: "a single read-only query".into() }
        }
        [_] => deny("not_a_query", "only queries (SELECT, WITH, VALUES) may run"),
        _ => deny("multiple_statements", "exactly one statement may run at a time"),
    }
}

fn deny(code: &str, reason: &str) -> GuardVerdict {
    GuardVerdict { allowed: false, code: code.into(), reason: reason.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_queries_pass_and_everything_else_is_refused() {
        let expect = |q: &str, code: &str| assert_eq!(check(Engine::Duckdb, q).code, code, "{q}");
        expect("SELECT 1", "ok");
        expect("WITH t AS (SELECT 1 AS a) SELECT a FROM t", "ok");
        expect("SELECT 1; SELECT 2", "multiple_statements");
        expect("DROP TABLE orders", "not_a_query");
        expect("COPY orders TO '/tmp/x.csv'", "not_a_query");
        expect("SELEC 1", "parse_error");
        expect("", "empty");
    }
}
