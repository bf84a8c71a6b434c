//! The worker binary: refuses to run unless the broker started it, then serves one job over stdin/stdout.
//!
//! All logic lives in the library so it can be tested in-process.

#![deny(clippy::print_stdout)]

use std::os::fd::AsFd;
use std::process::ExitCode;

/// The broker's allocator (mimalloc): a connector allocates a few times per row (the driver's row, each text
/// value), and the benchmark's in-process paths already ran on it (BENCHMARKS.md, database connectors,
/// 2026-12-05 night: 1M MariaDB rows through a worker took 583 ms with it, 623 ms without, in one pair of runs).
/// DuckDB's own memory is C++ and unaffected.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let Some(nonce) = polystoreiq_workers::take_spawn_nonce() else {
        eprintln!("polystoreiq-worker runs only when the PolyStoreIQ broker starts it; it does nothing on its own.");
        return ExitCode::from(2);
    };
    // Frames go to fd 1 directly: the standard library's line-buffered stdout would rescan every frame.
    let stdout = match std::io::stdout().as_fd().try_clone_to_owned() {
        Ok(fd) => std::fs::File::from(fd),
        Err(err) => {
            eprintln!("polystoreiq-worker: cannot use stdout: {err}");
            return ExitCode::from(2);
        }
    };
    polystoreiq_workers::serve(std::io::stdin().lock(), stdout, nonce)
}
