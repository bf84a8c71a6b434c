//! TLS to the database servers, with libpq's sslmode meanings, against the real servers: the local PostgreSQL
//! has `ssl = on` with Debian's self-signed "snakeoil" certificate, the local MariaDB has no TLS.
//!
//! - PostgreSQL: `require` (and `prefer`) connect encrypted without checking the certificate, which the
//!   server's own `pg_stat_ssl` confirms for the worker's backend; `disable` connects in plain TCP;
//!   `verify-full` refuses the self-signed certificate with a typed TLS error, and is not retried.
//! - MariaDB: `prefer` falls back to plain TCP (the server offers no TLS); `require` and `verify-full` are refused
//!   with a typed TLS error. A MySQL server with TLS is not tested here: encryption with `require` and a
//!   certificate check with `verify-full` against such a server are untested on these machines.

use serde_json::Value;

use crate::support::Profile;

const PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// What the server says about the worker's own connection.
const SSL_QUERY: &str = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

fn first_value(summary: &Value) -> Value {
    summary["first_page"]["rows"][0]["ssl"].clone()
}

#[test]
fn postgres_require_and_prefer_encrypt_and_disable_does_not() {
    let p = Profile::new();
    for (name, mode, tls) in [("req", "require", true), ("pref", "prefer", true), ("plain", "disable", false)] {
        let added = p.ok(&["source", "add", name, "--kind", "postgres", "--url", PG_URL, "--tls", mode]);
        assert_eq!(added["target"]["tls"], mode, "{added}");
        let report = p.ok(&["source", "test", name]);
        let expected = if tls { "(TLS)" } else { "(no TLS)" };
        assert!(report["message"].as_str().unwrap().contains(expected), "{mode}: {report}");
        let summary = p.query(name, SSL_QUERY);
        assert_eq!(first_value(&summary), tls, "{mode}: pg_stat_ssl of the worker's backend: {summary}");
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
