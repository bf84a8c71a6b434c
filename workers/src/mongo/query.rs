//! Running a parsed query: the check (collection exists, the server's `explain` accepts it) and the run, every
//! operation under `maxTimeMS` and the run's comment, its documents streamed in batches.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::{Emit, done};
use futures_util::TryStreamExt;
use mongodb::Cursor;
use mongodb::bson::{Bson, Document, doc};
use mongodb::error::ErrorKind;
use polystoreiq_protocol::types::{Batch, ColumnValues, LogicalType, ResultColumn};
use polystoreiq_protocol::worker::{FromWorker, JobDone, WorkerError};

use super::parse::{Operation, Query};
use super::table::{Column, Shape, Table};
use super::{Limits, Server};

/// Checks a query without running it: its collection must exist (MongoDB answers a missing one with no rows,
/// which would look like an empty answer), and the server must accept the operation's `explain`, which parses
/// the filter and every stage. A server without `explain` leaves only the collection check.
pub(super) async fn check(
    server: &Server<'_>,
    query: Query,
    timeout_ms: u64,
    started: Instant,
) -> Result<JobDone, WorkerError> {
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
    let operation = match query.operation {
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
        // `parse_query` gives every distinct a filter.
        Operation::Distinct { field, filter } => {
            doc! { "distinct": coll, "key": field, "query": filter.unwrap_or_default() }
        }
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

pub(super) async fn run_query(
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
    match query.operation {
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
                .distinct(&field, filter.unwrap_or_default())
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
