//! The protocol crate's integration tests, as one binary: frame round trips of every message, hostile and broken
//! input, the versioned handshake, nonces, secrets and socket paths.

mod alloc_probe;
mod endpoint;
mod handshake;
mod hostile;
mod readers;
mod round_trip;
mod secret;
mod strategies;

use proptest::test_runner::Config;

/// Cases per property: enough to reach every variant many times over, few enough that the whole binary stays fast
/// in a debug build.
fn cases() -> Config {
    Config::with_cases(256)
}

/// `payload` behind an honest header, as a peer would send it.
fn frame_of(payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("test payloads are small");
    let mut frame = len.to_le_bytes().to_vec();
    frame.extend_from_slice(payload);
    frame
}
