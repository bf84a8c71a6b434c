//! Messages between a front end (the `psiq` CLI, the desktop shell) and the broker, over the local socket.
//!
//! A connection starts with [`ClientMessage::Hello`] and [`BrokerMessage::Hello`], then carries one request at
//! a time. Most requests get one [`BrokerMessage::Reply`]; a run first streams [`RunEvent`]s, then its reply.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::TypedError;
use crate::handshake::Hello;
use crate::secret::UserSecret;
use crate::types::{
    AccessState, AuditEvent, AuditFilter, ChatMessage, ChatSession, DiagReport, DraftId, DraftPreview, Engine,
    GuardVerdict, LimitsChange, LlmProvider, LlmTestReport, ResultPage, Role, RunId, RunSummary, RunTrace,
    SchemaSnapshot, SessionId, Settings, SourceInfo, SourceSpec, SourceTestReport,
};
use crate::worker::Fault;

/// Front end to broker. Variant 0 is the handshake and never moves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ClientMessage {
    /// Since v1.
    Hello(Hello),
    /// Since v1.
    Request(Request),
}

/// Broker to front end. Variant 0 is the handshake and never moves.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant, reason = "one message per frame: a few hundred bytes moved per reply cost nothing")]
pub enum BrokerMessage {
    /// Since v1.
    Hello(Hello),
    /// The final answer to the current request. Since v1.
    Reply(Result<Reply, TypedError>),
    /// Progress of the current run, before its reply. Since v1.
    Event(RunEvent),
}

/// Everything a front end can ask. Appended only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Request {
    SourceAdd {
        name: String,
        spec: SourceSpec,
    },
    SourceList,
    SourceTest {
        name: String,
    },
    SourceSetEnabled {
        name: String,
        enabled: bool,
    },
    SourceRemove {
        name: String,
    },
    Schema {
        name: String,
        refresh: bool,
    },
    /// Draft a query from a question. Nothing runs.
    Ask {
        source: String,
        question: String,
        session: Option<SessionId>,
    },
    /// Draft a query the user wrote. Nothing runs.
    Draft {
        source: String,
        query: String,
    },
    /// Run an approved draft; consumes its token.
    Run {
        token: String,
    },
    Deny {
        draft: DraftId,
    },
    Cancel {
        run: RunId,
    },
    Result {
        run: RunId,
        offset: u64,
        limit: u64,
    },
    Diag,
    Shutdown,
    /// Run a worker that misbehaves on purpose, to test the supervisor. Debug builds only; release brokers
    /// refuse it.
    Fault {
        source: String,
        fault: Fault,
    },
    /// Since v2.
    Audit {
        filter: AuditFilter,
    },
    /// Since v2.
    SessionCreate {
        title: String,
    },
    /// Since v2.
    Sessions,
    /// Since v2.
    Messages {
        session: SessionId,
    },
    /// Unlock the profile with the owner's passphrase or the viewer's PIN. Since v2.
    Unlock {
        secret: UserSecret,
    },
    /// Lock the profile now. Since v2.
    Lock,
    /// Set (or with `None`, remove) the owner's passphrase or the viewer's PIN. Owner only. Since v2.
    SetLock {
        role: Role,
        secret: Option<UserSecret>,
    },
    /// The lock's state. Since v2.
    Access,
    /// A front end reports how long it took to render a run's result, for the `render` stage. Since v2.
    RenderTime {
        run: RunId,
        micros: u64,
    },
    /// Judge a query with an engine's guardrail; nothing is drafted or run. Answers [`Reply::Verdict`]. Since v2.
    Guard {
        engine: Engine,
        query: String,
    },
    /// The profile's settings; an API key only as set or not. Answers [`Reply::Settings`]. Since v3.
    Settings,
    /// Choose the model provider that drafts queries. `model` and `endpoint` left out keep this provider's
    /// previous values (else its defaults); the API key goes to the OS keyring. Owner only. Answers
    /// [`Reply::Settings`]. Since v3.
    SetLlm {
        provider: LlmProvider,
        model: Option<String>,
        endpoint: Option<String>,
        api_key: Option<UserSecret>,
        clear_api_key: bool,
    },
    /// Ask the configured model provider whether it answers. Answers [`Reply::LlmTest`]. Since v3.
    LlmTest,
    /// Change the profile's limits; each is checked against its allowed range. Owner only. Answers
    /// [`Reply::Settings`]. Since v5.
    SetLimits(LimitsChange),
    /// The timed stages of one run's trace. Owner only. Answers [`Reply::Trace`]. Since v5.
    RunTrace {
        run: RunId,
    },
    /// The user-defined functions a database source's drafted queries may call, as a query names them (none by
    /// default). `functions: None` reads the list; `Some` replaces it (owner only, audited). Answers
    /// [`Reply::SourceFunctions`]. Since v6.
    SourceFunctions {
        source: String,
        functions: Option<Vec<String>>,
    },
    /// Give a chat session a new title. Answers [`Reply::Session`]. Since v7.
    SessionRename {
        session: SessionId,
        title: String,
    },
}

impl Request {
    /// Whether a viewer (a profile unlocked with the PIN) may make this request; the owner may make every one.
    /// Every request is named, so a new one is a decision, never a default.
    pub fn viewer_may(&self) -> bool {
        match self {
            // Reading, asking and running: what a viewer unlocks for.
            Request::SourceList
            | Request::SourceTest { .. }
            | Request::Schema { .. }
            | Request::Ask { .. }
            | Request::Draft { .. }
            | Request::Run { .. }
            | Request::Deny { .. }
            | Request::Cancel { .. }
            | Request::Result { .. }
            | Request::SessionCreate { .. }
            | Request::Sessions
            | Request::Messages { .. }
            | Request::SessionRename { .. }
            | Request::Unlock { .. }
            | Request::Lock
            | Request::Access
            | Request::RenderTime { .. }
            | Request::Guard { .. }
            | Request::Settings
            | Request::LlmTest
            | Request::SourceFunctions { functions: None, .. } => true,
            // Administering the profile, its sources and its settings, and what shows other runs.
            Request::SourceAdd { .. }
            | Request::SourceSetEnabled { .. }
            | Request::SourceRemove { .. }
            | Request::SourceFunctions { functions: Some(_), .. }
            | Request::SetLock { .. }
            | Request::SetLlm { .. }
            | Request::SetLimits(_)
            | Request::RunTrace { .. }
            | Request::Diag
            | Request::Audit { .. }
            | Request::Fault { .. }
            | Request::Shutdown => false,
        }
    }
}

/// Successful answers. Appended only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Reply {
    Source(SourceInfo),
    Sources(Vec<SourceInfo>),
    SourceTest(SourceTestReport),
    Removed {
        name: String,
    },
    Schema(SchemaSnapshot),
    Draft(Box<DraftPreview>),
    Denied {
        draft: DraftId,
    },
    RunDone(RunSummary),
    CancelRequested {
        run: RunId,
    },
    Page(ResultPage),
    Diag(DiagReport),
    ShuttingDown,
    /// A fault worker finished without crashing.
    FaultSurvived,
    /// Since v2.
    Audit(Vec<AuditEvent>),
    /// Since v2.
    Session(ChatSession),
    /// Since v2.
    Sessions(Vec<ChatSession>),
    /// Since v2.
    Messages(Vec<ChatMessage>),
    /// Since v2.
    Access(AccessState),
    /// Since v2.
    Recorded,
    /// Since v2.
    Verdict(GuardVerdict),
    /// Since v3.
    Settings(Settings),
    /// Since v3.
    LlmTest(LlmTestReport),
    /// Since v5.
    Trace(RunTrace),
    /// Since v6.
    SourceFunctions {
        source: String,
        functions: Vec<String>,
    },
}

/// Progress of a run. Appended only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub enum RunEvent {
    /// The run was admitted and its worker spawned.
    Started { run: RunId, pid: u32 },
    /// Rows received so far.
    Progress { run: RunId, rows: u64, elapsed_ms: u64 },
    /// The run waits for a free worker slot.
    Queued { run: RunId, position: u32 },
}
