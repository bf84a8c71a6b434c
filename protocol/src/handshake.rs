//! The handshake: the first frame each side sends on every connection and pipe.
//!
//! Layout rule: [`Hello`] is variant 0 of every top-level message enum and its fields never change, so a peer of
//! any version can read it and say which versions disagree. Version history:
//! - v1: the first protocol.
//! - v2: app state: audit, chat sessions and messages; per-stage latency in the diagnostics report.
//! - v3: richer metadata (keys, indexes, comments, sampled field statistics) and the schema cache's freshness;
//!   circuit breakers on sources and in diagnostics; `verify_full` TLS; TLS and lost-connection errors; server-side
//!   cancel (`FromWorker::ServerSession`, `DbAction::Cancel`).
//! - v4: a draft's dry run and repair attempts (`DraftPreview::check` and `attempts`, `Job::Check`,
//!   `DbAction::Check`); the recommended chart of every result (`RunSummary::chart`).
//! - v5: the limits the owner changes from a front end (`Settings::limits`, `Request::SetLimits`); a worker's own
//!   peak RSS in `JobDone`; a run's trace (`Request::RunTrace`).
//! - v6: session pins: `ToWorker::Execute` carries the `SessionLimits` a worker pins (PostgreSQL `work_mem` and
//!   `temp_file_limit`, DuckDB `max_temp_directory_size`), which the owner sets in `Limits`; `WorkerError::SessionPin`; the
//!   user-defined functions the owner allows per source (`Request::SourceFunctions`); no local IPC for workers
//!   (`SandboxPolicy::name_resolution`, `Probe::ConnectUnix`); a private profile (`ErrorCode::ForeignUser`,
//!   `ErrorCode::SocketPathTooLong`).
//! - v7: audit actions as a closed set (`AuditAction`, in `AuditEvent` and `AuditFilter`) and chat roles as
//!   `ChatRole`; renaming a chat session (`Request::SessionRename`); a sandbox policy in the job's terms, derived only by the broker (`SandboxPolicy`'s
//!   scratch directory, source paths, `DatabaseFile` and `NetworkTarget` replace its read and write paths, ports
//!   and `name_resolution`), which the worker's enforcers translate without its job.

use serde::{Deserialize, Serialize};

use crate::frame::FrameError;

/// The environment variable through which the broker hands a worker its spawn nonce.
pub const WORKER_NONCE_ENV: &str = "POLYSTOREIQ_WORKER_NONCE";

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 7;

/// Four bytes that open every handshake, so a stray process talking to our socket is spotted at once.
pub const MAGIC: [u8; 4] = *b"PSIQ";

/// A per-spawn random value. A worker refuses to run unless the broker's handshake repeats the nonce the
/// broker gave it at spawn, so a worker binary started by anything else does nothing.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nonce(pub [u8; 16]);

impl std::fmt::Debug for Nonce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Nonce(..)")
    }
}

impl Nonce {
    /// Hex form, for handing to a child process at spawn.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses the form [`Nonce::to_hex`] writes.
    pub fn from_hex(s: &str) -> Option<Nonce> {
        // Check every byte: `from_str_radix` alone would also take a sign (`"+f"` parses as 15).
        if s.len() != 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let mut out = [0u8; 16];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Nonce(out))
    }
}

/// Who is speaking.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PeerRole {
    Broker,
    Worker,
    Client,
}

/// The handshake frame. Never reorder or change these fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub magic: [u8; 4],
    pub version: u32,
    pub role: PeerRole,
    pub nonce: Nonce,
}

impl Hello {
    pub fn new(role: PeerRole, nonce: Nonce) -> Hello {
        Hello { magic: MAGIC, version: PROTOCOL_VERSION, role, nonce }
    }

    /// Checks a peer's handshake: magic, version, role and (when given) nonce.
    pub fn check(&self, expected_role: PeerRole, expected_nonce: Option<Nonce>) -> Result<(), FrameError> {
        if self.magic != MAGIC {
            return Err(FrameError::Handshake("the peer is not a PolyStoreIQ process".into()));
        }
        if self.version != PROTOCOL_VERSION {
            return Err(FrameError::VersionMismatch { ours: PROTOCOL_VERSION, theirs: self.version });
        }
        if self.role != expected_role {
            return Err(FrameError::Handshake(format!("expected a {expected_role:?} peer, got a {:?}", self.role)));
        }
        if expected_nonce.is_some_and(|nonce| self.nonce != nonce) {
            return Err(FrameError::Handshake("wrong nonce".into()));
        }
        Ok(())
    }
}
