//! The test servers' own clients and scratch databases, shared with the benchmarks and evaluations: see
//! [`polystoreiq_tests::servers`].

pub use polystoreiq_tests::servers::*;
