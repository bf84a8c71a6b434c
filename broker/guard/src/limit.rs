//! The row limit, written into the query the server receives, so the server stops producing rows instead of
//! the worker discarding them. The user approves their query as drafted; this is policy applied on top.
//!
//! SQL: a query without a top-level `LIMIT` gets one appended (on its own line, so a trailing `--` comment
//! cannot swallow it); a literal `LIMIT` above the maximum is lowered in place; anything else (`FETCH`, an
//! expression, `OFFSET` alone) is wrapped as `SELECT * FROM (...) LIMIT n`. Mongo: `find` gets `limit`,
//! `aggregate` a final `$limit` stage.

use polystoreiq_protocol::mongo::{self, Operation};
use polystoreiq_protocol::types::Engine;
use sqlparser::ast::{Expr, LimitClause, Statement, Value};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Location, Token, Tokenizer};

use super::{Code, Verdict, sql};

/// `query` (already allowed by the guardrail) rewritten to return at most `max_rows` rows.
pub fn limited(engine: Engine, query: &str, max_rows: u64) -> Result<String, Verdict> {
    match engine {
        Engine::Mongodb => mongo(query, max_rows),
        _ => sql_limited(engine, query, max_rows),
    }
}

fn sql_limited(engine: Engine, query: &str, max_rows: u64) -> Result<String, Verdict> {
    // Engine syntax sqlparser does not know (`FROM ONLY t`, `TABLE t`, DuckDB's `USING SAMPLE`) is read as the
    // guard reads it; those statements have no spans, so a LIMIT over the maximum is wrapped, not lowered.
    let (statements, spans) = match Parser::parse_sql(sql::dialect(engine), query) {
        Ok(statements) => (statements, true),
        Err(_) => (sql::parse_normalized(engine, query)?, false),
    };
    let [Statement::Query(parsed)] = statements.as_slice() else {
        return Err(Verdict::deny(Code::NotAQuery, "only a single query can be limited"));
    };
    let body = without_trailing_semicolons(engine, query);
    let wrapped = || format!("SELECT * FROM (\n{body}\n) AS psiq_limited LIMIT {max_rows}");
    let literal = match (&parsed.limit_clause, &parsed.fetch) {
        (None, None) => return Ok(format!("{body}\nLIMIT {max_rows}")),
        (Some(LimitClause::LimitOffset { limit: Some(limit), limit_by, .. }), None) if limit_by.is_empty() => limit,
        (Some(LimitClause::OffsetCommaLimit { limit, .. }), None) => limit,
        _ => return Ok(wrapped()),
    };
    let Expr::Value(value) = literal else {
        return Ok(wrapped());
    };
    let Value::Number(text, _) = &value.value else {
        return Ok(wrapped());
    };
    match text.parse::<u64>() {
        Ok(n) if n <= max_rows => Ok(query.to_owned()),
        Ok(_) if !spans => Ok(wrapped()),
        Ok(_) => {
            // Lower the literal where it stands, if its position maps back onto exactly its text.
            let range = byte_offset(query, value.span.start).zip(byte_offset(query, value.span.end));
            match range {
                Some((start, end)) if query.get(start..end) == Some(text.as_str()) => {
                    Ok(format!("{}{max_rows}{}", &query[..start], &query[end..]))
                }
                _ => Ok(wrapped()),
            }
        }
        Err(_) => Ok(wrapped()),
    }
}

/// `query` without the semicolons (and the whitespace and comments around them) that lead or trail its one
/// statement, found by the tokenizer so a `;` inside a comment or string is left alone.
fn without_trailing_semicolons(engine: Engine, query: &str) -> &str {
    let Ok(tokens) = Tokenizer::new(sql::dialect(engine), query).tokenize_with_location() else {
        return query.trim();
    };
    let separator =
        |t: &&sqlparser::tokenizer::TokenWithSpan| matches!(t.token, Token::Whitespace(_) | Token::SemiColon);
    let start = tokens.iter().find(|t| !separator(t)).and_then(|t| byte_offset(query, t.span.start)).unwrap_or(0);
    let mut end = None;
    for token in tokens.iter().rev() {
        match token.token {
            Token::Whitespace(_) => {}
            Token::SemiColon => end = Some(token.span.start),
            _ => break,
        }
    }
    let end = end.and_then(|at| byte_offset(query, at)).unwrap_or(query.len());
    query.get(start..end.max(start)).unwrap_or(query).trim_end()
}

/// The byte offset of a 1-based line and character column.
fn byte_offset(text: &str, at: Location) -> Option<usize> {
    let line_start =
        if at.line <= 1 { 0 } else { text.match_indices('\n').nth(at.line as usize - 2).map(|(i, _)| i + 1)? };
    let column = at.column.checked_sub(1)? as usize;
    let line = &text[line_start..];
    match line.char_indices().nth(column) {
        Some((i, _)) => Some(line_start + i),
        None if line.chars().count() == column => Some(line_start + line.len()),
        None => None,
    }
}

fn mongo(query: &str, max_rows: u64) -> Result<String, Verdict> {
    let mut query = mongo::parse(query).map_err(super::mongo::refusal)?;
    match &mut query.operation {
        Operation::Find { limit, .. } => {
            // A limit of 0 means "no limit" to MongoDB.
            let current = limit.filter(|n| *n > 0);
            *limit = Some(current.map_or(max_rows, |n| n.min(max_rows)));
        }
        Operation::Aggregate { pipeline } => {
            let mut stage = serde_json::Map::new();
            stage.insert("$limit".into(), max_rows.into());
            pipeline.push(stage);
        }
        Operation::Count { .. } | Operation::Distinct { .. } => {}
    }
    Ok(query.to_json())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(q: &str) -> String {
        limited(Engine::Postgres, q, 1001).unwrap()
    }

    #[test]
    fn a_limit_is_added_lowered_or_wrapped() {
        assert_eq!(pg("SELECT a FROM t"), "SELECT a FROM t\nLIMIT 1001");
        assert_eq!(pg("SELECT a FROM t;  "), "SELECT a FROM t\nLIMIT 1001");
        assert_eq!(pg("SELECT a FROM t ; ;\n"), "SELECT a FROM t\nLIMIT 1001");
        assert_eq!(pg("SELECT a FROM t; -- bye"), "SELECT a FROM t\nLIMIT 1001");
        assert_eq!(pg(";; SELECT a FROM t"), "SELECT a FROM t\nLIMIT 1001");
        assert_eq!(pg("SELECT ';' AS a -- ;"), "SELECT ';' AS a -- ;\nLIMIT 1001");
        assert_eq!(pg("SELECT a FROM t -- note"), "SELECT a FROM t -- note\nLIMIT 1001");
        assert_eq!(pg("SELECT a FROM t LIMIT 10"), "SELECT a FROM t LIMIT 10");
        assert_eq!(
            pg("SELECT a FROM t\nORDER BY a LIMIT  50000 OFFSET 3"),
            "SELECT a FROM t\nORDER BY a LIMIT  1001 OFFSET 3"
        );
        assert_eq!(pg("SELECT 'é' AS x LIMIT 5000"), "SELECT 'é' AS x LIMIT 1001");
        assert_eq!(
            pg("SELECT a FROM t OFFSET 5"),
            "SELECT * FROM (\nSELECT a FROM t OFFSET 5\n) AS psiq_limited LIMIT 1001"
        );
        assert_eq!(
            pg("SELECT a FROM t FETCH FIRST 5000 ROWS ONLY"),
            "SELECT * FROM (\nSELECT a FROM t FETCH FIRST 5000 ROWS ONLY\n) AS psiq_limited LIMIT 1001"
        );
        assert_eq!(
            limited(Engine::Mysql, "SELECT a FROM t LIMIT 5, 9000", 1001).unwrap(),
            "SELECT a FROM t LIMIT 5, 1001"
        );
        // A limit inside a subquery is not the query's limit.
        assert_eq!(
            pg("SELECT * FROM (SELECT a FROM t LIMIT 5000) s"),
            "SELECT * FROM (SELECT a FROM t LIMIT 5000) s\nLIMIT 1001"
        );
    }

    #[test]
    fn every_rewrite_still_passes_the_guardrail() {
        for q in ["SELECT a FROM t -- x", "SELECT 1 UNION SELECT 2", "WITH c AS (SELECT 1) SELECT * FROM c LIMIT 99999"]
        {
            let rewritten = pg(q);
            assert!(super::super::Guardrail::new(Engine::Postgres).check(&rewritten).allowed(), "{rewritten}");
        }
    }

    #[test]
    fn mongo_finds_get_a_limit_and_pipelines_a_last_stage() {
        let find = mongo(r#"{"collection":"c","find":{},"limit":0}"#, 11).unwrap();
        assert_eq!(serde_json::from_str::<serde_json::Value>(&find).unwrap()["limit"], 11);
        let small = mongo(r#"{"collection":"c","find":{},"limit":3}"#, 11).unwrap();
        assert_eq!(serde_json::from_str::<serde_json::Value>(&small).unwrap()["limit"], 3);
        let agg = mongo(r#"{"collection":"c","aggregate":[{"$match":{}}]}"#, 11).unwrap();
        assert_eq!(serde_json::from_str::<serde_json::Value>(&agg).unwrap()["aggregate"][1]["$limit"], 11);
    }
}
