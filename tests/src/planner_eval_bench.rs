//! Benchmarks of the offline planner, printed as Markdown rows for BENCHMARKS.md: drafting in-process on a
//! generated 200-table schema, and ask-to-preview through the real `psiq` and broker on the demo dataset.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use polystoreiq_broker::planner;
use polystoreiq_protocol::types::{ColumnInfo, Engine, ForeignKey, LogicalType, SchemaSnapshot, TableInfo, TableKind};

use crate::bench::Stats;
use crate::planner_eval::Psiq;

const NOUNS: &[&str] = &[
    "account",
    "shipment",
    "warehouse",
    "supplier",
    "invoice",
    "payment",
    "ticket",
    "agent",
    "region",
    "store",
    "campaign",
    "lead",
    "contract",
    "asset",
    "vendor",
    "device",
    "sensor",
    "reading",
    "project",
    "task",
    "employee",
    "department",
    "order",
    "product",
    "customer",
    "refund",
    "coupon",
    "review",
    "carrier",
    "route",
    "vehicle",
    "driver",
    "budget",
    "expense",
    "forecast",
    "ledger",
    "policy",
    "claim",
    "subscription",
    "plan",
];
const AREAS: &[&str] = &["retail", "finance", "ops", "crm", "hr"];

/// A schema of `n` tables (up to 200) named like a real warehouse's (`retail_shipment`, `ops_vehicle`), each with
/// a key, a name, a status, a timestamp, an amount, a quantity, a note, and references to up to three earlier
/// tables (declared foreign keys).
pub fn wide_schema(n: usize) -> SchemaSnapshot {
    let name_of = |i: usize| format!("{}_{}", AREAS[i / NOUNS.len() % AREAS.len()], NOUNS[i % NOUNS.len()]);
    let column = |name: String, logical: LogicalType| ColumnInfo {
        db_type: format!("{logical:?}").to_lowercase(),
        name,
        logical,
        nullable: true,
        comment: None,
        sample: None,
    };
    let tables = (0..n.min(NOUNS.len() * AREAS.len()))
        .map(|i| {
            let name = name_of(i);
            let mut columns = vec![
                column(format!("{name}_id"), LogicalType::Int),
                column("name".into(), LogicalType::Text),
                column("status".into(), LogicalType::Text),
                column("created_at".into(), LogicalType::Timestamp),
                column("amount".into(), LogicalType::Decimal),
                column("quantity".into(), LogicalType::Int),
                column("note".into(), LogicalType::Text),
            ];
            let mut foreign_keys = Vec::new();
            for k in 1..=3 {
                let step = k * 7 + i % 5;
                if i >= step {
                    let parent = name_of(i - step);
                    columns.push(column(format!("{parent}_id"), LogicalType::Int));
                    foreign_keys.push(ForeignKey {
                        name: None,
                        columns: vec![format!("{parent}_id")],
                        ref_table: parent.clone(),
                        ref_columns: vec![format!("{parent}_id")],
                    });
                }
            }
            let mut table = TableInfo::new(name.clone(), TableKind::Table, Some(10_000), columns);
            table.primary_key = vec![format!("{name}_id")];
            table.foreign_keys = foreign_keys;
            table
        })
        .collect();
    SchemaSnapshot { tables, fetched_at_ms: 0, cache: None }
}

/// Questions over [`wide_schema`]: counts, sums by month, joins along foreign keys, top-N, a filter, a decline.
pub const WIDE_QUESTIONS: &[&str] = &[
    "how many ops shipments per status",
    "total amount of finance invoices by month in 2024",
    "top 5 retail customers by amount",
    "average quantity of crm tickets in the last 3 months",
    "number of hr expenses per hr store",
    "total amount of crm tickets by ops customer name",
    "retail orders with status 'open' since March 2024",
    "what is the weather",
];

/// Draft time in-process (schema indexed, question linked, plan resolved, query written and guard-checked) over
/// a 200-table schema, and over the demo's three tables for comparison.
pub fn planner_latency(reps: usize) -> String {
    let mut out = String::new();
    let wide = wide_schema(200);
    let demo = demo_schema();
    for (label, schema, questions, target) in
        [("200-table schema", &wide, WIDE_QUESTIONS, "p95 < 20 ms"), ("the demo's 3 tables", &demo, DEMO_QUESTIONS, "")]
    {
        let mut sample = Vec::with_capacity(reps * questions.len());
        let mut declined = 0;
        for _ in 0..reps {
            for q in questions {
                let started = Instant::now();
                let drafted = planner::draft(q, schema, Engine::Postgres, None);
                sample.push(started.elapsed());
                declined += usize::from(drafted.is_err());
            }
        }
        let stats = Stats::of(sample);
        let _ = writeln!(
            out,
            "| offline planner, one question on {label}, in-process ({} questions, {} declined per round) | {} | {} | {} drafts | {target} |",
            questions.len(),
            declined / reps.max(1),
            ms(stats.p50),
            ms(stats.p95),
            stats.n
        );
    }
    out
}

const DEMO_QUESTIONS: &[&str] = &[
    "how many orders in 2024",
    "revenue by product category",
    "top 5 customers by revenue",
    "revenue per month in 2024",
    "customers in Germany",
    "how many cancelled orders",
];

/// The demo's schema as DuckDB reports it for the files source, without reading the files.
pub fn demo_schema() -> SchemaSnapshot {
    let column = |name: &str, logical: LogicalType| ColumnInfo {
        name: name.into(),
        db_type: format!("{logical:?}").to_uppercase(),
        logical,
        nullable: true,
        comment: None,
        sample: None,
    };
    use LogicalType::*;
    let table = |name: &str, cols: &[(&str, LogicalType)]| {
        TableInfo::new(name.into(), TableKind::Table, None, cols.iter().map(|(n, l)| column(n, *l)).collect())
    };
    SchemaSnapshot {
        tables: vec![
            table(
                "customers",
                &[
                    ("customer_id", Int),
                    ("name", Text),
                    ("city", Text),
                    ("country", Text),
                    ("segment", Text),
                    ("signup_date", Date),
                ],
            ),
            table("products", &[("product_id", Int), ("name", Text), ("category", Text), ("unit_price", Float)]),
            table(
                "orders",
                &[
                    ("order_id", Int),
                    ("customer_id", Int),
                    ("product_id", Int),
                    ("order_date", Date),
                    ("quantity", Int),
                    ("status", Text),
                    ("channel", Text),
                    ("amount", Decimal),
                ],
            ),
        ],
        fetched_at_ms: 0,
        cache: None,
    }
}

/// Ask to preview through the real binaries: `psiq --json ask` on a files source of the demo dataset, wall time
/// of the whole command (process start, connect, schema from the broker's store, draft, guardrail, draft and
/// token stored, printed), `reps` asks after a warm-up.
pub fn ask_latency(bin_dir: &Path, work: &Path, reps: usize) -> anyhow::Result<String> {
    let demo = work.join("demo");
    if !demo.join("orders.parquet").exists() {
        crate::fixtures::write_demo(&demo).context("writing the demo dataset")?;
    }
    let home = tempfile::Builder::new().prefix("psiq-bench-ask").tempdir()?;
    let psiq = Psiq::new(bin_dir, home.path());
    let file = |name: &str| demo.join(name).to_string_lossy().into_owned();
    let (customers, products, orders) = (file("customers.csv"), file("products.json"), file("orders.parquet"));
    psiq.call(&["source", "add", "demo", "--kind", "files", "--path", &customers, &products, &orders])?
        .map_err(|e| anyhow::anyhow!("adding the demo source: {e}"))?;
    let questions = &DEMO_QUESTIONS[..DEMO_QUESTIONS.len() - 1];
    for q in questions {
        let _ = psiq.call(&["ask", "demo", q])?;
    }
    let mut sample = Vec::with_capacity(reps);
    for i in 0..reps {
        let q = questions[i % questions.len()];
        let started = Instant::now();
        psiq.call(&["ask", "demo", q])?.map_err(|e| anyhow::anyhow!("asking {q:?}: {e}"))?;
        sample.push(started.elapsed());
        // As between two questions a person asks.
        std::thread::sleep(Duration::from_millis(20));
    }
    psiq.stop();
    let stats = Stats::of(sample);
    Ok(format!(
        "| ask to preview, offline provider, demo dataset: `psiq --json ask` wall time (process start included) | {} | {} | {} asks | p95 < 300 ms |\n",
        ms(stats.p50),
        ms(stats.p95),
        stats.n
    ))
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wide_schema_has_200_joined_tables_and_its_questions_draft() {
        let schema = wide_schema(200);
        assert_eq!(schema.tables.len(), 200);
        let names: std::collections::HashSet<&str> = schema.tables.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names.len(), 200);
        assert!(schema.tables.iter().map(|t| t.foreign_keys.len()).sum::<usize>() > 400);
        for q in WIDE_QUESTIONS {
            let drafted = planner::draft(q, &schema, Engine::Postgres, None);
            assert_eq!(drafted.is_err(), *q == "what is the weather", "{q}: {:?}", drafted.err());
        }
        for q in DEMO_QUESTIONS {
            let drafted = planner::draft(q, &demo_schema(), Engine::Duckdb, None);
            assert_eq!(drafted.is_err(), q.contains("cancelled"), "{q}: {:?}", drafted.err());
        }
    }
}
