//! Where a profile's broker listens. A pure path computation shared by the broker and its clients.

use std::path::{Path, PathBuf};

/// Unix socket paths must fit in `sun_path` (108 bytes on Linux, 104 on macOS).
const MAX_SOCKET_PATH: usize = 100;

/// The socket of the broker serving profile directory `home`: `home/broker.sock`, or, when that path is too
/// long for a Unix socket, a name derived from `home` under the system temp directory.
pub fn socket_path(home: &Path) -> PathBuf {
    let direct = home.join("broker.sock");
    if direct.as_os_str().len() <= MAX_SOCKET_PATH {
        return direct;
    }
    // FNV-1a: stable across builds and platforms, unlike `DefaultHasher`.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in home.as_os_str().as_encoded_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    std::env::temp_dir().join(format!("polystoreiq-{hash:016x}.sock"))
}

/// The lock file that makes the broker one per profile directory.
pub fn lock_path(home: &Path) -> PathBuf {
    home.join("broker.lock")
}
