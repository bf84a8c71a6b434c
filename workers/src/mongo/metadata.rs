//! Collections and views with their fields, inferred from a sample of each one's documents (the commonest BSON type
//! of each dotted path, with the counts behind it), and their indexes.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures_util::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};
use mongodb::error::ErrorKind;
use mongodb::results::CollectionType;
use polystoreiq_protocol::types::{
    ColumnInfo, FieldSample, IndexInfo, SchemaSnapshot, TableInfo, TableKind, TypeCount,
};
use polystoreiq_protocol::worker::WorkerError;

use super::decode::{logical_for, type_name};
use super::{MAX_FIELD_DEPTH, MAX_FIELDS, Server};

/// The time limit (`maxTimeMS`) of each metadata read.
const METADATA_TIME_LIMIT: Duration = Duration::from_secs(10);
/// Documents sampled per collection to infer its fields.
const SAMPLE_SIZE: i64 = 200;

pub(super) async fn metadata(server: &Server<'_>) -> Result<SchemaSnapshot, WorkerError> {
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
    let fetched_at_ms = crate::unix_ms_now();
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
pub(super) fn infer_fields(sample: &[Document]) -> Vec<ColumnInfo> {
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
