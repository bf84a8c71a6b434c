//! Shared pieces of the cross-process tests, the fixture generator and the benchmarks.

pub mod bench;
pub mod fixtures;
pub mod guard_bench;
