//! Benchmarks of the database connectors, printed as Markdown for BENCHMARKS.md: 1M lineitem rows from
//! PostgreSQL and MariaDB through a worker, versus the same query with the drivers in-process and with the
//! servers' own command-line clients; time to first batch; the worker's peak RSS against batch and result size.
//!
//! The table is the Parquet benchmark file's data (`fixtures::write_lineitem`), loaded into the database
//! `psiq_bench` of each server from its CSV twin. Loading is skipped when the table already holds the same rows,
//! as a content checksum computed by the server and by DuckDB over the Parquet file shows.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use futures_util::{TryStreamExt, pin_mut};
use mysql_async::prelude::Queryable;
use polystoreiq_broker::launcher::WorkerLauncher;
use polystoreiq_broker::supervisor::{CancelToken, Execution, SupervisorEvent, WorkerSupervisor};
use polystoreiq_protocol::types::{DbTarget, SourceKind, TlsMode, WorkerKind, WorkerState};
use polystoreiq_protocol::worker::{DbAction, DbJob, FromWorker, Job, WorkerError};
use tokio_postgres::types::{FromSql, Type};

use crate::bench::Stats;
use crate::{fixtures, servers};

/// The database both servers hold the benchmark table in.
pub const DATABASE: &str = "psiq_bench";
/// Rows of the benchmark table.
const ROWS: u64 = 1_000_000;
/// The broker's default rows per batch frame (`POLYSTOREIQ_BATCH_ROWS`).
const BATCH_ROWS: u32 = 8192;
const SELECT_ALL: &str = "SELECT * FROM lineitem";
/// The row limit of the fetches: above the table, so nothing is truncated.
const ROW_LIMIT: u64 = ROWS + 1;
/// The pause before every timed run, of every path: the gap between two user actions. After a run through a
/// worker, the launcher starts the next spare worker (about 12 ms of CPU), which would otherwise run during the
/// next path's measure.
const SETTLE: Duration = Duration::from_millis(100);

#[derive(Clone, Copy, PartialEq, Eq)]
enum Engine {
    Postgres,
    Mariadb,
}

impl Engine {
    fn name(self) -> &'static str {
        match self {
            Engine::Postgres => "PostgreSQL",
            Engine::Mariadb => "MariaDB",
        }
    }

    fn target(self) -> DbTarget {
        let (port, user) = match self {
            Engine::Postgres => (5432, "postgres"),
            Engine::Mariadb => (3306, "root"),
        };
        DbTarget { host: "127.0.0.1".into(), port, database: DATABASE.into(), user: user.into(), tls: TlsMode::Disable }
    }

    fn job(self, sql: &str, batch_rows: u32) -> DbJob {
        let kind = match self {
            Engine::Postgres => SourceKind::Postgres,
            Engine::Mariadb => SourceKind::Mysql,
        };
        let action = DbAction::Query { sql: sql.to_owned(), row_limit: ROW_LIMIT, batch_rows, timeout_ms: 600_000 };
        DbJob { kind, target: self.target(), password: None, action }
    }

    /// The server's processes, by the name they run under (`/proc/PID/comm`).
    fn server_comm(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::Mariadb => "mariadbd",
        }
    }

    fn worker_kind(self) -> WorkerKind {
        match self {
            Engine::Postgres => WorkerKind::Postgres,
            Engine::Mariadb => WorkerKind::Mysql,
        }
    }

    /// The server's client running `sql` on `database`, printing bare values.
    fn client(self, database: &str, sql: &str) -> Command {
        match self {
            Engine::Postgres => {
                let mut cmd = servers::psql_command(database);
                cmd.args(["-tAc", sql]);
                cmd
            }
            Engine::Mariadb => {
                #[allow(clippy::disallowed_methods)] // The server's own client, for loading, checking and timing.
                let mut cmd = Command::new("mysql");
                cmd.args(["--protocol=tcp", "-h", "127.0.0.1", "-u", "root", "-N", "-B", "-e", sql, database]);
                cmd
            }
        }
    }

    /// Runs `sql` with the server's client; its output, trimmed.
    fn sql(self, database: &str, sql: &str) -> anyhow::Result<String> {
        output(self.client(database, sql))
    }

    /// `SELECT * FROM lineitem` to `/dev/null` by the server's own client, as a person would time it.
    fn cli_fetch(self) -> Command {
        match self {
            Engine::Postgres => self.client(DATABASE, r"\copy (SELECT * FROM lineitem) to /dev/null"),
            Engine::Mariadb => {
                #[allow(clippy::disallowed_methods)] // The server's own client is one of the measured paths.
                let mut cmd = Command::new("mysql");
                cmd.args(["--protocol=tcp", "-h", "127.0.0.1", "-u", "root", DATABASE, "-e", SELECT_ALL]);
                cmd
            }
        }
    }

    fn version(self) -> anyhow::Result<String> {
        let full = match self {
            Engine::Postgres => self.sql("postgres", "SHOW server_version")?,
            Engine::Mariadb => self.sql("mysql", "SELECT VERSION()")?,
        };
        Ok(full.split([' ', '-']).next().unwrap_or_default().to_owned())
    }

    fn checksum_dialect(self) -> Dialect {
        match self {
            Engine::Postgres => Dialect {
                int: |x| format!("CAST(round({x}) AS bigint)"),
                days: |x| format!("({x} - DATE '1992-01-01')"),
                text: "text",
            },
            Engine::Mariadb => Dialect {
                int: |x| format!("CAST(ROUND({x}) AS SIGNED)"),
                days: |x| format!("DATEDIFF({x}, '1992-01-01')"),
                text: "CHAR",
            },
        }
    }

    fn table_exists(self) -> anyhow::Result<bool> {
        Ok(match self {
            Engine::Postgres => self.sql(DATABASE, "SELECT to_regclass('public.lineitem') IS NOT NULL")? == "t",
            Engine::Mariadb => {
                self.sql(
                    DATABASE,
                    "SELECT count(*) FROM information_schema.tables \
                     WHERE table_schema = 'psiq_bench' AND table_name = 'lineitem'",
                )? == "1"
            }
        })
    }

    /// Creates the database if needed and (re)loads `lineitem` from `csv` unless it already holds `expected`.
    fn ensure_loaded(self, csv: &Path, expected: &str) -> anyhow::Result<&'static str> {
        match self {
            Engine::Postgres => {
                if self.sql("postgres", &format!("SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"))?.is_empty()
                {
                    self.sql("postgres", &format!("CREATE DATABASE {DATABASE}"))?;
                }
            }
            Engine::Mariadb => {
                self.sql("mysql", &format!("CREATE DATABASE IF NOT EXISTS {DATABASE}"))?;
            }
        }
        let checksum = checksum_sql(self.checksum_dialect(), "lineitem");
        if self.table_exists()? && self.sql(DATABASE, &checksum)? == expected {
            return Ok("already loaded");
        }
        let csv = csv.to_str().context("the CSV path is not UTF-8")?.replace('\'', "''");
        let columns = "l_orderkey BIGINT NOT NULL, l_partkey BIGINT NOT NULL, l_suppkey BIGINT NOT NULL, \
                       l_linenumber INTEGER NOT NULL, l_quantity DOUBLE PRECISION NOT NULL, \
                       l_extendedprice DOUBLE PRECISION NOT NULL, l_discount DOUBLE PRECISION NOT NULL, \
                       l_returnflag CHAR(1) NOT NULL, l_shipdate DATE NOT NULL, l_shipinstruct VARCHAR(25) NOT NULL";
        match self {
            Engine::Postgres => {
                // One psql session: `\copy` reads the file on this side and streams it to the server.
                let mut cmd = servers::psql_command(DATABASE);
                cmd.arg("-q")
                    .args(["-c", "DROP TABLE IF EXISTS lineitem"])
                    .args(["-c", &format!("CREATE TABLE lineitem ({columns})")])
                    .args(["-c", &format!(r"\copy lineitem FROM '{csv}' WITH (FORMAT csv, HEADER true)")])
                    // Frozen and analysed: the measured reads set no hint bits and write nothing.
                    .args(["-c", "VACUUM (FREEZE, ANALYZE) lineitem"]);
                output(cmd)?;
            }
            Engine::Mariadb => {
                #[allow(clippy::disallowed_methods)] // The server's own client loads the data.
                let mut cmd = Command::new("mysql");
                cmd.args(["--protocol=tcp", "-h", "127.0.0.1", "-u", "root", "--local-infile=1", DATABASE, "-e"]).arg(
                    format!(
                        "DROP TABLE IF EXISTS lineitem; CREATE TABLE lineitem ({columns}) ENGINE=InnoDB; \
                         LOAD DATA LOCAL INFILE '{csv}' INTO TABLE lineitem CHARACTER SET utf8mb4 \
                         FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' \
                         IGNORE 1 LINES; ANALYZE TABLE lineitem;"
                    ),
                );
                output(cmd)?;
            }
        }
        let loaded = self.sql(DATABASE, &checksum)?;
        ensure!(
            loaded == expected,
            "{} holds other rows than the Parquet file after loading: checksum {loaded}, expected {expected}",
            self.name()
        );
        Ok("loaded now")
    }
}

/// How one SQL dialect spells the pieces of the checksum.
struct Dialect {
    /// A double rounded to a 64-bit integer.
    int: fn(&str) -> String,
    /// Days from 1992-01-01 to a date.
    days: fn(&str) -> String,
    /// The text type a number is cast to.
    text: &'static str,
}

/// The row count and one exact integer sum per column (each value weighted by its row's `l_orderkey`, so rows
/// that swap values do not cancel out), joined by `:`.
fn checksum_sql(d: Dialect, from: &str) -> String {
    let weighted = |value: String| format!("sum(l_orderkey * {value})");
    let parts = [
        "count(*)".to_owned(),
        "sum(l_orderkey)".to_owned(),
        weighted("l_partkey".into()),
        weighted("l_suppkey".into()),
        weighted("l_linenumber".into()),
        weighted((d.int)("l_quantity")),
        weighted((d.int)("l_extendedprice * 100")),
        weighted((d.int)("l_discount * 100")),
        weighted("ascii(l_returnflag)".into()),
        weighted((d.days)("l_shipdate")),
        weighted("length(l_shipinstruct)".into()),
        weighted("ascii(l_shipinstruct)".into()),
    ];
    let columns: Vec<String> = parts.iter().map(|p| format!("CAST({p} AS {})", d.text)).collect();
    format!("SELECT concat_ws(':', {}) FROM {from}", columns.join(", "))
}

/// The checksum of the Parquet benchmark file, computed by DuckDB.
fn expected_checksum(parquet: &Path) -> anyhow::Result<String> {
    let conn = duckdb::Connection::open_in_memory()?;
    let dialect = Dialect {
        int: |x| format!("CAST(round({x}) AS BIGINT)"),
        days: |x| format!("date_diff('day', DATE '1992-01-01', {x})"),
        text: "VARCHAR",
    };
    let from = format!("read_parquet('{}')", parquet.to_string_lossy().replace('\'', "''"));
    Ok(conn.query_row(&checksum_sql(dialect, &from), [], |row| row.get::<_, String>(0))?)
}

fn output(mut cmd: Command) -> anyhow::Result<String> {
    let out = cmd.stdin(Stdio::null()).output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{:?} failed ({}): {}; are the servers up (scripts/services)?",
            cmd.get_program(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// One fetch of a result.
struct Fetch {
    rows: u64,
    elapsed: Duration,
    /// From the start to the first batch of rows.
    first_batch: Duration,
    /// The worker's peak resident set, `VmHWM` (through a worker watched for it only).
    peak_rss_kb: u64,
    /// The worker's peak RSS as the health registry shows it once the worker is reaped (through a worker only).
    reaped_rss_kb: u64,
}

/// `VmHWM` of a live process: the peak resident set of its program image since `exec`, in KiB.
fn vm_hwm_kb(pid: u32) -> Option<u64> {
    polystoreiq_protocol::worker::vm_hwm_kb(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// One lineitem row as an application holds it: every value converted into a Rust value.
#[allow(dead_code)] // The fields are only ever written: converting is what is measured.
struct LineItem {
    orderkey: i64,
    partkey: i64,
    suppkey: i64,
    linenumber: i32,
    quantity: f64,
    extendedprice: f64,
    discount: f64,
    returnflag: String,
    /// Days since 1970-01-01.
    shipdate: i32,
    shipinstruct: String,
}

/// A PostgreSQL `date`: days since 2000-01-01 on the wire.
struct PgDate(i32);

impl<'a> FromSql<'a> for PgDate {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(PgDate(i32::from_be_bytes(raw.try_into()?) + 10_957))
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::DATE
    }
}

/// Rows collected `batch_rows` at a time, as a consumer of batches would hold them.
struct Collector {
    started: Instant,
    batch: Vec<LineItem>,
    batch_rows: usize,
    rows: u64,
    first_batch: Option<Duration>,
}

impl Collector {
    fn new(batch_rows: u32) -> Collector {
        let batch_rows = batch_rows as usize;
        Collector {
            started: Instant::now(),
            batch: Vec::with_capacity(batch_rows),
            batch_rows,
            rows: 0,
            first_batch: None,
        }
    }

    fn push(&mut self, item: LineItem) {
        self.batch.push(item);
        self.rows += 1;
        if self.batch.len() == self.batch_rows {
            self.first_batch.get_or_insert_with(|| self.started.elapsed());
            std::hint::black_box(&self.batch);
            self.batch.clear();
        }
    }

    fn finish(self) -> Fetch {
        let elapsed = self.started.elapsed();
        Fetch {
            rows: self.rows,
            elapsed,
            first_batch: self.first_batch.unwrap_or(elapsed),
            peak_rss_kb: 0,
            reaped_rss_kb: 0,
        }
    }
}

/// `SELECT * FROM lineitem` with tokio-postgres in this process: connect, prepare, stream the rows in the binary
/// format, convert every value.
async fn tokio_postgres_fetch(batch_rows: u32) -> anyhow::Result<Fetch> {
    let mut collector = Collector::new(batch_rows);
    let (client, connection) = tokio_postgres::Config::new()
        .host("127.0.0.1")
        .port(5432)
        .user("postgres")
        .dbname(DATABASE)
        .connect(tokio_postgres::NoTls)
        .await?;
    let connection = tokio::spawn(connection);
    let statement = client.prepare(SELECT_ALL).await?;
    let rows = client.query_raw(&statement, std::iter::empty::<&str>()).await?;
    pin_mut!(rows);
    while let Some(row) = rows.try_next().await? {
        collector.push(LineItem {
            orderkey: row.try_get(0)?,
            partkey: row.try_get(1)?,
            suppkey: row.try_get(2)?,
            linenumber: row.try_get(3)?,
            quantity: row.try_get(4)?,
            extendedprice: row.try_get(5)?,
            discount: row.try_get(6)?,
            returnflag: row.try_get(7)?,
            shipdate: row.try_get::<_, PgDate>(8)?.0,
            shipinstruct: row.try_get(9)?,
        });
    }
    drop(client);
    let _ = connection.await;
    Ok(collector.finish())
}

/// The same with mysql_async: connect, prepare, stream the rows in the binary protocol, convert every value.
async fn mysql_async_fetch(batch_rows: u32) -> anyhow::Result<Fetch> {
    let mut collector = Collector::new(batch_rows);
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(3306)
        .user(Some("root"))
        .db_name(Some(DATABASE))
        .prefer_socket(false);
    let mut conn = mysql_async::Conn::new(opts).await?;
    {
        let mut result = conn.exec_iter(SELECT_ALL, ()).await?;
        let mut rows = result.stream::<mysql_async::Row>().await?.context("SELECT returned no result set")?;
        while let Some(row) = rows.try_next().await? {
            type Values = (i64, i64, i64, i32, f64, f64, f64, String, mysql_async::Value, String);
            let (orderkey, partkey, suppkey, linenumber, quantity, extendedprice, discount, returnflag, date, instruct) =
                mysql_async::from_row_opt::<Values>(row)?;
            let mysql_async::Value::Date(year, month, day, ..) = date else { bail!("l_shipdate is no date: {date:?}") };
            collector.push(LineItem {
                orderkey,
                partkey,
                suppkey,
                linenumber,
                quantity,
                extendedprice,
                discount,
                returnflag,
                shipdate: days_from_civil(i32::from(year), u32::from(month), u32::from(day)),
                shipinstruct: instruct,
            });
        }
    }
    conn.disconnect().await?;
    Ok(collector.finish())
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month as i32 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub struct DbBench {
    supervisor: Arc<WorkerSupervisor>,
    /// The runtime the in-process drivers run on: one thread, as a worker's connector runs.
    driver_runtime: tokio::runtime::Runtime,
}

impl DbBench {
    /// A supervisor with a spare worker started ahead of time, as the broker runs by default.
    pub fn new(dir: &Path, worker_bin: std::path::PathBuf) -> anyhow::Result<DbBench> {
        let launcher = WorkerLauncher::new(worker_bin, dir.join("scratch"), 16 * 1024, true);
        let driver_runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        Ok(DbBench { supervisor: Arc::new(WorkerSupervisor::new(launcher, 4, 64)), driver_runtime })
    }

    /// The query through a worker of the broker's supervisor, as the broker runs it (sandbox policy, spare worker,
    /// frames decoded by the supervisor). With `watch_rss`, the worker's peak RSS is read from `/proc` at every
    /// frame; timed runs leave it out, as reading `/proc` on the consumer's thread is not the broker's work.
    async fn through_worker(
        &self,
        engine: Engine,
        sql: &str,
        batch_rows: u32,
        watch_rss: bool,
    ) -> anyhow::Result<Fetch> {
        let exec = Execution {
            run: None,
            source: format!("bench-{}", engine.name()),
            kind: engine.worker_kind(),
            job: Job::Database(engine.job(sql, batch_rows)),
            deadline: Duration::from_secs(600),
            cancel: CancelToken::default(),
        };
        let started = Instant::now();
        let (mut rows, mut first_batch, mut pid, mut peak_rss_kb) = (0u64, None, 0, 0);
        let outcome = self
            .supervisor
            .execute(exec, &mut |event| match event {
                SupervisorEvent::Started { pid: started_pid } => pid = started_pid,
                SupervisorEvent::Output(frame) => {
                    if let FromWorker::Batch(batch) = frame {
                        first_batch.get_or_insert_with(|| started.elapsed());
                        rows += batch.row_count() as u64;
                    }
                    // The worker's high-water mark so far; after its last batch it only reports the end.
                    if watch_rss {
                        peak_rss_kb = peak_rss_kb.max(vm_hwm_kb(pid).unwrap_or(0));
                    }
                }
                _ => {}
            })
            .await
            .map_err(|failure| anyhow::anyhow!("{} through a worker: {failure}", engine.name()))?;
        let elapsed = started.elapsed();
        ensure!(outcome.done.rows == rows, "the worker counted {} rows, its batches held {rows}", outcome.done.rows);
        // The worker is reaped in the background after `Done`; the registry's figure is final with the reaping.
        let waiting = Instant::now();
        let reaped_rss_kb = loop {
            let finished = self
                .supervisor
                .health()
                .snapshot()
                .into_iter()
                .find(|h| h.pid == outcome.pid && h.state == WorkerState::Finished)
                .map(|h| h.peak_rss_kb);
            match finished {
                Some(kb) => break kb,
                None if waiting.elapsed() > Duration::from_secs(10) => bail!("worker {} was never reaped", outcome.pid),
                None => tokio::time::sleep(Duration::from_millis(2)).await,
            }
        };
        Ok(Fetch { rows, elapsed, first_batch: first_batch.unwrap_or(elapsed), peak_rss_kb, reaped_rss_kb })
    }

    /// The query with the plain driver in this process.
    fn driver(&self, engine: Engine) -> anyhow::Result<Fetch> {
        match engine {
            Engine::Postgres => self.driver_runtime.block_on(tokio_postgres_fetch(BATCH_ROWS)),
            Engine::Mariadb => self.driver_runtime.block_on(mysql_async_fetch(BATCH_ROWS)),
        }
    }

    /// The worker's own connector in this process: everything a worker does but the process, sandbox and pipe.
    fn connector(engine: Engine) -> anyhow::Result<Fetch> {
        let job = engine.job(SELECT_ALL, BATCH_ROWS);
        let started = Instant::now();
        let (mut rows, mut first_batch) = (0u64, None);
        let mut emit = |frame| {
            if let FromWorker::Batch(batch) = frame {
                first_batch.get_or_insert_with(|| started.elapsed());
                rows += batch.row_count() as u64;
            }
            Ok::<(), WorkerError>(())
        };
        let done = match engine {
            Engine::Postgres => polystoreiq_workers::postgres::run(&job, &mut emit),
            Engine::Mariadb => polystoreiq_workers::mysql::run(&job, &mut emit),
        }?;
        let elapsed = started.elapsed();
        ensure!(done.rows == rows, "the connector counted {} rows, its batches held {rows}", done.rows);
        Ok(Fetch { rows, elapsed, first_batch: first_batch.unwrap_or(elapsed), peak_rss_kb: 0, reaped_rss_kb: 0 })
    }

    fn cli(engine: Engine) -> anyhow::Result<Fetch> {
        let mut cmd = engine.cli_fetch();
        let started = Instant::now();
        let status = cmd.stdin(Stdio::null()).stdout(Stdio::null()).status()?;
        let elapsed = started.elapsed();
        ensure!(status.success(), "{cmd:?} failed: {status}");
        // The client prints nothing before the end worth calling a first batch; its rows are the table's.
        Ok(Fetch { rows: ROWS, elapsed, first_batch: elapsed, peak_rss_kb: 0, reaped_rss_kb: 0 })
    }

    /// The whole section: loads both servers if needed, then measures each path `reps` times, interleaved.
    pub fn section(&self, runtime: &tokio::runtime::Runtime, dir: &Path, reps: usize) -> anyhow::Result<String> {
        let parquet = dir.join("lineitem.parquet");
        let csv = dir.join("lineitem.csv");
        if !parquet.exists() || !csv.exists() {
            fixtures::write_lineitem(dir, ROWS, true, true, false)?;
        }
        let expected = expected_checksum(&parquet)?;
        let mut out = String::new();
        let mut ratios = String::new();
        let mut memory = String::new();
        let mut cpu_table = String::new();
        let mut servers = Vec::new();
        for engine in [Engine::Postgres, Engine::Mariadb] {
            let load = engine.ensure_loaded(&csv, &expected)?;
            eprintln!("{} table lineitem in {DATABASE}: {load}", engine.name());
            servers.push(format!("{} {}", engine.name(), engine.version()?));
            // One untimed read of each kind warms the server's cache and this process's allocator.
            runtime.block_on(self.through_worker(engine, SELECT_ALL, BATCH_ROWS, false))?;
            self.driver(engine)?;
            let mut samples: [Vec<Fetch>; 4] = Default::default();
            let mut cpu: [Vec<Cpu>; 4] = Default::default();
            for _ in 0..reps {
                let runs: [&dyn Fn() -> anyhow::Result<Fetch>; 4] = [
                    &|| runtime.block_on(self.through_worker(engine, SELECT_ALL, BATCH_ROWS, false)),
                    &|| self.driver(engine),
                    &|| Self::connector(engine),
                    &|| Self::cli(engine),
                ];
                for (i, run) in runs.iter().enumerate() {
                    std::thread::sleep(SETTLE);
                    let before = Cpu::now(engine);
                    samples[i].push(run()?);
                    cpu[i].push(Cpu::now(engine).since(before));
                }
            }
            for sample in &samples {
                ensure!(sample.iter().all(|f| f.rows == ROWS), "a fetch from {} missed rows", engine.name());
            }
            let driver_name = if engine == Engine::Postgres { "tokio-postgres" } else { "mysql_async" };
            let cli = if engine == Engine::Postgres {
                r#"`psql -c "\copy (SELECT * FROM lineitem) to /dev/null"`"#
            } else {
                "`mysql -e \"SELECT * FROM lineitem\" > /dev/null`"
            };
            let paths = [
                "through a worker: spawn, sandbox, connect, session report, read-only transaction, convert, encode, \
                 pipe, decode"
                    .to_owned(),
                format!("in-process {driver_name}: connect, prepare, stream, every value into a Rust value"),
                format!("in-process worker connector (`polystoreiq_workers::{}::run`): no process, no pipe", {
                    if engine == Engine::Postgres { "postgres" } else { "mysql" }
                }),
                format!("{cli} (text format)"),
            ];
            let short = ["through a worker", driver_name, "worker connector in-process", "command-line client"];
            let mut p50s = Vec::new();
            for (i, (path, sample)) in paths.iter().zip(&samples).enumerate() {
                let total = Stats::of(sample.iter().map(|f| f.elapsed).collect());
                // A client writing to /dev/null shows no first batch.
                let first = if i == 3 {
                    String::new()
                } else {
                    ms(Stats::of(sample.iter().map(|f| f.first_batch).collect()).p50)
                };
                p50s.push(total.p50);
                let p50 = |part: fn(&Cpu) -> Duration| ms(Stats::of(cpu[i].iter().map(part).collect()).p50);
                let _ = writeln!(
                    cpu_table,
                    "| {} | {} | {} | {} | {} | {} |",
                    engine.name(),
                    short[i],
                    p50(|c| c.this),
                    p50(|c| c.children),
                    p50(|c| c.server),
                    p50(|c| c.this + c.children + c.server),
                );
                let _ = writeln!(
                    out,
                    "| {} | {path} | {} | {} | {:.0} | {first} | {} runs |",
                    engine.name(),
                    ms(total.p50),
                    ms(total.p95),
                    ROWS as f64 / total.p50.as_secs_f64(),
                    total.n,
                );
            }
            let _ = writeln!(
                ratios,
                "| {} | {:.2}x | {:.2}x | {:.2}x | ≥ 0.9x vs {driver_name} |",
                engine.name(),
                p50s[1].as_secs_f64() / p50s[0].as_secs_f64(),
                p50s[2].as_secs_f64() / p50s[0].as_secs_f64(),
                p50s[3].as_secs_f64() / p50s[0].as_secs_f64(),
            );
            // Peak RSS against the batch size (10x smaller and larger) and the result size (10x and 10^6x smaller).
            for (rows, batch_rows) in [
                (ROWS, BATCH_ROWS),
                (ROWS, BATCH_ROWS / 10),
                (ROWS, BATCH_ROWS * 10),
                (ROWS / 10, BATCH_ROWS),
                (1, BATCH_ROWS),
            ] {
                let sql = if rows == ROWS { SELECT_ALL.to_owned() } else { format!("{SELECT_ALL} LIMIT {rows}") };
                let (mut kb, mut reaped) = (Vec::new(), Vec::new());
                for _ in 0..3 {
                    let fetch = runtime.block_on(self.through_worker(engine, &sql, batch_rows, true))?;
                    ensure!(fetch.rows == rows, "{sql} returned {} rows", fetch.rows);
                    kb.push(fetch.peak_rss_kb);
                    reaped.push(fetch.reaped_rss_kb);
                }
                let (kb, reaped) = (mib(median(kb)), mib(median(reaped)));
                let _ = writeln!(memory, "| {} | {rows} | {batch_rows} | {kb} | {reaped} |", engine.name());
            }
        }
        Ok(format!(
            "`SELECT * FROM lineitem`: 1M rows x 10 columns (the Parquet benchmark file's data: 3 BIGINT, INTEGER, 3 \
             DOUBLE, CHAR(1), DATE, VARCHAR) from {} over TCP on this machine, {BATCH_ROWS} rows per batch, p50 and \
             p95 of {reps} runs of each path, interleaved. rows/s is from the p50; first batch is from the start to \
             the first {BATCH_ROWS} rows in the consumer's hands.\n\n\
             | engine | path | p50 | p95 | rows/s | first batch | sample |\n|---|---|---|---|---|---|---|\n{out}\n\
             The worker's rows/s divided by each other path's (1.00x: as fast; above: faster).\n\n\
             | engine | worker / driver | worker / connector in-process | worker / CLI | target |\n\
             |---|---|---|---|---|\n{ratios}\n\
             CPU time per run, p50 by column, from `getrusage` (this process: the broker's side of a worker, or the \
             in-process driver; its reaped children: the worker, or the command-line client) and from `/proc` (the \
             server's processes, with their reaped children: PostgreSQL's backend for the connection). Two cores \
             serve all three.\n\n\
             | engine | path | this process | worker or client | server | total |\n|---|---|---|---|---|---|\n\
             {cpu_table}\n\
             The worker's peak RSS (`VmHWM` from `/proc`, read at every frame), p50 of 3 runs per row, apart from \
             the timed runs above (which do not read `/proc`): bounded by the batch size, not by the result size. The health registry's figure, which \
             diagnostics show, is the `VmHWM` the worker reports in its `JobDone` (not `ru_maxrss` at reaping, \
             which also counts the parent's resident set at fork).\n\n\
             | engine | result rows | batch rows | worker peak RSS | health registry's peak RSS |\n\
             |---|---|---|---|---|\n{memory}",
            servers.join(" and ")
        ))
    }
}

/// CPU time of this process, of its reaped children (workers, command-line clients) and of the server's processes:
/// used so far ([`Cpu::now`]), or spent between two readings ([`Cpu::since`]).
#[derive(Clone, Copy, Default)]
struct Cpu {
    this: Duration,
    children: Duration,
    server: Duration,
}

impl Cpu {
    fn now(engine: Engine) -> Cpu {
        Cpu {
            this: rusage(libc::RUSAGE_SELF),
            children: rusage(libc::RUSAGE_CHILDREN),
            server: server_cpu(engine.server_comm()),
        }
    }

    fn since(self, earlier: Cpu) -> Cpu {
        Cpu {
            this: self.this.saturating_sub(earlier.this),
            children: self.children.saturating_sub(earlier.children),
            server: self.server.saturating_sub(earlier.server),
        }
    }
}

/// User plus system time of `who` (`RUSAGE_SELF` or `RUSAGE_CHILDREN`).
fn rusage(who: libc::c_int) -> Duration {
    // SAFETY: zeroed rusage is a valid value; getrusage fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a local.
    unsafe { libc::getrusage(who, &mut usage) };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// User plus system time of every process named `comm`, with their reaped children's: a PostgreSQL backend's time
/// moves into the postmaster's children's time when it exits, so the sum stays whole across connections.
fn server_cpu(comm: &str) -> Duration {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    let mut total = 0u64;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // pid (comm) state ppid ...: the name is in parentheses and may hold spaces.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else { continue };
        if &stat[open + 1..close] != comm {
            continue;
        }
        // After the name: state is field 3; utime, stime, cutime, cstime are fields 14 to 17.
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        total += fields.get(11..15).into_iter().flatten().filter_map(|f| f.parse::<u64>().ok()).sum::<u64>();
    }
    Duration::from_millis(total * 1000 / ticks)
}

fn median(mut sample: Vec<u64>) -> u64 {
    sample.sort_unstable();
    sample[sample.len() / 2]
}

fn mib(kb: u64) -> String {
    format!("{:.1} MiB", kb as f64 / 1024.0)
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_count_days_from_1970() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        // PostgreSQL's epoch, which `PgDate` adds.
        assert_eq!(days_from_civil(2000, 1, 1), 10_957);
        assert_eq!(days_from_civil(1992, 3, 1) - days_from_civil(1992, 2, 28), 2, "1992 is a leap year");
        assert_eq!(days_from_civil(1900, 3, 1) - days_from_civil(1900, 2, 28), 1, "1900 is not");
    }
}
