//! The sandbox policy of one run, derived here and nowhere else from the job itself: a worker may read exactly
//! the files its job names, write its scratch directory (and, for an import, beside the database file it
//! rebuilds), reach the TCP port of its database and nothing else, and use bounded resources. The policy speaks
//! in the job's terms (scratch, source paths, database file, network target); the worker's enforcers
//! (`workers/src/sandbox`) translate it into each OS's rules and add what every worker needs to run at all.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use polystoreiq_protocol::types::{DbTarget, TlsMode};
use polystoreiq_protocol::worker::{DatabaseFile, Job, NetworkTarget, ResourceLimits, SandboxPolicy};

/// Broker-wide sandbox settings.
#[derive(Clone, Debug)]
pub struct SandboxSettings {
    /// The user accepted a degraded sandbox when this machine cannot enforce every rule.
    pub allow_degraded: bool,
    /// CPU threads a worker may keep busy (DuckDB's thread count); the CPU-time limit is the deadline times this.
    pub threads: u64,
}

impl Default for SandboxSettings {
    fn default() -> SandboxSettings {
        SandboxSettings { allow_degraded: false, threads: 2 }
    }
}

/// The policy for `job`, run with `scratch` as its working directory and `deadline` as its wall-clock limit. A
/// database job's host should already be what the worker connects to ([`resolve_host`]).
pub fn policy_for(job: &Job, scratch: &Path, deadline: Duration, settings: &SandboxSettings) -> SandboxPolicy {
    let mut source_paths = Vec::new();
    let mut database = None;
    let mut network = None;
    match job {
        Job::Import(import) => {
            source_paths.extend(import.source.tables.iter().flat_map(|t| t.paths.iter().cloned()));
            database = import.source.database.clone().map(|path| DatabaseFile { path, import: true });
        }
        Job::Query(query) | Job::Check(query) => {
            source_paths.extend(query.source.tables.iter().flat_map(|t| t.paths.iter().cloned()));
            database = query.source.database.clone().map(|path| DatabaseFile { path, import: false });
        }
        Job::Database(db) => {
            network = Some(NetworkTarget {
                host: db.target.host.clone(),
                port: db.target.port,
                // The one job that keeps a name (see `resolve_host`) resolves it itself.
                name_resolution: keeps_name(&db.target),
            });
        }
        Job::Fault(_) => {}
    }
    let wall = deadline.as_secs().max(1);
    SandboxPolicy {
        scratch: scratch.to_string_lossy().into_owned(),
        source_paths,
        database,
        network,
        limits: ResourceLimits {
            cpu_seconds: wall.saturating_mul(settings.threads.max(1)).saturating_add(10),
            open_files: 4096,
            file_size_bytes: 64 << 30,
        },
        allow_degraded: settings.allow_degraded,
    }
}

/// Resolves a database job's host name here, in the broker, and hands the worker the address, so the worker
/// needs no UDP for name resolution. The name stays only for TLS `verify-full`, whose certificate check is made
/// against it; that worker resolves it itself and its policy allows the datagrams (`NetworkTarget::name_resolution`). A name
/// that does not resolve here is left as it is: the worker then fails to reach it, as it would have.
pub async fn resolve_host(job: &mut Job, within: Duration) {
    let Job::Database(db) = job else { return };
    if keeps_name(&db.target) || db.target.host.parse::<IpAddr>().is_ok() {
        return;
    }
    let lookup = tokio::net::lookup_host((db.target.host.clone(), db.target.port));
    let found = tokio::time::timeout(within, lookup).await;
    match found {
        Ok(Ok(mut addresses)) => {
            if let Some(address) = addresses.next() {
                tracing::debug!(host = %db.target.host, address = %address.ip(), "resolved for the worker");
                db.target.host = address.ip().to_string();
            }
        }
        Ok(Err(err)) => tracing::debug!(host = %db.target.host, "cannot resolve: {err}"),
        Err(_) => tracing::debug!(host = %db.target.host, "name resolution timed out"),
    }
}

/// Whether the worker connects by name: only for TLS `verify-full`, whose certificate check needs it.
fn keeps_name(target: &DbTarget) -> bool {
    target.tls == TlsMode::VerifyFull && target.host.parse::<IpAddr>().is_err()
}

#[cfg(test)]
mod tests {
    use super::*;
    use polystoreiq_protocol::types::{DbTarget, FileKind, FileTable, SourceKind, TableStorage, TlsMode};
    use polystoreiq_protocol::worker::{DbAction, DbJob, DuckLimits, Fault, FileSource, ImportJob, QueryJob};

    #[test]
    fn a_query_reads_its_files_an_import_rebuilds_its_database_and_a_database_job_reaches_one_server() {
        let source = FileSource {
            tables: vec![FileTable {
                table: "t".into(),
                kind: FileKind::Csv,
                storage: TableStorage::InPlace,
                paths: vec!["/data/t.csv".into()],
                pattern: "/data/t.csv".into(),
            }],
            database: Some("/home/u/.psiq/datasets/s.duckdb".into()),
        };
        let limits = DuckLimits { memory_limit_mb: 1, threads: 1, max_file_bytes: 1 };
        let query =
            Job::Query(QueryJob { source: source.clone(), sql: String::new(), row_limit: 1, batch_rows: 1, limits });
        let settings = SandboxSettings::default();
        let policy = policy_for(&query, Path::new("/s/run-1"), Duration::from_secs(60), &settings);
        assert_eq!(policy.scratch, "/s/run-1");
        assert_eq!(policy.source_paths, ["/data/t.csv"]);
        let database = DatabaseFile { path: "/home/u/.psiq/datasets/s.duckdb".into(), import: false };
        assert_eq!(policy.database.as_ref(), Some(&database));
        assert_eq!(database.import_dir(), None, "a query writes nothing beside its database");
        assert_eq!(policy.network, None);
        assert_eq!(policy.limits.cpu_seconds, 130);

        let import =
            Job::Import(ImportJob { source, limits: DuckLimits { memory_limit_mb: 1, threads: 1, max_file_bytes: 1 } });
        let policy = policy_for(&import, Path::new("/s/run-0"), Duration::from_secs(60), &settings);
        assert_eq!(policy.source_paths, ["/data/t.csv"]);
        let rebuilt = policy.database.expect("an import names its database");
        assert!(rebuilt.import);
        assert_eq!(rebuilt.import_dir(), Some("/home/u/.psiq/datasets"));
        assert_eq!(policy.network, None);

        let fault = policy_for(&Job::Fault(Fault::Panic), Path::new("/s/run-f"), Duration::from_secs(5), &settings);
        assert!(fault.source_paths.is_empty() && fault.database.is_none() && fault.network.is_none());

        let target =
            DbTarget { host: "db".into(), port: 6543, database: "d".into(), user: "u".into(), tls: TlsMode::Disable };
        let db = Job::Database(DbJob { kind: SourceKind::Postgres, target, password: None, action: DbAction::Test });
        let policy = policy_for(&db, Path::new("/s/run-2"), Duration::from_secs(5), &settings);
        let network = policy.network.expect("a database job reaches its server");
        assert_eq!((network.host.as_str(), network.port), ("db", 6543));
        assert!(policy.source_paths.is_empty() && policy.database.is_none());
        assert!(!policy.allow_degraded);
        // Only `verify-full` connects by name, and only then may the worker resolve it (UDP); any other job's
        // host is resolved by the broker.
        assert!(!network.name_resolution);
        let Job::Database(mut verified) = db else { unreachable!() };
        verified.target.tls = TlsMode::VerifyFull;
        let name_resolution = |job: Job| {
            let policy = policy_for(&job, Path::new("/s/run-3"), Duration::from_secs(5), &settings);
            policy.network.is_some_and(|network| network.name_resolution)
        };
        assert!(name_resolution(Job::Database(verified.clone())));
        verified.target.host = "127.0.0.1".into();
        assert!(!name_resolution(Job::Database(verified)));
        assert!(!name_resolution(query));
    }

    #[tokio::test]
    async fn the_broker_resolves_a_host_name_unless_the_certificate_check_needs_it() {
        let target =
            |tls| DbTarget { host: "localhost".into(), port: 5432, database: "d".into(), user: "u".into(), tls };
        let job = |tls| {
            Job::Database(DbJob {
                kind: SourceKind::Postgres,
                target: target(tls),
                password: None,
                action: DbAction::Test,
            })
        };
        let host = |job: &Job| match job {
            Job::Database(db) => db.target.host.clone(),
            _ => unreachable!(),
        };
        let mut plain = job(TlsMode::Disable);
        resolve_host(&mut plain, Duration::from_secs(5)).await;
        assert!(host(&plain).parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()), "{}", host(&plain));
        let mut verified = job(TlsMode::VerifyFull);
        resolve_host(&mut verified, Duration::from_secs(5)).await;
        assert_eq!(host(&verified), "localhost");
    }
}
