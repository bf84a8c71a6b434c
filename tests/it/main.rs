//! Cross-process integration tests: the real `psiq`, broker and worker binaries, real DuckDB, real files.

mod access;
mod broker;
mod desktop;
mod dry_run;
mod files;
mod guard;
mod layers;
mod limits;
mod llm;
mod metadata;
mod mongo;
mod mysql;
mod planner;
mod retries;
mod sandbox;
mod secrets;
mod seed;
mod server_cancel;
mod servers;
mod state;
mod supervision;
mod support;
mod tidy;
mod tls;
mod tokens;
mod types;
