//! The local socket server: one task per connection, handshake first, then one request at a time.
//!
//! The socket is private to the profile's user (mode 0600, in the profile directory or a 0700 directory under
//! `$XDG_RUNTIME_DIR`), and every accepted connection is checked again by the kernel's word on its peer
//! (`SO_PEERCRED`): a client of another user gets `foreign_user` for everything it asks. Each connection is served
//! as its own [`access::Connection`], so an unlock on one does not unlock another.

use std::path::Path;
use std::sync::Arc;

use interprocess::local_socket::tokio::{Listener, Stream, prelude::*};
use interprocess::local_socket::{GenericFilePath, ListenerOptions};
use polystoreiq_protocol::broker::{BrokerMessage, ClientMessage, Reply, Request};
use polystoreiq_protocol::frame::{HEADER_LEN, encode_frame, payload_len};
use polystoreiq_protocol::{ErrorCode, FrameError, Hello, Nonce, PeerRole, TypedError, codec, endpoint};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};

use crate::access::{self, Peer};
use crate::service::Broker;

/// Binds the profile's socket at `path`. The caller holds the instance lock, so a leftover socket file is stale.
pub fn bind(home: &Path, path: &Path) -> std::io::Result<Listener> {
    if let Some(dir) = endpoint::private_socket_dir(home, path) {
        private_dir(dir)?;
    }
    let _ = std::fs::remove_file(path);
    let name = path.to_fs_name::<GenericFilePath>()?;
    let listener = ListenerOptions::new().name(name).create_tokio()?;
    set_owner_only(path)?;
    Ok(listener)
}

fn set_owner_only(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// Creates the socket's directory outside the profile (mode 0700) if it is missing, and refuses one that is not
/// a directory of this user; one that others may enter is made private.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Err(err) if err.kind() != std::io::ErrorKind::AlreadyExists => return Err(err),
        _ => {}
    }
    let meta = std::fs::symlink_metadata(dir)?;
    if !meta.is_dir() || meta.uid() != nix::unistd::geteuid().as_raw() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("{} is not a directory of this user; remove it and start again", dir.display()),
        ));
    }
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// The kernel's word on who connected; a client of another user (or one the kernel cannot name) is refused.
fn admit(conn: &Stream) -> Result<Peer, TypedError> {
    let ours = nix::unistd::geteuid().as_raw();
    let refused = |detail: String| {
        TypedError::new(ErrorCode::ForeignUser, format!("this broker serves only user {ours}'s clients; {detail}"))
    };
    let creds = conn.peer_creds().map_err(|err| refused(format!("cannot tell which user connected: {err}")))?;
    match creds.euid() {
        Some(uid) if uid == ours => Ok(Peer::new(uid, creds.pid())),
        Some(uid) => Err(refused(format!("a client of user {uid} was refused"))),
        None => Err(refused("the system does not say which user connected".into())),
    }
}

/// Accepts connections until a client asks for shutdown.
pub async fn serve(listener: Listener, broker: Arc<Broker>) {
    let (stop_tx, mut stop_rx) = watch::channel(false);
    loop {
        tokio::select! {
            conn = listener.accept() => match conn {
                Ok(conn) => {
                    let broker = Arc::clone(&broker);
                    let stop_tx = stop_tx.clone();
                    let admitted = admit(&conn);
                    if let Err(err) = &admitted {
                        tracing::warn!("refused a connection: {}", err.message);
                    }
                    let standing = access::Connection::new(admitted.as_ref().ok().copied());
                    tokio::spawn(access::as_connection(standing, async move {
                        if let Err(err) = connection(conn, &broker, &stop_tx, admitted.err()).await {
                            tracing::debug!("connection ended: {err}");
                        }
                    }));
                }
                Err(err) => tracing::warn!("accept failed: {err}"),
            },
            _ = stop_rx.changed() => break,
        }
    }
    broker.cancel_all().await;
}

/// Serves one connection; a `refusal` (a client of another user) is the answer to every request it makes.
async fn connection(
    conn: Stream,
    broker: &Broker,
    stop: &watch::Sender<bool>,
    refusal: Option<TypedError>,
) -> Result<(), FrameError> {
    let (mut rx, mut tx) = (&conn, &conn);
    let first = read(&mut rx).await?;
    let hello = match first {
        ClientMessage::Hello(hello) => hello,
        ClientMessage::Request(_) => return Err(FrameError::Handshake("the first frame must be the handshake".into())),
    };
    // Answer with our version even when refusing, so the client can say which versions disagree.
    write(&mut tx, &BrokerMessage::Hello(Hello::new(PeerRole::Broker, Nonce([0; 16])))).await?;
    hello.check(PeerRole::Client, None)?;
    loop {
        let request = match read(&mut rx).await {
            Ok(ClientMessage::Request(request)) => request,
            Ok(ClientMessage::Hello(_)) => return Err(FrameError::Handshake("a second handshake".into())),
            Err(FrameError::Closed) => return Ok(()),
            Err(err) => return Err(err),
        };
        if let Some(refusal) = &refusal {
            write(&mut tx, &BrokerMessage::Reply(Err(refusal.clone()))).await?;
            continue;
        }
        if let Err(err) = broker.authorize(&request) {
            write(&mut tx, &BrokerMessage::Reply(Err(err))).await?;
            continue;
        }
        match request {
            Request::Run { token } => {
                let (events_tx, mut events) = mpsc::unbounded_channel();
                let run = broker.run(&token, events_tx);
                tokio::pin!(run);
                let result = loop {
                    tokio::select! {
                        result = &mut run => break result,
                        Some(event) = events.recv() => write(&mut tx, &BrokerMessage::Event(event)).await?,
                    }
                };
                while let Ok(event) = events.try_recv() {
                    write(&mut tx, &BrokerMessage::Event(event)).await?;
                }
                write(&mut tx, &BrokerMessage::Reply(result.map(Reply::RunDone))).await?;
            }
            Request::Shutdown => {
                write(&mut tx, &BrokerMessage::Reply(Ok(Reply::ShuttingDown))).await?;
                let _ = stop.send(true);
                return Ok(());
            }
            request => {
                let reply = broker.handle(request).await;
                write(&mut tx, &BrokerMessage::Reply(reply)).await?;
            }
        }
    }
}

async fn read(rx: &mut (impl AsyncReadExt + Unpin)) -> Result<ClientMessage, FrameError> {
    let mut header = [0u8; HEADER_LEN];
    match rx.read_exact(&mut header).await {
        Ok(_) => {}
        Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(err) => return Err(err.into()),
    }
    let len = payload_len(header)?;
    let mut payload = Vec::with_capacity(len.min(64 * 1024));
    let got = (&mut *rx).take(len as u64).read_to_end(&mut payload).await?;
    if got < len {
        return Err(FrameError::Truncated { expected: len, got });
    }
    codec::decode(&payload)
}

async fn write(tx: &mut (impl AsyncWriteExt + Unpin), msg: &BrokerMessage) -> Result<(), FrameError> {
    let mut buf = Vec::new();
    if let Err(err) = encode_frame(msg, &mut buf) {
        // A reply too large for one frame becomes an error reply rather than a dropped connection.
        let fallback = BrokerMessage::Reply(Err(TypedError::new(
            ErrorCode::Internal,
            format!("the reply could not be sent: {err}; fetch the result in pages with `psiq result`"),
        )));
        buf.clear();
        encode_frame(&fallback, &mut buf)?;
    }
    tx.write_all(&buf).await?;
    tx.flush().await?;
    Ok(())
}
