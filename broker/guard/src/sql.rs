//! The SQL guardrail: lexer checks, one parse, a walk of the tree.

use std::ops::ControlFlow;

use polystoreiq_protocol::types::Engine;
use sqlparser::ast::{
    Expr, Function, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, ObjectName, Query, Select, SetExpr,
    Statement, TableFactor, Visit, Visitor,
};
use sqlparser::dialect::{Dialect, DuckDbDialect, MySqlDialect, PostgreSqlDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, TokenizerError, Whitespace};

use super::allow::{self, FunctionList};
use super::functions::{self, FILE_READERS, HARMLESS_SETTINGS};
use super::normalize::{strip_only, strip_sample, table_statement};
use super::plain;
use super::relations;
use super::sizes::{generated_product, resource_abuse};
use super::{Code, Policy, Verdict};

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

pub(super) fn arg_exprs(args: &[FunctionArg]) -> impl Iterator<Item = &Expr> {
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
#[path = "sql_tests.rs"]
mod tests;
