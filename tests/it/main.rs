//! Cross-process integration tests: the real `psiq`, broker and worker binaries, real DuckDB, real files.

mod access;
mod broker;
mod files;
mod guard;
mod layers;
mod mongo;
mod mysql;
mod secrets;
mod state;
mod supervision;
mod support;
mod tidy;
mod tokens;
