//! The broker: the long-lived process that owns a profile's state and runs every query in a worker.
//!
//! Architecture invariant: the broker is the only process that opens the app state, the keyring or an LLM,
//! and the only one that spawns workers (through [`launcher::WorkerLauncher`]). It never opens user data
//! itself: files and databases are touched only inside workers.

pub mod access;
pub mod breaker;
pub use polystoreiq_chart as chart;
pub mod config;
pub mod files;
pub use polystoreiq_guard as guard;
pub mod health;
pub mod instance;
pub mod launcher;
pub mod limits;
pub mod llm;
pub use polystoreiq_planner as planner;
pub mod profile;
pub mod results;
pub mod sandbox;
pub mod secrets;
pub mod server;
pub mod service;
pub mod store;
pub mod supervisor;

use anyhow::Context;
use polystoreiq_protocol::endpoint;
use polystoreiq_protocol::types::AuditAction;

pub use config::BrokerConfig;
/// The broker's global allocator, named here so the broker binary and the benchmarks that stand in for it
/// (`polystoreiq-bench`) allocate alike: mimalloc, about 10% faster than the system's on the guardrail's many small
/// allocations.
pub use mimalloc::MiMalloc as BrokerAllocator;
pub use service::Broker;

/// Runs the broker for `config.home` until a client asks it to stop. Sets the process umask to 077 first: the
/// profile is private to its user, and so is everything the broker and its workers write there.
pub async fn run(mut config: BrokerConfig) -> anyhow::Result<()> {
    profile::private_umask();
    let _lock = instance::InstanceLock::acquire(&config.home)?;
    let exposed = profile::make_private(&config.home);
    for exposure in &exposed {
        tracing::warn!("the profile was readable by other users: {exposure}");
    }
    let socket = endpoint::socket_path(&config.home)?;
    let listener =
        server::bind(&config.home, &socket).with_context(|| format!("cannot listen on {}", socket.display()))?;
    tracing::info!(home = %config.home.display(), socket = %socket.display(), "broker ready");
    let store = store::Store::open(&store::database_path(&config.home))?;
    if !exposed.is_empty() {
        audit_exposure(&store, &exposed).await;
    }
    limits::apply_stored(&store, &mut config).await.map_err(|err| anyhow::anyhow!("cannot read the limits: {err}"))?;
    let access = access::AccessControl::load(store.clone()).await.map_err(|err| anyhow::anyhow!("{err}"))?;
    let broker = Broker::new(config, store, access);
    tokio::spawn(prune_audit_daily(broker.clone()));
    server::serve(listener, broker).await;
    let _ = std::fs::remove_file(&socket);
    tracing::info!("broker stopped");
    Ok(())
}

/// Records in the audit log what the start-up check found open to other users (and made private).
async fn audit_exposure(store: &store::Store, exposed: &[profile::Exposure]) {
    const SHOWN: usize = 20;
    let mut detail = exposed.iter().take(SHOWN).map(ToString::to_string).collect::<Vec<_>>().join("; ");
    if exposed.len() > SHOWN {
        detail.push_str(&format!("; and {} more", exposed.len() - SHOWN));
    }
    let appended = store
        .call(move |db| {
            db.append_audit(&store::NewAudit {
                actor: "broker",
                action: AuditAction::ProfilePermissionsFixed,
                source: None,
                session: None,
                draft: None,
                run: None,
                detail,
            })
        })
        .await;
    if let Err(err) = appended {
        tracing::warn!("cannot audit the profile's permissions: {err}");
    }
}

/// The audit retention policy: at start, then once a day, delete events older than the retention in force.
async fn prune_audit_daily(broker: std::sync::Arc<Broker>) {
    loop {
        broker.prune_audit().await;
        tokio::time::sleep(std::time::Duration::from_secs(86_400)).await;
    }
}
