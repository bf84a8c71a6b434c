//! MySQL/MariaDB sources against the real MariaDB server on 127.0.0.1:3306: onboarding, schema, exact values of
//! every decoded type, row limits and typed connection errors through `psiq`; then the database-layer protections
//! (read-only session and transaction, one prepared statement, no local infile, the server's time limit) alone,
//! with a real worker and no broker or guardrail in front, connected as root, who could otherwise write.

use std::process::Output;
use std::time::{Duration, Instant};

use polystoreiq_protocol::types::{DbTarget, SourceKind};
use polystoreiq_protocol::worker::{DbAction, DbJob, FromWorker, Job, ServerSession, WorkerError};
use serde_json::{Value, json};

use crate::servers::{MariaDb, mariadb, mariadb_output};
use crate::support::{Profile, WorkerRun, run_worker_job};

/// The read-only user's password; no output may ever contain it.
const PASSWORD: &str = "Ro-Sentinel-7d1e-never-echoed";

/// A database and a read-only user of the same unique name, dropped when the test ends.
struct Scratch {
    db: MariaDb,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch { db: MariaDb::with_reader("psiq_t", PASSWORD) }
    }

    /// The database's name, and its read-only user's.
    fn name(&self) -> &str {
        self.db.name()
    }

    /// Runs SQL as root inside the scratch database.
    fn sql(&self, sql: &str) -> String {
        self.db.sql(sql)
    }

    fn tables(&self) -> Vec<String> {
        self.sql("SHOW TABLES").lines().map(str::to_owned).collect()
    }

    fn count(&self, table: &str) -> u64 {
        self.sql(&format!("SELECT count(*) FROM {table}")).trim().parse().expect("a count")
    }

    /// The source URL for `user` (the read-only user when `None`).
    fn url(&self, user: Option<&str>) -> String {
        format!("mysql://{}@127.0.0.1:3306/{}", user.unwrap_or(self.name()), self.name())
    }

    /// A small shop: two tables, a view, and a table holding one value of every decoded type.
    fn seed_shop(&self) {
        self.sql(
            "CREATE TABLE customers (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, country CHAR(2));
             CREATE TABLE orders (id INT PRIMARY KEY, customer_id INT NOT NULL, amount DECIMAL(10,2) NOT NULL,
                                  placed DATE);
             CREATE VIEW big_orders AS SELECT id, amount FROM orders WHERE amount > 100;
             INSERT INTO customers VALUES (1, 'Ada', 'GB'), (2, 'Grace', 'US'), (3, 'Linus', 'FI');
             INSERT INTO orders VALUES (1, 1, 10.50, '2024-01-05'), (2, 1, 200.25, '2024-02-29'),
                                       (3, 2, 0.10, '2023-12-31'), (4, 2, 99.99, NULL), (5, 3, 1000000.01, '1999-01-01');
             CREATE TABLE kinds (
               id INT PRIMARY KEY, small TINYINT, big BIGINT, ubig BIGINT UNSIGNED, price DECIMAL(12,4), ratio FLOAT,
               score DOUBLE, day DATE, at DATETIME(6), stamp TIMESTAMP NULL, span TIME(3), yr YEAR,
               label VARCHAR(20), note TEXT, raw VARBINARY(8), doc JSON, flag BIT(1), mask BIT(8),
               mood ENUM('happy', 'sad'));
             SET time_zone = '+00:00';
             INSERT INTO kinds VALUES
               (1, -128, -9223372036854775808, 18446744073709551615, 12345678.9012, 1.1, 2.5e-300, '2024-02-29',
                '2024-02-29 23:59:58.123456', '2024-03-01 12:00:00', '-838:59:59.000', 2024, 'héllo', '',
                x'00FF10', '{\"a\": [1, 2]}', b'1', b'10100101', 'sad'),
               (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '', NULL, NULL, NULL, NULL,
                NULL, NULL);",
        );
    }
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// `psiq source add NAME --kind mysql --url URL`, with `password` on stdin if given.
fn add(p: &Profile, name: &str, url: &str, password: Option<&str>) -> Output {
    let mut args = vec!["source", "add", name, "--kind", "mysql", "--url", url];
    match password {
        Some(password) => {
            args.push("--password-stdin");
            p.run_with_stdin(&args, &format!("{password}\n"))
        }
        None => p.run(&args),
    }
}

fn last_json(out: &Output) -> Value {
    crate::support::parse_last_json(&String::from_utf8_lossy(&out.stdout))
}

#[test]
fn a_read_only_user_onboards_and_root_is_flagged_as_able_to_write() {
    let s = Scratch::new();
    s.seed_shop();
    let p = Profile::new();
    let added = add(&p, "shop", &s.url(None), Some(PASSWORD));
    assert!(added.status.success(), "{}", text(&added));
    let info = last_json(&added);
    assert_eq!((info["kind"].clone(), info["can_write"].clone()), (json!("mysql"), json!(false)), "{info}");

    // Root has no password on the test server, and can write: the source is added, with the warning.
    let root = add(&p, "shop_root", &s.url(Some("root")), None);
    assert!(root.status.success(), "{}", text(&root));
    assert_eq!(last_json(&root)["can_write"], true);

    let version = mariadb(None, "SELECT VERSION()").trim().to_owned();
    let tested = p.ok(&["source", "test", "shop"]);
    assert_eq!(tested["ok"], true, "{tested}");
    let message = tested["message"].as_str().unwrap();
    assert!(message.starts_with(&format!("connected to {version} (no TLS) in ")), "{message}");
    assert!(message.ends_with("; 4 tables"), "{message}");
    let root_tested = p.ok(&["source", "test", "shop_root"]);
    assert!(root_tested["message"].as_str().unwrap().contains("WARNING: this role can write"), "{root_tested}");
    let audit = p.ok(&["audit"]);
    let detail = |source: &str| {
        audit
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["action"] == "source.add" && e["source"] == source)
            .expect("audited")["detail"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(detail("shop").contains(&format!("server {version}")), "{}", detail("shop"));
    assert!(!detail("shop").contains("WARNING"), "{}", detail("shop"));
    assert!(detail("shop_root").contains("WARNING: this role can write"), "{}", detail("shop_root"));

    let schema = p.ok(&["schema", "shop"]);
    let tables = schema["tables"].as_array().expect("tables");
    let names: Vec<&str> = tables.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["big_orders", "customers", "kinds", "orders"]);
    assert_eq!(tables[0]["kind"], "view");
    assert_eq!(tables[0]["row_count"], Value::Null, "a view has no row estimate");
    let orders = &tables[3];
    assert_eq!(orders["kind"], "table");
    assert!(orders["row_count"].is_u64(), "a table has a row estimate: {orders}");
    let columns: Vec<(&str, &str, &str, bool)> = orders["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap(),
                c["db_type"].as_str().unwrap(),
                c["logical"].as_str().unwrap(),
                c["nullable"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        columns,
        [
            ("id", "int(11)", "int", false),
            ("customer_id", "int(11)", "int", false),
            ("amount", "decimal(10,2)", "decimal", false),
            ("placed", "date", "date", true),
        ]
    );
    let kinds: Vec<&str> =
        tables[2]["columns"].as_array().unwrap().iter().map(|c| c["logical"].as_str().unwrap()).collect();
    // MariaDB's JSON is LONGTEXT with a check constraint; MySQL's is its own type.
    assert_eq!(kinds, kinds_logical(if version.contains("MariaDB") { "text" } else { "json" }));
}

/// The logical types of the `kinds` table's columns, in order, with `json` for its JSON column.
fn kinds_logical(json: &'static str) -> [&'static str; 19] {
    [
        "int",
        "int",
        "int",
        "decimal",
        "decimal",
        "float",
        "float",
        "date",
        "timestamp",
        "timestamp_tz",
        "time",
        "int",
        "text",
        "text",
        "bytes",
        json,
        "bool",
        "int",
        "text",
    ]
}

#[test]
fn queries_return_exact_values_of_every_decoded_type() {
    let s = Scratch::new();
    s.seed_shop();
    let p = Profile::new();
    let added = add(&p, "shop", &s.url(None), Some(PASSWORD));
    assert!(added.status.success(), "{}", text(&added));

    let joined = p.query(
        "shop",
        "SELECT c.name, count(*) AS n, sum(o.amount) AS total, min(o.placed) AS first
         FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.name ORDER BY c.name",
    );
    assert_eq!(joined["rows"], 3);
    assert_eq!(joined["truncated"], false);
    assert_eq!(
        joined["first_page"]["rows"],
        json!([
            {"name": "Ada", "n": 2, "total": "210.75", "first": "2024-01-05"},
            {"name": "Grace", "n": 2, "total": "100.09", "first": "2023-12-31"},
            {"name": "Linus", "n": 1, "total": "1000000.01", "first": "1999-01-01"},
        ])
    );

    let kinds = p.query("shop", "SELECT * FROM kinds ORDER BY id");
    let page = &kinds["first_page"];
    let logical: Vec<&str> =
        page["columns"].as_array().unwrap().iter().map(|c| c["logical"].as_str().unwrap()).collect();
    assert_eq!(logical, kinds_logical("text"));
    let rows = page["rows"].as_array().expect("rows");
    assert_eq!(
        rows[0],
        json!({
            "id": 1, "small": -128, "big": i64::MIN, "ubig": "18446744073709551615", "price": "12345678.9012",
            "ratio": 1.1, "score": 2.5e-300, "day": "2024-02-29", "at": "2024-02-29 23:59:58.123456",
            "stamp": "2024-03-01 12:00:00", "span": "-838:59:59.000", "yr": 2024, "label": "héllo", "note": "",
            "raw": "\\x00ff10", "doc": "{\"a\": [1, 2]}", "flag": true, "mask": 165, "mood": "sad"
        })
    );
    // NULL stays NULL, and the empty string stays an empty string.
    let nulls = rows[1].as_object().unwrap();
    assert_eq!(nulls["label"], "");
    for (column, value) in nulls.iter().filter(|(c, _)| !["id", "label"].contains(&c.as_str())) {
        assert_eq!(value, &Value::Null, "{column}");
    }
}

#[test]
fn the_row_limit_truncates_a_mysql_result() {
    let s = Scratch::new();
    s.seed_shop();
    let p = Profile::with_env(&[("POLYSTOREIQ_ROW_LIMIT", "3")]);
    let added = add(&p, "shop", &s.url(None), Some(PASSWORD));
    assert!(added.status.success(), "{}", text(&added));
    let run = p.query("shop", "SELECT id FROM orders ORDER BY id");
    assert_eq!((run["rows"].clone(), run["truncated"].clone()), (json!(3), json!(true)), "{run}");
    assert_eq!(run["first_page"]["rows"], json!([{"id": 1}, {"id": 2}, {"id": 3}]));
}

#[test]
fn connection_failures_are_typed_and_never_echo_the_password() {
    let s = Scratch::new();
    let p = Profile::new();
    let wrong = "Wrong-Sentinel-5b2a-not-the-password";
    let mut outputs = Vec::new();

    let denied = add(&p, "bad", &s.url(None), Some(wrong));
    outputs.push(text(&denied));
    assert!(!denied.status.success());
    let error = &last_json(&denied)["error"];
    assert_eq!(error["code"], "auth_failed", "{error}");
    assert!(error["message"].as_str().unwrap().contains("enter the password again"), "{error}");

    let dead = add(&p, "dead", &format!("mysql://{}@127.0.0.1:1/{}", s.name(), s.name()), Some(PASSWORD));
    outputs.push(text(&dead));
    assert_eq!(last_json(&dead)["error"]["code"], "unreachable", "{}", text(&dead));

    let missing = format!("{}_nosuch", s.name());
    let nodb = add(&p, "nodb", &format!("mysql://root@127.0.0.1:3306/{missing}"), None);
    outputs.push(text(&nodb));
    let error = &last_json(&nodb)["error"];
    assert_eq!(error["code"], "query_failed", "{error}");
    assert!(error["message"].as_str().unwrap().contains(&format!("no database {missing}")), "{error}");

    // TLS required of a server without TLS: refused, saying what to do.
    let tls = p.run_with_stdin(
        &["source", "add", "tls", "--kind", "mysql", "--url", &s.url(None), "--password-stdin", "--tls", "require"],
        &format!("{PASSWORD}\n"),
    );
    outputs.push(text(&tls));
    assert!(!tls.status.success());
    assert!(text(&tls).contains("TLS"), "{}", text(&tls));

    let list = p.ok(&["source", "list"]);
    assert_eq!(list, json!([]), "no failed source was kept");
    for (i, out) in outputs.iter().enumerate() {
        assert!(!out.contains(wrong) && !out.contains(PASSWORD), "output {i} leaks a password: {out}");
    }
}

/// One job as root, straight to a worker: no broker, no guardrail, only what the connector and server do.
fn as_root(s: &Scratch, sql: &str, timeout_ms: u64) -> WorkerRun {
    as_root_with(s, sql, 1000, 100, timeout_ms)
}

fn as_root_with(s: &Scratch, sql: &str, row_limit: u64, batch_rows: u32, timeout_ms: u64) -> WorkerRun {
    let target = s.db.target("root");
    let action = DbAction::Query { sql: sql.to_owned(), row_limit, batch_rows, timeout_ms };
    run_worker_job(Job::Database(DbJob { kind: SourceKind::Mysql, target, password: None, action }))
}

fn failure(run: &WorkerRun, what: &str) -> String {
    match run.failure() {
        Some(err) => err.to_string(),
        None => panic!("{what} ran: {} rows; stderr: {}", run.rows(), run.stderr),
    }
}

fn scratch_with_t() -> Scratch {
    let s = Scratch::new();
    s.sql("CREATE TABLE t (a INT); INSERT INTO t VALUES (1), (2), (3);");
    s
}

#[test]
fn root_cannot_change_data_through_the_worker() {
    let s = scratch_with_t();
    // Plain DML returns no rows and is refused before it runs; with RETURNING (MariaDB) it does return rows, so
    // the server's read-only transaction is what stops it.
    for sql in [
        "INSERT INTO t VALUES (42)",
        "UPDATE t SET a = 42",
        "DELETE FROM t",
        "INSERT INTO t VALUES (42) RETURNING a",
        "DELETE FROM t RETURNING a",
        "REPLACE INTO t VALUES (42)",
    ] {
        let run = as_root(&s, sql, 10_000);
        let why = failure(&run, sql);
        assert!(!run.status.success(), "{sql}");
        assert!(!why.contains("panicked"), "{sql}: {why}");
    }
    let returning = failure(&as_root(&s, "DELETE FROM t RETURNING a", 10_000), "DELETE RETURNING");
    assert!(returning.contains("1792") && returning.contains("read-only"), "{returning}");
    assert_eq!(s.sql("SELECT group_concat(a ORDER BY a) FROM t").trim(), "1,2,3", "t is unchanged");
}

#[test]
fn root_cannot_run_a_second_statement_or_load_a_file() {
    let s = scratch_with_t();
    let secret = format!("/tmp/{}_outfile", s.name());
    for sql in [
        "SELECT 1; DROP TABLE t",
        "SELECT 1 /*!; DROP TABLE t */",
        "SELECT a FROM t; INSERT INTO t VALUES (9)",
        "LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE t",
        "LOAD DATA INFILE '/etc/passwd' INTO TABLE t",
        &format!("SELECT a FROM t INTO OUTFILE '{secret}'"),
        "SET SESSION TRANSACTION READ WRITE",
        "SET GLOBAL max_connections = 151",
        "DO SLEEP(0)",
        "CALL mysql.no_such_procedure()",
    ] {
        let run = as_root(&s, sql, 10_000);
        let why = failure(&run, sql);
        assert!(!why.contains("panicked"), "{sql}: {why}");
    }
    assert_eq!(s.tables(), ["t"], "t still exists");
    assert_eq!(s.count("t"), 3, "nothing was loaded into t");
    assert!(!std::path::Path::new(&secret).exists(), "the server wrote {secret}");
}

#[test]
fn ddl_cannot_escape_the_read_only_transaction() {
    let s = scratch_with_t();
    // What the server does on its own: DDL commits the open transaction implicitly and runs outside it, so
    // `START TRANSACTION READ ONLY` alone does not stop `CREATE TABLE` (MariaDB 10.11 creates the table).
    s.sql("START TRANSACTION READ ONLY; CREATE TABLE slipped_out (a INT); ROLLBACK;");
    assert!(s.tables().contains(&"slipped_out".to_owned()), "the server let DDL out of a read-only transaction");
    // A read-only session (the connector sets one) makes the transaction after the implicit commit read-only too.
    let session = mariadb_output(
        Some(s.name()),
        "SET SESSION TRANSACTION READ ONLY; START TRANSACTION READ ONLY; CREATE TABLE stopped (a INT);",
    );
    assert!(String::from_utf8_lossy(&session.stderr).contains("1792"), "{}", text(&session));

    // Through the worker, as root: every DDL is refused and nothing changes. Two layers answer: MariaDB 10.11
    // checks the read-only session when it prepares CREATE TABLE (also `... AS SELECT`) and OPTIMIZE (error
    // 1792); the rest prepare fine but return no rows, and the connector refuses to execute them.
    for sql in [
        "CREATE TABLE made (a INT)",
        "CREATE TABLE made AS SELECT a FROM t",
        "CREATE TEMPORARY TABLE made (a INT)",
        "DROP TABLE t",
        "ALTER TABLE t ADD COLUMN b INT",
        "TRUNCATE TABLE t",
        "RENAME TABLE t TO t2",
        "CREATE INDEX ia ON t (a)",
        "CREATE VIEW made AS SELECT a FROM t",
        "OPTIMIZE TABLE t",
    ] {
        let why = failure(&as_root(&s, sql, 10_000), sql);
        assert!(why.contains("only queries run here") || why.contains("MySQL error 1792"), "{sql}: {why}");
    }
    assert_eq!(s.tables(), ["slipped_out", "t"], "no table made, dropped or renamed");
    assert_eq!(s.sql("SHOW COLUMNS FROM t").lines().count(), 1, "t has its one column");
    assert_eq!(s.count("t"), 3);
}

#[test]
fn a_query_is_stopped_on_the_server_at_its_time_limit() {
    let s = Scratch::new();
    let started = Instant::now();
    let why = failure(&as_root(&s, "SELECT SLEEP(5)", 300), "SELECT SLEEP(5)");
    // MariaDB: error 1969 (max_statement_time); MySQL: 3024 (max_execution_time).
    assert!(why.contains("MySQL error 1969") || why.contains("MySQL error 3024"), "{why}");
    assert!(started.elapsed() < Duration::from_secs(4), "the sleep was not cut short: {:?}", started.elapsed());

    // What the server does: a statement may lift the limit for itself (MariaDB's SET STATEMENT ... FOR, even
    // as a prepared statement), and a client that merely goes away leaves it running. The connector stops it
    // on the server (KILL QUERY) a second past the limit.
    let sql = "SET STATEMENT max_statement_time = 0 FOR SELECT SLEEP(5) AS lifted";
    let started = Instant::now();
    let why = failure(&as_root(&s, sql, 300), sql);
    assert!(why.contains("time limit"), "{why}");
    assert!(started.elapsed() < Duration::from_secs(4), "the sleep was not cut short: {:?}", started.elapsed());
    let running = || {
        mariadb(
            None,
            "SELECT count(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE '%SLEEP(5) AS lifted%'
             AND ID <> CONNECTION_ID()",
        )
        .trim()
        .to_owned()
    };
    // KILL QUERY is asynchronous: give the server a moment to end the statement.
    let waited = Instant::now();
    while running() != "0" && waited.elapsed() < Duration::from_secs(1) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(running(), "0", "the statement still runs on the server");
}

#[test]
fn a_worker_streams_batches_and_stops_at_the_row_limit() {
    let s = Scratch::new();
    s.sql("CREATE TABLE t (a INT); INSERT INTO t VALUES (1), (2), (3), (4), (5), (6), (7);");
    let run = as_root_with(&s, "SELECT a FROM t ORDER BY a", 5, 2, 10_000);
    assert!(run.status.success(), "{:?}", run.failure());
    let sizes: Vec<usize> = run
        .frames
        .iter()
        .filter_map(|f| if let FromWorker::Batch(b) = f { Some(b.row_count()) } else { None })
        .collect();
    assert_eq!(sizes, [2, 2, 1]);
    // The handshake, the session the broker would cancel on the server, then the columns.
    assert!(matches!(run.frames.get(1), Some(FromWorker::ServerSession(ServerSession::Mysql { .. }))));
    assert!(matches!(run.frames.get(2), Some(FromWorker::Columns(c)) if c.len() == 1 && c[0].name == "a"));
    match run.frames.last() {
        Some(FromWorker::Done(done)) => assert_eq!((done.rows, done.truncated), (5, true)),
        other => panic!("expected Done, got {other:?}"),
    }
    // The connection test and metadata over the same path.
    let target = s.db.target("root");
    let tested = run_worker_job(Job::Database(DbJob {
        kind: SourceKind::Mysql,
        target: target.clone(),
        password: None,
        action: DbAction::Test,
    }));
    match tested.frames.iter().find_map(|f| if let FromWorker::Tested(r) = f { Some(r) } else { None }) {
        Some(report) => assert!(report.can_write && !report.tls, "{report:?}"),
        None => panic!("no report: {:?}", tested.failure()),
    }
    let wrong = run_worker_job(Job::Database(DbJob {
        kind: SourceKind::Mysql,
        target: DbTarget { user: s.name().to_owned(), ..target },
        password: Some(polystoreiq_protocol::secret::Credential(polystoreiq_protocol::secret::Secret::new(
            "Wrong-Sentinel-5b2a",
        ))),
        action: DbAction::Metadata,
    }));
    assert!(matches!(wrong.failure(), Some(WorkerError::AuthFailed(_))), "{:?}", wrong.failure());
}
