//! The broker binary: parse `--home`, set up logging, run the broker library until asked to stop.

use std::path::PathBuf;

use anyhow::Context;
use polystoreiq_broker::{BrokerAllocator, BrokerConfig, run};

#[global_allocator]
static ALLOCATOR: BrokerAllocator = BrokerAllocator;

fn main() -> std::process::ExitCode {
    match start() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            // One line, so whoever started the broker can show it to the user.
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn start() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("POLYSTOREIQ_LOG").unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let mut args = std::env::args().skip(1);
    let mut home = std::env::var_os("POLYSTOREIQ_HOME").map(PathBuf::from);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--home" => home = args.next().map(PathBuf::from),
            "--version" => {
                eprintln!("polystoreiq-broker {}", env!("CARGO_PKG_VERSION"));
                return Ok(());
            }
            other => anyhow::bail!("unknown argument {other:?}; usage: polystoreiq-broker --home DIR"),
        }
    }
    let home = home.context("no profile directory: pass --home DIR or set POLYSTOREIQ_HOME")?;
    let home = std::path::absolute(&home)?;
    let worker = match std::env::var_os("POLYSTOREIQ_WORKER_BIN") {
        Some(path) => PathBuf::from(path),
        None => std::env::current_exe()?.with_file_name("polystoreiq-worker"),
    };
    let config = BrokerConfig::from_env(&home, worker);
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?.block_on(run(config))
}
