//! TLS to the database servers, with libpq's sslmode meanings, against the real servers: the local PostgreSQL
//! has `ssl = on` with Debian's self-signed "snakeoil" certificate, the local MariaDB has no TLS.
//!
//! - PostgreSQL: `require` (and `prefer`) connect encrypted without checking the certificate, which the
//!   server's own `pg_stat_ssl` confirms for a query worker's backend (asked by a worker job directly: the
//!   guardrail rightly refuses `pg_stat_ssl` in a drafted query); `disable` connects in plain TCP;
//!   `verify-full` refuses the self-signed certificate with a typed TLS error, and is not retried.
//! - MariaDB: `prefer` falls back to plain TCP (the server offers no TLS); `require` and `verify-full` are refused
//!   with a typed TLS error. A MySQL server with TLS is not tested here: encryption with `require` and a
//!   certificate check with `verify-full` against such a server are untested on these machines.

use polystoreiq_protocol::types::{ColumnValues, DbTarget, SourceKind, TlsMode};
use polystoreiq_protocol::worker::{DbAction, DbJob, FromWorker, Job};

use crate::support::{Profile, run_worker_job};

const PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// What the server says about the worker's own connection.
const SSL_QUERY: &str = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

/// Whether a query worker's own connection in `tls` mode is encrypted, as the server says.
fn worker_connection_encrypted(tls: TlsMode) -> bool {
    let run = run_worker_job(Job::Database(DbJob {
        kind: SourceKind::Postgres,
        target: DbTarget {
            host: "127.0.0.1".into(),
            port: 5432,
            database: "postgres".into(),
            user: "postgres".into(),
            tls,
        },
        password: None,
        action: DbAction::Query { sql: SSL_QUERY.into(), row_limit: 10, batch_rows: 10, timeout_ms: 10_000 },
    }));
    assert!(run.failure().is_none(), "{:?}: {}", run.failure(), run.stderr);
    let values = run.frames.iter().find_map(|frame| match frame {
        FromWorker::Batch(batch) => batch.columns.first().cloned(),
        _ => None,
    });
    match values {
        Some(ColumnValues::Bool(values)) => values.first().copied().flatten().unwrap_or_default(),
        other => panic!("pg_stat_ssl.ssl is not one boolean: {other:?}"),
    }
}

#[test]
fn postgres_require_and_prefer_encrypt_and_disable_does_not() {
    let p = Profile::new();
    let modes = [
        ("req", "require", TlsMode::Require, true),
        ("pref", "prefer", TlsMode::Prefer, true),
        ("plain", "disable", TlsMode::Disable, false),
    ];
    for (name, mode, tls_mode, tls) in modes {
        let added = p.ok(&["source", "add", name, "--kind", "postgres", "--url", PG_URL, "--tls", mode]);
        assert_eq!(added["target"]["tls"], mode, "{added}");
        let report = p.ok(&["source", "test", name]);
        let expected = if tls { "(TLS)" } else { "(no TLS)" };
        assert!(report["message"].as_str().unwrap().contains(expected), "{mode}: {report}");
        assert_eq!(worker_connection_encrypted(tls_mode), tls, "{mode}: pg_stat_ssl of a query worker's backend");
    }
}

#[test]
fn postgres_verify_full_refuses_a_self_signed_certificate_and_is_not_retried() {
    let p = Profile::new();
    let err = p.err(&["source", "add", "vf", "--kind", "postgres", "--url", PG_URL, "--tls", "verify-full"]);
    assert_eq!(err["code"], "tls_failed", "{err}");
    let message = err["message"].as_str().unwrap();
    assert!(message.contains("certificate"), "{message}");
    assert!(message.contains("--tls require"), "the error says what to do: {message}");
    // A certificate problem is not a server that is down: nothing was tried again.
    let retries = p.ok(&["audit", "--action", "connect.retry"]);
    assert_eq!(retries, serde_json::json!([]), "{retries}");
    assert_eq!(p.ok(&["source", "list"]), serde_json::json!([]));
}

#[test]
fn mysql_prefer_falls_back_to_plain_tcp_and_require_is_refused() {
    let p = Profile::new();
    let url = "mysql://root@127.0.0.1:3306/mysql";
    p.ok(&["source", "add", "my", "--kind", "mysql", "--url", url, "--tls", "prefer"]);
    let report = p.ok(&["source", "test", "my"]);
    assert!(report["message"].as_str().unwrap().contains("(no TLS)"), "{report}");
    for mode in ["require", "verify-full"] {
        let err = p.err(&["source", "add", "my2", "--kind", "mysql", "--url", url, "--tls", mode]);
        assert_eq!(err["code"], "tls_failed", "{mode}: {err}");
        assert!(err["message"].as_str().unwrap().contains("does not offer TLS"), "{mode}: {err}");
    }
}

#[test]
fn the_help_says_what_require_does_not_check() {
    let p = Profile::new();
    let out = p.plain_command(&["source", "add", "--help"]).output().expect("psiq");
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(help.contains("verify-full"), "{help}");
    assert!(help.contains("does not check the server's certificate"), "{help}");
}
