//! Strategies for the messages between the broker and a front end: requests, replies and run events.

use polystoreiq_protocol::TypedError;
use polystoreiq_protocol::broker::{BrokerMessage, ClientMessage, Reply, Request, RunEvent};
use polystoreiq_protocol::secret::UserSecret;
use polystoreiq_protocol::types::{AccessState, RunTrace, TraceStage};
use proptest::option::of;
use proptest::prelude::*;

use super::{
    audit_event, audit_filter, chat_message, chat_session, diag_report, draft_id, draft_preview, engine, fault, few,
    guard_verdict, hello, limits_change, llm_provider, llm_test_report, result_page, role, run_id, run_summary,
    schema_snapshot, session_id, settings, source_info, source_spec, source_test_report, text, typed_error, u32_wide,
    u64_wide,
};

pub fn request() -> BoxedStrategy<Request> {
    prop_oneof![
        (text(), source_spec()).prop_map(|(name, spec)| Request::SourceAdd { name, spec }),
        Just(Request::SourceList),
        text().prop_map(|name| Request::SourceTest { name }),
        (text(), any::<bool>()).prop_map(|(name, enabled)| Request::SourceSetEnabled { name, enabled }),
        text().prop_map(|name| Request::SourceRemove { name }),
        (text(), any::<bool>()).prop_map(|(name, refresh)| Request::Schema { name, refresh }),
        (text(), text(), of(session_id())).prop_map(|(source, question, session)| Request::Ask {
            source,
            question,
            session
        }),
        (text(), text()).prop_map(|(source, query)| Request::Draft { source, query }),
        text().prop_map(|token| Request::Run { token }),
        draft_id().prop_map(|draft| Request::Deny { draft }),
        run_id().prop_map(|run| Request::Cancel { run }),
        (run_id(), u64_wide(), u64_wide()).prop_map(|(run, offset, limit)| Request::Result { run, offset, limit }),
        Just(Request::Diag),
        Just(Request::Shutdown),
        (text(), fault()).prop_map(|(source, fault)| Request::Fault { source, fault }),
        audit_filter().prop_map(|filter| Request::Audit { filter }),
        text().prop_map(|title| Request::SessionCreate { title }),
        Just(Request::Sessions),
        session_id().prop_map(|session| Request::Messages { session }),
        text().prop_map(|s| Request::Unlock { secret: UserSecret::new(s) }),
        Just(Request::Lock),
        (role(), of(text())).prop_map(|(role, s)| Request::SetLock { role, secret: s.map(UserSecret::new) }),
        Just(Request::Access),
        (run_id(), u64_wide()).prop_map(|(run, micros)| Request::RenderTime { run, micros }),
        (engine(), text()).prop_map(|(engine, query)| Request::Guard { engine, query }),
        Just(Request::Settings),
        (llm_provider(), of(text()), of(text()), of(text()), any::<bool>()).prop_map(
            |(provider, model, endpoint, key, clear_api_key)| Request::SetLlm {
                provider,
                model,
                endpoint,
                api_key: key.map(UserSecret::new),
                clear_api_key,
            }
        ),
        Just(Request::LlmTest),
        limits_change().prop_map(Request::SetLimits),
        run_id().prop_map(|run| Request::RunTrace { run }),
        (text(), of(few(text()))).prop_map(|(source, functions)| Request::SourceFunctions { source, functions }),
        (session_id(), text()).prop_map(|(session, title)| Request::SessionRename { session, title }),
    ]
    .boxed()
}

pub fn reply() -> BoxedStrategy<Reply> {
    prop_oneof![
        source_info().prop_map(Reply::Source),
        few(source_info()).prop_map(Reply::Sources),
        source_test_report().prop_map(Reply::SourceTest),
        text().prop_map(|name| Reply::Removed { name }),
        schema_snapshot().prop_map(Reply::Schema),
        draft_preview().prop_map(|p| Reply::Draft(Box::new(p))),
        draft_id().prop_map(|draft| Reply::Denied { draft }),
        run_summary().prop_map(Reply::RunDone),
        run_id().prop_map(|run| Reply::CancelRequested { run }),
        result_page().prop_map(Reply::Page),
        diag_report().prop_map(Reply::Diag),
        Just(Reply::ShuttingDown),
        Just(Reply::FaultSurvived),
        few(audit_event()).prop_map(Reply::Audit),
        chat_session().prop_map(Reply::Session),
        few(chat_session()).prop_map(Reply::Sessions),
        few(chat_message()).prop_map(Reply::Messages),
        (any::<bool>(), role(), any::<bool>(), any::<bool>()).prop_map(|(locked, role, owner_lock, viewer_lock)| {
            Reply::Access(AccessState { locked, role, owner_lock, viewer_lock })
        }),
        Just(Reply::Recorded),
        guard_verdict().prop_map(Reply::Verdict),
        settings().prop_map(Reply::Settings),
        llm_test_report().prop_map(Reply::LlmTest),
        (run_id(), text(), few((text(), u64_wide(), u64_wide()).boxed())).prop_map(|(run, trace_id, stages)| {
            let stages = stages.into_iter().map(|(stage, at_ms, duration_us)| TraceStage { stage, at_ms, duration_us });
            Reply::Trace(RunTrace { run, trace_id, stages: stages.collect() })
        }),
        (text(), few(text())).prop_map(|(source, functions)| Reply::SourceFunctions { source, functions }),
    ]
    .boxed()
}

pub fn run_event() -> BoxedStrategy<RunEvent> {
    prop_oneof![
        (run_id(), u32_wide()).prop_map(|(run, pid)| RunEvent::Started { run, pid }),
        (run_id(), u64_wide(), u64_wide()).prop_map(|(run, rows, elapsed_ms)| RunEvent::Progress {
            run,
            rows,
            elapsed_ms
        }),
        (run_id(), u32_wide()).prop_map(|(run, position)| RunEvent::Queued { run, position }),
    ]
    .boxed()
}

pub fn reply_result() -> BoxedStrategy<Result<Reply, TypedError>> {
    prop_oneof![reply().prop_map(Ok), typed_error().prop_map(Err)].boxed()
}

pub fn client_message() -> BoxedStrategy<ClientMessage> {
    prop_oneof![hello().prop_map(ClientMessage::Hello), request().prop_map(ClientMessage::Request)].boxed()
}

pub fn broker_message() -> BoxedStrategy<BrokerMessage> {
    prop_oneof![
        hello().prop_map(BrokerMessage::Hello),
        reply_result().prop_map(BrokerMessage::Reply),
        run_event().prop_map(BrokerMessage::Event),
    ]
    .boxed()
}
