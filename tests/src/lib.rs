//! Shared pieces of the cross-process tests, the fixture generator and the benchmarks.

pub mod bench;
pub mod db_bench;
pub mod desktop;
pub mod fixtures;
pub mod guard_bench;
pub mod pins_bench;
pub mod planner_eval;
pub mod planner_eval_bench;
mod planner_eval_cases;
pub mod seed;
pub mod servers;
pub mod ui_bench;
pub mod webdriver;
