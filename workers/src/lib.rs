//! Connector code that runs inside one short-lived worker process per execution.
//!
//! Architecture invariant: a worker writes only frames to stdout (logs go to stderr), opens data only after the
//! broker's handshake has been checked, and runs exactly one job before exiting. Nothing here touches the app
//! state, the keyring or an LLM.

#![deny(clippy::print_stdout)]

pub mod arrow_map;
pub mod duck;
mod fault;
pub mod mongo;
pub mod mysql;
pub mod postgres;
pub mod sandbox;
pub mod serve;
pub mod tls;

pub use serve::{serve, take_spawn_nonce};
