//! The MongoDB guardrail. A Mongo query is a JSON document:
//! `{"collection": "orders", "find": {..filter}, "projection": {..}, "sort": {..}, "limit": 100, "skip": 0}`,
//! `{"collection": "orders", "aggregate": [..stages]}`, `{"collection": "orders", "count": {..filter}}` or
//! `{"collection": "orders", "distinct": "field", "filter": {..}}`.
//! The grammar is parsed once, by [`polystoreiq_protocol::mongo`]; this module judges the parsed query and
//! maps a parse error to its code.
//!
//! Only those four operations exist. Aggregation stages come from an allow-list, checked recursively through
//! `$lookup`, `$facet`, `$unionWith` and `$graphLookup`; operators that run JavaScript are refused wherever they
//! appear; lookups stay in the source's database; `$sample` and limits are bounded.

use polystoreiq_protocol::mongo::{self, MongoQueryError, Operation};
use serde_json::{Map, Value};

use super::{Code, Verdict};

/// The largest `limit`, `$limit` or `$sample` size a query may ask for.
pub(super) const MAX_LIMIT: u64 = 1_000_000;
const MAX_SAMPLE: u64 = 10_000;
const MAX_STAGES: usize = 100;

/// Stages that only read and reshape documents of the source's database.
const STAGES: &[&str] = &[
    "$match",
    "$project",
    "$addFields",
    "$set",
    "$unset",
    "$group",
    "$sort",
    "$limit",
    "$skip",
    "$unwind",
    "$lookup",
    "$count",
    "$facet",
    "$bucket",
    "$bucketAuto",
    "$sortByCount",
    "$replaceRoot",
    "$replaceWith",
    "$sample",
    "$unionWith",
    "$graphLookup",
    "$setWindowFields",
    "$densify",
    "$fill",
    "$redact",
];

/// Operators that run server-side JavaScript.
const JAVASCRIPT: &[&str] = &["$where", "$function", "$accumulator"];

/// Every operator a read-only query may use: query and projection operators, aggregation expression operators,
/// accumulators and window operators, as MongoDB 8.0 documents them. A `$` key that is not listed is refused, and
/// so is every key beginning `$_` (the server's internal operators, some of which run JavaScript:
/// `$_internalJsEmit`, `$_internalJsReduce`).
const OPERATORS: &[&str] = &[
    // Query: comparison, logical, element, evaluation, array, bitwise, geospatial, projection, miscellaneous.
    "$eq",
    "$gt",
    "$gte",
    "$in",
    "$lt",
    "$lte",
    "$ne",
    "$nin",
    "$and",
    "$not",
    "$nor",
    "$or",
    "$exists",
    "$type",
    "$expr",
    "$jsonSchema",
    "$mod",
    "$regex",
    "$options",
    "$text",
    "$search",
    "$language",
    "$caseSensitive",
    "$diacriticSensitive",
    "$all",
    "$elemMatch",
    "$size",
    "$bitsAllClear",
    "$bitsAllSet",
    "$bitsAnyClear",
    "$bitsAnySet",
    "$geoIntersects",
    "$geoWithin",
    "$near",
    "$nearSphere",
    "$box",
    "$center",
    "$centerSphere",
    "$geometry",
    "$maxDistance",
    "$minDistance",
    "$polygon",
    "$slice",
    "$meta",
    "$comment",
    "$rand",
    "$sampleRate",
    // Arithmetic.
    "$abs",
    "$add",
    "$ceil",
    "$divide",
    "$exp",
    "$floor",
    "$ln",
    "$log",
    "$log10",
    "$multiply",
    "$pow",
    "$round",
    "$sqrt",
    "$subtract",
    "$trunc",
    // Array.
    "$arrayElemAt",
    "$arrayToObject",
    "$concatArrays",
    "$filter",
    "$first",
    "$firstN",
    "$indexOfArray",
    "$isArray",
    "$last",
    "$lastN",
    "$map",
    "$maxN",
    "$minN",
    "$objectToArray",
    "$range",
    "$reduce",
    "$reverseArray",
    "$sortArray",
    "$zip",
    // Boolean, comparison, conditional.
    "$cmp",
    "$cond",
    "$ifNull",
    "$switch",
    // Dates.
    "$dateAdd",
    "$dateDiff",
    "$dateFromParts",
    "$dateFromString",
    "$dateSubtract",
    "$dateToParts",
    "$dateToString",
    "$dateTrunc",
    "$dayOfMonth",
    "$dayOfWeek",
    "$dayOfYear",
    "$hour",
    "$isoDayOfWeek",
    "$isoWeek",
    "$isoWeekYear",
    "$millisecond",
    "$minute",
    "$month",
    "$second",
    "$toDate",
    "$week",
    "$year",
    // Literals, objects, sets, variables.
    "$literal",
    "$getField",
    "$mergeObjects",
    "$setField",
    "$unsetField",
    "$allElementsTrue",
    "$anyElementTrue",
    "$setDifference",
    "$setEquals",
    "$setIntersection",
    "$setIsSubset",
    "$setUnion",
    "$let",
    // Strings.
    "$concat",
    "$indexOfBytes",
    "$indexOfCP",
    "$ltrim",
    "$regexFind",
    "$regexFindAll",
    "$regexMatch",
    "$replaceOne",
    "$replaceAll",
    "$rtrim",
    "$split",
    "$strLenBytes",
    "$strLenCP",
    "$strcasecmp",
    "$substr",
    "$substrBytes",
    "$substrCP",
    "$toLower",
    "$toString",
    "$trim",
    "$toUpper",
    // Trigonometry.
    "$sin",
    "$cos",
    "$tan",
    "$asin",
    "$acos",
    "$atan",
    "$atan2",
    "$asinh",
    "$acosh",
    "$atanh",
    "$sinh",
    "$cosh",
    "$tanh",
    "$degreesToRadians",
    "$radiansToDegrees",
    // Types.
    "$convert",
    "$isNumber",
    "$toBool",
    "$toDecimal",
    "$toDouble",
    "$toInt",
    "$toLong",
    "$toObjectId",
    "$toUUID",
    "$binarySize",
    "$bsonSize",
    // Accumulators and window operators.
    "$addToSet",
    "$avg",
    "$bottom",
    "$bottomN",
    "$count",
    "$max",
    "$median",
    "$min",
    "$percentile",
    "$push",
    "$stdDevPop",
    "$stdDevSamp",
    "$sum",
    "$top",
    "$topN",
    "$covariancePop",
    "$covarianceSamp",
    "$denseRank",
    "$derivative",
    "$documentNumber",
    "$expMovingAvg",
    "$integral",
    "$linearFill",
    "$locf",
    "$rank",
    "$shift",
    // Extended JSON's type wrappers for values (`{"$date": ...}`, `{"$oid": ...}`); `$code` (JavaScript) is not one.
    "$date",
    "$oid",
    "$numberInt",
    "$numberLong",
    "$numberDouble",
    "$numberDecimal",
    "$timestamp",
    "$binary",
    "$uuid",
    "$regularExpression",
    "$minKey",
    "$maxKey",
];

type Checked = Result<(), Verdict>;

/// Whether `key` is on [`OPERATORS`] (a set built once: a pipeline can hold thousands of operator keys).
fn operator_listed(key: &str) -> bool {
    static SET: std::sync::OnceLock<std::collections::HashSet<&'static str>> = std::sync::OnceLock::new();
    SET.get_or_init(|| OPERATORS.iter().copied().collect()).contains(key)
}

fn deny(code: Code, reason: impl Into<String>) -> Checked {
    Err(Verdict::deny(code, reason))
}

pub(super) fn check(query: &str) -> Checked {
    let query = mongo::parse(query).map_err(refusal)?;
    collection_name(&query.collection)?;
    match &query.operation {
        Operation::Find { filter, projection, sort, limit, skip } => {
            for document in [Some(filter), projection.as_ref(), sort.as_ref()].into_iter().flatten() {
                operators_in(document)?;
            }
            for (value, key) in [(limit, "limit"), (skip, "skip")] {
                if let Some(n) = value {
                    at_most(*n, key, MAX_LIMIT)?;
                }
            }
            Ok(())
        }
        Operation::Aggregate { pipeline } => {
            stage_count(pipeline.len())?;
            pipeline.iter().try_for_each(stage_document)
        }
        Operation::Count { filter } => operators_in(filter),
        Operation::Distinct { filter, .. } => filter.as_ref().map_or(Ok(()), operators_in),
    }
}

/// The guardrail's code and wording for a text that is not a query at all.
pub(super) fn refusal(error: MongoQueryError) -> Verdict {
    use MongoQueryError as E;
    let (code, reason) = match error {
        E::NotJson(err) => (Code::MongoInvalid, format!("the query is not valid JSON: {err}")),
        E::NotAnObject => {
            (Code::MongoInvalid, "a Mongo query is a JSON object with a collection and one operation".into())
        }
        E::NoCollection | E::CollectionNotAString => {
            (Code::MongoInvalid, "name the collection: {\"collection\": \"orders\", ...}".into())
        }
        E::CollectionName(name) => (Code::MongoInvalid, format!("{name:?} is not a collection name")),
        E::NoOperation { .. } => (Code::MongoOperation, "only find, aggregate, count and distinct may run".into()),
        E::SeveralOperations(_) => (Code::MongoOperation, "exactly one of find, aggregate, count or distinct".into()),
        E::UnexpectedKey { key, operation } => {
            (Code::MongoOperation, format!("{key:?} is not part of a read-only {operation}"))
        }
        E::NotADocument(key) => (Code::MongoInvalid, format!("{key} must be a JSON object")),
        E::NotACount(key) => (Code::MongoInvalid, format!("{key} must be a non-negative whole number")),
        E::NotAPipeline => (Code::MongoInvalid, "aggregate takes an array of stages".into()),
        E::StageNotADocument(_) => {
            (Code::MongoInvalid, "each aggregation stage is an object with exactly one $stage key".into())
        }
        E::NotAFieldName => (Code::MongoInvalid, "distinct takes a field name".into()),
    };
    Verdict::deny(code, reason)
}

fn collection_name(name: &str) -> Checked {
    if name.is_empty() || name.contains('$') || name.contains('\0') {
        return deny(Code::MongoInvalid, format!("{name:?} is not a collection name"));
    }
    if name.starts_with("system.") {
        return deny(Code::SensitiveCatalog, format!("{name} is a system collection"));
    }
    Ok(())
}

fn bounded(value: &Value, what: &str, max: u64) -> Checked {
    match value.as_u64() {
        Some(n) => at_most(n, what, max),
        None => deny(Code::MongoInvalid, format!("{what} must be a non-negative whole number")),
    }
}

fn at_most(n: u64, what: &str, max: u64) -> Checked {
    if n <= max { Ok(()) } else { deny(Code::MongoLimit, format!("{what} {n} is over the maximum of {max}")) }
}

/// Refuses JavaScript operators anywhere inside `value`.
fn operators(value: &Value) -> Checked {
    match value {
        Value::Object(map) => operators_in(map),
        Value::Array(items) => items.iter().try_for_each(operators),
        _ => Ok(()),
    }
}

/// [`operators`] for a document: every key, at every depth, is a field name or an allowed operator.
fn operators_in(map: &Map<String, Value>) -> Checked {
    for (key, inner) in map {
        if JAVASCRIPT.contains(&key.as_str()) {
            return deny(Code::MongoOperator, format!("{key} runs JavaScript on the server; not allowed"));
        }
        if key == "$out" || key == "$merge" {
            return deny(Code::MongoStage, format!("{key} writes to a collection; not allowed"));
        }
        if matches!(key.as_str(), "$currentOp" | "$listSessions" | "$listLocalSessions") {
            return deny(Code::MongoStage, format!("{key} reads other sessions' operations; not allowed"));
        }
        if key.starts_with("$_") {
            return deny(
                Code::MongoOperator,
                format!("{key} is one of the server's internal operators; not allowed in a query"),
            );
        }
        if key.starts_with('$') && !operator_listed(key) {
            return deny(Code::MongoOperator, format!("{key} is not an operator a read-only query may use"));
        }
        operators(inner)?;
    }
    Ok(())
}

fn stage_count(stages: usize) -> Checked {
    if stages > MAX_STAGES {
        return deny(Code::MongoLimit, format!("{stages} stages; the maximum is {MAX_STAGES}"));
    }
    Ok(())
}

/// A sub-pipeline (of `$lookup`, `$facet`, `$unionWith`), still raw JSON inside the parsed query.
fn pipeline(stages: &[Value]) -> Checked {
    stage_count(stages.len())?;
    stages.iter().try_for_each(stage)
}

fn stage(value: &Value) -> Checked {
    match value.as_object() {
        Some(stage) => stage_document(stage),
        None => deny(Code::MongoInvalid, "each aggregation stage is an object with exactly one $stage key"),
    }
}

fn stage_document(stage: &Map<String, Value>) -> Checked {
    let Some((name, body)) = Some(stage).filter(|m| m.len() == 1).and_then(|m| m.iter().next()) else {
        return deny(Code::MongoInvalid, "each aggregation stage is an object with exactly one $stage key");
    };
    let name = name.as_str();
    match name {
        "$out" | "$merge" => return deny(Code::MongoStage, format!("{name} writes to a collection; not allowed")),
        "$currentOp" | "$listSessions" | "$listLocalSessions" => {
            return deny(Code::MongoStage, format!("{name} reads other sessions' operations; not allowed"));
        }
        _ if !STAGES.contains(&name) => {
            return deny(Code::MongoStage, format!("{name} is not an allowed read-only stage"));
        }
        _ => {}
    }
    const OBJECT_BODIES: &[&str] = &[
        "$match",
        "$project",
        "$addFields",
        "$set",
        "$group",
        "$sort",
        "$lookup",
        "$facet",
        "$bucket",
        "$bucketAuto",
        "$replaceRoot",
        "$sample",
        "$graphLookup",
        "$setWindowFields",
        "$densify",
        "$fill",
    ];
    if OBJECT_BODIES.contains(&name) && !body.is_object() {
        return deny(Code::MongoInvalid, format!("{name} takes an object"));
    }
    match name {
        "$lookup" => {
            let spec = body.as_object().ok_or_else(|| Verdict::deny(Code::MongoInvalid, "$lookup takes an object"))?;
            known_keys(spec, "$lookup", &["from", "localField", "foreignField", "as", "let", "pipeline"])?;
            same_database(spec.get("from"), "$lookup")?;
            sub_pipeline(spec)?;
            operators_except(spec, "pipeline")
        }
        "$graphLookup" => {
            let spec =
                body.as_object().ok_or_else(|| Verdict::deny(Code::MongoInvalid, "$graphLookup takes an object"))?;
            known_keys(
                spec,
                "$graphLookup",
                &[
                    "from",
                    "startWith",
                    "connectFromField",
                    "connectToField",
                    "as",
                    "maxDepth",
                    "depthField",
                    "restrictSearchWithMatch",
                ],
            )?;
            same_database(spec.get("from"), "$graphLookup")?;
            operators(body)
        }
        "$unionWith" => match body {
            Value::String(_) => same_database(Some(body), "$unionWith"),
            Value::Object(spec) => {
                known_keys(spec, "$unionWith", &["coll", "pipeline"])?;
                same_database(spec.get("coll"), "$unionWith")?;
                sub_pipeline(spec)?;
                operators_except(spec, "pipeline")
            }
            _ => deny(Code::MongoInvalid, "$unionWith takes a collection name or an object"),
        },
        "$facet" => {
            let facets = body.as_object().ok_or_else(|| Verdict::deny(Code::MongoInvalid, "$facet takes an object"))?;
            for (output, inner) in facets {
                if output.starts_with('$') {
                    return deny(Code::MongoInvalid, format!("a $facet output cannot be named {output:?}"));
                }
                match inner {
                    Value::Array(stages) => pipeline(stages)?,
                    _ => return deny(Code::MongoInvalid, "each $facet output is an array of stages"),
                }
            }
            Ok(())
        }
        "$limit" => bounded(body, "$limit", MAX_LIMIT),
        "$sample" => match body.as_object().filter(|spec| spec.len() == 1).and_then(|spec| spec.get("size")) {
            Some(size) => bounded(size, "$sample size", MAX_SAMPLE),
            None => deny(Code::MongoInvalid, "$sample takes exactly {\"size\": n}"),
        },
        _ => operators(body),
    }
}

/// A lookup's target: a collection name in the source's database. MongoDB 8's `{db, coll}` form reaches
/// another database and is refused.
fn same_database(target: Option<&Value>, stage: &str) -> Checked {
    match target {
        Some(Value::String(name)) => collection_name(name),
        Some(Value::Object(_)) => {
            deny(Code::MongoCrossDatabase, format!("{stage} may only read collections of this source's database"))
        }
        _ => deny(Code::MongoInvalid, format!("{stage} needs a collection name")),
    }
}

/// A stage's specification may hold only the keys MongoDB documents for it.
fn known_keys(spec: &Map<String, Value>, stage: &str, keys: &[&str]) -> Checked {
    match spec.keys().find(|k| !keys.contains(&k.as_str())) {
        Some(key) => deny(Code::MongoInvalid, format!("{stage} has no option {key:?}")),
        None => Ok(()),
    }
}

fn sub_pipeline(spec: &Map<String, Value>) -> Checked {
    match spec.get("pipeline") {
        None => Ok(()),
        Some(Value::Array(stages)) => pipeline(stages),
        Some(_) => deny(Code::MongoInvalid, "a sub-pipeline is an array of stages"),
    }
}

fn operators_except(spec: &Map<String, Value>, skip: &str) -> Checked {
    spec.iter().filter(|(k, _)| k.as_str() != skip).try_for_each(|(_, v)| operators(v))
}
