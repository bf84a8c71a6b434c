//! Turns what a user typed for a file source (paths and globs) into named file tables.

use std::collections::HashSet;
use std::path::Path;

use polystoreiq_protocol::types::{FileKind, FileTable, TableStorage};
use polystoreiq_protocol::{ErrorCode, TypedError};

/// Where each file kind's rows live at query time. Chosen by measurement (BENCHMARKS.md, "file storage"):
/// CSV and JSON are parsed once into the source's DuckDB database, because re-parsing them on every query
/// costs far more than reading the stored table; Parquet is already columnar and compressed, so it is read in
/// place and costs no copy.
pub fn storage_for(kind: FileKind) -> TableStorage {
    match kind {
        FileKind::Csv | FileKind::Json => TableStorage::Ingested,
        FileKind::Parquet => TableStorage::InPlace,
    }
}

const SUPPORTED: &str = ".csv, .tsv, .json, .jsonl, .ndjson and .parquet";

/// Expands absolute paths and globs into tables named after their files.
pub fn expand(patterns: &[String]) -> Result<Vec<FileTable>, TypedError> {
    if patterns.is_empty() {
        return Err(TypedError::new(ErrorCode::BadRequest, "a file source needs at least one --path"));
    }
    let mut names = HashSet::new();
    let mut tables = Vec::with_capacity(patterns.len());
    for pattern in patterns {
        let invalid = |reason: String| TypedError::new(ErrorCode::InvalidFile, format!("{pattern}: {reason}"));
        if !Path::new(pattern).is_absolute() {
            return Err(invalid("the path must be absolute".into()));
        }
        let kind = FileKind::from_path(pattern)
            .ok_or_else(|| invalid(format!("unsupported file type; PolyStoreIQ reads {SUPPORTED} files")))?;
        let paths = if is_glob(pattern) {
            let matches = glob::glob(pattern).map_err(|err| invalid(format!("not a valid glob: {err}")))?;
            let mut paths: Vec<String> = matches
                .filter_map(Result::ok)
                .filter(|p| p.is_file())
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            paths.sort();
            if paths.is_empty() {
                return Err(invalid("matches no file; check the directory and the pattern".into()));
            }
            paths
        } else {
            let path = std::fs::canonicalize(pattern).map_err(|err| invalid(format!("cannot be opened: {err}")))?;
            vec![path.to_string_lossy().into_owned()]
        };
        let mut table = table_name(pattern);
        let base = table.clone();
        let mut n = 2;
        while !names.insert(table.clone()) {
            table = format!("{base}_{n}");
            n += 1;
        }
        tables.push(FileTable { table, kind, storage: storage_for(kind), paths, pattern: pattern.clone() });
    }
    Ok(tables)
}

fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// `…/sales_2024-*.csv` → `sales_2024`; always a plain lower-case identifier.
pub fn table_name(pattern: &str) -> String {
    let file = pattern.rsplit('/').next().unwrap_or(pattern);
    let stem = file.split_once('.').map_or(file, |(stem, _)| stem);
    let mut name: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    while name.contains("__") {
        name = name.replace("__", "_");
    }
    let name = name.trim_matches('_');
    match name.chars().next() {
        None => "data".to_owned(),
        Some(c) if c.is_ascii_digit() => format!("t_{name}"),
        Some(_) => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::table_name;

    #[test]
    fn table_names_are_plain_identifiers() {
        let check = |pattern: &str, expected: &str| assert_eq!(table_name(pattern), expected, "{pattern}");
        check("/data/orders.csv", "orders");
        check("/data/Sales 2024.csv", "sales_2024");
        check("/data/sales_*.csv", "sales");
        check("/data/2024.parquet", "t_2024");
        check("/data/*.json", "data");
        check("/data/flights.tar.json", "flights");
    }
}
