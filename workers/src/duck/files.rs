//! A source's files before and after DuckDB reads them: what can be checked first (a regular, readable file within
//! the size limit that starts like its format), and each file's size, modification time and SHA-256 as provenance.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::time::UNIX_EPOCH;

use polystoreiq_protocol::types::FileKind;
use polystoreiq_protocol::worker::{FileFact, FileSource, WorkerError};
use sha2::{Digest, Sha256};

/// Size, modification time and SHA-256 of every file of the source, as provenance for the app state.
pub(super) fn file_facts(source: &FileSource) -> Result<Vec<FileFact>, WorkerError> {
    let mut facts = Vec::new();
    for table in &source.tables {
        for path in &table.paths {
            let unreadable = |err: std::io::Error| WorkerError::InvalidFile {
                path: path.clone(),
                reason: format!("cannot be read: {err}"),
            };
            let mut file = File::open(path).map_err(unreadable)?;
            let meta = file.metadata().map_err(unreadable)?;
            let mut hasher = Sha256::new();
            std::io::copy(&mut file, &mut hasher).map_err(unreadable)?;
            let sha256 = crate::hex::lower(&hasher.finalize());
            let modified_ms =
                meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_millis() as i64);
            facts.push(FileFact {
                table: table.table.clone(),
                path: path.clone(),
                size: meta.len(),
                modified_ms,
                sha256,
            });
        }
    }
    Ok(facts)
}

/// Checks what can be checked before DuckDB reads a file: it exists, is a regular readable file, is within the
/// size limit, is not empty, and starts like the format its name claims.
pub fn validate_file(path: &str, kind: FileKind, max_bytes: u64) -> Result<(), WorkerError> {
    let invalid = |reason: String| WorkerError::InvalidFile { path: path.to_owned(), reason };
    let meta = std::fs::metadata(path).map_err(|err| invalid(format!("cannot be read: {err}")))?;
    if !meta.is_file() {
        return Err(invalid("is not a regular file".into()));
    }
    if meta.len() > max_bytes {
        return Err(WorkerError::FileTooLarge { path: path.to_owned(), size: meta.len(), limit: max_bytes });
    }
    if meta.len() == 0 {
        return Err(invalid("is empty (0 bytes)".into()));
    }
    let mut file = File::open(path).map_err(|err| invalid(format!("cannot be opened: {err}")))?;
    let mut head = [0u8; 4096];
    let n = read_up_to(&mut file, &mut head).map_err(|err| invalid(format!("cannot be read: {err}")))?;
    let head = &head[..n];
    match kind {
        FileKind::Parquet => {
            let mut tail = [0u8; 4];
            let ok_tail = meta.len() >= 8
                && file.seek(SeekFrom::End(-4)).is_ok()
                && file.read_exact(&mut tail).is_ok()
                && &tail == b"PAR1";
            if !head.starts_with(b"PAR1") || !ok_tail {
                return Err(invalid(
                    "is not a Parquet file (no PAR1 magic); was it renamed from another format?".into(),
                ));
            }
        }
        FileKind::Json => {
            let first =
                head.iter().copied().find(|b| !b.is_ascii_whitespace() && *b != 0xEF && *b != 0xBB && *b != 0xBF);
            if !matches!(first, Some(b'{' | b'[')) {
                return Err(invalid("is not JSON: it must hold an array of objects or one object per line".into()));
            }
        }
        FileKind::Csv => {
            if head.contains(&0) {
                return Err(invalid("is binary, not CSV text; pick a .csv/.tsv text file".into()));
            }
        }
    }
    Ok(())
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}
