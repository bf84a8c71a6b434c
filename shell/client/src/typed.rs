//! The typed methods of [`BrokerClient`]: one per request, each answering the reply's payload, so front ends
//! never match a [`Reply`] by hand. All of them come from the one table below.
//!
//! A row reads `method(args) -> Payload = Request::Variant { args } => Reply::Variant(payload) => payload;`. The
//! table also yields [`method_of`], an exhaustive match over [`Request`]: a request appended to the protocol
//! without a row here does not compile. An answer other than the row's reply is a typed `internal` error.

use polystoreiq_protocol::broker::{Reply, Request, RunEvent};
use polystoreiq_protocol::secret::UserSecret;
use polystoreiq_protocol::types::{
    AccessState, AuditEvent, AuditFilter, ChatMessage, ChatSession, DiagReport, DraftId, DraftPreview, Engine,
    GuardVerdict, LimitsChange, LlmProvider, LlmTestReport, ResultPage, Role, RunId, RunSummary, RunTrace,
    SchemaSnapshot, SessionId, Settings, SourceInfo, SourceSpec, SourceTestReport,
};
use polystoreiq_protocol::worker::Fault;
use polystoreiq_protocol::{ErrorCode, TypedError};

use crate::BrokerClient;

/// Expands the table into the methods and [`method_of`]. A row whose argument list ends in `; name` also takes
/// `name: &mut dyn FnMut(RunEvent)` and passes the run's progress events to it.
macro_rules! typed_requests {
    ($(
        $(#[$doc:meta])*
        $method:ident($($arg:ident: $ty:ty),* $(; $events:ident)?) -> $payload:ty =
            Request::$request:ident $({ $($field:tt)* })? $(( $($position:tt)* ))? => $reply:pat => $value:expr;
    )*) => {
        impl BrokerClient {$(
            $(#[$doc])*
            pub fn $method(
                &mut self,
                $($arg: $ty,)*
                $($events: &mut dyn FnMut(RunEvent),)?
            ) -> Result<$payload, TypedError> {
                let request = Request::$request $({ $($field)* })? $(( $($position)* ))?;
                match self.call_with_events(request, typed_requests!(@events $($events)?))? {
                    $reply => Ok($value),
                    other => Err(unexpected_reply(&other)),
                }
            }
        )*}

        /// The name of the typed method that makes `request`.
        pub fn method_of(request: &Request) -> &'static str {
            match request {
                $(Request::$request { .. } => stringify!($method),)*
            }
        }
    };
    (@events) => { &mut |_| {} };
    (@events $events:ident) => { $events };
}

typed_requests! {
    /// Registers a source; the owner only.
    source_add(name: String, spec: SourceSpec) -> SourceInfo =
        Request::SourceAdd { name, spec } => Reply::Source(info) => info;
    sources() -> Vec<SourceInfo> = Request::SourceList => Reply::Sources(sources) => sources;
    source_test(name: String) -> SourceTestReport = Request::SourceTest { name } => Reply::SourceTest(report) => report;
    source_set_enabled(name: String, enabled: bool) -> SourceInfo =
        Request::SourceSetEnabled { name, enabled } => Reply::Source(info) => info;
    /// Answers the removed source's name.
    source_remove(name: String) -> String = Request::SourceRemove { name } => Reply::Removed { name } => name;
    schema(name: String, refresh: bool) -> SchemaSnapshot =
        Request::Schema { name, refresh } => Reply::Schema(schema) => schema;
    /// Drafts a query from a question; nothing runs.
    ask(source: String, question: String, session: Option<SessionId>) -> DraftPreview =
        Request::Ask { source, question, session } => Reply::Draft(preview) => *preview;
    /// Drafts a query the user wrote; nothing runs.
    draft(source: String, query: String) -> DraftPreview =
        Request::Draft { source, query } => Reply::Draft(preview) => *preview;
    /// Runs an approved draft (consuming its token), passing its progress to `on_event`.
    run(token: String; on_event) -> RunSummary = Request::Run { token } => Reply::RunDone(summary) => summary;
    /// Answers the denied draft.
    deny(draft: DraftId) -> DraftId = Request::Deny { draft } => Reply::Denied { draft } => draft;
    /// Answers the run whose cancelling was requested.
    cancel(run: RunId) -> RunId = Request::Cancel { run } => Reply::CancelRequested { run } => run;
    /// One page of a run's stored result.
    result(run: RunId, offset: u64, limit: u64) -> ResultPage =
        Request::Result { run, offset, limit } => Reply::Page(page) => page;
    diag() -> DiagReport = Request::Diag => Reply::Diag(report) => report;
    shutdown() -> () = Request::Shutdown => Reply::ShuttingDown => ();
    /// Runs a worker that misbehaves on purpose (debug brokers only); answers when it did not crash.
    fault(source: String, fault: Fault) -> () = Request::Fault { source, fault } => Reply::FaultSurvived => ();
    audit(filter: AuditFilter) -> Vec<AuditEvent> = Request::Audit { filter } => Reply::Audit(events) => events;
    session_create(title: String) -> ChatSession =
        Request::SessionCreate { title } => Reply::Session(session) => session;
    sessions() -> Vec<ChatSession> = Request::Sessions => Reply::Sessions(sessions) => sessions;
    /// The messages of a session, in order.
    messages(session: SessionId) -> Vec<ChatMessage> =
        Request::Messages { session } => Reply::Messages(messages) => messages;
    unlock(secret: UserSecret) -> AccessState = Request::Unlock { secret } => Reply::Access(state) => state;
    lock() -> AccessState = Request::Lock => Reply::Access(state) => state;
    /// Sets (or with `None`, removes) the owner's passphrase or the viewer's PIN.
    set_lock(role: Role, secret: Option<UserSecret>) -> AccessState =
        Request::SetLock { role, secret } => Reply::Access(state) => state;
    access() -> AccessState = Request::Access => Reply::Access(state) => state;
    /// Reports how long a run's result took to show, for the `render` stage.
    render_time(run: RunId, micros: u64) -> () = Request::RenderTime { run, micros } => Reply::Recorded => ();
    guard(engine: Engine, query: String) -> GuardVerdict =
        Request::Guard { engine, query } => Reply::Verdict(verdict) => verdict;
    settings() -> Settings = Request::Settings => Reply::Settings(settings) => settings;
    /// Chooses the model provider that drafts queries; the API key goes to the OS keyring.
    set_llm(
        provider: LlmProvider, model: Option<String>, endpoint: Option<String>, api_key: Option<UserSecret>,
        clear_api_key: bool
    ) -> Settings =
        Request::SetLlm { provider, model, endpoint, api_key, clear_api_key } => Reply::Settings(settings) => settings;
    llm_test() -> LlmTestReport = Request::LlmTest => Reply::LlmTest(report) => report;
    set_limits(change: LimitsChange) -> Settings = Request::SetLimits(change) => Reply::Settings(settings) => settings;
    run_trace(run: RunId) -> RunTrace = Request::RunTrace { run } => Reply::Trace(trace) => trace;
    /// Reads (`None`) or replaces a database source's allowed user-defined functions; answers the list in force.
    source_functions(source: String, functions: Option<Vec<String>>) -> Vec<String> =
        Request::SourceFunctions { source, functions } => Reply::SourceFunctions { functions, .. } => functions;
    session_rename(session: SessionId, title: String) -> ChatSession =
        Request::SessionRename { session, title } => Reply::Session(session) => session;
}

/// The broker answered a request with another request's reply: a bug on one side, never the user's doing.
fn unexpected_reply(reply: &Reply) -> TypedError {
    TypedError::new(ErrorCode::Internal, format!("the broker answered with an unexpected reply: {reply:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_names_its_typed_method() {
        let check = |request: Request, expected: &str| assert_eq!(method_of(&request), expected);
        check(Request::SourceList, "sources");
        check(Request::RunTrace { run: RunId(7) }, "run_trace");
        check(Request::SetLimits(LimitsChange::default()), "set_limits");
        check(Request::SessionRename { session: SessionId(1), title: "t".into() }, "session_rename");
        check(Request::Result { run: RunId(1), offset: 0, limit: 10 }, "result");
    }

    #[test]
    fn an_unexpected_reply_is_an_internal_error() {
        let err = unexpected_reply(&Reply::Recorded);
        assert_eq!(err.code, ErrorCode::Internal);
        assert!(err.message.contains("Recorded"), "{}", err.message);
    }
}
