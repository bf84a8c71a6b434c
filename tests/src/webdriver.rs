//! A small WebDriver client (the W3C protocol: JSON over HTTP/1.1), enough to drive the desktop app through
//! `tauri-driver` and Debian's `WebKitWebDriver`: sessions, finding elements by CSS, clicks, typing, text,
//! scripts and screenshots. Synchronous and dependency-light on purpose: one request per connection.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread::sleep;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine as _;
use serde_json::{Value, json};

/// The W3C key of an element reference in a response.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A WebDriver session.
pub struct Session {
    port: u16,
    id: String,
}

/// An element of the page, by its WebDriver reference.
#[derive(Clone, Debug)]
pub struct Element(String);

impl Session {
    /// Opens a session on the driver at `127.0.0.1:port` with `capabilities` (its `alwaysMatch`).
    pub fn start(port: u16, capabilities: Value) -> anyhow::Result<Session> {
        let reply =
            request(port, "POST", "/session", Some(&json!({ "capabilities": { "alwaysMatch": capabilities } })))?;
        let id = reply["sessionId"].as_str().context("no session id in the driver's answer")?.to_owned();
        Ok(Session { port, id })
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        request(self.port, method, &format!("/session/{}{path}", self.id), body)
    }

    /// The last element matching `css`, if any: in a chat thread, the newest.
    pub fn try_find(&self, css: &str) -> anyhow::Result<Option<Element>> {
        let found = self.call("POST", "/elements", Some(&json!({ "using": "css selector", "value": css })))?;
        Ok(found.as_array().and_then(|all| all.last()).and_then(element_of))
    }

    /// Waits up to `limit` for an element matching `css`.
    pub fn wait_for(&self, css: &str, limit: Duration) -> anyhow::Result<Element> {
        let started = Instant::now();
        loop {
            if let Some(element) = self.try_find(css)? {
                return Ok(element);
            }
            if started.elapsed() > limit {
                bail!("no element matches {css} after {limit:?}");
            }
            sleep(Duration::from_millis(50));
        }
    }

    /// Waits up to `limit` until the text of the element matching `css` satisfies `done`; returns the text.
    pub fn wait_text(&self, css: &str, limit: Duration, done: impl Fn(&str) -> bool) -> anyhow::Result<String> {
        let started = Instant::now();
        let mut last = String::new();
        loop {
            if let Some(element) = self.try_find(css)? {
                // The element may be replaced between finding and reading it: try again then.
                if let Ok(text) = self.text(&element) {
                    if done(&text) {
                        return Ok(text);
                    }
                    last = text;
                }
            }
            if started.elapsed() > limit {
                bail!("{css} never showed the expected text within {limit:?}; last seen: {last:?}");
            }
            sleep(Duration::from_millis(50));
        }
    }

    /// The page's HTML as it is now.
    pub fn source(&self) -> anyhow::Result<String> {
        Ok(self.call("GET", "/source", None)?.as_str().unwrap_or_default().to_owned())
    }

    pub fn click(&self, element: &Element) -> anyhow::Result<()> {
        self.call("POST", &format!("/element/{}/click", element.0), Some(&json!({}))).map(drop)
    }

    /// Clears a field, then types `text` into it.
    pub fn type_into(&self, element: &Element, text: &str) -> anyhow::Result<()> {
        self.call("POST", &format!("/element/{}/clear", element.0), Some(&json!({})))?;
        self.call("POST", &format!("/element/{}/value", element.0), Some(&json!({ "text": text }))).map(drop)
    }

    pub fn text(&self, element: &Element) -> anyhow::Result<String> {
        let text = self.call("GET", &format!("/element/{}/text", element.0), None)?;
        Ok(text.as_str().unwrap_or_default().to_owned())
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub fn execute(&self, script: &str, args: Vec<Value>) -> anyhow::Result<Value> {
        self.call("POST", "/execute/sync", Some(&json!({ "script": script, "args": args })))
    }

    /// Runs an asynchronous `script`, whose last argument is the callback that ends it with a value.
    pub fn execute_async(&self, script: &str, args: Vec<Value>) -> anyhow::Result<Value> {
        self.call("POST", "/execute/async", Some(&json!({ "script": script, "args": args })))
    }

    /// How long an asynchronous script may run before the driver gives up on it (WebDriver's default is 30 s).
    pub fn set_script_timeout(&self, limit: Duration) -> anyhow::Result<()> {
        self.call("POST", "/timeouts", Some(&json!({ "script": limit.as_millis() as u64 }))).map(drop)
    }

    /// The window's screenshot, PNG bytes.
    pub fn screenshot(&self) -> anyhow::Result<Vec<u8>> {
        let encoded = self.call("GET", "/screenshot", None)?;
        let encoded = encoded.as_str().context("the screenshot is not a string")?;
        Ok(base64::engine::general_purpose::STANDARD.decode(encoded)?)
    }

    /// Ends the session (the driver closes the app).
    pub fn end(self) -> anyhow::Result<()> {
        request(self.port, "DELETE", &format!("/session/{}", self.id), None).map(drop)
    }
}

fn element_of(value: &Value) -> Option<Element> {
    value[ELEMENT_KEY].as_str().map(|id| Element(id.to_owned()))
}

/// One HTTP request to the driver; the answer's `value`, or the driver's error as an error.
///
/// No `Connection: close`: tauri-driver passes headers on to WebKitWebDriver, which then closes its side of a
/// connection tauri-driver's pool may still reuse, and the next request fails there. The answer is read to its
/// `Content-Length` instead, and the connection dropped.
fn request(port: u16, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).with_context(|| format!("connecting to port {port}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(120)))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(format!("{head}{body}").as_bytes())?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    let (split, length, chunked) = loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            bail!("{method} {path}: the driver closed the connection after {} bytes", raw.len());
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            break (split, length, head.contains("transfer-encoding: chunked"));
        }
    };
    let complete = |raw: &[u8]| match (length, chunked) {
        (Some(length), _) => raw.len() >= split + 4 + length,
        (None, true) => raw.ends_with(b"0\r\n\r\n"),
        (None, false) => false,
    };
    while !complete(&raw) {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut payload = raw[split + 4..].to_vec();
    if chunked {
        payload = unchunk(&payload)?;
    }
    let status: u16 = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).context("no HTTP status")?;
    let value: Value = serde_json::from_slice(&payload)
        .with_context(|| format!("{method} {path}: not JSON: {}", String::from_utf8_lossy(&payload)))?;
    if status >= 400 {
        bail!("{method} {path}: HTTP {status}: {}", value["value"]);
    }
    // A new session answers `{value: {sessionId, capabilities}}`; everything else `{value: ...}`.
    Ok(value["value"].clone())
}

fn unchunk(mut raw: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n").context("a chunk without its size line")?;
        let size = usize::from_str_radix(std::str::from_utf8(&raw[..line_end])?.trim(), 16)?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(raw.get(..size).context("a chunk shorter than its size")?);
        raw = &raw[size + 2..];
    }
}
