//! Strategies for the handshake (nonces, roles, hellos) and typed errors with every error code.

use polystoreiq_protocol::handshake::MAGIC;
use polystoreiq_protocol::types::Role;
use polystoreiq_protocol::{ErrorCode, Hello, Nonce, PeerRole, TypedError};
use proptest::option::of;
use proptest::prelude::*;
use proptest::sample::select;

use super::{text, u32_wide, u64_wide};

pub fn nonce() -> BoxedStrategy<Nonce> {
    any::<[u8; 16]>().prop_map(Nonce).boxed()
}

pub fn peer_role() -> BoxedStrategy<PeerRole> {
    select(&[PeerRole::Broker, PeerRole::Worker, PeerRole::Client][..]).boxed()
}

/// Mostly well-formed handshakes, some with foreign magic; versions of any size.
pub fn hello() -> BoxedStrategy<Hello> {
    (prop_oneof![3 => Just(MAGIC), 1 => any::<[u8; 4]>()], u32_wide(), peer_role(), nonce())
        .prop_map(|(magic, version, role, nonce)| Hello { magic, version, role, nonce })
        .boxed()
}

pub fn role() -> BoxedStrategy<Role> {
    select(&[Role::Owner, Role::Viewer][..]).boxed()
}

pub fn error_code() -> BoxedStrategy<ErrorCode> {
    select(ErrorCode::ALL).boxed()
}

pub fn typed_error() -> BoxedStrategy<TypedError> {
    (error_code(), text(), of(u64_wide()))
        .prop_map(|(code, message, retry_after_ms)| TypedError { code, message, retry_after_ms })
        .boxed()
}
