//! Length-prefixed frames: a little-endian `u32` payload length, then the payload.
//!
//! A frame longer than [`MAX_FRAME_LEN`] is refused from its header alone, and a payload is read
//! incrementally, so a lying header never makes us allocate what it claims.

use std::io::{self, Read, Write};

use serde::{Serialize, de::DeserializeOwned};

use crate::codec;

/// The largest payload either side accepts: 16 MiB. Result batches are sized well below it.
pub const MAX_FRAME_LEN: u32 = 16 * 1024 * 1024;

/// Bytes in a frame header.
pub const HEADER_LEN: usize = 4;

/// What can go wrong reading or writing a frame. Never a panic.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The peer closed the stream cleanly between frames.
    #[error("the peer closed the connection")]
    Closed,
    /// The stream ended inside a frame.
    #[error("truncated frame: expected {expected} bytes, got {got}")]
    Truncated { expected: usize, got: usize },
    /// The header announced more than [`MAX_FRAME_LEN`].
    #[error("frame of {len} bytes exceeds the {max}-byte limit")]
    TooLarge { len: u64, max: u32 },
    /// The payload is not a valid message of the expected type.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// The peer's handshake names another protocol version.
    #[error("protocol version mismatch: this side speaks v{ours}, the peer speaks v{theirs}")]
    VersionMismatch { ours: u32, theirs: u32 },
    /// The peer's first frame was not a handshake, or its nonce or role was wrong.
    #[error("handshake refused: {0}")]
    Handshake(String),
    #[error("i/o error: {0}")]
    Io(#[from] io::Error),
}

/// Validates a frame header and returns the payload length it announces.
pub fn payload_len(header: [u8; HEADER_LEN]) -> Result<usize, FrameError> {
    let len = u32::from_le_bytes(header);
    if len > MAX_FRAME_LEN {
        return Err(FrameError::TooLarge { len: u64::from(len), max: MAX_FRAME_LEN });
    }
    Ok(len as usize)
}

/// Encodes `msg` as one complete frame (header included) appended to `out`.
pub fn encode_frame<T: Serialize>(msg: &T, out: &mut Vec<u8>) -> Result<(), FrameError> {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER_LEN]);
    codec::encode_into(msg, out)?;
    let len = out.len() - start - HEADER_LEN;
    if len > MAX_FRAME_LEN as usize {
        out.truncate(start);
        return Err(FrameError::TooLarge { len: len as u64, max: MAX_FRAME_LEN });
    }
    out[start..start + HEADER_LEN].copy_from_slice(&(len as u32).to_le_bytes());
    Ok(())
}

/// Writes `msg` as one frame and flushes.
pub fn write_frame<W: Write, T: Serialize>(w: &mut W, msg: &T) -> Result<(), FrameError> {
    let mut buf = Vec::new();
    encode_frame(msg, &mut buf)?;
    w.write_all(&buf)?;
    w.flush()?;
    Ok(())
}

/// Writes `msg` as one frame straight into `w`: its size is computed first (a pass that copies nothing), then
/// the header and the payload go out without being assembled in memory. For large messages on a pipe.
pub fn write_frame_direct<W: Write, T: Serialize>(w: &mut W, msg: &T) -> Result<(), FrameError> {
    let len = codec::encoded_len(msg)?;
    if len > MAX_FRAME_LEN as usize {
        return Err(FrameError::TooLarge { len: len as u64, max: MAX_FRAME_LEN });
    }
    w.write_all(&(len as u32).to_le_bytes())?;
    codec::encode_to_writer(msg, w)?;
    w.flush()?;
    Ok(())
}

/// Reads one frame and decodes it as `T`.
pub fn read_frame<R: Read, T: DeserializeOwned>(r: &mut R) -> Result<T, FrameError> {
    let mut payload = Vec::new();
    read_frame_bytes(r, &mut payload)?;
    codec::decode(&payload)
}

/// Reads one frame's payload into `payload` (cleared first), growing it only as bytes arrive.
pub fn read_frame_bytes<R: Read>(r: &mut R, payload: &mut Vec<u8>) -> Result<(), FrameError> {
    let mut header = [0u8; HEADER_LEN];
    let got = read_full(r, &mut header)?;
    if got == 0 {
        return Err(FrameError::Closed);
    }
    if got < HEADER_LEN {
        return Err(FrameError::Truncated { expected: HEADER_LEN, got });
    }
    let len = payload_len(header)?;
    payload.clear();
    // Grow as data arrives: a header that lies about its length costs at most what was really sent.
    payload.reserve(len.min(64 * 1024));
    let got = r.take(len as u64).read_to_end(payload)?;
    if got < len {
        return Err(FrameError::Truncated { expected: len, got });
    }
    Ok(())
}

/// Reads until `buf` is full or the stream ends; returns how many bytes were read.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Batch, ColumnValues};
    use crate::worker::FromWorker;

    #[test]
    fn a_direct_frame_is_byte_for_byte_the_buffered_one() {
        let msg = FromWorker::Batch(Batch {
            columns: vec![
                ColumnValues::Int((0..50_000).map(Some).collect()),
                ColumnValues::Text((0..50_000).map(|i| (i % 7 != 0).then_some("text")).collect()),
            ],
        });
        let mut buffered = Vec::new();
        encode_frame(&msg, &mut buffered).unwrap();
        let mut direct = Vec::new();
        write_frame_direct(&mut direct, &msg).unwrap();
        assert_eq!(direct, buffered);
        let back: FromWorker = read_frame(&mut direct.as_slice()).unwrap();
        assert_eq!(back, msg);
    }
}
