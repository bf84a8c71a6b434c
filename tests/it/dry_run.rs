//! A draft's dry run, through the real `psiq` and broker on the seeded demo in each engine: before the user sees a
//! query, a worker prepares it (PostgreSQL, MariaDB, DuckDB) or explains it (SecantusDB, speaking MongoDB's wire
//! protocol) without running it. A query with an unknown name or a type error is shown with the server's error and
//! no approval token, so nothing runs; a sound one passes and runs as before.

use polystoreiq_tests::seed::{self, DEMO_DB, HOST, MONGO_PORT, MYSQL_PORT, PG_PORT, READER, READER_PASSWORD};
use serde_json::{Value, json};

use crate::support::Profile;

/// A profile with the seeded demo as four sources: `pg`, `my` (as the read-only user), `mongo` and `files`.
fn demo_sources() -> Profile {
    let options = seed::Options::default();
    seed::seed(&options).expect("seeding (scripts/seed downloads Chinook's fixture first)");
    let p = Profile::new();
    for (name, kind, url) in [
        ("pg", "postgres", format!("postgres://{READER}@{HOST}:{PG_PORT}/{DEMO_DB}")),
        ("my", "mysql", format!("mysql://{READER}@{HOST}:{MYSQL_PORT}/{DEMO_DB}")),
    ] {
        let args = ["source", "add", name, "--kind", kind, "--url", &url, "--password-stdin"];
        let out = p.run_with_stdin(&args, &format!("{READER_PASSWORD}\n"));
        assert!(out.status.success(), "source add {name}: {}", String::from_utf8_lossy(&out.stdout));
    }
    p.ok(&[
        "source",
        "add",
        "mongo",
        "--kind",
        "mongodb",
        "--url",
        &format!("mongodb://{HOST}:{MONGO_PORT}/{DEMO_DB}"),
    ]);
    let file = |name: &str| options.demo_dir().join(name).to_string_lossy().into_owned();
    let (customers, orders) = (file("customers.csv"), file("orders.parquet"));
    p.ok(&["source", "add", "files", "--kind", "files", "--path", &customers, &orders]);
    p
}

fn preview(p: &Profile, source: &str, query: &str) -> Value {
    p.ok(&["query", source, "--sql", query])
}

/// Asserts a failed dry run whose message contains `said`, with the query allowed by the guardrail but no token.
fn assert_failed(draft: &Value, said: &str) {
    assert_eq!(draft["verdict"]["allowed"], true, "{draft}");
    assert_eq!(draft["check"]["outcome"], "failed", "{draft}");
    let message = draft["check"]["message"].as_str().unwrap();
    assert!(message.contains(said), "the dry run should say {said:?}: {message}");
    assert_eq!(draft["token"], Value::Null, "a draft that failed its dry run got a token: {draft}");
}

#[test]
fn every_engine_checks_a_draft_without_running_it() {
    let p = demo_sources();
    let mongo_count = json!({"collection": "orders", "count": {"status": "shipped"}}).to_string();
    let sound = [
        ("pg", "SELECT count(*) AS n FROM orders WHERE status = 'shipped'"),
        ("my", "SELECT count(*) AS n FROM orders WHERE status = 'shipped'"),
        ("files", "SELECT count(*) AS n FROM orders WHERE status = 'shipped'"),
        ("mongo", mongo_count.as_str()),
    ];
    let mut counts = Vec::new();
    for (source, query) in sound {
        let draft = preview(&p, source, query);
        assert_eq!(draft["check"]["outcome"], "passed", "{source}: {draft}");
        assert_eq!(draft["attempts"], json!([]), "{draft}");
        let token = draft["token"].as_str().unwrap_or_else(|| panic!("{source}: no token in {draft}"));
        let run = p.ok(&["run", token]);
        counts.push(run["first_page"]["rows"][0].as_object().unwrap().values().next().unwrap().clone());
    }
    assert!(counts.windows(2).all(|w| w[0] == w[1]) && counts[0].as_u64() > Some(0), "{counts:?}");

    let ordrs = json!({"collection": "ordrs", "count": {}}).to_string();
    let broken = [
        // Unknown names: a column, a table, a collection.
        ("pg", "SELECT statuss FROM orders", "statuss"),
        ("my", "SELECT statuss FROM orders", "statuss"),
        ("files", "SELECT statuss FROM orders", "statuss"),
        ("pg", "SELECT count(*) FROM order_lines", "order_lines"),
        ("my", "SELECT count(*) FROM order_lines", "order_lines"),
        ("files", "SELECT count(*) FROM order_lines", "order_lines"),
        ("mongo", ordrs.as_str(), "no collection ordrs in database psiq_demo; it has: "),
        // Type errors.
        ("pg", "SELECT quantity + true FROM orders", "operator does not exist"),
        ("files", "SELECT quantity + true FROM orders", "No function matches"),
        // A column of a type the PostgreSQL connector cannot read: the cast to use, before anything runs.
        ("pg", "SELECT '1'::money AS m FROM orders", "m::numeric"),
    ];
    for (source, query, said) in broken {
        let draft = preview(&p, source, query);
        assert_failed(&draft, said);
        // `--yes` runs nothing either, and says why.
        let err = p.err(&["query", source, "--sql", query, "--yes"]);
        assert_eq!(err["code"], "query_failed", "{err}");
        assert!(err["message"].as_str().unwrap().starts_with("the dry run found an error, so nothing ran"), "{err}");
    }

    // Only the sound queries ran; the broken drafts are audited as such.
    let approved = p.ok(&["audit", "--action", "run.approve"]);
    assert_eq!(approved.as_array().unwrap().len(), sound.len(), "{approved}");
    let created = p.ok(&["audit", "--action", "draft.create"]);
    let failed = created
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["detail"].as_str().unwrap().starts_with("failed its dry run by user: "))
        .count();
    assert_eq!(failed, broken.len() * 2, "{created}");
    // Each dry run had a worker of its own, of the source's kind, that stopped with the query's error.
    let diag = p.diag();
    let failed_checks = diag["workers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["run"].is_null() && w["state"] == "failed" && w["error"] == "query_failed")
        .count();
    assert_eq!(failed_checks, broken.len() * 2, "{diag}");
    let validate = diag["stages"].as_array().unwrap().iter().find(|s| s["stage"] == "validate").cloned();
    let validate = validate.unwrap_or_else(|| panic!("no validate stage in {diag}"));
    assert_eq!(validate["count"].as_u64(), Some((sound.len() + broken.len() * 2) as u64), "{validate}");
}

/// The guardrail's refusal comes first: a refused query gets no dry run at all.
#[test]
fn a_refused_query_is_not_dry_run() {
    let p = Profile::new();
    let dir = p.data.path().join("t");
    std::fs::create_dir_all(&dir).unwrap();
    let csv = dir.join("t.csv");
    std::fs::write(&csv, "a\n1\n").unwrap();
    p.ok(&["source", "add", "t", "--kind", "files", "--path", &csv.to_string_lossy()]);
    let draft = preview(&p, "t", "DELETE FROM t");
    assert_eq!(draft["verdict"]["allowed"], false, "{draft}");
    assert_eq!((&draft["check"], &draft["token"]), (&Value::Null, &Value::Null), "{draft}");
    let passed = preview(&p, "t", "SELECT a FROM t");
    assert_eq!(passed["check"]["outcome"], "passed", "{passed}");
}
