//! Where a profile's broker listens. A pure path computation shared by the broker and its clients.
//!
//! The socket lives inside the profile directory (`<home>/broker.sock`, private to its user), or, when that
//! path is too long for a Unix socket, in a private directory under `$XDG_RUNTIME_DIR` (which only its user
//! can enter). Never under a shared directory such as `/tmp`, where another user could create the name first.

use std::path::{Path, PathBuf};

/// Unix socket paths must fit in `sun_path` (108 bytes on Linux, 104 on macOS).
const MAX_SOCKET_PATH: usize = 100;

/// The directory under `$XDG_RUNTIME_DIR` holding the sockets of profiles whose own path is too long.
const RUNTIME_SUBDIR: &str = "polystoreiq";

/// Neither the profile directory nor `$XDG_RUNTIME_DIR` gives a socket path short enough.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "the profile directory {home} is too long for the broker's Unix socket ({len} bytes for {socket}, at most \
     {MAX_SOCKET_PATH}){runtime}; use a shorter --home (or POLYSTOREIQ_HOME)"
)]
pub struct SocketPathTooLong {
    pub home: String,
    pub socket: String,
    pub len: usize,
    /// Why `$XDG_RUNTIME_DIR` did not serve instead.
    runtime: String,
}

/// The socket of the broker serving profile directory `home`, with `$XDG_RUNTIME_DIR` as the fallback.
pub fn socket_path(home: &Path) -> Result<PathBuf, SocketPathTooLong> {
    socket_path_in(home, std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from).as_deref())
}

/// The socket of the broker serving `home`: `home/broker.sock`, or when that is too long for a Unix socket,
/// `runtime_dir/polystoreiq/<hash of home>.sock`. The broker creates that directory private (0700) and checks
/// that it is; a runtime directory that is missing or relative is not used.
pub fn socket_path_in(home: &Path, runtime_dir: Option<&Path>) -> Result<PathBuf, SocketPathTooLong> {
    let direct = home.join("broker.sock");
    if fits(&direct) {
        return Ok(direct);
    }
    let runtime = match runtime_dir.filter(|dir| dir.is_absolute()) {
        Some(dir) => {
            let fallback = dir.join(RUNTIME_SUBDIR).join(format!("{:016x}.sock", fnv1a(home)));
            if fits(&fallback) {
                return Ok(fallback);
            }
            format!(", and so is {} under $XDG_RUNTIME_DIR", fallback.display())
        }
        None => ", and no $XDG_RUNTIME_DIR is set for a shorter one".to_owned(),
    };
    Err(SocketPathTooLong {
        home: home.display().to_string(),
        socket: direct.display().to_string(),
        len: direct.as_os_str().len(),
        runtime,
    })
}

/// The private directory a socket outside its profile lives in (which the broker must create 0700), or `None`
/// for a socket inside the profile directory.
pub fn private_socket_dir<'a>(home: &Path, socket: &'a Path) -> Option<&'a Path> {
    socket.parent().filter(|dir| *dir != home)
}

fn fits(path: &Path) -> bool {
    path.as_os_str().len() <= MAX_SOCKET_PATH
}

/// FNV-1a: stable across builds and platforms, unlike `DefaultHasher`.
fn fnv1a(home: &Path) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in home.as_os_str().as_encoded_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// The lock file that makes the broker one per profile directory.
pub fn lock_path(home: &Path) -> PathBuf {
    home.join("broker.lock")
}
