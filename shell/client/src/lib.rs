//! The one client library of the broker. The `psiq` CLI and the desktop shell are thin callers of it.
//!
//! Architecture invariant: knows nothing about connectors, files or secrets' storage; it only speaks the
//! protocol to the profile's broker, starting that broker when none runs.

pub mod render;

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
        let stream = open(home).map_err(|err| unavailable(home, &err.to_string()))?;
        BrokerClient::handshake(stream)
    }

    /// Connects to the broker of `home`, starting one if none runs.
    pub fn connect_or_start(home: &Path) -> Result<BrokerClient, TypedError> {
        if let Ok(stream) = open(home) {
            return BrokerClient::handshake(stream);
        }
        start_broker(home)?;
        BrokerClient::handshake(open(home).map_err(|err| unavailable(home, &err.to_string()))?)
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

fn open(home: &Path) -> std::io::Result<Stream> {
    let name = endpoint::socket_path(home).to_fs_name::<GenericFilePath>()?.into_owned();
    Stream::connect(name)
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
    let logs = home.join("logs");
    std::fs::create_dir_all(&logs).map_err(|err| unavailable(home, &err.to_string()))?;
    let log_path = logs.join("broker.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|err| unavailable(home, &err.to_string()))?;
    let log_err = log.try_clone().map_err(|err| unavailable(home, &err.to_string()))?;
    let bin = broker_binary();
    #[allow(clippy::disallowed_methods)] // Starts the broker, not a worker; workers go through the broker's launcher.
    let mut child = Command::new(&bin)
        .arg("--home")
        .arg(home)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .process_group(0)
        .spawn()
        .map_err(|err| unavailable(home, &format!("cannot start {}: {err}", bin.display())))?;
    let started = Instant::now();
    while started.elapsed() < START_TIMEOUT {
        if open(home).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            // Another client may have started a broker at the same moment; that one will answer.
            if open(home).is_ok() {
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
