//! The unified metadata of every engine, read from the real servers through `psiq schema`: primary and foreign
//! keys, indexes, comments and row estimates from PostgreSQL and MariaDB, indexes and sampled field statistics
//! (presence, type frequencies) from the MongoDB-compatible server, none of these for files; and the broker's
//! schema cache: a snapshot younger than `POLYSTOREIQ_SCHEMA_TTL_S` is answered as it is, an older one (or any,
//! with `--refresh`) is read again, and the answer says which and how old.
//!
//! Each test works in a database of its own (`psiq_m_<pid>_<n>`), dropped at the end.

use std::time::{Duration, Instant};

use mongodb::IndexModel;
use mongodb::bson::{Bson, Document, doc};
use mongodb::options::IndexOptions;
use serde_json::Value;

use crate::servers::{MariaDb, MongoDb, PgDb};
use crate::support::Profile;

/// The tables of a `psiq --json schema` answer, by name.
fn table<'a>(schema: &'a Value, name: &str) -> &'a Value {
    schema["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no table {name} in {schema}"))
}

fn column<'a>(table: &'a Value, name: &str) -> &'a Value {
    table["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no column {name} in {table}"))
}

fn names(schema: &Value) -> Vec<String> {
    schema["tables"].as_array().expect("tables").iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect()
}

fn index<'a>(table: &'a Value, name: &str) -> &'a Value {
    table["indexes"]
        .as_array()
        .expect("indexes")
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no index {name} in {table}"))
}

#[test]
fn postgres_metadata_has_keys_indexes_comments_and_estimates() {
    let db = PgDb::new("psiq_m");
    db.sql(
        "CREATE TABLE customers (id int PRIMARY KEY, email text UNIQUE, name text NOT NULL);
         COMMENT ON TABLE customers IS 'People who buy';
         COMMENT ON COLUMN customers.email IS 'Where receipts go';
         CREATE TABLE orders (id int, line int, customer_id int REFERENCES customers (id), placed date,
                              PRIMARY KEY (id, line));
         CREATE INDEX orders_placed ON orders (placed);
         CREATE INDEX orders_sum ON orders ((id + line), customer_id);
         CREATE SCHEMA sales;
         CREATE TABLE sales.refunds (id int PRIMARY KEY, order_id int, order_line int,
             CONSTRAINT refunds_order FOREIGN KEY (order_id, order_line) REFERENCES orders (id, line));
         CREATE VIEW big_spenders AS SELECT id, name FROM customers;
         CREATE TABLE unanalyzed (x int);
         INSERT INTO customers SELECT g, 'c' || g || '@example.com', 'name ' || g FROM generate_series(1, 250) g;
         ANALYZE customers;",
    );
    let p = Profile::new();
    p.ok(&["source", "add", "pg", "--kind", "postgres", "--url", &db.url(), "--tls", "disable"]);
    let schema = p.ok(&["schema", "pg"]);
    assert_eq!(names(&schema), ["big_spenders", "customers", "orders", "unanalyzed", "sales.refunds"], "{schema}");

    let customers = table(&schema, "customers");
    assert_eq!(customers["kind"], "table");
    assert_eq!(customers["comment"], "People who buy");
    assert_eq!(customers["row_count"], 250, "the planner's estimate after ANALYZE");
    assert_eq!(customers["primary_key"], serde_json::json!(["id"]));
    assert_eq!(customers["foreign_keys"], serde_json::json!([]));
    assert_eq!(column(customers, "email")["comment"], "Where receipts go");
    assert_eq!(column(customers, "id")["comment"], Value::Null);
    assert_eq!(column(customers, "name")["nullable"], false);
    assert_eq!(column(customers, "email")["db_type"], "text");
    let email_key = index(customers, "customers_email_key");
    assert_eq!(email_key["unique"], true);
    assert_eq!(email_key["columns"], serde_json::json!(["email"]));
    assert!(
        customers["indexes"].as_array().unwrap().iter().all(|i| i["name"] != "customers_pkey"),
        "the primary key's index is the primary key, not listed again: {customers}"
    );

    let orders = table(&schema, "orders");
    assert_eq!(orders["primary_key"], serde_json::json!(["id", "line"]), "key order, not column order");
    assert_eq!(
        orders["foreign_keys"],
        serde_json::json!([{
            "name": "orders_customer_id_fkey", "columns": ["customer_id"], "ref_table": "customers",
            "ref_columns": ["id"]
        }])
    );
    assert_eq!(index(orders, "orders_placed")["columns"], serde_json::json!(["placed"]));
    assert_eq!(index(orders, "orders_placed")["unique"], false);
    assert_eq!(
        index(orders, "orders_sum")["columns"],
        serde_json::json!(["(id + line)", "customer_id"]),
        "an expression key as PostgreSQL prints it"
    );
    assert_eq!(orders["comment"], Value::Null);

    let refunds = table(&schema, "sales.refunds");
    assert_eq!(
        refunds["foreign_keys"],
        serde_json::json!([{
            "name": "refunds_order", "columns": ["order_id", "order_line"], "ref_table": "orders",
            "ref_columns": ["id", "line"]
        }])
    );
    let view = table(&schema, "big_spenders");
    assert_eq!(view["kind"], "view");
    assert_eq!(view["row_count"], Value::Null, "a view has no estimate");
    assert_eq!(view["primary_key"], serde_json::json!([]));
    assert_eq!(table(&schema, "unanalyzed")["row_count"], Value::Null, "never analyzed: no estimate, not 0");

    // The human output shows keys and comments.
    let text = p.plain_command(&["schema", "pg"]).output().expect("psiq");
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    for line in [
        "customers (Table, 250 rows): People who buy",
        "primary key (id, line)",
        "foreign key orders_customer_id_fkey (customer_id) -> customers (id)",
        "unique index customers_email_key (email)",
        "index orders_placed (placed)",
        "-- Where receipts go",
    ] {
        assert!(text.contains(line), "no {line:?} in:\n{text}");
    }
}

#[test]
fn a_new_table_appears_only_after_the_ttl_or_with_refresh() {
    const TTL_S: u64 = 5;
    let db = PgDb::new("psiq_m");
    db.sql("CREATE TABLE first (id int PRIMARY KEY)");
    let p = Profile::with_env(&[("POLYSTOREIQ_SCHEMA_TTL_S", "5")]);
    p.ok(&["source", "add", "pg", "--kind", "postgres", "--url", &db.url(), "--tls", "disable"]);

    let cached = p.ok(&["schema", "pg"]);
    assert_eq!(names(&cached), ["first"]);
    assert_eq!(cached["cache"]["cached"], true, "{cached}");
    assert_eq!(cached["cache"]["ttl_ms"], TTL_S * 1000);
    assert!(cached["cache"]["age_ms"].as_u64().unwrap() < TTL_S * 1000, "{cached}");

    db.sql("CREATE TABLE second (id int)");
    let refreshed = p.ok(&["schema", "pg", "--refresh"]);
    assert_eq!(names(&refreshed), ["first", "second"], "--refresh reads the server again");
    assert_eq!(refreshed["cache"]["cached"], false);
    assert!(refreshed["cache"]["age_ms"].as_u64().unwrap() < 5000);

    // A table created now is not seen while the snapshot is younger than the TTL...
    db.sql("CREATE TABLE third (id int)");
    let young = p.ok(&["schema", "pg"]);
    let young_age = young["cache"]["age_ms"].as_u64().unwrap();
    assert!(young_age < TTL_S * 1000, "the test took too long to see a young snapshot: {young}");
    assert_eq!(names(&young), ["first", "second"], "{young}");
    assert_eq!(young["cache"]["cached"], true);
    assert_eq!(young["fetched_at_ms"], refreshed["fetched_at_ms"], "the very snapshot --refresh read");

    // ... and is once the snapshot is older: the first answer after that reads the server again.
    let started = Instant::now();
    let seen = loop {
        std::thread::sleep(Duration::from_millis(250));
        let answer = p.ok(&["schema", "pg"]);
        if names(&answer).contains(&"third".to_owned()) {
            break answer;
        }
        let age = answer["cache"]["age_ms"].as_u64().unwrap();
        assert!(age < TTL_S * 1000 + 1000, "a snapshot {age} ms old was answered past its TTL: {answer}");
        assert!(started.elapsed() < Duration::from_secs(30), "the new table never appeared: {answer}");
    };
    assert_eq!(seen["cache"]["cached"], false, "{seen}");
    assert!(started.elapsed() + Duration::from_millis(young_age) >= Duration::from_secs(TTL_S - 1));
    let text = p.plain_command(&["schema", "pg"]).output().expect("psiq");
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.starts_with("schema: cached, read ") && text.contains(", TTL 5 s; --refresh reads it now"), "{text}");

    // A file source has no TTL: its schema is read again when a file changes. Files carry no keys.
    let csv = p.data_path("items.csv");
    std::fs::write(&csv, "id,label\n1,a\n2,b\n").unwrap();
    p.ok(&["source", "add", "files", "--kind", "files", "--path", &csv]);
    let files = p.ok(&["schema", "files"]);
    assert_eq!(files["cache"]["ttl_ms"], Value::Null);
    let items = table(&files, "items");
    assert_eq!(items["primary_key"], serde_json::json!([]));
    assert_eq!(items["foreign_keys"], serde_json::json!([]));
    assert_eq!(items["indexes"], serde_json::json!([]));
    assert_eq!(items["row_count"], 2);
}

#[test]
fn mysql_metadata_has_keys_indexes_comments_and_estimates() {
    let db = MariaDb::new("psiq_m");
    db.sql(
        "CREATE TABLE customers (id INT PRIMARY KEY, email VARCHAR(80) UNIQUE COMMENT 'Where receipts go',
                                 name VARCHAR(40) NOT NULL) ENGINE=InnoDB COMMENT='People who buy';
         CREATE TABLE orders (id INT, line INT, customer_id INT, placed DATE, PRIMARY KEY (id, line),
                              KEY orders_placed (placed, customer_id),
                              CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id))
                              ENGINE=InnoDB;
         CREATE TABLE refunds (id INT PRIMARY KEY, order_id INT, order_line INT,
                               CONSTRAINT refunds_order FOREIGN KEY (order_id, order_line) REFERENCES orders (id, line))
                               ENGINE=InnoDB;
         CREATE VIEW big_spenders AS SELECT id, name FROM customers;
         INSERT INTO customers VALUES (1, 'a@example.com', 'Ada'), (2, 'b@example.com', 'Bob'), (3, NULL, 'Cy');
         ANALYZE TABLE customers;",
    );
    let p = Profile::new();
    let url = format!("mysql://root@127.0.0.1:3306/{}", db.name());
    p.ok(&["source", "add", "my", "--kind", "mysql", "--url", &url, "--tls", "disable"]);
    let schema = p.ok(&["schema", "my"]);
    assert_eq!(names(&schema), ["big_spenders", "customers", "orders", "refunds"], "{schema}");

    let customers = table(&schema, "customers");
    assert_eq!(customers["comment"], "People who buy");
    assert_eq!(customers["primary_key"], serde_json::json!(["id"]));
    assert_eq!(customers["row_count"], 3, "InnoDB's estimate after ANALYZE TABLE");
    assert_eq!(column(customers, "email")["comment"], "Where receipts go");
    assert_eq!(column(customers, "name")["comment"], Value::Null, "an empty COLUMN_COMMENT is no comment");
    assert_eq!(column(customers, "email")["db_type"], "varchar(80)");
    assert_eq!(index(customers, "email")["unique"], true);
    assert_eq!(index(customers, "email")["columns"], serde_json::json!(["email"]));

    let orders = table(&schema, "orders");
    assert_eq!(orders["primary_key"], serde_json::json!(["id", "line"]));
    assert_eq!(
        orders["foreign_keys"],
        serde_json::json!([{
            "name": "orders_customer", "columns": ["customer_id"], "ref_table": "customers", "ref_columns": ["id"]
        }])
    );
    let placed = index(orders, "orders_placed");
    assert_eq!(placed["columns"], serde_json::json!(["placed", "customer_id"]));
    assert_eq!(placed["unique"], false);
    assert_eq!(orders["comment"], Value::Null);
    assert_eq!(
        table(&schema, "refunds")["foreign_keys"],
        serde_json::json!([{
            "name": "refunds_order", "columns": ["order_id", "order_line"], "ref_table": "orders",
            "ref_columns": ["id", "line"]
        }])
    );
    let view = table(&schema, "big_spenders");
    assert_eq!(view["kind"], "view");
    assert_eq!(view["comment"], Value::Null, "MariaDB's TABLE_COMMENT of a view is the word VIEW, not a comment");
    assert_eq!(view["primary_key"], serde_json::json!([]));
    drop(db);
}

#[test]
fn mongodb_metadata_has_indexes_and_sampled_field_statistics() {
    let db = MongoDb::new("psiq_m");
    let customers = db.database().collection::<Document>("customers");
    db.wait(customers.insert_many([
        doc! { "_id": 1, "email": "a@example.com", "age": 31, "vip": true, "address": { "city": "Oslo" } },
        doc! { "_id": 2, "email": "b@example.com", "age": 45, "vip": Bson::Null },
        doc! { "_id": 3, "email": "c@example.com", "age": "unknown" },
        doc! { "_id": 4, "email": "d@example.com", "age": 28, "address": { "city": "Bergen" } },
    ]))
    .expect("seed");
    let unique = IndexOptions::builder().unique(true).name("email_unique".to_owned()).build();
    let email = IndexModel::builder().keys(doc! { "email": 1 }).options(unique).build();
    db.wait(customers.create_index(email)).expect("index");
    let by_city = IndexModel::builder()
        .keys(doc! { "address.city": 1, "age": -1 })
        .options(IndexOptions::builder().name("city_age".to_owned()).build())
        .build();
    db.wait(customers.create_index(by_city)).expect("index");

    let p = Profile::new();
    p.ok(&["source", "add", "mongo", "--kind", "mongodb", "--url", &db.url()]);
    let schema = p.ok(&["schema", "mongo"]);
    let coll = table(&schema, "customers");
    assert_eq!(coll["kind"], "collection");
    assert_eq!(coll["primary_key"], serde_json::json!(["_id"]));
    assert_eq!(coll["row_count"], 4);
    let email = index(coll, "email_unique");
    assert_eq!(email["unique"], true);
    assert_eq!(email["columns"], serde_json::json!(["email"]));
    let city_age = index(coll, "city_age");
    assert_eq!(city_age["unique"], false);
    assert_eq!(city_age["columns"], serde_json::json!(["address.city", "age: -1"]));
    assert!(
        coll["indexes"].as_array().unwrap().iter().all(|i| i["name"] != "_id_"),
        "the _id index is the primary key: {coll}"
    );

    // Every document was sampled (4 of 4): presence and type frequencies per dotted path.
    let sample = |field: &str| column(coll, field)["sample"].clone();
    assert_eq!(
        sample("email"),
        serde_json::json!({ "documents": 4, "present": 4, "types": [{ "type_name": "string", "count": 4 }] })
    );
    assert_eq!(
        sample("age"),
        serde_json::json!({
            "documents": 4, "present": 4,
            "types": [{ "type_name": "int", "count": 3 }, { "type_name": "string", "count": 1 }]
        })
    );
    assert_eq!(
        sample("vip"),
        serde_json::json!({
            "documents": 4, "present": 2,
            "types": [{ "type_name": "bool", "count": 1 }, { "type_name": "null", "count": 1 }]
        })
    );
    assert_eq!(sample("address.city")["present"], 2);
    assert_eq!(column(coll, "vip")["nullable"], true);
    assert_eq!(column(coll, "email")["nullable"], false);

    let text = p.plain_command(&["schema", "mongo"]).output().expect("psiq");
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(text.contains("in 50% of 4 sampled (bool 1, null 1)"), "{text}");
    assert!(text.contains("unique index email_unique (email)"), "{text}");
    drop(db);
}
