//! Round trips: every message enum, every variant, written as frames and read back equal, alone, in streams, over
//! slow pipes, and at the frame size limit.

use std::collections::BTreeSet;
use std::fmt::Debug;

use polystoreiq_protocol::broker::{BrokerMessage, ClientMessage};
use polystoreiq_protocol::frame::{FrameError, HEADER_LEN, encode_frame, read_frame, write_frame};
use polystoreiq_protocol::types::{Batch, ColumnValues};
use polystoreiq_protocol::worker::{FromWorker, ToWorker, WorkerError};
use polystoreiq_protocol::{MAX_FRAME_LEN, codec};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::readers::Trickle;
use crate::strategies::{self as arb, Message};

/// Writes `msg` with `write_frame` and `encode_frame`, checks both agree and the header is honest, reads it back
/// and checks it is equal and that the stream then reports a clean close.
fn assert_round_trip<T>(msg: &T) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let mut written = Vec::new();
    write_frame(&mut written, msg)?;
    // `encode_frame` appends: bytes already in the buffer must stay put.
    let mut appended = vec![0xEE];
    encode_frame(msg, &mut appended)?;
    prop_assert_eq!(&appended[1..], &written[..]);

    let announced = u32::from_le_bytes(written[..HEADER_LEN].try_into().unwrap());
    prop_assert_eq!(announced as usize, written.len() - HEADER_LEN);

    let mut stream = written.as_slice();
    let back: T = read_frame(&mut stream)?;
    prop_assert_eq!(&back, msg);
    prop_assert!(stream.is_empty(), "read_frame left {} bytes of its own frame", stream.len());
    let after = read_frame::<_, T>(&mut stream);
    prop_assert!(matches!(after, Err(FrameError::Closed)), "after the last frame: {:?}", after);
    Ok(())
}

/// Writes `msgs` back to back into one pipe and reads them back in order, then a clean close.
fn assert_stream<T>(msgs: &[T]) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let mut pipe = Vec::new();
    for msg in msgs {
        write_frame(&mut pipe, msg)?;
    }
    let mut stream = pipe.as_slice();
    for (i, msg) in msgs.iter().enumerate() {
        let back: T = read_frame(&mut stream)?;
        prop_assert_eq!(&back, msg, "frame {} of {}", i, msgs.len());
    }
    let after = read_frame::<_, T>(&mut stream);
    prop_assert!(matches!(after, Err(FrameError::Closed)), "after the last frame: {:?}", after);
    Ok(())
}

proptest! {
    #![proptest_config(crate::cases())]

    #[test]
    fn client_messages_round_trip(msg in arb::client_message()) {
        assert_round_trip(&msg)?;
    }

    #[test]
    fn broker_messages_round_trip(msg in arb::broker_message()) {
        assert_round_trip(&msg)?;
    }

    #[test]
    fn to_worker_messages_round_trip(msg in arb::to_worker()) {
        assert_round_trip(&msg)?;
    }

    #[test]
    fn from_worker_messages_round_trip(msg in arb::from_worker()) {
        assert_round_trip(&msg)?;
    }

    #[test]
    fn back_to_back_frames_read_in_order_then_closed(
        client in vec(arb::client_message(), 0..6),
        broker in vec(arb::broker_message(), 0..6),
        to_worker in vec(arb::to_worker(), 0..6),
        from_worker in vec(arb::from_worker(), 0..6),
    ) {
        assert_stream(&client)?;
        assert_stream(&broker)?;
        assert_stream(&to_worker)?;
        assert_stream(&from_worker)?;
    }

    /// A pipe that hands over one byte at a time and is interrupted between bytes still delivers whole frames.
    #[test]
    fn frames_survive_one_byte_reads_and_interruptions(msgs in vec(arb::message(), 1..4)) {
        let pipe: Vec<u8> = msgs.iter().flat_map(Message::frame).collect();
        let mut stream = Trickle::new(&pipe);
        for msg in &msgs {
            prop_assert_eq!(&msg.read_same_kind(&mut stream)?, msg);
        }
        let after = msgs[0].read_same_kind(&mut stream);
        prop_assert!(matches!(after, Err(FrameError::Closed)), "after the last frame: {:?}", after);
    }

    /// Any 64-bit pattern, NaN payloads and signs included, comes back bit for bit.
    #[test]
    fn float_bits_survive_exactly(bits in vec(any::<u64>(), 0..16)) {
        let sent = float_batch(bits.iter().map(|b| f64::from_bits(*b)));
        prop_assert_eq!(float_bits(&read_back(&sent)), bits);
    }
}

fn float_batch(values: impl Iterator<Item = f64>) -> FromWorker {
    FromWorker::Batch(Batch { columns: vec![ColumnValues::Float(values.map(Some).collect())] })
}

fn float_bits(msg: &FromWorker) -> Vec<u64> {
    match msg {
        FromWorker::Batch(Batch { columns }) => match columns.as_slice() {
            [ColumnValues::Float(values)] => values.iter().map(|v| v.expect("no NULLs were sent").to_bits()).collect(),
            other => panic!("expected one float column, got {other:?}"),
        },
        other => panic!("expected a batch, got {other:?}"),
    }
}

fn read_back(msg: &FromWorker) -> FromWorker {
    let mut pipe = Vec::new();
    write_frame(&mut pipe, msg).unwrap();
    read_frame(&mut pipe.as_slice()).unwrap()
}

#[test]
fn non_finite_floats_survive_bit_exactly() {
    let specials = [
        f64::NAN,
        -f64::NAN,
        f64::from_bits(0x7ff0_0000_0000_0001), // signalling NaN
        f64::from_bits(0xfff8_dead_beef_0001), // negative quiet NaN with a payload
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        -0.0,
        f64::from_bits(1), // smallest subnormal
        f64::MIN_POSITIVE,
        f64::MAX,
        f64::MIN,
    ];
    let back = read_back(&float_batch(specials.into_iter()));
    let expected: Vec<u64> = specials.iter().map(|v| v.to_bits()).collect();
    assert_eq!(float_bits(&back), expected);
}

/// Checks that `strategy` produces every variant of enum `T`, and that `variants` is the enum's real variant count,
/// so a variant appended to the protocol fails here until the strategy learns it.
fn assert_covers<T>(name: &str, strategy: BoxedStrategy<T>, variants: u8)
where
    T: Serialize + DeserializeOwned + Debug,
{
    // Serde's derive names the variant count when it refuses an out-of-range index.
    let refused = codec::decode::<T>(&[variants]).expect_err(name).to_string();
    let count = format!("variant index 0 <= i < {variants}");
    assert!(refused.contains(&count), "{name} does not have {variants} variants: {refused}");
    assert_produces_every_variant(name, strategy, variants);
}

/// Checks that `strategy` produces each of the `variants` variant indexes of an enum.
fn assert_produces_every_variant<T: Serialize + Debug>(name: &str, strategy: BoxedStrategy<T>, variants: u8) {
    // The variant index is the first byte of an enum's encoding (a varint below 251).
    let mut runner = TestRunner::deterministic();
    let mut seen = BTreeSet::new();
    for _ in 0..20_000 {
        let value = strategy.new_tree(&mut runner).unwrap().current();
        seen.insert(codec::encode(&value).unwrap()[0]);
        if seen.len() == usize::from(variants) {
            return;
        }
    }
    let missing: Vec<u8> = (0..variants).filter(|v| !seen.contains(v)).collect();
    panic!("the {name} strategy never produced variant indexes {missing:?}");
}

#[test]
fn every_enum_strategy_covers_every_variant() {
    use polystoreiq_protocol::broker::{Reply, Request, RunEvent};
    use polystoreiq_protocol::types::{
        BreakerState, ChartKind, CheckOutcome, Engine, FileKind, LlmProvider, LogicalType, SourceKind, SourceSpec,
        SourceStatus, TableKind, TableStorage, TlsMode, WorkerKind, WorkerState,
    };
    use polystoreiq_protocol::worker::{DbAction, Fault, Job, Probe, ServerSession};
    use polystoreiq_protocol::{ErrorCode, PeerRole, TypedError};

    assert_covers::<ClientMessage>("ClientMessage", arb::client_message(), 2);
    assert_covers::<BrokerMessage>("BrokerMessage", arb::broker_message(), 3);
    assert_covers::<Request>("Request", arb::request(), 32);
    assert_covers::<Reply>("Reply", arb::reply(), 24);
    // `Result` always has its two variants; serde words its refusal differently, so only coverage is checked.
    assert_produces_every_variant::<Result<Reply, TypedError>>("Result<Reply, TypedError>", arb::reply_result(), 2);
    assert_covers::<RunEvent>("RunEvent", arb::run_event(), 3);
    assert_covers::<ToWorker>("ToWorker", arb::to_worker(), 4);
    assert_covers::<FromWorker>("FromWorker", arb::from_worker(), 11);
    assert_covers::<Job>("Job", arb::job(), 5);
    assert_covers::<Fault>("Fault", arb::fault(), 8);
    assert_covers::<Probe>("Probe", arb::probe(), 13);
    assert_covers::<WorkerError>("WorkerError", arb::worker_error(), 11);
    assert_covers::<ColumnValues>("ColumnValues", arb::column_values(), 7);
    assert_covers::<SourceSpec>("SourceSpec", arb::source_spec(), 2);
    assert_covers::<ErrorCode>("ErrorCode", arb::error_code(), 41);
    assert_covers::<LogicalType>("LogicalType", arb::logical_type(), 14);
    assert_covers::<PeerRole>("PeerRole", arb::peer_role(), 3);
    assert_covers::<SourceKind>("SourceKind", arb::source_kind(), 4);
    assert_covers::<Engine>("Engine", arb::engine(), 4);
    assert_covers::<FileKind>("FileKind", arb::file_kind(), 3);
    assert_covers::<TableStorage>("TableStorage", arb::table_storage(), 2);
    assert_covers::<SourceStatus>("SourceStatus", arb::source_status(), 3);
    assert_covers::<TableKind>("TableKind", arb::table_kind(), 3);
    assert_covers::<WorkerKind>("WorkerKind", arb::worker_kind(), 4);
    assert_covers::<WorkerState>("WorkerState", arb::worker_state(), 6);
    assert_covers::<TlsMode>("TlsMode", arb::tls_mode(), 4);
    assert_covers::<BreakerState>("BreakerState", arb::breaker_state(), 3);
    assert_covers::<DbAction>("DbAction", arb::db_action(), 5);
    assert_covers::<CheckOutcome>("CheckOutcome", arb::check_outcome(), 3);
    assert_covers::<ChartKind>("ChartKind", arb::chart_kind(), 5);
    assert_covers::<ServerSession>("ServerSession", arb::server_session(), 3);
    assert_covers::<LlmProvider>("LlmProvider", arb::llm_provider(), 4);
}

/// Enums only ever get variants appended: v1's variants keep their indexes and v2's follow them.
#[test]
fn v2_variants_are_appended_after_v1() {
    use polystoreiq_protocol::broker::{Reply, Request};
    use polystoreiq_protocol::secret::{Credential, Secret};
    use polystoreiq_protocol::types::{AuditFilter, DbTarget, SessionId, SourceKind, SourceSpec, TlsMode};
    use polystoreiq_protocol::worker::{ConnectionReport, DbAction, DbJob, Fault, Job};

    let first_byte = |payload: Vec<u8>| payload[0];
    let request = |r: Request| first_byte(codec::encode(&r).unwrap());
    assert_eq!(request(Request::Fault { source: String::new(), fault: Fault::Panic }), 14);
    assert_eq!(request(Request::Audit { filter: AuditFilter::default() }), 15);
    assert_eq!(request(Request::SessionCreate { title: String::new() }), 16);
    assert_eq!(request(Request::Sessions), 17);
    assert_eq!(codec::encode(&Request::Messages { session: SessionId(5) }).unwrap(), [18, 5]);

    let reply = |r: Reply| first_byte(codec::encode(&r).unwrap());
    assert_eq!(reply(Reply::FaultSurvived), 12);
    assert_eq!(reply(Reply::Audit(Vec::new())), 13);
    assert_eq!(reply(Reply::Sessions(Vec::new())), 15);
    assert_eq!(codec::encode(&Reply::Messages(Vec::new())).unwrap(), [16, 0]);

    let from_worker = |m: FromWorker| first_byte(codec::encode(&m).unwrap());
    assert_eq!(from_worker(FromWorker::Failed(WorkerError::Internal(String::new()))), 5);
    assert_eq!(codec::encode(&FromWorker::Files(Vec::new())).unwrap(), [6, 0]);
    assert_eq!(from_worker(FromWorker::Failed(WorkerError::Unreachable(String::new()))), 5);
    let report = ConnectionReport { server_version: String::new(), tls: false, can_write: false, elapsed_ms: 0 };
    assert_eq!(codec::encode(&FromWorker::Tested(report)).unwrap(), [7, 0, 0, 0, 0]);
    let worker_error = |e: WorkerError| first_byte(codec::encode(&e).unwrap());
    assert_eq!(worker_error(WorkerError::Unreachable(String::new())), 6);
    assert_eq!(worker_error(WorkerError::AuthFailed(String::new())), 7);

    // A database job's password travels as a plain string: Postgres, an empty target on port 0 without TLS,
    // `Some("pw")`, then `Test`.
    let target =
        DbTarget { host: String::new(), port: 0, database: String::new(), user: String::new(), tls: TlsMode::Disable };
    let job = ToWorker::Job(Job::Database(DbJob {
        kind: SourceKind::Postgres,
        target: target.clone(),
        password: Some(Credential(Secret::new("pw"))),
        action: DbAction::Test,
    }));
    assert_eq!(codec::encode(&job).unwrap(), [1, 3, 1, 0, 0, 0, 0, 0, 1, 2, b'p', b'w', 0]);
    let spec = SourceSpec::Database { kind: SourceKind::Postgres, target, password: None };
    assert_eq!(codec::encode(&spec).unwrap(), [1, 1, 0, 0, 0, 0, 0, 0]);

    // An empty filter is six absent options.
    assert_eq!(codec::encode(&AuditFilter::default()).unwrap(), [0; 6]);
}

/// v3's variants follow v2's, and the fields v3 added sit after the old ones.
#[test]
fn v3_variants_are_appended_after_v2() {
    use polystoreiq_protocol::ErrorCode;
    use polystoreiq_protocol::types::{BreakerState, SchemaSnapshot, TableInfo, TableKind, TlsMode};

    let first_byte = |payload: Vec<u8>| payload[0];
    let worker_error = |e: WorkerError| first_byte(codec::encode(&e).unwrap());
    assert_eq!(worker_error(WorkerError::AuthFailed(String::new())), 7);
    assert_eq!(worker_error(WorkerError::Tls(String::new())), 8);
    assert_eq!(worker_error(WorkerError::ConnectionLost(String::new())), 9);
    let code = |c: ErrorCode| first_byte(codec::encode(&c).unwrap());
    assert_eq!(code(ErrorCode::AuthFailed), 27);
    assert_eq!(code(ErrorCode::CircuitOpen), 28);
    assert_eq!(code(ErrorCode::TlsFailed), 29);
    assert_eq!(code(ErrorCode::ConnectionLost), 30);
    assert_eq!(code(ErrorCode::LlmTimeout), 31);
    assert_eq!(code(ErrorCode::LlmRejected), 38);
    // The model provider's settings follow the guardrail check.
    use polystoreiq_protocol::broker::{Reply, Request};
    assert_eq!(codec::encode(&Request::Settings).unwrap(), [25]);
    assert_eq!(codec::encode(&Request::LlmTest).unwrap(), [27]);
    let llm = polystoreiq_protocol::types::LlmSettings {
        provider: polystoreiq_protocol::types::LlmProvider::Ollama,
        model: String::new(),
        endpoint: String::new(),
        api_key_set: true,
    };
    let limits = polystoreiq_protocol::types::Limits {
        row_limit: 1,
        run_timeout_ms: 2,
        check_timeout_ms: 3,
        max_workers: 4,
        audit_retention_days: 5,
        temp_space_mb: 6,
        work_mem_mb: 7,
    };
    let env_fixed = vec!["row_limit".to_owned()];
    let settings = Reply::Settings(polystoreiq_protocol::types::Settings { llm, limits, env_fixed });
    // v5 appended the limits, then the names the environment fixed, after the model provider's fields; v6 the
    // temporary space and work memory at the end of the limits.
    let mut expected = vec![20, 3, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 1, 9];
    expected.extend_from_slice(b"row_limit");
    assert_eq!(codec::encode(&settings).unwrap(), expected);
    assert_eq!(codec::encode(&Request::SetLimits(Default::default())).unwrap(), [28, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(codec::encode(&TlsMode::VerifyFull).unwrap(), [3]);
    assert_eq!(codec::encode(&BreakerState::HalfOpen).unwrap(), [2]);

    // A table without keys: name "t", kind, no row count, no columns, then v3's empty key, foreign-key and index
    // lists and no comment; then the snapshot's time and no cache information.
    let table = TableInfo::new("t".into(), TableKind::Table, None, Vec::new());
    let snapshot = SchemaSnapshot { tables: vec![table], fetched_at_ms: 5, cache: None };
    assert_eq!(codec::encode(&snapshot).unwrap(), [1, 1, b't', 0, 0, 0, 0, 0, 0, 0, 5, 0]);
}

/// Server-side cancel (v3): the worker's session report follows the sandbox report, and the cancel action
/// follows the query.
#[test]
fn server_cancel_variants_are_appended() {
    use polystoreiq_protocol::worker::{DbAction, ServerSession};

    // Variant 9, then PostgreSQL's backend pid as a zigzag varint.
    let postgres = FromWorker::ServerSession(ServerSession::Postgres { backend_pid: 7 });
    assert_eq!(codec::encode(&postgres).unwrap(), [9, 0, 14]);
    let mongodb = FromWorker::ServerSession(ServerSession::Mongodb { comment: "c".into() });
    assert_eq!(codec::encode(&mongodb).unwrap(), [9, 2, 1, b'c']);
    let cancel = DbAction::Cancel { session: ServerSession::Mysql { connection_id: 5 } };
    assert_eq!(codec::encode(&cancel).unwrap(), [3, 1, 5]);
}

#[test]
fn an_empty_stream_is_closed_not_truncated() {
    assert!(matches!(read_frame::<_, ToWorker>(&mut &[][..]), Err(FrameError::Closed)));
}

/// `FromWorker::Failed(WorkerError::Query(s))` whose payload is `len` bytes: two variant bytes, a five-byte string
/// length (252 then a `u32`, for lengths from 2^16 to 2^32), then the string.
fn failed_query_of_payload_len(len: usize) -> FromWorker {
    FromWorker::Failed(WorkerError::Query("q".repeat(len - 7)))
}

#[test]
fn a_frame_of_exactly_max_frame_len_round_trips() {
    let msg = failed_query_of_payload_len(MAX_FRAME_LEN as usize);
    let mut pipe = Vec::new();
    encode_frame(&msg, &mut pipe).unwrap();
    assert_eq!(pipe.len(), HEADER_LEN + MAX_FRAME_LEN as usize);
    let back: FromWorker = read_frame(&mut pipe.as_slice()).unwrap();
    assert!(back == msg, "the 16 MiB message came back different");
}

#[test]
fn a_message_over_max_frame_len_is_refused_and_leaves_the_buffer_intact() {
    let msg = failed_query_of_payload_len(MAX_FRAME_LEN as usize + 1);
    let mut out = b"earlier frames".to_vec();
    match encode_frame(&msg, &mut out) {
        Err(FrameError::TooLarge { len, max }) => {
            assert_eq!(len, u64::from(MAX_FRAME_LEN) + 1);
            assert_eq!(max, MAX_FRAME_LEN);
        }
        other => panic!("expected TooLarge, got {:?}", other.map(drop)),
    }
    assert_eq!(out, b"earlier frames");

    let mut pipe = Vec::new();
    assert!(matches!(write_frame(&mut pipe, &msg), Err(FrameError::TooLarge { .. })));
    assert!(pipe.is_empty(), "write_frame wrote {} bytes of a refused frame", pipe.len());
}

/// Every frame the sender accepts, the receiver must accept. Bincode's decode limit counts the in-memory width of
/// each value rather than its wire size, so a batch of small values well inside the frame limit once tripped it.
#[test]
fn a_frame_dense_with_small_values_decodes() {
    // `Some(true)` is 2 bytes on the wire and more in the limit's count: 4 MB of frame.
    let msg = FromWorker::Batch(Batch { columns: vec![ColumnValues::Bool(vec![Some(true); 2_000_000])] });
    let mut pipe = Vec::new();
    encode_frame(&msg, &mut pipe).unwrap();
    assert!(pipe.len() < MAX_FRAME_LEN as usize / 4);
    let back: FromWorker = read_frame(&mut pipe.as_slice()).unwrap();
    assert!(back == msg, "the batch came back different");
}

/// The dry run (v4): the check job follows the database job, the check action follows the cancel, and a preview's
/// attempts and check sit after its token's lifetime.
#[test]
fn dry_run_variants_are_appended() {
    use polystoreiq_protocol::types::{CheckOutcome, DraftCheck};
    use polystoreiq_protocol::worker::{DbAction, DuckLimits, FileSource, Job, QueryJob};

    let check = DbAction::Check { sql: "s".into(), timeout_ms: 2 };
    assert_eq!(codec::encode(&check).unwrap(), [4, 1, b's', 2]);
    let job = Job::Check(QueryJob {
        source: FileSource { tables: Vec::new(), database: None },
        sql: String::new(),
        row_limit: 0,
        batch_rows: 0,
        limits: DuckLimits { memory_limit_mb: 0, threads: 0, max_file_bytes: 0 },
    });
    assert_eq!(codec::encode(&job).unwrap()[0], 4);
    let checked = DraftCheck { outcome: CheckOutcome::Inconclusive, elapsed_ms: 3, message: "m".into() };
    assert_eq!(codec::encode(&checked).unwrap(), [2, 3, 1, b'm']);
}
