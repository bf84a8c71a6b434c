//! The one client library of the broker. The `psiq` CLI and the desktop shell are thin callers of it.
//!
//! Architecture invariant: knows nothing about connectors, files or secrets' storage; it only speaks the
//! protocol to the profile's broker, starting that broker when none runs. It speaks only to a broker of its own
//! user: the kernel's word on the socket's peer (`SO_PEERCRED`, `LOCAL_PEERCRED` on macOS) is checked before the
//! handshake, so no passphrase or API key goes to whatever else listens there.
//!
//! Front ends call the typed methods (`client.sources()`, `client.run_trace(run)`, see [`typed`]), which answer a
//! reply's payload; [`BrokerClient::call`] is for a front end that only shows a reply as it comes.

pub mod db_url;
pub mod render;
pub mod typed;

pub use db_url::parse_db_url;

use std::io::{BufReader, BufWriter};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use interprocess::TryClone;
use interprocess::local_socket::prelude::*;
use interprocess::local_socket::{GenericFilePath, Stream};
use polystoreiq_protocol::broker::{BrokerMessage, ClientMessage, Reply, Request, RunEvent};
use polystoreiq_protocol::{
    ErrorCode, FrameError, Hello, Nonce, PeerRole, TypedError, endpoint, read_frame, write_frame,
};

/// How long to wait for a freshly started broker to listen.
const START_TIMEOUT: Duration = Duration::from_secs(15);

/// A connection to one profile's broker.
pub struct BrokerClient {
    reader: BufReader<Stream>,
    writer: BufWriter<Stream>,
}

impl BrokerClient {
    /// Connects to the broker of `home`, failing if none runs.
    pub fn connect(home: &Path) -> Result<BrokerClient, TypedError> {
        let stream = open(home)?.map_err(|err| unavailable(home, &err.to_string()))?;
        BrokerClient::handshake(stream)
    }

    /// Connects to the broker of `home`, starting one if none runs.
    pub fn connect_or_start(home: &Path) -> Result<BrokerClient, TypedError> {
        if let Ok(stream) = open(home)? {
            return BrokerClient::handshake(stream);
        }
        start_broker(home)?;
        BrokerClient::handshake(open(home)?.map_err(|err| unavailable(home, &err.to_string()))?)
    }

    fn handshake(stream: Stream) -> Result<BrokerClient, TypedError> {
        let writer_half = stream.try_clone().map_err(|err| {
            TypedError::new(ErrorCode::BrokerUnavailable, format!("cannot use the broker socket: {err}"))
        })?;
        let reader_half = stream;
        let mut client = BrokerClient {
            reader: BufReader::with_capacity(1 << 20, reader_half),
            writer: BufWriter::new(writer_half),
        };
        client.send(&ClientMessage::Hello(Hello::new(PeerRole::Client, Nonce([0; 16]))))?;
        match client.receive()? {
            BrokerMessage::Hello(hello) => hello.check(PeerRole::Broker, None).map_err(frame_error)?,
            _ => return Err(frame_error(FrameError::Handshake("the broker did not answer the handshake".into()))),
        }
        Ok(client)
    }

    /// Sends a request and waits for its reply, ignoring progress events.
    pub fn call(&mut self, request: Request) -> Result<Reply, TypedError> {
        self.call_with_events(request, &mut |_| {})
    }

    /// Sends a request and waits for its reply, passing progress events to `on_event`.
    pub fn call_with_events(
        &mut self,
        request: Request,
        on_event: &mut dyn FnMut(RunEvent),
    ) -> Result<Reply, TypedError> {
        self.send(&ClientMessage::Request(request))?;
        loop {
            match self.receive()? {
                BrokerMessage::Reply(reply) => return reply,
                BrokerMessage::Event(event) => on_event(event),
                BrokerMessage::Hello(_) => {
                    return Err(frame_error(FrameError::Handshake("unexpected handshake from the broker".into())));
                }
            }
        }
    }

    fn send(&mut self, msg: &ClientMessage) -> Result<(), TypedError> {
        write_frame(&mut self.writer, msg).map_err(frame_error)
    }

    fn receive(&mut self) -> Result<BrokerMessage, TypedError> {
        read_frame(&mut self.reader).map_err(frame_error)
    }
}

/// Connects to the profile's socket. The outer error is final (no socket path fits; the listener is another
/// user's); the inner one means no broker listens there yet.
fn open(home: &Path) -> Result<std::io::Result<Stream>, TypedError> {
    let path =
        endpoint::socket_path(home).map_err(|err| TypedError::new(ErrorCode::SocketPathTooLong, err.to_string()))?;
    let stream =
        match path.as_path().to_fs_name::<GenericFilePath>().and_then(|name| Stream::connect(name.into_owned())) {
            Ok(stream) => stream,
            Err(err) => return Ok(Err(err)),
        };
    check_peer(&stream, &path)?;
    Ok(Ok(stream))
}

/// Refuses a listener of another user before anything is sent to it.
fn check_peer(stream: &Stream, path: &Path) -> Result<(), TypedError> {
    // SAFETY: geteuid has no arguments and cannot fail.
    let ours = unsafe { libc::geteuid() };
    let foreign = |detail: String| {
        TypedError::new(
            ErrorCode::ForeignUser,
            format!("{detail}; nothing was sent to it. Stop that process (or remove {}) and try again", path.display()),
        )
    };
    let creds =
        stream.peer_creds().map_err(|err| foreign(format!("cannot tell who listens on {}: {err}", path.display())))?;
    match creds.euid() {
        Some(uid) if uid == ours => Ok(()),
        Some(uid) => Err(foreign(format!(
            "the process listening on {} runs as user {uid}, not as this user ({ours})",
            path.display()
        ))),
        None => Err(foreign(format!("the system does not say who listens on {}", path.display()))),
    }
}

/// The profile's home when none is named (`POLYSTOREIQ_HOME` names one): `$XDG_DATA_HOME/polystoreiq`, else
/// `~/.local/share/polystoreiq`.
pub fn default_home() -> PathBuf {
    if let Some(data) = std::env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(data).join("polystoreiq");
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".local/share/polystoreiq")
}

/// The broker binary: `POLYSTOREIQ_BROKER_BIN`, else beside the running executable.
pub fn broker_binary() -> PathBuf {
    std::env::var_os("POLYSTOREIQ_BROKER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::current_exe().unwrap_or_default().with_file_name("polystoreiq-broker"))
}

/// Starts the profile's broker in the background, logging to `home/logs/broker.log`, and waits until it listens.
fn start_broker(home: &Path) -> Result<(), TypedError> {
    // The profile and its log are private to this user from the start (the broker keeps umask 077 itself); the
    // caller's umask is put back afterwards, since the desktop app also writes the user's own exports.
    // SAFETY: umask only swaps the process's file-creation mask.
    let previous = unsafe { libc::umask(0o077) };
    let spawned = spawn_broker(home);
    // SAFETY: as above.
    unsafe { libc::umask(previous) };
    let (mut child, log_path) = spawned?;
    let started = Instant::now();
    while started.elapsed() < START_TIMEOUT {
        if open(home)?.is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            // Another client may have started a broker at the same moment; that one will answer.
            if open(home)?.is_ok() {
                return Ok(());
            }
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            let last = log.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no log output");
            return Err(unavailable(home, &format!("the broker exited ({status}): {last}")));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err(unavailable(home, "the broker did not start listening in time; see logs/broker.log"))
}

/// Creates the profile (0700) and its log, and starts the broker writing to that log.
fn spawn_broker(home: &Path) -> Result<(std::process::Child, PathBuf), TypedError> {
    use std::os::unix::fs::DirBuilderExt;
    let logs = home.join("logs");
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&logs)
        .map_err(|err| unavailable(home, &err.to_string()))?;
    let log_path = logs.join("broker.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|err| unavailable(home, &err.to_string()))?;
    let log_err = log.try_clone().map_err(|err| unavailable(home, &err.to_string()))?;
    let bin = broker_binary();
    #[allow(clippy::disallowed_methods)] // Starts the broker, not a worker; workers go through the broker's launcher.
    let child = Command::new(&bin)
        .arg("--home")
        .arg(home)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .process_group(0)
        .spawn()
        .map_err(|err| unavailable(home, &format!("cannot start {}: {err}", bin.display())))?;
    Ok((child, log_path))
}

fn unavailable(home: &Path, detail: &str) -> TypedError {
    TypedError::new(ErrorCode::BrokerUnavailable, format!("cannot reach the broker for {}: {detail}", home.display()))
}

fn frame_error(err: FrameError) -> TypedError {
    match err {
        FrameError::VersionMismatch { .. } => TypedError::new(
            ErrorCode::VersionMismatch,
            format!("{err}; stop the running broker (`psiq broker stop`) so this version can start its own"),
        ),
        FrameError::Closed => TypedError::new(ErrorCode::BrokerUnavailable, "the broker closed the connection"),
        other => TypedError::new(ErrorCode::BrokerUnavailable, format!("broker connection failed: {other}")),
    }
}
