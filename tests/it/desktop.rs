//! The desktop app end to end: the real `polystoreiq` binary in a real window (Xvfb on Linux; `scripts/test` runs
//! the suite under `xvfb-run`), driven through `tauri-driver` 2.1 in front of Debian's `WebKitWebDriver`, against
//! a real broker and real workers. One test walks the main journey: unlock; add the demo files; ask; deny
//! (nothing runs, the audit shows the denial); ask again and approve; see the table and the recommended chart;
//! switch chart type (no new run); export CSV and PNG; start a long query and cancel it (the worker is gone, the
//! thread says "cancelled"); and see the cancelled worker in Diagnostics. A screenshot of each screen is saved
//! under `$CARGO_TARGET_DIR/polystoreiq-e2e/`. A second test shows the webview cannot call a command its
//! capability does not list, and that a malformed payload gets an error instead of reaching the broker.

use std::path::{Path, PathBuf};

use polystoreiq_tests::desktop::App;
use polystoreiq_tests::fixtures;
use serde_json::{Value, json};

use crate::support::{ENDLESS_QUERY, Profile, bin_dir};

const PASSPHRASE: &str = "correct-horse-e2e";

/// The app on profile `p`, exporting into `exports`; screenshots under `$CARGO_TARGET_DIR/polystoreiq-e2e/<name>`.
fn launch(p: &Profile, exports: &Path, name: &str) -> App {
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "the desktop tests need a display: run them under `xvfb-run -a` (scripts/test does)"
    );
    let app = bin_dir().join("polystoreiq");
    assert!(app.exists(), "{} is not built; run `cargo build --workspace --bins`", app.display());
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| bin_dir().join(".."), PathBuf::from);
    let shots = target.join("polystoreiq-e2e").join(name);
    let env = [("POLYSTOREIQ_HOME", p.home.path().as_os_str()), ("POLYSTOREIQ_EXPORT_DIR", exports.as_os_str())];
    App::launch(&app, &env, &shots).unwrap_or_else(|err| panic!("{err:#}"))
}

/// A locked profile with the demo files written (not yet a source).
fn locked_profile() -> Profile {
    let p = Profile::new();
    fixtures::write_demo(p.data.path()).expect("demo data");
    let out = p.run_with_stdin(&["lock", "set", "--role", "owner"], &format!("{PASSPHRASE}\n"));
    assert!(out.status.success(), "lock set: {}", String::from_utf8_lossy(&out.stdout));
    p.ok(&["lock"]);
    p
}

fn audit_count(p: &Profile, action: &str) -> usize {
    let out = p.run_with_stdin(&["unlock"], &format!("{PASSPHRASE}\n"));
    assert!(out.status.success(), "unlock: {}", String::from_utf8_lossy(&out.stdout));
    p.ok(&["audit", "--action", action]).as_array().map_or(0, Vec::len)
}

#[test]
fn the_main_journey_through_the_desktop_app() {
    let p = locked_profile();
    let exports = tempfile::tempdir().unwrap();
    let app = launch(&p, exports.path(), "journey");

    // Locked: only the lock screen shows, until the passphrase is given.
    app.wait("unlock-secret");
    assert!(app.ui().try_find(&App::testid("nav-sources")).unwrap().is_none(), "the app shows more than the lock");
    app.shot("01-lock");
    app.type_into("unlock-secret", PASSPHRASE);
    app.click("unlock-submit");

    // Add the demo dataset as a files source (paths typed, as the native picker cannot be driven).
    app.click("nav-sources");
    app.type_into("source-add-name", "demo");
    // One path per line: WebDriver types a line break as the Enter key (U+E007).
    let paths = ["customers.csv", "products.json", "orders.parquet"].map(|f| p.data_path(f)).join("\u{E007}");
    app.type_into("source-add-paths", &paths);
    app.click("source-add-submit");
    app.text_until("source-status-demo", |t| t.contains("CONNECTED"));
    app.shot("02-sources");

    // Ask, see the preview, deny: nothing runs.
    app.click("nav-chat");
    app.type_into("composer-question", "revenue by channel");
    app.click("composer-send");
    let query = app.text_until("draft-query", |t| t.to_ascii_lowercase().contains("select"));
    assert!(query.contains("channel"), "{query}");
    app.shot("03-preview");
    app.click("draft-deny");
    app.wait("draft-denied");
    assert_eq!(audit_count(&p, "draft.deny"), 1);
    assert_eq!(audit_count(&p, "run.approve"), 0, "a denied draft ran");

    // Ask again and approve: the table and the recommended chart.
    app.type_into("composer-question", "revenue by channel");
    app.click("composer-send");
    app.wait_count("draft-card", 2);
    app.click("draft-approve");
    app.text_until("run-status", |t| t.contains("finished"));
    let rows = app.text_until("result-row-count", |t| !t.is_empty());
    assert!(rows.contains('3'), "three channels: {rows}");
    app.wait("result-table");
    let kind = app.text_until("chart-current-kind", |t| !t.is_empty());
    // Revenue split over three channels is a share of a whole with few categories.
    assert!(kind.contains("pie"), "three shares of a total are drawn as a pie: {kind}");
    app.shot("04-result");
    assert_eq!(audit_count(&p, "run.approve"), 1);
    // The page reports how long the result took to show: the diagnostics' `render` stage.
    let started = std::time::Instant::now();
    let rendered = |diag: &Value| diag["stages"].as_array().unwrap().iter().any(|s| s["stage"] == "render");
    while !rendered(&p.ok(&["diag"])) {
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "no render time reached the broker");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    // The session the first question started is renamed from its list; the broker keeps the new title.
    app.type_into("session-new-title", "Channel revenue");
    app.click("session-rename");
    let started = std::time::Instant::now();
    let renamed = |list: &Value| list.as_array().unwrap().iter().any(|s| s["title"] == "Channel revenue");
    while !renamed(&p.ok(&["session", "list"])) {
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "the rename never reached the broker");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let shown = "<span class=\"session-title\">Channel revenue</span>";
    while !app.ui().source().unwrap_or_default().contains(shown) {
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "the list never showed the new title");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    // Switching the chart re-renders what is loaded; nothing runs again.
    app.click("chart-kind-bar");
    app.text_until("chart-current-kind", |t| t.contains("bar"));
    app.shot("05-chart-switched");
    assert_eq!(audit_count(&p, "run.approve"), 1, "switching the chart ran the query again");

    // Export the displayed dataset as CSV and the chart as PNG.
    app.click("export-csv");
    let csv_path = app.text_until("export-path", |t| t.ends_with(".csv"));
    let csv = std::fs::read_to_string(csv_path.trim()).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].contains("channel"), "{csv}");
    assert_eq!(lines.len(), 1 + 3, "a header and three rows: {csv}");
    app.click("export-png");
    let png_path = app.text_until("export-path", |t| t.ends_with(".png"));
    let png = std::fs::read(png_path.trim()).unwrap();
    let (width, height) = png_size(&png).expect("the exported PNG decodes");
    assert!(width > 100 && height > 100, "{width}x{height}");

    // A long query, cancelled: the worker is killed and the thread says so.
    app.click("draft-edit");
    app.type_into("draft-edit-text", ENDLESS_QUERY);
    app.click("draft-edit-submit");
    app.wait_count("draft-card", 3);
    app.click("draft-approve");
    app.text_until("run-status", |t| t.contains("running"));
    app.shot("06-running");
    app.click("run-cancel");
    app.text_until("run-status", |t| t.contains("cancelled"));
    let diag = p.ok(&["diag"]);
    let cancelled: Vec<&Value> =
        diag["workers"].as_array().unwrap().iter().filter(|w| w["state"] == "cancelled").collect();
    assert_eq!(cancelled.len(), 1, "{diag}");
    let pid = cancelled[0]["pid"].as_u64().unwrap();
    assert!(!Path::new(&format!("/proc/{pid}")).exists(), "the cancelled worker {pid} still exists");

    // Diagnostics shows the cancelled worker.
    app.click("nav-diagnostics");
    app.text_until(&format!("diag-worker-{pid}"), |t| t.contains("cancelled"));
    app.shot("07-diagnostics");
    // Looking up the finished run shows its trace, stage by stage.
    let approved = p.ok(&["audit", "--action", "run.approve"]);
    let first_run = approved[0]["run"].as_u64().expect("the approved run's id").to_string();
    app.type_into("diag-run-lookup", &first_run);
    app.text_until("diag-trace-execute", |t| t.contains("execute"));
    app.text_until("diag-trace-render", |t| t.contains("render"));

    // Settings: a limit out of range gets the broker's typed error and changes nothing; a valid one is kept.
    app.click("nav-settings");
    app.wait("limit-row_limit");
    app.type_into("limit-row_limit", "0");
    app.click("limits-save");
    let refused = app.text_until("limits-error", |t| t.contains("between 1 and"));
    assert!(refused.contains("bad_request"), "{refused}");
    app.type_into("limit-row_limit", "2500");
    app.click("limits-save");
    app.wait("limits-saved");
    app.shot("08-settings");
    assert_eq!(p.ok(&["settings", "show"])["limits"]["row_limit"], 2500);
}

#[test]
fn the_webview_reaches_only_listed_commands_with_checked_payloads() {
    let p = locked_profile();
    let exports = tempfile::tempdir().unwrap();
    let app = launch(&p, exports.path(), "security");
    app.wait("unlock-secret");

    // Registered in the shell but granted to no webview: refused before it reaches the broker.
    let broker = p.broker_pid().expect("the profile's broker runs");
    let stop = app.invoke("broker_stop", json!({}));
    assert!(stop["err"].as_str().is_some_and(|e| e.contains("not allowed")), "{stop}");
    let alive = Path::new(&format!("/proc/{broker}")).exists() && p.broker_pid() == Some(broker);
    assert!(alive, "the broker {broker} stopped");
    // Not a command at all.
    let unknown = app.invoke("read_any_file", json!({ "path": "/etc/passwd" }));
    assert!(unknown.get("err").is_some(), "{unknown}");

    // A malformed payload: a port that is not a number never becomes a request.
    let args = json!({ "name": "x", "kind": "postgres", "host": "h", "port": "5432; DROP", "database": "d",
        "user": "u", "password": null, "tls": "disable" });
    let malformed = app.invoke("source_add_database", args);
    assert!(malformed["err"].as_str().is_some_and(|e| e.contains("port")), "{malformed}");
    // A well-formed payload that breaks the shell's rules: a typed error.
    let huge = app.invoke("result_page", json!({ "run": 1, "offset": 0, "limit": 1_000_000 }));
    assert_eq!(huge["err"]["code"], "bad_request", "{huge}");
    let outside = app.invoke_bytes("export_file", b"a,b\n", json!({ "x-export-name": "../../etc/evil.csv" }));
    assert_eq!(outside["err"]["code"], "bad_request", "{outside}");
    let unnamed = app.invoke_bytes("export_file", b"a,b\n", json!({}));
    assert_eq!(unnamed["err"]["code"], "bad_request", "{unnamed}");
    assert_eq!(std::fs::read_dir(exports.path()).unwrap().count(), 0, "an export was written");
    // While locked, the broker refuses the listed commands too.
    let locked = app.invoke("sources", json!({}));
    assert_eq!(locked["err"]["code"], "locked", "{locked}");
}

/// Width and height of a PNG, read from its header chunk, if it is one.
fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    if !png.starts_with(b"\x89PNG\r\n\x1a\n") || png.get(12..16)? != b"IHDR" {
        return None;
    }
    let number = |at: usize| png.get(at..at + 4).map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
    Some((number(16)?, number(20)?))
}
