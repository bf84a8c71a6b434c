//! Keeps the password from leaving in clear text: a stream wrapper that reads the server's side of PostgreSQL's
//! start-up and fails the read that carries `AuthenticationCleartextPassword` unless the connection is TLS with a
//! verified certificate.
//!
//! tokio-postgres answers a cleartext request with the password whatever the transport (its only lever,
//! `channel_binding=require`, also refuses MD5 and SCRAM without TLS). The driver sends the password only after it
//! has decoded the whole request, so failing the read that completes the request's first eight bytes, and hiding
//! those bytes from the driver, means the password is never written. Two places watch: the TCP stream (plain
//! start-up, or the server's one-byte answer to the TLS request, after which the TLS layer is watched instead) and
//! the TLS stream, whose plaintext is the protocol again. After `AuthenticationOk` both step aside.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, TlsConnect, TlsStream};

/// Why a read was failed: the server asked for the password in clear text over a channel that does not
/// authenticate the server. Carried inside the `io::Error` the driver reports, so the connector can tell it apart.
#[derive(Debug, thiserror::Error)]
#[error("the server asked for the password in clear text, which is sent only over TLS with a verified certificate")]
pub struct CleartextRefused;

/// Where the scan of the server's bytes is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The client asked for TLS: the server answers one byte, `S` (TLS follows; the TLS layer is watched from
    /// then on) or `N` (plain start-up follows).
    TlsAnswer,
    /// Start-up messages: a type byte, a four-byte length that counts itself, the body.
    Messages,
    /// Authentication is over (or TLS took over): nothing more to watch.
    Done,
}

/// The scan of the server's start-up bytes, fed as they arrive, in pieces of any size.
#[derive(Debug)]
pub struct AuthScan {
    phase: Phase,
    allow_cleartext: bool,
    /// The current message's type, length and (for an authentication request) its code, as far as they came.
    head: Vec<u8>,
    /// Body bytes of the current message still to pass.
    skip: usize,
}

impl AuthScan {
    pub fn new(phase: Phase, allow_cleartext: bool) -> AuthScan {
        AuthScan { phase, allow_cleartext, head: Vec::with_capacity(9), skip: 0 }
    }

    pub fn done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// Reads `bytes`; an error when they complete a cleartext password request that is not allowed.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<(), CleartextRefused> {
        while !bytes.is_empty() {
            match self.phase {
                Phase::Done => return Ok(()),
                Phase::TlsAnswer => {
                    self.phase = match bytes[0] {
                        b'S' => Phase::Done,
                        b'N' => Phase::Messages,
                        // Not an answer to the TLS request (an old server's error): read it as a message.
                        _ => {
                            self.phase = Phase::Messages;
                            continue;
                        }
                    };
                    bytes = &bytes[1..];
                }
                Phase::Messages if self.skip > 0 => {
                    let n = self.skip.min(bytes.len());
                    self.skip -= n;
                    bytes = &bytes[n..];
                }
                Phase::Messages => {
                    let want = if self.head.first() == Some(&b'R') { 9 } else { 5 };
                    let n = (want - self.head.len()).min(bytes.len());
                    self.head.extend_from_slice(&bytes[..n]);
                    bytes = &bytes[n..];
                    if self.head.len() < want {
                        continue;
                    }
                    let len = u32::from_be_bytes([self.head[1], self.head[2], self.head[3], self.head[4]]) as usize;
                    if self.head[0] == b'R' && want == 5 && len >= 8 {
                        // An authentication request: read its code before deciding.
                        continue;
                    }
                    let body_seen = self.head.len() - 5;
                    if self.head[0] == b'R' && self.head.len() == 9 {
                        let code = u32::from_be_bytes([self.head[5], self.head[6], self.head[7], self.head[8]]);
                        match code {
                            // AuthenticationCleartextPassword.
                            3 if !self.allow_cleartext => return Err(CleartextRefused),
                            // AuthenticationOk: the password question is settled either way.
                            0 => {
                                self.phase = Phase::Done;
                                return Ok(());
                            }
                            _ => {}
                        }
                    }
                    self.skip = len.saturating_sub(4 + body_seen);
                    self.head.clear();
                }
            }
        }
        Ok(())
    }
}

/// A stream whose incoming start-up bytes go through an [`AuthScan`] before the driver sees them.
pub struct AuthWatch<S> {
    inner: S,
    scan: AuthScan,
}

impl<S> AuthWatch<S> {
    pub fn new(inner: S, phase: Phase, allow_cleartext: bool) -> AuthWatch<S> {
        AuthWatch { inner, scan: AuthScan::new(phase, allow_cleartext) }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for AuthWatch<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.scan.done() {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {}
            other => return other,
        }
        if let Err(refused) = this.scan.feed(&buf.filled()[before..]) {
            // The driver never sees the request, so it never answers it.
            buf.set_filled(before);
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::PermissionDenied, refused)));
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for AuthWatch<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

impl<S: TlsStream + Unpin> TlsStream for AuthWatch<S> {
    fn channel_binding(&self) -> ChannelBinding {
        self.inner.channel_binding()
    }
}

/// A TLS connector whose streams are watched: cleartext passwords pass only when `allow_cleartext` (the
/// certificate was verified).
pub struct WatchedTls<T> {
    pub inner: T,
    pub allow_cleartext: bool,
}

impl<S, T> TlsConnect<S> for WatchedTls<T>
where
    T: TlsConnect<S>,
    T::Future: Send + 'static,
    T::Stream: Send + 'static,
{
    type Stream = AuthWatch<T::Stream>;
    type Error = T::Error;
    type Future = Pin<Box<dyn Future<Output = Result<AuthWatch<T::Stream>, T::Error>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        let allow = self.allow_cleartext;
        let connecting = self.inner.connect(stream);
        Box::pin(async move { connecting.await.map(|tls| AuthWatch::new(tls, Phase::Messages, allow)) })
    }
}

/// Whether a driver error is this module's refusal.
pub fn is_refusal(err: &tokio_postgres::Error) -> bool {
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<io::Error>()
            && io.get_ref().is_some_and(|inner| inner.is::<CleartextRefused>())
        {
            return true;
        }
        if cause.is::<CleartextRefused>() {
            return true;
        }
        source = cause.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(code: u32, extra: &[u8]) -> Vec<u8> {
        let mut out = vec![b'R'];
        out.extend_from_slice(&(8 + extra.len() as u32).to_be_bytes());
        out.extend_from_slice(&code.to_be_bytes());
        out.extend_from_slice(extra);
        out
    }

    /// Feeds `bytes` in pieces of `step`, as a network might deliver them.
    fn feed(scan: &mut AuthScan, bytes: &[u8], step: usize) -> Result<(), CleartextRefused> {
        bytes.chunks(step).try_for_each(|piece| scan.feed(piece))
    }

    #[test]
    fn a_cleartext_request_is_refused_in_any_split_unless_allowed() {
        for step in 1..=9 {
            let mut plain = AuthScan::new(Phase::Messages, false);
            assert!(feed(&mut plain, &auth(3, &[]), step).is_err(), "step {step}");
            let mut after_no_tls = AuthScan::new(Phase::TlsAnswer, false);
            assert!(feed(&mut after_no_tls, &[&b"N"[..], &auth(3, &[])].concat(), step).is_err(), "step {step}");
            let mut verified = AuthScan::new(Phase::Messages, true);
            assert!(feed(&mut verified, &auth(3, &[]), step).is_ok(), "step {step}");
        }
    }

    #[test]
    fn md5_scram_and_ok_pass_and_end_the_watch() {
        for step in 1..=13 {
            let mut scan = AuthScan::new(Phase::Messages, false);
            // MD5 with its salt, SASL with its mechanism list, then AuthenticationOk.
            let bytes = [auth(5, b"salt"), auth(10, b"SCRAM-SHA-256\0\0"), auth(0, &[])].concat();
            assert!(feed(&mut scan, &bytes, step).is_ok(), "step {step}");
            assert!(scan.done(), "step {step}");
            // Anything after AuthenticationOk is the session's business, even a byte sequence that looks like a
            // request.
            assert!(scan.feed(&auth(3, &[])).is_ok());
        }
    }

    #[test]
    fn an_error_before_authentication_is_passed_and_tls_ends_the_watch() {
        let mut error = vec![b'E'];
        error.extend_from_slice(&(4 + 7u32).to_be_bytes());
        error.extend_from_slice(b"SFATAL\0");
        let mut scan = AuthScan::new(Phase::Messages, false);
        assert!(scan.feed(&[error.clone(), auth(3, &[])].concat()).is_err());
        let mut tls = AuthScan::new(Phase::TlsAnswer, false);
        assert!(tls.feed(b"S\x16\x03\x03").is_ok());
        assert!(tls.done());
    }
}
