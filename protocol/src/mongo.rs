//! The MongoDB query language of PolyStoreIQ, parsed once into a [`MongoQuery`]: a JSON document naming one
//! collection and exactly one of four read operations,
//! `{"collection": "orders", "find": {FILTER}, "projection": {..}, "sort": {..}, "limit": N, "skip": N}`,
//! `{"collection": "orders", "aggregate": [STAGES]}`, `{"collection": "orders", "count": {FILTER}}` or
//! `{"collection": "orders", "distinct": "FIELD", "filter": {FILTER}}`.
//!
//! This module owns the grammar: which keys exist, which operation a query is, and the JSON type of each part.
//! It never judges what a document *says* (operators, stages, limits, system collections): that is the broker's
//! guardrail, which walks the parsed value; the worker turns it into BSON. Documents stay JSON (Extended JSON
//! for typed values such as `{"$date": ..}`), in the order they were written.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

/// A JSON object: a filter, a projection, a sort or an aggregation stage, keys in the order written.
pub type Document = Map<String, Value>;

/// The four read operations, as the query's keys name them.
pub const OPERATIONS: [&str; 4] = ["find", "aggregate", "count", "distinct"];

/// The shape of every query, for refusals that say what would parse.
pub const QUERY_SHAPE: &str = r#"a MongoDB query is {"collection": "NAME", "find": {FILTER}, "projection": {...}, "sort": {...}, "limit": N, "skip": N}, {"collection": "NAME", "aggregate": [STAGES]}, {"collection": "NAME", "count": {FILTER}} or {"collection": "NAME", "distinct": "FIELD", "filter": {FILTER}}"#;

/// One read operation on one collection. `D` is the document type: JSON [`Document`]s as parsed, or whatever
/// [`MongoQuery::try_map_documents`] converts them to (the worker's BSON).
#[derive(Clone, Debug, PartialEq)]
pub struct MongoQuery<D = Document> {
    /// Not empty, no NUL, not starting with `$`. Policy on top (system collections) is the guardrail's.
    pub collection: String,
    pub operation: Operation<D>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Operation<D = Document> {
    /// `limit` and `skip` as written: MongoDB reads a limit of 0 as no limit.
    Find {
        filter: D,
        projection: Option<D>,
        sort: Option<D>,
        limit: Option<u64>,
        skip: Option<u64>,
    },
    /// The stages as written; what each stage holds is not checked here.
    Aggregate {
        pipeline: Vec<D>,
    },
    Count {
        filter: D,
    },
    /// `field` may be empty here; the worker refuses that, the guardrail leaves it to the worker.
    Distinct {
        field: String,
        filter: Option<D>,
    },
}

impl<D> Operation<D> {
    /// The key that names the operation: `find`, `aggregate`, `count` or `distinct`.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::Find { .. } => "find",
            Operation::Aggregate { .. } => "aggregate",
            Operation::Count { .. } => "count",
            Operation::Distinct { .. } => "distinct",
        }
    }
}

/// Why a text is not a query. The messages say what is wrong in the query's own words (they are the worker's
/// refusals); the guardrail maps each variant to its stable code and its own wording.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MongoQueryError {
    #[error("the query is not valid JSON ({0})")]
    NotJson(String),
    #[error("the query is not a JSON object")]
    NotAnObject,
    #[error("the query names no \"collection\"")]
    NoCollection,
    /// `collection` is there but is not a string.
    #[error("\"collection\" must be a collection name")]
    CollectionNotAString,
    /// A string that cannot name a collection: empty, with a NUL, or starting with `$`.
    #[error("\"collection\" must be a collection name")]
    CollectionName(String),
    /// None of the four operations; `first_key` is the first key beside `collection`, if any.
    #[error("{}", no_operation(.first_key.as_deref()))]
    NoOperation { first_key: Option<String> },
    #[error("the query has {0} operations; give exactly one")]
    SeveralOperations(usize),
    /// A key the operation does not take (the first one, in the order written).
    #[error("\"{key}\" has no place in a {operation} query")]
    UnexpectedKey { key: String, operation: &'static str },
    /// `find`, `projection`, `sort`, `count` or a distinct's `filter` is not a JSON object.
    #[error("\"{0}\" must be a JSON object")]
    NotADocument(&'static str),
    /// `limit` or `skip` is not a whole number, 0 or more.
    #[error("\"{0}\" must be a whole number, 0 or more")]
    NotACount(&'static str),
    #[error("\"aggregate\" must be an array of stages")]
    NotAPipeline,
    /// The stage at this index of the pipeline is not a JSON object.
    #[error("\"aggregate[{0}]\" must be a JSON object")]
    StageNotADocument(usize),
    #[error("\"distinct\" must be a field name")]
    NotAFieldName,
}

fn no_operation(first_key: Option<&str>) -> String {
    match first_key {
        None => "the query has no operation".into(),
        Some(key) => {
            format!("\"{key}\" is not an operation this connector runs: only find, aggregate, count and distinct")
        }
    }
}

/// Parses a query text. Anything but the four read operations, in the shapes above, is an error.
pub fn parse(text: &str) -> Result<MongoQuery, MongoQueryError> {
    let value: Value = serde_json::from_str(text).map_err(|err| MongoQueryError::NotJson(err.to_string()))?;
    MongoQuery::from_value(value)
}

impl MongoQuery {
    /// Reads a query from an already parsed JSON value. See [`parse`].
    pub fn from_value(value: Value) -> Result<MongoQuery, MongoQueryError> {
        use MongoQueryError as E;
        let Value::Object(mut fields) = value else { return Err(E::NotAnObject) };
        let collection = match fields.get("collection") {
            Some(Value::String(name)) if !name.is_empty() && !name.contains('\0') && !name.starts_with('$') => {
                name.clone()
            }
            Some(Value::String(name)) => return Err(E::CollectionName(name.clone())),
            Some(_) => return Err(E::CollectionNotAString),
            None => return Err(E::NoCollection),
        };
        let named: Vec<&'static str> = OPERATIONS.into_iter().filter(|op| fields.contains_key(*op)).collect();
        let operation = match named.as_slice() {
            [one] => *one,
            [] => {
                let first_key = fields.keys().find(|k| k.as_str() != "collection").cloned();
                return Err(E::NoOperation { first_key });
            }
            _ => return Err(E::SeveralOperations(named.len())),
        };
        let allowed: &[&str] = match operation {
            "find" => &["collection", "find", "projection", "sort", "limit", "skip"],
            "distinct" => &["collection", "distinct", "filter"],
            _ => &["collection", operation],
        };
        if let Some(key) = fields.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(E::UnexpectedKey { key: key.clone(), operation });
        }
        let operation = match operation {
            "find" => {
                let mut count = |key: &'static str| match fields.remove(key) {
                    None => Ok(None),
                    Some(value) => value.as_u64().map(Some).ok_or(E::NotACount(key)),
                };
                let (limit, skip) = (count("limit")?, count("skip")?);
                Operation::Find {
                    filter: document("find", fields.remove("find"))?.unwrap_or_default(),
                    projection: document("projection", fields.remove("projection"))?,
                    sort: document("sort", fields.remove("sort"))?,
                    limit,
                    skip,
                }
            }
            "aggregate" => {
                let Some(Value::Array(stages)) = fields.remove("aggregate") else { return Err(E::NotAPipeline) };
                let pipeline = stages
                    .into_iter()
                    .enumerate()
                    .map(|(i, stage)| match stage {
                        Value::Object(stage) => Ok(stage),
                        _ => Err(E::StageNotADocument(i)),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Operation::Aggregate { pipeline }
            }
            "count" => Operation::Count { filter: document("count", fields.remove("count"))?.unwrap_or_default() },
            _ => {
                let field = match fields.remove("distinct") {
                    Some(Value::String(field)) => field,
                    _ => return Err(E::NotAFieldName),
                };
                Operation::Distinct { field, filter: document("filter", fields.remove("filter"))? }
            }
        };
        Ok(MongoQuery { collection, operation })
    }

    /// The query as a JSON value: `collection`, the operation's key, then its options in the order above.
    pub fn to_value(&self) -> Value {
        let mut doc = Map::new();
        doc.insert("collection".into(), Value::String(self.collection.clone()));
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                doc.insert(key.into(), value);
            }
        };
        match &self.operation {
            Operation::Find { filter, projection, sort, limit, skip } => {
                put("find", Some(Value::Object(filter.clone())));
                put("projection", projection.clone().map(Value::Object));
                put("sort", sort.clone().map(Value::Object));
                put("limit", limit.map(Value::from));
                put("skip", skip.map(Value::from));
            }
            Operation::Aggregate { pipeline } => {
                put("aggregate", Some(Value::Array(pipeline.iter().cloned().map(Value::Object).collect())));
            }
            Operation::Count { filter } => put("count", Some(Value::Object(filter.clone()))),
            Operation::Distinct { field, filter } => {
                put("distinct", Some(Value::String(field.clone())));
                put("filter", filter.clone().map(Value::Object));
            }
        }
        Value::Object(doc)
    }

    /// The query as JSON text, which [`parse`] reads back to the same value.
    pub fn to_json(&self) -> String {
        self.to_value().to_string()
    }
}

impl<D> MongoQuery<D> {
    /// Converts every document with `f`, in the order written, stopping at the first error. `f` also gets the
    /// key that holds the document, for its messages: `find`, `projection`, `sort`, `aggregate[i]` (the stage
    /// at index `i`), `count` or a distinct's `filter`.
    pub fn try_map_documents<D2, E>(self, mut f: impl FnMut(&str, D) -> Result<D2, E>) -> Result<MongoQuery<D2>, E> {
        let operation = match self.operation {
            Operation::Find { filter, projection, sort, limit, skip } => Operation::Find {
                filter: f("find", filter)?,
                projection: projection.map(|p| f("projection", p)).transpose()?,
                sort: sort.map(|s| f("sort", s)).transpose()?,
                limit,
                skip,
            },
            Operation::Aggregate { pipeline } => Operation::Aggregate {
                pipeline: pipeline
                    .into_iter()
                    .enumerate()
                    .map(|(i, stage)| f(&format!("aggregate[{i}]"), stage))
                    .collect::<Result<Vec<_>, _>>()?,
            },
            Operation::Count { filter } => Operation::Count { filter: f("count", filter)? },
            Operation::Distinct { field, filter } => {
                Operation::Distinct { field, filter: filter.map(|d| f("filter", d)).transpose()? }
            }
        };
        Ok(MongoQuery { collection: self.collection, operation })
    }
}

impl fmt::Display for MongoQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_value())
    }
}

impl FromStr for MongoQuery {
    type Err = MongoQueryError;

    fn from_str(text: &str) -> Result<MongoQuery, MongoQueryError> {
        parse(text)
    }
}

/// `value` as a document, when present.
fn document(key: &'static str, value: Option<Value>) -> Result<Option<Document>, MongoQueryError> {
    match value {
        None => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(MongoQueryError::NotADocument(key)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> MongoQueryError {
        parse(text).expect_err(text)
    }

    #[test]
    fn the_four_operations_parse_and_write_back() {
        for text in [
            r#"{"collection":"o","find":{"a":{"$gte":1}},"projection":{"a":1},"sort":{"b":-1,"a":1},"limit":0,"skip":3}"#,
            r#"{"collection":"o","find":{}}"#,
            r#"{"collection":"o","aggregate":[{"$match":{}},{"$limit":5}]}"#,
            r#"{"collection":"o","count":{"a":null}}"#,
            r#"{"collection":"o","distinct":"a","filter":{"b":1}}"#,
            r#"{"collection":"o","distinct":""}"#,
        ] {
            let query = parse(text).unwrap();
            let json = |text: &str| serde_json::from_str::<Value>(text).unwrap();
            assert_eq!(json(&query.to_json()), json(text));
            assert_eq!(query.to_string().parse::<MongoQuery>(), Ok(query));
        }
        let find = parse(r#"{"find": {"x": 1}, "limit": 7, "collection": "o"}"#).unwrap();
        assert_eq!(find.collection, "o");
        assert!(matches!(find.operation, Operation::Find { limit: Some(7), skip: None, .. }));
    }

    #[test]
    fn documents_map_in_order_with_their_keys() {
        let keys = |text: &str| {
            let mut keys = Vec::new();
            let mapped = parse(text)
                .unwrap()
                .try_map_documents(|key, doc| {
                    keys.push(key.to_owned());
                    Ok::<_, ()>(doc.len())
                })
                .unwrap();
            (keys, mapped.operation)
        };
        let (find, op) = keys(r#"{"collection":"o","find":{"a":1},"sort":{"b":1,"c":1},"limit":0}"#);
        assert_eq!(find, ["find", "sort"]);
        assert_eq!(op, Operation::Find { filter: 1, projection: None, sort: Some(2), limit: Some(0), skip: None });
        let (aggregate, _) = keys(r#"{"collection":"o","aggregate":[{"$match":{}},{"$limit":5}]}"#);
        assert_eq!(aggregate, ["aggregate[0]", "aggregate[1]"]);
        let (distinct, op) = keys(r#"{"collection":"o","distinct":"a"}"#);
        assert_eq!((distinct.len(), op), (0, Operation::Distinct { field: "a".into(), filter: None }));
        let failed =
            parse(r#"{"collection":"o","count":{}}"#).unwrap().try_map_documents(|key, _| Err::<(), _>(key.to_owned()));
        assert_eq!(failed, Err("count".to_owned()));
    }

    #[test]
    fn everything_else_is_a_typed_error() {
        use MongoQueryError as E;
        assert!(matches!(error("SELECT 1"), E::NotJson(_)));
        assert_eq!(error("[]"), E::NotAnObject);
        assert_eq!(error(r#"{"find": {}}"#), E::NoCollection);
        assert_eq!(error(r#"{"collection": 1, "find": {}}"#), E::CollectionNotAString);
        assert_eq!(error(r#"{"collection": "$x", "find": {}}"#), E::CollectionName("$x".into()));
        assert_eq!(error(r#"{"collection": "o"}"#), E::NoOperation { first_key: None });
        assert_eq!(
            error(r#"{"collection": "o", "insert": [], "x": 1}"#),
            E::NoOperation { first_key: Some("insert".into()) }
        );
        assert_eq!(error(r#"{"collection": "o", "find": {}, "count": {}}"#), E::SeveralOperations(2));
        assert_eq!(
            error(r#"{"collection": "o", "count": {}, "filter": {}}"#),
            E::UnexpectedKey { key: "filter".into(), operation: "count" }
        );
        assert_eq!(error(r#"{"collection": "o", "find": {}, "sort": []}"#), E::NotADocument("sort"));
        assert_eq!(error(r#"{"collection": "o", "find": {}, "skip": -1}"#), E::NotACount("skip"));
        assert_eq!(error(r#"{"collection": "o", "aggregate": {}}"#), E::NotAPipeline);
        assert_eq!(error(r#"{"collection": "o", "aggregate": [{}, 1]}"#), E::StageNotADocument(1));
        assert_eq!(error(r#"{"collection": "o", "distinct": 1}"#), E::NotAFieldName);
        assert_eq!(error(r#"{"collection": "o", "distinct": "a", "filter": null}"#), E::NotADocument("filter"));
    }
}
