//! The one place that names the wire encoding (bincode 2.0.x, serde mode).
//!
//! Everything else encodes through [`encode`] and [`decode`], so switching codecs touches only this module.
//! Decoding is bounded by a limit derived from [`crate::MAX_FRAME_LEN`]: a length prefix inside a payload that
//! claims more than the limit is refused before anything is allocated.

use bincode::config::{Configuration, Limit, LittleEndian, Varint};
use serde::{Serialize, de::DeserializeOwned};

use crate::frame::{FrameError, MAX_FRAME_LEN};

/// Bincode counts what it decodes at each value's in-memory width (8 for a `u64` or a length that took 1 byte on
/// the wire), so a payload of [`MAX_FRAME_LEN`] bytes can count up to 8 times that. A limit of [`MAX_FRAME_LEN`]
/// itself refused valid frames, such as a batch of small integers a quarter of the frame limit in size.
const DECODE_LIMIT: usize = 8 * MAX_FRAME_LEN as usize;

type Config = Configuration<LittleEndian, Varint, Limit<DECODE_LIMIT>>;

const CONFIG: Config =
    bincode::config::standard().with_little_endian().with_variable_int_encoding().with_limit::<DECODE_LIMIT>();

/// Appends the encoding of `value` to `out`.
pub fn encode_into<T: Serialize>(value: &T, out: &mut Vec<u8>) -> Result<(), FrameError> {
    bincode::serde::encode_into_std_write(value, out, CONFIG)
        .map(drop)
        .map_err(|err| FrameError::Malformed(format!("cannot encode message: {err}")))
}

/// Encodes `value` into a fresh buffer.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, FrameError> {
    let mut out = Vec::new();
    encode_into(value, &mut out)?;
    Ok(out)
}

/// Decodes exactly one value from `bytes`; trailing bytes are an error, not ignored.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, FrameError> {
    let (value, used) =
        bincode::serde::decode_from_slice(bytes, CONFIG).map_err(|err| FrameError::Malformed(err.to_string()))?;
    if used != bytes.len() {
        return Err(FrameError::Malformed(format!("{} trailing bytes after the message", bytes.len() - used)));
    }
    Ok(value)
}

/// Encodes `value` straight into `out`, without an intermediate buffer.
pub fn encode_to_writer<T: Serialize, W: std::io::Write>(value: &T, out: &mut W) -> Result<usize, FrameError> {
    bincode::serde::encode_into_std_write(value, out, CONFIG)
        .map_err(|err| FrameError::Malformed(format!("cannot encode message: {err}")))
}

/// The encoded size of `value`, computed without copying its bulk data anywhere.
pub fn encoded_len<T: Serialize>(value: &T) -> Result<usize, FrameError> {
    encode_to_writer(value, &mut std::io::sink())
}
