//! The type matrix: for each engine, a table (or collection) holding values of every type it has, queried through
//! the real `psiq`, broker and worker, and the exact normalized values read back from `--json`: integers of every
//! width (unsigned on MariaDB), exact decimals as decimal strings, floats with NaN and the infinities (PostgreSQL
//! and MongoDB; MariaDB has none), booleans, text in other scripts and collations, empty strings apart from NULL,
//! dates, times, timestamps with and without time zone, intervals, UUIDs, JSON, arrays, enums, binary strings,
//! bit strings, network addresses, geometry as text, and MongoDB's ObjectIds, Decimal128, dates, nested documents
//! (flattened into dotted columns) and arrays (JSON). A type the connector cannot show fails with the cast to use.
//!
//! One module per engine; the helpers here read a run's columns and rows.

mod mariadb;
mod mongodb;
mod postgres;

use serde_json::Value;

use crate::support::Profile;

/// The result columns of a run as (name, db_type, logical).
fn columns(run: &Value) -> Vec<(String, String, String)> {
    let columns = run["first_page"]["columns"].as_array().unwrap_or_else(|| panic!("no columns in {run}"));
    columns
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_else(|| panic!("{k} of {c}")).to_owned();
            (s("name"), s("db_type"), s("logical"))
        })
        .collect()
}

fn expect_columns(run: &Value, want: &[(&str, &str, &str)]) {
    let want: Vec<(String, String, String)> =
        want.iter().map(|(n, t, l)| ((*n).to_owned(), (*t).to_owned(), (*l).to_owned())).collect();
    assert_eq!(columns(run), want);
}

/// Rows of a run's first page, compared one by one so a failure names the row.
fn expect_rows(run: &Value, want: &[Value]) {
    let rows = run["first_page"]["rows"].as_array().unwrap_or_else(|| panic!("no rows in {run}"));
    assert_eq!(rows.len(), want.len(), "{run}");
    for (got, want) in rows.iter().zip(want) {
        assert_eq!(got, want);
    }
}

/// Runs a query expected to fail and returns its error message, asserting the error's code.
fn failure(p: &Profile, source: &str, sql: &str) -> String {
    let error = p.err(&["query", source, "--sql", sql, "--yes"]);
    assert_eq!(error["code"], "query_failed", "{sql}: {error}");
    error["message"].as_str().expect("message").to_owned()
}
