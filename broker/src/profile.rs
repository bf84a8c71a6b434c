//! The profile directory is private to its user: the directory and everything in it, because it holds the app
//! state (results, queries, the audit log), ingested copies of the user's files (`datasets/`), logs and scratch.
//!
//! The broker runs with umask 077, so whatever it and its workers create is 0600 (files) or 0700 (directories);
//! at start it also walks the profile and takes group and world access away from anything that has it (a
//! profile written by an older version, or changed by hand), and says so. It never follows a symbolic link.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Makes every file the process creates from now on private to its user.
pub fn private_umask() {
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
}

/// A path in the profile that others could reach, and what was done about it.
#[derive(Debug)]
pub struct Exposure {
    pub path: PathBuf,
    /// The permission bits it had.
    pub mode: u32,
    /// Why it could not be fixed; `None` when it is private now.
    pub unfixed: Option<String>,
}

impl std::fmt::Display for Exposure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} was {:04o}", self.path.display(), self.mode & 0o7777)?;
        match &self.unfixed {
            None => write!(f, ", now {:04o}", private_mode(self.mode) & 0o7777),
            Some(why) => write!(f, ", cannot fix: {why}"),
        }
    }
}

/// Takes group and world access away from `home` and everything under it, and lists what had it.
pub fn make_private(home: &Path) -> Vec<Exposure> {
    let mut found = Vec::new();
    // The profile itself may be a link to where it really lives; nothing inside it is followed.
    let root = std::fs::canonicalize(home).unwrap_or_else(|_| home.to_path_buf());
    let mut pending = vec![root];
    while let Some(path) = pending.pop() {
        // symlink_metadata: a link is neither followed nor changed (its own mode means nothing on Linux).
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        if meta.file_type().is_symlink() {
            continue;
        }
        if meta.is_dir()
            && let Ok(entries) = std::fs::read_dir(&path)
        {
            pending.extend(entries.flatten().map(|entry| entry.path()));
        }
        let mode = meta.mode();
        if mode & 0o077 != 0 {
            let unfixed = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(private_mode(mode) & 0o7777))
                .err()
                .map(|err| err.to_string());
            found.push(Exposure { path, mode, unfixed });
        }
    }
    found
}

/// The owner's bits only; a directory keeps its owner's full access.
fn private_mode(mode: u32) -> u32 {
    if mode & libc::S_IFMT == libc::S_IFDIR { (mode & !0o077) | 0o700 } else { mode & !0o077 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_and_world_access_is_taken_away_and_reported_and_links_are_left_alone() {
        let home = tempfile::tempdir().unwrap();
        let set = |path: &Path, mode| std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
        let datasets = home.path().join("datasets");
        std::fs::create_dir(&datasets).unwrap();
        let copy = datasets.join("s.duckdb");
        std::fs::write(&copy, b"rows").unwrap();
        let private = home.path().join("private.txt");
        std::fs::write(&private, b"x").unwrap();
        set(home.path(), 0o755);
        set(&datasets, 0o775);
        set(&copy, 0o644);
        set(&private, 0o600);
        let outside = tempfile::NamedTempFile::new().unwrap();
        set(outside.path(), 0o644);
        std::os::unix::fs::symlink(outside.path(), home.path().join("link")).unwrap();

        let found = make_private(home.path());
        let mut paths: Vec<&Path> = found.iter().map(|e| e.path.as_path()).collect();
        paths.sort();
        assert_eq!(paths, [home.path(), datasets.as_path(), copy.as_path()]);
        assert!(found.iter().all(|e| e.unfixed.is_none()), "{found:?}");
        let mode = |path: &Path| std::fs::metadata(path).unwrap().mode() & 0o777;
        assert_eq!((mode(home.path()), mode(&datasets), mode(&copy), mode(&private)), (0o700, 0o700, 0o600, 0o600));
        assert_eq!(mode(outside.path()), 0o644, "a link's target outside the profile is not touched");
        assert!(found.iter().any(|e| e.to_string().ends_with("s.duckdb was 0644, now 0600")), "{found:?}");
        assert!(make_private(home.path()).is_empty(), "nothing left to fix");
    }
}
