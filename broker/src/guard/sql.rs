//! The SQL guardrail: lexer checks, one parse, a walk of the tree.

use std::ops::ControlFlow;

use polystoreiq_protocol::types::Engine;
use sqlparser::ast::{
    BinaryOperator, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, ObjectName, Query, Select,
    SetExpr, Statement, TableFactor, TableWithJoins, UnaryOperator, Value, Visit, Visitor,
};
use sqlparser::dialect::{Dialect, DuckDbDialect, MySqlDialect, PostgreSqlDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, TokenizerError, Whitespace};

use super::allow::{self, FunctionList};
use super::functions::{self, FILE_READERS, HARMLESS_SETTINGS};
use super::plain;
use super::relations;
use super::{Code, Policy, Verdict};

/// The most rows a generator may produce, and the longest string a padding function may build, from literals.
const MAX_GENERATED_ROWS: f64 = 1e8;
const MAX_GENERATED_CHARS: f64 = 1e7;

pub(super) fn dialect(engine: Engine) -> &'static dyn Dialect {
    match engine {
        Engine::Postgres => &PostgreSqlDialect {},
        Engine::Mysql => &MySqlDialect {},
        Engine::Duckdb | Engine::Mongodb => &DuckDbDialect {},
    }
}

pub(super) fn check(engine: Engine, policy: &Policy, query: &str) -> Result<(), Verdict> {
    invisible_characters(query)?;
    if engine == Engine::Mysql && has_executable_comment(query) {
        return Err(Verdict::deny(
            Code::ExecutableComment,
            "MySQL acts on /*! ... */ comments (runs them as SQL) and /*+ ... */ hints; remove the comment",
        ));
    }
    let dialect = dialect(engine);
    // One tokenization serves the lexer checks and the parser: the fast path for plain queries, else sqlparser's.
    let tokens = match plain::tokenize(query) {
        Some(tokens) => {
            debug_assert_eq!(
                Some(&tokens),
                tokenize(dialect, query).as_ref().ok(),
                "the fast tokenizer disagrees with sqlparser's on {query:?}"
            );
            tokens
        }
        None => tokenize(dialect, query)
            .map_err(|err| Verdict::deny(Code::ParseError, format!("the query does not parse: {err}")))?,
    };
    lexical(engine, &tokens)?;
    let tokens = strip_sample(engine, table_statement(strip_only(engine, tokens))?);
    let leading: Vec<String> = words(&tokens).take(5).collect();
    if let Some(code) = statement_code(engine, &leading) {
        return Err(Verdict::deny(code, statement_reason(code)));
    }
    let statements = Parser::new(dialect)
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(|err| Verdict::deny(Code::ParseError, format!("the query does not parse: {err}")))?;
    let query = match statements.as_slice() {
        [] => return Err(Verdict::deny(Code::Empty, "there is no query")),
        [Statement::Query(query)] => query,
        [_] => return Err(Verdict::deny(Code::NotAQuery, statement_reason(Code::NotAQuery))),
        _ => return Err(Verdict::deny(Code::MultipleStatements, "exactly one statement may run at a time")),
    };
    let mut walker = Walker { engine, policy, functions: allow::functions(engine), scopes: Vec::new() };
    match query.visit(&mut walker) {
        ControlFlow::Break(verdict) => Err(verdict),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// The statements of `query` as the guard reads them: tokenized in `engine`'s dialect, with the engine syntax
/// sqlparser does not know rewritten (`ONLY`, a whole-statement `TABLE`, DuckDB's sampling clauses). Spans are
/// empty. For the row-limit rewrite, when sqlparser alone cannot parse the text.
pub fn parse_normalized(engine: Engine, query: &str) -> Result<Vec<Statement>, Verdict> {
    let parse_error = |err: String| Verdict::deny(Code::ParseError, format!("the query does not parse: {err}"));
    let tokens = tokenize(dialect(engine), query).map_err(|err| parse_error(err.to_string()))?;
    let tokens = strip_sample(engine, table_statement(strip_only(engine, tokens))?);
    Parser::new(dialect(engine))
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(|err| parse_error(err.to_string()))
}

/// sqlparser's tokens for `query`, in the form its parser keeps them (`TokenWithSpan`, so the parser makes no
/// copy of the stream). The spans are left empty: the parser formats a location into every error it builds, and
/// it builds (then drops) several per expression while it tries alternatives, which is measurable on a long
/// query. Refusal messages never carried a location.
pub(super) fn tokenize(dialect: &dyn Dialect, query: &str) -> Result<Vec<TokenWithSpan>, TokenizerError> {
    let mut tokens = Vec::with_capacity(query.len() / 3);
    Tokenizer::new(dialect, query)
        .tokenize_with_location_into_buf_with_mapper(&mut tokens, |token| TokenWithSpan::wrap(token.token))?;
    Ok(tokens)
}

/// Drops PostgreSQL's and DuckDB's `ONLY` before a relation (`FROM ONLY t`, `JOIN ONLY (t)`, `TABLE ONLY t`).
/// sqlparser knows no `ONLY` there and would read it as the table's name, with the real relation as its alias;
/// the engines read the relation itself (without inheritance children, which changes no permission). Only an
/// unquoted `ONLY` right after `FROM`, `JOIN`, `TABLE` or a comma, and before a name or a parenthesis, goes.
fn strip_only(engine: Engine, mut tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
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
fn table_statement(mut tokens: Vec<TokenWithSpan>) -> Result<Vec<TokenWithSpan>, Verdict> {
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
fn strip_sample(engine: Engine, mut tokens: Vec<TokenWithSpan>) -> Vec<TokenWithSpan> {
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

/// Bidirectional controls, zero-width and other invisible characters: legitimate SQL has none, and they are how
/// text that reads as one query is made to parse as another ("Trojan Source").
fn invisible_characters(query: &str) -> Result<(), Verdict> {
    // Every character below is outside ASCII, and `is_ascii` checks a word at a time.
    if query.is_ascii() {
        return Ok(());
    }
    let invisible = |c: char| {
        matches!(c, '\u{00A0}' | '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{180E}')
            || ('\u{200B}'..='\u{200F}').contains(&c)
            || ('\u{2028}'..='\u{202F}').contains(&c)
            || ('\u{2060}'..='\u{206F}').contains(&c)
            || c == '\u{FEFF}'
            || ('\u{FFF0}'..='\u{FFFB}').contains(&c)
    };
    match query.char_indices().find(|(_, c)| invisible(*c)) {
        Some((at, c)) => Err(Verdict::deny(
            Code::Lookalike,
            format!("the query holds an invisible character U+{:04X} at byte {at}; retype it", c as u32),
        )),
        None => Ok(()),
    }
}

/// Whether MySQL would find a `/*! ... */` or `/*M! ... */` comment (which it runs as SQL) or a `/*+ ... */`
/// optimizer hint (which it obeys) in `query`. Scanned on
/// the raw text, outside string literals and quoted identifiers, because sqlparser's MySQL tokenizer unwraps such
/// comments into ordinary tokens (pinned by a test), so the token stream no longer shows them.
fn has_executable_comment(query: &str) -> bool {
    let bytes = query.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    // Backslash escapes in strings; a doubled quote is two literals back to back, same result.
                    i += if bytes[i] == b'\\' && quote != b'`' { 2 } else { 1 };
                }
                i += 1;
            }
            b'#' => i = skip_line(bytes, i),
            b'-' if bytes.get(i + 1) == Some(&b'-') && bytes.get(i + 2).is_none_or(|c| c.is_ascii_whitespace()) => {
                i = skip_line(bytes, i)
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let rest = &bytes[i + 2..];
                // `/*+ ... */` optimizer hints also act (MAX_EXECUTION_TIME lifts the time limit).
                if rest.starts_with(b"!") || rest.starts_with(b"M!") || rest.starts_with(b"+") {
                    return true;
                }
                i = match query[i + 2..].find("*/") {
                    Some(end) => i + 2 + end + 2,
                    None => bytes.len(),
                };
            }
            _ => i += 1,
        }
    }
    false
}

fn skip_line(bytes: &[u8], from: usize) -> usize {
    bytes[from..].iter().position(|b| *b == b'\n').map_or(bytes.len(), |p| from + p + 1)
}

/// Checks made on tokens, before (and independent of) the parser's reading of them.
fn lexical(engine: Engine, tokens: &[TokenWithSpan]) -> Result<(), Verdict> {
    let token_at = |at: usize| tokens.get(at).map(|t| &t.token);
    for (at, token) in tokens.iter().enumerate() {
        match &token.token {
            Token::Whitespace(Whitespace::MultiLineComment(text)) => {
                // MySQL and MariaDB run the text of `/*! ... */` and `/*M! ... */` as SQL.
                if engine == Engine::Mysql && (text.starts_with('!') || text.starts_with("M!")) {
                    return Err(Verdict::deny(
                        Code::ExecutableComment,
                        "MySQL runs the inside of /*! ... */ comments as SQL; remove the comment",
                    ));
                }
                // MySQL (and MariaDB 12) act on `/*+ ... */` optimizer hints, which can lift the query's time limit
                // (`MAX_EXECUTION_TIME(0)`) or change settings for it (`SET_VAR(...)`).
                if engine == Engine::Mysql && text.starts_with('+') {
                    return Err(Verdict::deny(
                        Code::ExecutableComment,
                        "MySQL acts on /*+ ... */ optimizer hints (they can lift the time limit); remove the hint",
                    ));
                }
                if text.contains("/*") {
                    return Err(Verdict::deny(
                        Code::CommentTrick,
                        "nested comments are read differently by different engines; remove them",
                    ));
                }
            }
            // MySQL reads `--x` as two minus signs, not a comment: the guardrail and the server would disagree.
            Token::Whitespace(Whitespace::SingleLineComment { comment, prefix })
                if engine == Engine::Mysql
                    && prefix == "--"
                    && !comment.is_empty()
                    && !comment.starts_with(|c: char| c.is_whitespace()) =>
            {
                return Err(Verdict::deny(
                    Code::CommentTrick,
                    "in MySQL `--` starts a comment only when a space follows; write `-- ` or remove it",
                ));
            }
            Token::Word(word) if word.quote_style.is_none() => {
                let is = |keyword: &str| word.value.eq_ignore_ascii_case(keyword);
                if is("OUTFILE") || is("DUMPFILE") {
                    return Err(Verdict::deny(Code::IntoOutfile, "writing query results to a file is not allowed"));
                }
                // PostgreSQL reads `U&"pg_sl\0065ep"` as the identifier pg_sleep; the tokenizer sees `U & "..."`.
                let unicode_identifier = matches!(
                    (token_at(at + 1), token_at(at + 2)),
                    (Some(Token::Ampersand), Some(Token::Word(quoted))) if quoted.quote_style == Some('"')
                );
                if engine == Engine::Postgres && is("U") && unicode_identifier {
                    return Err(Verdict::deny(
                        Code::Lookalike,
                        "U&\"...\" spells an identifier with escape codes, which can disguise a name; write it plainly",
                    ));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn words(tokens: &[TokenWithSpan]) -> impl Iterator<Item = String> + '_ {
    let tokens = tokens.iter().map(|t| &t.token);
    tokens.filter(|t| !matches!(t, Token::Whitespace(_) | Token::LParen)).map_while(|t| match t {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_ascii_uppercase()),
        _ => None,
    })
}

/// The refusal a statement's leading keyword earns, before parsing: stable whatever the parser makes of the
/// rest (some of these it cannot parse at all).
fn statement_code(engine: Engine, leading: &[String]) -> Option<Code> {
    let first = leading.first()?.as_str();
    Some(match first {
        "SELECT" | "WITH" | "VALUES" | "FROM" => return None,
        "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "REPLACE" | "UPSERT" => Code::Write,
        "CREATE" if creates_secret(leading) => Code::Secret,
        "CREATE" | "DROP" | "ALTER" | "TRUNCATE" | "RENAME" | "COMMENT" | "GRANT" | "REVOKE" | "REINDEX"
        | "CLUSTER" | "REFRESH" | "SECURITY" | "IMPORT" => Code::Ddl,
        "BEGIN" | "START" | "COMMIT" | "ROLLBACK" | "SAVEPOINT" | "RELEASE" | "END" | "ABORT" | "XA" => {
            Code::Transaction
        }
        "EXPLAIN" => Code::Explain,
        "PREPARE" | "EXECUTE" | "DEALLOCATE" | "EXEC" => Code::Prepare,
        "COPY" => Code::Copy,
        "SET" | "RESET" | "USE" | "DISCARD" => Code::Set,
        "LOCK" | "UNLOCK" => Code::Lock,
        "LISTEN" | "NOTIFY" | "UNLISTEN" => Code::ListenNotify,
        "CALL" => Code::Call,
        "DO" => Code::Do,
        "HANDLER" => Code::Handler,
        "ATTACH" | "DETACH" => Code::Attach,
        "LOAD" if engine == Engine::Mysql => Code::FileAccess,
        "INSTALL" | "LOAD" | "FORCE" => Code::Extension,
        "PRAGMA" => Code::Pragma,
        "EXPORT" => Code::Export,
        "VACUUM" | "CHECKPOINT" | "ANALYZE" | "ANALYSE" | "KILL" | "SHUTDOWN" | "FLUSH" | "PURGE" | "OPTIMIZE"
        | "REPAIR" | "CHECK" | "CHECKSUM" | "REASSIGN" | "UNINSTALL" | "BINLOG" | "CACHE" => Code::Admin,
        _ => return None,
    })
}

/// `CREATE [OR REPLACE] [PERSISTENT | TEMPORARY] SECRET` (DuckDB), told apart from `CREATE TABLE secret`.
fn creates_secret(leading: &[String]) -> bool {
    let modifiers = ["OR", "REPLACE", "PERSISTENT", "TEMPORARY", "TEMP"];
    leading.iter().skip(1).find(|w| !modifiers.contains(&w.as_str())).is_some_and(|w| w == "SECRET")
}

fn statement_reason(code: Code) -> &'static str {
    match code {
        Code::Write => "only queries may run: this statement changes data",
        Code::Ddl => "only queries may run: this statement changes the schema or privileges",
        Code::Secret => "creating secrets is not allowed",
        Code::Transaction => "transaction control is not allowed; every query runs in its own read-only transaction",
        Code::Explain => "EXPLAIN is not allowed (EXPLAIN ANALYZE runs the statement); the app checks drafts itself",
        Code::Prepare => "prepared statements are not allowed; send the query itself",
        Code::Copy => "COPY reads or writes files and is not allowed",
        Code::Set => "changing session settings is not allowed",
        Code::Lock => "locking tables is not allowed",
        Code::ListenNotify => "LISTEN/NOTIFY is not allowed",
        Code::Call => "calling procedures is not allowed",
        Code::Do => "anonymous code blocks are not allowed",
        Code::Handler => "MySQL HANDLER statements are not allowed",
        Code::Attach => "attaching or switching databases is not allowed",
        Code::Extension => "installing or loading extensions is not allowed",
        Code::Pragma => "PRAGMA statements are not allowed",
        Code::Export => "exporting or importing databases is not allowed",
        Code::Admin => "administrative statements are not allowed",
        Code::FileAccess => "loading data from files is not allowed",
        _ => "only queries (SELECT, WITH, VALUES) may run",
    }
}

/// Walks the parsed query; breaks with the first refusal.
struct Walker<'a> {
    engine: Engine,
    policy: &'a Policy,
    functions: &'static FunctionList,
    /// One frame per query being walked, innermost last: which CTE names its relations may mean.
    scopes: Vec<Scope>,
}

/// The CTE names visible inside one query. A CTE's body sees the CTEs before it (and itself, under `RECURSIVE`),
/// never the ones after it, and a CTE of a subquery is never visible outside that subquery: a name that is not
/// in scope is a relation, and is judged as one (`WITH pg_shadow AS (SELECT * FROM pg_shadow) ...` reads the
/// catalog in its body).
struct Scope {
    /// The query this frame belongs to (compared by address only; the tree outlives the walk).
    query: *const Query,
    /// The names visible from enclosing queries.
    inherited: Vec<String>,
    /// This query's own CTEs, in order, with their bodies' addresses.
    ctes: Vec<(String, *const Query)>,
    recursive: bool,
}

impl Scope {
    fn visible(&self, name: &str) -> bool {
        self.inherited.iter().any(|n| n == name) || self.ctes.iter().any(|(n, _)| n == name)
    }
}

impl Visitor for Walker<'_> {
    type Break = Verdict;

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<Verdict> {
        self.enter(query);
        if !query.locks.is_empty() {
            return deny(Code::LockingClause, "locking clauses (FOR UPDATE, FOR SHARE) are not allowed");
        }
        if query.for_clause.is_some()
            || query.settings.is_some()
            || query.format_clause.is_some()
            || !query.pipe_operators.is_empty()
        {
            return deny(Code::UnsupportedSyntax, "this query uses syntax of another database; rewrite it");
        }
        writes_in(&query.body)?;
        self.table_commands(&query.body)
    }

    fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<Verdict> {
        self.scopes.pop();
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<Verdict> {
        if select.into.is_some() {
            return deny(Code::SelectInto, "SELECT INTO creates a table or sets variables; select the rows instead");
        }
        generated_product(&select.from)
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<Verdict> {
        match factor {
            TableFactor::Table { name, args: Some(args), .. } => self.table_function(name, &args.args),
            TableFactor::Table { name, args: None, .. } => self.relation(name),
            TableFactor::Function { name, args, .. } => self.table_function(name, args),
            _ => ControlFlow::Continue(()),
        }
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<Verdict> {
        match expr {
            Expr::Function(function) => self.function(function),
            Expr::Identifier(ident) => system_variable(std::slice::from_ref(ident)),
            Expr::CompoundIdentifier(idents) => system_variable(idents),
            _ => ControlFlow::Continue(()),
        }
    }
}

impl Walker<'_> {
    /// Opens `query`'s scope: what its parent lets it see, and its own CTEs.
    fn enter(&mut self, query: &Query) {
        let here: *const Query = query;
        let inherited = match self.scopes.last() {
            None => Vec::new(),
            Some(parent) => {
                let mut names = parent.inherited.clone();
                match parent.ctes.iter().position(|(_, body)| std::ptr::eq(*body, here)) {
                    // The body of the parent's CTE number `at`: the CTEs before it, and itself if recursive.
                    Some(at) => {
                        let seen = if parent.recursive { at + 1 } else { at };
                        names.extend(parent.ctes[..seen].iter().map(|(name, _)| name.clone()));
                    }
                    None if std::ptr::eq(parent.query, here) => {}
                    None => names.extend(parent.ctes.iter().map(|(name, _)| name.clone())),
                }
                names
            }
        };
        let (ctes, recursive) = match &query.with {
            Some(with) => (
                with.cte_tables
                    .iter()
                    .map(|cte| (folded(self.engine, &cte.alias.name), &*cte.query as *const Query))
                    .collect(),
                with.recursive,
            ),
            None => (Vec::new(), false),
        };
        self.scopes.push(Scope { query: here, inherited, ctes, recursive });
    }

    fn cte_in_scope(&self, name: &str) -> bool {
        self.scopes.last().is_some_and(|scope| scope.visible(name))
    }

    /// A function call in an expression: a listed built-in, or a function the source's owner listed.
    fn function(&self, function: &Function) -> ControlFlow<Verdict> {
        let args = match &function.args {
            FunctionArguments::List(list) => list.args.as_slice(),
            _ => &[],
        };
        // `current_setting` is not listed: it may read only the formatting and version settings.
        if function.name.0.len() == 1 && function_name(&function.name)? == "current_setting" {
            let setting = literal_strings(args).first().map(|s| s.to_ascii_lowercase());
            if setting.as_deref().is_some_and(|s| HARMLESS_SETTINGS.contains(&s)) {
                return ControlFlow::Continue(());
            }
            return deny(Code::Environment, function_reason(Code::Environment, "current_setting"));
        }
        let name = self.callable(&function.name, &self.functions.scalar)?;
        resource_abuse(self.engine, &name, args)
    }

    fn table_function(&self, name: &ObjectName, args: &[FunctionArg]) -> ControlFlow<Verdict> {
        let lower = function_name(name)?;
        let paths = literal_strings(args);
        if let Some(url) = paths.iter().find(|p| is_url(p)) {
            return deny(Code::NetworkAccess, format!("{lower} would reach the network ({url}); not allowed"));
        }
        if name.0.len() == 1 && FILE_READERS.contains(&lower.as_str()) {
            let own = positional_paths(args).is_some_and(|paths| {
                !paths.is_empty() && paths.iter().all(|p| self.policy.source_paths.iter().any(|s| s == p))
            });
            if own {
                return ControlFlow::Continue(());
            }
            return deny(
                Code::FileAccess,
                format!("{lower} may read only this source's own files; query the source's tables instead"),
            );
        }
        let lower = self.callable(name, &self.functions.table)?;
        resource_abuse(self.engine, &lower, args)
    }

    /// The lower-case name of a function `name` may call, if it may: a built-in on `listed` (unqualified, or
    /// qualified with the engine's own schema), or a user-defined function the source's owner listed. A refusal
    /// names the function and, where its family is known, what it would do.
    fn callable(
        &self,
        name: &ObjectName,
        listed: &std::collections::HashSet<&'static str>,
    ) -> ControlFlow<Verdict, String> {
        let last = function_name(name)?;
        // As the engine compares names: a quoted `"LOWER"` is not PostgreSQL's `lower`, nor `"SALES".f` the
        // owner's `sales.f`. Function names themselves are case-insensitive in MySQL and DuckDB.
        let parts: Vec<String> = name
            .0
            .iter()
            .map(|part| part.as_ident().map_or_else(|| part.to_string(), |ident| folded(self.engine, ident)))
            .collect();
        let full = parts.join(".");
        let exact_last = parts.last().cloned().unwrap_or_default();
        let last_folded = if self.engine == Engine::Postgres { exact_last } else { last.clone() };
        if self
            .policy
            .functions
            .iter()
            .any(|own| *own == full || (self.engine != Engine::Postgres && own.eq_ignore_ascii_case(&full)))
        {
            return ControlFlow::Continue(last);
        }
        if last_folded != last {
            return ControlFlow::Break(Verdict::deny(
                Code::FunctionNotAllowed,
                format!("{full}() is quoted with capitals, so it is not the built-in {last}(); write it unquoted"),
            ));
        }
        let builtin_schema = match parts.as_slice() {
            [_] => true,
            [schema, _] => match self.engine {
                Engine::Postgres => schema == "pg_catalog",
                Engine::Mysql => false,
                Engine::Duckdb | Engine::Mongodb => schema == "main",
            },
            _ => false,
        };
        if builtin_schema && (listed.contains(last.as_str()) || self.functions.syntax.contains(last.as_str())) {
            return ControlFlow::Continue(last);
        }
        let code = functions::denied(&last).unwrap_or(Code::FunctionNotAllowed);
        ControlFlow::Break(Verdict::deny(code, function_reason(code, &full)))
    }

    /// `TABLE name` as an operand of a set operation (`SELECT 1 UNION TABLE pg_authid`). The parser keeps its name
    /// as text, not as a relation, so the visitor never reaches it.
    fn table_commands(&self, body: &SetExpr) -> ControlFlow<Verdict> {
        match body {
            SetExpr::Table(table) => {
                let parts = [&table.schema_name, &table.table_name].into_iter().flatten();
                self.relation(&ObjectName::from(parts.map(|part| Ident::new(part.as_str())).collect::<Vec<_>>()))
            }
            SetExpr::SetOperation { left, right, .. } => {
                self.table_commands(left)?;
                self.table_commands(right)
            }
            _ => ControlFlow::Continue(()),
        }
    }

    /// A table name: the source's own relation or an allowed catalog view (see [`relations`]), and (DuckDB reads
    /// a file named in place of a table) no paths but the source's own.
    fn relation(&self, name: &ObjectName) -> ControlFlow<Verdict> {
        let mut idents = Vec::with_capacity(name.0.len());
        for part in &name.0 {
            match part.as_ident() {
                Some(ident) => idents.push(ident),
                None => return deny(Code::RelationNotAllowed, format!("{name} is not a plain table name")),
            }
        }
        for ident in &idents {
            let text = &ident.value;
            // PostgreSQL and DuckDB reserve ONLY: as a bare table name it is what `strip_only` left because nothing
            // followed it, and the engine would not read it as a table.
            if matches!(self.engine, Engine::Postgres | Engine::Duckdb)
                && ident.quote_style.is_none()
                && text.eq_ignore_ascii_case("ONLY")
            {
                return deny(Code::ParseError, "ONLY must be followed by a table name");
            }
            if is_url(text) {
                return deny(Code::NetworkAccess, format!("{text} would reach the network; not allowed"));
            }
            if ident.quote_style == Some('\'') || text.contains('/') || text.contains('\\') || has_file_suffix(text) {
                if idents.len() == 1 && self.policy.source_paths.iter().any(|p| p == text) {
                    return ControlFlow::Continue(());
                }
                return deny(Code::FileAccess, format!("{text} names a file; query the source's tables instead"));
            }
        }
        // CTE names compare as the engine compares them (a quoted `"PG_AUTHID"` CTE does not hide `pg_authid`).
        let folded_parts: Vec<String> = idents.iter().map(|ident| folded(self.engine, ident)).collect();
        if let [name] = folded_parts.as_slice()
            && self.cte_in_scope(name)
        {
            return ControlFlow::Continue(());
        }
        let lower: Vec<String> = idents.iter().map(|ident| ident.value.to_lowercase()).collect();
        if functions::sensitive_relation(&lower) {
            return deny(Code::SensitiveCatalog, format!("{name} holds credentials or server settings"));
        }
        relations::check(self.engine, self.policy, &folded_parts, |_| false)
    }
}

/// A name as the engine compares it: PostgreSQL folds an unquoted name to lower case and keeps a quoted one as
/// written; DuckDB ignores case; MySQL keeps the text (its database and table names are case-sensitive on Linux).
fn folded(engine: Engine, ident: &Ident) -> String {
    match engine {
        Engine::Postgres if ident.quote_style.is_some() => ident.value.clone(),
        Engine::Mysql => ident.value.clone(),
        _ => ident.value.to_lowercase(),
    }
}

fn deny(code: Code, reason: impl Into<String>) -> ControlFlow<Verdict> {
    ControlFlow::Break(Verdict::deny(code, reason))
}

/// A function's unqualified name in lower case; a name with characters outside ASCII is refused, since
/// look-alike letters make a denied function read as an allowed one.
fn function_name(name: &ObjectName) -> ControlFlow<Verdict, String> {
    let last = name.0.last().and_then(|part| part.as_ident()).map(|ident| ident.value.as_str()).unwrap_or_default();
    if !last.is_ascii() {
        return ControlFlow::Break(Verdict::deny(
            Code::Lookalike,
            format!("the function name {last:?} has characters outside ASCII; retype it"),
        ));
    }
    ControlFlow::Continue(last.to_ascii_lowercase())
}

fn function_reason(code: Code, name: &str) -> String {
    let what = match code {
        Code::FileAccess => "reads or writes files",
        Code::NetworkAccess => "reaches other servers",
        Code::AdminFunction => "administers the server",
        Code::SleepOrLock => "sleeps, waits or takes locks",
        Code::Sequence => "advances a sequence (a write)",
        Code::Environment => "reads the environment or server settings",
        Code::DynamicSql => "runs SQL text out of the guardrail's sight",
        Code::Secret => "reads stored credentials",
        Code::SensitiveCatalog => "reads other sessions, credentials, settings or the engine's own catalog",
        Code::ListenNotify => "sends notifications",
        _ => {
            return format!(
                "{name}() is not one of the built-in functions a drafted query may call; if it is a function of \
                 your own, the source's owner can allow it with `psiq source functions SOURCE --allow {name}`"
            );
        }
    };
    format!("{name}() {what}; it is not allowed in a drafted query")
}

/// MySQL's `@@name`, `@@global.name` and `@@session.name`: server settings, paths among them (`@@datadir`,
/// `@@secure_file_priv`), read like `current_setting` and with the same harmless exceptions.
fn system_variable(idents: &[Ident]) -> ControlFlow<Verdict> {
    let (Some(first), Some(last)) = (idents.first(), idents.last()) else {
        return ControlFlow::Continue(());
    };
    if first.quote_style.is_some() || !first.value.starts_with("@@") {
        return ControlFlow::Continue(());
    }
    let name = last.value.trim_start_matches('@').to_ascii_lowercase();
    if HARMLESS_SETTINGS.contains(&name.as_str()) {
        return ControlFlow::Continue(());
    }
    deny(Code::Environment, format!("@@{name} reads the server's settings; it is not allowed in a drafted query"))
}

/// A data-modifying statement nested inside a query (PostgreSQL's writable CTEs).
fn writes_in(body: &SetExpr) -> ControlFlow<Verdict> {
    match body {
        SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_) => deny(
            Code::WritableCte,
            "the query holds a data-modifying statement (INSERT/UPDATE/DELETE/MERGE); only reads may run",
        ),
        SetExpr::SetOperation { left, right, .. } => {
            writes_in(left)?;
            writes_in(right)
        }
        _ => ControlFlow::Continue(()),
    }
}

/// Generators and padding functions asked, in constants, for more than a query could sensibly need. The sizes
/// are folded from literals through arithmetic, `power`, casts and nested padding (`repeat(repeat('x', 1e7),
/// 100)` builds 1e9 characters).
fn resource_abuse(engine: Engine, name: &str, args: &[FunctionArg]) -> ControlFlow<Verdict> {
    let exprs: Vec<&Expr> = arg_exprs(args).collect();
    let abusive = match name {
        "generate_series" | "range" => generated_rows(engine, name, args).is_some_and(|rows| rows > MAX_GENERATED_ROWS),
        "repeat" | "lpad" | "rpad" | "space" => {
            let call_chars = text_length(engine, name, &exprs);
            call_chars.is_some_and(|n| n > MAX_GENERATED_CHARS)
        }
        "repeat_row" => exprs.iter().skip(1).filter_map(|e| number(engine, e)).any(|n| n > MAX_GENERATED_ROWS),
        // DuckDB lists sized to a count: as many elements as a generator's rows.
        "list_resize" | "array_resize" => {
            exprs.get(1).and_then(|e| number(engine, e)).is_some_and(|n| n > MAX_GENERATED_ROWS)
        }
        _ => false,
    };
    if abusive {
        return deny(Code::ResourceAbuse, format!("{name}() is asked for more than the app allows in one query"));
    }
    ControlFlow::Continue(())
}

/// The rows a generator call makes, when its arguments are constants.
fn generated_rows(engine: Engine, name: &str, args: &[FunctionArg]) -> Option<f64> {
    if !matches!(name, "generate_series" | "range") {
        return None;
    }
    let exprs: Vec<&Expr> = arg_exprs(args).collect();
    match exprs.iter().map(|e| number(engine, e)).collect::<Option<Vec<f64>>>().as_deref() {
        Some([stop]) => Some(stop.abs()),
        Some([start, stop]) => Some((stop - start).abs()),
        Some([start, stop, step]) if *step != 0.0 => Some(((stop - start) / step).abs()),
        Some([_, _, _]) => Some(f64::INFINITY),
        // A series of timestamps: the span over the step, both in seconds.
        _ => match exprs.as_slice() {
            [start, stop, step] => match (instant(start), instant(stop), interval_seconds(step)) {
                (Some(start), Some(stop), Some(step)) if step != 0.0 => Some(((stop - start) / step).abs()),
                _ => None,
            },
            _ => None,
        },
    }
}

/// The length of the text a padding call builds, when it is known from constants: `repeat(s, n)` is `n` times
/// `s`, `lpad`/`rpad(s, n, ..)` is `n`, `space(n)` is `n`.
fn text_length(engine: Engine, name: &str, exprs: &[&Expr]) -> Option<f64> {
    match (name, exprs) {
        ("repeat", [text, count, ..]) => Some(string_length(engine, text).unwrap_or(1.0) * number(engine, count)?),
        ("lpad" | "rpad", [_, count, ..]) => number(engine, count),
        ("space", [count]) => number(engine, count),
        _ => None,
    }
}

/// The length of a string expression built from literals and padding calls.
fn string_length(engine: Engine, expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Value(v) => Some(v.value.clone().into_string()?.chars().count() as f64),
        Expr::Nested(inner) => string_length(engine, inner),
        Expr::Function(function) => {
            let name = function.name.0.last()?.as_ident()?.value.to_ascii_lowercase();
            let FunctionArguments::List(list) = &function.args else { return None };
            let exprs: Vec<&Expr> = arg_exprs(&list.args).collect();
            text_length(engine, &name, &exprs)
        }
        _ => None,
    }
}

/// Generators joined in one `FROM` multiply: `generate_series(1, 1e5) a, generate_series(1, 1e5) b,
/// generate_series(1, 1e5) c` is 1e15 rows, though each alone is small. A derived table counts as the rows its own
/// generators make (`(SELECT * FROM range(1e5)) a, (SELECT * FROM range(1e5)) b` is 1e10), so wrapping a generator
/// in a subquery changes nothing.
fn generated_product(from: &[TableWithJoins]) -> ControlFlow<Verdict> {
    let (product, generators) = from_rows(from);
    if generators > 1 && product > MAX_GENERATED_ROWS {
        return deny(
            Code::ResourceAbuse,
            format!(
                "these {generators} generators joined together make about {product:.0e} rows; the limit is \
                 {MAX_GENERATED_ROWS:.0e}"
            ),
        );
    }
    ControlFlow::Continue(())
}

/// The product of the rows the generators of a `FROM` make, and how many generators (or derived tables built on
/// them) it holds. Tables of the source count as one row: their size is not the query's doing.
fn from_rows(from: &[TableWithJoins]) -> (f64, usize) {
    let factors = from.iter().flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)));
    let mut product = 1.0_f64;
    let mut generators = 0;
    for factor in factors {
        let (rows, count) = factor_rows(factor);
        if count > 0 {
            product *= rows.max(1.0);
            generators += count;
        }
    }
    (product, generators)
}

fn factor_rows(factor: &TableFactor) -> (f64, usize) {
    let (name, args) = match factor {
        TableFactor::Table { name, args: Some(args), .. } => (name, args.args.as_slice()),
        TableFactor::Function { name, args, .. } => (name, args.as_slice()),
        TableFactor::Derived { subquery, .. } => return query_rows(subquery),
        TableFactor::NestedJoin { table_with_joins, .. } => return from_rows(std::slice::from_ref(table_with_joins)),
        _ => return (1.0, 0),
    };
    let Some(last) = name.0.last().and_then(|part| part.as_ident()) else { return (1.0, 0) };
    // Both PostgreSQL's `^` and DuckDB's count as a power here: a product estimate only needs magnitudes.
    match generated_rows(Engine::Postgres, &last.value.to_ascii_lowercase(), args) {
        Some(rows) => (rows, 1),
        None => (1.0, 0),
    }
}

/// The rows of a subquery built on generators: its `FROM`'s product (filters can only lower it), the sum of a set
/// operation's sides, capped by a literal `LIMIT`.
fn query_rows(query: &Query) -> (f64, usize) {
    fn body_rows(body: &SetExpr) -> (f64, usize) {
        match body {
            SetExpr::Select(select) => from_rows(&select.from),
            SetExpr::Query(query) => query_rows(query),
            SetExpr::SetOperation { left, right, .. } => {
                let ((l, lc), (r, rc)) = (body_rows(left), body_rows(right));
                (l + r, lc + rc)
            }
            _ => (1.0, 0),
        }
    }
    let (rows, count) = body_rows(&query.body);
    let limit = match &query.limit_clause {
        Some(sqlparser::ast::LimitClause::LimitOffset { limit: Some(limit), .. }) => number(Engine::Postgres, limit),
        _ => None,
    };
    (limit.map_or(rows, |limit| rows.min(limit.max(0.0))), count)
}

/// Seconds since 1970 of a date or timestamp literal (`DATE '2024-01-01'`, `TIMESTAMP '2000-01-01 10:00'`,
/// `'2000-01-01'::timestamp`); the time of day is ignored, which is precise enough for a size estimate.
fn instant(expr: &Expr) -> Option<f64> {
    let text = match expr {
        Expr::TypedString(typed) => typed.value.clone().into_string()?,
        Expr::Cast { expr, .. } => match expr.as_ref() {
            Expr::Value(v) => v.value.clone().into_string()?,
            _ => return None,
        },
        Expr::Nested(inner) => return instant(inner),
        _ => return None,
    };
    let date = text.trim().get(..10)?;
    let mut parts = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(((era * 146_097 + doe - 719_468) * 86_400) as f64)
}

/// Seconds in an interval literal: `INTERVAL '1 second'`, `INTERVAL 1 SECOND`, `INTERVAL '2 hours'`, `'1 day'::interval`.
fn interval_seconds(expr: &Expr) -> Option<f64> {
    let unit_seconds = |unit: &str| -> Option<f64> {
        let unit = unit.trim().to_ascii_lowercase();
        // Abbreviations first: `us` and `ms` end in an `s` that is not a plural (found in review).
        match unit.as_str() {
            "us" | "usec" | "usecs" => return Some(1e-6),
            "ms" | "msec" | "msecs" => return Some(1e-3),
            "hr" | "hrs" => return Some(3_600.0),
            _ => {}
        }
        let unit = unit.trim_end_matches('s');
        Some(match unit {
            "microsecond" => 1e-6,
            "millisecond" => 1e-3,
            "second" | "sec" => 1.0,
            "minute" | "min" => 60.0,
            "hour" | "h" => 3_600.0,
            "day" | "d" => 86_400.0,
            "week" => 604_800.0,
            "month" | "mon" => 2_592_000.0,
            "year" | "y" => 31_536_000.0,
            _ => return None,
        })
    };
    let text_seconds = |text: &str| -> Option<f64> {
        let mut words = text.split_whitespace();
        let amount: f64 = words.next()?.parse().ok()?;
        Some(amount * unit_seconds(words.next().unwrap_or("second"))?)
    };
    match expr {
        Expr::Interval(interval) => {
            let amount = match interval.value.as_ref() {
                Expr::Value(v) => match &v.value {
                    Value::Number(n, _) => n.clone(),
                    other => other.clone().into_string()?,
                },
                _ => return None,
            };
            match &interval.leading_field {
                Some(field) => Some(amount.trim().parse::<f64>().ok()? * unit_seconds(&field.to_string())?),
                None => text_seconds(&amount),
            }
        }
        Expr::Cast { expr, .. } => match expr.as_ref() {
            Expr::Value(v) => text_seconds(&v.value.clone().into_string()?),
            _ => None,
        },
        Expr::Nested(inner) => interval_seconds(inner),
        _ => None,
    }
}

fn arg_exprs(args: &[FunctionArg]) -> impl Iterator<Item = &Expr> {
    args.iter().filter_map(|arg| match arg {
        FunctionArg::Unnamed(FunctionArgExpr::Expr(expr))
        | FunctionArg::Named { arg: FunctionArgExpr::Expr(expr), .. }
        | FunctionArg::ExprNamed { arg: FunctionArgExpr::Expr(expr), .. } => Some(expr),
        _ => None,
    })
}

/// The paths a reader is given: its positional arguments (named ones are options), each a string literal or a
/// list of them (`read_csv(['a.csv', 'b.csv'])`). `None` when any of them is computed, since then nobody can say
/// which file it reads.
fn positional_paths(args: &[FunctionArg]) -> Option<Vec<String>> {
    fn collect(expr: &Expr, out: &mut Vec<String>) -> Option<()> {
        match expr {
            Expr::Value(value) => out.push(value.value.clone().into_string()?),
            Expr::Array(array) => array.elem.iter().try_for_each(|e| collect(e, out))?,
            Expr::Nested(inner) => collect(inner, out)?,
            _ => return None,
        }
        Some(())
    }
    let mut out = Vec::new();
    for arg in args {
        match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(expr)) => collect(expr, &mut out)?,
            FunctionArg::Unnamed(_) => return None,
            _ => {}
        }
    }
    Some(out)
}

/// String literals among the arguments, including inside list literals (`read_csv(['a.csv', 'b.csv'])`).
fn literal_strings(args: &[FunctionArg]) -> Vec<String> {
    fn collect(expr: &Expr, out: &mut Vec<String>) {
        match expr {
            Expr::Value(value) => {
                if let Some(s) = value.value.clone().into_string() {
                    out.push(s);
                }
            }
            Expr::Array(array) => array.elem.iter().for_each(|e| collect(e, out)),
            Expr::Nested(inner) => collect(inner, out),
            _ => {}
        }
    }
    let mut out = Vec::new();
    arg_exprs(args).for_each(|e| collect(e, &mut out));
    out
}

/// The number an argument spells in constants, through parentheses, casts (`10000000000::bigint`, `'1e9'::int`),
/// signs, arithmetic (`100000 * 100000`), powers (PostgreSQL's and DuckDB's `^`, `power`, `pow`) and a few other
/// pure numeric functions. A string counts only when cast.
fn number(engine: Engine, expr: &Expr) -> Option<f64> {
    let n = |e: &Expr| number(engine, e);
    match expr {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse().ok(),
            _ => None,
        },
        Expr::Nested(inner) => n(inner),
        Expr::Cast { expr, .. } => match expr.as_ref() {
            Expr::Value(v) => v.value.clone().into_string().and_then(|s| s.trim().parse().ok()).or_else(|| n(expr)),
            inner => n(inner),
        },
        Expr::UnaryOp { op: UnaryOperator::Minus, expr } => n(expr).map(|x| -x),
        Expr::UnaryOp { op: UnaryOperator::Plus, expr } => n(expr),
        Expr::BinaryOp { left, op, right } => {
            let (left, right) = (n(left)?, n(right)?);
            match op {
                BinaryOperator::Plus => Some(left + right),
                BinaryOperator::Minus => Some(left - right),
                BinaryOperator::Multiply => Some(left * right),
                BinaryOperator::Divide if right != 0.0 => Some(left / right),
                // `^` is a power in PostgreSQL and DuckDB, a bitwise XOR in MySQL.
                BinaryOperator::PGExp => Some(left.powf(right)),
                BinaryOperator::BitwiseXor if engine != Engine::Mysql => Some(left.powf(right)),
                _ => None,
            }
        }
        Expr::Ceil { expr, .. } | Expr::Floor { expr, .. } => n(expr),
        // `(SELECT 1e10)`: a scalar subquery of one constant, with nothing to read.
        Expr::Subquery(query) => match query.body.as_ref() {
            SetExpr::Select(select) if select.from.is_empty() && select.selection.is_none() => {
                match select.projection.as_slice() {
                    [
                        sqlparser::ast::SelectItem::UnnamedExpr(expr)
                        | sqlparser::ast::SelectItem::ExprWithAlias { expr, .. },
                    ] => n(expr),
                    _ => None,
                }
            }
            _ => None,
        },
        Expr::Function(function) => {
            let name = function.name.0.last()?.as_ident()?.value.to_ascii_lowercase();
            let FunctionArguments::List(list) = &function.args else { return None };
            let args: Vec<f64> = arg_exprs(&list.args).map(n).collect::<Option<_>>()?;
            match (name.as_str(), args.as_slice()) {
                ("power" | "pow", [base, exponent]) => Some(base.powf(*exponent)),
                ("exp", [x]) => Some(x.exp()),
                ("abs", [x]) => Some(x.abs()),
                ("round" | "trunc" | "truncate" | "ceil" | "ceiling" | "floor", [x, ..]) => Some(*x),
                ("greatest", xs) if !xs.is_empty() => xs.iter().copied().reduce(f64::max),
                ("least", xs) if !xs.is_empty() => xs.iter().copied().reduce(f64::min),
                _ => None,
            }
        }
        _ => None,
    }
}

fn is_url(text: &str) -> bool {
    let lower = text.trim().to_ascii_lowercase();
    const SCHEMES: &[&str] = &[
        "http://", "https://", "s3://", "s3a://", "s3n://", "gs://", "gcs://", "r2://", "az://", "azure://", "abfs://",
        "abfss://", "hf://", "ftp://", "file://",
    ];
    SCHEMES.iter().any(|scheme| lower.starts_with(scheme))
}

fn has_file_suffix(text: &str) -> bool {
    const SUFFIXES: &[&str] = &[
        ".csv", ".tsv", ".txt", ".json", ".jsonl", ".ndjson", ".parquet", ".gz", ".zst", ".db", ".duckdb", ".sqlite",
        ".xlsx", ".arrow", ".avro",
    ];
    let lower = text.to_ascii_lowercase();
    SUFFIXES.iter().any(|suffix| lower.ends_with(suffix))
}

#[cfg(test)]
mod tests {
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
        assert_eq!(
            pg("WITH pg_shadow AS (SELECT * FROM pg_shadow) SELECT * FROM pg_shadow"),
            Err(Code::SensitiveCatalog)
        );
        // Under RECURSIVE it does.
        assert_eq!(
            pg(
                "WITH RECURSIVE pg_x AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM pg_x WHERE n < 3) SELECT * FROM pg_x"
            ),
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
        for q in
            ["SELECT * FROM ONLY orders", "SELECT * FROM ONLY (public.orders)", "TABLE orders", "TABLE ONLY orders"]
        {
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
        assert_eq!(
            pg("SELECT 1 FROM generate_series(1, 20000) a, generate_series(1, 20000) b"),
            Err(Code::ResourceAbuse)
        );
        assert_eq!(pg("SELECT 1 FROM generate_series(1, 2000) a, generate_series(1, 2000) b"), Ok(()));
        // Wrapping a generator in a subquery changes nothing; a LIMIT inside caps it.
        assert_eq!(
            pg(
                "SELECT 1 FROM (SELECT * FROM generate_series(1, 20000)) a, (SELECT * FROM generate_series(1, 20000)) b"
            ),
            Err(Code::ResourceAbuse)
        );
        assert_eq!(
            pg("SELECT 1 FROM (SELECT * FROM generate_series(1, 20000) LIMIT 10) a, generate_series(1, 20000) b"),
            Ok(())
        );
        // In MySQL `^` is XOR: 10 ^ 10 is 0, not a power.
        assert_eq!(verdict(Engine::Mysql, &Policy::default(), "SELECT REPEAT('x', 10 ^ 10)"), Ok(()));
    }
}
