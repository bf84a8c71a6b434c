//! The worker binary: refuses to run unless the broker started it, then serves one job over stdin/stdout.
//!
//! All logic lives in the library so it can be tested in-process.

#![deny(clippy::print_stdout)]

use std::os::fd::AsFd;
use std::process::ExitCode;

/// The broker's allocator (mimalloc): a connector allocates a few times per row (the driver's row, each text
/// value), and on 1M rows the system allocator cost the worker a tenth of its speed against the same driver
/// in the broker's process (BENCHMARKS.md, database connectors). DuckDB's own memory is C++ and unaffected.
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
