//! `Secret`: its `Debug` says `[redacted]` however it is nested, it has no `Serialize` or `Display`, and it arrives
//! from the wire as a plain string.

use polystoreiq_protocol::codec;
use polystoreiq_protocol::frame::{read_frame, write_frame};
use polystoreiq_protocol::secret::{Credential, Secret};
use polystoreiq_protocol::worker::{DbJob, Job, ToWorker};
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

    /// A `Credential` prints redacted, alone and inside the job that carries it, yet crosses the wire whole.
    #[test]
    fn credential_is_redacted_and_round_trips_in_a_database_job(value in arb::text(), job in arb::db_job()) {
        let credential = Credential(Secret::new(value.clone()));
        prop_assert_eq!(format!("{credential:?}"), "Credential([redacted])");
        prop_assert_eq!(format!("{credential:#?}"), "Credential([redacted])");

        // A distinctive secret never shows up in the `Debug` of the message that carries it.
        let marked = Credential(Secret::new("correct horse battery staple"));
        let marked = ToWorker::Job(Job::Database(DbJob { password: Some(marked), ..job.clone() }));
        for shown in [format!("{marked:?}"), format!("{marked:#?}")] {
            prop_assert!(!shown.contains("correct horse"), "{}", shown);
            prop_assert!(shown.contains("Credential([redacted])"), "{}", shown);
        }

        let msg = ToWorker::Job(Job::Database(DbJob { password: Some(credential), ..job }));
        let mut pipe = Vec::new();
        write_frame(&mut pipe, &msg)?;
        let back: ToWorker = read_frame(&mut pipe.as_slice())?;
        prop_assert_eq!(&back, &msg);
        match back {
            ToWorker::Job(Job::Database(DbJob { password: Some(password), .. })) => {
                prop_assert_eq!(password.0.expose(), value.as_str());
            }
            other => prop_assert!(false, "expected a database job with a password, got {:?}", other),
        }
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
