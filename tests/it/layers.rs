//! Each safety layer alone. Here the guardrail is off: jobs go straight to a real worker process (no broker in
//! front), connected with a role that could write, so only the database layer stands between a hostile query
//! and the data. PostgreSQL and DuckDB here; MySQL and MongoDB in their own suites.

use std::time::{Duration, Instant};

use polystoreiq_protocol::types::{FileKind, FileTable, SourceKind, TableStorage};
use polystoreiq_protocol::worker::{DbAction, DbJob, DuckLimits, FileSource, Job, QueryJob, WorkerError};

use crate::servers::PgDb;
use crate::support::{WorkerRun, run_worker_job};

/// A scratch PostgreSQL database with `t(a int)` holding one row and a sequence, dropped at the end.
struct PgScratch {
    db: PgDb,
}

impl PgScratch {
    fn new(tag: &str) -> PgScratch {
        let db = PgDb::new(&format!("psiq_layer_{tag}"));
        db.sql("CREATE TABLE t (a int); INSERT INTO t VALUES (1); CREATE SEQUENCE s;");
        PgScratch { db }
    }

    /// Runs `sql` as the superuser `postgres`, with no guardrail in front.
    fn run(&self, sql: &str, timeout_ms: u64) -> WorkerRun {
        run_worker_job(Job::Database(DbJob {
            kind: SourceKind::Postgres,
            target: self.db.target("postgres"),
            password: None,
            action: DbAction::Query { sql: sql.into(), row_limit: 100, batch_rows: 10, timeout_ms },
        }))
    }

    /// Runs `sql` as the superuser through `psql`, for seeding and checking.
    fn sql(&self, sql: &str) -> String {
        self.db.sql(sql)
    }

    fn rows(&self) -> String {
        self.sql("SELECT string_agg(a::text, ',' ORDER BY a) FROM t")
    }
}

fn message(run: &WorkerRun) -> String {
    match run.failure() {
        Some(err) => err.to_string(),
        None => panic!("the job was expected to fail; it sent {} rows. stderr: {}", run.rows(), run.stderr),
    }
}

#[test]
fn postgres_refuses_writes_in_the_read_only_transaction_with_the_guardrail_off() {
    let db = PgScratch::new("pg");
    // The legitimate twin runs.
    let ok = db.run("SELECT a FROM t", 5_000);
    assert!(ok.failure().is_none(), "{:?}", ok.failure());
    assert_eq!(ok.rows(), 1);

    // Writes that return rows reach the server, which refuses them inside BEGIN READ ONLY.
    for write in [
        "INSERT INTO t VALUES (2) RETURNING a",
        "UPDATE t SET a = 5 RETURNING a",
        "DELETE FROM t RETURNING a",
        "WITH d AS (DELETE FROM t RETURNING a) SELECT * FROM d",
        "SELECT nextval('s')",
    ] {
        let run = db.run(write, 5_000);
        let err = message(&run);
        assert!(err.contains("read-only transaction"), "{write}: {err}");
    }
    // Nor can the transaction be switched to read-write once it has run a statement.
    let err = message(&db.run("SELECT set_config('transaction_read_only', 'off', true)", 5_000));
    assert!(err.contains("read-write mode must be set before any query"), "{err}");
    // The famous escape from BEGIN READ ONLY: the extended protocol takes one statement per message.
    let err = message(&db.run("COMMIT; DROP TABLE t", 5_000));
    assert!(err.contains("multiple commands"), "{err}");
    // Statements without rows never run at all.
    for statement in ["CREATE TABLE u (a int)", "DROP TABLE t", "TRUNCATE t", "COPY t TO '/tmp/psiq-layer-copy.csv'"] {
        assert!(matches!(db.run(statement, 5_000).failure(), Some(WorkerError::Refused(_) | WorkerError::Query(_))));
    }
    assert!(!std::path::Path::new("/tmp/psiq-layer-copy.csv").exists());
    assert_eq!(db.rows(), "1", "the data is as it was");
    assert_eq!(db.sql("SELECT count(*) FROM pg_tables WHERE tablename = 'u'"), "0");
    assert_eq!(db.sql("SELECT last_value FROM s"), "1", "the sequence never advanced");
}

#[test]
fn postgres_stops_a_long_statement_at_its_timeout_with_the_guardrail_off() {
    let db = PgScratch::new("pgtimeout");
    let started = Instant::now();
    let err = message(&db.run("SELECT pg_sleep(30)::text", 300));
    assert!(err.contains("statement timeout"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(20), "the server, not the sleep, ended it");
}

/// A DuckDB file holding `t(a)` with one row, as an import leaves it, plus a file outside the source.
struct DuckScratch {
    dir: tempfile::TempDir,
}

impl DuckScratch {
    fn new() -> DuckScratch {
        let dir = tempfile::Builder::new().prefix("psiq-layer-duck").tempdir().unwrap();
        let conn = duckdb::Connection::open(dir.path().join("source.duckdb")).unwrap();
        conn.execute_batch("CREATE TABLE t AS SELECT 1 AS a;").unwrap();
        drop(conn);
        std::fs::write(dir.path().join("outside.csv"), "secret\nhunter2\n").unwrap();
        DuckScratch { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_string_lossy().into_owned()
    }

    fn run(&self, sql: &str) -> WorkerRun {
        let database = self.path("source.duckdb");
        run_worker_job(Job::Query(QueryJob {
            source: FileSource {
                tables: vec![FileTable {
                    table: "t".into(),
                    kind: FileKind::Csv,
                    storage: TableStorage::Ingested,
                    paths: vec![],
                    pattern: String::new(),
                }],
                database: Some(database),
            },
            sql: sql.into(),
            row_limit: 100,
            batch_rows: 10,
            limits: DuckLimits { memory_limit_mb: 256, threads: 1, max_file_bytes: 1 << 30 },
        }))
    }

    fn rows(&self) -> i64 {
        let conn = duckdb::Connection::open(self.path("source.duckdb")).unwrap();
        conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap()
    }
}

#[test]
fn duckdb_refuses_writes_files_extensions_and_settings_with_the_guardrail_off() {
    let duck = DuckScratch::new();
    let ok = duck.run("SELECT a FROM t");
    assert!(ok.failure().is_none(), "{:?}", ok.failure());
    assert_eq!(ok.rows(), 1);

    let out = duck.path("out.csv");
    let other = duck.path("other.duckdb");
    let outside = duck.path("outside.csv");
    for hostile in [
        "INSERT INTO ingested.t VALUES (2)".to_owned(),
        "DELETE FROM ingested.t".to_owned(),
        "DROP TABLE ingested.t".to_owned(),
        format!("COPY (SELECT 42) TO '{out}'"),
        format!("COPY ingested.t TO '{out}'"),
        format!("SELECT * FROM read_csv('{outside}')"),
        format!("SELECT * FROM '{outside}'"),
        "SELECT * FROM read_text('/etc/passwd')".to_owned(),
        format!("ATTACH '{other}' AS o"),
        "INSTALL httpfs".to_owned(),
        "LOAD httpfs".to_owned(),
        "SET enable_external_access = true".to_owned(),
        "SET lock_configuration = false".to_owned(),
        "SELECT * FROM read_csv('https://example.com/x.csv')".to_owned(),
    ] {
        let run = duck.run(&hostile);
        assert!(run.failure().is_some(), "{hostile} was allowed by the database: {} rows", run.rows());
    }
    assert_eq!(duck.rows(), 1, "the source's data is as it was");
    assert!(!std::path::Path::new(&out).exists(), "nothing was written outside");
    assert!(!std::path::Path::new(&other).exists());
}
