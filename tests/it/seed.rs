//! The seeded test data (`scripts/seed`, `polystoreiq_tests::seed`): the demo and Chinook hold the same rows on
//! PostgreSQL, MariaDB, SecantusDB and in files, with their primary and foreign keys on the SQL servers; the
//! read-only users can read and cannot write; and `psiq source add` with them reports a source that cannot write.
//!
//! The test seeds first (a no-op when `scripts/seed` already ran: every target carries a content hash), so it
//! needs Chinook's fixture, which `scripts/seed` downloads.

use std::process::Output;

use polystoreiq_tests::seed::{
    self, CHINOOK_DB, CHINOOK_ROWS, DEMO_DB, DEMO_ROWS, HOST, MONGO_AUTH_DB, MONGO_AUTH_PORT, MONGO_PORT, MYSQL_PORT,
    PG_PORT, READER, READER_PASSWORD,
};
use serde_json::{Value, json};

use crate::support::Profile;

fn seeded() -> seed::Options {
    let options = seed::Options::default();
    seed::seed(&options).expect("seeding (scripts/seed downloads Chinook's fixture first)");
    options
}

/// `psiq source add` of a database source as the read-only user; returns the source's JSON.
fn add_reader(p: &Profile, name: &str, kind: &str, url: &str) -> Value {
    let out: Output = p.run_with_stdin(
        &["source", "add", name, "--kind", kind, "--url", url, "--password-stdin"],
        &format!("{READER_PASSWORD}\n"),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "source add {name}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(!stdout.contains(READER_PASSWORD), "the output shows the password: {stdout}");
    crate::support::parse_last_json(&stdout)
}

/// The single value of a one-row, one-column result.
fn scalar(run: &Value) -> Value {
    let rows = run["first_page"]["rows"].as_array().unwrap_or_else(|| panic!("no rows in {run}"));
    assert_eq!(rows.len(), 1, "{run}");
    rows[0].as_object().expect("a row").values().next().expect("a column").clone()
}

/// Rows per table through psiq, one query per table (`count(*)` in SQL, a `count` operation on MongoDB).
fn counts(p: &Profile, source: &str, tables: &[(&str, u64)], mongo: bool) -> Vec<(String, u64)> {
    tables
        .iter()
        .map(|(table, _)| {
            let query = if mongo {
                json!({"collection": table, "count": {}}).to_string()
            } else {
                format!("SELECT count(*) AS n FROM {table}")
            };
            let n = scalar(&p.query(source, &query)).as_u64().unwrap_or_else(|| panic!("{source}.{table}"));
            ((*table).to_owned(), n)
        })
        .collect()
}

fn expected(tables: &[(&str, u64)]) -> Vec<(String, u64)> {
    tables.iter().map(|(t, n)| ((*t).to_owned(), *n)).collect()
}

#[test]
fn every_engine_and_the_files_hold_the_same_rows_and_the_readers_cannot_write() {
    let options = seeded();
    let p = Profile::new();
    let pg = |db: &str| format!("postgres://{READER}@{HOST}:{PG_PORT}/{db}");
    let my = |db: &str| format!("mysql://{READER}@{HOST}:{MYSQL_PORT}/{db}");
    for (name, kind, url) in [
        ("pg_demo", "postgres", pg(DEMO_DB)),
        ("pg_chinook", "postgres", pg(CHINOOK_DB)),
        ("my_demo", "mysql", my(DEMO_DB)),
        ("my_chinook", "mysql", my(CHINOOK_DB)),
        ("mongo_auth", "mongodb", format!("mongodb://{READER}@{HOST}:{MONGO_AUTH_PORT}/{MONGO_AUTH_DB}")),
    ] {
        let source = add_reader(&p, name, kind, &url);
        assert_eq!((&source["status"], &source["can_write"]), (&json!("CONNECTED"), &json!(false)), "{source}");
    }
    // The instance on 37017 runs without access control: anyone can write there, and the source says so.
    for (name, db) in [("mongo_demo", DEMO_DB), ("mongo_chinook", CHINOOK_DB)] {
        let url = format!("mongodb://{HOST}:{MONGO_PORT}/{db}");
        let source = p.ok(&["source", "add", name, "--kind", "mongodb", "--url", &url]);
        assert_eq!(source["can_write"], true, "{source}");
    }
    let demo_dir = options.demo_dir();
    p.add_files("files_demo", &["customers.csv", "products.json", "orders.parquet"].map(|name| demo_dir.join(name)));
    let chinook_files: Vec<_> =
        CHINOOK_ROWS.iter().map(|(table, _)| options.chinook_dir().join(format!("{table}.parquet"))).collect();
    p.add_files("files_chinook", &chinook_files);

    for (source, mongo) in [("files_demo", false), ("pg_demo", false), ("my_demo", false), ("mongo_demo", true)] {
        assert_eq!(counts(&p, source, &DEMO_ROWS, mongo), expected(&DEMO_ROWS), "{source}");
    }
    assert_eq!(counts(&p, "mongo_auth", &DEMO_ROWS, true), expected(&DEMO_ROWS), "mongo_auth");
    for (source, mongo) in
        [("files_chinook", false), ("pg_chinook", false), ("my_chinook", false), ("mongo_chinook", true)]
    {
        assert_eq!(counts(&p, source, &CHINOOK_ROWS, mongo), expected(&CHINOOK_ROWS), "{source}");
    }

    // Not just as many rows: the same values, exact decimals included.
    let sum = "SELECT sum(amount) AS s FROM orders";
    let demo_sum = scalar(&p.query("files_demo", sum));
    for source in ["pg_demo", "my_demo"] {
        assert_eq!(scalar(&p.query(source, sum)), demo_sum, "{source}");
    }
    let mongo_sum = json!({"collection": "orders", "aggregate": [{"$group": {"_id": null, "s": {"$sum": "$amount"}}},
                                                                 {"$project": {"_id": 0, "s": 1}}]})
    .to_string();
    // (Once: SecantusDB, in Python, takes seconds to sum 100,000 documents.)
    assert_eq!(scalar(&p.query("mongo_demo", &mongo_sum)), demo_sum, "mongo_demo");
    let invoices = "SELECT sum(total) AS s FROM invoice";
    for source in ["files_chinook", "pg_chinook", "my_chinook"] {
        assert_eq!(scalar(&p.query(source, invoices)), json!("2328.60"), "{source}");
    }
    let mongo_invoices =
        json!({"collection": "invoice", "aggregate": [{"$group": {"_id": null, "s": {"$sum": "$total"}}},
                                                                       {"$project": {"_id": 0, "s": 1}}]})
        .to_string();
    assert_eq!(scalar(&p.query("mongo_chinook", &mongo_invoices)), json!("2328.60"));
    let who = "SELECT c.first_name, c.last_name, c.city FROM customer c WHERE c.customer_id = 1";
    for source in ["files_chinook", "pg_chinook", "my_chinook"] {
        let rows = &p.query(source, who)["first_page"]["rows"];
        assert_eq!(rows, &json!([{"first_name": "Luís", "last_name": "Gonçalves", "city": "São José dos Campos"}]));
    }
}

#[test]
fn the_sql_servers_keep_chinooks_keys_and_their_readers_may_only_select() {
    seeded();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        // Primary keys on every table, foreign keys as Chinook has them (11) and the demo's orders (2).
        for (db, tables, foreign) in [(DEMO_DB, DEMO_ROWS.len(), 2), (CHINOOK_DB, CHINOOK_ROWS.len(), 11)] {
            let client = pg_connect(db, "postgres", None).await;
            let keys = |kind: &'static str| {
                let client = &client;
                async move {
                    let row = client
                        .query_one(
                            "SELECT count(*) FROM information_schema.table_constraints
                             WHERE table_schema = 'public' AND constraint_type = $1",
                            &[&kind],
                        )
                        .await
                        .expect("constraints");
                    row.get::<_, i64>(0) as usize
                }
            };
            assert_eq!((keys("PRIMARY KEY").await, keys("FOREIGN KEY").await), (tables, foreign), "{db} on PostgreSQL");

            let mut conn = mysql_connect("root", "", db).await;
            let (primary, fk): (usize, usize) = mysql_async::prelude::Queryable::query_first(
                &mut conn,
                format!(
                    "SELECT SUM(constraint_type = 'PRIMARY KEY'), SUM(constraint_type = 'FOREIGN KEY')
                     FROM information_schema.table_constraints WHERE table_schema = '{db}'"
                ),
            )
            .await
            .expect("constraints")
            .expect("a row");
            assert_eq!((primary, fk), (tables, foreign), "{db} on MariaDB");
        }

        // The readers read, and are refused every write by the server itself.
        let reader = pg_connect(CHINOOK_DB, READER, Some(READER_PASSWORD)).await;
        let count: i64 = reader.query_one("SELECT count(*) FROM genre", &[]).await.expect("select").get(0);
        assert_eq!(count, 25);
        for write in [
            "INSERT INTO genre (genre_id, name) VALUES (999, 'x')",
            "UPDATE genre SET name = 'x' WHERE genre_id = 1",
            "DELETE FROM genre WHERE genre_id = 1",
            "CREATE TABLE scratch (a int)",
        ] {
            let err = reader.batch_execute(write).await.expect_err(write);
            let code = err.as_db_error().map(|e| e.code().code().to_owned());
            assert_eq!(code.as_deref(), Some("42501"), "{write}: {err}"); // insufficient_privilege
        }

        let mut reader = mysql_connect(READER, READER_PASSWORD, CHINOOK_DB).await;
        let count: Option<u64> =
            mysql_async::prelude::Queryable::query_first(&mut reader, "SELECT count(*) FROM genre")
                .await
                .expect("select");
        assert_eq!(count, Some(25));
        for write in [
            "INSERT INTO genre (genre_id, name) VALUES (999, 'x')",
            "UPDATE genre SET name = 'x' WHERE genre_id = 1",
            "DELETE FROM genre WHERE genre_id = 1",
            "CREATE TABLE scratch (a int)",
        ] {
            let err = mysql_async::prelude::Queryable::query_drop(&mut reader, write).await.expect_err(write);
            // 1142: command denied to user for table; 1044: access denied to database.
            assert!(
                matches!(&err, mysql_async::Error::Server(e) if e.code == 1142 || e.code == 1044),
                "{write}: {err}"
            );
        }
    });
    // Nothing changed.
    let p = Profile::new();
    let url = format!("postgres://{READER}@{HOST}:{PG_PORT}/{CHINOOK_DB}");
    add_reader(&p, "pg", "postgres", &url);
    assert_eq!(scalar(&p.query("pg", "SELECT count(*) AS n FROM genre WHERE name = 'x'")), json!(0));
}

#[test]
fn seeding_again_changes_nothing() {
    seeded();
    let again = seed::seed(&seed::Options::default()).expect("seeding again");
    let loaded: Vec<&str> = again.iter().filter(|o| o.loaded.is_some()).map(|o| o.target.as_str()).collect();
    assert!(loaded.is_empty(), "seeding again reloaded {loaded:?}");
    assert_eq!(again.len(), 9, "{again:?}");
}

async fn pg_connect(db: &str, user: &str, password: Option<&str>) -> tokio_postgres::Client {
    let mut config = tokio_postgres::Config::new();
    config.host(HOST).port(PG_PORT).dbname(db).user(user);
    if let Some(password) = password {
        config.password(password);
    }
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.expect("PostgreSQL");
    tokio::spawn(connection);
    client
}

async fn mysql_connect(user: &str, password: &str, db: &str) -> mysql_async::Conn {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(HOST)
        .tcp_port(MYSQL_PORT)
        .user(Some(user))
        .pass(Some(password))
        .db_name(Some(db))
        .prefer_socket(false);
    mysql_async::Conn::new(opts).await.expect("MariaDB")
}
