//! `polystoreiq-bench DIR`: measures the worker path and prints Markdown tables for BENCHMARKS.md.
//! With a display (`xvfb-run -a`), the run ends with the desktop UI (`POLYSTOREIQ_BENCH_ONLY_UI=1`: only that).
//! `polystoreiq-bench planner-eval`: runs the offline planner's evaluation set and prints its accuracy report.
//! `polystoreiq-bench pins [SAMPLES]`: what the session pins cost per engine, with and without, in one run.
//! `polystoreiq-bench dryrun [SAMPLES]`: what the dry run's plan check costs on PostgreSQL, with and without.

use std::path::PathBuf;

use anyhow::Context;
use polystoreiq_tests::bench::{self, Bench};
use polystoreiq_tests::guard_bench;

/// The broker's allocator: the in-process measures here stand in for the broker.
#[global_allocator]
static ALLOCATOR: polystoreiq_broker::BrokerAllocator = polystoreiq_broker::BrokerAllocator;

fn main() -> anyhow::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("planner-eval") {
        return planner_eval();
    }
    if std::env::args().nth(1).as_deref() == Some("pins") {
        let samples = std::env::args().nth(2).map_or(Ok(200), |n| n.parse()).context("SAMPLES is a number")?;
        println!("| engine | session | p50 | p95 | p50 / unpinned | sample |\n|---|---|---|---|---|---|");
        print!("{}", polystoreiq_tests::pins_bench::session_pins(samples)?);
        return Ok(());
    }
    if std::env::args().nth(1).as_deref() == Some("dryrun") {
        let samples = std::env::args().nth(2).map_or(Ok(200), |n| n.parse()).context("SAMPLES is a number")?;
        println!(
            "| engine | query | dry run | p50 | p95 | p50 / prepare only | sample |\n|---|---|---|---|---|---|---|"
        );
        print!("{}", polystoreiq_tests::pins_bench::dry_run_check(samples)?);
        return Ok(());
    }
    let dir = PathBuf::from(std::env::args().nth(1).context("usage: polystoreiq-bench WORK_DIR | planner-eval")?);
    std::fs::create_dir_all(&dir)?;
    if std::env::var_os("POLYSTOREIQ_BENCH_ONLY_PLANNER").is_some() {
        return planner_section(&dir);
    }
    if std::env::var_os("POLYSTOREIQ_BENCH_ONLY_UI").is_some() {
        return ui_section(&dir);
    }
    bench::prepare(&dir).context("writing benchmark data")?;
    let worker = std::env::current_exe()?.with_file_name("polystoreiq-worker");
    if std::env::var_os("POLYSTOREIQ_BENCH_ONLY_DB").is_some() {
        return database_section(&dir);
    }
    println!("### Guardrail\n");
    println!("Time to judge one query (parse, lexer checks, tree walk), in-process.\n");
    println!("| engine | query | p50 | p99 | max | sample | target |\n|---|---|---|---|---|---|---|");
    print!("{}", guard_bench::guardrail(5_000));
    if std::env::var_os("POLYSTOREIQ_BENCH_ONLY_GUARD").is_some() {
        return Ok(());
    }
    println!();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let bench = Bench::new(&dir, worker);
    runtime.block_on(async {
        println!("### Worker path\n");
        println!("| measure | p50 | p95 | sample | target |\n|---|---|---|---|---|");
        if std::env::var_os("POLYSTOREIQ_BENCH_ONLY_THROUGHPUT").is_none() {
            print!("{}", bench.spawn_latency(200).await);
            print!("{}", bench.sandbox_cost(100).await);
            print!("{}", bench.cancel_latency(30).await);
            if std::env::var_os("POLYSTOREIQ_BENCH_ONLY_SPAWN").is_some() {
                return;
            }
        }
        print!("{}", bench.throughput(11).await);
        print!("{}", bench.codec_cost());
        if std::env::var_os("POLYSTOREIQ_BENCH_ONLY_THROUGHPUT").is_some() {
            return;
        }
        println!("\n### File storage: query in place or ingest\n");
        println!("Aggregate `SELECT l_returnflag, count(*), sum(l_extendedprice) FROM lineitem GROUP BY 1` over 1M rows, p50 of 5, in-process.\n");
        println!("| file | in place | ingested | import (DuckDB file size) | in place / ingested |\n|---|---|---|---|---|");
        print!("{}", bench.file_storage(5).await);
    });
    if std::env::var_os("POLYSTOREIQ_BENCH_ONLY_THROUGHPUT").is_none() {
        database_section(&dir)?;
        planner_section(&dir)?;
        ui_section(&dir)?;
    }
    Ok(())
}

/// The desktop UI in the real release app, driven through `tauri-driver`: chart render, Approve to the first rows,
/// scrolling the results table. Needs a display.
fn ui_section(dir: &std::path::Path) -> anyhow::Result<()> {
    println!("\n### Desktop UI\n");
    if std::env::var_os("DISPLAY").is_none() {
        println!("Skipped: no display (run `polystoreiq-bench` under `xvfb-run -a` to measure the desktop UI).");
        return Ok(());
    }
    let bin_dir = std::env::current_exe()?.parent().context("the binaries' directory")?.to_path_buf();
    println!("{}", polystoreiq_tests::ui_bench::METHOD);
    for (compositing, label) in [
        (true, "As shipped: WebKitGTK composites through GL (under Xvfb, Mesa's software renderer)"),
        (false, "Compositing off (`WEBKIT_DISABLE_COMPOSITING_MODE=1`): WebKitGTK paints the page itself"),
    ] {
        let rows = polystoreiq_tests::ui_bench::section(&bin_dir, dir, 10, 30, compositing)?;
        println!("\n{label}:\n");
        println!("| measure | p50 | p95 | max | sample | target |\n|---|---|---|---|---|---|");
        print!("{rows}");
    }
    Ok(())
}

/// The offline planner: drafting in-process on a 200-table schema, and ask to preview through psiq.
fn planner_section(dir: &std::path::Path) -> anyhow::Result<()> {
    use polystoreiq_tests::planner_eval_bench;
    println!("\n### Offline planner\n");
    println!("| measure | p50 | p95 | sample | target |\n|---|---|---|---|---|");
    print!("{}", planner_eval_bench::planner_latency(200));
    let bin_dir = std::env::current_exe()?.parent().context("the binaries' directory")?.to_path_buf();
    print!("{}", planner_eval_bench::ask_latency(&bin_dir, dir, 100)?);
    Ok(())
}

/// `planner-eval [--quiet] [WORDS]`: every case of the evaluation set (or those whose source, category or
/// question contains WORDS) through the real psiq and broker, in a throw-away profile; the report on stdout,
/// progress on stderr; exit status 1 when a target is missed.
fn planner_eval() -> anyhow::Result<()> {
    use polystoreiq_tests::planner_eval;
    let args: Vec<String> = std::env::args().skip(2).collect();
    let quiet = args.iter().any(|a| a == "--quiet");
    let filter = args.iter().find(|a| !a.starts_with("--"));
    let cases: Vec<planner_eval::Case> = planner_eval::cases()
        .into_iter()
        .filter(|c| {
            filter.is_none_or(|f| {
                c.source.contains(f.as_str())
                    || c.category.name().contains(f.as_str())
                    || c.question.contains(f.as_str())
                    || c.follow_up.is_some_and(|q| q.contains(f.as_str()))
            })
        })
        .collect();
    let bin_dir = std::env::current_exe()?.parent().context("the binaries' directory")?.to_path_buf();
    let home = tempfile::Builder::new().prefix("psiq-planner-eval").tempdir()?;
    let outcomes = planner_eval::evaluate(&bin_dir, home.path(), &cases, !quiet)?;
    print!("{}", planner_eval::report(&outcomes));
    let (_, all) = planner_eval::tally(&outcomes);
    if all.correct_share() < planner_eval::TARGET_CORRECT || all.wrong_share() >= planner_eval::TARGET_WRONG {
        std::process::exit(1);
    }
    Ok(())
}

/// PostgreSQL and MariaDB (`scripts/services`) through a worker versus in-process and their own clients.
fn database_section(dir: &std::path::Path) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let db =
        polystoreiq_tests::db_bench::DbBench::new(dir, std::env::current_exe()?.with_file_name("polystoreiq-worker"))?;
    println!("\n### Database connectors\n");
    print!("{}", db.section(&runtime, dir, 11)?);
    Ok(())
}
