//! The profile's audit log, chat sessions and lock.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::*;
use crate::error::TypedError;

/// Calls `$callback!` with every audit action: its variant and its name in the log (`source.add`).
macro_rules! audit_actions {
    ($callback:ident) => {
        $callback! {
        /// A source was added.
        SourceAdd = "source.add",
        /// Adding a source failed; nothing was kept.
        SourceAddFailed = "source.add_failed",
        /// A file source's files changed and were imported again.
        SourceImport = "source.import",
        /// A source could not be refreshed and is marked failed.
        SourceFailed = "source.failed",
        /// A source's connection was tested.
        SourceTest = "source.test",
        SourceEnable = "source.enable",
        SourceDisable = "source.disable",
        SourceRemove = "source.remove",
        /// The user-defined functions a source's queries may call were changed.
        SourceFunctions = "source.functions",
        /// A connection to a database was tried again.
        ConnectRetry = "connect.retry",
        /// A draft was made, with its verdict.
        DraftCreate = "draft.create",
        /// The model declined to draft a query for a question.
        DraftDeclined = "draft.declined",
        /// A draft was set aside for a repaired one.
        DraftRepair = "draft.repair",
        /// The user denied a draft; nothing ran.
        DraftDeny = "draft.deny",
        /// A model provider drafted (or failed to).
        LlmGenerate = "llm.generate",
        /// An approval token was refused: unknown, expired or used.
        TokenRefused = "token.refused",
        /// An approved draft was refused before it ran (its source changed or was disabled).
        RunRefused = "run.refused",
        /// An approval token was used and a run started.
        RunApprove = "run.approve",
        RunFinish = "run.finish",
        RunCancel = "run.cancel",
        RunFail = "run.fail",
        RunCancelRequested = "run.cancel_requested",
        /// The broker cancelled a query on the database server itself.
        RunServerCancel = "run.server_cancel",
        AccessUnlock = "access.unlock",
        AccessUnlockFailed = "access.unlock_failed",
        AccessLock = "access.lock",
        /// The owner's passphrase or the viewer's PIN was set or removed.
        AccessSetLock = "access.set_lock",
        SettingsLimits = "settings.limits",
        SettingsLlm = "settings.llm",
        /// Files of the profile readable by others were made private at start.
        ProfilePermissionsFixed = "profile.permissions_fixed",
        }
    };
}

macro_rules! audit_action_enum {
    ($($(#[$doc:meta])* $variant:ident = $name:tt,)*) => {
        /// What an audit event records: a closed set, each named in the log, in `--json` and in `psiq audit
        /// --action` as `area.what` (`source.add`, `run.cancel`). Appended only.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
        pub enum AuditAction {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)*
        }

        impl AuditAction {
            /// Every action, in the order declared.
            pub const ALL: &[AuditAction] = &[$(AuditAction::$variant,)*];

            /// The action's name in the log.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $name,)*
                }
            }
        }
    };
}

audit_actions!(audit_action_enum);

impl std::fmt::Display for AuditAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl std::str::FromStr for AuditAction {
    type Err = TypedError;

    fn from_str(name: &str) -> Result<AuditAction, TypedError> {
        AuditAction::ALL.iter().copied().find(|action| action.as_str() == name).ok_or_else(|| {
            let names: Vec<&str> = AuditAction::ALL.iter().map(|action| action.as_str()).collect();
            TypedError::new(
                crate::error::ErrorCode::BadRequest,
                format!("{name:?} is not an audit action; one of: {}", names.join(", ")),
            )
        })
    }
}

/// One entry of the append-only audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AuditEvent {
    pub id: u64,
    pub at_ms: u64,
    /// The role that acted (`owner`, `viewer`) or `broker` for its own actions.
    pub actor: String,
    pub profile: String,
    /// What happened.
    pub action: AuditAction,
    pub source: Option<String>,
    pub session: Option<SessionId>,
    pub draft: Option<DraftId>,
    pub run: Option<RunId>,
    pub detail: String,
}

/// Which audit events to list. Every field narrows; none means everything (newest `limit`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AuditFilter {
    pub source: Option<String>,
    pub session: Option<SessionId>,
    pub since_ms: Option<u64>,
    pub until_ms: Option<u64>,
    pub action: Option<AuditAction>,
    pub limit: Option<u64>,
}

/// A chat session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ChatSession {
    pub id: SessionId,
    pub title: String,
    pub created_at_ms: u64,
}

/// Who wrote a chat message. Since v7.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ChatRole {
    /// The person asking.
    User,
    /// The broker's answer: a draft, or why there is none.
    Assistant,
}

impl ChatRole {
    /// The role's name, as stored and as sent.
    pub fn as_str(self) -> &'static str {
        match self {
            ChatRole::User => "user",
            ChatRole::Assistant => "assistant",
        }
    }
}

impl std::str::FromStr for ChatRole {
    type Err = TypedError;

    fn from_str(name: &str) -> Result<ChatRole, TypedError> {
        match name {
            "user" => Ok(ChatRole::User),
            "assistant" => Ok(ChatRole::Assistant),
            _ => Err(TypedError::new(crate::error::ErrorCode::Internal, format!("{name:?} is not a chat role"))),
        }
    }
}

/// One message of a chat session. Messages are immutable and ordered by `seq`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ChatMessage {
    pub session: SessionId,
    pub seq: u64,
    pub role: ChatRole,
    pub content: String,
    pub draft: Option<DraftId>,
    pub created_at_ms: u64,
}

/// Who is acting. An owner may do everything; a viewer may ask, approve and run, but not change sources,
/// settings or the lock, nor open diagnostics or the audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Viewer => "viewer",
        }
    }
}

/// The profile lock's state as a front end sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AccessState {
    pub locked: bool,
    /// The role in force while unlocked.
    pub role: Role,
    /// Whether an owner passphrase is set (without one the profile never locks).
    pub owner_lock: bool,
    /// Whether a viewer PIN is set.
    pub viewer_lock: bool,
}
