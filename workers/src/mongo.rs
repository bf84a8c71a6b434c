//! The MongoDB connector: connection test, metadata inferred from sampled documents, and read-only queries
//! streamed in batches.
//!
//! A query is a JSON document (MongoDB Extended JSON, so `{"$date": ...}` and `{"$oid": ...}` work) naming one
//! collection and exactly one of the four read operations this connector has: `find` (with `projection`, `sort`,
//! `limit`, `skip`), `aggregate`, `count` and `distinct` (with `filter`). Nothing else parses, so there is no code path
//! that inserts, updates or deletes. Every operation carries `maxTimeMS`, and an aggregate pipeline with a write
//! stage (`$out`, `$merge`) anywhere in it, sub-pipelines included, is refused here, whatever the broker's
//! guardrail said. Every operation of a query also carries one unique `comment`, reported to the broker before
//! the query starts, by which a cancel job finds and stops them (`currentOp`, then `killOp` and `killCursors`).
//!
//! Documents have no fixed shape, so a result's columns are fixed by its first batch (up to `batch_rows`
//! documents): the fields in the order they first appear, each typed by the BSON types seen there
//! (ints with doubles widen to double; any other mix is shown as text). Later documents are read against those
//! columns: a missing field is NULL; a field no first-batch document had is left out and counted in the worker's
//! log; a value that a typed column cannot show exactly fails the query with a hint to convert it. Nested
//! documents are flattened into dotted columns (`address.city`) as deep as the schema's field inference goes;
//! arrays, and documents deeper than that, are shown as relaxed Extended JSON text. ObjectIds are shown as hex,
//! dates as UTC timestamps and Decimal128 as exact decimal text in plain notation.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::batch::Batcher;
use crate::{Emit, done};
use futures_util::TryStreamExt;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{Bson, Document, doc};
use mongodb::error::ErrorKind;
use mongodb::options::{ClientOptions, Credential, ServerAddress, Tls, TlsOptions};
use mongodb::results::CollectionType;
use mongodb::{Client, Cursor, Database};
use polystoreiq_protocol::types::{
    Batch, ColumnInfo, ColumnValues, DbTarget, FieldSample, IndexInfo, LogicalType, ResultColumn, SchemaSnapshot,
    SourceKind, TableInfo, TableKind, TlsMode, TypeCount,
};
use polystoreiq_protocol::worker::{
    ConnectionReport, DbAction, DbJob, FromWorker, JobDone, ServerSession, WorkerError,
};
use serde_json::Value;

/// How long reaching the server (TCP, then the driver's server selection) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The time limit (`maxTimeMS`) of each metadata read.
const METADATA_TIME_LIMIT: Duration = Duration::from_secs(10);
/// Documents sampled per collection to infer its fields.
const SAMPLE_SIZE: i64 = 200;
/// Bounds on the inferred fields of one collection: nesting depth and number of dotted paths.
const MAX_FIELD_DEPTH: usize = 8;
const MAX_FIELDS: usize = 500;
/// Aggregation stages that write. Refused anywhere in a pipeline.
const WRITE_STAGES: [&str; 2] = ["$out", "$merge"];
/// Built-in roles that cannot write; any other role is taken as one that can.
const READ_ONLY_ROLES: [&str; 2] = ["read", "readAnyDatabase"];
/// Privilege actions that change data or the schema.
const WRITE_ACTIONS: [&str; 14] = [
    "insert",
    "update",
    "remove",
    "createCollection",
    "dropCollection",
    "createIndex",
    "dropIndex",
    "dropDatabase",
    "renameCollectionSameDB",
    "collMod",
    "convertToCapped",
    "emptycapped",
    "bypassDocumentValidation",
    "anyAction",
];

/// Runs one database job, handing its frames to `emit`.
pub fn run(job: &DbJob, emit: &mut Emit<'_>) -> Result<JobDone, WorkerError> {
    if job.kind != SourceKind::Mongodb {
        return Err(WorkerError::Refused(format!("the MongoDB connector cannot run a {:?} job", job.kind)));
    }
    // A query is checked before anything connects: a refused query never reaches the server.
    let work = match &job.action {
        DbAction::Test => Work::Test,
        DbAction::Metadata => Work::Metadata,
        DbAction::Query { sql, row_limit, batch_rows, timeout_ms } => Work::Query(
            Box::new(parse_query(sql)?),
            Limits { rows: *row_limit, batch: (*batch_rows).max(1) as usize, timeout_ms: *timeout_ms },
        ),
        DbAction::Cancel { session } => Work::Cancel(session.clone()),
        DbAction::Check { sql, timeout_ms } => Work::Check(Box::new(parse_query(sql)?), *timeout_ms),
    };
    crate::block_on(async {
        let started = Instant::now();
        let server = Server::connect(&job.target, job.password.as_ref().map(|c| c.0.expose())).await?;
        match work {
            Work::Test => {
                emit(FromWorker::Tested(test(&server, started).await?))?;
                Ok(done(0, false, started))
            }
            Work::Metadata => {
                emit(FromWorker::Schema(metadata(&server).await?))?;
                Ok(done(0, false, started))
            }
            Work::Query(query, limits) => {
                // Every operation of the run carries this comment, so a second connection can find and stop them
                // on the server (`currentOp`, `killOp`); the broker learns it before the query starts. An ObjectId
                // is unique across processes: time, a per-process random value and a counter.
                let comment = format!("psiq-run-{}", ObjectId::new().to_hex());
                emit(FromWorker::ServerSession(ServerSession::Mongodb { comment: comment.clone() }))?;
                run_query(&server, *query, &limits, &comment, emit, started).await
            }
            Work::Cancel(session) => cancel(&server, &session, started).await,
            Work::Check(query, timeout_ms) => check(&server, *query, timeout_ms, started).await,
        }
    })?
}

/// A job's action, with its query parsed.
enum Work {
    Test,
    Metadata,
    Query(Box<Query>, Limits),
    Cancel(ServerSession),
    Check(Box<Query>, u64),
}

/// Checks a query without running it: its collection must exist (MongoDB answers a missing one with no rows,
/// which would look like an empty answer), and the server must accept the operation's `explain`, which parses
/// the filter and every stage. A server without `explain` leaves only the collection check.
async fn check(server: &Server<'_>, query: Query, timeout_ms: u64, started: Instant) -> Result<JobDone, WorkerError> {
    let names = server
        .db
        .list_collection_names()
        .filter(doc! { "name": &query.collection })
        .await
        .map_err(|e| server.error(&e))?;
    if names.is_empty() {
        let all = server.db.list_collection_names().await.map_err(|e| server.error(&e))?;
        return Err(WorkerError::Query(format!(
            "there is no collection {} in database {}; it has: {}",
            query.collection,
            server.target.database,
            if all.is_empty() { "no collections".to_owned() } else { all.join(", ") }
        )));
    }
    let coll = query.collection;
    let operation = match query.op {
        Operation::Find { filter, projection, sort, limit, skip } => {
            let mut find = doc! { "find": coll, "filter": filter };
            for (key, value) in [("projection", projection), ("sort", sort)] {
                if let Some(value) = value {
                    find.insert(key, value);
                }
            }
            for (key, value) in [("limit", limit), ("skip", skip)] {
                if let Some(value) = value {
                    find.insert(key, i64::try_from(value).unwrap_or(i64::MAX));
                }
            }
            find
        }
        Operation::Aggregate { pipeline } => doc! { "aggregate": coll, "pipeline": pipeline, "cursor": {} },
        Operation::Count { filter } => doc! { "count": coll, "query": filter },
        Operation::Distinct { field, filter } => doc! { "distinct": coll, "key": field, "query": filter },
    };
    let explain = doc! {
        "explain": operation,
        "verbosity": "queryPlanner",
        "maxTimeMS": i64::try_from(timeout_ms.max(1)).unwrap_or(i64::MAX),
    };
    match server.db.run_command(explain).await {
        Ok(_) => Ok(done(0, false, started)),
        Err(err) if command_not_found(&err) => Ok(done(0, false, started)),
        Err(err) => Err(server.error(&err)),
    }
}

/// The server does not know the command (MongoDB's code 59).
fn command_not_found(err: &mongodb::error::Error) -> bool {
    matches!(&*err.kind, ErrorKind::Command(command) if command.code == 59)
}

/// Stops every operation and cursor on the server that carries another worker's comment, from this connection:
/// `currentOp` finds them, `killOp` stops a running operation and `killCursors` an idle cursor. The comment is
/// checked again here on each entry, so a server that ignored the filter cannot get other clients' operations
/// killed.
async fn cancel(server: &Server<'_>, session: &ServerSession, started: Instant) -> Result<JobDone, WorkerError> {
    let ServerSession::Mongodb { comment } = session else {
        return Err(WorkerError::Refused(format!("a MongoDB worker cannot cancel {session:?}")));
    };
    let client = server.db.client();
    let admin = client.database("admin");
    let mut command = doc! {
        "currentOp": 1,
        "idleCursors": true,
        "$or": [{ "command.comment": comment.as_str() }, { "cursor.originatingCommand.comment": comment.as_str() }],
    };
    // With access control on, any user may list (and kill) its own operations.
    if !server.target.user.is_empty() {
        command.insert("$ownOps", true);
    }
    let reply = admin.run_command(command).await.map_err(|e| server.error(&e))?;
    let entries = reply.get_array("inprog").map(Vec::as_slice).unwrap_or_default();
    // One entry that cannot be stopped (an operation just ended, a cursor the server lets only its own session
    // kill) does not keep the others running; it is logged, and not counted.
    let mut stopped = 0;
    for entry in entries.iter().filter_map(Bson::as_document).filter(|e| carries_comment(e, comment)) {
        if entry.get_str("type") == Ok("idleCursor") {
            let id = entry.get_document("cursor").ok().and_then(|c| c.get("cursorId")).cloned();
            let namespace = entry.get_str("ns").ok().and_then(|ns| ns.split_once('.'));
            if let (Some(id), Some((db, collection))) = (id, namespace) {
                match client.database(db).run_command(doc! { "killCursors": collection, "cursors": [id] }).await {
                    Ok(killed) => stopped += killed.get_array("cursorsKilled").map_or(0, |k| k.len() as u64),
                    Err(err) => eprintln!("mongo: cannot kill a cursor of the cancelled run: {}", server.error(&err)),
                }
            }
        } else if let Some(opid) = entry.get("opid") {
            match admin.run_command(doc! { "killOp": 1, "op": opid.clone() }).await {
                Ok(_) => stopped += 1,
                Err(err) => eprintln!("mongo: cannot kill an operation of the cancelled run: {}", server.error(&err)),
            }
        }
    }
    Ok(done(stopped, false, started))
}

/// Whether a `currentOp` entry belongs to the run that commented its operations with `comment`: its command, or
/// the command that opened its cursor, carries it.
fn carries_comment(entry: &Document, comment: &str) -> bool {
    let commented = |command: Option<&Document>| command.and_then(|c| c.get_str("comment").ok()) == Some(comment);
    commented(entry.get_document("command").ok())
        || commented(entry.get_document("cursor").ok().and_then(|c| c.get_document("originatingCommand").ok()))
}

/// A connected client and the source's database.
struct Server<'a> {
    target: &'a DbTarget,
    db: Database,
}

impl<'a> Server<'a> {
    async fn connect(target: &'a DbTarget, password: Option<&str>) -> Result<Server<'a>, WorkerError> {
        // The driver retries an unreachable server until server selection times out; a refused TCP connection
        // is answered at once, and with a plainer message.
        match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect((target.host.as_str(), target.port)))
            .await
        {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => return Err(unreachable(target, &err.to_string())),
            Err(_) => return Err(unreachable(target, "no answer within 5 s")),
        }
        let credential = match (target.user.is_empty(), password) {
            (true, Some(_)) => {
                return Err(WorkerError::Refused(
                    "a password was given but no user; add the user to the URL (mongodb://USER@HOST/DATABASE)".into(),
                ));
            }
            (true, None) => None,
            // Without an authSource in the URL, MongoDB authenticates against the URL's database.
            (false, password) => Some(
                Credential::builder()
                    .username(target.user.clone())
                    .password(password.map(str::to_owned))
                    .source(target.database.clone())
                    .build(),
            ),
        };
        // MongoDB has no opportunistic TLS: a server speaks it on its port or does not. `prefer` connects
        // without TLS (the test report says so); `require` insists on TLS without checking the certificate, as
        // libpq's sslmode does; `verify_full` checks it against the Mozilla roots and the host name.
        let tls = match target.tls {
            TlsMode::Require => Tls::Enabled(TlsOptions::builder().allow_invalid_certificates(true).build()),
            TlsMode::VerifyFull => Tls::Enabled(TlsOptions::default()),
            TlsMode::Disable | TlsMode::Prefer => Tls::Disabled,
        };
        let options = ClientOptions::builder()
            .hosts(vec![ServerAddress::Tcp { host: target.host.clone(), port: Some(target.port) }])
            .direct_connection(true)
            .app_name("polystoreiq".to_owned())
            .connect_timeout(CONNECT_TIMEOUT)
            .server_selection_timeout(CONNECT_TIMEOUT)
            .retry_writes(false)
            .credential(credential)
            .tls(tls)
            .build();
        let client = Client::with_options(options).map_err(|err| mongo_error(target, &err))?;
        let db = client.database(&target.database);
        // The driver connects lazily; a `ping` makes it select the server, connect and authenticate now, so every
        // failure to reach the server is reported here, before any of the job ran (the broker retries only these).
        db.run_command(doc! { "ping": 1 }).await.map_err(|err| mongo_error(target, &err))?;
        Ok(Server { target, db })
    }

    /// An error once connected: a connection that breaks now may have carried the job's operation, so it is
    /// [`WorkerError::ConnectionLost`], never retried.
    fn error(&self, err: &mongodb::error::Error) -> WorkerError {
        match mongo_error(self.target, err) {
            WorkerError::Unreachable(message) => WorkerError::ConnectionLost(message),
            other => other,
        }
    }
}

fn unreachable(target: &DbTarget, why: &str) -> WorkerError {
    WorkerError::Unreachable(format!(
        "cannot reach MongoDB at {}:{} ({why}); is the server running and the port right?",
        target.host, target.port
    ))
}

/// A driver error, typed and worded without the password.
fn mongo_error(target: &DbTarget, err: &mongodb::error::Error) -> WorkerError {
    let place = if target.user.is_empty() {
        format!("{}:{}/{}", target.host, target.port, target.database)
    } else {
        format!("{}@{}:{}/{}", target.user, target.host, target.port, target.database)
    };
    match err.kind.as_ref() {
        ErrorKind::ServerSelection { message, .. } => {
            let hint = if target.tls == TlsMode::Require {
                "; does the server speak TLS on that port?"
            } else {
                "; if the server only accepts TLS, add --tls require"
            };
            WorkerError::Unreachable(format!(
                "cannot reach MongoDB at {}:{} ({}){hint}",
                target.host,
                target.port,
                message.lines().next().unwrap_or_default()
            ))
        }
        ErrorKind::Authentication { .. } => WorkerError::AuthFailed(format!(
            "MongoDB refused the credentials for {place}; check the user (it must be defined in the database {}, \
             MongoDB's authentication database for this URL) and enter the password again",
            target.database
        )),
        ErrorKind::Command(command) => match command.code {
            18 => WorkerError::AuthFailed(format!(
                "MongoDB refused the credentials for {place}; check the user and enter the password again"
            )),
            13 if target.user.is_empty() => WorkerError::AuthFailed(format!(
                "MongoDB at {place} requires authentication; add the user to the URL \
                 (mongodb://USER@HOST/DATABASE) and give the password with --password-stdin"
            )),
            13 => WorkerError::Query(format!(
                "the user {} may not do this on {place}: {}; grant it the read role on the database {}",
                target.user, command.message, target.database
            )),
            // MaxTimeMSExpired: the server stopped the operation at its time limit.
            50 => WorkerError::Query(format!(
                "MongoDB stopped the operation at its time limit (maxTimeMS): {}; narrow the filter, add an index, \
                 or raise the run deadline (POLYSTOREIQ_RUN_DEADLINE_MS)",
                command.message
            )),
            _ => WorkerError::Query(format!(
                "MongoDB: {} [code {} {}]",
                command.message, command.code, command.code_name
            )),
        },
        ErrorKind::Io(io) => {
            WorkerError::Unreachable(format!("lost the connection to MongoDB at {place} ({io}); try again"))
        }
        _ => WorkerError::Query(format!("MongoDB: {err}")),
    }
}

async fn test(server: &Server<'_>, started: Instant) -> Result<ConnectionReport, WorkerError> {
    let db = &server.db;
    db.run_command(doc! { "ping": 1 }).await.map_err(|e| server.error(&e))?;
    let version = match db.run_command(doc! { "buildInfo": 1 }).await {
        Ok(info) => info.get_str("version").unwrap_or("unknown").to_owned(),
        Err(_) => "unknown".to_owned(),
    };
    // Reading the database's collection names proves the credentials (or their absence) are enough to read:
    // a server with authentication on answers `ping` to anyone.
    db.run_command(doc! { "listCollections": 1, "nameOnly": true, "authorizedCollections": true })
        .await
        .map_err(|e| server.error(&e))?;
    let status =
        db.run_command(doc! { "connectionStatus": 1, "showPrivileges": true }).await.map_err(|e| server.error(&e))?;
    Ok(ConnectionReport {
        server_version: version,
        tls: server.target.tls == TlsMode::Require,
        can_write: can_write(&status),
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

/// Whether the `connectionStatus` answer shows a user that can write. With nobody authenticated the server
/// runs without access control (or the listCollections check above would have failed), and anyone can write.
fn can_write(status: &Document) -> bool {
    let Ok(info) = status.get_document("authInfo") else { return true };
    let users = info.get_array("authenticatedUsers").map_or(0, Vec::len);
    if users == 0 {
        return true;
    }
    let roles = info.get_array("authenticatedUserRoles").map(|r| r.as_slice()).unwrap_or_default();
    let writing_role = roles.iter().any(|role| {
        let name = role.as_document().and_then(|r| r.get_str("role").ok()).unwrap_or_default();
        !READ_ONLY_ROLES.contains(&name)
    });
    let privileges = info.get_array("authenticatedUserPrivileges").map(|p| p.as_slice()).unwrap_or_default();
    let writing_action = privileges.iter().any(|privilege| {
        let actions = privilege.as_document().and_then(|p| p.get_array("actions").ok());
        actions.is_some_and(|a| a.iter().any(|a| a.as_str().is_some_and(|a| WRITE_ACTIONS.contains(&a))))
    });
    writing_role || writing_action
}

async fn metadata(server: &Server<'_>) -> Result<SchemaSnapshot, WorkerError> {
    // Only the collections the user may read: a user with collection-level privileges cannot list the rest.
    let specs: Vec<_> = server
        .db
        .list_collections()
        .authorized_collections(true)
        .await
        .map_err(|e| server.error(&e))?
        .try_collect()
        .await
        .map_err(|e| server.error(&e))?;
    let mut tables = Vec::new();
    for spec in specs {
        if spec.name.starts_with("system.") {
            continue;
        }
        let coll = server.db.collection::<Document>(&spec.name);
        let view = spec.collection_type == CollectionType::View;
        let row_count = if view {
            None // Counting a view runs its pipeline: not cheap.
        } else {
            coll.estimated_document_count().max_time(METADATA_TIME_LIMIT).await.ok()
        };
        let sampled: Result<Vec<Document>, _> = async {
            let cursor =
                coll.aggregate([doc! { "$sample": { "size": SAMPLE_SIZE } }]).max_time(METADATA_TIME_LIMIT).await?;
            cursor.try_collect().await
        }
        .await;
        let columns = match sampled {
            Ok(sample) => infer_fields(&sample),
            // One collection the server will not sample (a broken view, a missing privilege, its time limit)
            // is listed without fields; losing the connection fails the whole job.
            Err(err) if matches!(err.kind.as_ref(), ErrorKind::Command(_)) => {
                eprintln!("mongo: cannot sample {} for its fields: {}", spec.name, server.error(&err));
                Vec::new()
            }
            Err(err) => return Err(server.error(&err)),
        };
        let kind = if view { TableKind::View } else { TableKind::Collection };
        let mut table = TableInfo::new(spec.name, kind, row_count, columns);
        if !view {
            // Every document of a collection has a unique `_id`; its index is that key, not listed again.
            table.primary_key = vec!["_id".to_owned()];
            table.indexes = indexes(server, &coll).await?.into_iter().filter(|i| i.name != "_id_").collect();
        }
        tables.push(table);
    }
    tables.sort_by(|a, b| a.name.cmp(&b.name));
    let fetched_at_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    Ok(SchemaSnapshot { tables, fetched_at_ms, cache: None })
}

/// A collection's indexes (`listIndexes`), keys in order: a plain ascending key is its field's name, any other
/// says how (`price: -1`, `loc: 2dsphere`, `body: text`). A collection the server will not list is given none.
async fn indexes(server: &Server<'_>, coll: &mongodb::Collection<Document>) -> Result<Vec<IndexInfo>, WorkerError> {
    let listed: Result<Vec<mongodb::IndexModel>, _> = async { coll.list_indexes().await?.try_collect().await }.await;
    let models = match listed {
        Ok(models) => models,
        Err(err) if matches!(err.kind.as_ref(), ErrorKind::Command(_)) => {
            eprintln!("mongo: cannot list the indexes of {}: {}", coll.name(), server.error(&err));
            return Ok(Vec::new());
        }
        Err(err) => return Err(server.error(&err)),
    };
    Ok(models
        .into_iter()
        .map(|model| {
            let options = model.options.unwrap_or_default();
            let columns = model
                .keys
                .iter()
                .map(|(field, how)| match how {
                    Bson::Int32(1) | Bson::Int64(1) => field.clone(),
                    Bson::Double(d) if *d == 1.0 => field.clone(),
                    Bson::String(kind) => format!("{field}: {kind}"),
                    other => format!("{field}: {other}"),
                })
                .collect();
            IndexInfo { name: options.name.unwrap_or_default(), columns, unique: options.unique.unwrap_or(false) }
        })
        .collect())
}

/// What sampling found about one dotted path.
#[derive(Default)]
struct FieldStats {
    /// Documents the path occurs in.
    present: usize,
    null_seen: bool,
    /// Occurrences per type, in the order the types were first seen.
    types: Vec<(&'static str, usize)>,
}

/// The fields of sampled documents as dotted paths (`customer.address.city`; the fields of documents inside
/// arrays too), each with its most frequent BSON type, its presence (documents holding it) and every type seen
/// with its count. A field is nullable when some sampled document lacks it or holds null there.
fn infer_fields(sample: &[Document]) -> Vec<ColumnInfo> {
    let mut order: Vec<String> = Vec::new();
    let mut stats: HashMap<String, FieldStats> = HashMap::new();
    for doc in sample {
        let mut seen = HashSet::new();
        visit(doc, "", 0, &mut seen, &mut order, &mut stats);
    }
    order
        .into_iter()
        .map(|path| {
            let stat = &stats[&path];
            let mut best: Option<(&'static str, usize)> = None;
            for &(name, count) in &stat.types {
                if name != "null" && best.is_none_or(|(_, c)| count > c) {
                    best = Some((name, count));
                }
            }
            let db_type = best.map_or("null", |(name, _)| name);
            let mut types: Vec<TypeCount> = stat
                .types
                .iter()
                .map(|&(name, count)| TypeCount { type_name: name.to_owned(), count: clamp_u32(count) })
                .collect();
            // Most frequent first; ties keep the order the types were first seen in.
            types.sort_by_key(|t| std::cmp::Reverse(t.count));
            ColumnInfo {
                logical: logical_for(db_type),
                db_type: db_type.to_owned(),
                nullable: stat.present < sample.len() || stat.null_seen,
                name: path,
                comment: None,
                sample: Some(FieldSample {
                    documents: clamp_u32(sample.len()),
                    present: clamp_u32(stat.present),
                    types,
                }),
            }
        })
        .collect()
}

fn clamp_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn visit(
    doc: &Document,
    prefix: &str,
    depth: usize,
    seen: &mut HashSet<String>,
    order: &mut Vec<String>,
    stats: &mut HashMap<String, FieldStats>,
) {
    for (key, value) in doc {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        if !stats.contains_key(&path) {
            if order.len() >= MAX_FIELDS {
                continue;
            }
            order.push(path.clone());
        }
        let stat = stats.entry(path.clone()).or_default();
        if seen.insert(path.clone()) {
            stat.present += 1;
        }
        let name = type_name(value);
        stat.null_seen |= name == "null";
        match stat.types.iter_mut().find(|(n, _)| *n == name) {
            Some((_, count)) => *count += 1,
            None => stat.types.push((name, 1)),
        }
        if depth + 1 >= MAX_FIELD_DEPTH {
            continue;
        }
        match value {
            Bson::Document(inner) => visit(inner, &path, depth + 1, seen, order, stats),
            Bson::Array(items) => {
                for item in items {
                    if let Bson::Document(inner) = item {
                        visit(inner, &path, depth + 1, seen, order, stats);
                    }
                }
            }
            _ => {}
        }
    }
}

/// MongoDB's alias for a value's BSON type, as `$type` spells it (`uuid` for binary subtype 4).
fn type_name(value: &Bson) -> &'static str {
    match value {
        Bson::Double(_) => "double",
        Bson::String(_) => "string",
        Bson::Document(_) => "object",
        Bson::Array(_) => "array",
        Bson::Binary(b) if b.subtype == BinarySubtype::Uuid && b.bytes.len() == 16 => "uuid",
        Bson::Binary(_) => "binData",
        Bson::Undefined | Bson::Null => "null",
        Bson::ObjectId(_) => "objectId",
        Bson::Boolean(_) => "bool",
        Bson::DateTime(_) => "date",
        Bson::RegularExpression(_) => "regex",
        Bson::DbPointer(_) => "dbPointer",
        Bson::JavaScriptCode(_) => "javascript",
        Bson::Symbol(_) => "symbol",
        Bson::JavaScriptCodeWithScope(_) => "javascriptWithScope",
        Bson::Int32(_) => "int",
        Bson::Timestamp(_) => "timestamp",
        Bson::Int64(_) => "long",
        Bson::Decimal128(_) => "decimal",
        Bson::MinKey => "minKey",
        Bson::MaxKey => "maxKey",
    }
}

fn logical_for(type_name: &str) -> LogicalType {
    match type_name {
        "double" => LogicalType::Float,
        "int" | "long" => LogicalType::Int,
        "decimal" => LogicalType::Decimal,
        "string" | "objectId" | "symbol" => LogicalType::Text,
        "bool" => LogicalType::Bool,
        "date" => LogicalType::TimestampTz,
        "object" | "array" => LogicalType::Json,
        "uuid" => LogicalType::Uuid,
        "binData" => LogicalType::Bytes,
        _ => LogicalType::Other,
    }
}

/// One read operation on one collection.
#[derive(Debug, PartialEq)]
struct Query {
    collection: String,
    op: Operation,
}

#[derive(Debug, PartialEq)]
enum Operation {
    Find {
        filter: Document,
        projection: Option<Document>,
        sort: Option<Document>,
        limit: Option<u64>,
        skip: Option<u64>,
    },
    Aggregate {
        pipeline: Vec<Document>,
    },
    Count {
        filter: Document,
    },
    Distinct {
        field: String,
        filter: Document,
    },
}

const QUERY_SHAPE: &str = r#"a MongoDB query is {"collection": "NAME", "find": {FILTER}, "projection": {...}, "sort": {...}, "limit": N, "skip": N}, {"collection": "NAME", "aggregate": [STAGES]}, {"collection": "NAME", "count": {FILTER}} or {"collection": "NAME", "distinct": "FIELD", "filter": {FILTER}}"#;

/// Parses a query document. Anything but the four read operations, in the shapes above, is refused.
fn parse_query(text: &str) -> Result<Query, WorkerError> {
    let refuse = |why: String| WorkerError::Refused(format!("{why}; {QUERY_SHAPE}"));
    let value: Value =
        serde_json::from_str(text).map_err(|err| refuse(format!("the query is not valid JSON ({err})")))?;
    let Value::Object(mut fields) = value else { return Err(refuse("the query is not a JSON object".into())) };
    let collection = match fields.remove("collection") {
        Some(Value::String(name)) if !name.is_empty() && !name.contains('\0') && !name.starts_with('$') => name,
        Some(_) => return Err(refuse("\"collection\" must be a collection name".into())),
        None => return Err(refuse("the query names no \"collection\"".into())),
    };
    let ops: Vec<&str> =
        ["find", "aggregate", "count", "distinct"].into_iter().filter(|op| fields.contains_key(*op)).collect();
    let op = match ops.as_slice() {
        [op] => *op,
        [] => {
            let key = fields.keys().next().cloned().unwrap_or_default();
            return Err(refuse(if key.is_empty() {
                "the query has no operation".into()
            } else {
                format!("\"{key}\" is not an operation this connector runs: only find, aggregate, count and distinct")
            }));
        }
        _ => return Err(refuse(format!("the query has {} operations; give exactly one", ops.len()))),
    };
    let allowed: &[&str] = match op {
        "find" => &["find", "projection", "sort", "limit", "skip"],
        "distinct" => &["distinct", "filter"],
        _ => &[op],
    };
    if let Some(extra) = fields.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(refuse(format!("\"{extra}\" has no place in a {op} query")));
    }
    let document = |key: &str, value: Option<Value>| -> Result<Option<Document>, WorkerError> {
        match value {
            None => Ok(None),
            Some(Value::Object(map)) => Document::try_from(map)
                .map(Some)
                .map_err(|err| refuse(format!("\"{key}\" is not valid Extended JSON ({err})"))),
            Some(_) => Err(refuse(format!("\"{key}\" must be a JSON object"))),
        }
    };
    let op = match op {
        "find" => {
            let mut count = |key: &str| match fields.remove(key) {
                None => Ok(None),
                Some(Value::Number(n)) if n.as_u64().is_some() => Ok(n.as_u64()),
                Some(_) => Err(refuse(format!("\"{key}\" must be a whole number, 0 or more"))),
            };
            let (limit, skip) = (count("limit")?, count("skip")?);
            Operation::Find {
                filter: document("find", fields.remove("find"))?.unwrap_or_default(),
                projection: document("projection", fields.remove("projection"))?,
                sort: document("sort", fields.remove("sort"))?,
                limit: limit.filter(|&n| n > 0), // MongoDB reads a limit of 0 as no limit.
                skip: skip.filter(|&n| n > 0),
            }
        }
        "aggregate" => {
            let Some(Value::Array(stages)) = fields.remove("aggregate") else {
                return Err(refuse("\"aggregate\" must be an array of stages".into()));
            };
            let pipeline = stages
                .into_iter()
                .enumerate()
                .map(|(i, stage)| document(&format!("aggregate[{i}]"), Some(stage)).map(Option::unwrap_or_default))
                .collect::<Result<Vec<_>, _>>()?;
            if let Some(stage) = write_stage(&pipeline) {
                return Err(WorkerError::Refused(format!(
                    "the pipeline contains {stage}, which writes to a collection; this connector only reads. \
                     Remove the {stage} stage to see the results instead"
                )));
            }
            Operation::Aggregate { pipeline }
        }
        "count" => Operation::Count { filter: document("count", fields.remove("count"))?.unwrap_or_default() },
        _ => {
            let field = match fields.remove("distinct") {
                Some(Value::String(field)) if !field.is_empty() => field,
                _ => return Err(refuse("\"distinct\" must be a field name".into())),
            };
            Operation::Distinct { field, filter: document("filter", fields.remove("filter"))?.unwrap_or_default() }
        }
    };
    Ok(Query { collection, op })
}

/// The first write stage anywhere in a pipeline: top level, or nested at any depth (the sub-pipelines of
/// `$lookup`, `$facet` and `$unionWith`, or anything yet to come). Any key that names one counts.
fn write_stage(pipeline: &[Document]) -> Option<&'static str> {
    fn in_value(value: &Bson) -> Option<&'static str> {
        match value {
            Bson::Document(doc) => in_doc(doc),
            Bson::Array(items) => items.iter().find_map(in_value),
            _ => None,
        }
    }
    fn in_doc(doc: &Document) -> Option<&'static str> {
        doc.iter()
            .find_map(|(key, value)| WRITE_STAGES.iter().find(|s| **s == key).copied().or_else(|| in_value(value)))
    }
    pipeline.iter().find_map(in_doc)
}

/// How much a query may return and how long it may take.
struct Limits {
    rows: u64,
    batch: usize,
    timeout_ms: u64,
}

async fn run_query(
    server: &Server<'_>,
    query: Query,
    limits: &Limits,
    comment: &str,
    emit: &mut Emit<'_>,
    started: Instant,
) -> Result<JobDone, WorkerError> {
    let coll = server.db.collection::<Document>(&query.collection);
    let max_time = Duration::from_millis(limits.timeout_ms.max(1));
    // On the operation and, through the driver, on each getMore of its cursor.
    let comment = Bson::String(comment.to_owned());
    // One row past the limit, so truncation shows.
    let fetch = limits.rows.saturating_add(1).min(i64::MAX as u64);
    match query.op {
        Operation::Find { filter, projection, sort, limit, skip } => {
            let mut find =
                coll.find(filter).max_time(max_time).comment(comment).limit(limit.unwrap_or(fetch).min(fetch) as i64);
            if let Some(projection) = projection {
                find = find.projection(projection);
            }
            if let Some(sort) = sort {
                find = find.sort(sort);
            }
            if let Some(skip) = skip {
                find = find.skip(skip);
            }
            let cursor = find.await.map_err(|e| server.error(&e))?;
            stream(server, cursor, limits, emit, started).await
        }
        Operation::Aggregate { mut pipeline } => {
            pipeline.push(doc! { "$limit": fetch as i64 });
            let cursor =
                coll.aggregate(pipeline).max_time(max_time).comment(comment).await.map_err(|e| server.error(&e))?;
            stream(server, cursor, limits, emit, started).await
        }
        Operation::Count { filter } => {
            let count =
                coll.count_documents(filter).max_time(max_time).comment(comment).await.map_err(|e| server.error(&e))?;
            let column = ResultColumn { name: "count".into(), db_type: "long".into(), logical: LogicalType::Int };
            emit(FromWorker::Columns(vec![column]))?;
            let mut values = ColumnValues::empty_for(LogicalType::Int);
            if let ColumnValues::Int(out) = &mut values {
                out.push(Some(i64::try_from(count).unwrap_or(i64::MAX)));
            }
            emit(FromWorker::Batch(Batch { columns: vec![values] }))?;
            Ok(done(1, false, started))
        }
        Operation::Distinct { field, filter } => {
            let values = coll
                .distinct(&field, filter)
                .max_time(max_time)
                .comment(comment)
                .await
                .map_err(|e| server.error(&e))?;
            let truncated = values.len() as u64 > limits.rows;
            let kept = &values[..values.len().min(limits.rows as usize)];
            let column = Column::infer(field, kept.iter().map(Some));
            let mut table = Table::new(vec![column], limits.batch);
            emit(FromWorker::Columns(table.result_columns()))?;
            for value in kept {
                table.push_row(std::slice::from_ref(&Some(value)), emit)?;
            }
            table.finish(emit)?;
            Ok(done(table.total, truncated, started))
        }
    }
}

/// Streams a cursor's documents: columns from the first batch, then batches of rows.
async fn stream(
    server: &Server<'_>,
    mut cursor: Cursor<Document>,
    limits: &Limits,
    emit: &mut Emit<'_>,
    started: Instant,
) -> Result<JobDone, WorkerError> {
    let mut first = Vec::new();
    let mut truncated = false;
    while first.len() < limits.batch {
        let Some(doc) = cursor.try_next().await.map_err(|e| server.error(&e))? else { break };
        if first.len() as u64 == limits.rows {
            truncated = true;
            break;
        }
        first.push(doc);
    }
    let mut shape = Shape::default();
    let mut leaves = 0;
    for doc in &first {
        shape.learn(doc, 0, &mut leaves);
    }
    let mut names = Vec::new();
    shape.number("", &mut names);
    let mut seen = HashSet::new();
    if let Some(name) = names.iter().find(|name| !seen.insert(name.as_str())) {
        return Err(WorkerError::Query(format!(
            "two fields would both be the result column {name}: a field whose name holds a dot, and a nested \
             field; rename one of them in the query, e.g. with an aggregate's $project"
        )));
    }
    let mut rows = Vec::with_capacity(first.len());
    for doc in &first {
        let mut row = vec![None; names.len()];
        shape.route(doc, &mut row, &mut 0);
        rows.push(row);
    }
    let columns = names
        .into_iter()
        .enumerate()
        .map(|(i, name)| Column::infer(name, rows.iter().map(|row: &Vec<Option<&Bson>>| row[i])))
        .collect();
    let mut table = Table::new(columns, limits.batch);
    table.shape = shape;
    emit(FromWorker::Columns(table.result_columns()))?;
    let more = !truncated && first.len() == limits.batch;
    for row in &rows {
        table.push_row(row, emit)?;
    }
    drop(rows);
    drop(first);
    if more {
        while let Some(doc) = cursor.try_next().await.map_err(|e| server.error(&e))? {
            if table.total == limits.rows {
                truncated = true;
                break;
            }
            table.push_document(&doc, emit)?;
        }
    }
    table.finish(emit)?;
    if table.dropped > 0 {
        eprintln!(
            "mongo: left out {} values that no column of the first batch has a place for (columns are fixed by it)",
            table.dropped
        );
    }
    Ok(done(table.total, truncated, started))
}

/// A result column and the BSON type(s) it was typed from.
struct Column {
    name: String,
    db_type: String,
    logical: LogicalType,
}

impl Column {
    /// Types a column from its values in the first batch (`None` = field missing).
    fn infer<'v>(name: String, values: impl Iterator<Item = Option<&'v Bson>>) -> Column {
        let mut seen: Vec<&'static str> = Vec::new();
        for value in values.flatten() {
            let t = type_name(value);
            if t != "null" && !seen.contains(&t) {
                seen.push(t);
            }
        }
        let numeric = |t: &&str| matches!(*t, "int" | "long" | "double");
        let (db_type, logical) = match seen.as_slice() {
            [] => ("null".to_owned(), LogicalType::Text),
            [one] => ((*one).to_owned(), logical_for(one)),
            many if many.iter().all(numeric) && many.contains(&"double") => ("double".to_owned(), LogicalType::Float),
            many if many.iter().all(numeric) => ("long".to_owned(), LogicalType::Int),
            many => (many.join("|"), LogicalType::Text),
        };
        Column { name, db_type, logical }
    }
}

/// How the fields of a result's documents map to columns, learnt from the first batch. Nested documents are
/// flattened into dotted columns (`address.city`) down to the depth the schema's field inference reaches, so a
/// result names fields as the schema does; arrays, and documents deeper down, stay one column of JSON text.
#[derive(Default)]
struct Shape {
    /// Field names in the order they first appear, each with its node.
    fields: Vec<(String, Field)>,
    index: HashMap<String, usize>,
}

#[derive(Default)]
struct Field {
    /// This path holds values that are not flattened documents (scalars, arrays, `{}`, documents too deep).
    values: bool,
    /// This path holds null (or undefined). Shown in a column of its own only where no document was flattened.
    nulls: bool,
    /// The column of those values, once numbered.
    column: Option<usize>,
    /// The fields of the documents flattened at this path.
    nested: Option<Box<Shape>>,
}

/// Past this many columns, a nested document not yet flattened stays one JSON column.
const MAX_RESULT_COLUMNS: usize = 1000;

impl Shape {
    fn field(&mut self, key: &str) -> &mut Field {
        let i = match self.index.get(key) {
            Some(&i) => i,
            None => {
                self.fields.push((key.to_owned(), Field::default()));
                self.index.insert(key.to_owned(), self.fields.len() - 1);
                self.fields.len() - 1
            }
        };
        &mut self.fields[i].1
    }

    /// Adds the fields of one first-batch document; `leaves` counts the columns so far.
    fn learn(&mut self, doc: &Document, depth: usize, leaves: &mut usize) {
        for (key, value) in doc {
            let field = self.field(key);
            match value {
                Bson::Document(inner)
                    if !inner.is_empty()
                        && depth + 1 < MAX_FIELD_DEPTH
                        && (field.nested.is_some() || *leaves < MAX_RESULT_COLUMNS) =>
                {
                    field.nested.get_or_insert_default().learn(inner, depth + 1, leaves);
                }
                Bson::Null | Bson::Undefined => field.nulls = true,
                _ => {
                    *leaves += usize::from(!field.values);
                    field.values = true;
                }
            }
        }
    }

    /// Numbers the columns depth first (a path's own column before its nested ones) and names them.
    fn number(&mut self, prefix: &str, names: &mut Vec<String>) {
        for (key, field) in &mut self.fields {
            let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
            if field.values || (field.nulls && field.nested.is_none()) {
                field.column = Some(names.len());
                names.push(path.clone());
            }
            if let Some(nested) = &mut field.nested {
                nested.number(&path, names);
            }
        }
    }

    /// Puts a document's values into their columns; counts values with no column in `dropped`.
    fn route<'d>(&self, doc: &'d Document, row: &mut [Option<&'d Bson>], dropped: &mut u64) {
        for (key, value) in doc {
            let Some(field) = self.index.get(key.as_str()).map(|&i| &self.fields[i].1) else {
                *dropped += 1;
                continue;
            };
            match (value, &field.nested, field.column) {
                (Bson::Document(inner), Some(nested), _) if !inner.is_empty() => nested.route(inner, row, dropped),
                (_, _, Some(i)) => row[i] = Some(value),
                // Null, or an empty document, where only flattened documents were seen: nothing to show.
                (Bson::Null | Bson::Undefined | Bson::Document(_), Some(_), None) => {}
                (_, _, None) => *dropped += 1,
            }
        }
    }
}

/// Rows being gathered into the next batch.
struct Table {
    columns: Vec<Column>,
    /// Where a document's fields go (empty for `distinct`, whose rows are built by the caller).
    shape: Shape,
    batch: Batcher,
    total: u64,
    /// Values of fields that are not columns.
    dropped: u64,
}

impl Table {
    /// An empty table of `columns`, sent `batch_rows` rows at a time.
    fn new(columns: Vec<Column>, batch_rows: usize) -> Table {
        let batch = Batcher::new(columns.iter().map(|c| c.logical), batch_rows);
        Table { columns, shape: Shape::default(), batch, total: 0, dropped: 0 }
    }

    fn result_columns(&self) -> Vec<ResultColumn> {
        self.columns
            .iter()
            .map(|c| ResultColumn { name: c.name.clone(), db_type: c.db_type.clone(), logical: c.logical })
            .collect()
    }

    fn push_document(&mut self, doc: &Document, emit: &mut Emit<'_>) -> Result<(), WorkerError> {
        let mut row: Vec<Option<&Bson>> = vec![None; self.columns.len()];
        self.shape.route(doc, &mut row, &mut self.dropped);
        self.push_row(&row, emit)
    }

    fn push_row(&mut self, row: &[Option<&Bson>], emit: &mut Emit<'_>) -> Result<(), WorkerError> {
        for ((column, out), value) in self.columns.iter().zip(self.batch.columns()).zip(row) {
            push_value(out, column, *value, self.total)?;
        }
        self.total += 1;
        self.batch.added(1, emit)
    }

    fn finish(&mut self, emit: &mut Emit<'_>) -> Result<(), WorkerError> {
        self.batch.finish(emit)
    }
}

/// Adds one value to its column. NULL, undefined and a missing field are NULL. A value the column's type cannot
/// show exactly fails the query rather than show something else.
fn push_value(out: &mut ColumnValues, column: &Column, value: Option<&Bson>, row: u64) -> Result<(), WorkerError> {
    let value = value.filter(|v| !matches!(v, Bson::Null | Bson::Undefined));
    let misfit = |v: &Bson| {
        let name = &column.name;
        WorkerError::Query(format!(
            "field {name} holds a {} value in result row {}, but its column is {} (columns are typed by the first \
             batch of documents); convert it in the query, e.g. an aggregate with \
             {{\"$project\": {{\"{name}\": {{\"$toString\": \"${name}\"}}}}}}",
            type_name(v),
            row + 1,
            column.db_type
        ))
    };
    match out {
        ColumnValues::Bool(out) => out.push(match value {
            None => None,
            Some(Bson::Boolean(b)) => Some(*b),
            Some(v) => return Err(misfit(v)),
        }),
        ColumnValues::Int(out) => out.push(match value {
            None => None,
            Some(Bson::Int32(i)) => Some(i64::from(*i)),
            Some(Bson::Int64(i)) => Some(*i),
            Some(Bson::Double(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            Some(v) => return Err(misfit(v)),
        }),
        ColumnValues::Float(out) => out.push(match value {
            None => None,
            Some(Bson::Double(f)) => Some(*f),
            Some(Bson::Int32(i)) => Some(f64::from(*i)),
            Some(Bson::Int64(i)) if i.unsigned_abs() <= 1 << 53 => Some(*i as f64),
            Some(v) => return Err(misfit(v)),
        }),
        ColumnValues::Timestamp(out) => out.push(match value {
            None => None,
            // Microseconds since 1970 reach some 292,000 years either side; a date beyond is not clamped.
            Some(Bson::DateTime(d)) => Some(d.timestamp_millis().checked_mul(1000).ok_or_else(|| {
                WorkerError::Query(format!(
                    "field {} holds a date in result row {} that lies beyond the year 294,000, which a timestamp \
                     cannot hold; convert it in the query, e.g. an aggregate with {{\"$project\": {{\"{}\": \
                     {{\"$toString\": \"${}\"}}}}}}",
                    column.name,
                    row + 1,
                    column.name,
                    column.name
                ))
            })?),
            Some(v) => return Err(misfit(v)),
        }),
        ColumnValues::Bytes(out) => out.push(match value {
            None => None,
            Some(Bson::Binary(b)) => Some(b.bytes.clone()),
            Some(v) => return Err(misfit(v)),
        }),
        ColumnValues::Date(out) => out.push(match value {
            None => None,
            Some(v) => return Err(misfit(v)),
        }),
        ColumnValues::Text(out) => {
            let text = match (column.logical, value) {
                (_, None) => None,
                (LogicalType::Decimal, Some(Bson::Decimal128(d))) => Some(plain_decimal(&d.to_string())),
                (LogicalType::Decimal, Some(Bson::Int32(i))) => Some(i.to_string()),
                (LogicalType::Decimal, Some(Bson::Int64(i))) => Some(i.to_string()),
                (LogicalType::Uuid, Some(v)) => Some(uuid_text(v).ok_or_else(|| misfit(v))?),
                (LogicalType::Decimal, Some(v)) => return Err(misfit(v)),
                (LogicalType::Json, Some(v)) => Some(v.clone().into_relaxed_extjson().to_string()),
                (_, Some(v)) => Some(text_of(v)),
            };
            out.push(text.as_deref());
        }
    }
    Ok(())
}

/// A value as text: strings as they are, ObjectIds as hex, decimals exact, anything else as relaxed Extended
/// JSON.
fn text_of(value: &Bson) -> String {
    match value {
        Bson::String(s) | Bson::Symbol(s) => s.clone(),
        Bson::ObjectId(id) => id.to_hex(),
        Bson::Decimal128(d) => plain_decimal(&d.to_string()),
        Bson::Int32(i) => i.to_string(),
        Bson::Int64(i) => i.to_string(),
        Bson::Boolean(b) => b.to_string(),
        Bson::DateTime(d) => d.try_to_rfc3339_string().unwrap_or_else(|_| d.timestamp_millis().to_string()),
        other => other.clone().into_relaxed_extjson().to_string(),
    }
}

/// A Decimal128's text (`1.5E+3`, `1E-7`, the IEEE 754 scientific form MongoDB uses beyond some exponents) in
/// plain decimal notation, every digit kept (`1500`, `0.0000001`); `NaN`, `Infinity` and `-Infinity` as they are.
fn plain_decimal(text: &str) -> String {
    let Some((mantissa, exponent)) = text.split_once(['E', 'e']) else { return text.to_owned() };
    let Ok(exponent) = exponent.parse::<i64>() else { return text.to_owned() };
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", mantissa),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    // The decimal point sits after `point` digits (negative: before the first digit, with zeros between).
    let point = int.len() as i64 + exponent;
    let (whole, fraction) = if point <= 0 {
        ("0".to_owned(), format!("{}{digits}", "0".repeat(point.unsigned_abs() as usize)))
    } else if point as usize >= digits.len() {
        (format!("{digits}{}", "0".repeat(point as usize - digits.len())), String::new())
    } else {
        (digits[..point as usize].to_owned(), digits[point as usize..].to_owned())
    };
    if fraction.is_empty() { format!("{sign}{whole}") } else { format!("{sign}{whole}.{fraction}") }
}

fn uuid_text(value: &Bson) -> Option<String> {
    let Bson::Binary(b) = value else { return None };
    if b.subtype != BinarySubtype::Uuid || b.bytes.len() != 16 {
        return None;
    }
    let hex: String = b.bytes.iter().map(|b| format!("{b:02x}")).collect();
    Some(format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `currentOp` entries as MongoDB shows them: the running aggregate, a getMore on its cursor, the idle cursor
    /// between batches; and as SecantusDB shows every connection (the last command's name only), which no comment
    /// must match.
    #[test]
    fn only_the_runs_own_operations_are_cancelled() {
        let comment = "psiq-run-abc";
        let ours = [
            doc! { "type": "op", "opid": 7, "command": { "aggregate": "c", "pipeline": [], "comment": comment } },
            doc! { "type": "op", "opid": 8, "command": { "getMore": 5_i64, "collection": "c", "comment": comment },
            "cursor": { "cursorId": 5_i64, "originatingCommand": { "find": "c", "comment": comment } } },
            doc! { "type": "idleCursor", "ns": "db.c",
            "cursor": { "cursorId": 5_i64, "originatingCommand": { "find": "c", "comment": comment } } },
        ];
        for entry in &ours {
            assert!(carries_comment(entry, comment), "{entry}");
        }
        let theirs = [
            doc! { "type": "op", "opid": 9, "command": { "aggregate": "c", "comment": "psiq-run-abd" } },
            doc! { "type": "op", "opid": 10, "command": { "aggregate": 1 }, "op": "aggregate" },
            doc! { "type": "op", "opid": 11, "command": { "currentOp": 1, "$or": [{ "command.comment": comment }] } },
            doc! { "type": "idleCursor", "ns": "db.c", "cursorId": 5_i64, "originatingCommand": {} },
        ];
        for entry in &theirs {
            assert!(!carries_comment(entry, comment), "{entry}");
        }
    }

    fn refused(text: &str) -> String {
        match parse_query(text) {
            Err(WorkerError::Refused(why)) => why,
            other => panic!("{text} was not refused: {other:?}"),
        }
    }

    #[test]
    fn only_the_four_read_operations_parse() {
        let find = parse_query(
            r#"{"collection": "o", "find": {"at": {"$gte": {"$date": "2024-01-01T00:00:00Z"}}}, "sort": {"a": -1}, "limit": 5}"#,
        )
        .unwrap();
        let Operation::Find { filter, sort, limit, projection, .. } = find.op else { panic!("not a find") };
        assert!(matches!(filter.get_document("at").unwrap().get("$gte"), Some(Bson::DateTime(_))));
        assert_eq!((sort, limit, projection), (Some(doc! { "a": -1 }), Some(5), None));
        assert!(matches!(parse_query(r#"{"collection": "o", "count": {}}"#).unwrap().op, Operation::Count { .. }));
        assert!(matches!(
            parse_query(r#"{"collection": "o", "distinct": "a", "filter": {"b": 1}}"#).unwrap().op,
            Operation::Distinct { .. }
        ));
        assert!(refused(r#"{"collection": "o", "insert": [{"a": 1}]}"#).contains("\"insert\" is not an operation"));
        assert!(refused(r#"{"collection": "o", "delete": {}}"#).contains("only find, aggregate, count and distinct"));
        assert!(refused(r#"{"collection": "o", "find": {}, "update": {"$set": {"a": 1}}}"#).contains("no place"));
        assert!(refused(r#"{"collection": "o", "find": {}, "count": {}}"#).contains("exactly one"));
        assert!(refused(r#"{"find": {}}"#).contains("no \"collection\""));
        assert!(refused("SELECT 1").contains("not valid JSON"));
        assert!(refused(r#"{"collection": "o", "find": {}, "limit": -1}"#).contains("limit"));
    }

    #[test]
    fn write_stages_are_found_at_any_depth() {
        let check = |pipeline: &str| {
            parse_query(&format!(r#"{{"collection": "o", "aggregate": {pipeline}}}"#)).err().map(|e| e.to_string())
        };
        assert_eq!(check(r#"[{"$match": {}}, {"$group": {"_id": "$a"}}]"#), None);
        assert!(check(r#"[{"$out": "x"}]"#).unwrap().contains("$out"));
        assert!(check(r#"[{"$facet": {"a": [{"$merge": {"into": "x"}}]}}]"#).unwrap().contains("$merge"));
        assert!(check(r#"[{"$lookup": {"from": "b", "pipeline": [{"$out": "x"}], "as": "b"}}]"#).is_some());
        assert!(check(r#"[{"$unionWith": {"coll": "b", "pipeline": [{"$merge": "x"}]}}]"#).is_some());
    }

    #[test]
    fn fields_are_inferred_as_dotted_paths_with_their_commonest_type() {
        let sample = vec![
            doc! { "_id": 1, "name": "a", "address": { "city": "X", "zip": 1 }, "tags": [{ "k": "v" }] },
            doc! { "_id": 2, "name": Bson::Null, "address": { "city": "Y" }, "score": 1.5 },
            doc! { "_id": 3, "name": "c", "address": { "city": "Z", "zip": "z" }, "score": 2 },
        ];
        let got: Vec<(String, String, bool)> =
            infer_fields(&sample).into_iter().map(|c| (c.name, c.db_type, c.nullable)).collect();
        let want = [
            ("_id", "int", false),
            ("name", "string", true),
            ("address", "object", false),
            ("address.city", "string", false),
            ("address.zip", "int", true),
            ("tags", "array", true),
            ("tags.k", "string", true),
            ("score", "double", true),
        ];
        assert_eq!(got, want.map(|(n, t, b)| (n.to_owned(), t.to_owned(), b)));
    }

    #[test]
    fn columns_widen_numbers_and_show_other_mixes_as_text() {
        let typed = |values: &[Bson]| {
            let c = Column::infer("x".into(), values.iter().map(Some));
            (c.db_type, c.logical)
        };
        assert_eq!(typed(&[Bson::Int32(1), Bson::Int64(2)]), ("long".into(), LogicalType::Int));
        assert_eq!(typed(&[Bson::Int32(1), Bson::Double(2.5)]), ("double".into(), LogicalType::Float));
        assert_eq!(typed(&[Bson::Int32(1), Bson::String("a".into())]), ("int|string".into(), LogicalType::Text));
        assert_eq!(typed(&[Bson::Null]), ("null".into(), LogicalType::Text));
    }

    #[test]
    fn a_user_with_only_read_roles_cannot_write() {
        let status = |roles: &[&str]| {
            let roles: Vec<Bson> = roles.iter().map(|r| Bson::Document(doc! { "role": *r, "db": "d" })).collect();
            doc! { "authInfo": { "authenticatedUsers": [{ "user": "u", "db": "d" }], "authenticatedUserRoles": roles } }
        };
        assert!(!can_write(&status(&["read"])));
        assert!(!can_write(&status(&["read", "readAnyDatabase"])));
        assert!(can_write(&status(&["read", "readWrite"])));
        assert!(can_write(&doc! { "authInfo": { "authenticatedUsers": [], "authenticatedUserRoles": [] } }));
    }

    #[test]
    fn decimal128_reads_in_plain_notation() {
        let plain = |text: &str| plain_decimal(&text.parse::<mongodb::bson::Decimal128>().unwrap().to_string());
        assert_eq!(plain("1.5E+3"), "1500");
        assert_eq!(plain("1E-7"), "0.0000001");
        assert_eq!(plain("-1.23E-10"), "-0.000000000123");
        assert_eq!(plain("12.50"), "12.50");
        assert_eq!(plain("-0"), "-0");
        assert_eq!(plain("1234567890123456789012345678901234E+2"), "123456789012345678901234567890123400");
        assert_eq!(plain("NaN"), "NaN");
        assert_eq!(plain("-Infinity"), "-Infinity");
    }

    /// Columns from the first batch: nested documents flattened (a path's own values first), nulls where a
    /// document was flattened dropped, values with no column counted.
    #[test]
    fn documents_flatten_into_dotted_columns() {
        let first = [
            doc! { "_id": 1, "a": { "b": 1, "c": { "d": "x" } }, "e": [1] },
            doc! { "_id": 2, "a": "text", "f": Bson::Null },
            doc! { "_id": 3, "a": Bson::Null, "e": Bson::Null },
        ];
        let mut shape = Shape::default();
        for doc in &first {
            shape.learn(doc, 0, &mut 0);
        }
        let mut names = Vec::new();
        shape.number("", &mut names);
        assert_eq!(names, ["_id", "a", "a.b", "a.c.d", "e", "f"]);
        let later = doc! { "_id": 4, "a": { "b": 2, "z": 1 }, "new": 1 };
        let mut row = vec![None; names.len()];
        let mut dropped = 0;
        shape.route(&later, &mut row, &mut dropped);
        assert_eq!(row, [Some(&Bson::Int32(4)), None, Some(&Bson::Int32(2)), None, None, None]);
        assert_eq!(dropped, 2);
    }

    #[test]
    fn a_date_a_timestamp_cannot_hold_fails_rather_than_clamp() {
        let column = Column { name: "at".into(), db_type: "date".into(), logical: LogicalType::TimestampTz };
        let mut out = ColumnValues::empty_for(LogicalType::TimestampTz);
        let far = Bson::DateTime(mongodb::bson::DateTime::from_millis(i64::MAX));
        let err = push_value(&mut out, &column, Some(&far), 0).unwrap_err();
        assert!(err.to_string().contains("$toString"), "{err}");
        let near = Bson::DateTime(mongodb::bson::DateTime::from_millis(-1));
        push_value(&mut out, &column, Some(&near), 1).unwrap();
        assert!(matches!(&out, ColumnValues::Timestamp(t) if t.get(0) == Some(-1000)));
    }
}
