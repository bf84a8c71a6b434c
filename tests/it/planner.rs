//! The offline planner through the real `psiq`, broker and workers: the evaluation set (questions over the
//! seeded demo and Chinook data on files, PostgreSQL, MariaDB and SecantusDB, each answer run and compared by
//! value with a reference query's) must be at least 90% correct with under 3% wrong answers; follow-ups work
//! in a chat session and are declined, saying why, outside one.
//!
//! The evaluation seeds the servers first (a no-op when `scripts/seed` already ran), so it needs Chinook's
//! fixture, which `scripts/seed` downloads.

use polystoreiq_tests::{fixtures, planner_eval};

use crate::support::{Profile, bin_dir};

#[test]
fn the_evaluation_set_meets_its_targets_through_psiq_and_the_broker() {
    let cases = planner_eval::cases();
    assert!(cases.len() >= 120, "{} cases", cases.len());
    let home = tempfile::Builder::new().prefix("psiq-planner-eval").tempdir().unwrap();
    let outcomes = planner_eval::evaluate(&bin_dir(), home.path(), &cases, false).expect("the evaluation runs");
    let report = planner_eval::report(&outcomes);
    println!("{report}");
    let (per, all) = planner_eval::tally(&outcomes);
    assert_eq!(all.total, cases.len());
    assert!(per.len() >= 12, "every category has cases: {report}");
    assert!(
        all.correct_share() >= planner_eval::TARGET_CORRECT,
        "{:.1}% correct, the target is {:.0}%\n{report}",
        100.0 * all.correct_share(),
        100.0 * planner_eval::TARGET_CORRECT
    );
    assert!(
        all.wrong_share() < planner_eval::TARGET_WRONG,
        "{:.1}% wrong, the target is under {:.0}%\n{report}",
        100.0 * all.wrong_share(),
        100.0 * planner_eval::TARGET_WRONG
    );
    // Every expected decline was a decline: the planner never drafts where it should say it cannot.
    let declines = per.get(&planner_eval::Category::Decline).copied().unwrap_or_default();
    assert_eq!(declines.correct, declines.total, "{report}");
}

#[test]
fn follow_ups_rewrite_the_previous_draft_in_a_session_and_are_declined_outside_one() {
    let p = Profile::new();
    let dir = p.data.path().join("demo");
    fixtures::write_demo(&dir).unwrap();
    p.add_files("demo", &["customers.csv", "products.json", "orders.parquet"].map(|name| dir.join(name)));

    let session = p.ok(&["session", "new", "sales"])["id"].to_string();
    let first = p.ok(&["ask", "demo", "revenue by channel", "--session", &session]);
    assert_eq!(first["provider"], "offline-planner");
    let follow = p.ok(&["ask", "demo", "split that by month in 2024", "--session", &session]);
    let query = follow["query"].as_str().unwrap();
    assert!(
        query.contains("\"channel\"") && query.contains("'month'") && query.contains("DATE '2024-01-01'"),
        "{query}"
    );
    assert!(follow["explanation"].as_str().unwrap().starts_with("Follow-up to \"revenue by channel\""), "{follow}");
    let run = p.ok(&["run", follow["token"].as_str().unwrap()]);
    assert_eq!(run["rows"], 36, "3 channels x 12 months: {run}");
    // Another follow-up builds on the last one.
    let again = p.ok(&["ask", "demo", "now only status 'cancelled'", "--session", &session]);
    let query = again["query"].as_str().unwrap();
    assert!(query.contains("'month'") && query.contains("lower(t0.\"status\") = 'cancelled'"), "{query}");

    let err = p.err(&["ask", "demo", "split that by month"]);
    assert_eq!(err["code"], "draft_declined");
    assert!(err["message"].as_str().unwrap().contains("--session"), "{err}");
    let err = p.err(&["ask", "demo", "how many cancelled orders"]);
    let message = err["message"].as_str().unwrap();
    assert!(message.contains("\"cancelled\"") && message.contains("status 'cancelled'"), "{message}");
}
