//! The TypeScript declarations of every value the webview exchanges with the shell, generated from the Rust types
//! with ts-rs into `shell/ui/src/api/generated.ts`, which is committed (rust-analyzer's "sourcegen"): the test here
//! fails while the file is stale, so the UI's types cannot drift from the Rust DTOs.
//!
//! Regenerate after changing a DTO: `UPDATE_BINDINGS=1 cargo test -p polystoreiq-app bindings`.
//!
//! u64 and i64 become `number`, not ts-rs' default `bigint`: the shell serializes them with serde_json as plain JSON
//! numbers, which `JSON.parse` reads as numbers (exact up to 2^53, far beyond any id, count or duration here).

use std::any::TypeId;
use std::collections::HashSet;
use std::path::Path;

use polystoreiq_protocol::broker::RunEvent;
use polystoreiq_protocol::error::{ErrorCode, TypedError};
use polystoreiq_protocol::types::*;
use polystoreiq_protocol::worker::SandboxReport;
use ts_rs::{Config, TS, TypeVisitor};

use crate::commands::DatabaseSourceArgs;
use crate::view::{BrokerStatus, Cell, PageView, RunView};

/// Where the declarations go, from this crate's directory.
const GENERATED: &str = "../ui/src/api/generated.ts";

/// The variable that makes the test write the file instead of failing.
const UPDATE_VAR: &str = "UPDATE_BINDINGS";

const HEADER: &str = "\
// Generated from the Rust types by shell/app/src/bindings.rs (ts-rs). Do not edit: change the Rust type, then run
//   UPDATE_BINDINGS=1 cargo test -p polystoreiq-app bindings
// `cargo test` fails while this file differs from what the Rust types generate.
";

/// The declarations, one `export` per type in the order listed, each with its Rust docs as JSDoc.
struct Bindings {
    cfg: Config,
    out: String,
    listed: HashSet<TypeId>,
    /// Types a listed type refers to, by TypeId and TypeScript name: each must be listed too.
    referenced: Vec<(TypeId, String)>,
}

impl Bindings {
    fn add<T: TS + 'static>(&mut self) -> &mut Self {
        self.out.push('\n');
        if let Some(docs) = T::docs() {
            self.out.push_str(&docs);
        }
        self.out.push_str("export ");
        self.out.push_str(&layout(&T::decl(&self.cfg)));
        self.out.push('\n');
        self.listed.insert(TypeId::of::<T>());
        let mut visit = Referenced(&self.cfg, &mut self.referenced);
        T::visit_dependencies(&mut visit);
        self
    }
}

struct Referenced<'a>(&'a Config, &'a mut Vec<(TypeId, String)>);

impl TypeVisitor for Referenced<'_> {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        // Only types with a declaration of their own (derived ones); primitives and containers are inlined.
        if T::output_path().is_some() {
            self.1.push((TypeId::of::<T>(), T::name(self.0)));
        }
    }
}

/// The whole generated file.
fn generate() -> String {
    let mut b = Bindings {
        cfg: Config::new().with_large_int("number"),
        out: HEADER.to_owned(),
        listed: HashSet::new(),
        referenced: Vec::new(),
    };
    // Ids and plain enums.
    b.add::<SourceId>().add::<DraftId>().add::<RunId>().add::<SessionId>();
    b.add::<SourceKind>().add::<Engine>().add::<FileKind>().add::<TableStorage>().add::<TlsMode>();
    b.add::<SourceStatus>().add::<BreakerState>().add::<LogicalType>().add::<TableKind>().add::<CheckOutcome>();
    b.add::<WorkerKind>().add::<WorkerState>().add::<Role>().add::<LlmProvider>().add::<ChartKind>();
    b.add::<ErrorCode>().add::<TypedError>();
    // Sources.
    b.add::<FileTable>().add::<DbTarget>().add::<Capabilities>().add::<BreakerStatus>().add::<SourceInfo>();
    b.add::<SourceBreaker>().add::<SourceTestReport>();
    // Schemas.
    b.add::<TypeCount>().add::<FieldSample>().add::<ColumnInfo>().add::<ForeignKey>().add::<IndexInfo>();
    b.add::<TableInfo>().add::<SchemaCache>().add::<SchemaSnapshot>();
    // Drafts and runs.
    b.add::<ResultColumn>().add::<GuardVerdict>().add::<DraftAttempt>().add::<DraftCheck>().add::<DraftPreview>();
    b.add::<RunEvent>().add::<ChartRecommendation>();
    // Diagnostics.
    b.add::<ExitInfo>()
        .add::<WorkerHealth>()
        .add::<PoolStats>()
        .add::<StageStats>()
        .add::<TraceStage>()
        .add::<RunTrace>()
        .add::<SandboxReport>();
    b.add::<SandboxState>().add::<GenerationStats>().add::<DiagReport>();
    // Settings, audit, chat, access.
    b.add::<LlmSettings>().add::<Limits>().add::<LimitsChange>().add::<Settings>().add::<LlmTestReport>();
    b.add::<AuditAction>()
        .add::<AuditEvent>()
        .add::<AuditFilter>()
        .add::<ChatSession>()
        .add::<ChatRole>()
        .add::<ChatMessage>()
        .add::<AccessState>();
    // The shell's own values (view.rs) and command arguments (commands.rs).
    b.add::<Cell>().add::<PageView>().add::<RunView>().add::<BrokerStatus>().add::<DatabaseSourceArgs>();

    let missing: Vec<&str> =
        b.referenced.iter().filter(|(id, _)| !b.listed.contains(id)).map(|(_, name)| name.as_str()).collect();
    assert!(missing.is_empty(), "add these types to the list in bindings.rs, as their users are listed: {missing:?}");
    // Every audit action, for the history's filter.
    b.out.push_str("\n/**\n * Every audit action, in the order declared.\n */\nexport const AUDIT_ACTIONS: readonly AuditAction[] = [\n");
    for action in AuditAction::ALL {
        b.out.push_str(&format!("  \"{}\",\n", action.as_str()));
    }
    b.out.push_str("];\n");
    // The names the page may call, from the one declaration in command_names.rs.
    let names: Vec<String> = crate::command_names::GRANTED.iter().map(|name| format!("\"{name}\"")).collect();
    b.out.push_str("\n/**\n * The commands the page may call (shell/app/src/command_names.rs).\n */\nexport ");
    b.out.push_str(&layout(&format!("type Command = {};", names.join(" | "))));
    b.out.push('\n');
    b.out
}

/// Lays out one of ts-rs' one-line declarations (`type X = { a: A, /** doc */ b: B, };`) for reading: an object's
/// members one per line, and a union too long for one line one alternative per line. Only whitespace and the
/// members' separators change.
fn layout(decl: &str) -> String {
    let Some((head, body)) = decl.strip_suffix(';').and_then(|d| d.split_once(" = ")) else { return decl.to_owned() };
    let alternatives = split_outside(body, " | ");
    if let [object] = alternatives.as_slice()
        && let Some(members) = object.strip_prefix('{').and_then(|o| o.strip_suffix('}'))
    {
        let mut out = format!("{head} = {{\n");
        for member in split_outside(members, ",").iter().map(|m| m.trim()).filter(|m| !m.is_empty()) {
            for line in member.lines() {
                out.push_str("  ");
                out.push_str(line.trim_end());
                out.push('\n');
            }
            out.pop();
            out.push_str(";\n");
        }
        out.push_str("};");
        return out;
    }
    if alternatives.len() > 1 && "export ".len() + decl.len() > 120 {
        let mut out = format!("{head} =");
        for alternative in alternatives {
            out.push_str("\n  | ");
            out.push_str(alternative.trim());
        }
        out.push(';');
        return out;
    }
    decl.to_owned()
}

/// `text` cut at each `separator` that stands outside brackets, string literals and comments.
fn split_outside<'a>(text: &'a str, separator: &str) -> Vec<&'a str> {
    let mut parts = Vec::new();
    let (mut depth, mut start, mut i) = (0usize, 0, 0);
    let mut quote: Option<u8> = None;
    let bytes = text.as_bytes();
    while i < bytes.len() {
        let rest = &text[i..];
        if let Some(q) = quote {
            if bytes[i] == q {
                quote = None;
            }
        } else if rest.starts_with("/*") {
            i += rest.find("*/").map_or(rest.len(), |end| end + 2);
            continue;
        } else if depth == 0 && rest.starts_with(separator) {
            parts.push(&text[start..i]);
            i += separator.len();
            start = i;
            continue;
        } else {
            match bytes[i] {
                b'"' | b'\'' => quote = Some(bytes[i]),
                b'{' | b'[' | b'(' | b'<' => depth += 1,
                b'}' | b']' | b')' | b'>' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        i += 1;
    }
    parts.push(&text[start..]);
    parts
}

#[test]
fn layout_splits_only_outside_brackets_strings_and_comments() {
    assert_eq!(
        layout("type A = { a: Array<B>, /**\n * x, y's | z\n */\nb: { c: \"d, e\", } | null, };"),
        "type A = {\n  a: Array<B>;\n  /**\n   * x, y's | z\n   */\n  b: { c: \"d, e\", } | null;\n};"
    );
    assert_eq!(layout("type B = \"a\" | \"b\";"), "type B = \"a\" | \"b\";");
    let long = format!("type C = {};", ["\"abcdefghij\""; 12].join(" | "));
    assert!(layout(&long).starts_with("type C =\n  | \"abcdefghij\"\n  | "), "{}", layout(&long));
}

#[test]
fn generated_typescript_matches_the_rust_types() {
    let generated = generate();
    assert!(
        !generated.contains("bigint"),
        "a 64-bit integer became `bigint`, but serde_json sends numbers: is the large-int config lost?"
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(GENERATED);
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed == generated {
        return;
    }
    if std::env::var_os(UPDATE_VAR).is_some_and(|v| v == "1") {
        std::fs::write(&path, &generated).unwrap_or_else(|err| panic!("cannot write {}: {err}", path.display()));
        eprintln!("updated {}", path.display());
        return;
    }
    let line = committed.lines().zip(generated.lines()).position(|(a, b)| a != b);
    let line = line.unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
    panic!(
        "{} is stale: it differs from what the Rust types generate from line {} on\n  committed: {:?}\n  generated: {:?}\n\
         Regenerate it with `{UPDATE_VAR}=1 cargo test -p polystoreiq-app bindings` and commit the result.",
        path.display(),
        line + 1,
        committed.lines().nth(line).unwrap_or("<end of file>"),
        generated.lines().nth(line).unwrap_or("<end of file>"),
    );
}
