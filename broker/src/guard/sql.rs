//! The SQL guardrail: lexer checks, one parse, a walk of the tree.

use std::ops::ControlFlow;

use polystoreiq_protocol::types::Engine;
use sqlparser::ast::{
    BinaryOperator, Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, ObjectName, Query, Select,
    SetExpr, Statement, TableFactor, UnaryOperator, Value, Visit, Visitor,
};
use sqlparser::dialect::{Dialect, DuckDbDialect, MySqlDialect, PostgreSqlDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, TokenizerError, Whitespace};

use super::functions::{self, FILE_READERS, HARMLESS_SETTINGS};
use super::plain;
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
    match query.visit(&mut Walker { policy }) {
        ControlFlow::Break(verdict) => Err(verdict),
        ControlFlow::Continue(()) => Ok(()),
    }
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
    policy: &'a Policy,
}

impl Visitor for Walker<'_> {
    type Break = Verdict;

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<Verdict> {
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

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<Verdict> {
        if select.into.is_some() {
            return deny(Code::SelectInto, "SELECT INTO creates a table or sets variables; select the rows instead");
        }
        ControlFlow::Continue(())
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
    fn function(&self, function: &Function) -> ControlFlow<Verdict> {
        let name = function_name(&function.name)?;
        let args = match &function.args {
            FunctionArguments::List(list) => list.args.as_slice(),
            _ => &[],
        };
        if name == "current_setting"
            && let Some(setting) = literal_strings(args).first()
            && HARMLESS_SETTINGS.contains(&setting.to_ascii_lowercase().as_str())
        {
            return ControlFlow::Continue(());
        }
        if let Some(code) = functions::denied(&name) {
            return deny(code, function_reason(code, &name));
        }
        resource_abuse(&name, args)
    }

    fn table_function(&self, name: &ObjectName, args: &[FunctionArg]) -> ControlFlow<Verdict> {
        let lower = function_name(name)?;
        let paths = literal_strings(args);
        if let Some(url) = paths.iter().find(|p| is_url(p)) {
            return deny(Code::NetworkAccess, format!("{lower} would reach the network ({url}); not allowed"));
        }
        if FILE_READERS.contains(&lower.as_str()) {
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
        if let Some(code) = functions::denied(&lower) {
            return deny(code, function_reason(code, &lower));
        }
        resource_abuse(&lower, args)
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

    /// A table name: no credential catalogs, and (DuckDB reads a file named in place of a table) no paths.
    fn relation(&self, name: &ObjectName) -> ControlFlow<Verdict> {
        let parts: Vec<String> =
            name.0.iter().filter_map(|part| part.as_ident()).map(|ident| ident.value.to_lowercase()).collect();
        if functions::sensitive_relation(&parts) {
            return deny(Code::SensitiveCatalog, format!("{name} holds credentials or server settings"));
        }
        for ident in name.0.iter().filter_map(|part| part.as_ident()) {
            let text = &ident.value;
            if is_url(text) {
                return deny(Code::NetworkAccess, format!("{text} would reach the network; not allowed"));
            }
            if ident.quote_style == Some('\'') || text.contains('/') || text.contains('\\') || has_file_suffix(text) {
                if self.policy.source_paths.iter().any(|p| p == text) {
                    continue;
                }
                return deny(Code::FileAccess, format!("{text} names a file; query the source's tables instead"));
            }
        }
        ControlFlow::Continue(())
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
        Code::SensitiveCatalog => "reads credentials or server settings",
        Code::ListenNotify => "sends notifications",
        _ => "is not allowed",
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

/// Generators and padding functions asked, in literals, for more than a query could sensibly need.
fn resource_abuse(name: &str, args: &[FunctionArg]) -> ControlFlow<Verdict> {
    // The first argument of repeat, lpad, rpad and repeat_row is the value repeated, not a count.
    let counts = || arg_exprs(args).skip(1).filter_map(number);
    let abusive = match name {
        "generate_series" | "range" => {
            let exprs: Vec<&Expr> = arg_exprs(args).collect();
            match exprs.iter().map(|e| number(e)).collect::<Option<Vec<f64>>>().as_deref() {
                Some([stop]) => *stop > MAX_GENERATED_ROWS,
                Some([start, stop]) => (stop - start).abs() > MAX_GENERATED_ROWS,
                Some([start, stop, step]) if *step != 0.0 => ((stop - start) / step).abs() > MAX_GENERATED_ROWS,
                // A series of timestamps: the span over the step, both in seconds.
                _ => match exprs.as_slice() {
                    [start, stop, step] => match (instant(start), instant(stop), interval_seconds(step)) {
                        (Some(start), Some(stop), Some(step)) if step > 0.0 => {
                            ((stop - start) / step).abs() > MAX_GENERATED_ROWS
                        }
                        _ => false,
                    },
                    _ => false,
                },
            }
        }
        "repeat" | "lpad" | "rpad" => counts().any(|n| n > MAX_GENERATED_CHARS),
        "space" => arg_exprs(args).filter_map(number).any(|n| n > MAX_GENERATED_CHARS),
        "repeat_row" => counts().any(|n| n > MAX_GENERATED_ROWS),
        _ => false,
    };
    if abusive {
        return deny(Code::ResourceAbuse, format!("{name}() is asked for more than the app allows in one query"));
    }
    ControlFlow::Continue(())
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
        let unit = unit.trim_end_matches('s');
        Some(match unit {
            "microsecond" | "us" => 1e-6,
            "millisecond" | "m" => 1e-3,
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

/// The number an argument spells in literals, through parentheses, casts (`10000000000::bigint`, `'1e9'::int`),
/// signs and arithmetic (`100000 * 100000`). A string counts only when cast.
fn number(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse().ok(),
            _ => None,
        },
        Expr::Nested(inner) => number(inner),
        Expr::Cast { expr, .. } => match expr.as_ref() {
            Expr::Value(v) => {
                v.value.clone().into_string().and_then(|s| s.trim().parse().ok()).or_else(|| number(expr))
            }
            inner => number(inner),
        },
        Expr::UnaryOp { op: UnaryOperator::Minus, expr } => number(expr).map(|n| -n),
        Expr::UnaryOp { op: UnaryOperator::Plus, expr } => number(expr),
        Expr::BinaryOp { left, op, right } => {
            let (left, right) = (number(left)?, number(right)?);
            match op {
                BinaryOperator::Plus => Some(left + right),
                BinaryOperator::Minus => Some(left - right),
                BinaryOperator::Multiply => Some(left * right),
                BinaryOperator::Divide if right != 0.0 => Some(left / right),
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
        let policy = Policy { source_paths: vec!["/data/own.csv".into()] };
        let judge = |q: &str| check(Engine::Duckdb, &policy, q).map_err(|v| v.code);
        assert_eq!(judge("SELECT * FROM read_csv('/data/own.csv', delim = ';')"), Ok(()));
        assert_eq!(judge("SELECT * FROM read_csv(['/data/own.csv'])"), Ok(()));
        assert_eq!(judge("SELECT * FROM read_csv(['/data/own.csv', '/etc/passwd'])"), Err(Code::FileAccess));
        assert_eq!(judge("SELECT * FROM read_csv(['/data/own.csv', lower('/ETC/PASSWD')])"), Err(Code::FileAccess));
        assert_eq!(judge("SELECT * FROM read_csv('/data/own.csv' || '')"), Err(Code::FileAccess));
    }
}
