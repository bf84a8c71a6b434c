//! The broker: the long-lived process that owns a profile's state and runs every query in a worker.
//!
//! Architecture invariant: the broker is the only process that opens the app state, the keyring or an LLM,
//! and the only one that spawns workers (through [`launcher::WorkerLauncher`]). It never opens user data
//! itself: files and databases are touched only inside workers.

pub mod config;
pub mod files;
pub mod guard;
pub mod health;
pub mod instance;
pub mod launcher;
pub mod planner;
pub mod server;
pub mod service;
pub mod state;
pub mod supervisor;

use anyhow::Context;
use polystoreiq_protocol::endpoint;

pub use config::BrokerConfig;
pub use service::Broker;

/// Runs the broker for `config.home` until a client asks it to stop.
pub async fn run(config: BrokerConfig) -> anyhow::Result<()> {
    let _lock = instance::InstanceLock::acquire(&config.home)?;
    let socket = endpoint::socket_path(&config.home);
    let listener = server::bind(&socket).with_context(|| format!("cannot listen on {}", socket.display()))?;
    tracing::info!(home = %config.home.display(), socket = %socket.display(), "broker ready");
    let broker = Broker::new(config);
    server::serve(listener, broker).await;
    let _ = std::fs::remove_file(&socket);
    tracing::info!("broker stopped");
    Ok(())
}
