//! MongoDB sources end to end, against the MongoDB-wire-compatible test server that `scripts/services` starts
//! (SecantusDB on 127.0.0.1:37017, and with access control on :37018): registered, tested, described and queried
//! through the real CLI, broker and worker, credentials and roles included; and, with no broker in front, what
//! the connector itself refuses (write stages, operations other than the four reads) and that every operation
//! carries `maxTimeMS`.
//!
//! Each test seeds its own database (`psiq_t_<pid>_<n>`) with the `mongodb` crate and drops it at the end.

use std::future::IntoFuture;
use std::time::{Duration, Instant};

use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, DateTime, Decimal128, Document, doc};
use polystoreiq_protocol::types::{ColumnValues, DbTarget, SourceKind, TlsMode};
use polystoreiq_protocol::worker::{DbAction, DbJob, FromWorker, Job, WorkerError};
use serde_json::{Value, json};

use crate::servers::{MONGO_PORT, MongoDb};
use crate::support::{Profile, WorkerRun, run_worker_job};

const HOST: &str = "127.0.0.1";
const PORT: u16 = MONGO_PORT;

/// A database of its own on the test server, dropped when the test ends.
struct TestDb {
    db: MongoDb,
}

impl TestDb {
    fn new() -> TestDb {
        TestDb { db: MongoDb::new("psiq_t") }
    }

    /// Runs one driver action to its end.
    fn wait<F: IntoFuture>(&self, action: F) -> F::Output {
        self.db.wait(action)
    }

    fn url(&self) -> String {
        self.db.url()
    }

    fn db(&self) -> mongodb::Database {
        self.db.database()
    }

    fn insert(&self, collection: &str, docs: Vec<Document>) {
        self.db.insert(collection, docs);
    }

    fn command(&self, command: Document) {
        self.wait(self.db().run_command(command)).expect("seed command");
    }

    fn collections(&self) -> Vec<String> {
        let mut names = self.wait(self.db().list_collection_names()).expect("list collections");
        names.sort();
        names
    }

    /// Every document of a collection, in `_id` order.
    fn documents(&self, collection: &str) -> Vec<Document> {
        self.wait(async {
            let coll = self.db().collection::<Document>(collection);
            let mut cursor = coll.find(doc! {}).sort(doc! { "_id": 1 }).await?;
            let mut docs = Vec::new();
            while cursor.advance().await? {
                docs.push(cursor.deserialize_current()?);
            }
            Ok::<_, mongodb::error::Error>(docs)
        })
        .expect("read back")
    }

    /// A worker job on this database, as the broker would send it (no password: the server runs without auth).
    fn job(&self, action: DbAction) -> Job {
        Job::Database(DbJob {
            kind: SourceKind::Mongodb,
            target: DbTarget {
                host: HOST.into(),
                port: PORT,
                database: self.db.name().to_owned(),
                user: String::new(),
                tls: TlsMode::Prefer,
            },
            password: None,
            action,
        })
    }

    /// Runs one query in a real worker with no broker, and so no guardrail, in front of it.
    fn worker_query(&self, query: &Value, timeout_ms: u64, batch_rows: u32) -> WorkerRun {
        let action = DbAction::Query { sql: query.to_string(), row_limit: 1000, batch_rows, timeout_ms };
        run_worker_job(self.job(action))
    }
}

fn oid(n: u8) -> ObjectId {
    ObjectId::from_bytes([0x65, 0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, n])
}

fn at(iso: &str) -> DateTime {
    DateTime::parse_rfc3339_str(iso).expect("date")
}

fn seed_shop(db: &TestDb) {
    db.insert(
        "customers",
        vec![
            doc! { "_id": 1, "name": "Ada", "address": { "city": "London", "zip": "N1" }, "vip": true },
            doc! { "_id": 2, "name": "Bob", "address": { "city": "Paris" } },
            doc! { "_id": 3, "name": "Cy", "address": { "city": "London", "zip": "E2" }, "vip": Bson::Null },
        ],
    );
    let order = |n: u8, customer: i32, qty: i32, total: &str, when: &str, items: Vec<Bson>| {
        doc! {
            "_id": oid(n), "customer": customer, "qty": qty, "total": total.parse::<Decimal128>().unwrap(),
            "at": at(when), "items": items,
        }
    };
    let item = |sku: &str| Bson::Document(doc! { "sku": sku });
    db.insert(
        "orders",
        vec![
            order(1, 1, 2, "12.50", "2024-01-05T10:00:00Z", vec![item("a"), item("b")]),
            order(2, 1, 1, "0.10", "2024-02-01T00:00:00Z", vec![item("a")]),
            order(3, 2, 5, "100.00", "2024-03-01T08:30:00Z", vec![]),
            order(4, 3, 3, "7.25", "2024-03-02T00:00:00Z", vec![item("c")]),
        ],
    );
}

/// The first page of a run as (column names, rows as JSON objects).
fn page(summary: &Value) -> (Vec<String>, Vec<Value>) {
    let page = &summary["first_page"];
    let names = page["columns"].as_array().expect("columns").iter().map(|c| c["name"].as_str().unwrap().into());
    (names.collect(), page["rows"].as_array().expect("rows").clone())
}

fn field<'a>(table: &'a Value, name: &str) -> &'a Value {
    table["columns"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("{name}"))
}

#[test]
fn a_mongodb_source_is_tested_described_and_queried_through_psiq() {
    let db = TestDb::new();
    seed_shop(&db);
    let p = Profile::new();
    let added = p.ok(&["source", "add", "m", "--kind", "mongodb", "--url", &db.url()]);
    assert_eq!(added["status"], "CONNECTED", "{added}");
    // The server runs without access control: anyone can write, and the source says so.
    assert_eq!(added["can_write"], true, "{added}");
    let tested = p.ok(&["source", "test", "m"]);
    assert_eq!(tested["ok"], true, "{tested}");

    let schema = p.ok(&["schema", "m"]);
    let tables: Vec<&str> = schema["tables"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(tables, ["customers", "orders"]);
    let customers = &schema["tables"][0];
    assert_eq!((&customers["kind"], &customers["row_count"]), (&json!("collection"), &json!(3)));
    let described: Vec<(String, String, String, bool)> = customers["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap().to_owned();
            (s("name"), s("db_type"), s("logical"), c["nullable"].as_bool().unwrap())
        })
        .collect();
    let want = [
        ("_id", "int", "int", false),
        ("name", "string", "text", false),
        ("address", "object", "json", false),
        ("address.city", "string", "text", false),
        ("address.zip", "string", "text", true),
        ("vip", "bool", "bool", true),
    ];
    assert_eq!(described, want.map(|(n, t, l, b)| (n.to_owned(), t.to_owned(), l.to_owned(), b)));
    let orders = &schema["tables"][1];
    assert_eq!(field(orders, "_id")["db_type"], "objectId");
    assert_eq!(
        (&field(orders, "total")["db_type"], &field(orders, "total")["logical"]),
        (&json!("decimal"), &json!("decimal"))
    );
    assert_eq!(
        (&field(orders, "at")["db_type"], &field(orders, "at")["logical"]),
        (&json!("date"), &json!("timestamp_tz"))
    );
    assert_eq!(field(orders, "items")["db_type"], "array");
    // A field of the documents inside an array, absent where the array is empty.
    assert_eq!(
        (&field(orders, "items.sku")["db_type"], &field(orders, "items.sku")["nullable"]),
        (&json!("string"), &json!(true))
    );

    // find: filter on a nested field, projection, sort, limit.
    let find = json!({"collection": "customers", "find": {"address.city": "London"}, "projection": {"name": 1},
                      "sort": {"name": -1}, "limit": 5});
    let (columns, rows) = page(&p.query("m", &find.to_string()));
    assert_eq!(columns, ["_id", "name"]);
    assert_eq!(rows, [json!({"_id": 3, "name": "Cy"}), json!({"_id": 1, "name": "Ada"})]);

    // Extended JSON in the filter; ObjectIds as hex, Decimal128 exact, dates as timestamps, arrays as JSON.
    let find = json!({"collection": "orders", "find": {"at": {"$gte": {"$date": "2024-02-01T00:00:00Z"}}},
                      "sort": {"at": 1}, "limit": 2});
    let (columns, rows) = page(&p.query("m", &find.to_string()));
    assert_eq!(columns, ["_id", "customer", "qty", "total", "at", "items"]);
    assert_eq!(
        rows,
        [
            json!({"_id": "65a000000000000000000002", "customer": 1, "qty": 1, "total": "0.10",
                   "at": "2024-02-01 00:00:00", "items": r#"[{"sku":"a"}]"#}),
            json!({"_id": "65a000000000000000000003", "customer": 2, "qty": 5, "total": "100.00",
                   "at": "2024-03-01 08:30:00", "items": "[]"}),
        ]
    );
    // A field missing from a document is NULL.
    let find = json!({"collection": "customers", "find": {}, "projection": {"vip": 1}, "sort": {"_id": 1}});
    let (_, rows) = page(&p.query("m", &find.to_string()));
    assert_eq!(rows, [json!({"_id": 1, "vip": true}), json!({"_id": 2, "vip": null}), json!({"_id": 3, "vip": null})]);

    // aggregate: $group and $sort, with a $lookup into another collection of the same database.
    let aggregate = json!({"collection": "orders", "aggregate": [
        {"$group": {"_id": "$customer", "orders": {"$sum": 1}, "qty": {"$sum": "$qty"}}},
        {"$lookup": {"from": "customers", "localField": "_id", "foreignField": "_id", "as": "c"}},
        {"$unwind": "$c"},
        {"$project": {"_id": 0, "name": "$c.name", "orders": 1, "qty": 1}},
        {"$sort": {"qty": -1, "name": 1}}
    ]});
    let (_, rows) = page(&p.query("m", &aggregate.to_string()));
    let got: Vec<(Value, Value, Value)> =
        rows.iter().map(|r| (r["name"].clone(), r["orders"].clone(), r["qty"].clone())).collect();
    assert_eq!(
        got,
        [(json!("Bob"), json!(1), json!(5)), (json!("Ada"), json!(2), json!(3)), (json!("Cy"), json!(1), json!(3))]
    );

    // count and distinct.
    let count = json!({"collection": "orders", "count": {"qty": {"$gte": 2}}});
    let (columns, rows) = page(&p.query("m", &count.to_string()));
    assert_eq!((columns, rows), (vec!["count".to_owned()], vec![json!({"count": 3})]));
    let distinct = json!({"collection": "customers", "distinct": "address.city", "filter": {"_id": {"$gte": 1}}});
    let (columns, rows) = page(&p.query("m", &distinct.to_string()));
    assert_eq!(columns, ["address.city"]);
    let mut cities: Vec<&str> = rows.iter().map(|r| r["address.city"].as_str().unwrap()).collect();
    cities.sort();
    assert_eq!(cities, ["London", "Paris"]);
}

#[test]
fn a_mongodb_result_stops_at_the_row_limit() {
    let db = TestDb::new();
    db.insert("events", (0..12).map(|i| doc! { "_id": i, "kind": format!("k{i}") }).collect());
    let p = Profile::with_env(&[("POLYSTOREIQ_ROW_LIMIT", "5"), ("POLYSTOREIQ_BATCH_ROWS", "2")]);
    p.ok(&["source", "add", "m", "--kind", "mongodb", "--url", &db.url()]);
    for query in [
        json!({"collection": "events", "find": {}, "sort": {"_id": 1}}),
        json!({"collection": "events", "find": {}, "sort": {"_id": 1}, "limit": 100}),
        json!({"collection": "events", "aggregate": [{"$sort": {"_id": 1}}]}),
        json!({"collection": "events", "distinct": "kind"}),
    ] {
        let run = p.query("m", &query.to_string());
        assert_eq!((&run["rows"], &run["truncated"]), (&json!(5), &json!(true)), "{query}: {run}");
    }
    let run = p.query("m", &json!({"collection": "events", "find": {}, "sort": {"_id": 1}}).to_string());
    let (_, rows) = page(&run);
    let ids: Vec<i64> = rows.iter().map(|r| r["_id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [0, 1, 2, 3, 4]);
    let run = p.query("m", &json!({"collection": "events", "find": {}, "limit": 3}).to_string());
    assert_eq!((&run["rows"], &run["truncated"]), (&json!(3), &json!(false)), "{run}");
}

#[test]
fn a_dead_mongodb_port_is_unreachable_quickly() {
    let p = Profile::new();
    let started = Instant::now();
    let err = p.err(&["source", "add", "dead", "--kind", "mongodb", "--url", "mongodb://127.0.0.1:1/nothing"]);
    assert_eq!(err["code"], "unreachable", "{err}");
    assert!(err["message"].as_str().unwrap().contains("is the server running"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
}

#[test]
fn the_connection_test_reports_the_server_and_that_anyone_can_write() {
    let db = TestDb::new();
    let run = run_worker_job(db.job(DbAction::Test));
    let report = run
        .frames
        .iter()
        .find_map(|f| if let FromWorker::Tested(r) = f { Some(r.clone()) } else { None })
        .unwrap_or_else(|| panic!("no report: {:?} {}", run.failure(), run.stderr));
    assert!(!report.server_version.is_empty() && report.server_version != "unknown", "{report:?}");
    assert!(!report.tls);
    assert!(report.can_write, "a server without access control lets anyone write");
}

// --- The database layer, with the broker's guardrail out of the way ---

fn refusal(run: &WorkerRun) -> String {
    match run.failure() {
        Some(WorkerError::Refused(why)) => why.clone(),
        other => panic!("expected a refusal, got {other:?}; frames {:?}", run.frames),
    }
}

#[test]
fn the_connector_refuses_write_stages_anywhere_in_a_pipeline() {
    let db = TestDb::new();
    db.insert("c", vec![doc! { "_id": 1, "a": 1 }, doc! { "_id": 2, "a": 2 }]);
    db.insert("other", vec![doc! { "_id": 1 }]);
    let before = db.collections();
    let pipelines = [
        json!([{"$match": {}}, {"$out": "stolen_out"}]),
        json!([{"$merge": {"into": "stolen_merge"}}]),
        json!([{"$facet": {"all": [{"$match": {}}, {"$merge": {"into": "stolen_facet"}}]}}]),
        json!([{"$lookup": {"from": "other", "pipeline": [{"$out": "stolen_lookup"}], "as": "o"}}]),
        json!([{"$unionWith": {"coll": "other", "pipeline": [{"$merge": "stolen_union"}]}}]),
    ];
    for pipeline in pipelines {
        let run = db.worker_query(&json!({"collection": "c", "aggregate": pipeline}), 5_000, 100);
        let why = refusal(&run);
        assert!(why.contains("$out") || why.contains("$merge"), "{why}");
        assert!(why.contains("only reads"), "{why}");
        assert_eq!(run.rows(), 0);
    }
    assert_eq!(db.collections(), before, "no write stage created a collection");
    // Each refusal is the connector's own (`Refused`, before anything reaches the server). Without it the server
    // would still turn most of these down, since the connector appends a `$limit` after the user's stages and
    // MongoDB takes `$out` and `$merge` only as the last stage of the outer pipeline; the test server runs a
    // last-stage `$out` when nothing follows it.
}

#[test]
fn operations_other_than_the_four_reads_do_not_exist() {
    let db = TestDb::new();
    let seeded = vec![doc! { "_id": 1, "a": 1 }, doc! { "_id": 2, "a": 2 }];
    db.insert("c", seeded.clone());
    let attempts = [
        json!({"collection": "c", "insert": [{"_id": 3}]}),
        json!({"collection": "c", "delete": {}}),
        json!({"collection": "c", "update": {"_id": 1}, "$set": {"a": 9}}),
        json!({"collection": "c", "findAndModify": {"query": {"_id": 1}, "remove": true}}),
        json!({"collection": "c", "drop": true}),
        json!({"collection": "c", "find": {}, "update": {"$set": {"a": 9}}}),
        json!({"collection": "c", "count": {}, "delete": {}}),
        json!({"drop": "c"}),
        json!([{"delete": "c"}]),
    ];
    for attempt in attempts {
        let run = db.worker_query(&attempt, 5_000, 100);
        let why = refusal(&run);
        assert!(why.contains("find") && why.contains("aggregate"), "the refusal says what exists: {why}");
    }
    assert_eq!(db.documents("c"), seeded, "nothing changed");
    assert_eq!(db.collections(), ["c"]);
}

#[test]
fn every_operation_carries_max_time_ms() {
    let db = TestDb::new();
    db.insert("slow", (0..3000).map(|i| doc! { "_id": i, "k": i % 7 }).collect());
    // Building a 100,000-element array per document: seconds of work for the whole collection.
    let costly = json!({"$expr": {"$gt": [{"$size": {"$range": [0, 100_000]}}, 0]}});
    let queries = [
        json!({"collection": "slow", "find": costly}),
        json!({"collection": "slow", "aggregate": [{"$match": costly}]}),
        json!({"collection": "slow", "count": costly}),
        json!({"collection": "slow", "distinct": "k", "filter": costly}),
    ];
    for query in queries {
        let started = Instant::now();
        let run = db.worker_query(&query, 50, 1000);
        // The server stopped the operation at its time limit (MaxTimeMSExpired), so the limit reached it.
        match run.failure() {
            Some(WorkerError::Query(why)) => assert!(why.contains("time limit (maxTimeMS)"), "{query}: {why}"),
            other => panic!("{query}: expected the server's time limit, got {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{query} took {:?}", started.elapsed());
    }
    // The same limit lets a cheap operation through.
    let run = db.worker_query(&json!({"collection": "slow", "count": {"k": 0}}), 5_000, 1000);
    assert!(run.failure().is_none(), "{:?}", run.failure());
    let count = run.frames.iter().find_map(|f| match f {
        FromWorker::Batch(b) => match &b.columns[0] {
            ColumnValues::Int(v) => v.get(0),
            _ => None,
        },
        _ => None,
    });
    assert_eq!(count, Some(429));
}

#[test]
fn columns_are_fixed_by_the_first_batch() {
    let db = TestDb::new();
    db.insert(
        "c",
        vec![
            doc! { "_id": 1, "a": 1 },
            doc! { "_id": 2, "a": 2.5 },
            doc! { "_id": 3, "a": 3, "late": "not a column" },
            doc! { "_id": 4 },
        ],
    );
    let run = db.worker_query(&json!({"collection": "c", "find": {}, "sort": {"_id": 1}}), 5_000, 2);
    assert!(run.failure().is_none(), "{:?}", run.failure());
    let columns = run.frames.iter().find_map(|f| if let FromWorker::Columns(c) = f { Some(c.clone()) } else { None });
    let names: Vec<(String, String)> = columns.unwrap().into_iter().map(|c| (c.name, c.db_type)).collect();
    // Ints and a double in the first batch widen to double; `late` appears after it and is left out.
    assert_eq!(names, [("_id".to_owned(), "int".to_owned()), ("a".to_owned(), "double".to_owned())]);
    assert_eq!(run.rows(), 4);
    let a: Vec<Option<f64>> = run
        .frames
        .iter()
        .filter_map(|f| if let FromWorker::Batch(b) = f { Some(b) } else { None })
        .flat_map(|b| match &b.columns[1] {
            ColumnValues::Float(v) => (0..v.len()).map(|i| v.get(i)).collect::<Vec<_>>(),
            other => panic!("a is not a float column: {other:?}"),
        })
        .collect();
    assert_eq!(a, [Some(1.0), Some(2.5), Some(3.0), None]);

    // A later value its column cannot show exactly fails the query, with the way out.
    db.insert("d", vec![doc! { "_id": 1, "n": 1 }, doc! { "_id": 2, "n": "two" }]);
    let run = db.worker_query(&json!({"collection": "d", "find": {}, "sort": {"_id": 1}}), 5_000, 1);
    match run.failure() {
        Some(WorkerError::Query(why)) => assert!(why.contains("$toString") && why.contains("field n"), "{why}"),
        other => panic!("expected a typed failure, got {other:?}"),
    }
}

#[test]
fn views_are_described_as_views_without_counting_them() {
    let db = TestDb::new();
    db.insert("c", vec![doc! { "_id": 1, "a": 1 }, doc! { "_id": 2, "a": 3 }]);
    db.command(doc! { "create": "big_a", "viewOn": "c", "pipeline": [{ "$match": { "a": { "$gt": 2 } } }] });
    let run = run_worker_job(db.job(DbAction::Metadata));
    let schema = run.frames.iter().find_map(|f| if let FromWorker::Schema(s) = f { Some(s.clone()) } else { None });
    let schema = schema.unwrap_or_else(|| panic!("no schema: {:?}", run.failure()));
    let view = schema.tables.iter().find(|t| t.name == "big_a").expect("the view");
    assert_eq!((view.kind, view.row_count), (polystoreiq_protocol::types::TableKind::View, None));
}

/// The instance with access control on (scripts/services creates its users).
const AUTH_PORT: u16 = 37018;

fn add_with_password(p: &Profile, name: &str, user: &str, password: &str) -> Value {
    let url = format!("mongodb://{user}@{HOST}:{AUTH_PORT}/psiq_auth");
    let out = p.run_with_stdin(
        &["source", "add", name, "--kind", "mongodb", "--url", &url, "--password-stdin"],
        &format!("{password}\n"),
    );
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!text.contains(password), "the output shows the password: {text}");
    crate::support::parse_last_json(&String::from_utf8_lossy(&out.stdout))
}

#[test]
fn credentials_are_checked_and_the_role_decides_whether_a_source_can_write() {
    let p = Profile::new();
    let reader = add_with_password(&p, "reader", "psiq_reader", "reader-test-password");
    assert_eq!((&reader["status"], &reader["can_write"]), (&json!("CONNECTED"), &json!(false)), "{reader}");
    let (_, rows) = page(&p.query("reader", r#"{"collection": "items", "find": {}}"#));
    assert_eq!(rows, [json!({"_id": 1, "label": "one"})]);
    // (The test server lists roles but no privileges in connectionStatus; the roles decide here.)
    let writer = add_with_password(&p, "writer", "psiq_writer", "writer-test-password");
    assert_eq!(writer["can_write"], true, "{writer}");

    let wrong = add_with_password(&p, "wrong", "psiq_reader", "Not-The-Password-71c2");
    assert_eq!(wrong["error"]["code"], "auth_failed", "{wrong}");
    assert!(wrong["error"]["message"].as_str().unwrap().contains("enter the password again"), "{wrong}");
    let anonymous = p.err(&[
        "source",
        "add",
        "anon",
        "--kind",
        "mongodb",
        "--url",
        &format!("mongodb://{HOST}:{AUTH_PORT}/psiq_auth"),
    ]);
    assert_eq!(anonymous["code"], "auth_failed", "{anonymous}");
    assert!(anonymous["message"].as_str().unwrap().contains("requires authentication"), "{anonymous}");
}
