//! The offline planner's evaluation: questions over the seeded demo and Chinook data (files with DuckDB,
//! PostgreSQL, MariaDB and SecantusDB), each asked through the real `psiq` and broker, its draft run, and the
//! result compared with a reference query's result on the same source (by value, not by query text). A case is
//! CORRECT when the results match (or an expected decline happens), DECLINED when the planner says it cannot
//! answer, and WRONG when it answers something else or drafts where it should have declined; a wrong answer is
//! worse than a decline, so the two are counted apart. [`report`] prints the accuracy per category.
//!
//! The cases are in `planner_eval_cases.rs`. Results are compared order-insensitively unless the case says the
//! order matters; numbers within a relative 1e-6; dates and midnight timestamps alike; and the planner's result
//! may carry extra columns (an entity's key beside its name) as long as the reference's columns are all there.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::seed;

pub use crate::planner_eval_cases::cases;

/// What a case is about; the report has one row per category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    Count,
    Sum,
    Avg,
    MinMax,
    TopN,
    GroupBy,
    FilterValue,
    FilterDate,
    Trend,
    Join,
    FollowUp,
    Decline,
}

impl Category {
    pub fn name(self) -> &'static str {
        match self {
            Category::Count => "count",
            Category::Sum => "sum",
            Category::Avg => "avg",
            Category::MinMax => "min/max",
            Category::TopN => "top-N",
            Category::GroupBy => "group-by",
            Category::FilterValue => "filter value",
            Category::FilterDate => "filter date",
            Category::Trend => "trend",
            Category::Join => "join",
            Category::FollowUp => "follow-up",
            Category::Decline => "decline",
        }
    }
}

/// What a case expects.
#[derive(Clone, Debug)]
pub enum Expected {
    /// The rows this reference query returns on the same source; `ordered` when the order is part of the answer.
    /// `{today}` in the reference is replaced by today's date (UTC), as the planner sees it.
    Rows { reference: String, ordered: bool },
    /// A `draft_declined` answer.
    Decline,
}

#[derive(Clone, Debug)]
pub struct Case {
    /// A source of the evaluation profile (see [`SOURCES`]).
    pub source: &'static str,
    pub category: Category,
    pub question: &'static str,
    /// A follow-up asked in the same session after `question`; the expectation is about its answer.
    pub follow_up: Option<&'static str>,
    pub expected: Expected,
}

/// The sources the cases use, by name: the seeded demo as files and on MariaDB and SecantusDB, and Chinook on
/// PostgreSQL and SecantusDB.
pub const SOURCES: &[&str] = &["files_demo", "my_demo", "mongo_demo", "pg_chinook", "mongo_chinook"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Correct,
    Declined,
    Wrong,
}

#[derive(Clone, Debug)]
pub struct Outcome {
    pub case: Case,
    pub verdict: Verdict,
    /// The planner's query (of the follow-up, for a pair), when it drafted one.
    pub query: Option<String>,
    /// Why: the decline's message, the mismatch, or the error.
    pub detail: String,
    pub elapsed: Duration,
}

/// `psiq --json` in one profile.
pub struct Psiq {
    bin: PathBuf,
    home: PathBuf,
}

impl Psiq {
    pub fn new(bin_dir: &Path, home: &Path) -> Psiq {
        Psiq { bin: bin_dir.join("psiq"), home: home.to_path_buf() }
    }

    fn command(&self, args: &[&str]) -> Command {
        #[allow(clippy::disallowed_methods)] // The evaluation drives the real CLI binary.
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--home").arg(&self.home).arg("--json").args(args).env_remove("POLYSTOREIQ_HOME");
        cmd
    }

    /// The JSON psiq printed: `Ok` on success, `Err` with its error object otherwise.
    pub fn call(&self, args: &[&str]) -> anyhow::Result<Result<Value, Value>> {
        self.call_with_stdin(args, None)
    }

    pub fn call_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> anyhow::Result<Result<Value, Value>> {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", self.bin.display()))?;
        if let Some(input) = stdin {
            child.stdin.take().context("stdin")?.write_all(input.as_bytes())?;
        }
        let out = child.wait_with_output()?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("null");
        let value: Value = serde_json::from_str(line).with_context(|| {
            format!("psiq {args:?} printed no JSON: {stdout}{}", String::from_utf8_lossy(&out.stderr))
        })?;
        Ok(if out.status.success() { Ok(value) } else { Err(value["error"].clone()) })
    }

    fn ok(&self, args: &[&str]) -> anyhow::Result<Value> {
        self.call(args)?.map_err(|e| anyhow::anyhow!("psiq {args:?} failed: {e}"))
    }

    /// Stops the profile's broker.
    pub fn stop(&self) {
        let _ = self.command(&["broker", "stop"]).stdin(Stdio::null()).output();
    }
}

/// Registers the evaluation's sources in `psiq`'s profile: the seeded files, and the servers as the read-only
/// user (SecantusDB on 37017 needs none).
pub fn add_sources(psiq: &Psiq, options: &seed::Options) -> anyhow::Result<()> {
    let demo = options.demo_dir();
    let file = |name: &str| demo.join(name).to_string_lossy().into_owned();
    let (customers, products, orders) = (file("customers.csv"), file("products.json"), file("orders.parquet"));
    psiq.ok(&["source", "add", "files_demo", "--kind", "files", "--path", &customers, &products, &orders])?;
    let password = format!("{}\n", seed::READER_PASSWORD);
    let reader = |kind: &str, port: u16, db: &str| format!("{kind}://{}@{}:{port}/{db}", seed::READER, seed::HOST);
    for (name, kind, url) in [
        ("my_demo", "mysql", reader("mysql", seed::MYSQL_PORT, seed::DEMO_DB)),
        ("pg_chinook", "postgres", reader("postgres", seed::PG_PORT, seed::CHINOOK_DB)),
    ] {
        let args = ["source", "add", name, "--kind", kind, "--url", &url, "--password-stdin"];
        psiq.call_with_stdin(&args, Some(&password))?.map_err(|e| anyhow::anyhow!("adding {name}: {e}"))?;
    }
    for (name, db) in [("mongo_demo", seed::DEMO_DB), ("mongo_chinook", seed::CHINOOK_DB)] {
        let url = format!("mongodb://{}:{}/{db}", seed::HOST, seed::MONGO_PORT);
        psiq.ok(&["source", "add", name, "--kind", "mongodb", "--url", &url])?;
    }
    Ok(())
}

/// Seeds the servers (a no-op when `scripts/seed` already ran), starts a throw-away profile in `home`, adds the
/// sources and runs every case in `cases`: each source's cases in order on a thread of their own (the sources are
/// independent; the broker serves them side by side). Outcomes come back in the order of `cases`.
pub fn evaluate(bin_dir: &Path, home: &Path, cases: &[Case], progress: bool) -> anyhow::Result<Vec<Outcome>> {
    let options = seed::Options::default();
    seed::seed(&options).context("seeding the test servers (scripts/seed downloads Chinook's fixture first)")?;
    let psiq = Psiq::new(bin_dir, home);
    let _stop = StopBroker(&psiq);
    add_sources(&psiq, &options)?;
    let today = today();
    let done = std::sync::atomic::AtomicUsize::new(0);
    let mut by_source: BTreeMap<&str, Vec<(usize, &Case)>> = BTreeMap::new();
    for (i, case) in cases.iter().enumerate() {
        by_source.entry(case.source).or_default().push((i, case));
    }
    let results: Vec<(usize, anyhow::Result<Outcome>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = by_source
            .into_values()
            .map(|group| {
                let (psiq, today, done) = (&psiq, &today, &done);
                scope.spawn(move || {
                    group
                        .into_iter()
                        .map(|(i, case)| {
                            let outcome = run_case(psiq, case, today);
                            let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                            if progress {
                                let verdict = outcome.as_ref().map_or("ERROR".into(), |o| format!("{:?}", o.verdict));
                                eprintln!(
                                    "[{n}/{}] {:<8} {:<13} {} {}",
                                    cases.len(),
                                    verdict.to_uppercase(),
                                    case.source,
                                    case.question,
                                    case.follow_up.map(|f| format!("→ {f}")).unwrap_or_default()
                                );
                            }
                            (i, outcome)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    let mut ordered: Vec<(usize, Outcome)> = Vec::with_capacity(cases.len());
    let mut broken = Vec::new();
    for (i, result) in results {
        match result {
            Ok(outcome) => ordered.push((i, outcome)),
            // A reference that does not run is a fault of the set, not of the planner.
            Err(err) => broken.push(format!("{err:#}")),
        }
    }
    if !broken.is_empty() {
        bail!("{} cases could not be evaluated:\n{}", broken.len(), broken.join("\n"));
    }
    if ordered.len() != cases.len() {
        bail!("{} of {} cases ran; an evaluation thread panicked", ordered.len(), cases.len());
    }
    ordered.sort_by_key(|(i, _)| *i);
    Ok(ordered.into_iter().map(|(_, o)| o).collect())
}

/// Stops the profile's broker however the evaluation ends.
struct StopBroker<'a>(&'a Psiq);

impl Drop for StopBroker<'_> {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// Today in UTC, as `YYYY-MM-DD` (what the planner uses for relative dates).
pub fn today() -> String {
    polystoreiq_broker::planner::Date::today().to_string()
}

fn run_case(psiq: &Psiq, case: &Case, today: &str) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let outcome = |verdict, query: Option<String>, detail: String| Outcome {
        case: case.clone(),
        verdict,
        query,
        detail,
        elapsed: started.elapsed(),
    };
    let mut session = None;
    if case.follow_up.is_some() {
        let created = psiq.ok(&["session", "new", case.question])?;
        session = Some(created["id"].as_u64().context("a session id")?.to_string());
    }
    let ask = |question: &str| -> anyhow::Result<Result<Value, Value>> {
        let mut args = vec!["ask", case.source, question];
        if let Some(id) = &session {
            args.extend(["--session", id.as_str()]);
        }
        psiq.call(&args)
    };
    let mut draft = ask(case.question)?;
    if let Some(follow_up) = case.follow_up {
        if let Err(err) = &draft {
            return Ok(outcome(
                Verdict::Declined,
                None,
                format!("the first question was declined: {}", err["message"]),
            ));
        }
        draft = ask(follow_up)?;
    }
    let draft = match draft {
        Ok(draft) => draft,
        Err(err) if err["code"] == "draft_declined" => {
            let message = err["message"].as_str().unwrap_or_default().to_owned();
            return Ok(match case.expected {
                Expected::Decline => outcome(Verdict::Correct, None, message),
                Expected::Rows { .. } => outcome(Verdict::Declined, None, message),
            });
        }
        Err(err) => return Ok(outcome(Verdict::Wrong, None, format!("ask failed: {err}"))),
    };
    let query = draft["query"].as_str().unwrap_or_default().to_owned();
    if draft["provider"] != polystoreiq_broker::planner::PROVIDER {
        bail!("{}: drafted by {} rather than the offline planner", case.question, draft["provider"]);
    }
    let (reference, ordered) = match &case.expected {
        Expected::Decline => {
            return Ok(outcome(Verdict::Wrong, Some(query), "drafted a query where a decline was expected".into()));
        }
        Expected::Rows { reference, ordered } => (reference.replace("{today}", today), *ordered),
    };
    let Some(token) = draft["token"].as_str() else {
        return Ok(outcome(
            Verdict::Wrong,
            Some(query),
            format!("the guardrail refused the draft: {}", draft["verdict"]),
        ));
    };
    let actual = match psiq.call(&["run", token])? {
        Ok(run) => rows(psiq, &run)?,
        Err(err) => return Ok(outcome(Verdict::Wrong, Some(query), format!("the draft failed to run: {err}"))),
    };
    let expected = match psiq.call(&["query", case.source, "--sql", &reference, "--yes"])? {
        Ok(run) => rows(psiq, &run)?,
        Err(err) => bail!("the reference of {:?} on {} fails: {err}\n{reference}", case.question, case.source),
    };
    Ok(match compare(&expected, &actual, ordered) {
        Ok(()) => outcome(Verdict::Correct, Some(query), String::new()),
        Err(why) => outcome(Verdict::Wrong, Some(query), why),
    })
}

/// A result as rows of cells in column order.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// A value as compared: numbers (exact decimals included) within a tolerance, everything else as text.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Null,
    Num(f64),
    Text(String),
}

impl Cell {
    pub fn of(value: &Value) -> Cell {
        match value {
            Value::Null => Cell::Null,
            Value::Number(n) => Cell::Num(n.as_f64().unwrap_or(f64::NAN)),
            Value::Bool(b) => Cell::Text(b.to_string()),
            Value::String(s) => {
                // Exact decimals come as text; so do dates and timestamps (a midnight timestamp equals its date).
                let looks_numeric = s.chars().next().is_some_and(|c| c.is_ascii_digit() || c == '-')
                    && s.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | 'e' | 'E' | '+'))
                    && !s[1..].contains('-');
                match s.parse::<f64>() {
                    Ok(n) if looks_numeric => Cell::Num(n),
                    _ => Cell::Text(s.strip_suffix(" 00:00:00").unwrap_or(s).to_owned()),
                }
            }
            other => Cell::Text(other.to_string()),
        }
    }

    fn matches(&self, other: &Cell) -> bool {
        match (self, other) {
            (Cell::Num(a), Cell::Num(b)) => (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0),
            (a, b) => a == b,
        }
    }

    /// For sorting rows into a canonical order before matching them.
    fn key(&self) -> String {
        match self {
            Cell::Null => "\u{0}".into(),
            Cell::Num(n) => format!("{:+024.6}", n),
            Cell::Text(t) => t.clone(),
        }
    }
}

impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cell::Null => write!(f, "NULL"),
            Cell::Num(n) => write!(f, "{n}"),
            Cell::Text(t) => write!(f, "{t:?}"),
        }
    }
}

/// Every row of a finished run (pages beyond the first fetched with `psiq result`).
fn rows(psiq: &Psiq, run: &Value) -> anyhow::Result<Table> {
    let page = &run["first_page"];
    let columns: Vec<String> = page["columns"]
        .as_array()
        .context("a result without columns")?
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    let mut objects: Vec<Value> = page["rows"].as_array().cloned().unwrap_or_default();
    let total = run["rows"].as_u64().unwrap_or(0) as usize;
    if objects.len() < total {
        // `psiq result` pages through every stored row.
        let all = psiq.ok(&["result", &run["run"].to_string()])?;
        objects = all["rows"].as_array().cloned().unwrap_or_default();
    }
    let rows = objects.iter().map(|row| columns.iter().map(|c| Cell::of(&row[c])).collect()).collect();
    Ok(Table { columns, rows })
}

/// Whether `actual` holds `expected`: the same number of rows; for each expected column an actual column (the
/// first whose values fit); rows equal as multisets (or in order, when `ordered`).
pub fn compare(expected: &Table, actual: &Table, ordered: bool) -> Result<(), String> {
    if expected.rows.len() != actual.rows.len() {
        return Err(format!(
            "{} rows where the reference has {} (first: {} / reference: {})",
            actual.rows.len(),
            expected.rows.len(),
            show_row(actual.rows.first()),
            show_row(expected.rows.first())
        ));
    }
    let width = expected.columns.len();
    // Candidate actual columns per expected column: the same multiset of values.
    let sorted_column = |table: &Table, c: usize| -> Vec<Cell> {
        let mut cells: Vec<Cell> = table.rows.iter().map(|r| r[c].clone()).collect();
        cells.sort_by_key(Cell::key);
        cells
    };
    let mut candidates: Vec<Vec<usize>> = Vec::with_capacity(width);
    for e in 0..width {
        let want = sorted_column(expected, e);
        let fits: Vec<usize> = (0..actual.columns.len())
            .filter(|&a| {
                let have = sorted_column(actual, a);
                have.len() == want.len() && have.iter().zip(&want).all(|(x, y)| x.matches(y))
            })
            .collect();
        if fits.is_empty() {
            return Err(format!(
                "no column of the answer ({}) holds the reference's {:?} ({})",
                actual.columns.join(", "),
                expected.columns[e],
                want.iter().take(5).map(ToString::to_string).collect::<Vec<_>>().join(", ")
            ));
        }
        candidates.push(fits);
    }
    // Try each assignment of distinct columns (few: most columns have one candidate).
    let mut assignment = vec![0usize; width];
    let mut tried = 0;
    loop {
        let mapping: Vec<usize> = (0..width).map(|e| candidates[e][assignment[e]]).collect();
        let distinct = mapping.iter().enumerate().all(|(i, m)| !mapping[..i].contains(m));
        if distinct && rows_match(expected, actual, &mapping, ordered) {
            return Ok(());
        }
        tried += 1;
        // Next assignment, odometer style.
        let mut k = 0;
        loop {
            if k == width || tried > 10_000 {
                let what = if ordered { "in order" } else { "as sets" };
                return Err(format!(
                    "the rows differ {what}: answer {} / reference {}",
                    show_rows(actual),
                    show_rows(expected)
                ));
            }
            assignment[k] += 1;
            if assignment[k] < candidates[k].len() {
                break;
            }
            assignment[k] = 0;
            k += 1;
        }
    }
}

fn rows_match(expected: &Table, actual: &Table, mapping: &[usize], ordered: bool) -> bool {
    let project = |row: &Vec<Cell>| -> Vec<Cell> { mapping.iter().map(|&a| row[a].clone()).collect() };
    let mut have: Vec<Vec<Cell>> = actual.rows.iter().map(project).collect();
    let mut want: Vec<Vec<Cell>> = expected.rows.clone();
    if !ordered {
        let key = |r: &Vec<Cell>| r.iter().map(Cell::key).collect::<Vec<_>>();
        have.sort_by_key(key);
        want.sort_by_key(key);
    }
    have.iter().zip(&want).all(|(h, w)| h.iter().zip(w).all(|(a, b)| a.matches(b)))
}

fn show_row(row: Option<&Vec<Cell>>) -> String {
    row.map_or("none".into(), |r| format!("({})", r.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")))
}

fn show_rows(table: &Table) -> String {
    let mut text: Vec<String> = table.rows.iter().take(3).map(|r| show_row(Some(r))).collect();
    if table.rows.len() > 3 {
        text.push(format!("… {} rows", table.rows.len()));
    }
    text.join(" ")
}

/// Counts per category.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub total: usize,
    pub correct: usize,
    pub declined: usize,
    pub wrong: usize,
}

impl Tally {
    pub fn add(&mut self, verdict: Verdict) {
        self.total += 1;
        match verdict {
            Verdict::Correct => self.correct += 1,
            Verdict::Declined => self.declined += 1,
            Verdict::Wrong => self.wrong += 1,
        }
    }

    pub fn correct_share(&self) -> f64 {
        self.correct as f64 / self.total.max(1) as f64
    }

    pub fn wrong_share(&self) -> f64 {
        self.wrong as f64 / self.total.max(1) as f64
    }
}

/// The share of correct answers the planner must reach, and the share of wrong ones it must stay under.
pub const TARGET_CORRECT: f64 = 0.90;
pub const TARGET_WRONG: f64 = 0.03;

pub fn tally(outcomes: &[Outcome]) -> (BTreeMap<Category, Tally>, Tally) {
    let mut per = BTreeMap::new();
    let mut all = Tally::default();
    for o in outcomes {
        per.entry(o.case.category).or_insert_with(Tally::default).add(o.verdict);
        all.add(o.verdict);
    }
    (per, all)
}

/// The report: a Markdown table per category and overall, then every case that was not correct.
pub fn report(outcomes: &[Outcome]) -> String {
    let (per, all) = tally(outcomes);
    let mut out = String::new();
    let pct = |n: usize, t: &Tally| format!("{n} ({:.0}%)", 100.0 * n as f64 / t.total.max(1) as f64);
    let sources: Vec<&str> = {
        let mut s: Vec<&str> = outcomes.iter().map(|o| o.case.source).collect();
        s.sort_unstable();
        s.dedup();
        s
    };
    let _ = writeln!(
        out,
        "Offline planner evaluation: {} cases over {} ({} follow-up pairs), results compared by value.\n",
        all.total,
        sources.join(", "),
        outcomes.iter().filter(|o| o.case.follow_up.is_some()).count()
    );
    let _ = writeln!(out, "| category | cases | correct | declined | WRONG |\n|---|---|---|---|---|");
    for (category, t) in &per {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            category.name(),
            t.total,
            pct(t.correct, t),
            pct(t.declined, t),
            pct(t.wrong, t)
        );
    }
    let _ = writeln!(
        out,
        "| **all** | **{}** | **{}** | **{}** | **{}** |",
        all.total,
        pct(all.correct, &all),
        pct(all.declined, &all),
        pct(all.wrong, &all)
    );
    let _ = writeln!(
        out,
        "\nTargets: correct ≥ {:.0}% ({}), wrong < {:.0}% ({}).",
        TARGET_CORRECT * 100.0,
        if all.correct_share() >= TARGET_CORRECT { "met" } else { "MISSED" },
        TARGET_WRONG * 100.0,
        if all.wrong_share() < TARGET_WRONG { "met" } else { "MISSED" }
    );
    let misses: Vec<&Outcome> = outcomes.iter().filter(|o| o.verdict != Verdict::Correct).collect();
    if !misses.is_empty() {
        let _ = writeln!(out, "\nNot correct:\n");
        for o in misses {
            let question = match o.case.follow_up {
                Some(f) => format!("{} → {f}", o.case.question),
                None => o.case.question.to_owned(),
            };
            let _ = writeln!(
                out,
                "- {:?} [{}] {} on {}: {}{}",
                o.verdict,
                o.case.category.name(),
                question,
                o.case.source,
                o.detail,
                o.query.as_ref().map(|q| format!("\n  query: {q}")).unwrap_or_default()
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table(columns: &[&str], rows: Vec<Vec<Value>>) -> Table {
        Table {
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows: rows.iter().map(|r| r.iter().map(Cell::of).collect()).collect(),
        }
    }

    #[test]
    fn results_compare_by_value_with_extra_columns_and_order_when_asked() {
        let reference = table(&["name", "n"], vec![vec![json!("a"), json!(2)], vec![json!("b"), json!(1)]]);
        let answer = table(
            &["id", "name", "count"],
            vec![vec![json!(7), json!("b"), json!("1")], vec![json!(3), json!("a"), json!(2.0000000001)]],
        );
        assert_eq!(compare(&reference, &answer, false), Ok(()));
        assert!(compare(&reference, &answer, true).is_err(), "the order differs");
        let wrong = table(&["name", "n"], vec![vec![json!("a"), json!(3)], vec![json!("b"), json!(1)]]);
        assert!(compare(&reference, &wrong, false).is_err());
        let fewer = table(&["name", "n"], vec![vec![json!("a"), json!(2)]]);
        assert!(compare(&reference, &fewer, false).unwrap_err().contains("1 rows where the reference has 2"));
        let dates = table(&["d"], vec![vec![json!("2024-01-01 00:00:00")]]);
        assert_eq!(compare(&table(&["d"], vec![vec![json!("2024-01-01")]]), &dates, true), Ok(()));
        // Two columns with the same values: either assignment may be the right one.
        let twins = table(&["a", "b"], vec![vec![json!(1), json!(1)], vec![json!(2), json!(1)]]);
        let swapped = table(&["b", "a"], vec![vec![json!(1), json!(1)], vec![json!(1), json!(2)]]);
        assert_eq!(compare(&twins, &swapped, true), Ok(()));
        assert_eq!(Cell::of(&json!("12227-000")), Cell::Text("12227-000".into()));
        assert_eq!(Cell::of(&json!("-3.5")), Cell::Num(-3.5));
    }
}
