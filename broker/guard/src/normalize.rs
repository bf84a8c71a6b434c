//! The engine syntax sqlparser does not know, rewritten in the token stream into what it does, so the guard reads
//! a query as the engine will: `ONLY` before a relation, `TABLE name` as a statement or an operand, DuckDB's
//! sampling clauses. Each pass changes only what the engine's grammar allows there, and leaves anything else to
//! fail parsing as the engine fails it.

use polystoreiq_protocol::types::Engine;
use sqlparser::tokenizer::{Token, TokenWithSpan, Whitespace};

use super::{Code, Verdict};

/// Drops PostgreSQL's and DuckDB's `ONLY` before a relation (`FROM ONLY t`, `JOIN ONLY (t)`, `TABLE ONLY t`).
/// sqlparser knows no `ONLY` there and would read it as the table's name, with the real relation as its alias;
/// the engines read the relation itself (without inheritance children, which changes no permission). Only an
/// unquoted `ONLY` right after `FROM`, `JOIN`, `TABLE` or a comma, and before a name or a parenthesis, goes.
pub(super) fn strip_only(engine: Engine, mut tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    if !matches!(engine, Engine::Postgres | Engine::Duckdb) {
        return tokens;
    }
    let significant = |t: &TokenWithSpan| !matches!(t.token, Token::Whitespace(_));
    let is_only = |t: &TokenWithSpan| matches!(&t.token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("ONLY"));
    if !tokens.iter().any(is_only) {
        return tokens;
    }
    let mut drop = Vec::new();
    for at in 0..tokens.len() {
        if !is_only(&tokens[at]) {
            continue;
        }
        let before = tokens[..at].iter().rev().find(|t| significant(t)).map(|t| &t.token);
        let after = tokens[at + 1..].iter().find(|t| significant(t)).map(|t| &t.token);
        let opens = match before {
            Some(Token::Word(w)) if w.quote_style.is_none() => {
                ["FROM", "JOIN", "TABLE"].iter().any(|k| w.value.eq_ignore_ascii_case(k))
            }
            Some(Token::Comma) => true,
            _ => false,
        };
        if !opens {
            continue;
        }
        match after {
            Some(Token::Word(_)) => drop.push(at),
            // `ONLY (schema.name)`: the grammar allows only a name inside, so the parentheses go too.
            Some(Token::LParen) => {
                let open = at + 1 + tokens[at + 1..].iter().position(significant).unwrap_or_default();
                let close = tokens[open + 1..]
                    .iter()
                    .position(|t| !matches!(t.token, Token::Word(_) | Token::Period | Token::Whitespace(_)));
                if let Some(close) = close.map(|c| open + 1 + c)
                    && tokens[close].token == Token::RParen
                {
                    drop.extend([at, open, close]);
                }
            }
            _ => {}
        }
    }
    drop.sort_unstable();
    for at in drop.into_iter().rev() {
        tokens.remove(at);
    }
    tokens
}

/// `TABLE name` (PostgreSQL, DuckDB, MySQL 8) is `SELECT * FROM name`. sqlparser knows it only inside a set
/// operation, and there it takes whatever word follows the name as well (`TABLE t LIMIT 5` reads as `TABLE t`), so
/// the guard reads every `TABLE` that opens a statement or an operand in its long form, and only in the grammar's
/// own shape: a name (`schema.name` at most), then the end, `;`, `)`, or `ORDER BY`/`LIMIT`/`OFFSET`/`FETCH`/a
/// set operation. Any other `TABLE` there is refused.
pub(super) fn table_statement(mut tokens: Vec<TokenWithSpan>) -> Result<Vec<TokenWithSpan>, Verdict> {
    let significant: Vec<usize> =
        (0..tokens.len()).filter(|&i| !matches!(tokens[i].token, Token::Whitespace(_))).collect();
    let word = |i: usize, keywords: &[&str]| {
        matches!(&tokens[i].token, Token::Word(w) if w.quote_style.is_none()
            && keywords.iter().any(|k| w.value.eq_ignore_ascii_case(k)))
    };
    const OPENS: &[&str] = &["UNION", "INTERSECT", "EXCEPT", "ALL", "DISTINCT", "NAME"];
    const ENDS: &[&str] = &["ORDER", "LIMIT", "OFFSET", "FETCH", "UNION", "INTERSECT", "EXCEPT"];
    let mut rewrite = Vec::new();
    for (n, &i) in significant.iter().enumerate() {
        if !word(i, &["TABLE"]) {
            continue;
        }
        let opens = match n.checked_sub(1).map(|p| significant[p]) {
            None => true,
            // After `(`, a set operation, the `)` that closes a WITH list (`WITH c AS (...) TABLE t`), or a `;`.
            Some(p) => matches!(tokens[p].token, Token::LParen | Token::RParen | Token::SemiColon) || word(p, OPENS),
        };
        if !opens {
            continue;
        }
        let is_word = |k: usize| significant.get(k).is_some_and(|&t| matches!(tokens[t].token, Token::Word(_)));
        let mut at = n + 1;
        let mut shaped = is_word(at);
        at += 1;
        if significant.get(at).is_some_and(|&t| tokens[t].token == Token::Period) {
            shaped &= is_word(at + 1);
            at += 2;
        }
        shaped &= match significant.get(at) {
            None => true,
            Some(&t) => matches!(tokens[t].token, Token::SemiColon | Token::RParen) || word(t, ENDS),
        };
        if !shaped {
            return Err(Verdict::deny(
                Code::ParseError,
                "TABLE takes one table name (TABLE orders); write SELECT * FROM",
            ));
        }
        rewrite.push(i);
    }
    for i in rewrite.into_iter().rev() {
        let keyword = |text: &str| TokenWithSpan::wrap(Token::make_keyword(text));
        let space = || TokenWithSpan::wrap(Token::Whitespace(Whitespace::Space));
        tokens.splice(i..=i, [keyword("SELECT"), space(), TokenWithSpan::wrap(Token::Mul), space(), keyword("FROM")]);
    }
    Ok(tokens)
}

/// DuckDB's sampling clauses (`USING SAMPLE 10%`, `USING SAMPLE 10 PERCENT (bernoulli)`, `TABLESAMPLE 5%`,
/// `USING SAMPLE reservoir(50 ROWS) REPEATABLE (7)`), which sqlparser does not know. They hold only numbers, units
/// and method names, so the guard reads the query without them; a clause with anything else stays, and fails to
/// parse.
pub(super) fn strip_sample(engine: Engine, mut tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
    if engine != Engine::Duckdb {
        return tokens;
    }
    const CLAUSE: &[&str] = &["SAMPLE", "PERCENT", "ROWS", "BERNOULLI", "SYSTEM", "RESERVOIR", "REPEATABLE"];
    let word_is = |t: &Token, words: &[&str]| matches!(t, Token::Word(w) if w.quote_style.is_none() && words.iter().any(|k| w.value.eq_ignore_ascii_case(k)));
    let mut at = 0;
    while at < tokens.len() {
        let next_significant = |from: usize| {
            tokens[from..].iter().position(|t| !matches!(t.token, Token::Whitespace(_))).map(|p| from + p)
        };
        let start = at;
        let body = if word_is(&tokens[at].token, &["USING"])
            && next_significant(at + 1).is_some_and(|n| word_is(&tokens[n].token, &["SAMPLE"]))
        {
            next_significant(at + 1).map(|n| n + 1)
        } else if word_is(&tokens[at].token, &["TABLESAMPLE"]) {
            Some(at + 1)
        } else {
            None
        };
        // Only inside the one statement, after what a clause can follow (a table, an alias, an expression's end):
        // `SELECT only; USING SAMPLE 10%` is two statements to DuckDB.
        // (Looked at only where a clause begins: these scans are linear, and a long query has many tokens.)
        let in_statement = || {
            let follows =
                tokens[..start].iter().rev().find(|t| !matches!(t.token, Token::Whitespace(_))).map(|t| &t.token);
            // Semicolons before the statement's first token are empty statements, not an end.
            let begins = tokens.iter().position(|t| !matches!(t.token, Token::Whitespace(_) | Token::SemiColon));
            !tokens[begins.unwrap_or(start).min(start)..start].iter().any(|t| t.token == Token::SemiColon)
                && matches!(
                    follows,
                    Some(Token::Word(_) | Token::RParen | Token::Number(..) | Token::SingleQuotedString(_))
                )
        };
        let Some(mut end) = body.filter(|_| in_statement()) else {
            at += 1;
            continue;
        };
        let (mut depth, mut numbers) = (0usize, 0usize);
        while end < tokens.len() {
            match &tokens[end].token {
                Token::Whitespace(_) | Token::Mod => {}
                Token::Number(..) => numbers += 1,
                Token::LParen => depth += 1,
                Token::RParen if depth > 0 => depth -= 1,
                Token::Comma if depth > 0 => {}
                token if word_is(token, CLAUSE) => {}
                _ => break,
            }
            end += 1;
        }
        if numbers > 0 && depth == 0 {
            tokens.drain(start..end);
            tokens.insert(start, TokenWithSpan::wrap(Token::Whitespace(Whitespace::Space)));
        }
        at = start + 1;
    }
    tokens
}
