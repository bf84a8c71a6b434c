//! [`TypedError`]: the error every front end receives, with a stable [`ErrorCode`] to branch on.
//!
//! Front ends branch on the code, never on the message. Codes are only appended.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Declares [`ErrorCode`] from one list: each variant with its stable name.
macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $name:tt,)*) => {
        /// Stable error codes. Their `snake_case` names appear in `--json` output and never change.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
        pub enum ErrorCode {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)*
        }

        impl ErrorCode {
            /// Every code, in the order declared.
            pub const ALL: &[ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The stable name, as shown to users and scripts.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $name,)*
                }
            }
        }
    };
}

error_codes! {
    /// The request itself is invalid (bad name, missing field, out-of-range value).
    BadRequest = "bad_request",
    SourceNotFound = "source_not_found",
    SourceExists = "source_exists",
    SourceDisabled = "source_disabled",
    /// A file could not be imported: wrong type, unparseable, empty, unreadable.
    InvalidFile = "invalid_file",
    FileTooLarge = "file_too_large",
    /// The guardrail refused the query; the verdict carries its own reason code.
    QueryRejected = "query_rejected",
    /// The engine refused or failed the query (syntax, unknown column, type error, engine limit).
    QueryFailed = "query_failed",
    DraftNotFound = "draft_not_found",
    TokenInvalid = "token_invalid",
    TokenExpired = "token_expired",
    TokenUsed = "token_used",
    RunNotFound = "run_not_found",
    /// The run was cancelled by the user; its worker was killed.
    Cancelled = "cancelled",
    /// The run outlived its deadline; its worker was killed.
    DeadlineExceeded = "deadline_exceeded",
    /// The worker died: a signal, an abort, a panic or an early exit.
    WorkerCrashed = "worker_crashed",
    /// The worker ran out of memory (allocation failure or killed at its memory limit).
    WorkerOutOfMemory = "worker_out_of_memory",
    /// The worker broke the protocol (garbage on stdout, wrong handshake).
    WorkerProtocol = "worker_protocol",
    /// Too many runs are queued; retry after `retry_after_ms`.
    Busy = "busy",
    /// The client and the broker speak different protocol versions.
    VersionMismatch = "version_mismatch",
    /// The broker is not running and could not be started.
    BrokerUnavailable = "broker_unavailable",
    Internal = "internal",
    /// The planner could not turn the question into a query; the message says which words it could not place.
    DraftDeclined = "draft_declined",
    /// The profile is locked; unlock it first.
    Locked = "locked",
    /// The current role may not do this.
    Forbidden = "forbidden",
    /// The passphrase or PIN was wrong, or attempts are paused (see `retry_after_ms`).
    UnlockFailed = "unlock_failed",
    /// The database server cannot be reached.
    Unreachable = "unreachable",
    /// The database refused the credentials.
    AuthFailed = "auth_failed",
    /// The source's circuit breaker is open after repeated connection failures; `retry_after_ms` says when the
    /// next attempt is let through. Since v3.
    CircuitOpen = "circuit_open",
    /// The TLS handshake failed, or the server does not offer the TLS the source requires. Since v3.
    TlsFailed = "tls_failed",
    /// The connection broke after the query was sent: it may have run. Never retried automatically. Since v3.
    ConnectionLost = "connection_lost",
    /// The model provider did not answer in time. Since v3.
    LlmTimeout = "llm_timeout",
    /// The model provider refused for too many requests; `retry_after_ms` says when to try again. Since v3.
    LlmRateLimited = "llm_rate_limited",
    /// The model provider failed on its side (a 5xx answer, an error event in its stream). Since v3.
    LlmServerError = "llm_server_error",
    /// The model provider's answer could not be read (not its wire format), or held no query. Since v3.
    LlmBadAnswer = "llm_bad_answer",
    /// The model declined to write a query; the message quotes why. Since v3.
    LlmRefused = "llm_refused",
    /// The model provider refused the API key (401/403); set it again with `psiq settings llm --api-key-stdin`.
    /// Since v3.
    LlmUnauthorized = "llm_unauthorized",
    /// The model provider cannot be reached (connection refused, name not found, TLS failure). Since v3.
    LlmUnreachable = "llm_unreachable",
    /// The model provider refused the request itself (an unknown model, a prompt too long). Since v3.
    LlmRejected = "llm_rejected",
    /// The other end of the broker's socket runs as another user: the broker refuses such a client, and a
    /// client refuses such a broker before any secret is sent. Since v6.
    ForeignUser = "foreign_user",
    /// Neither the profile directory nor `$XDG_RUNTIME_DIR` gives a path short enough for the broker's Unix
    /// socket; the message says to use a shorter profile directory. Since v6.
    SocketPathTooLong = "socket_path_too_long",
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
