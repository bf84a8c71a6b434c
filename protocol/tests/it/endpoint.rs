//! Where the broker listens: `home/broker.sock` when that fits a Unix socket path, otherwise a short, stable name
//! in a private directory under `$XDG_RUNTIME_DIR`; never under a shared temp directory, and a typed error that
//! says what to do when neither fits.

use std::path::{Path, PathBuf};

use polystoreiq_protocol::endpoint::{lock_path, private_socket_dir, socket_path_in};
use proptest::collection::vec;
use proptest::prelude::*;

/// The longest socket path the endpoint module hands out (`sun_path` is 104 bytes on macOS, 108 on Linux).
const MAX_SOCKET_PATH: usize = 100;

const RUNTIME: &str = "/run/user/1000";

fn socket(home: &Path) -> PathBuf {
    socket_path_in(home, Some(Path::new(RUNTIME))).expect("a socket path")
}

fn check(home: &str, expected: &str) {
    assert_eq!(socket(Path::new(home)), PathBuf::from(expected), "home {home:?}");
    assert_eq!(socket_path_in(Path::new(home), None).unwrap(), PathBuf::from(expected), "home {home:?}");
}

#[test]
fn short_homes_hold_their_own_socket() {
    check("/home/ada/.local/share/polystoreiq", "/home/ada/.local/share/polystoreiq/broker.sock");
    check(
        "/Users/ada/Library/Application Support/PolyStoreIQ",
        "/Users/ada/Library/Application Support/PolyStoreIQ/broker.sock",
    );
    check("relative/home", "relative/home/broker.sock");
    check("/", "/broker.sock");
    let home = Path::new("/home/ada/psiq");
    assert_eq!(private_socket_dir(home, &socket(home)), None);
}

/// `/broker.sock` is 12 bytes: an 88-byte home gives exactly 100 and stays put; one byte more falls back.
#[test]
fn the_fallback_starts_one_byte_past_the_limit() {
    let at_limit = format!("/{}", "a".repeat(87));
    assert_eq!(socket(Path::new(&at_limit)), Path::new(&at_limit).join("broker.sock"));
    assert_eq!(socket(Path::new(&at_limit)).as_os_str().len(), MAX_SOCKET_PATH);

    let over = format!("/{}", "a".repeat(88));
    assert_ne!(socket(Path::new(&over)), Path::new(&over).join("broker.sock"));
}

/// The fallback name is derived from the home with FNV-1a, so every build and platform finds the same socket, in
/// a directory of the runtime directory that the broker makes private.
#[test]
fn a_long_home_falls_back_to_a_short_stable_path_in_the_runtime_directory() {
    let home = PathBuf::from(format!("/{}", "h".repeat(200)));
    let path = socket(&home);
    assert_eq!(path, Path::new(RUNTIME).join("polystoreiq/469b988ca4d38ffe.sock"));
    assert!(path.as_os_str().len() <= MAX_SOCKET_PATH, "{path:?} is too long for a socket");
    assert_eq!(socket(&home), path, "the same home must always give the same socket");
    assert_eq!(private_socket_dir(&home, &path), Some(Path::new("/run/user/1000/polystoreiq")));

    let other = PathBuf::from(format!("/{}", "i".repeat(200)));
    assert_ne!(socket(&other), path, "two homes must not share a socket");
}

/// Without a usable runtime directory there is no guessable fallback under /tmp: a typed error says what to do.
#[test]
fn a_long_home_without_a_runtime_directory_is_an_error_that_says_what_to_do() {
    let home = PathBuf::from(format!("/{}", "h".repeat(200)));
    for runtime in [None, Some(Path::new("relative/run")), Some(Path::new(&*format!("/run/{}", "x".repeat(90))))] {
        let err = socket_path_in(&home, runtime).expect_err("no socket path fits");
        let message = err.to_string();
        assert!(message.contains("use a shorter --home"), "{message}");
        assert!(message.contains("XDG_RUNTIME_DIR"), "{message}");
        assert_eq!(err.len, home.join("broker.sock").as_os_str().len());
    }
}

#[cfg(unix)]
#[test]
fn a_long_home_that_is_not_utf8_falls_back_too() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    let bytes: Vec<u8> = [&b"/"[..], &[0xff; 150]].concat();
    let home = Path::new(OsStr::from_bytes(&bytes));
    let path = socket(home);
    assert!(path.as_os_str().len() <= MAX_SOCKET_PATH, "{path:?}");
    assert!(path.starts_with(RUNTIME), "{path:?}");
    assert_eq!(socket(home), path);
}

#[test]
fn the_lock_sits_in_the_home() {
    assert_eq!(lock_path(Path::new("/home/ada/psiq")), PathBuf::from("/home/ada/psiq/broker.lock"));
}

proptest! {
    #![proptest_config(crate::cases())]

    #[test]
    fn every_home_gets_a_socket_path_that_fits(parts in vec("[a-zA-Z0-9 ._-]{1,24}", 0..12)) {
        let home: PathBuf = std::iter::once("/".to_owned()).chain(parts).collect();
        let direct = home.join("broker.sock");
        let path = socket(&home);
        if direct.as_os_str().len() <= MAX_SOCKET_PATH {
            prop_assert_eq!(&path, &direct);
        } else {
            prop_assert!(path.as_os_str().len() <= MAX_SOCKET_PATH, "{:?}", path);
            let private = Path::new(RUNTIME).join("polystoreiq");
            prop_assert_eq!(path.parent(), Some(private.as_path()));
            prop_assert!(!path.starts_with(std::env::temp_dir()), "{:?}", path);
            let name = path.file_name().unwrap().to_str().unwrap();
            prop_assert!(name.ends_with(".sock"), "{}", name);
        }
        prop_assert_eq!(socket(&home), path);
    }
}
