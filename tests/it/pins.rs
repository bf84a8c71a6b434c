//! Session pins: one text, one reading. The guardrail reads PostgreSQL with standard-conforming strings and MySQL
//! with backslash escapes and `"..."` as a string; a role, database or server that says otherwise must not make
//! the server read the approved text differently. Each test runs the real worker against a server set up the
//! hostile way, and beside it the twin that shows the server, unpinned, reads the text the other way. Also: the
//! temporary-file limits the owner sets are in force (PostgreSQL `temp_file_limit`, DuckDB
//! `max_temp_directory_size`).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use polystoreiq_broker::guard::Guardrail;
use polystoreiq_protocol::types::{ColumnValues, DbTarget, Engine, SourceKind, TlsMode};
use polystoreiq_protocol::worker::{
    DbAction, DbJob, FileSource, FromWorker, Job, QueryJob, SessionLimits, WorkerError,
};

use crate::servers::{PgDb, psql};
use crate::support::{WorkerRun, run_worker_job_with};

/// What the guardrail allows: two string literals. A server with `standard_conforming_strings = off` reads one
/// literal, `x' AS a, `, then a call of `pg_read_file`, then a comment. (The call's argument holds no quote: one
/// would end the guardrail's second literal.)
const HIDDEN_CALL: &str = r"SELECT 'x\' AS a, ' , pg_read_file(current_setting(chr(100)) || chr(47) || chr(80)) -- '";
/// The same shape with a harmless call whose result shows which reading the server took.
const HIDDEN_UPPER: &str = r"SELECT 'x\' AS a, ' , upper(current_user) -- '";

/// A scratch database and a login role of the test's own (trust authentication, no password), dropped at the end.
struct PgRole {
    db: PgDb,
}

impl PgRole {
    /// A database and a non-superuser role named alike; `setup` runs in the database as the superuser.
    fn new(prefix: &str, setup: &str) -> PgRole {
        let db = PgDb::with_role(prefix);
        db.sql(setup);
        PgRole { db }
    }

    /// The database's name, and the role's.
    fn name(&self) -> &str {
        self.db.name()
    }

    fn run(&self, user: &str, action: DbAction, limits: SessionLimits) -> WorkerRun {
        let scratch = tempfile::tempdir().unwrap();
        let job =
            Job::Database(DbJob { kind: SourceKind::Postgres, target: self.db.target(user), password: None, action });
        run_worker_job_with(job, limits, scratch.path())
    }

    fn query(&self, user: &str, sql: &str, limits: SessionLimits) -> WorkerRun {
        self.run(user, DbAction::Query { sql: sql.into(), row_limit: 100, batch_rows: 10, timeout_ms: 30_000 }, limits)
    }

    /// The twin: the same text sent by the driver alone, as this role, with nothing pinned.
    fn unpinned<T>(&self, f: impl AsyncFnOnce(&tokio_postgres::Client) -> T) -> T {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let config = format!("host=127.0.0.1 port=5432 user={} dbname={}", self.name(), self.name());
            let (client, connection) = tokio_postgres::connect(&config, tokio_postgres::NoTls).await.unwrap();
            tokio::spawn(connection);
            f(&client).await
        })
    }
}

/// The first row of a finished run, each value as text (`None` for NULL).
fn first_row(run: &WorkerRun) -> Vec<Option<String>> {
    assert!(run.failure().is_none(), "the run failed: {:?}; stderr: {}", run.failure(), run.stderr);
    let batch =
        run.frames.iter().find_map(|f| if let FromWorker::Batch(b) = f { Some(b) } else { None }).expect("a batch");
    batch
        .columns
        .iter()
        .map(|column| match column {
            ColumnValues::Text(text) => text.get(0).map(str::to_owned),
            ColumnValues::Int(ints) => ints.get(0).map(|i| i.to_string()),
            other => panic!("unexpected column {other:?}"),
        })
        .collect()
}

fn failure(run: &WorkerRun) -> &WorkerError {
    run.failure().unwrap_or_else(|| panic!("the job was expected to fail; it sent {} rows", run.rows()))
}

#[test]
fn postgres_reads_strings_as_the_guardrail_does_when_the_role_turns_standard_strings_off() {
    let db = PgRole::new("psiq_pin_scs", "SELECT 1");
    psql("postgres", &format!("ALTER ROLE {} SET standard_conforming_strings = off", db.name()));
    // The guardrail's reading: two literals, nothing to refuse.
    assert!(Guardrail::new(Engine::Postgres).check(HIDDEN_CALL).allowed(), "the guardrail sees only literals");

    // The twin: as this role, the server reads a call where the guardrail read a literal.
    let (setting, row) = db.unpinned(async |client| {
        let setting: String = client.query_one("SHOW standard_conforming_strings", &[]).await.unwrap().get(0);
        let row = client.query_one(HIDDEN_UPPER, &[]).await.unwrap();
        (setting, (row.get::<_, String>(0), row.get::<_, String>(1)))
    });
    assert_eq!(setting, "off");
    assert_eq!(row, ("x' AS a, ".to_owned(), db.name().to_uppercase()), "unpinned, the call runs");

    // The worker: exactly the guardrail's two literals, and the call never ran.
    let run = db.query(db.name(), HIDDEN_UPPER, SessionLimits::DEFAULT);
    assert_eq!(first_row(&run), [Some(r"x\".to_owned()), Some(" , upper(current_user) -- ".to_owned())]);
    // A role that may not set temp_file_limit runs anyway: that pin is best-effort, and says so on stderr.
    assert!(run.stderr.contains("may not set temp_file_limit"), "{}", run.stderr);

    // The dry run reads it the same way: a call of a function that does not exist, hidden in a literal, prepares
    // when pinned and fails unpinned.
    let hidden_missing = r"SELECT 'x\' AS a, ' , psiq_no_such_function() -- '";
    let check =
        db.run(db.name(), DbAction::Check { sql: hidden_missing.into(), timeout_ms: 5_000 }, SessionLimits::DEFAULT);
    assert!(check.failure().is_none(), "{:?}", check.failure());
    let unpinned = db.unpinned(async |client| {
        let err = client.prepare(hidden_missing).await.map(|_| ()).unwrap_err();
        err.as_db_error().map(|db| db.message().to_owned()).unwrap_or_else(|| err.to_string())
    });
    assert!(unpinned.contains("psiq_no_such_function"), "unpinned, the server sees the call: {unpinned}");
}

#[test]
fn postgres_names_resolve_as_the_schema_snapshot_says_whatever_the_roles_search_path() {
    let db = PgRole::new(
        "psiq_pin_path",
        "CREATE TABLE public.t (a text); INSERT INTO public.t VALUES ('public');
         CREATE SCHEMA shadow; CREATE TABLE shadow.t (a text); INSERT INTO shadow.t VALUES ('shadow');",
    );
    psql(
        db.name(),
        &format!(
            "GRANT USAGE ON SCHEMA shadow TO {0}; GRANT SELECT ON public.t, shadow.t TO {0};
             ALTER ROLE {0} SET search_path = shadow, public",
            db.name()
        ),
    );
    // The twin: the role's own search path puts shadow.t behind the bare name.
    let unpinned: String = db.unpinned(async |client| client.query_one("SELECT a FROM t", &[]).await.unwrap().get(0));
    assert_eq!(unpinned, "shadow");
    // The schema snapshot names public.t `t` and the other `shadow.t`; the worker reads them so.
    let run = db.query(db.name(), "SELECT a FROM t", SessionLimits::DEFAULT);
    assert_eq!(first_row(&run), [Some("public".to_owned())]);
    let run = db.query(db.name(), "SELECT a FROM shadow.t", SessionLimits::DEFAULT);
    assert_eq!(first_row(&run), [Some("shadow".to_owned())]);
}

#[test]
fn postgres_temp_file_limit_and_work_mem_are_in_force() {
    let db = PgRole::new("psiq_pin_temp", "SELECT 1");
    // A sort of ~20 MB with 1 MiB of work memory spills to temporary files.
    let sort = "SELECT count(*) FROM (SELECT md5(g::text) AS m FROM generate_series(1, 300000) g ORDER BY 1) s";
    let tiny = SessionLimits { temp_space_mb: 1, work_mem_mb: 1 };
    let run = db.query("postgres", sort, tiny);
    let err = failure(&run).to_string();
    assert!(err.contains("temp_file_limit") && err.contains("53400"), "{err}");
    // The twin: the same sort with room for its temporary files.
    let run = db.query("postgres", sort, SessionLimits { temp_space_mb: 1024, work_mem_mb: 1 });
    assert_eq!(first_row(&run), [Some("300000".to_owned())]);
    // work_mem is what the limits say.
    let run = db.query("postgres", "SELECT current_setting('work_mem'), current_setting('temp_file_limit')", tiny);
    assert_eq!(first_row(&run), [Some("1MB".to_owned()), Some("1MB".to_owned())]);
}

#[test]
fn duckdb_spills_inside_the_scratch_directory_up_to_the_temp_space_limit() {
    let scratch = tempfile::tempdir().unwrap();
    let query = |sql: &str, limits: SessionLimits| {
        let job = Job::Query(QueryJob {
            source: FileSource { tables: Vec::new(), database: None },
            sql: sql.into(),
            row_limit: 10,
            batch_rows: 10,
            limits: polystoreiq_protocol::worker::DuckLimits {
                memory_limit_mb: 64,
                threads: 1,
                max_file_bytes: 1 << 20,
            },
        });
        run_worker_job_with(job, limits, scratch.path())
    };
    let settings = query(
        "SELECT current_setting('temp_directory'), current_setting('max_temp_directory_size')",
        SessionLimits { temp_space_mb: 5, work_mem_mb: 64 },
    );
    let row = first_row(&settings);
    let temp = row[0].clone().unwrap();
    assert!(Path::new(&temp).starts_with(scratch.path().canonicalize().unwrap()), "{temp} is inside the scratch");
    assert_eq!(row[1].as_deref(), Some("5.0 MiB"));

    // A sort several times the memory limit must spill; 5 MiB of temporary space is not enough.
    // Sorting four million hashes (about 130 MB) in 64 MB of memory must spill; 1 MiB is not enough room.
    let sort = "SELECT m FROM (SELECT md5(range::VARCHAR) AS m FROM range(4000000)) ORDER BY m OFFSET 3999999";
    let run = query(sort, SessionLimits { temp_space_mb: 1, work_mem_mb: 64 });
    let err = failure(&run).to_string();
    assert!(err.contains("max_temp_directory_size"), "{err}");
    // The twin, with room to spill.
    let run = query(sort, SessionLimits { temp_space_mb: 4096, work_mem_mb: 64 });
    assert_eq!(first_row(&run), [Some("fffffe98d0963d27015c198262d97221".to_owned())]);
}

/// A MariaDB server of the test's own, started with `sql_mode = ANSI_QUOTES,NO_BACKSLASH_ESCAPES` (MariaDB has
/// no per-user `sql_mode`, and changing the shared server's global mode would change it under every other test),
/// stopped and deleted when dropped.
struct HostileMariadb {
    server: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl HostileMariadb {
    fn start() -> HostileMariadb {
        let dir = tempfile::Builder::new().prefix("psiq-mariadb-modes").tempdir().unwrap();
        let data = dir.path().join("data");
        let as_root = unsafe { libc::geteuid() } == 0;
        let user: &[&str] = if as_root { &["--user=root"] } else { &[] };
        #[allow(clippy::disallowed_methods)] // A server of the test's own, started with its own tools.
        let installed = Command::new("mariadb-install-db")
            .args(["--no-defaults", "--auth-root-authentication-method=normal", "--skip-test-db"])
            .arg(format!("--datadir={}", data.display()))
            .args(user)
            .output()
            .expect("mariadb-install-db is installed with the server");
        assert!(installed.status.success(), "{}", String::from_utf8_lossy(&installed.stderr));
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        #[allow(clippy::disallowed_methods)] // As above.
        let server = Command::new("mariadbd")
            .args(["--no-defaults", "--bind-address=127.0.0.1", "--skip-log-bin", "--innodb-buffer-pool-size=16M"])
            .args(["--sql-mode=ANSI_QUOTES,NO_BACKSLASH_ESCAPES,STRICT_TRANS_TABLES"])
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--port={port}"))
            .arg(format!("--socket={}", dir.path().join("sock").display()))
            .arg(format!("--pid-file={}", dir.path().join("pid").display()))
            .args(user)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd starts");
        let server = HostileMariadb { server, port, _dir: dir };
        let started = Instant::now();
        while !server.client("SELECT 1").status.success() {
            assert!(started.elapsed() < Duration::from_secs(30), "the test's MariaDB did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    fn client(&self, sql: &str) -> std::process::Output {
        #[allow(clippy::disallowed_methods)] // The server's own client, from the outside.
        Command::new("mysql")
            .args(["--protocol=tcp", "-h", "127.0.0.1", "-u", "root", "-N", "-B"])
            .arg(format!("-P{}", self.port))
            .args(["-e", sql])
            .output()
            .expect("the mysql client is installed")
    }

    fn run(&self, sql: &str) -> WorkerRun {
        let scratch = tempfile::tempdir().unwrap();
        let target = DbTarget {
            host: "127.0.0.1".into(),
            port: self.port,
            database: "pins".into(),
            user: "root".into(),
            tls: TlsMode::Disable,
        };
        let action = DbAction::Query { sql: sql.into(), row_limit: 10, batch_rows: 10, timeout_ms: 10_000 };
        let job = Job::Database(DbJob { kind: SourceKind::Mysql, target, password: None, action });
        run_worker_job_with(job, SessionLimits::DEFAULT, scratch.path())
    }
}

impl Drop for HostileMariadb {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

#[test]
fn mariadb_reads_strings_as_the_guardrail_does_when_the_server_mode_says_otherwise() {
    let server = HostileMariadb::start();
    assert!(server.client("CREATE DATABASE pins").status.success());
    let global = server.client("SELECT @@GLOBAL.sql_mode");
    assert!(String::from_utf8_lossy(&global.stdout).contains("ANSI_QUOTES,NO_BACKSLASH_ESCAPES"));

    // ANSI_QUOTES: the guardrail reads "x" as a string; unpinned, the server looks for a column x.
    let quoted = r#"SELECT "x" AS a"#;
    assert!(Guardrail::new(Engine::Mysql).check(quoted).allowed());
    let unpinned = server.client(quoted);
    assert!(String::from_utf8_lossy(&unpinned.stderr).contains("Unknown column 'x'"), "{unpinned:?}");
    assert_eq!(first_row(&server.run(quoted)), [Some("x".to_owned())]);

    // NO_BACKSLASH_ESCAPES: the guardrail reads 'a\'b' as the string a'b; unpinned, the server ends the string
    // at the backslash and reads on as code.
    let escaped = r"SELECT 'a\'b' AS s";
    assert!(Guardrail::new(Engine::Mysql).check(escaped).allowed());
    assert!(!server.client(escaped).status.success(), "unpinned, the text is not even the same statement");
    assert_eq!(first_row(&server.run(escaped)), [Some("a'b".to_owned())]);
    // The mode the worker's session holds.
    let mode = first_row(&server.run("SELECT @@SESSION.sql_mode AS m"));
    assert_eq!(mode, [Some(polystoreiq_workers::mysql::SQL_MODE.to_owned())]);
}
