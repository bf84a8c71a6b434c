//! Cancelling another run's operations: found by the run's unique comment in `currentOp`, stopped with `killOp`
//! (running) or `killCursors` (idle between batches).

use std::time::Instant;

use crate::done;
use mongodb::bson::{Bson, Document, doc};
use polystoreiq_protocol::worker::{JobDone, ServerSession, WorkerError};

use super::Server;

/// Stops every operation and cursor on the server that carries another worker's comment, from this connection:
/// `currentOp` finds them, `killOp` stops a running operation and `killCursors` an idle cursor. The comment is
/// checked again here on each entry, so a server that ignored the filter cannot get other clients' operations
/// killed.
pub(super) async fn cancel(
    server: &Server<'_>,
    session: &ServerSession,
    started: Instant,
) -> Result<JobDone, WorkerError> {
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
pub(super) fn carries_comment(entry: &Document, comment: &str) -> bool {
    let commented = |command: Option<&Document>| command.and_then(|c| c.get_str("comment").ok()) == Some(comment);
    commented(entry.get_document("command").ok())
        || commented(entry.get_document("cursor").ok().and_then(|c| c.get_document("originatingCommand").ok()))
}
