//! The guardrail corpus (`tests/corpus/guard.jsonl`): hostile and legitimate queries for every engine, each with
//! the verdict code the guardrail must give. Checked in-process, through `psiq guard` over standard input, and
//! again after the row-limit rewrite, which must never turn an allowed query into a refused or different one.

use std::collections::{BTreeMap, HashSet};

use polystoreiq_broker::guard::{Code, Guardrail, limited};
use polystoreiq_protocol::types::Engine;
use serde_json::Value;
use sqlparser::ast::Statement;
use sqlparser::dialect::{Dialect, DuckDbDialect, MySqlDialect, PostgreSqlDialect};
use sqlparser::parser::Parser;

use crate::support::Profile;

const CORPUS: &str = include_str!("../corpus/guard.jsonl");
const ENGINES: [Engine; 4] = [Engine::Postgres, Engine::Mysql, Engine::Duckdb, Engine::Mongodb];

/// One line of the corpus.
struct Case {
    line: usize,
    engine: Engine,
    expect: String,
    query: String,
    /// The query holds a line break, so it cannot be one line of `psiq guard`'s input.
    multiline: bool,
}

impl Case {
    fn hostile(&self) -> bool {
        self.expect != "ok"
    }
}

fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => "postgres",
        Engine::Mysql => "mysql",
        Engine::Duckdb => "duckdb",
        Engine::Mongodb => "mongodb",
    }
}

/// Every case of the corpus; panics, naming the line, on a malformed one.
fn corpus() -> Vec<Case> {
    let mut cases = Vec::new();
    for (index, text) in CORPUS.lines().enumerate() {
        let line = index + 1;
        if text.trim().is_empty() {
            continue;
        }
        let entry: Value = serde_json::from_str(text).unwrap_or_else(|err| panic!("corpus line {line}: {err}"));
        let map = entry.as_object().unwrap_or_else(|| panic!("corpus line {line} is not an object"));
        for key in map.keys() {
            let known = ["engine", "expect", "query", "why", "multiline"].contains(&key.as_str());
            assert!(known, "corpus line {line}: unknown key {key:?}");
        }
        let text_of = |key: &str| {
            map.get(key).and_then(Value::as_str).unwrap_or_else(|| panic!("corpus line {line}: no {key}")).to_owned()
        };
        let engine = serde_json::from_value(map["engine"].clone())
            .unwrap_or_else(|err| panic!("corpus line {line}: engine: {err}"));
        let query = text_of("query");
        let multiline = map.get("multiline").and_then(Value::as_bool).unwrap_or(false);
        assert!(!text_of("why").trim().is_empty(), "corpus line {line}: say why");
        assert_eq!(
            multiline,
            query.contains(['\n', '\r']),
            "corpus line {line}: mark a query \"multiline\": true exactly when it holds a line break"
        );
        cases.push(Case { line, engine, expect: text_of("expect"), query, multiline });
    }
    cases
}

fn dialect(engine: Engine) -> &'static dyn Dialect {
    match engine {
        Engine::Postgres => &PostgreSqlDialect {},
        Engine::Mysql => &MySqlDialect {},
        Engine::Duckdb | Engine::Mongodb => &DuckDbDialect {},
    }
}

#[test]
fn the_corpus_gets_the_right_verdict_from_every_engines_guardrail() {
    let cases = corpus();
    let codes: HashSet<&str> = Code::ALL.iter().map(|code| code.as_str()).collect();
    let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut seen = HashSet::new();
    let mut wrong = Vec::new();
    for case in &cases {
        assert!(codes.contains(case.expect.as_str()), "corpus line {}: no code {:?}", case.line, case.expect);
        assert!(seen.insert((engine_name(case.engine), case.query.as_str())), "corpus line {}: a duplicate", case.line);
        let (hostile, legitimate) = counts.entry(engine_name(case.engine)).or_default();
        *if case.hostile() { hostile } else { legitimate } += 1;
        let verdict = Guardrail::new(case.engine).check(&case.query);
        assert!(!verdict.reason.trim().is_empty(), "corpus line {}: a verdict without a reason", case.line);
        if verdict.code.as_str() != case.expect {
            wrong.push(format!(
                "line {} [{}] {:?}\n    expected {}, got {}: {}",
                case.line,
                engine_name(case.engine),
                case.query,
                case.expect,
                verdict.code.as_str(),
                verdict.reason
            ));
        }
    }
    let hostile: usize = counts.values().map(|c| c.0).sum();
    let legitimate: usize = counts.values().map(|c| c.1).sum();
    assert!(hostile >= 150, "only {hostile} hostile queries: {counts:?}");
    assert!(legitimate >= 100, "only {legitimate} legitimate queries: {counts:?}");
    for engine in ENGINES {
        let (hostile, legitimate) = counts.get(engine_name(engine)).copied().unwrap_or_default();
        assert!(hostile > 0 && legitimate > 0, "{}: {hostile} hostile, {legitimate} legitimate", engine_name(engine));
    }
    assert!(
        wrong.is_empty(),
        "{} of {} corpus queries got the wrong verdict:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}

#[test]
fn psiq_guard_prints_one_json_verdict_per_stdin_line() {
    let cases = corpus();
    let p = Profile::new();
    let mut wrong = Vec::new();
    for engine in ENGINES {
        let name = engine_name(engine);
        let cases: Vec<&Case> = cases.iter().filter(|c| c.engine == engine && !c.multiline).collect();
        let input: String = cases.iter().map(|c| format!("{}\n", c.query)).collect();
        let out = p.run_with_stdin(&["guard", "--engine", name], &input);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "psiq guard --engine {name} failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), cases.len(), "{name}: one verdict per query line:\n{stdout}");
        for (case, line) in cases.iter().zip(lines) {
            let verdict: Value =
                serde_json::from_str(line).unwrap_or_else(|err| panic!("{name}: not JSON ({err}): {line}"));
            let map = verdict.as_object().unwrap_or_else(|| panic!("{name}: not an object: {line}"));
            let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(keys, ["allowed", "code", "reason"], "{name}: {line}");
            let (Some(allowed), Some(code), Some(reason)) =
                (map["allowed"].as_bool(), map["code"].as_str(), map["reason"].as_str())
            else {
                panic!("{name}: allowed must be a bool, code and reason strings: {line}");
            };
            assert!(!reason.trim().is_empty(), "{name}: an empty reason: {line}");
            assert_eq!(allowed, code == "ok", "{name}: {line}");
            if code != case.expect {
                wrong.push(format!(
                    "line {} [{name}] {:?}\n    expected {}, got {line}",
                    case.line, case.query, case.expect
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "psiq guard gave {} wrong verdicts:\n{}", wrong.len(), wrong.join("\n"));
}

#[test]
fn every_allowed_query_is_still_one_allowed_query_once_limited() {
    let mut wrong = Vec::new();
    for case in corpus().iter().filter(|c| !c.hostile()) {
        let guardrail = Guardrail::new(case.engine);
        let rewritten = match limited(case.engine, &case.query, 1001) {
            Ok(rewritten) => rewritten,
            Err(verdict) => {
                wrong.push(format!("line {}: not limited: {} {}", case.line, verdict.code.as_str(), verdict.reason));
                continue;
            }
        };
        let verdict = guardrail.check(&rewritten);
        if !verdict.allowed() {
            wrong.push(format!("line {}: {rewritten:?} is refused: {}", case.line, verdict.reason));
        }
        if case.engine == Engine::Mongodb {
            match serde_json::from_str::<Value>(&rewritten) {
                Ok(doc) if !mongo_is_limited(&doc, 1001) => {
                    wrong.push(format!("line {}: {rewritten:?} is not limited to 1001 documents", case.line))
                }
                Ok(_) => {}
                Err(err) => wrong.push(format!("line {}: {rewritten:?} is not JSON: {err}", case.line)),
            }
            continue;
        }
        // Engine syntax sqlparser does not know (`FROM ONLY t`, `TABLE t`, DuckDB's `USING SAMPLE`) is read as the
        // guard documents it reads it (`guard::reading`); everything else as sqlparser alone reads it.
        let parsed = Parser::parse_sql(dialect(case.engine), &rewritten)
            .or_else(|err| polystoreiq_broker::guard::reading(case.engine, &rewritten).map_err(|_| err));
        match parsed {
            Ok(statements) if matches!(statements.as_slice(), [Statement::Query(_)]) => {}
            Ok(statements) => wrong.push(format!(
                "line {}: {rewritten:?} is {} statements, not one query",
                case.line,
                statements.len()
            )),
            Err(err) => wrong.push(format!("line {}: {rewritten:?} does not parse: {err}", case.line)),
        }
    }
    assert!(wrong.is_empty(), "the row limit broke {} allowed queries:\n{}", wrong.len(), wrong.join("\n"));
}

/// Whether a limited Mongo query returns at most `max` documents: a find's `limit`, an aggregate's last stage.
/// Counts and distincts return one document and are left alone.
fn mongo_is_limited(doc: &Value, max: u64) -> bool {
    if doc.get("find").is_some() {
        return doc["limit"].as_u64().is_some_and(|n| n > 0 && n <= max);
    }
    match doc.get("aggregate").and_then(Value::as_array).and_then(|stages| stages.last()) {
        Some(last) => last["$limit"].as_u64() == Some(max),
        None => doc.get("count").is_some() || doc.get("distinct").is_some(),
    }
}
