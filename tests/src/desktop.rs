//! The real desktop app (`polystoreiq`) in a window, driven through `tauri-driver` 2.1 in front of Debian's
//! `WebKitWebDriver`: launching it, and finding, clicking, typing and waiting by the page's `data-testid`s. Shared
//! by the end-to-end tests (`tests/it/desktop.rs`) and the UI benchmark (`ui_bench.rs`). The helpers panic when
//! the page does not show what they wait for, with the page's HTML and a `failure.png` beside the driver's log.

use std::ffi::OsStr;
use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde_json::{Value, json};

use crate::webdriver::{Element, Session};

/// How long a screen may take to show what it should, on a busy two-core machine.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// The app in a window, driven through WebDriver; the driver and the app stop when dropped.
pub struct App {
    driver: Child,
    session: Option<Session>,
    shots: PathBuf,
}

impl App {
    /// Starts `tauri-driver` with `env` added to its environment (the app, and a broker the app starts, inherit
    /// it) and opens a session on the `app` binary. The driver's log and the screenshots go to `shots`.
    pub fn launch(app: &Path, env: &[(&str, &OsStr)], shots: &Path) -> anyhow::Result<App> {
        let (port, native) = (free_port()?, free_port()?);
        std::fs::create_dir_all(shots).with_context(|| format!("creating {}", shots.display()))?;
        let log = std::fs::File::create(shots.join("tauri-driver.log"))?;
        #[allow(clippy::disallowed_methods)] // Drives the real driver binary.
        let mut command = Command::new(tauri_driver());
        command.args(["--port", &port.to_string(), "--native-port", &native.to_string()]);
        // Its own process group, so that dropping the app stops `WebKitWebDriver` (tauri-driver's child) too.
        command.process_group(0);
        for (key, value) in env {
            command.env(key, value);
        }
        let driver = command
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("tauri-driver starts (scripts/setup installs it)")?;
        let capabilities = json!({
            "browserName": "wry",
            "tauri:options": { "application": app.to_string_lossy() },
        });
        // The app stops with the driver if the session never opens.
        let mut app = App { driver, session: None, shots: shots.to_path_buf() };
        let mut last = None;
        for _ in 0..100 {
            match Session::start(port, capabilities.clone()) {
                Ok(started) => {
                    app.session = Some(started);
                    return Ok(app);
                }
                Err(err) => last = Some(err),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("no attempt made")).context("no WebDriver session"))
    }

    pub fn ui(&self) -> &Session {
        self.session.as_ref().expect("a session")
    }

    /// The CSS selector of the test id `id`.
    pub fn testid(id: &str) -> String {
        format!("[data-testid=\"{id}\"]")
    }

    /// Saves the page as `failure.png` and panics with `err` and the page's HTML.
    fn fail(&self, err: impl std::fmt::Display) -> ! {
        let page = self.ui().source().unwrap_or_default();
        let _ = self.ui().screenshot().map(|png| std::fs::write(self.shots.join("failure.png"), png));
        panic!("{err}; the page: {page}")
    }

    /// Waits for the element `id`; on failure the panic shows the page.
    pub fn find(&self, id: &str) -> Element {
        self.ui().wait_for(&App::testid(id), PATIENCE).unwrap_or_else(|err| self.fail(err))
    }

    /// Clicks the (newest) element `id`, once it can be clicked: a button may be disabled for a moment (Cancel,
    /// until the run has an id) or below the fold (the thread grows).
    pub fn click(&self, id: &str) {
        let started = Instant::now();
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

    pub fn type_into(&self, id: &str, text: &str) {
        let element = self.find(id);
        self.ui().type_into(&element, text).unwrap_or_else(|e| panic!("type into {id}: {e}"));
    }

    pub fn wait(&self, id: &str) {
        self.find(id);
    }

    pub fn text_until(&self, id: &str, done: impl Fn(&str) -> bool) -> String {
        self.ui().wait_text(&App::testid(id), PATIENCE, done).unwrap_or_else(|err| self.fail(err))
    }

    /// Waits until `n` elements carry the test id `id` (a new draft card has rendered, say).
    pub fn wait_count(&self, id: &str, n: u64) {
        let script = format!("return document.querySelectorAll('{}').length", App::testid(id));
        let started = Instant::now();
        while self.ui().execute(&script, vec![]).unwrap().as_u64() != Some(n) {
            if started.elapsed() > PATIENCE {
                self.fail(format!("{id} never appeared {n} times"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Saves a screenshot of the window as `<step>.png` and checks it is a PNG.
    pub fn shot(&self, step: &str) {
        let png = self.ui().screenshot().unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "the screenshot of {step} is not a PNG");
        std::fs::write(self.shots.join(format!("{step}.png")), png).unwrap();
    }

    /// Calls a command the way the page does, through Tauri's IPC, and returns `{ok}` or `{err}`.
    pub fn invoke(&self, command: &str, args: Value) -> Value {
        let script = "const [command, args, done] = arguments;
            window.__TAURI_INTERNALS__.invoke(command, args)
              .then(ok => done({ ok: ok === undefined ? null : ok }), err => done({ err: err }));";
        self.ui().execute_async(script, vec![json!(command), args]).unwrap()
    }

    /// Like [`App::invoke`], with `bytes` as the request's raw body and `headers`, as the page sends an export.
    pub fn invoke_bytes(&self, command: &str, bytes: &[u8], headers: Value) -> Value {
        let script = "const [command, bytes, headers, done] = arguments;
            window.__TAURI_INTERNALS__.invoke(command, new Uint8Array(bytes), { headers })
              .then(ok => done({ ok: ok === undefined ? null : ok }), err => done({ err: err }));";
        self.ui().execute_async(script, vec![json!(command), json!(bytes), headers]).unwrap()
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            let _ = session.end();
        }
        // The group holds tauri-driver and WebKitWebDriver; the broker runs in a process group of its own.
        let group = nix::unistd::Pid::from_raw(self.driver.id() as i32);
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.driver.wait();
    }
}

/// `~/.cargo/bin/tauri-driver` where `scripts/setup` installs it, else the one on the `PATH`.
pub fn tauri_driver() -> PathBuf {
    let cargo_bin = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo/bin/tauri-driver"));
    cargo_bin.filter(|p| p.exists()).unwrap_or_else(|| PathBuf::from("tauri-driver"))
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
