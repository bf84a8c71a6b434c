//! The versioned handshake: `Hello` is variant 0 of every top-level enum with a pinned layout, `Hello::check` refuses
//! other versions (naming both), foreign magic, the wrong role and the wrong nonce; and the nonce's hex form.

use polystoreiq_protocol::broker::{BrokerMessage, ClientMessage};
use polystoreiq_protocol::frame::{FrameError, read_frame, write_frame};
use polystoreiq_protocol::handshake::MAGIC;
use polystoreiq_protocol::worker::{FromWorker, ToWorker};
use polystoreiq_protocol::{Hello, Nonce, PROTOCOL_VERSION, PeerRole, codec};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

use crate::strategies as arb;

const ROLES: [PeerRole; 3] = [PeerRole::Broker, PeerRole::Worker, PeerRole::Client];

/// The whole numbers that appear in `text`.
fn numbers_in(text: &str) -> Vec<u64> {
    text.split(|c: char| !c.is_ascii_digit()).filter_map(|run| run.parse().ok()).collect()
}

proptest! {
    #![proptest_config(crate::cases())]

    /// The handshake is variant 0 everywhere and decodes as a bare `Hello` once the variant byte is stripped, so a
    /// peer of any version can read it and say which versions disagree.
    #[test]
    fn hello_is_variant_zero_of_every_top_level_enum(hello in arb::hello()) {
        let payloads = [
            ("ClientMessage", codec::encode(&ClientMessage::Hello(hello.clone()))?),
            ("BrokerMessage", codec::encode(&BrokerMessage::Hello(hello.clone()))?),
            ("ToWorker", codec::encode(&ToWorker::Hello(hello.clone()))?),
            ("FromWorker", codec::encode(&FromWorker::Hello(hello.clone()))?),
        ];
        let bare = codec::encode(&hello)?;
        for (name, payload) in payloads {
            prop_assert_eq!(payload[0], 0x00, "{}::Hello", name);
            prop_assert_eq!(&codec::decode::<Hello>(&payload[1..])?, &hello, "{}::Hello", name);
            prop_assert_eq!(&payload[1..], &bare[..], "{}::Hello", name);
        }
    }

    #[test]
    fn a_matching_hello_is_accepted(role in arb::peer_role(), nonce in arb::nonce()) {
        let hello = Hello::new(role, nonce);
        prop_assert!(hello.check(role, Some(nonce)).is_ok());
        prop_assert!(hello.check(role, None).is_ok(), "no nonce to check: any nonce will do");
    }

    #[test]
    fn another_version_is_refused_naming_both(theirs in arb::u32_wide(), role in arb::peer_role()) {
        prop_assume!(theirs != PROTOCOL_VERSION);
        let hello = Hello { version: theirs, ..Hello::new(role, Nonce([7; 16])) };
        match hello.check(role, Some(Nonce([7; 16]))) {
            Err(err @ FrameError::VersionMismatch { ours, theirs: t }) => {
                prop_assert_eq!((ours, t), (PROTOCOL_VERSION, theirs));
                let shown = numbers_in(&err.to_string());
                prop_assert!(shown.contains(&u64::from(PROTOCOL_VERSION)), "{}", err);
                prop_assert!(shown.contains(&u64::from(theirs)), "{}", err);
            }
            other => prop_assert!(false, "expected VersionMismatch, got {:?}", other),
        }
    }

    /// A peer of a later version sends its handshake in a frame; this side reads it as its own enum and refuses it
    /// for its version, not as garbage.
    #[test]
    fn a_hello_from_another_version_is_read_then_refused(theirs in arb::u32_wide(), nonce in arb::nonce()) {
        prop_assume!(theirs != PROTOCOL_VERSION);
        let mut pipe = Vec::new();
        write_frame(&mut pipe, &ToWorker::Hello(Hello { version: theirs, ..Hello::new(PeerRole::Broker, nonce) }))?;
        let ToWorker::Hello(hello) = read_frame::<_, ToWorker>(&mut pipe.as_slice())? else {
            return Err(TestCaseError::fail("expected a Hello"));
        };
        let checked = hello.check(PeerRole::Broker, Some(nonce));
        let refused_for_version = matches!(
            checked,
            Err(FrameError::VersionMismatch { ours: PROTOCOL_VERSION, theirs: t }) if t == theirs
        );
        prop_assert!(refused_for_version, "{:?}", checked);
    }

    /// Foreign magic is refused as a stranger, before its "version" is even looked at.
    #[test]
    fn foreign_magic_is_refused(magic in any::<[u8; 4]>(), version in arb::u32_wide(), role in arb::peer_role()) {
        prop_assume!(magic != MAGIC);
        let hello = Hello { magic, version, ..Hello::new(role, Nonce([1; 16])) };
        let checked = hello.check(role, Some(Nonce([1; 16])));
        prop_assert!(matches!(checked, Err(FrameError::Handshake(_))), "{:?}", checked);
    }

    #[test]
    fn the_wrong_nonce_is_refused(sent in arb::nonce(), expected in arb::nonce(), role in arb::peer_role()) {
        prop_assume!(sent != expected);
        let checked = Hello::new(role, sent).check(role, Some(expected));
        prop_assert!(matches!(checked, Err(FrameError::Handshake(_))), "{:?}", checked);
    }

    #[test]
    fn nonce_hex_round_trips(nonce in arb::nonce()) {
        let hex = nonce.to_hex();
        prop_assert_eq!(hex.len(), 32);
        prop_assert!(hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "{}", hex);
        prop_assert_eq!(Nonce::from_hex(&hex), Some(nonce));
        prop_assert_eq!(Nonce::from_hex(&hex.to_ascii_uppercase()), Some(nonce));
    }

    /// `from_hex` accepts exactly 32 hex digits and refuses everything else without panicking: arbitrary strings,
    /// and near misses of the right length built from hex digits, signs, spaces and multi-byte characters.
    #[test]
    fn nonce_from_hex_accepts_exactly_32_hex_digits(
        s in prop_oneof![
            vec(any::<char>(), 0..40).prop_map(String::from_iter),
            vec(select(&['0', '9', 'a', 'f', 'A', 'F', 'g', '+', '-', ' ', 'x', 'é', '€', '\0'][..]), 30..=33)
                .prop_map(String::from_iter),
            vec(select(&['0', '7', 'c', 'F', '+'][..]), 32).prop_map(String::from_iter),
        ]
    ) {
        let expected = (s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| {
            let mut bytes = [0u8; 16];
            for (i, pair) in s.as_bytes().chunks(2).enumerate() {
                bytes[i] = u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap();
            }
            Nonce(bytes)
        });
        prop_assert_eq!(Nonce::from_hex(&s), expected, "{:?}", s);
    }
}

#[test]
fn the_wrong_role_is_refused() {
    for sent in ROLES {
        for expected in ROLES.into_iter().filter(|r| *r != sent) {
            let checked = Hello::new(sent, Nonce([3; 16])).check(expected, None);
            assert!(matches!(checked, Err(FrameError::Handshake(_))), "{sent:?} as {expected:?}: {checked:?}");
        }
    }
}

/// The handshake's bytes never change, whatever else the protocol does: a change here strands every older peer.
#[test]
fn the_hello_layout_is_pinned() {
    let hello = Hello { magic: MAGIC, version: 1, role: PeerRole::Worker, nonce: Nonce([0xab; 16]) };
    let expected: Vec<u8> = [&b"PSIQ"[..], &[1], &[1], &[0xab; 16]].concat();
    assert_eq!(codec::encode(&hello).unwrap(), expected);
    assert_eq!(codec::encode(&FromWorker::Hello(hello)).unwrap(), [&[0][..], &expected].concat());

    // A version of 300 takes a wider varint: the layout is bincode's, not a fixed width.
    let later = Hello { magic: MAGIC, version: 300, role: PeerRole::Client, nonce: Nonce([0; 16]) };
    let expected: Vec<u8> = [&b"PSIQ"[..], &[251, 0x2c, 0x01], &[2], &[0; 16]].concat();
    assert_eq!(codec::encode(&later).unwrap(), expected);
}

#[test]
fn version_mismatch_says_both_versions() {
    let err = FrameError::VersionMismatch { ours: 2, theirs: 42 };
    let shown = err.to_string();
    assert_eq!(numbers_in(&shown), [2, 42], "{shown}");
}

/// This build speaks v7: its handshake says so in the pinned layout, and a v6 peer is refused by version.
#[test]
fn this_build_speaks_version_7_and_refuses_version_6() {
    assert_eq!(PROTOCOL_VERSION, 7);
    let ours = Hello::new(PeerRole::Client, Nonce([0; 16]));
    let expected: Vec<u8> = [&b"PSIQ"[..], &[7], &[2], &[0; 16]].concat();
    assert_eq!(codec::encode(&ours).unwrap(), expected);

    let v6 = Hello { version: 6, ..ours };
    let checked = v6.check(PeerRole::Client, Some(Nonce([0; 16])));
    assert!(matches!(checked, Err(FrameError::VersionMismatch { ours: 7, theirs: 6 })), "{checked:?}");
}

#[test]
fn nonce_from_hex_refuses_known_bad_input() {
    let bad = [
        String::new(),
        "0".repeat(31),
        "0".repeat(33),
        "0".repeat(64),
        "g".repeat(32),
        "+0".repeat(16),
        "+f".repeat(16),
        "-0".repeat(16),
        " 0".repeat(16),
        format!("0x{}", "0".repeat(30)),
        "é".repeat(16),
        format!("{}é", "0".repeat(30)),
        format!("{}\n", "0".repeat(31)),
    ];
    for s in bad {
        assert_eq!(Nonce::from_hex(&s), None, "{s:?}");
    }
}

#[test]
fn nonce_debug_hides_the_value() {
    assert_eq!(format!("{:?}", Nonce([0x5a; 16])), "Nonce(..)");
}
