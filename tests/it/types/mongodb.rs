//! MongoDB's types through the real `psiq`, broker and worker: ObjectIds, Decimal128, dates, binary subtypes,
//! nested documents flattened into dotted columns and arrays as JSON, read back exactly.

use mongodb::bson::oid::ObjectId;
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{Binary, Bson, DateTime, Decimal128, doc};
use serde_json::json;

use super::{expect_columns, expect_rows};
use crate::servers::MongoDb;
use crate::support::Profile;

/// A scratch database for this module's test.
fn scratch() -> MongoDb {
    MongoDb::new("psiq_types_mongo")
}

/// Adds `db` to `p` as the source `m`.
fn add(db: &MongoDb, p: &Profile) {
    p.ok(&["source", "add", "m", "--kind", "mongodb", "--url", &db.url()]);
}

fn decimal(text: &str) -> Bson {
    Bson::Decimal128(text.parse::<Decimal128>().expect("decimal"))
}

#[test]
fn mongodb_values_of_every_type_are_exact_and_documents_flatten() {
    let db = scratch();
    let id = |n: u8| ObjectId::from_bytes([0x65, 0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, n]);
    let at = |iso: &str| DateTime::parse_rfc3339_str(iso).expect("date");
    let uuid = Binary { subtype: BinarySubtype::Uuid, bytes: (0u8..16).collect() };
    let deep = doc! { "l2": { "l3": { "l4": { "l5": { "l6": { "l7": { "l8": { "l9": 1 } } } } } } } };
    db.insert(
        "kinds",
        vec![
            doc! {
                "_id": id(1), "i32": i32::MIN, "i64": i64::MIN, "f": 1.5, "dec": decimal("1234567890123456789012345678901234"),
                "b": true, "s": "héllo wörld ✓ 日本語 😀", "at": at("2024-02-29T23:59:58.123Z"), "u": uuid.clone(),
                "bin": Binary { subtype: BinarySubtype::Generic, bytes: vec![0, 255, 16] },
                "address": { "city": "Lisbon", "geo": { "lat": 38.7, "lon": -9.1 } },
                "tags": ["a", "b"], "items": [{ "sku": "x", "at": at("2024-01-01T00:00:00Z") }], "deep": deep,
            },
            doc! {
                "_id": id(2), "i32": 0, "i64": i64::MAX, "f": f64::NAN, "dec": decimal("1.5E+3"), "b": false, "s": "",
                "at": at("1969-12-31T23:59:59.999Z"), "u": Bson::Null, "bin": Binary { subtype: BinarySubtype::Generic, bytes: vec![] },
                "address": { "city": "", "geo": Bson::Null }, "tags": [], "items": Bson::Null, "deep": {},
            },
            doc! {
                "_id": id(3), "f": f64::INFINITY, "dec": decimal("1E-7"), "s": Bson::Null, "address": "unknown",
            },
            doc! { "_id": id(4), "f": f64::NEG_INFINITY, "dec": decimal("-0.10"), "address": {} },
        ],
    );
    let p = Profile::new();
    add(&db, &p);
    let run = p.query("m", r#"{"collection": "kinds", "find": {}, "sort": {"_id": 1}}"#);
    // Nested documents become dotted columns where they first appear, a path's own values (a string, `{}`) in a
    // column before its fields; arrays, and the remainder below the inference depth (8 levels), are JSON text.
    expect_columns(
        &run,
        &[
            ("_id", "objectId", "text"),
            ("i32", "int", "int"),
            ("i64", "long", "int"),
            ("f", "double", "float"),
            ("dec", "decimal", "decimal"),
            ("b", "bool", "bool"),
            ("s", "string", "text"),
            ("at", "date", "timestamp_tz"),
            ("u", "uuid", "uuid"),
            ("bin", "binData", "bytes"),
            ("address", "string|object", "text"),
            ("address.city", "string", "text"),
            ("address.geo.lat", "double", "float"),
            ("address.geo.lon", "double", "float"),
            ("tags", "array", "json"),
            ("items", "array", "json"),
            ("deep", "object", "json"),
            ("deep.l2.l3.l4.l5.l6.l7.l8", "object", "json"),
        ],
    );
    expect_rows(
        &run,
        &[
            json!({"_id": "65a000000000000000000001", "i32": i32::MIN, "i64": i64::MIN, "f": 1.5,
                   "dec": "1234567890123456789012345678901234", "b": true, "s": "héllo wörld ✓ 日本語 😀",
                   "at": "2024-02-29 23:59:58.123000", "u": "00010203-0405-0607-0809-0a0b0c0d0e0f",
                   "bin": "\\x00ff10", "address": null, "address.city": "Lisbon", "address.geo.lat": 38.7,
                   "address.geo.lon": -9.1, "tags": r#"["a","b"]"#,
                   "items": r#"[{"sku":"x","at":{"$date":"2024-01-01T00:00:00Z"}}]"#, "deep": null,
                   "deep.l2.l3.l4.l5.l6.l7.l8": r#"{"l9":1}"#}),
            json!({"_id": "65a000000000000000000002", "i32": 0, "i64": i64::MAX, "f": "NaN", "dec": "1500",
                   "b": false, "s": "", "at": "1969-12-31 23:59:59.999000", "u": null, "bin": "\\x",
                   "address": null, "address.city": "", "address.geo.lat": null, "address.geo.lon": null,
                   "tags": "[]", "items": null, "deep": "{}", "deep.l2.l3.l4.l5.l6.l7.l8": null}),
            json!({"_id": "65a000000000000000000003", "i32": null, "i64": null, "f": "Infinity", "dec": "0.0000001",
                   "b": null, "s": null, "at": null, "u": null, "bin": null, "address": "unknown",
                   "address.city": null, "address.geo.lat": null, "address.geo.lon": null, "tags": null,
                   "items": null, "deep": null, "deep.l2.l3.l4.l5.l6.l7.l8": null}),
            json!({"_id": "65a000000000000000000004", "i32": null, "i64": null, "f": "-Infinity", "dec": "-0.10",
                   "b": null, "s": null, "at": null, "u": null, "bin": null, "address": "{}",
                   "address.city": null, "address.geo.lat": null, "address.geo.lon": null, "tags": null,
                   "items": null, "deep": null, "deep.l2.l3.l4.l5.l6.l7.l8": null}),
        ],
    );

    // A projection of nested fields flattens the same way, and an aggregate's grouped `_id` document too.
    let run = p.query(
        "m",
        r#"{"collection": "kinds", "find": {"address.city": "Lisbon"}, "projection": {"_id": 0, "address.geo": 1}}"#,
    );
    expect_rows(&run, &[json!({"address.geo.lat": 38.7, "address.geo.lon": -9.1})]);
    let run = p.query(
        "m",
        r#"{"collection": "kinds", "aggregate": [{"$match": {"b": {"$exists": true}}},
            {"$group": {"_id": {"b": "$b", "city": "$address.city"}, "n": {"$sum": 1}}}, {"$sort": {"_id.b": 1}}]}"#,
    );
    expect_columns(&run, &[("_id.b", "bool", "bool"), ("_id.city", "string", "text"), ("n", "int", "int")]);
    expect_rows(
        &run,
        &[json!({"_id.b": false, "_id.city": "", "n": 1}), json!({"_id.b": true, "_id.city": "Lisbon", "n": 1})],
    );
}
