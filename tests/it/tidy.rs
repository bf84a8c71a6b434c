//! Repository hygiene checked by the test suite: every Rust file says what it is for in its first line, none is
//! over 800 lines, and ARCHITECTURE.md's code map names every module.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "target" || name == "node_modules" {
            continue;
        }
        if path.is_dir() {
            rust_files(&path, out);
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_rust_file_opens_with_a_module_doc() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
    let mut files = Vec::new();
    rust_files(root, &mut files);
    assert!(files.len() > 20, "found only {} Rust files under {}", files.len(), root.display());
    let missing: Vec<String> = files
        .iter()
        .filter(|path| {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            !text.lines().next().is_some_and(|line| line.starts_with("//!"))
        })
        .map(|path| path.strip_prefix(root).unwrap_or(path).display().to_string())
        .collect();
    assert!(missing.is_empty(), "files without a `//!` first line: {missing:#?}");
}

/// The workspace root, and every Rust file under it.
fn workspace_files() -> (PathBuf, Vec<PathBuf>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    (root, files)
}

/// Files that may be longer than the limit: data written as code, not logic.
const LONG_BY_NATURE: &[&str] = &[
    // The planner's evaluation set: questions and their expected results.
    "tests/src/planner_eval_cases.rs",
];

#[test]
fn no_hand_written_rust_file_is_over_800_lines() {
    let (root, files) = workspace_files();
    let long: Vec<String> = files
        .iter()
        .filter_map(|path| {
            let relative = path.strip_prefix(&root).unwrap_or(path).display().to_string();
            let lines = std::fs::read_to_string(path).unwrap_or_default().lines().count();
            (lines > 800 && !LONG_BY_NATURE.contains(&relative.as_str())).then(|| format!("{relative}: {lines}"))
        })
        .collect();
    assert!(long.is_empty(), "split these by concern: {long:#?}");
}

/// ARCHITECTURE.md's code map names every module: under the section of its top folder (`### \`broker/\``), each
/// source file by its path inside its crate's `src/` (`service/runs.rs`; `app/src/commands.rs` in `shell/`), and
/// each folder module by its folder (`service/`), in backticks or after a `/`.
#[test]
fn the_code_map_names_every_module() {
    let (root, files) = workspace_files();
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let mut missing = Vec::new();
    for path in &files {
        let relative = path.strip_prefix(&root).unwrap_or(path);
        let parts: Vec<String> = relative.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        let Some(src) = parts.iter().position(|p| p == "src") else { continue };
        let top = &parts[0];
        let Some(section) = section(&map, &format!("### `{top}/`")) else {
            missing.push(format!("a `### `{top}/`` section for {}", relative.display()));
            continue;
        };
        // `broker/src/service/runs.rs` is `service/runs.rs`; in a folder of several crates the crate is named:
        // `shell/app/src/commands.rs` is `app/src/commands.rs`.
        let inner = if src == 1 { &parts[2..] } else { &parts[1..] };
        let name = match inner.last().map(String::as_str) {
            Some("mod.rs") => format!("{}/", inner[..inner.len() - 1].join("/")),
            _ => inner.join("/"),
        };
        let named = ['`', '/'].iter().any(|before| section.contains(&format!("{before}{name}`")));
        if !named {
            missing.push(format!("{} (as `{name}` under {top}/)", relative.display()));
        }
    }
    assert!(missing.is_empty(), "ARCHITECTURE.md's code map does not name these modules: {missing:#?}");
}

/// The text of a `###` section, up to the next heading of that level or above.
fn section<'a>(doc: &'a str, heading: &str) -> Option<&'a str> {
    let start = doc.find(heading)? + heading.len();
    let rest = &doc[start..];
    let end = rest.find("\n### ").into_iter().chain(rest.find("\n## ")).min().unwrap_or(rest.len());
    Some(&rest[..end])
}
