//! [`TypedError`]: the error every front end receives, with a stable [`ErrorCode`] to branch on.
//!
//! Front ends branch on the code, never on the message. Codes are only appended.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Stable error codes. Their `snake_case` names appear in `--json` output and never change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request itself is invalid (bad name, missing field, out-of-range value).
    BadRequest,
    SourceNotFound,
    SourceExists,
    SourceDisabled,
    /// A file could not be imported: wrong type, unparseable, empty, unreadable.
    InvalidFile,
    FileTooLarge,
    /// The guardrail refused the query; the verdict carries its own reason code.
    QueryRejected,
    /// The engine refused or failed the query (syntax, unknown column, type error, engine limit).
    QueryFailed,
    DraftNotFound,
    TokenInvalid,
    TokenExpired,
    TokenUsed,
    RunNotFound,
    /// The run was cancelled by the user; its worker was killed.
    Cancelled,
    /// The run outlived its deadline; its worker was killed.
    DeadlineExceeded,
    /// The worker died: a signal, an abort, a panic or an early exit.
    WorkerCrashed,
    /// The worker ran out of memory (allocation failure or killed at its memory limit).
    WorkerOutOfMemory,
    /// The worker broke the protocol (garbage on stdout, wrong handshake).
    WorkerProtocol,
    /// Too many runs are queued; retry after `retry_after_ms`.
    Busy,
    /// The client and the broker speak different protocol versions.
    VersionMismatch,
    /// The broker is not running and could not be started.
    BrokerUnavailable,
    Internal,
    /// The planner could not turn the question into a query; the message says which words it could not place.
    DraftDeclined,
    /// The profile is locked; unlock it first.
    Locked,
    /// The current role may not do this.
    Forbidden,
    /// The passphrase or PIN was wrong, or attempts are paused (see `retry_after_ms`).
    UnlockFailed,
    /// The database server cannot be reached.
    Unreachable,
    /// The database refused the credentials.
    AuthFailed,
    /// The source's circuit breaker is open after repeated connection failures; `retry_after_ms` says when the
    /// next attempt is let through. Since v3.
    CircuitOpen,
    /// The TLS handshake failed, or the server does not offer the TLS the source requires. Since v3.
    TlsFailed,
    /// The connection broke after the query was sent: it may have run. Never retried automatically. Since v3.
    ConnectionLost,
    /// The model provider did not answer in time. Since v3.
    LlmTimeout,
    /// The model provider refused for too many requests; `retry_after_ms` says when to try again. Since v3.
    LlmRateLimited,
    /// The model provider failed on its side (a 5xx answer, an error event in its stream). Since v3.
    LlmServerError,
    /// The model provider's answer could not be read (not its wire format), or held no query. Since v3.
    LlmBadAnswer,
    /// The model declined to write a query; the message quotes why. Since v3.
    LlmRefused,
    /// The model provider refused the API key (401/403); set it again with `psiq settings llm --api-key-stdin`.
    /// Since v3.
    LlmUnauthorized,
    /// The model provider cannot be reached (connection refused, name not found, TLS failure). Since v3.
    LlmUnreachable,
    /// The model provider refused the request itself (an unknown model, a prompt too long). Since v3.
    LlmRejected,
    /// The other end of the broker's socket runs as another user: the broker refuses such a client, and a
    /// client refuses such a broker before any secret is sent. Since v6.
    ForeignUser,
    /// Neither the profile directory nor `$XDG_RUNTIME_DIR` gives a path short enough for the broker's Unix
    /// socket; the message says to use a shorter profile directory. Since v6.
    SocketPathTooLong,
}

impl ErrorCode {
    /// The stable name, as shown to users and scripts.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::SourceNotFound => "source_not_found",
            ErrorCode::SourceExists => "source_exists",
            ErrorCode::SourceDisabled => "source_disabled",
            ErrorCode::InvalidFile => "invalid_file",
            ErrorCode::FileTooLarge => "file_too_large",
            ErrorCode::QueryRejected => "query_rejected",
            ErrorCode::QueryFailed => "query_failed",
            ErrorCode::DraftNotFound => "draft_not_found",
            ErrorCode::TokenInvalid => "token_invalid",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::TokenUsed => "token_used",
            ErrorCode::RunNotFound => "run_not_found",
            ErrorCode::Cancelled => "cancelled",
            ErrorCode::DeadlineExceeded => "deadline_exceeded",
            ErrorCode::WorkerCrashed => "worker_crashed",
            ErrorCode::WorkerOutOfMemory => "worker_out_of_memory",
            ErrorCode::WorkerProtocol => "worker_protocol",
            ErrorCode::Busy => "busy",
            ErrorCode::VersionMismatch => "version_mismatch",
            ErrorCode::BrokerUnavailable => "broker_unavailable",
            ErrorCode::Internal => "internal",
            ErrorCode::DraftDeclined => "draft_declined",
            ErrorCode::Locked => "locked",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::UnlockFailed => "unlock_failed",
            ErrorCode::Unreachable => "unreachable",
            ErrorCode::AuthFailed => "auth_failed",
            ErrorCode::CircuitOpen => "circuit_open",
            ErrorCode::TlsFailed => "tls_failed",
            ErrorCode::ConnectionLost => "connection_lost",
            ErrorCode::LlmTimeout => "llm_timeout",
            ErrorCode::LlmRateLimited => "llm_rate_limited",
            ErrorCode::LlmServerError => "llm_server_error",
            ErrorCode::LlmBadAnswer => "llm_bad_answer",
            ErrorCode::LlmRefused => "llm_refused",
            ErrorCode::LlmUnauthorized => "llm_unauthorized",
            ErrorCode::LlmUnreachable => "llm_unreachable",
            ErrorCode::LlmRejected => "llm_rejected",
            ErrorCode::ForeignUser => "foreign_user",
            ErrorCode::SocketPathTooLong => "socket_path_too_long",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error as a front end sees it: a code to branch on, a message that says what to do, and hints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error, TS)]
// In TypeScript its data form, beside the UI's own `TypedError` class that wraps it.
#[ts(rename = "TypedErrorData")]
#[error("{message} [{code}]")]
pub struct TypedError {
    pub code: ErrorCode,
    pub message: String,
    /// For [`ErrorCode::Busy`], [`ErrorCode::CircuitOpen`] and [`ErrorCode::LlmRateLimited`]: when to try again.
    pub retry_after_ms: Option<u64>,
}

impl TypedError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> TypedError {
        TypedError { code, message: message.into(), retry_after_ms: None }
    }

    pub fn busy(retry_after_ms: u64, message: impl Into<String>) -> TypedError {
        TypedError { code: ErrorCode::Busy, message: message.into(), retry_after_ms: Some(retry_after_ms) }
    }
}
