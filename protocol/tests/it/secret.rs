//! `Secret`: its `Debug` says `[redacted]` however it is nested, it has no `Serialize` or `Display`, and it arrives
//! from the wire as a plain string.

use polystoreiq_protocol::codec;
use polystoreiq_protocol::secret::Secret;
use proptest::prelude::*;

use crate::strategies as arb;

proptest! {
    #![proptest_config(crate::cases())]

    #[test]
    fn secret_debug_is_redacted(value in arb::text()) {
        let secret = Secret::new(value.clone());
        prop_assert_eq!(format!("{secret:?}"), "[redacted]");
        prop_assert_eq!(format!("{secret:#?}"), "[redacted]");
        prop_assert_eq!(format!("{:?}", Some(secret.clone())), "Some([redacted])");
        prop_assert_eq!(format!("{:?}", vec![secret.clone(), secret.clone()]), "[[redacted], [redacted]]");
        prop_assert_eq!(secret.expose(), value.as_str());
    }

    /// What a worker receives on the wire is a string; decoding keeps it whole and still hides it.
    #[test]
    fn secret_decodes_from_a_wire_string(value in arb::text()) {
        let secret: Secret = codec::decode(&codec::encode(&value)?)?;
        prop_assert_eq!(secret.expose(), value.as_str());
        prop_assert_eq!(format!("{secret:?}"), "[redacted]");
    }
}

#[test]
fn a_secret_never_appears_in_debug_output() {
    #[derive(Debug)]
    #[allow(dead_code)] // read only through `Debug`
    struct Connection {
        user: String,
        password: Secret,
    }
    let connection = Connection { user: "ada".into(), password: Secret::new("correct horse battery staple") };
    for shown in [format!("{connection:?}"), format!("{connection:#?}")] {
        assert!(!shown.contains("correct horse"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
        assert!(shown.contains("ada"), "{shown}");
    }
}

/// Compile-time: `<Secret as NotSerialize<_>>` resolves only if exactly one impl applies, so this stops compiling
/// the day `Secret` gains `Serialize` (or `Display`) and could leak by accident.
#[test]
fn secret_has_no_serialize_and_no_display() {
    trait NotSerialize<A> {
        fn check() {}
    }
    impl<T: ?Sized> NotSerialize<()> for T {}
    struct Serializable;
    impl<T: ?Sized + serde::Serialize> NotSerialize<Serializable> for T {}
    <Secret as NotSerialize<_>>::check();

    trait NotDisplay<A> {
        fn check() {}
    }
    impl<T: ?Sized> NotDisplay<()> for T {}
    struct Displayable;
    impl<T: ?Sized + std::fmt::Display> NotDisplay<Displayable> for T {}
    <Secret as NotDisplay<_>>::check();
}
