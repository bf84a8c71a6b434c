//! The local socket server: one task per connection, handshake first, then one request at a time.

use std::sync::Arc;

use interprocess::local_socket::tokio::{Listener, Stream, prelude::*};
use interprocess::local_socket::{GenericFilePath, ListenerOptions};
use polystoreiq_protocol::broker::{BrokerMessage, ClientMessage, Reply, Request};
use polystoreiq_protocol::frame::{HEADER_LEN, encode_frame, payload_len};
use polystoreiq_protocol::{FrameError, Hello, Nonce, PeerRole, codec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};

use crate::service::Broker;

/// Binds the profile's socket. The caller holds the instance lock, so a leftover socket file is stale.
pub fn bind(path: &std::path::Path) -> std::io::Result<Listener> {
    let _ = std::fs::remove_file(path);
    let name = path.to_fs_name::<GenericFilePath>()?;
    let listener = ListenerOptions::new().name(name).create_tokio()?;
    set_owner_only(path)?;
    Ok(listener)
}

fn set_owner_only(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
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
                    tokio::spawn(async move {
                        if let Err(err) = connection(conn, &broker, &stop_tx).await {
                            tracing::debug!("connection ended: {err}");
                        }
                    });
                }
                Err(err) => tracing::warn!("accept failed: {err}"),
            },
            _ = stop_rx.changed() => break,
        }
    }
    broker.cancel_all().await;
}

async fn connection(conn: Stream, broker: &Broker, stop: &watch::Sender<bool>) -> Result<(), FrameError> {
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
        let fallback = BrokerMessage::Reply(Err(polystoreiq_protocol::TypedError::new(
            polystoreiq_protocol::ErrorCode::Internal,
            format!("the reply could not be sent: {err}; fetch the result in pages with `psiq result`"),
        )));
        buf.clear();
        encode_frame(&fallback, &mut buf)?;
    }
    tx.write_all(&buf).await?;
    tx.flush().await?;
    Ok(())
}
