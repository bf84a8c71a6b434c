//! The jobs that send SQL on an open connection: the connection test, the check of a query (prepared and planned,
//! not run) and the query itself, streamed in batches inside a pinned read-only transaction.

use std::time::Instant;

use crate::batch::Batcher;
use crate::{Emit, done};
use futures_util::{TryStreamExt, pin_mut};
use polystoreiq_protocol::types::ResultColumn;
use polystoreiq_protocol::worker::{ConnectionReport, FromWorker, JobDone, ResolvedRelation, WorkerError};
use tokio_postgres::Client;
use tokio_postgres::types::Type;

use super::columns::result_column;
use super::decode::{Raw, push_value};
use super::{Pins, query_error, session};

pub(super) async fn test(client: &Client, started: Instant) -> Result<ConnectionReport, WorkerError> {
    let row = client
        .query_one(
            "SELECT current_setting('server_version'),
                    (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                 OR has_database_privilege(current_database(), 'CREATE')
                 OR EXISTS (SELECT 1 FROM information_schema.role_table_grants
                            WHERE grantee = current_user AND privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')),
                    coalesce((SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()), false)",
            &[],
        )
        .await
        .map_err(query_error)?;
    Ok(ConnectionReport {
        server_version: row.get(0),
        tls: row.get(2),
        can_write: row.get::<_, Option<bool>>(1).unwrap_or(true),
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

/// Prepares `sql` in a read-only transaction without running it: the server parses and analyses it, so an unknown
/// table or column, or an operator on the wrong types, fails here.
///
/// Then the server's own plan (`EXPLAIN (VERBOSE, FORMAT JSON)`, which plans without executing) says which
/// relations the query reads, views expanded; the broker checks those again, apart from the guardrail's reading
/// of the text.
pub(super) async fn check(
    client: &Client,
    sql: &str,
    pins: &Pins<'_>,
    emit: &mut Emit<'_>,
    started: Instant,
) -> Result<JobDone, WorkerError> {
    session::begin_pinned(client, pins.limits, pins.facts, pins.timeout_ms).await?;
    let prepared = client.prepare(sql).await.map_err(query_error);
    let plan = match &prepared {
        // One statement through the extended protocol, as the query itself would run.
        Ok(_) => Some(client.query_one(&format!("EXPLAIN (VERBOSE, FORMAT JSON) {sql}"), &[]).await),
        Err(_) => None,
    };
    let _ = client.execute("ROLLBACK", &[]).await;
    let prepared = prepared?;
    let plan = plan.transpose().map_err(query_error)?;
    if let Some(row) = plan {
        let text: Raw<'_> = row.try_get(0).map_err(query_error)?;
        let plan: serde_json::Value = serde_json::from_slice(text.0)
            .map_err(|err| WorkerError::Query(format!("the server's plan is not JSON: {err}")))?;
        let mut relations = Vec::new();
        plan_relations(&plan, &mut relations);
        emit(FromWorker::Resolved(relations))?;
    }
    if prepared.columns().is_empty() {
        return Err(WorkerError::Refused("only queries that return rows may run".into()));
    }
    // A column of a type this connector cannot read would fail the run: say so now, with the cast to use.
    for column in prepared.columns() {
        result_column(column)?;
    }
    Ok(done(0, false, started))
}

pub(super) async fn query(
    client: &Client,
    sql: &str,
    row_limit: u64,
    batch_rows: u32,
    pins: &Pins<'_>,
    emit: &mut Emit<'_>,
    started: Instant,
) -> Result<JobDone, WorkerError> {
    session::begin_pinned(client, pins.limits, pins.facts, pins.timeout_ms).await?;
    let statement = client.prepare(sql).await.map_err(query_error)?;
    // Only a statement that returns rows runs: COPY, DO, SET and the like describe no columns and are refused
    // here, whatever the guardrail said.
    if statement.columns().is_empty() {
        let _ = client.execute("ROLLBACK", &[]).await;
        return Err(WorkerError::Refused("only queries that return rows may run".into()));
    }
    let columns: Vec<ResultColumn> = statement.columns().iter().map(result_column).collect::<Result<_, _>>()?;
    let types: Vec<Type> = statement.columns().iter().map(|c| c.type_().clone()).collect();
    emit(FromWorker::Columns(columns.clone()))?;
    let rows = client.query_raw(&statement, std::iter::empty::<&str>()).await.map_err(query_error)?;
    pin_mut!(rows);
    let mut batch = Batcher::new(columns.iter().map(|c| c.logical), batch_rows as usize);
    let (mut total, mut truncated) = (0u64, false);
    while let Some(row) = rows.try_next().await.map_err(query_error)? {
        if total == row_limit {
            truncated = true;
            break;
        }
        for (i, (ty, column)) in types.iter().zip(batch.columns()).enumerate() {
            let raw: Option<Raw<'_>> = row.try_get(i).map_err(query_error)?;
            push_value(column, ty, raw.map(|r| r.0), &columns[i].name)?;
        }
        total += 1;
        batch.added(1, emit)?;
    }
    batch.finish(emit)?;
    let _ = client.execute("ROLLBACK", &[]).await;
    Ok(done(total, truncated, started))
}

/// Every relation and set-returning function a plan's nodes scan (`"Schema"` with `"Relation Name"` or
/// `"Function Name"`), once each, in plan order.
fn plan_relations(node: &serde_json::Value, out: &mut Vec<ResolvedRelation>) {
    match node {
        serde_json::Value::Object(map) => {
            let schema = map.get("Schema").and_then(|v| v.as_str());
            // A scan of a relation, or of a set-returning function (`pg_settings` is a view over one).
            let scanned = match (map.get("Relation Name"), map.get("Function Name")) {
                (Some(name), _) => name.as_str().map(|name| (name, false)),
                (None, Some(name)) => name.as_str().map(|name| (name, true)),
                (None, None) => None,
            };
            if let (Some(schema), Some((name, table_function))) = (schema, scanned) {
                let relation = ResolvedRelation { schema: schema.to_owned(), name: name.to_owned(), table_function };
                if !out.contains(&relation) {
                    out.push(relation);
                }
            }
            map.values().for_each(|value| plan_relations(value, out));
        }
        serde_json::Value::Array(items) => items.iter().for_each(|item| plan_relations(item, out)),
        _ => {}
    }
}
