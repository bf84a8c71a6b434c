//! One broker per profile directory: an exclusive `flock` on `broker.lock`, held for the broker's life.
//!
//! The kernel drops the lock when the process dies, however it dies, so a crashed broker never blocks the next.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use nix::fcntl::{Flock, FlockArg};
use polystoreiq_protocol::endpoint;

/// Holds the profile's broker lock until dropped.
pub struct InstanceLock {
    _lock: Flock<File>,
}

#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    #[error("another broker already serves {0}; use it (the CLI and the app connect to it), or stop it first")]
    AlreadyRunning(String),
    #[error("cannot use the profile directory {0}: {1}")]
    Io(String, std::io::Error),
}

impl InstanceLock {
    pub fn acquire(home: &Path) -> Result<InstanceLock, InstanceError> {
        let io = |err| InstanceError::Io(home.display().to_string(), err);
        // Private from its first moment (the broker's umask is 077 too): the profile holds the user's data.
        std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
            .create(home)
            .map_err(io)?;
        let file =
            OpenOptions::new().create(true).truncate(false).write(true).open(endpoint::lock_path(home)).map_err(io)?;
        let mut lock = Flock::lock(file, FlockArg::LockExclusiveNonblock).map_err(|(_, errno)| {
            if errno == nix::errno::Errno::EWOULDBLOCK {
                InstanceError::AlreadyRunning(home.display().to_string())
            } else {
                io(std::io::Error::from(errno))
            }
        })?;
        lock.set_len(0).map_err(io)?;
        writeln!(lock, "{}", std::process::id()).map_err(io)?;
        Ok(InstanceLock { _lock: lock })
    }
}
