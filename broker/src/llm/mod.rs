//! Drafting with language models: the [`provider::Provider`] trait and its adapters (OpenAI-compatible chat
//! completions, Anthropic Messages, Ollama), the prompt builder, the provider settings, and the router that
//! falls back to the offline planner when a provider fails.
//!
//! Architecture invariant: only the broker calls a model, and only through this module. A prompt is built from
//! the schema snapshot and the question alone, so it never carries a password, host, user or file path; the
//! API key goes from the keyring into one request header and nowhere else (not the app state, not a log, not an
//! error message). A model's query is never trusted: it goes through the guardrail and an approval token like
//! any other draft.

pub mod anthropic;
pub mod http;
pub mod ollama;
pub mod openai;
pub mod prompt;
pub mod provider;
pub mod router;
pub mod settings;

pub use provider::{Call, GenerateRequest, GenerateResponse, LlmError, Provider};
pub use router::Router;
