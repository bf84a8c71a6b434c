//! The desktop app end to end: the real `polystoreiq` binary in a real window (Xvfb on Linux; `scripts/test` runs
//! the suite under `xvfb-run`), driven through `tauri-driver` 2.1 in front of Debian's `WebKitWebDriver`, against
//! a real broker and real workers. One test walks the main journey: unlock; add the demo files; ask; deny
//! (nothing runs, the audit shows the denial); ask again and approve; see the table and the recommended chart;
//! switch chart type (no new run); export CSV and PNG; start a long query and cancel it (the worker is gone, the
//! thread says "cancelled"); and see the cancelled worker in Diagnostics. A screenshot of each screen is saved
//! under `$CARGO_TARGET_DIR/polystoreiq-e2e/`. A second test shows the webview cannot call a command its
//! capability does not list, and that a malformed payload gets an error instead of reaching the broker.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use polystoreiq_tests::fixtures;
use polystoreiq_tests::webdriver::Session;
use serde_json::{Value, json};

use crate::support::{ENDLESS_QUERY, Profile, bin_dir};

const PASSPHRASE: &str = "correct-horse-e2e";
/// How long a screen may take to show what it should, on a busy two-core machine.
const PATIENCE: Duration = Duration::from_secs(60);

/// The app in a window, driven through WebDriver; the driver and the app stop when dropped.
struct App {
    driver: Child,
    session: Option<Session>,
    shots: PathBuf,
}

impl App {
    fn launch(p: &Profile, exports: &Path, name: &str) -> App {
        assert!(
            std::env::var_os("DISPLAY").is_some(),
            "the desktop tests need a display: run them under `xvfb-run -a` (scripts/test does)"
        );
        let app = bin_dir().join("polystoreiq");
        assert!(app.exists(), "{} is not built; run `cargo build --workspace --bins`", app.display());
        let (port, native) = (free_port(), free_port());
        let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| bin_dir().join(".."), PathBuf::from);
        let shots = target.join("polystoreiq-e2e").join(name);
        std::fs::create_dir_all(&shots).unwrap();
        let log = std::fs::File::create(shots.join("tauri-driver.log")).unwrap();
        #[allow(clippy::disallowed_methods)] // The test drives the real driver binary.
        let driver = Command::new(tauri_driver())
            .args(["--port", &port.to_string(), "--native-port", &native.to_string()])
            .env("POLYSTOREIQ_HOME", p.home.path())
            .env("POLYSTOREIQ_EXPORT_DIR", exports)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("tauri-driver starts (scripts/setup installs it)");
        let capabilities = json!({
            "browserName": "wry",
            "tauri:options": { "application": app.to_string_lossy() },
        });
        let mut last = None;
        let mut session = None;
        for _ in 0..100 {
            match Session::start(port, capabilities.clone()) {
                Ok(started) => {
                    session = Some(started);
                    break;
                }
                Err(err) => last = Some(err),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let session = session.unwrap_or_else(|| panic!("no WebDriver session: {last:?}"));
        App { driver, session: Some(session), shots }
    }

    fn ui(&self) -> &Session {
        self.session.as_ref().expect("a session")
    }

    fn testid(id: &str) -> String {
        format!("[data-testid=\"{id}\"]")
    }

    /// Waits for the element `id`; on failure the panic shows the page.
    fn find(&self, id: &str) -> polystoreiq_tests::webdriver::Element {
        self.ui().wait_for(&App::testid(id), PATIENCE).unwrap_or_else(|err| {
            let page = self.ui().source().unwrap_or_default();
            let _ = self.ui().screenshot().map(|png| std::fs::write(self.shots.join("failure.png"), png));
            panic!("{err}; the page: {page}")
        })
    }

    /// Clicks the (newest) element `id`, once it can be clicked: a button may be disabled for a moment (Cancel,
    /// until the run has an id) or below the fold (the thread grows).
    fn click(&self, id: &str) {
        let started = std::time::Instant::now();
        loop {
            let element = self.find(id);
            let reveal = format!(
                "const all = document.querySelectorAll('{}'); const last = all[all.length - 1]; \
                 last.scrollIntoView({{block: 'center'}}); return !last.disabled;",
                App::testid(id)
            );
            let enabled = self.ui().execute(&reveal, vec![]).map(|v| v == json!(true)).unwrap_or(false);
            match self.ui().click(&element) {
                Ok(()) if enabled => return,
                Ok(()) => {}
                Err(err) if started.elapsed() > PATIENCE => panic!("click {id}: {err}"),
                Err(_) => {}
            }
            assert!(started.elapsed() < PATIENCE, "{id} stayed disabled");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn type_into(&self, id: &str, text: &str) {
        let element = self.find(id);
        self.ui().type_into(&element, text).unwrap_or_else(|e| panic!("type into {id}: {e}"));
    }

    fn wait(&self, id: &str) {
        self.find(id);
    }

    fn text_until(&self, id: &str, done: impl Fn(&str) -> bool) -> String {
        self.ui().wait_text(&App::testid(id), PATIENCE, done).unwrap_or_else(|err| {
            let page = self.ui().source().unwrap_or_default();
            let _ = self.ui().screenshot().map(|png| std::fs::write(self.shots.join("failure.png"), png));
            panic!("{err}; the page: {page}")
        })
    }

    /// Waits until `n` elements carry the test id `id` (a new draft card has rendered, say).
    fn wait_count(&self, id: &str, n: u64) {
        let script = format!("return document.querySelectorAll('{}').length", App::testid(id));
        let started = std::time::Instant::now();
        while self.ui().execute(&script, vec![]).unwrap().as_u64() != Some(n) {
            assert!(started.elapsed() < PATIENCE, "{id} never appeared {n} times");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Saves a screenshot of the window as `<step>.png` and checks it is a PNG.
    fn shot(&self, step: &str) {
        let png = self.ui().screenshot().unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "the screenshot of {step} is not a PNG");
        std::fs::write(self.shots.join(format!("{step}.png")), png).unwrap();
    }

    /// Calls a command the way the page does, through Tauri's IPC, and returns `{ok}` or `{err}`.
    fn invoke(&self, command: &str, args: Value) -> Value {
        let script = "const [command, args, done] = arguments;
            window.__TAURI_INTERNALS__.invoke(command, args)
              .then(ok => done({ ok: ok === undefined ? null : ok }), err => done({ err: err }));";
        self.ui().execute_async(script, vec![json!(command), args]).unwrap()
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            let _ = session.end();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn tauri_driver() -> PathBuf {
    let cargo_bin = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin/tauri-driver"));
    cargo_bin.filter(|p| p.exists()).unwrap_or_else(|| PathBuf::from("tauri-driver"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
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
    let app = App::launch(&p, exports.path(), "journey");

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
}

#[test]
fn the_webview_reaches_only_listed_commands_with_checked_payloads() {
    let p = locked_profile();
    let exports = tempfile::tempdir().unwrap();
    let app = App::launch(&p, exports.path(), "security");
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
    let outside = app.invoke("export_file", json!({ "name": "../../etc/evil.csv", "data": [1, 2, 3] }));
    assert_eq!(outside["err"]["code"], "bad_request", "{outside}");
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
