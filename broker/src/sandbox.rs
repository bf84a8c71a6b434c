//! The sandbox policy of one run, built from the job itself: a worker may read exactly the files its job names
//! (and the system libraries it runs on), write its scratch directory (and, for an import, the datasets
//! directory the new database file goes to), reach the TCP port of its database and nothing else, and use
//! bounded resources. The worker enforces it (`workers/src/sandbox`).

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use polystoreiq_protocol::types::{DbTarget, TlsMode};
use polystoreiq_protocol::worker::{Job, ResourceLimits, SandboxPolicy};

/// What every worker reads to run at all: its libraries, the dynamic loader's cache, certificates and name
/// resolution files (database connectors), time zones, and facts about itself and the machine (DuckDB sizes its
/// memory and threads from them). Nothing under a home directory, nothing of another process.
const SYSTEM_READ: &[&str] = &[
    "/usr/lib",
    "/usr/lib64",
    "/usr/local/lib",
    "/lib",
    "/lib64",
    "/etc/ld.so.cache",
    "/etc/ssl/certs",
    "/etc/ca-certificates",
    "/usr/share/ca-certificates",
    "/etc/hosts",
    "/etc/resolv.conf",
    "/etc/nsswitch.conf",
    "/etc/host.conf",
    "/etc/gai.conf",
    "/etc/localtime",
    "/usr/share/zoneinfo",
    "/proc/self",
    "/proc/meminfo",
    "/proc/cpuinfo",
    "/proc/stat",
    "/sys/devices/system/cpu",
    "/sys/fs/cgroup",
    "/dev/urandom",
];

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

/// The policy for `job`, run with `scratch` as its working directory and `deadline` as its wall-clock limit.
pub fn policy_for(job: &Job, scratch: &Path, deadline: Duration, settings: &SandboxSettings) -> SandboxPolicy {
    let mut read_paths: Vec<String> = SYSTEM_READ.iter().map(|p| (*p).to_owned()).collect();
    let mut write_paths = vec![scratch.to_string_lossy().into_owned(), "/dev/null".to_owned()];
    let mut connect_ports = Vec::new();
    let mut name_resolution = false;
    match job {
        Job::Import(import) => {
            read_paths.extend(import.source.tables.iter().flat_map(|t| t.paths.iter().cloned()));
            // The import writes `<database>.importing` beside the database and renames it into place.
            if let Some(dir) = import.source.database.as_deref().and_then(|db| Path::new(db).parent()) {
                write_paths.push(dir.to_string_lossy().into_owned());
            }
        }
        Job::Query(query) | Job::Check(query) => {
            read_paths.extend(query.source.tables.iter().flat_map(|t| t.paths.iter().cloned()));
            read_paths.extend(query.source.database.iter().cloned());
        }
        Job::Database(db) => {
            connect_ports.push(db.target.port);
            // The one job that keeps a name (see `resolve_host`) resolves it itself.
            name_resolution = keeps_name(&db.target);
        }
        Job::Fault(_) => {}
    }
    let wall = deadline.as_secs().max(1);
    SandboxPolicy {
        read_paths,
        write_paths,
        connect_ports,
        name_resolution,
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
/// against it; that worker resolves it itself and its policy allows the datagrams (`name_resolution`). A name
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
    use polystoreiq_protocol::worker::{DbAction, DbJob, DuckLimits, FileSource, QueryJob};

    #[test]
    fn a_query_reads_its_files_and_writes_only_scratch_and_a_database_job_reaches_one_port() {
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
        let query = Job::Query(QueryJob { source, sql: String::new(), row_limit: 1, batch_rows: 1, limits });
        let settings = SandboxSettings::default();
        let policy = policy_for(&query, Path::new("/s/run-1"), Duration::from_secs(60), &settings);
        assert!(policy.read_paths.contains(&"/data/t.csv".to_owned()));
        assert!(policy.read_paths.contains(&"/home/u/.psiq/datasets/s.duckdb".to_owned()));
        assert_eq!(policy.write_paths, ["/s/run-1", "/dev/null"]);
        assert!(policy.connect_ports.is_empty());
        assert!(!policy.read_paths.iter().any(|p| p.starts_with("/home") && !p.ends_with(".duckdb")));
        assert_eq!(policy.limits.cpu_seconds, 130);

        let target =
            DbTarget { host: "db".into(), port: 6543, database: "d".into(), user: "u".into(), tls: TlsMode::Disable };
        let db = Job::Database(DbJob { kind: SourceKind::Postgres, target, password: None, action: DbAction::Test });
        let policy = policy_for(&db, Path::new("/s/run-2"), Duration::from_secs(5), &settings);
        assert_eq!(policy.connect_ports, [6543]);
        assert!(!policy.allow_degraded);
        // Only `verify-full` connects by name, and only then may the worker resolve it (UDP); any other job's
        // host is resolved by the broker.
        assert!(!policy.name_resolution);
        let Job::Database(mut verified) = db else { unreachable!() };
        verified.target.tls = TlsMode::VerifyFull;
        let policy =
            policy_for(&Job::Database(verified.clone()), Path::new("/s/run-3"), Duration::from_secs(5), &settings);
        assert!(policy.name_resolution);
        verified.target.host = "127.0.0.1".into();
        let policy = policy_for(&Job::Database(verified), Path::new("/s/run-3"), Duration::from_secs(5), &settings);
        assert!(!policy.name_resolution);
        assert!(!policy_for(&query, Path::new("/s/run-4"), Duration::from_secs(5), &settings).name_resolution);
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
