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
//!
//! Reaching the server is `connect.rs`; the query language `parse.rs`; running a query `query.rs`, its documents
//! laid out as rows by `table.rs` and its BSON values put into columns by `decode.rs`; `metadata.rs` infers
//! collections' fields from samples; `cancel.rs` stops another run's operations.

use std::time::Instant;

use crate::{Emit, done};
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Document, doc};
use polystoreiq_protocol::types::{SourceKind, TlsMode};
use polystoreiq_protocol::worker::{
    ConnectionReport, DbAction, DbJob, FromWorker, JobDone, ServerSession, WorkerError,
};

mod cancel;
mod connect;
mod decode;
mod metadata;
mod parse;
mod query;
mod table;
#[cfg(test)]
mod tests;

use connect::Server;
use parse::{Query, parse_query};

/// Bounds on the inferred fields of one collection: nesting depth and number of dotted paths.
const MAX_FIELD_DEPTH: usize = 8;
const MAX_FIELDS: usize = 500;
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
                emit(FromWorker::Schema(metadata::metadata(&server).await?))?;
                Ok(done(0, false, started))
            }
            Work::Query(query, limits) => {
                // Every operation of the run carries this comment, so a second connection can find and stop them
                // on the server (`currentOp`, `killOp`); the broker learns it before the query starts. An ObjectId
                // is unique across processes: time, a per-process random value and a counter.
                let comment = format!("psiq-run-{}", ObjectId::new().to_hex());
                emit(FromWorker::ServerSession(ServerSession::Mongodb { comment: comment.clone() }))?;
                query::run_query(&server, *query, &limits, &comment, emit, started).await
            }
            Work::Cancel(session) => cancel::cancel(&server, &session, started).await,
            Work::Check(query, timeout_ms) => query::check(&server, *query, timeout_ms, started).await,
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

/// How much a query may return and how long it may take.
struct Limits {
    rows: u64,
    batch: usize,
    timeout_ms: u64,
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
