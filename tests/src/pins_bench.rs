//! What the session pins cost (`polystoreiq-bench pins`): connect, open the query's transaction, run a trivial
//! query, per engine, with and without the statements that pin the session, interleaved in one run so both see
//! the same machine. The statements are the workers' own (`postgres::session::pin_sql`, `mysql::SQL_MODE`, the
//! DuckDB temporary-space settings); the drivers run them in-process, as the worker does after its start-up.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::Context;
use mysql_async::prelude::Queryable;
use polystoreiq_protocol::worker::SessionLimits;
use polystoreiq_workers::postgres::session::{ServerFacts, pin_sql};

use crate::bench::Stats;

/// How a sample opens its session.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// As the workers did before the pins: PostgreSQL's three statements one after another.
    Before,
    /// The new shape without the pins: PostgreSQL's `BEGIN` and time limits pipelined; MariaDB's and DuckDB's
    /// set-up without `sql_mode` or the temporary-space settings.
    Unpinned,
    /// What the workers do now.
    Pinned,
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// The Markdown rows: per engine and shape, p50 and p95 of `samples` sessions, and the ratio of the p50s to the
/// unpinned shape.
pub fn session_pins(samples: usize) -> anyhow::Result<String> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let mut out = String::new();
    let shapes = [Shape::Before, Shape::Unpinned, Shape::Pinned];
    let mut pg: [Vec<Duration>; 3] = Default::default();
    let mut maria: [Vec<Duration>; 2] = Default::default();
    let mut duck: [Vec<Duration>; 2] = Default::default();
    let scratch = tempfile::tempdir()?;
    // Warm-up, not counted.
    for shape in shapes {
        runtime.block_on(postgres(shape))?;
    }
    for i in 0..samples {
        // Rotate the order, so no shape always runs first.
        for k in 0..3 {
            let shape = shapes[(i + k) % 3];
            pg[shapes.iter().position(|s| *s == shape).unwrap_or(0)].push(runtime.block_on(postgres(shape))?);
        }
        for k in 0..2 {
            let pinned = (i + k) % 2 == 1;
            maria[usize::from(pinned)].push(runtime.block_on(mariadb(pinned))?);
            duck[usize::from(pinned)].push(duckdb(pinned, scratch.path())?);
        }
    }
    let row = |out: &mut String, engine: &str, shape: &str, sample: &[Duration], base: Duration| {
        let stats = Stats::of(sample.to_vec());
        let ratio = stats.p50.as_secs_f64() / base.as_secs_f64();
        let _ =
            writeln!(out, "| {engine} | {shape} | {} | {} | {ratio:.3}x | {} |", ms(stats.p50), ms(stats.p95), stats.n);
    };
    let pg_base = Stats::of(pg[1].clone()).p50;
    row(&mut out, "PostgreSQL", "before (3 statements in turn)", &pg[0], pg_base);
    row(&mut out, "PostgreSQL", "unpinned (BEGIN + limits, pipelined)", &pg[1], pg_base);
    row(&mut out, "PostgreSQL", "pinned (BEGIN + limits + pins, pipelined)", &pg[2], pg_base);
    let maria_base = Stats::of(maria[0].clone()).p50;
    row(&mut out, "MariaDB", "unpinned", &maria[0], maria_base);
    row(&mut out, "MariaDB", "pinned (sql_mode in the time_zone SET)", &maria[1], maria_base);
    let duck_base = Stats::of(duck[0].clone()).p50;
    row(&mut out, "DuckDB", "unpinned", &duck[0], duck_base);
    row(&mut out, "DuckDB", "pinned (temp_directory, max_temp_directory_size)", &duck[1], duck_base);
    Ok(out)
}

/// A connection to `database` on the local PostgreSQL as the superuser, what the server says of itself, and the
/// task that drives the connection.
async fn connect_postgres(
    database: &str,
) -> anyhow::Result<(tokio_postgres::Client, ServerFacts, tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>)> {
    let config = format!("host=127.0.0.1 port=5432 user=postgres dbname={database}");
    let (client, connection) = tokio_postgres::connect(&config, tokio_postgres::NoTls)
        .await
        .with_context(|| format!("connecting to PostgreSQL's {database} (scripts/services, scripts/seed)"))?;
    let facts =
        ServerFacts::from_parameters(connection.parameter("is_superuser"), connection.parameter("server_version"));
    Ok((client, facts, tokio::spawn(connection)))
}

/// One PostgreSQL session as the worker opens it for a query, as the superuser on the local server.
async fn postgres(shape: Shape) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let (client, facts, driver) = connect_postgres("postgres").await?;
    match shape {
        Shape::Before => {
            client.execute("BEGIN READ ONLY", &[]).await?;
            let timeout = "600000".to_owned();
            client.execute("SELECT set_config('statement_timeout', $1, true)", &[&timeout]).await?;
            client.execute("SELECT set_config('idle_in_transaction_session_timeout', $1, true)", &[&timeout]).await?;
        }
        Shape::Unpinned => {
            let limits = "SELECT set_config('statement_timeout', '600000', true), \
                          set_config('idle_in_transaction_session_timeout', '600000', true)";
            let (begun, limited) =
                tokio::join!(client.query_typed("BEGIN READ ONLY", &[]), client.query_typed(limits, &[]));
            begun?;
            limited?;
        }
        Shape::Pinned => {
            let pins = pin_sql(&SessionLimits::DEFAULT, facts, 600_000);
            let (begun, pinned) =
                tokio::join!(client.query_typed("BEGIN READ ONLY", &[]), client.query_typed(&pins, &[]));
            begun?;
            pinned?;
        }
    }
    let statement = client.prepare("SELECT 1 AS one").await?;
    client.query(&statement, &[]).await?;
    client.execute("ROLLBACK", &[]).await?;
    let elapsed = started.elapsed();
    drop(client);
    let _ = driver.await;
    Ok(elapsed)
}

/// One MariaDB session as the worker opens it for a query, as root on the local server.
async fn mariadb(pinned: bool) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(3306)
        .user(Some("root"))
        .prefer_socket(false)
        .stmt_cache_size(0);
    let mut conn = mysql_async::Conn::new(opts).await.context("connecting to MariaDB")?;
    conn.query_drop("SET NAMES utf8mb4").await?;
    if pinned {
        conn.query_drop(format!(
            "SET time_zone = '+00:00', SESSION sql_mode = '{}'",
            polystoreiq_workers::mysql::SQL_MODE
        ))
        .await?;
    } else {
        conn.query_drop("SET time_zone = '+00:00'").await?;
    }
    conn.query_drop("SET SESSION TRANSACTION READ ONLY").await?;
    if pinned {
        let _: Option<(String, String)> = conn.query_first("SELECT VERSION(), @@SESSION.sql_mode").await?;
    } else {
        let _: Option<String> = conn.query_first("SELECT VERSION()").await?;
    }
    conn.query_drop("SET SESSION max_statement_time = 600").await?;
    conn.query_drop("START TRANSACTION READ ONLY").await?;
    let statement = conn.prep("SELECT 1 AS one").await?;
    let _: Vec<i64> = conn.exec(&statement, ()).await?;
    conn.query_drop("ROLLBACK").await?;
    let elapsed = started.elapsed();
    conn.disconnect().await?;
    Ok(elapsed)
}

/// One DuckDB connection as the worker opens it for a query over no files.
fn duckdb(pinned: bool, scratch: &std::path::Path) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let config = duckdb::Config::default()
        .enable_autoload_extension(false)?
        .with("autoinstall_known_extensions", "false")?
        .max_memory("1024MB")?
        .threads(1)?;
    let conn = duckdb::Connection::open_in_memory_with_flags(config)?;
    let mut setup = String::new();
    if pinned {
        setup += &format!(
            "SET temp_directory = '{}';\nSET max_temp_directory_size = '1024MiB';\n",
            scratch.join("duckdb-temp").display()
        );
    }
    setup += "SET allowed_paths = [];\nSET enable_external_access = false;\nSET lock_configuration = true;\n";
    conn.execute_batch(&setup)?;
    let one: i64 = conn.query_row("SELECT 1", [], |row| row.get(0))?;
    anyhow::ensure!(one == 1);
    Ok(started.elapsed())
}

/// What the dry run's second check costs on PostgreSQL and DuckDB (`polystoreiq-bench dryrun`): the dry run as the worker
/// does it, prepare in the pinned read-only transaction, with and without asking for the server's plan
/// (`EXPLAIN (VERBOSE, FORMAT JSON)`) on one connection, interleaved, for a one-table query and a three-way join of
/// the seeded demo (`psiq_demo`).
pub fn dry_run_check(samples: usize) -> anyhow::Result<String> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let queries = [
        ("one table", "SELECT status, count(*) AS n FROM orders GROUP BY status"),
        (
            "three-way join",
            "SELECT c.city, p.category, sum(o.amount) AS revenue FROM orders o \
             JOIN customers c ON c.customer_id = o.customer_id JOIN products p ON p.product_id = o.product_id \
             GROUP BY c.city, p.category",
        ),
    ];
    let mut out = String::new();
    runtime.block_on(async {
        let (client, facts, _driver) = connect_postgres("psiq_demo").await?;
        let pins = pin_sql(&SessionLimits::DEFAULT, facts, 600_000);
        for (label, sql) in queries {
            let mut times: [Vec<Duration>; 2] = Default::default();
            for i in 0..samples + 5 {
                for k in 0..2 {
                    let with_plan = (i + k) % 2 == 1;
                    let started = Instant::now();
                    let (begun, pinned) =
                        tokio::join!(client.query_typed("BEGIN READ ONLY", &[]), client.query_typed(&pins, &[]));
                    begun?;
                    pinned?;
                    client.prepare(sql).await?;
                    if with_plan {
                        client.query_one(&format!("EXPLAIN (VERBOSE, FORMAT JSON) {sql}"), &[]).await?;
                    }
                    client.execute("ROLLBACK", &[]).await?;
                    if i >= 5 {
                        times[usize::from(with_plan)].push(started.elapsed());
                    }
                }
            }
            dry_run_rows(&mut out, "PostgreSQL", label, &times);
        }
        anyhow::Ok(())
    })?;
    // DuckDB: the same over an in-memory copy of the demo's shape (a worker opens the source's file the same way).
    let db = duckdb::Connection::open_in_memory()?;
    db.execute_batch(
        "CREATE TABLE customers AS SELECT range AS customer_id, 'city ' || (range % 50) AS city FROM range(5000);
         CREATE TABLE products AS SELECT range AS product_id, 'cat ' || (range % 12) AS category FROM range(500);
         CREATE TABLE orders AS SELECT range AS order_id, range % 5000 AS customer_id, range % 500 AS product_id,
                range * 1.5 AS amount, CASE WHEN range % 3 = 0 THEN 'shipped' ELSE 'paid' END AS status
         FROM range(100000);",
    )?;
    for (label, sql) in queries {
        let mut times: [Vec<Duration>; 2] = Default::default();
        for i in 0..samples + 5 {
            for k in 0..2 {
                let with_plan = (i + k) % 2 == 1;
                let started = Instant::now();
                db.prepare(sql)?;
                if with_plan {
                    let mut plan = db.prepare(&format!("EXPLAIN (FORMAT JSON) {sql}"))?;
                    let rows: Vec<String> = plan.query_map([], |row| row.get(1))?.collect::<Result<_, _>>()?;
                    std::hint::black_box(rows);
                }
                if i >= 5 {
                    times[usize::from(with_plan)].push(started.elapsed());
                }
            }
        }
        dry_run_rows(&mut out, "DuckDB", label, &times);
    }
    Ok(out)
}

/// The Markdown rows of one engine and query: the dry run without, then with, the plan check.
fn dry_run_rows(out: &mut String, engine: &str, label: &str, times: &[Vec<Duration>; 2]) {
    let base = Stats::of(times[0].clone());
    for (shape, sample) in [("prepare only", &times[0]), ("prepare + plan check", &times[1])] {
        let stats = Stats::of(sample.clone());
        let ratio = stats.p50.as_secs_f64() / base.p50.as_secs_f64();
        let (p50, p95) = (ms(stats.p50), ms(stats.p95));
        let _ = writeln!(out, "| {engine} | {label} | {shape} | {p50} | {p95} | {ratio:.3}x | {} |", stats.n);
    }
}
