//! The guardrail's cost per query, by engine and query size, printed as Markdown for BENCHMARKS.md.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use polystoreiq_broker::guard::Guardrail;
use polystoreiq_protocol::types::Engine;

/// Queries of about `bytes` bytes for `engine`: a realistic analytic shape (joins, grouping, a CASE and an IN
/// list for SQL; a pipeline with `$lookup` and `$group` for Mongo), widened until it reaches the size.
pub fn query_of_size(engine: Engine, bytes: usize) -> String {
    if engine == Engine::Mongodb {
        let mut stages = vec![
            r#"{"$match":{"status":{"$in":["completed","shipped"]}}}"#.to_owned(),
            r#"{"$lookup":{"from":"customers","localField":"customer_id","foreignField":"_id","as":"c"}}"#.to_owned(),
        ];
        // Wide `$addFields` stages, 20 computed fields each, keep the pipeline well under the stage limit.
        let mut fields = Vec::new();
        let mut i = 0;
        while stages.iter().map(String::len).sum::<usize>() + fields.iter().map(String::len).sum::<usize>() + 96 < bytes
        {
            fields.push(format!(r#""f{i}":{{"$cond":[{{"$gt":["$amount",{i}]}},"$amount",0]}}"#));
            i += 1;
            if fields.len() == 20 {
                stages.push(format!(r#"{{"$addFields":{{{}}}}}"#, fields.join(",")));
                fields.clear();
            }
        }
        if !fields.is_empty() {
            stages.push(format!(r#"{{"$addFields":{{{}}}}}"#, fields.join(",")));
        }
        stages.push(r#"{"$group":{"_id":"$c.city","n":{"$sum":1}}}"#.to_owned());
        return format!(r#"{{"collection":"orders","aggregate":[{}]}}"#, stages.join(","));
    }
    let mut columns = vec!["c.city".to_owned(), "count(*) AS orders".to_owned(), "sum(o.amount) AS revenue".to_owned()];
    let mut i = 0;
    let tail = " FROM orders o JOIN customers c ON c.customer_id = o.customer_id \
                WHERE o.status IN ('completed', 'shipped') AND o.order_date >= DATE '2024-01-01' \
                GROUP BY c.city ORDER BY revenue DESC LIMIT 10";
    while columns.iter().map(|c| c.len() + 2).sum::<usize>() + tail.len() + 7 < bytes {
        columns.push(format!("sum(CASE WHEN o.quantity > {i} THEN o.amount ELSE 0 END) AS over_{i}"));
        i += 1;
    }
    format!("SELECT {}{tail}", columns.join(", "))
}

/// p50, p99 and max of `check` over `n` runs of each engine and size, as Markdown rows.
pub fn guardrail(n: usize) -> String {
    let mut out = String::new();
    for engine in [Engine::Postgres, Engine::Mysql, Engine::Duckdb, Engine::Mongodb] {
        let guard = Guardrail::new(engine);
        for size in [100, 1_000, 10_000] {
            let query = query_of_size(engine, size);
            assert!(guard.check(&query).allowed(), "the benchmark query must be allowed: {query}");
            for _ in 0..n / 10 {
                std::hint::black_box(guard.check(&query));
            }
            let mut sample: Vec<Duration> = (0..n)
                .map(|_| {
                    let started = Instant::now();
                    std::hint::black_box(guard.check(std::hint::black_box(&query)));
                    started.elapsed()
                })
                .collect();
            sample.sort();
            let at = |q: f64| sample[((sample.len() - 1) as f64 * q).round() as usize];
            let us = |d: Duration| format!("{:.0} µs", d.as_secs_f64() * 1e6);
            let _ = writeln!(
                out,
                "| {engine:?} | {} B | {} | {} | {} | {n} | p99 < 1 ms |",
                query.len(),
                us(at(0.5)),
                us(at(0.99)),
                us(at(1.0)),
            );
        }
    }
    out
}
