//! Broken and hostile input: truncated frames, oversized headers, garbage payloads, lying length prefixes,
//! trailing bytes and failing pipes. Each must become a typed `FrameError`, never a panic or a large allocation.

use std::fmt::Debug;
use std::io;
use std::time::{Duration, Instant};

use polystoreiq_protocol::broker::{BrokerMessage, ClientMessage};
use polystoreiq_protocol::frame::{FrameError, HEADER_LEN, payload_len, read_frame};
use polystoreiq_protocol::worker::{FromWorker, ToWorker};
use polystoreiq_protocol::{MAX_FRAME_LEN, codec};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::alloc_probe::largest_allocation;
use crate::frame_of;
use crate::readers::{BreaksAfter, HeaderOnly};
use crate::strategies::{self as arb, Message};

/// Serde preallocates at most 1 MiB for a sequence whatever length it claims; anything near this bound or above
/// would mean a claimed length was believed.
const ALLOCATION_BOUND: usize = 2 * 1024 * 1024;

/// Bincode's variable-length integer, as it writes lengths and integers.
fn varint(v: u64) -> Vec<u8> {
    match v {
        0..=250 => vec![v as u8],
        251..=0xffff => [&[251][..], &(v as u16).to_le_bytes()].concat(),
        0x1_0000..=0xffff_ffff => [&[252][..], &(v as u32).to_le_bytes()].concat(),
        _ => [&[253][..], &v.to_le_bytes()].concat(),
    }
}

#[test]
fn varint_matches_the_codec() {
    for v in [0, 250, 251, 0xffff, 0x1_0000, 0xffff_ffff, 0x1_0000_0000, u64::MAX] {
        assert_eq!(varint(v), codec::encode(&v).unwrap(), "{v}");
    }
}

/// Decodes `payload` (behind an honest header) as `T`: it must be `Malformed` or, if it happens to be a valid
/// message, one whose encoding is stable.
fn assert_malformed_or_valid<T>(payload: &[u8]) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + Debug,
{
    match read_frame::<_, T>(&mut frame_of(payload).as_slice()) {
        Err(FrameError::Malformed(_)) => Ok(()),
        Ok(value) => {
            let once = codec::encode(&value)?;
            let twice = codec::encode(&codec::decode::<T>(&once)?)?;
            prop_assert_eq!(once, twice);
            Ok(())
        }
        Err(other) => Err(TestCaseError::fail(format!("expected Malformed or a message, got {other:?}"))),
    }
}

/// [`assert_malformed_or_valid`] for the enum that `kind` belongs to.
fn assert_malformed_or_valid_as(kind: &Message, payload: &[u8]) -> Result<(), TestCaseError> {
    match kind {
        Message::Client(_) => assert_malformed_or_valid::<ClientMessage>(payload),
        Message::Broker(_) => assert_malformed_or_valid::<BrokerMessage>(payload),
        Message::ToWorker(_) => assert_malformed_or_valid::<ToWorker>(payload),
        Message::FromWorker(_) => assert_malformed_or_valid::<FromWorker>(payload),
    }
}

/// Random bytes, or random bytes after a plausible variant index so decoding gets past the first byte.
fn garbage() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..64),
        (0u8..8, vec(any::<u8>(), 0..64)).prop_map(|(variant, rest)| [vec![variant], rest].concat()),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(crate::cases())]

    /// Every strict prefix of a frame is `Truncated`, saying how much was expected and how much came.
    #[test]
    fn every_strict_prefix_of_a_frame_is_truncated(msg in arb::message()) {
        let frame = msg.frame();
        let payload = frame.len() - HEADER_LEN;
        for cut in 1..frame.len() {
            let (expected, got) = if cut < HEADER_LEN { (HEADER_LEN, cut) } else { (payload, cut - HEADER_LEN) };
            match msg.read_same_kind(&mut &frame[..cut]) {
                Err(FrameError::Truncated { expected: e, got: g }) if (e, g) == (expected, got) => {}
                other => prop_assert!(false, "prefix of {} of {} bytes: {:?}", cut, frame.len(), other),
            }
        }
    }

    /// A payload cut short behind a header that honestly announces the shorter length is `Malformed`.
    #[test]
    fn every_strict_prefix_of_a_payload_is_malformed(msg in arb::message()) {
        let payload = msg.payload();
        for cut in 0..payload.len() {
            match msg.read_same_kind(&mut frame_of(&payload[..cut]).as_slice()) {
                Err(FrameError::Malformed(_)) => {}
                other => prop_assert!(false, "payload prefix of {} of {} bytes: {:?}", cut, payload.len(), other),
            }
        }
    }

    /// A header over the limit is refused from the header alone: nothing more is read and nothing is allocated.
    #[test]
    fn a_header_over_the_limit_is_too_large(len in MAX_FRAME_LEN + 1..=u32::MAX) {
        let header = len.to_le_bytes();
        let too_large = |e: &FrameError| {
            matches!(e, FrameError::TooLarge { len: l, max } if *l == u64::from(len) && *max == MAX_FRAME_LEN)
        };
        let direct = payload_len(header);
        prop_assert!(direct.as_ref().is_err_and(too_large), "payload_len: {:?}", direct);

        let mut reader = HeaderOnly::new(header);
        let (read, largest) = largest_allocation(|| read_frame::<_, FromWorker>(&mut reader));
        prop_assert!(read.as_ref().is_err_and(too_large), "read_frame: {:?}", read);
        prop_assert_eq!(largest, 0, "refusing the header allocated");
    }

    #[test]
    fn garbage_payloads_are_malformed_or_valid(payload in garbage()) {
        assert_malformed_or_valid::<ClientMessage>(&payload)?;
        assert_malformed_or_valid::<BrokerMessage>(&payload)?;
        assert_malformed_or_valid::<ToWorker>(&payload)?;
        assert_malformed_or_valid::<FromWorker>(&payload)?;
    }

    /// Valid payloads with a few bytes flipped reach deep into the decoder; still no panic.
    #[test]
    fn corrupted_payloads_are_malformed_or_valid(
        msg in arb::message(),
        flips in vec((any::<Index>(), 1..=u8::MAX), 1..4),
    ) {
        let mut payload = msg.payload();
        for (at, mask) in flips {
            let at = at.index(payload.len());
            payload[at] ^= mask;
        }
        assert_malformed_or_valid_as(&msg, &payload)?;
    }

    /// Bytes after a complete message inside one frame are an error, not silently dropped.
    #[test]
    fn trailing_bytes_in_a_frame_are_malformed(
        msg in arb::message(),
        extra in prop_oneof![vec(any::<u8>(), 1..16), arb::message().prop_map(|m| m.payload())],
    ) {
        let payload = [msg.payload(), extra.clone()].concat();
        match msg.read_same_kind(&mut frame_of(&payload).as_slice()) {
            Err(FrameError::Malformed(why)) => {
                prop_assert!(why.contains("trailing"), "{}", why);
                prop_assert!(why.contains(&extra.len().to_string()), "{}", why);
            }
            other => prop_assert!(false, "{} trailing bytes: {:?}", extra.len(), other),
        }
    }

    /// A length prefix claiming far more than the payload holds fails fast, allocating about nothing.
    #[test]
    fn lying_lengths_are_refused_without_a_large_allocation(
        case in 0..LYING_LENGTHS.len(),
        claimed in prop_oneof![64..(1u64 << 32), (1u64 << 32)..=u64::MAX],
    ) {
        let lie = &LYING_LENGTHS[case];
        let frame = frame_of(&lie.payload(claimed));
        let started = Instant::now();
        let (read, largest) = largest_allocation(|| (lie.read)(&frame));
        prop_assert!(matches!(read, Err(FrameError::Malformed(_))), "{}: {:?}", lie.what, read);
        prop_assert!(started.elapsed() < Duration::from_secs(2), "{} took {:?}", lie.what, started.elapsed());
        // A string is allocated whole before it is read, so a lie is refused by the decode limit; lists grow as
        // their elements arrive, so any lie is cheap.
        if lie.element_list || claimed >= 1 << 32 {
            prop_assert!(largest < ALLOCATION_BOUND, "{} claiming {} allocated {} bytes", lie.what, claimed, largest);
        }
    }
}

/// A payload with a length prefix in it whose claim the bytes after it cannot back.
struct LyingLength {
    what: &'static str,
    /// The payload up to the length prefix.
    before: &'static [u8],
    /// Whether the length counts elements of a list (grown as they arrive) rather than bytes of a string.
    element_list: bool,
    read: fn(&[u8]) -> Result<(), FrameError>,
}

impl LyingLength {
    /// The payload with `claimed` as its length prefix and a few bytes after it.
    fn payload(&self, claimed: u64) -> Vec<u8> {
        [self.before, &varint(claimed), &[1, 2, 3, 4]].concat()
    }
}

fn read_as<T: DeserializeOwned>(frame: &[u8]) -> Result<(), FrameError> {
    read_frame::<_, T>(&mut &frame[..]).map(drop)
}

const LYING_LENGTHS: &[LyingLength] = &[
    LyingLength { what: "FromWorker::Batch columns", before: &[3], element_list: true, read: read_as::<FromWorker> },
    LyingLength {
        what: "FromWorker::Batch Int values",
        before: &[3, 1, 1],
        element_list: true,
        read: read_as::<FromWorker>,
    },
    LyingLength {
        what: "FromWorker::Batch Bytes cell",
        before: &[3, 1, 6, 1, 1],
        element_list: true,
        read: read_as::<FromWorker>,
    },
    LyingLength { what: "FromWorker::Columns", before: &[2], element_list: true, read: read_as::<FromWorker> },
    LyingLength {
        what: "BrokerMessage::Reply(Ok(Reply::Sources))",
        before: &[1, 0, 1],
        element_list: true,
        read: read_as::<BrokerMessage>,
    },
    LyingLength { what: "FromWorker::Files", before: &[6], element_list: true, read: read_as::<FromWorker> },
    LyingLength {
        what: "BrokerMessage::Reply(Ok(Reply::Audit))",
        before: &[1, 0, 13],
        element_list: true,
        read: read_as::<BrokerMessage>,
    },
    LyingLength {
        what: "BrokerMessage::Reply(Ok(Reply::Messages))",
        before: &[1, 0, 16],
        element_list: true,
        read: read_as::<BrokerMessage>,
    },
    LyingLength {
        what: "FromWorker::Batch Text cell",
        before: &[3, 1, 3, 1, 1],
        element_list: false,
        read: read_as::<FromWorker>,
    },
    LyingLength {
        what: "FromWorker::Failed(WorkerError::Query)",
        before: &[5, 2],
        element_list: false,
        read: read_as::<FromWorker>,
    },
    LyingLength {
        what: "ClientMessage::Request(Request::SessionCreate) title",
        before: &[1, 16],
        element_list: false,
        read: read_as::<ClientMessage>,
    },
    LyingLength {
        what: "FromWorker::Tested server_version",
        before: &[7],
        element_list: false,
        read: read_as::<FromWorker>,
    },
    LyingLength {
        // Postgres, an empty target on port 0 without TLS, then `Some` password.
        what: "ToWorker::Job(Job::Database) password",
        before: &[1, 3, 1, 0, 0, 0, 0, 0, 1],
        element_list: false,
        read: read_as::<ToWorker>,
    },
    LyingLength {
        what: "ClientMessage::Request(Request::SourceAdd) name",
        before: &[1, 0],
        element_list: false,
        read: read_as::<ClientMessage>,
    },
];

/// The case from the brief: `FromWorker::Batch` claiming u64::MAX / 2 columns, then nothing to back it.
#[test]
fn a_batch_claiming_half_of_u64_max_columns_is_an_error() {
    for claimed in [u64::MAX / 2, 1 << 40] {
        let frame = frame_of(&[&[3][..], &varint(claimed)].concat());
        let started = Instant::now();
        let (read, largest) = largest_allocation(|| read_frame::<_, FromWorker>(&mut frame.as_slice()));
        assert!(matches!(read, Err(FrameError::Malformed(_))), "{read:?}");
        assert!(largest < ALLOCATION_BOUND, "claiming {claimed} columns allocated {largest} bytes");
        assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    }
}

#[test]
fn an_empty_payload_is_malformed() {
    let frame = frame_of(&[]);
    assert!(matches!(read_frame::<_, ClientMessage>(&mut frame.as_slice()), Err(FrameError::Malformed(_))));
    assert!(matches!(read_frame::<_, BrokerMessage>(&mut frame.as_slice()), Err(FrameError::Malformed(_))));
    assert!(matches!(read_frame::<_, ToWorker>(&mut frame.as_slice()), Err(FrameError::Malformed(_))));
    assert!(matches!(read_frame::<_, FromWorker>(&mut frame.as_slice()), Err(FrameError::Malformed(_))));
}

/// A header at the limit is accepted, but the reader only reserves a little until the payload actually arrives.
#[test]
fn a_header_at_the_limit_reserves_little_before_the_payload_arrives() {
    let frame = MAX_FRAME_LEN.to_le_bytes();
    let (read, largest) = largest_allocation(|| read_frame::<_, FromWorker>(&mut &frame[..]));
    match read {
        Err(FrameError::Truncated { expected, got: 0 }) => assert_eq!(expected, MAX_FRAME_LEN as usize),
        other => panic!("expected Truncated, got {other:?}"),
    }
    assert!(largest <= 64 * 1024, "reserved {largest} bytes for a payload that never came");
}

#[test]
fn a_failing_pipe_is_an_io_error() {
    let whole = Message::FromWorker(FromWorker::Columns(Vec::new())).frame();
    for cut in [0, 2, HEADER_LEN, whole.len() - 1] {
        let mut pipe = BreaksAfter { bytes: &whole[..cut] };
        match read_frame::<_, FromWorker>(&mut pipe) {
            Err(FrameError::Io(err)) => assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "cut at {cut}"),
            other => panic!("cut at {cut}: expected an I/O error, got {other:?}"),
        }
    }
}
