//! A small real HTTP/1.1 server for the model-provider tests: it accepts connections on 127.0.0.1, reads each
//! request (headers and a Content-Length body), records it, and answers from a script: a whole answer, a body
//! streamed in chunks with pauses (SSE or NDJSON), or nothing at all. While streaming or hanging it watches its
//! socket, so a test can see that the client closed the connection (a cancel or a client timeout).
//!
//! One thread per connection, one request per connection (`Connection: close`). Shared by the broker's adapter
//! tests and the end-to-end tests through the real `psiq`.

#![allow(dead_code)] // Each test binary uses a different part of it.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How the server answers one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A whole answer.
    Full { status: u16, content_type: &'static str, headers: Vec<(String, String)>, body: String },
    /// Read the request and never answer, until the client goes away.
    Hang,
    /// A `200` with a chunked body: each piece, then `gap` (watching for the client to close), then the next.
    Stream { content_type: &'static str, pieces: Vec<String>, gap: Duration },
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply::Full { status, content_type: "application/json", headers: Vec::new(), body: body.to_string() }
    }

    pub fn raw(status: u16, body: &str) -> Reply {
        Reply::Full { status, content_type: "application/json", headers: Vec::new(), body: body.to_owned() }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        if let Reply::Full { headers, .. } = &mut self {
            headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    /// Server-sent events, one `data:` per value (with `event:` when named), in one piece each.
    pub fn sse(events: &[(Option<&str>, String)], gap: Duration) -> Reply {
        let pieces = events
            .iter()
            .map(|(name, data)| match name {
                Some(name) => format!("event: {name}\ndata: {data}\n\n"),
                None => format!("data: {data}\n\n"),
            })
            .collect();
        Reply::Stream { content_type: "text/event-stream", pieces, gap }
    }

    /// Newline-delimited JSON, one line per piece.
    pub fn ndjson(lines: &[serde_json::Value], gap: Duration) -> Reply {
        let pieces = lines.iter().map(|line| format!("{line}\n")).collect();
        Reply::Stream { content_type: "application/x-ndjson", pieces, gap }
    }
}

/// A request as the server read it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|err| panic!("the request body is not JSON ({err}): {}", self.body))
    }
}

#[derive(Default)]
struct State {
    script: VecDeque<Reply>,
    last: Option<Reply>,
    seen: Vec<Seen>,
    /// Connections the client closed while the server was still streaming or had not answered.
    closed_early: u32,
}

pub struct Server {
    addr: SocketAddr,
    state: Arc<(Mutex<State>, Condvar)>,
    stop: Arc<AtomicBool>,
}

impl Server {
    /// Starts serving `script`, one reply per request in order; the last reply repeats once the script runs out.
    pub fn start(script: Vec<Reply>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let server = Server { addr, state: Arc::clone(&state), stop: Arc::clone(&stop) };
        server.set_script(script);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (state, stop) = (Arc::clone(&state), Arc::clone(&stop));
                std::thread::spawn(move || serve(conn, &state, &stop));
            }
        });
        server
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces what the server answers from now on.
    pub fn set_script(&self, script: Vec<Reply>) {
        let mut state = self.state.0.lock().unwrap();
        state.last = script.last().cloned();
        state.script = script.into();
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.state.0.lock().unwrap().seen.clone()
    }

    /// Waits until the client has closed `n` connections early; false after `limit`.
    pub fn wait_closed_early(&self, n: u32, limit: Duration) -> bool {
        self.wait(limit, |s| s.closed_early >= n)
    }

    /// Waits until `n` requests have arrived; false after `limit`.
    pub fn wait_requests(&self, n: usize, limit: Duration) -> bool {
        self.wait(limit, |s| s.seen.len() >= n)
    }

    fn wait(&self, limit: Duration, done: impl Fn(&State) -> bool) -> bool {
        let started = Instant::now();
        let (lock, cond) = &*self.state;
        let mut state = lock.lock().unwrap();
        while !done(&state) {
            let left = limit.saturating_sub(started.elapsed());
            if left.is_zero() {
                return false;
            }
            state = cond.wait_timeout(state, left).unwrap().0;
        }
        true
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wakes the accept loop
    }
}

fn serve(mut conn: TcpStream, state: &(Mutex<State>, Condvar), stop: &AtomicBool) {
    let Some(seen) = read_request(&mut conn) else { return };
    let reply = {
        let mut s = state.0.lock().unwrap();
        s.seen.push(seen);
        let reply = s.script.pop_front().or_else(|| s.last.clone()).unwrap_or(Reply::raw(500, "{}"));
        state.1.notify_all();
        reply
    };
    let closed_early = match reply {
        Reply::Full { status, content_type, headers, body } => {
            let mut head = format!(
                "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
                reason(status),
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            let _ = conn.write_all(head.as_bytes()).and_then(|()| conn.write_all(body.as_bytes()));
            false
        }
        Reply::Hang => wait_for_close(&mut conn, Duration::from_secs(60), stop),
        Reply::Stream { content_type, pieces, gap } => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            );
            let mut closed = conn.write_all(head.as_bytes()).is_err();
            for piece in pieces {
                if closed {
                    break;
                }
                let chunk = format!("{:x}\r\n{piece}\r\n", piece.len());
                closed = conn.write_all(chunk.as_bytes()).and_then(|()| conn.flush()).is_err();
                if !closed && !gap.is_zero() {
                    closed = wait_for_close(&mut conn, gap, stop);
                }
            }
            if !closed {
                let _ = conn.write_all(b"0\r\n\r\n");
            }
            closed
        }
    };
    if closed_early {
        state.0.lock().unwrap().closed_early += 1;
        state.1.notify_all();
    }
}

/// Watches the connection for up to `limit`: true as soon as the client closes it.
fn wait_for_close(conn: &mut TcpStream, limit: Duration, stop: &AtomicBool) -> bool {
    let started = Instant::now();
    let mut buf = [0u8; 512];
    while started.elapsed() < limit && !stop.load(Ordering::SeqCst) {
        let left = limit.saturating_sub(started.elapsed()).clamp(Duration::from_millis(1), Duration::from_millis(50));
        let _ = conn.set_read_timeout(Some(left));
        match conn.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(err) if matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return true,
        }
    }
    false
}

fn read_request(conn: &mut TcpStream) -> Option<Seen> {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let header_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let n = conn.read(&mut buf).ok().filter(|n| *n > 0)?;
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let (method, path) = (request_line.next()?.to_owned(), request_line.next()?.to_owned());
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let length: usize =
        headers.iter().find(|(n, _)| n == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = data[header_end + 4..].to_vec();
    while body.len() < length {
        let n = conn.read(&mut buf).ok().filter(|n| *n > 0)?;
        body.extend_from_slice(&buf[..n]);
    }
    Some(Seen { method, path, headers, body: String::from_utf8_lossy(&body).into_owned() })
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        529 => "Overloaded",
        _ => "Status",
    }
}
