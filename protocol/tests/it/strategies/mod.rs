//! Proptest strategies for every wire type, and [`Message`], one value of any top-level message enum.
//!
//! Every enum strategy names each variant once; `round_trip::every_enum_strategy_covers_every_variant` fails when a
//! variant is appended to the protocol without being added here.
//!
//! One module per part of the protocol; this one holds the primitives they share (numbers at their encoding's
//! edges, text) and the whole-message strategy.

mod broker;
mod handshake;
mod types;
mod worker;

use std::io::Read;

use polystoreiq_protocol::broker::{BrokerMessage, ClientMessage};
use polystoreiq_protocol::codec;
use polystoreiq_protocol::frame::{self, FrameError};
use polystoreiq_protocol::worker::{FromWorker, ToWorker};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

pub use broker::*;
pub use handshake::*;
pub use types::*;
pub use worker::*;

// ---- primitives -------------------------------------------------------------------------------------------------

/// Values at the varint width boundaries (bincode switches width at 251, 2^16 and 2^32), so every width is hit.
const U64_EDGES: &[u64] =
    &[0, 1, 250, 251, 252, 253, 254, 255, 256, 65_535, 65_536, 4_294_967_295, 4_294_967_296, u64::MAX - 1, u64::MAX];
const U32_EDGES: &[u32] = &[0, 1, 250, 251, 255, 256, 65_535, 65_536, u32::MAX - 1, u32::MAX];
/// Signed integers are zigzag-encoded, so the width boundaries sit at about half the unsigned ones.
const I64_EDGES: &[i64] = &[0, 1, -1, 125, -125, 126, -126, 32_767, -32_768, 32_768, -32_769, i64::MIN, i64::MAX];
const I32_EDGES: &[i32] = &[0, 1, -1, 125, -126, 32_767, -32_769, i32::MIN, i32::MAX];

pub fn u64_wide() -> BoxedStrategy<u64> {
    prop_oneof![select(U64_EDGES), 0..251u64, any::<u64>()].boxed()
}

pub fn u32_wide() -> BoxedStrategy<u32> {
    prop_oneof![select(U32_EDGES), 0..251u32, any::<u32>()].boxed()
}

pub fn i64_wide() -> BoxedStrategy<i64> {
    prop_oneof![select(I64_EDGES), -300..300i64, any::<i64>()].boxed()
}

pub fn i32_wide() -> BoxedStrategy<i32> {
    prop_oneof![select(I32_EDGES), -300..300i32, any::<i32>()].boxed()
}

/// Finite floats only: NaN is not equal to itself, so equality tests cannot carry it (see
/// `round_trip::non_finite_floats_survive_bit_exactly` for NaN and the infinities).
pub fn finite_f64() -> BoxedStrategy<f64> {
    use proptest::num::f64::{NEGATIVE, NORMAL, POSITIVE, SUBNORMAL, ZERO};
    (POSITIVE | NEGATIVE | NORMAL | SUBNORMAL | ZERO).boxed()
}

/// Any Unicode scalar values, control characters and NUL included, kept short.
pub fn text() -> BoxedStrategy<String> {
    vec(any::<char>(), 0..12).prop_map(String::from_iter).boxed()
}

/// Short collections keep nested messages small; the codec treats a length of 3 like one of 3000.
fn few<T: std::fmt::Debug + 'static>(element: BoxedStrategy<T>) -> BoxedStrategy<Vec<T>> {
    vec(element, 0..4).boxed()
}

// ---- any message ------------------------------------------------------------------------------------------------

/// One value of any of the four top-level message enums, so a property can range over all of them at once.
#[derive(Clone, Debug, PartialEq)]
pub enum Message {
    Client(ClientMessage),
    Broker(BrokerMessage),
    ToWorker(ToWorker),
    FromWorker(FromWorker),
}

pub fn message() -> BoxedStrategy<Message> {
    prop_oneof![
        client_message().prop_map(Message::Client),
        broker_message().prop_map(Message::Broker),
        to_worker().prop_map(Message::ToWorker),
        from_worker().prop_map(Message::FromWorker),
    ]
    .boxed()
}

impl Message {
    /// The message as one complete frame, header included.
    pub fn frame(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let encoded = match self {
            Message::Client(m) => frame::encode_frame(m, &mut out),
            Message::Broker(m) => frame::encode_frame(m, &mut out),
            Message::ToWorker(m) => frame::encode_frame(m, &mut out),
            Message::FromWorker(m) => frame::encode_frame(m, &mut out),
        };
        encoded.expect("generated messages are far below the frame limit");
        out
    }

    /// The message's payload, without a header.
    pub fn payload(&self) -> Vec<u8> {
        let encoded = match self {
            Message::Client(m) => codec::encode(m),
            Message::Broker(m) => codec::encode(m),
            Message::ToWorker(m) => codec::encode(m),
            Message::FromWorker(m) => codec::encode(m),
        };
        encoded.expect("every message encodes")
    }

    /// Reads one frame from `r` as a message of the same enum as `self`, as the peer on that stream would.
    pub fn read_same_kind(&self, r: &mut impl Read) -> Result<Message, FrameError> {
        Ok(match self {
            Message::Client(_) => Message::Client(frame::read_frame(r)?),
            Message::Broker(_) => Message::Broker(frame::read_frame(r)?),
            Message::ToWorker(_) => Message::ToWorker(frame::read_frame(r)?),
            Message::FromWorker(_) => Message::FromWorker(frame::read_frame(r)?),
        })
    }
}
