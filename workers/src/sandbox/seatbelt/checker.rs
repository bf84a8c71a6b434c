//! The profiles are parsed here as S-expressions and checked against the rules in `common.sb`'s header.
//! The tests cannot run seatbelt's own compiler (that is macOS only: `macos.rs` has a test that does); they
//! hold the profiles to the rules a reviewer would, so a profile that breaks one fails on Linux too.

use std::collections::BTreeSet;

use super::*;

/// Seatbelt operations (the names `allow` and `deny` take), from Apple's SBPL as Chromium and Apple's own
/// profiles use it. A name outside this list is a typo or an operation this project has not reviewed.
const KNOWN_OPERATIONS: &[&str] = &[
    "default",
    "file*",
    "file-chroot",
    "file-clone",
    "file-ioctl",
    "file-issue-extension",
    "file-link",
    "file-map-executable",
    "file-mknod",
    "file-mount",
    "file-read*",
    "file-read-data",
    "file-read-metadata",
    "file-read-xattr",
    "file-revoke",
    "file-search",
    "file-test-existence",
    "file-unmount",
    "file-write*",
    "file-write-acl",
    "file-write-create",
    "file-write-data",
    "file-write-flags",
    "file-write-mode",
    "file-write-owner",
    "file-write-setugid",
    "file-write-times",
    "file-write-unlink",
    "file-write-xattr",
    "iokit*",
    "iokit-open",
    "iokit-get-properties",
    "iokit-set-properties",
    "ipc*",
    "ipc-posix*",
    "ipc-posix-sem",
    "ipc-posix-shm*",
    "ipc-posix-shm-read-data",
    "ipc-posix-shm-read-metadata",
    "ipc-posix-shm-write-create",
    "ipc-posix-shm-write-data",
    "ipc-posix-shm-write-unlink",
    "ipc-sysv*",
    "mach*",
    "mach-lookup",
    "mach-register",
    "mach-priv-host-port",
    "mach-priv-task-port",
    "mach-task-name",
    "network*",
    "network-bind",
    "network-inbound",
    "network-outbound",
    "nvram*",
    "process*",
    "process-exec",
    "process-exec*",
    "process-exec-interpreter",
    "process-fork",
    "process-info*",
    "process-info-codesignature",
    "process-info-dirtycontrol",
    "process-info-listpids",
    "process-info-pidinfo",
    "process-info-pidfdinfo",
    "process-info-rusage",
    "process-info-setcontrol",
    "pseudo-tty",
    "signal",
    "sysctl*",
    "sysctl-read",
    "sysctl-write",
    "system*",
    "system-audit",
    "system-fsctl",
    "system-socket",
    "user-preference-read",
    "user-preference-write",
];

/// Seatbelt filters (the lists after the operations), and the combinators over them.
const KNOWN_FILTERS: &[&str] = &[
    "literal",
    "path",
    "subpath",
    "prefix",
    "regex",
    "vnode-type",
    "require-all",
    "require-any",
    "require-not",
    "target",
    "sysctl-name",
    "sysctl-name-prefix",
    "sysctl-name-regex",
    "global-name",
    "global-name-regex",
    "local-name",
    "remote",
    "local",
    "control-name",
    "socket-domain",
    "socket-type",
    "socket-protocol",
    "ipc-posix-name",
    "ipc-posix-name-regex",
    "iokit-user-client-class",
    "iokit-registry-entry-class",
    "extension",
    "with",
];

/// The forms a profile may use at its top level.
const TOP_LEVEL: &[&str] = &["version", "define", "allow", "deny", "if", "when"];

/// Operations no profile may allow: a worker never starts a process or a program.
const NEVER_ALLOWED: &[&str] =
    &["default", "process*", "process-fork", "process-exec", "process-exec*", "process-exec-interpreter"];

/// Operations allowed only on the process itself, `(target self)`.
const SELF_ONLY: &[&str] = &[
    "signal",
    "process-info*",
    "process-info-codesignature",
    "process-info-dirtycontrol",
    "process-info-listpids",
    "process-info-pidinfo",
    "process-info-pidfdinfo",
    "process-info-rusage",
    "process-info-setcontrol",
];

// ---- A small S-expression reader: parens, strings with escapes, #"raw" strings, symbols, ' and ; comments.

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Sexp {
    List(Vec<Sexp>, usize),
    Str(String, usize),
    Sym(String, usize),
}

impl Sexp {
    pub(super) fn line(&self) -> usize {
        match self {
            Sexp::List(_, line) | Sexp::Str(_, line) | Sexp::Sym(_, line) => *line,
        }
    }

    pub(super) fn head(&self) -> Option<&str> {
        match self {
            Sexp::List(items, _) => match items.first() {
                Some(Sexp::Sym(name, _)) => Some(name),
                _ => None,
            },
            _ => None,
        }
    }

    pub(super) fn items(&self) -> &[Sexp] {
        match self {
            Sexp::List(items, _) => items,
            _ => &[],
        }
    }

    pub(super) fn is_sym(&self, name: &str) -> bool {
        matches!(self, Sexp::Sym(s, _) if s == name)
    }

    pub(super) fn is_str(&self, value: &str) -> bool {
        matches!(self, Sexp::Str(s, _) if s == value)
    }

    /// Every form in this one, itself included, depth first.
    pub(super) fn walk<'a>(&'a self, out: &mut Vec<&'a Sexp>) {
        out.push(self);
        for item in self.items() {
            item.walk(out);
        }
    }

    pub(super) fn mentions(&self, symbol: &str) -> bool {
        let mut all = Vec::new();
        self.walk(&mut all);
        all.iter().any(|form| form.is_sym(symbol))
    }
}

impl fmt::Display for Sexp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sexp::Sym(s, _) => f.write_str(s),
            Sexp::Str(s, _) => write!(f, "{s:?}"),
            Sexp::List(items, _) => {
                f.write_str("(")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str(")")
            }
        }
    }
}

#[derive(Debug, PartialEq)]
enum Token {
    Open,
    Close,
    Quote,
    Str(String),
    Sym(String),
}

#[derive(Debug)]
pub(super) struct Parsed {
    pub(super) forms: Vec<Sexp>,
    /// Lines (from 1) that hold nothing but a comment.
    pub(super) comment_lines: BTreeSet<usize>,
}

/// Tokens with the line each starts on.
type Tokens = Vec<(Token, usize)>;

fn tokenize(text: &str) -> Result<(Tokens, BTreeSet<usize>), String> {
    let mut tokens = Vec::new();
    let mut comment_lines = BTreeSet::new();
    let mut line = 1;
    let mut code_on_line = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' => {
                line += 1;
                code_on_line = false;
            }
            c if c.is_whitespace() => {}
            ';' => {
                if !code_on_line {
                    comment_lines.insert(line);
                }
                while chars.peek().is_some_and(|&c| c != '\n') {
                    chars.next();
                }
            }
            '(' => tokens.push((Token::Open, line)),
            ')' => tokens.push((Token::Close, line)),
            '\'' => tokens.push((Token::Quote, line)),
            '"' => {
                let start = line;
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err(format!("line {start}: unterminated string")),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('"') => s.push('"'),
                            Some('\\') => s.push('\\'),
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            other => return Err(format!("line {line}: unknown escape \\{other:?} in a string")),
                        },
                        Some('\n') => {
                            line += 1;
                            s.push('\n');
                        }
                        Some(c) => s.push(c),
                    }
                }
                tokens.push((Token::Str(s), start));
            }
            '#' if chars.peek() == Some(&'"') => {
                // A raw string (seatbelt's regex literal): backslashes stay as they are.
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => return Err(format!("line {line}: unterminated #\"...\" string")),
                        Some('"') => break,
                        Some('\n') => return Err(format!("line {line}: line break in a #\"...\" string")),
                        Some(c) => s.push(c),
                    }
                }
                tokens.push((Token::Str(s), line));
            }
            c => {
                let mut s = String::from(c);
                while let Some(&next) = chars.peek() {
                    if next.is_whitespace() || matches!(next, '(' | ')' | '"' | ';' | '\'') {
                        break;
                    }
                    s.push(next);
                    chars.next();
                }
                tokens.push((Token::Sym(s), line));
            }
        }
        if !matches!(c, '\n' | ';') && !c.is_whitespace() {
            code_on_line = true;
        }
    }
    Ok((tokens, comment_lines))
}

pub(super) fn parse(text: &str) -> Result<Parsed, String> {
    let (tokens, comment_lines) = tokenize(text)?;
    let mut tokens = tokens.into_iter().peekable();
    let mut forms = Vec::new();
    while tokens.peek().is_some() {
        let form = datum(&mut tokens)?;
        if !matches!(form, Sexp::List(..)) {
            return Err(format!("line {}: stray {form} outside any form", form.line()));
        }
        forms.push(form);
    }
    Ok(Parsed { forms, comment_lines })
}

fn datum(tokens: &mut std::iter::Peekable<std::vec::IntoIter<(Token, usize)>>) -> Result<Sexp, String> {
    let Some((token, line)) = tokens.next() else {
        return Err("unexpected end of the profile".to_owned());
    };
    match token {
        Token::Str(s) => Ok(Sexp::Str(s, line)),
        Token::Sym(s) => Ok(Sexp::Sym(s, line)),
        Token::Quote => Ok(Sexp::List(vec![Sexp::Sym("quote".into(), line), datum(tokens)?], line)),
        Token::Close => Err(format!("line {line}: unbalanced ')'")),
        Token::Open => {
            let mut items = Vec::new();
            loop {
                match tokens.peek() {
                    None => return Err(format!("line {line}: '(' is never closed")),
                    Some((Token::Close, _)) => {
                        tokens.next();
                        return Ok(Sexp::List(items, line));
                    }
                    Some(_) => items.push(datum(tokens)?),
                }
            }
        }
    }
}

// ---- The rules.

/// One `allow` or `deny` rule: its operations and filters, and the `if`/`when` conditions it sits under.
pub(super) struct Rule<'a> {
    pub(super) allow: bool,
    pub(super) form: &'a Sexp,
    pub(super) operations: Vec<&'a str>,
    pub(super) filters: Vec<&'a Sexp>,
    pub(super) conditions: Vec<&'a Sexp>,
}

pub(super) fn rules<'a>(forms: &'a [Sexp]) -> Vec<Rule<'a>> {
    fn visit<'a>(form: &'a Sexp, conditions: &mut Vec<&'a Sexp>, out: &mut Vec<Rule<'a>>) {
        match form.head() {
            Some(head @ ("allow" | "deny")) => {
                let args = &form.items()[1..];
                let operations: Vec<&str> = args
                    .iter()
                    .map_while(|a| match a {
                        Sexp::Sym(s, _) => Some(s.as_str()),
                        _ => None,
                    })
                    .collect();
                let filters = args[operations.len()..].iter().collect();
                out.push(Rule { allow: head == "allow", form, operations, filters, conditions: conditions.clone() });
            }
            Some("if" | "when") => {
                let items = form.items();
                if let Some(condition) = items.get(1) {
                    conditions.push(condition);
                    for branch in &items[2..] {
                        visit(branch, conditions, out);
                    }
                    conditions.pop();
                }
            }
            Some("begin") => {
                for item in &form.items()[1..] {
                    visit(item, conditions, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for form in forms {
        visit(form, &mut Vec::new(), &mut out);
    }
    out
}

/// Everything wrong with a whole profile (common.sb plus a kind) that should read exactly `parameters`.
pub(super) fn problems(text: &str, parameters: &[&str]) -> Vec<String> {
    let parsed = match parse(text) {
        Ok(parsed) => parsed,
        Err(err) => return vec![format!("does not parse: {err}")],
    };
    let forms = &parsed.forms;
    let mut found = Vec::new();

    let is_version_1 = |f: &Sexp| f.head() == Some("version") && f.items().len() == 2 && f.items()[1].is_sym("1");
    if !forms.first().is_some_and(is_version_1) {
        found.push("does not start with (version 1)".to_owned());
    }
    let versions = forms.iter().filter(|f| f.head() == Some("version")).count();
    if versions != 1 {
        found.push(format!("has {versions} version forms; only common.sb's first line may have one"));
    }
    for form in forms {
        match form.head() {
            Some(head) if TOP_LEVEL.contains(&head) => {}
            _ => found.push(format!("line {}: unexpected top-level form {form}", form.line())),
        }
    }
    let deny_default =
        forms.iter().position(|f| f.items().len() == 2 && f.head() == Some("deny") && f.items()[1].is_sym("default"));
    let first_allow = forms.iter().position(|f| f.head() == Some("allow"));
    match (deny_default, first_allow) {
        (None, _) => found.push("has no top-level (deny default)".to_owned()),
        (Some(deny), Some(allow)) if allow < deny => found.push("allows something before (deny default)".to_owned()),
        _ => {}
    }

    for rule in rules(forms) {
        let line = rule.form.line();
        if rule.allow && !parsed.comment_lines.contains(&(line - 1)) {
            found.push(format!("line {line}: an allow without a comment line above it giving its reason"));
        }
        if rule.operations.is_empty() {
            found.push(format!("line {line}: a rule without an operation"));
        }
        for op in &rule.operations {
            if !KNOWN_OPERATIONS.contains(op) {
                found.push(format!("line {line}: unknown seatbelt operation {op}"));
            }
            if rule.allow && NEVER_ALLOWED.contains(op) {
                found.push(format!("line {line}: allows {op}; a worker never starts a process or a program"));
            }
            let self_only = rule.filters.len() == 1 && rule.filters[0].to_string() == "(target self)";
            if rule.allow && SELF_ONLY.contains(op) && !self_only {
                found.push(format!("line {line}: allows {op} beyond (target self)"));
            }
            if rule.allow && rule.filters.is_empty() {
                found.push(format!("line {line}: allows {op} without a filter, everywhere"));
            }
        }
        for filter in &rule.filters {
            check_filter(filter, &mut found);
        }
    }

    let mut all = Vec::new();
    for form in forms {
        form.walk(&mut all);
    }
    let mut used = BTreeSet::new();
    for form in all.iter().filter(|f| f.head() == Some("param")) {
        match form.items() {
            [_, Sexp::Str(name, _)] => {
                used.insert(name.as_str());
            }
            _ => found.push(format!("line {}: {form} does not name its parameter as a string", form.line())),
        }
    }
    let passed: BTreeSet<&str> = parameters.iter().copied().collect();
    for name in used.difference(&passed) {
        found.push(format!("reads the parameter {name}, which the launcher does not pass"));
    }
    for name in passed.difference(&used) {
        found.push(format!("never reads the parameter {name}, which the launcher passes"));
    }
    found
}

fn check_filter(filter: &Sexp, found: &mut Vec<String>) {
    let line = filter.line();
    match filter.head() {
        Some(head @ ("require-all" | "require-any" | "require-not")) => {
            if filter.items().len() < 2 {
                found.push(format!("line {line}: an empty {head}"));
            }
            for inner in &filter.items()[1..] {
                check_filter(inner, found);
            }
        }
        Some(head) if KNOWN_FILTERS.contains(&head) => {
            if filter.items().len() < 2 {
                found.push(format!("line {line}: the filter ({head}) has no argument"));
            }
        }
        _ => found.push(format!("line {line}: unknown seatbelt filter {filter}")),
    }
}

pub(super) fn whole(kind: Profile) -> (String, Vec<&'static str>) {
    (profile_text(kind), kind.parameters().collect())
}

pub(super) fn parsed_rules(kind: Profile) -> Parsed {
    parse(&profile_text(kind)).expect("the profile parses")
}
