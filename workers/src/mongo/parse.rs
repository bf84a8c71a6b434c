//! The MongoDB query language as this connector runs it: the protocol's one parse ([`mongo::parse`]: one
//! collection and exactly one of `find`, `aggregate`, `count` and `distinct`; nothing else parses), its documents
//! converted to BSON into a [`Query`], and a pipeline with a write stage at any depth refused.

use mongodb::bson::{Bson, Document};
use polystoreiq_protocol::mongo::{self, MongoQueryError, QUERY_SHAPE};
use polystoreiq_protocol::worker::WorkerError;

/// Aggregation stages that write. Refused anywhere in a pipeline.
const WRITE_STAGES: [&str; 2] = ["$out", "$merge"];

/// One read operation on one collection: a [`mongo::MongoQuery`] with its documents in BSON.
pub(super) type Query = mongo::MongoQuery<Document>;

/// The operation of a [`Query`].
pub(super) type Operation = mongo::Operation<Document>;

/// Parses a query document (the grammar is [`mongo::parse`]'s) and converts its documents to BSON. Anything but
/// the four read operations, in the shapes the protocol describes, is refused. Beyond the grammar: a limit or a
/// skip of 0 becomes none (MongoDB reads a limit of 0 as no limit), a distinct needs a field name and always has
/// a filter (empty when none is written), and a pipeline may not write.
pub(super) fn parse_query(text: &str) -> Result<Query, WorkerError> {
    let refuse = |why: String| WorkerError::Refused(format!("{why}; {QUERY_SHAPE}"));
    let query = mongo::parse(text).map_err(|err| refuse(err.to_string()))?;
    // The grammar takes any string; an empty field name is this connector's refusal.
    if matches!(&query.operation, mongo::Operation::Distinct { field, .. } if field.is_empty()) {
        return Err(refuse(MongoQueryError::NotAFieldName.to_string()));
    }
    let mut query = query.try_map_documents(|key, map| {
        Document::try_from(map).map_err(|err| refuse(format!("\"{key}\" is not valid Extended JSON ({err})")))
    })?;
    match &mut query.operation {
        Operation::Find { limit, skip, .. } => {
            *limit = limit.filter(|&n| n > 0);
            *skip = skip.filter(|&n| n > 0);
        }
        Operation::Aggregate { pipeline } => {
            if let Some(stage) = write_stage(pipeline) {
                return Err(WorkerError::Refused(format!(
                    "the pipeline contains {stage}, which writes to a collection; this connector only reads. \
                     Remove the {stage} stage to see the results instead"
                )));
            }
        }
        Operation::Count { .. } => {}
        Operation::Distinct { filter, .. } => {
            filter.get_or_insert_default();
        }
    }
    Ok(query)
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
