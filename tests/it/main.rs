//! Cross-process integration tests: the real `psiq`, broker and worker binaries, real DuckDB, real files.

mod access;
mod broker;
mod files;
mod secrets;
mod state;
mod supervision;
mod support;
mod tidy;
