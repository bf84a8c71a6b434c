//! The desktop UI's speed, measured in the real release app (`polystoreiq` under `tauri-driver`, its broker and
//! workers) on a files source of two time series (100,000 and 10,000 rows), with the broker's row limit raised to
//! 100,000. The numbers are the page's own User Timing entries (`shell/ui/src/lib/timing.ts`) and frame intervals
//! taken in the page by `requestAnimationFrame`, read through WebDriver; WebDriver's own latency is in none of them.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};

use crate::desktop::App;
use crate::fixtures;
use crate::planner_eval::Psiq;

/// Rows of the large result, and the row limit the app's broker runs with.
const BIG: u64 = 100_000;
/// Points of the chart that is re-rendered.
const SMALL: u64 = 10_000;
const SOURCE: &str = "series";
/// The page's measure names (`shell/ui/src/lib/timing.ts`).
const FIRST_ROWS: &str = "psiq:approve-to-first-rows";
const RESULT_RENDER: &str = "psiq:result-render";
const CHART_RENDER: &str = "psiq:chart-render";
/// One 60 Hz frame.
const FRAME_MS: f64 = 1000.0 / 60.0;

/// How the section measures, for the line above its table.
pub const METHOD: &str = "The release app under `tauri-driver` (WebKitGTK's WebKitWebDriver) with its broker \
(row limit 100,000) and workers, on a files source of two Parquet time series (`ts` TIMESTAMP, `value` DOUBLE). \
Every time is taken in the page: User Timing measures the UI records (`shell/ui/src/lib/timing.ts`; each ends in a \
`requestAnimationFrame` + `setTimeout(0)` after the frame that shows the change) and `requestAnimationFrame` \
intervals, read through WebDriver afterwards. Chart: the 10,000 rows loaded, the kind switched 30 times (line, \
scatter, bar in turn; no run, no fetch). Approve: `SELECT * FROM series_100k ORDER BY ts` drafted (an asked \
question, edited) in a new session each run, and Approve clicked through WebDriver. Scroll: every row of the last \
run loaded with Load more, then the table's own scroll container moved once a frame; a frame counts as late past \
17.2 ms (16.7 ms and 0.5 ms of timer jitter; the page's clock has 1 ms steps) and as two frames late past 33.8 ms.";

/// The section's table rows, as Markdown; progress goes to stderr. With `compositing` false the app runs with
/// `WEBKIT_DISABLE_COMPOSITING_MODE=1`: WebKitGTK then paints the page itself instead of compositing layers through
/// GL, which under Xvfb is Mesa's software renderer.
pub fn section(bin_dir: &Path, work: &Path, runs: usize, switches: usize, compositing: bool) -> anyhow::Result<String> {
    let app_bin = bin_dir.join("polystoreiq");
    ensure!(app_bin.exists(), "{} is not built (cargo build --release --workspace --bins)", app_bin.display());
    let data = work.join("ui");
    for (name, rows) in [("series_100k", BIG), ("series_10k", SMALL)] {
        if !data.join(format!("{name}.parquet")).exists() {
            fixtures::write_series(&data, name, rows).with_context(|| format!("writing {name}"))?;
        }
    }
    let home = tempfile::Builder::new().prefix("psiq-bench-ui").tempdir()?;
    let exports = home.path().join("exports");
    let row_limit = BIG.to_string();
    let mut env = vec![
        ("POLYSTOREIQ_HOME", home.path().as_os_str()),
        ("POLYSTOREIQ_EXPORT_DIR", exports.as_os_str()),
        ("POLYSTOREIQ_ROW_LIMIT", OsStr::new(&row_limit)),
    ];
    if !compositing {
        env.push(("WEBKIT_DISABLE_COMPOSITING_MODE", OsStr::new("1")));
    }
    let shots = data.join(if compositing { "shots" } else { "shots-no-compositing" });
    let psiq = StopsBroker(Psiq::new(bin_dir, home.path()));
    // The app starts the profile's broker with this environment before its window opens.
    let app = App::launch(&app_bin, &env, &shots).context("launching the desktop app")?;
    app.ui().set_script_timeout(Duration::from_secs(110))?;
    // No screenshots with compositing off: WebKitWebDriver's screenshot never answers then.
    measure_all(&app, &psiq.0, &data, runs, switches, compositing)
}

/// Stops the profile's broker when dropped, after the app (declared later) has closed, a failed step included.
struct StopsBroker(Psiq);

impl Drop for StopsBroker {
    fn drop(&mut self) {
        self.0.stop();
    }
}

fn measure_all(
    app: &App,
    psiq: &Psiq,
    data: &Path,
    runs: usize,
    switches: usize,
    shots: bool,
) -> anyhow::Result<String> {
    let shot = |step: &str| {
        if shots {
            app.shot(step);
        }
    };
    app.wait("nav-sources");
    let file = |name: &str| data.join(name).to_string_lossy().into_owned();
    let (big, small) = (file("series_100k.parquet"), file("series_10k.parquet"));
    psiq.call(&["source", "add", SOURCE, "--kind", "files", "--path", &big, &small])?
        .map_err(|e| anyhow::anyhow!("adding the source: {e}"))?;
    app.click("nav-sources");
    app.click("sources-refresh");
    app.text_until(&format!("source-status-{SOURCE}"), |t| t.contains("CONNECTED"));
    app.click("nav-chat");

    // The chart: 10,000 points, re-rendered by switching its kind (no run, no fetch).
    eprintln!("ui bench: the 10k-point chart");
    let (recommended, rows) = run_query(app, "show series_10k", "SELECT * FROM series_10k ORDER BY ts")?;
    ensure!(rows == SMALL, "the 10k query answered {rows} rows");
    load_all(app)?;
    wait_measure(app, CHART_RENDER, |m| m["detail"]["points"] == json!(SMALL))?;
    app.ui().execute("document.querySelector('[data-testid=\"chart\"]').scrollIntoView({block: 'center'})", vec![])?;
    // Each switch draws another kind: line, scatter, bar in turn, from the one after the recommended kind.
    let kinds = ["line", "scatter", "bar"];
    let offset = kinds.iter().position(|k| *k == recommended).map_or(0, |at| at + 1);
    let (mut render, mut click) = (Vec::new(), Vec::new());
    let mut by_kind: Vec<(String, Vec<f64>)> = Vec::new();
    for i in 0..switches {
        let kind = kinds[(offset + i) % kinds.len()];
        let switched = app.ui().execute_async(SWITCH_CHART, vec![json!(kind)])?;
        ensure!(switched["detail"]["points"] == json!(SMALL), "the chart drew {switched}");
        let (r, c) = (number(&switched["render"])?, number(&switched["clickToPaint"])?);
        render.push(r);
        click.push(c);
        match by_kind.iter_mut().find(|(k, _)| k == kind) {
            Some((_, sample)) => sample.push(r),
            None => by_kind.push((kind.to_owned(), vec![r])),
        }
    }
    shot("ui-bench-chart");

    // Approve to the first rows of a 100,000-row result, each run in a new session of its own.
    eprintln!("ui bench: Approve to first rows, {runs} runs of 100k rows");
    let (mut first, mut painted) = (Vec::new(), Vec::new());
    let mut truncated = false;
    for _ in 0..runs {
        let (_, rows) = run_query(app, "show series_100k", "SELECT * FROM series_100k ORDER BY ts")?;
        ensure!(rows == BIG, "the run kept {rows} rows, not {BIG}: the row limit was not raised");
        first.push(duration(&wait_measure(app, FIRST_ROWS, |_| true)?)?);
        painted.push(duration(&wait_measure(app, RESULT_RENDER, |_| true)?)?);
        truncated |= app.ui().try_find(&App::testid("result-truncated"))?.is_some();
    }
    shot("ui-bench-first-rows");

    // Scrolling the table with every row of the last run loaded.
    eprintln!("ui bench: scrolling 100k rows");
    let loaded = load_all(app)?;
    ensure!(loaded == BIG, "{loaded} rows loaded, not {BIG}");
    // Each page loaded re-plots every row loaded; the last drew all 100,000.
    let big_chart = duration(&wait_measure(app, CHART_RENDER, |m| m["detail"]["points"] == json!(BIG))?)?;
    let idle = scroll(app, 120, 0.0, Some(0.0))?;
    let through = scroll(app, 1000, 0.0, None)?;
    let last = through["lastIndex"].as_u64().unwrap_or_default();
    ensure!(last + 1 == BIG, "after scrolling to the bottom the last row shown is #{}", last + 1);
    let wheel = scroll(app, 600, 0.5, Some(100.0))?;
    shot("ui-bench-scrolled");

    let mut out = String::new();
    let target = "p95 < 300 ms (design allows 1.5 s)";
    row(
        &mut out,
        "10k-point chart render: `setOption` to the frame painted after ECharts' `finished`, line/scatter/bar",
        &render,
        "renders",
        target,
    );
    for (kind, sample) in &by_kind {
        row(&mut out, &format!("– {kind}"), sample, "renders", target);
    }
    row(
        &mut out,
        "10k-point chart kind switch: click to the painted chart (React render, option from 10k rows, ECharts)",
        &click,
        "switches",
        "",
    );
    row(
        &mut out,
        "100k-row result: Approve to the first rows painted (run, first 1,000-row page, table and chart)",
        &first,
        "runs",
        "none set",
    );
    row(
        &mut out,
        "– of which the run's answer to that painted frame (the front end's `render` stage)",
        &painted,
        "runs",
        "",
    );
    row(&mut out, "chart render at 100k points (line), after the last Load more", &[big_chart], "render", "");
    let rate = |v: &Value| -> anyhow::Result<Vec<f64>> {
        v["intervals"].as_array().context("no frame intervals")?.iter().map(number).collect()
    };
    let (through_px, wheel_px) = (number(&through["perFrame"])?, number(&wheel["perFrame"])?);
    frames(
        &mut out,
        &format!(
            "results table, 100k rows loaded: frame interval scrolling top to bottom ({through_px:.0} px a frame)"
        ),
        &rate(&through)?,
    );
    frames(&mut out, &format!("– wheel-like, from the middle ({wheel_px:.0} px a frame)"), &rate(&wheel)?);
    frames(&mut out, "– idle (no scrolling), the table on screen: the page's frame pace", &rate(&idle)?);
    let handlers = |v: &Value| -> anyhow::Result<Vec<f64>> {
        v["handlers"].as_array().context("no scroll handler times")?.iter().map(number).collect()
    };
    let mut script = handlers(&through)?;
    script.extend(handlers(&wheel)?);
    row(
        &mut out,
        "– of a scroll frame, the page's scroll handlers (TanStack Virtual, React's render of the visible rows)",
        &script,
        "scroll events",
        "",
    );
    if truncated {
        out.push_str("\nThe 100k-row results were marked truncated (the row limit is 100,000).\n");
    }
    Ok(out)
}

/// Starts a new session, asks `question`, edits the draft into `sql`, approves it and waits for the run to
/// finish; answers the recommended chart kind and the result's row count.
fn run_query(app: &App, question: &str, sql: &str) -> anyhow::Result<(String, u64)> {
    app.click("session-new");
    app.wait_count("draft-card", 0);
    app.type_into("composer-question", question);
    app.click("composer-send");
    app.wait_count("draft-card", 1);
    app.click("draft-edit");
    app.type_into("draft-edit-text", sql);
    app.click("draft-edit-submit");
    app.wait_count("draft-card", 2);
    app.ui().execute("performance.clearMeasures()", vec![])?;
    app.click("draft-approve");
    let started = Instant::now();
    let status = loop {
        let status = app.text_until("run-status", |t| !t.is_empty());
        if status != "running" || started.elapsed() > Duration::from_secs(300) {
            break status;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    ensure!(status == "finished", "the run ended {status}: {}", app.ui().source().unwrap_or_default());
    let kind = app.text_until("chart-current-kind", |t| !t.is_empty());
    let rows = app.ui().execute(LAST_ATTRIBUTE, vec![json!("result-row-count"), json!("rows")])?;
    let rows = rows.as_str().and_then(|r| r.parse().ok()).context("no row count")?;
    Ok((kind, rows))
}

/// Presses "Load more" until every row of the newest result is in the page; answers the rows loaded.
fn load_all(app: &App) -> anyhow::Result<u64> {
    let started = Instant::now();
    loop {
        let state = app.ui().execute(LOAD_MORE, vec![])?;
        if state == json!("done") {
            break;
        }
        ensure!(started.elapsed() < Duration::from_secs(900), "loading every row took over 15 minutes");
        std::thread::sleep(Duration::from_millis(100));
    }
    let rows =
        app.ui().execute("return document.querySelectorAll('[data-testid=\"result-row-count\"]').length", vec![])?;
    ensure!(rows == json!(1), "expected one result in the thread, found {rows}");
    let rows = app.ui().execute(LAST_ATTRIBUTE, vec![json!("result-row-count"), json!("rows")])?;
    rows.as_str().and_then(|r| r.parse().ok()).context("no row count")
}

/// Waits for a measure `name` that satisfies `wanted`; answers it.
fn wait_measure(app: &App, name: &str, wanted: impl Fn(&Value) -> bool) -> anyhow::Result<Value> {
    let started = Instant::now();
    loop {
        let all = app.ui().execute(MEASURES, vec![json!(name)])?;
        if let Some(found) = all.as_array().into_iter().flatten().rev().find(|m| wanted(m)) {
            return Ok(found.clone());
        }
        if started.elapsed() > Duration::from_secs(300) {
            bail!("no {name} measure after 5 minutes; seen: {all}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Scrolls the newest results table for `frames` animation frames from `from` (a share of the way down), by
/// `per_frame` pixels a frame or, with `None`, evenly to the bottom; answers the page's frame intervals.
fn scroll(app: &App, frames: u32, from: f64, per_frame: Option<f64>) -> anyhow::Result<Value> {
    app.ui().execute_async(SCROLL, vec![json!(frames), json!(from), json!(per_frame)])
}

fn number(v: &Value) -> anyhow::Result<f64> {
    v.as_f64().with_context(|| format!("{v} is not a number"))
}

fn duration(measure: &Value) -> anyhow::Result<f64> {
    number(&measure["duration"])
}

/// p50, p95 and max of a sample of milliseconds.
fn summary(sample: &[f64]) -> (f64, f64, f64) {
    let mut sorted = sample.to_vec();
    sorted.sort_by(f64::total_cmp);
    let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.95), sorted[sorted.len() - 1])
}

fn row(out: &mut String, measure: &str, sample: &[f64], unit: &str, target: &str) {
    let (p50, p95, max) = summary(sample);
    let _ =
        writeln!(out, "| {measure} | {p50:.1} ms | {p95:.1} ms | {max:.1} ms | {} {unit} | {target} |", sample.len());
}

/// A frame-interval row: the share of frames over one and over two 60 Hz frames goes in the sample column.
fn frames(out: &mut String, measure: &str, intervals: &[f64]) {
    let (p50, p95, max) = summary(intervals);
    let share =
        |limit: f64| 100.0 * intervals.iter().filter(|&&i| i > limit + 0.5).count() as f64 / intervals.len() as f64;
    let (n, one, two) = (intervals.len(), share(FRAME_MS), share(2.0 * FRAME_MS));
    let _ = writeln!(
        out,
        "| {measure} | {p50:.1} ms | {p95:.1} ms | {max:.1} ms | {n} frames; {one:.1}% > 16.7 ms, {two:.1}% > 33.3 ms \
         | 60 Hz: 16.7 ms |"
    );
}

/// The value of `data-<arguments[1]>` on the newest element with test id `arguments[0]`.
const LAST_ATTRIBUTE: &str = "const [id, key] = arguments;
    const all = document.querySelectorAll(`[data-testid=\"${id}\"]`);
    return all.length ? all[all.length - 1].dataset[key] ?? null : null;";

/// Clicks the newest result's \"Load more\" once it is enabled: `done` when there is none left.
const LOAD_MORE: &str = "const all = document.querySelectorAll('[data-testid=\"result-load-more\"]');
    const button = all[all.length - 1];
    if (!button) return 'done';
    if (button.disabled) return 'busy';
    button.click();
    return 'clicked';";

/// The page's measures named `arguments[0]`.
const MEASURES: &str = "return performance.getEntriesByName(arguments[0], 'measure')
    .map((m) => ({ start: m.startTime, duration: m.duration, detail: m.detail ?? null }));";

/// Clicks the chart kind `arguments[0]` and waits for the chart's next render measure; answers its duration, the
/// time from the click to the end of that measure (the painted frame), and its detail.
const SWITCH_CHART: &str = "const [kind, done] = arguments;
    const buttons = document.querySelectorAll(`[data-testid=\"chart-kind-${kind}\"]`);
    const button = buttons[buttons.length - 1];
    const clicked = performance.now();
    button.click();
    const poll = () => {
      const m = performance.getEntriesByName('psiq:chart-render', 'measure').find((e) => e.startTime >= clicked);
      if (!m) return void setTimeout(poll, 5);
      done({ render: m.duration, clickToPaint: m.startTime + m.duration - clicked, detail: m.detail ?? null });
    };
    poll();";

/// Scrolls the newest results table over `frames` animation frames and records the interval between frames.
const SCROLL: &str = "const [frames, from, perFrame, done] = arguments;
    const tables = document.querySelectorAll('[data-testid=\"result-table\"]');
    const el = tables[tables.length - 1];
    el.scrollIntoView({ block: 'center' });
    const max = el.scrollHeight - el.clientHeight;
    const start = Math.round(max * from);
    const per = perFrame ?? (max - start) / frames;
    el.scrollTop = start;
    // Handler time per scroll event: from a listener that runs first (capturing at the window) to one added after
    // the virtualizer's (same target, so it runs after it).
    const handlers = [];
    let began = 0;
    const first = () => { began = performance.now(); };
    const after = () => handlers.push(performance.now() - began);
    window.addEventListener('scroll', first, true);
    el.addEventListener('scroll', after);
    const intervals = [];
    let last = null;
    let i = 0;
    const step = (t) => {
      if (last !== null) intervals.push(t - last);
      last = t;
      if (i >= frames) {
        requestAnimationFrame(() => {
          const rows = el.querySelectorAll('[data-testid=\"result-row\"]');
          const lastIndex = rows.length ? Number(rows[rows.length - 1].dataset.index) : -1;
          window.removeEventListener('scroll', first, true);
          el.removeEventListener('scroll', after);
          done({ intervals, handlers, perFrame: per, max, lastIndex });
        });
        return;
      }
      i += 1;
      el.scrollTop = Math.min(max, Math.round(start + per * i));
      requestAnimationFrame(step);
    };
    requestAnimationFrame(() => requestAnimationFrame(step));";
