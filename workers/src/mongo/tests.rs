//! The MongoDB connector's unit tests: cancelling by comment, the query language, field inference, result
//! columns and values.

use super::cancel::*;
use super::decode::*;
use super::metadata::*;
use super::parse::*;
use super::table::*;
use super::*;
use mongodb::bson::Bson;
use polystoreiq_protocol::types::{ColumnValues, LogicalType};

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
    let Operation::Find { filter, sort, limit, projection, .. } = find.operation else { panic!("not a find") };
    assert!(matches!(filter.get_document("at").unwrap().get("$gte"), Some(Bson::DateTime(_))));
    assert_eq!((sort, limit, projection), (Some(doc! { "a": -1 }), Some(5), None));
    assert!(matches!(parse_query(r#"{"collection": "o", "count": {}}"#).unwrap().operation, Operation::Count { .. }));
    assert!(matches!(
        parse_query(r#"{"collection": "o", "distinct": "a", "filter": {"b": 1}}"#).unwrap().operation,
        Operation::Distinct { .. }
    ));
    let zero = parse_query(r#"{"collection": "o", "find": {}, "limit": 0, "skip": 0}"#).unwrap();
    assert!(matches!(zero.operation, Operation::Find { limit: None, skip: None, .. }));
    let distinct = parse_query(r#"{"collection": "o", "distinct": "a"}"#).unwrap();
    assert_eq!(distinct.operation, Operation::Distinct { field: "a".into(), filter: Some(doc! {}) });
    assert!(refused(r#"{"collection": "o", "distinct": ""}"#).contains("must be a field name"));
    assert!(refused(r#"{"collection": "o", "count": {"$x": {"$date": []}}}"#).contains("\"count\" is not valid"));
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
