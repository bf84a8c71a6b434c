//! `polystoreiq-bench DIR`: measures the worker path and prints Markdown tables for BENCHMARKS.md.

use std::path::PathBuf;

use anyhow::Context;
use polystoreiq_tests::bench::{self, Bench};
use polystoreiq_tests::guard_bench;

fn main() -> anyhow::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).context("usage: polystoreiq-bench WORK_DIR")?);
    std::fs::create_dir_all(&dir)?;
    bench::prepare(&dir).context("writing benchmark data")?;
    let worker = std::env::current_exe()?.with_file_name("polystoreiq-worker");
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
            print!("{}", bench.cancel_latency(30).await);
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
    Ok(())
}
