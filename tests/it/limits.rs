//! The limits the owner changes from a front end (`psiq settings limits`, the app's Settings screen): checked
//! against their ranges, applied to the next run without a restart, kept across broker restarts, and outranked by a
//! `POLYSTOREIQ_*` variable the broker started with.

use std::process::Stdio;

use serde_json::{Value, json};

use crate::support::{Profile, parse_last_json};

fn items(p: &Profile) {
    let path = p.data_path("items.csv");
    let rows: String = (1..=50).map(|i| format!("{i},item {i}\n")).collect();
    std::fs::write(&path, format!("id,name\n{rows}")).unwrap();
    p.ok(&["source", "add", "items", "--kind", "files", "--path", &path]);
}

/// `psiq ARGS` with one more variable in its environment, which a broker it starts inherits.
fn ok_with_env(p: &Profile, args: &[&str], name: &str, value: &str) -> Value {
    let out = p.command(args).env(name, value).stdin(Stdio::null()).output().expect("psiq runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "psiq {args:?} failed: {stdout}");
    parse_last_json(&stdout)
}

/// The detail of the latest `settings.limits` audit event (the log lists oldest first).
fn latest_detail(p: &Profile) -> String {
    let audit = p.ok(&["audit", "--action", "settings.limits"]);
    let latest = audit.as_array().and_then(|events| events.last()).unwrap_or_else(|| panic!("no event: {audit}"));
    latest["detail"].as_str().unwrap().to_owned()
}

#[test]
fn limits_are_checked_apply_at_once_persist_and_yield_to_the_environment() {
    let p = Profile::new();
    items(&p);
    let settings = p.ok(&["settings", "show"]);
    assert_eq!(settings["limits"]["row_limit"], 10_000, "{settings}");
    assert_eq!(settings["env_fixed"], json!([]));

    // Out of range, or nothing to change: a typed error that names the range, and nothing stored.
    let err = p.err(&["settings", "limits", "--row-limit", "0"]);
    assert_eq!(err["code"], "bad_request");
    assert!(err["message"].as_str().unwrap().contains("between 1 and 1000000 rows"), "{err}");
    assert_eq!(p.err(&["settings", "limits", "--max-workers", "65"])["code"], "bad_request");
    assert_eq!(p.err(&["settings", "limits"])["code"], "bad_request");
    assert_eq!(p.ok(&["settings", "show"])["limits"]["max_workers"], settings["limits"]["max_workers"]);

    // A change applies to the next run and resizes the pool, with no restart, and is audited.
    let changed = p.ok(&["settings", "limits", "--row-limit", "7", "--max-workers", "1", "--run-timeout-s", "30"]);
    assert_eq!(changed["limits"]["row_limit"], 7);
    assert_eq!(changed["limits"]["max_workers"], 1);
    assert_eq!(changed["limits"]["run_timeout_ms"], 30_000);
    let run = p.query("items", "SELECT * FROM items ORDER BY id");
    assert_eq!((run["rows"].clone(), run["truncated"].clone()), (json!(7), json!(true)), "{run}");
    assert_eq!(p.diag()["pool"]["max_workers"], 1);
    let detail = latest_detail(&p);
    assert!(detail.contains("row_limit=7") && detail.contains("max_workers=1"), "{detail}");

    // Kept across a restart.
    p.stop_broker();
    assert_eq!(p.ok(&["settings", "show"])["limits"]["row_limit"], 7);
    assert_eq!(p.query("items", "SELECT * FROM items")["rows"], 7);

    // A variable the broker started with wins: a change to that limit is stored but not applied, and says so.
    p.stop_broker();
    let fixed = ok_with_env(&p, &["settings", "show"], "POLYSTOREIQ_ROW_LIMIT", "5");
    assert_eq!((fixed["limits"]["row_limit"].clone(), fixed["env_fixed"].clone()), (json!(5), json!(["row_limit"])));
    let stored = p.ok(&["settings", "limits", "--row-limit", "9"]);
    assert_eq!(stored["limits"]["row_limit"], 5);
    assert_eq!(p.query("items", "SELECT * FROM items")["rows"], 5);
    let detail = latest_detail(&p);
    assert!(detail.contains("row_limit=9 (stored; POLYSTOREIQ_ROW_LIMIT wins)"), "{detail}");
    // Without the variable, the stored value is in force.
    p.stop_broker();
    assert_eq!(p.ok(&["settings", "show"])["limits"]["row_limit"], 9);
}

#[test]
fn temp_space_and_work_mem_reach_the_workers_session() {
    let p = Profile::new();
    let url = "postgres://postgres@127.0.0.1:5432/postgres";
    p.ok(&["source", "add", "pg", "--kind", "postgres", "--url", url, "--tls", "disable"]);
    let settings = p.ok(&["settings", "show"]);
    assert_eq!(settings["limits"]["temp_space_mb"], 1024, "{settings}");
    assert_eq!(settings["limits"]["work_mem_mb"], 64, "{settings}");
    // A sort of ~20 MB: it fits in the default temporary space.
    let sort = "SELECT count(*) AS n FROM (SELECT md5(g::text) AS m FROM generate_series(1, 300000) g ORDER BY 1) s";
    let run = p.ok(&["query", "pg", "--sql", sort, "--yes"]);
    assert_eq!(run["first_page"]["rows"], json!([{"n": 300000}]), "{run}");
    // Out of range is refused and changes nothing.
    let err = p.err(&["settings", "limits", "--work-mem-mb", "0"]);
    assert_eq!(err["code"], "bad_request", "{err}");
    // With 1 MiB of each, the next run's session spills past its temp_file_limit: the broker sent the new limits
    // to the worker, which pinned them.
    let changed = p.ok(&["settings", "limits", "--temp-space-mb", "1", "--work-mem-mb", "1"]);
    assert_eq!(
        (changed["limits"]["temp_space_mb"].as_u64(), changed["limits"]["work_mem_mb"].as_u64()),
        (Some(1), Some(1))
    );
    let err = p.err(&["query", "pg", "--sql", sort, "--yes"]);
    assert_eq!(err["code"], "query_failed", "{err}");
    assert!(err["message"].as_str().unwrap().contains("temp_file_limit"), "{err}");
    assert_eq!(latest_detail(&p), "temp_space_mb=1 work_mem_mb=1");
}
