//! The broker library's integration tests: properties of its pure parts that need many generated inputs, the
//! model-provider adapters against a local HTTP server, and the prompts pinned per engine.

mod guard_fuzz;
mod llm;
mod prompt;
