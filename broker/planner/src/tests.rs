//! Unit tests of the offline planner over in-memory schemas shaped like the seeded ones: what it drafts in every
//! dialect (each draft must pass that engine's guardrail), what it declines and why, follow-ups, and its speed on
//! a wide schema. Results are checked against real databases by `tests/it/planner.rs`.

use polystoreiq_protocol::types::{
    ColumnInfo, Engine, FieldSample, ForeignKey, LogicalType, SchemaSnapshot, TableInfo, TableKind, TypeCount,
};

use super::*;

const ENGINES: [Engine; 4] = [Engine::Duckdb, Engine::Postgres, Engine::Mysql, Engine::Mongodb];

pub(super) fn today() -> Date {
    Date::new(2026, 11, 22)
}

/// A table: its name, its columns, and its foreign keys as (column, referenced table, referenced column).
type TableDef<'a> = (&'a str, &'a [(&'a str, LogicalType)], &'a [(&'a str, &'a str, &'a str)]);

/// Builds a snapshot as each engine reports it: keys and foreign keys on PostgreSQL, none on files, `_id` and
/// sampled types on MongoDB.
fn snapshot(engine: Engine, tables: &[TableDef<'_>]) -> SchemaSnapshot {
    let tables = tables
        .iter()
        .map(|(name, columns, fks)| {
            let mut cols: Vec<ColumnInfo> = columns
                .iter()
                .map(|(n, l)| ColumnInfo {
                    name: (*n).into(),
                    db_type: format!("{l:?}"),
                    logical: *l,
                    nullable: true,
                    comment: None,
                    sample: (engine == Engine::Mongodb).then(|| FieldSample {
                        documents: 100,
                        present: 100,
                        types: vec![TypeCount {
                            type_name: match l {
                                LogicalType::Int => "int",
                                LogicalType::Decimal => "decimal",
                                LogicalType::TimestampTz | LogicalType::Date | LogicalType::Timestamp => "date",
                                _ => "string",
                            }
                            .into(),
                            count: 100,
                        }],
                    }),
                })
                .collect();
            let mut info = TableInfo::new((*name).into(), TableKind::Table, Some(100), Vec::new());
            match engine {
                Engine::Postgres => {
                    info.primary_key = vec![columns[0].0.into()];
                    info.foreign_keys = fks
                        .iter()
                        .map(|(c, t, r)| ForeignKey {
                            name: None,
                            columns: vec![(*c).into()],
                            ref_table: (*t).into(),
                            ref_columns: vec![(*r).into()],
                        })
                        .collect();
                }
                Engine::Mongodb => {
                    info.kind = TableKind::Collection;
                    info.primary_key = vec!["_id".into()];
                    cols.insert(0, ColumnInfo { name: "_id".into(), ..cols[0].clone() });
                    for c in &mut cols {
                        if matches!(c.logical, LogicalType::Date | LogicalType::Timestamp) {
                            c.logical = LogicalType::TimestampTz;
                        }
                    }
                }
                _ => {}
            }
            info.columns = cols;
            info
        })
        .collect();
    SchemaSnapshot { tables, fetched_at_ms: 0, cache: None }
}

pub(super) fn demo(engine: Engine) -> SchemaSnapshot {
    use LogicalType::*;
    snapshot(
        engine,
        &[
            (
                "customers",
                &[
                    ("customer_id", Int),
                    ("name", Text),
                    ("city", Text),
                    ("country", Text),
                    ("segment", Text),
                    ("signup_date", Date),
                ],
                &[],
            ),
            ("products", &[("product_id", Int), ("name", Text), ("category", Text), ("unit_price", Decimal)], &[]),
            (
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
                &[("customer_id", "customers", "customer_id"), ("product_id", "products", "product_id")],
            ),
        ],
    )
}

pub(super) fn chinook(engine: Engine) -> SchemaSnapshot {
    use LogicalType::*;
    snapshot(
        engine,
        &[
            ("artist", &[("artist_id", Int), ("name", Text)], &[]),
            (
                "album",
                &[("album_id", Int), ("title", Text), ("artist_id", Int)],
                &[("artist_id", "artist", "artist_id")],
            ),
            (
                "employee",
                &[
                    ("employee_id", Int),
                    ("last_name", Text),
                    ("first_name", Text),
                    ("title", Text),
                    ("reports_to", Int),
                    ("birth_date", Timestamp),
                    ("hire_date", Timestamp),
                    ("city", Text),
                    ("country", Text),
                ],
                &[("reports_to", "employee", "employee_id")],
            ),
            (
                "customer",
                &[
                    ("customer_id", Int),
                    ("first_name", Text),
                    ("last_name", Text),
                    ("company", Text),
                    ("city", Text),
                    ("state", Text),
                    ("country", Text),
                    ("email", Text),
                    ("support_rep_id", Int),
                ],
                &[("support_rep_id", "employee", "employee_id")],
            ),
            ("genre", &[("genre_id", Int), ("name", Text)], &[]),
            ("media_type", &[("media_type_id", Int), ("name", Text)], &[]),
            ("playlist", &[("playlist_id", Int), ("name", Text)], &[]),
            (
                "track",
                &[
                    ("track_id", Int),
                    ("name", Text),
                    ("album_id", Int),
                    ("media_type_id", Int),
                    ("genre_id", Int),
                    ("composer", Text),
                    ("milliseconds", Int),
                    ("bytes", Int),
                    ("unit_price", Decimal),
                ],
                &[
                    ("album_id", "album", "album_id"),
                    ("media_type_id", "media_type", "media_type_id"),
                    ("genre_id", "genre", "genre_id"),
                ],
            ),
            (
                "playlist_track",
                &[("playlist_id", Int), ("track_id", Int)],
                &[("playlist_id", "playlist", "playlist_id"), ("track_id", "track", "track_id")],
            ),
            (
                "invoice",
                &[
                    ("invoice_id", Int),
                    ("customer_id", Int),
                    ("invoice_date", Timestamp),
                    ("billing_city", Text),
                    ("billing_state", Text),
                    ("billing_country", Text),
                    ("total", Decimal),
                ],
                &[("customer_id", "customer", "customer_id")],
            ),
            (
                "invoice_line",
                &[
                    ("invoice_line_id", Int),
                    ("invoice_id", Int),
                    ("track_id", Int),
                    ("unit_price", Decimal),
                    ("quantity", Int),
                ],
                &[("invoice_id", "invoice", "invoice_id"), ("track_id", "track", "track_id")],
            ),
        ],
    )
}

fn plan(schema: &SchemaSnapshot, engine: Engine, question: &str) -> Result<Plan, TypedError> {
    Planner::new(schema, engine).draft(question, None, today())
}

fn sql(engine: Engine, question: &str) -> String {
    match plan(&demo(engine), engine, question) {
        Ok(plan) => plan.query,
        Err(err) => panic!("{question:?} on {engine:?} declined: {}", err.message),
    }
}

fn declined(schema: &SchemaSnapshot, question: &str) -> String {
    match plan(schema, Engine::Postgres, question) {
        Ok(plan) => panic!("{question:?} should be declined, got {}", plan.query),
        Err(err) => {
            assert_eq!(err.code, ErrorCode::DraftDeclined, "{question:?}: {}", err.message);
            err.message
        }
    }
}

/// Questions the planner answers on the demo and Chinook schemas; every draft, in every engine, passes the
/// guardrail (checked inside `draft`, which would answer `internal` otherwise, and again by the test).
const DEMO_QUESTIONS: &[&str] = &[
    "how many orders are there?",
    "How many customers do we have",
    "total revenue",
    "what is the total amount of all orders",
    "average order amount",
    "average unit price of products",
    "most expensive product",
    "the 5 cheapest products",
    "orders by status",
    "number of customers per country",
    "revenue by product category",
    "revenue per month in 2024",
    "top 5 customers by revenue",
    "top 3 products by quantity sold",
    "orders with status 'shipped' by month",
    "how many orders in the last 3 years",
    "average quantity per channel",
    "customers who signed up in 2022",
    "how many customers signed up in 2022",
    "customers by signup year",
    "how many distinct customers placed orders in 2024",
    "earliest order date",
    "when was the last order",
    "revenue by country",
    "revenue by channel and status",
    "average amount by customer segment",
    "monthly revenue trend",
    "weekly orders in March 2024",
    "products in category 'office'",
    "how many products per category",
    "maximum unit price by category",
    "orders with amount over 1000",
    "customers in Germany",
    "how many orders from customers in France in 2023",
    "revenue by quarter in 2023",
    "daily orders since 2024-12-01",
    "how many orders with status not 'cancelled'",
    "which country has the most customers",
    "which segment spent the most",
    "orders of customer 42",
    "how many different countries",
    "list the names and cities of customers in Spain",
    "what month had the most orders",
    "revenue between 2023 and 2024 by year",
    "orders per channel before March 2023",
];

const CHINOOK_QUESTIONS: &[&str] = &[
    "how many tracks",
    "number of albums per artist",
    "tracks per genre",
    "which genre has the most tracks",
    "top 5 artists by number of albums",
    "average track length",
    "total sales by country",
    "revenue by year",
    "how many invoices in 2010",
    "average invoice total",
    "top 10 customers by total spent",
    "revenue by genre",
    "number of tracks by media type",
    "longest track",
    "albums by artist 'Iron Maiden'",
    "employees hired in 2003",
    "number of invoices per month in 2010",
    "playlists with the most tracks",
    "how many customers per support rep",
    "customers from Brazil",
    "top 3 genres by revenue in 2012",
    "tracks of album 'Let There Be Rock'",
    "how many customers have invoices",
    "average unit price of tracks per genre",
];

#[test]
fn every_engine_drafts_the_common_questions_and_the_guardrail_allows_them() {
    let mut failures = Vec::new();
    for engine in ENGINES {
        for (schema, questions) in [(demo(engine), DEMO_QUESTIONS), (chinook(engine), CHINOOK_QUESTIONS)] {
            for question in questions {
                match plan(&schema, engine, question) {
                    Ok(plan) => {
                        assert!(!plan.explanation.is_empty(), "{question:?} on {engine:?}: no explanation");
                        // Checked here too, not only inside `draft`: this test must fail if that check goes away.
                        let verdict = Guardrail::new(engine).check(&plan.query);
                        if !verdict.allowed() {
                            failures.push(format!(
                                "{question:?} on {engine:?}: the guardrail refuses {} ({}: {})",
                                plan.query,
                                verdict.code.as_str(),
                                verdict.reason
                            ));
                        }
                    }
                    Err(err) => failures.push(format!("{question:?} on {engine:?}: [{}] {}", err.code, err.message)),
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
#[ignore = "prints the drafts of the question lists, for reading"]
fn print_drafts() {
    for engine in [Engine::Postgres, Engine::Mongodb] {
        for (schema, questions) in [(demo(engine), DEMO_QUESTIONS), (chinook(engine), CHINOOK_QUESTIONS)] {
            for question in questions {
                match plan(&schema, engine, question) {
                    Ok(plan) => println!("{question}\n  {}\n  {}\n", plan.query, plan.explanation),
                    Err(err) => println!("{question}\n  DECLINED {}\n", err.message),
                }
            }
        }
    }
}

#[test]
fn each_dialect_writes_its_own_date_functions_quotes_and_literals() {
    let q = "revenue per month in 2024";
    assert!(sql(Engine::Postgres, q).contains(r#"CAST(date_trunc('month', t0."order_date") AS date)"#));
    assert!(sql(Engine::Duckdb, q).contains(r#"CAST(date_trunc('month', t0."order_date") AS DATE)"#));
    let mysql = sql(Engine::Mysql, q);
    assert!(mysql.contains("CAST(DATE_FORMAT(t0.`order_date`, '%Y-%m-01') AS DATE)"), "{mysql}");
    assert!(mysql.contains("t0.`order_date` >= DATE '2024-01-01' AND t0.`order_date` < DATE '2025-01-01'"), "{mysql}");
    for unit in ["week", "quarter", "year", "day"] {
        let q = format!("orders by {unit}");
        for engine in ENGINES {
            let _ = sql(engine, &q);
        }
    }
    let mongo = sql(Engine::Mongodb, "how many orders with status 'o''brien' in 2024");
    let doc: serde_json::Value = serde_json::from_str(&mongo).unwrap();
    assert_eq!(doc["collection"], "orders", "{mongo}");
    assert_eq!(doc["count"]["$and"][0]["status"]["$regex"], "^o'brien$", "{mongo}");
    assert_eq!(doc["count"]["$and"][1]["order_date"]["$gte"]["$date"], "2024-01-01T00:00:00Z");
    assert!(sql(Engine::Postgres, "customers named 'O''Brien'").contains("lower(t0.\"name\") = 'o''brien'"));
    let err = plan(&demo(Engine::Mysql), Engine::Mysql, r"customers named 'a\b'").unwrap_err();
    assert!(err.message.contains("backslash"), "{}", err.message);
    let regex = sql(Engine::Mongodb, "customers in city 'St. Louis (MO)'");
    assert!(regex.contains(r#"^St\\. Louis \\(MO\\)$"#), "{regex}");
}

#[test]
fn unknown_words_ambiguity_and_unsupported_questions_are_declined_with_suggestions() {
    let demo = demo(Engine::Postgres);
    let m = declined(&demo, "what is the weather");
    assert!(m.contains("\"weather\"") && m.contains("customers ("), "{m}");
    let m = declined(&demo, "how many cancelled orders");
    assert!(m.contains("\"cancelled\"") && m.contains("orders.status") && m.contains("status 'cancelled'"), "{m}");
    assert!(declined(&demo, "median order amount").contains("median"));
    assert!(
        declined(&demo, "orders in March").contains("March 2024")
            || declined(&demo, "orders in March").contains("year")
    );
    assert!(declined(&demo, "top 5 products").contains("by what"));
    assert!(declined(&demo, "customers with more than 5 orders").contains("count per group"));
    let m = declined(&demo, "list names");
    assert!(m.contains("customers.name") && m.contains("products.name"), "{m}");
    assert!(declined(&demo, "orders or customers").contains("\"or\""));
    let chinook = chinook(Engine::Postgres);
    assert!(declined(&chinook, "average number of tracks per album").contains("count"));
    let m = declined(&chinook, "employees by date");
    assert!(m.contains("birth_date") && m.contains("hire_date"), "{m}");
    let empty = SchemaSnapshot { tables: Vec::new(), fetched_at_ms: 0, cache: None };
    assert!(declined(&empty, "how many orders").contains("no tables"));
}

fn follow(schema: &SchemaSnapshot, engine: Engine, first: &str, second: &str) -> Plan {
    let planner = Planner::new(schema, engine);
    let turn = planner.draft(first, None, today()).unwrap_or_else(|e| panic!("{first:?}: {}", e.message)).turn;
    planner.draft(second, Some(&turn), today()).unwrap_or_else(|e| panic!("{second:?} after {first:?}: {}", e.message))
}

#[test]
fn follow_ups_rewrite_the_previous_plan() {
    let demo = demo(Engine::Postgres);
    let p = follow(&demo, Engine::Postgres, "revenue by product category", "now only 2024");
    assert!(p.query.contains("GROUP BY t1.\"category\"") && p.query.contains("DATE '2024-01-01'"), "{}", p.query);
    assert!(p.explanation.starts_with("Follow-up to \"revenue by product category\""));
    let p = follow(&demo, Engine::Postgres, "number of orders per month in 2024", "split that by channel");
    assert!(
        p.query.contains("AS \"month\"") && p.query.contains("AS \"channel\"") && p.query.contains("2024"),
        "{}",
        p.query
    );
    let p = follow(&demo, Engine::Postgres, "revenue per month in 2024", "by week instead");
    assert!(p.query.contains("'week'") && !p.query.contains("'month'"), "{}", p.query);
    let p = follow(&demo, Engine::Postgres, "how many customers per country", "only segment 'enterprise'");
    assert!(p.query.contains("lower(t0.\"segment\") = 'enterprise'") && p.query.contains("GROUP BY t0.\"country\""));
    let p = follow(&demo, Engine::Postgres, "total revenue in 2023", "and in 2024?");
    assert!(p.query.contains("2024-01-01") && !p.query.contains("2023-01-01"), "{}", p.query);
    let p = follow(&demo, Engine::Postgres, "revenue by country", "top 3 only");
    assert!(p.query.ends_with("LIMIT 3"), "{}", p.query);
    let p = follow(&demo, Engine::Postgres, "orders by status", "what about customers in France?");
    assert!(p.query.contains("'france'") && p.query.contains("\"status\""), "{}", p.query);
    let p = follow(&demo, Engine::Mongodb, "revenue by channel", "now the average amount");
    assert!(p.query.contains("$avg") && p.query.contains("channel"), "{}", p.query);
    // A question that stands alone is not a follow-up, even with a previous turn.
    let p = follow(&demo, Engine::Postgres, "revenue by country", "how many products per category");
    assert!(!p.query.contains("country") && !p.explanation.contains("Follow-up"), "{}", p.query);
}

#[test]
fn a_session_replays_its_questions_into_the_last_turn() {
    use polystoreiq_protocol::types::{ChatMessage, SessionId};
    let schema = demo(Engine::Duckdb);
    let message = |role: &str, content: &str| ChatMessage {
        session: SessionId(1),
        seq: 0,
        role: role.parse().unwrap(),
        content: content.into(),
        draft: None,
        created_at_ms: 0,
    };
    let history = vec![
        message("user", "revenue by channel"),
        message("assistant", "..."),
        message("user", "what is the weather"),
        message("assistant", "declined"),
        message("user", "only 2024"),
    ];
    let turn = replay(&history, &schema, Engine::Duckdb).expect("a turn");
    assert_eq!(turn.question, "only 2024");
    assert!(turn.query.contains("channel") && turn.query.contains("2024-01-01"), "{}", turn.query);
    let json = serde_json::to_string(&turn).unwrap();
    assert_eq!(serde_json::from_str::<Turn>(&json).unwrap(), turn, "a turn survives storage");
    assert!(replay(&[], &schema, Engine::Duckdb).is_none());
}

/// A schema of `n` tables in a few chains of many-to-one references, with varied column names.
pub fn wide_schema(n: usize) -> SchemaSnapshot {
    use LogicalType::*;
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
    ];
    let tables = (0..n)
        .map(|i| {
            let name = format!("{}_{}", NOUNS[i % NOUNS.len()], i / NOUNS.len());
            let mut columns = vec![
                ColumnInfo {
                    name: format!("{name}_id"),
                    db_type: "int".into(),
                    logical: Int,
                    nullable: false,
                    comment: None,
                    sample: None,
                },
                ColumnInfo {
                    name: "name".into(),
                    db_type: "text".into(),
                    logical: Text,
                    nullable: true,
                    comment: None,
                    sample: None,
                },
                ColumnInfo {
                    name: "status".into(),
                    db_type: "text".into(),
                    logical: Text,
                    nullable: true,
                    comment: None,
                    sample: None,
                },
                ColumnInfo {
                    name: "created_at".into(),
                    db_type: "timestamp".into(),
                    logical: Timestamp,
                    nullable: true,
                    comment: None,
                    sample: None,
                },
                ColumnInfo {
                    name: format!("{}_amount", NOUNS[(i + 3) % NOUNS.len()]),
                    db_type: "numeric".into(),
                    logical: Decimal,
                    nullable: true,
                    comment: None,
                    sample: None,
                },
                ColumnInfo {
                    name: "quantity".into(),
                    db_type: "int".into(),
                    logical: Int,
                    nullable: true,
                    comment: None,
                    sample: None,
                },
            ];
            let mut fks = Vec::new();
            if i >= NOUNS.len() {
                let parent = format!("{}_{}", NOUNS[(i + 7) % NOUNS.len()], i / NOUNS.len() - 1);
                columns.push(ColumnInfo {
                    name: format!("{parent}_id"),
                    db_type: "int".into(),
                    logical: Int,
                    nullable: true,
                    comment: None,
                    sample: None,
                });
                fks.push(ForeignKey {
                    name: None,
                    columns: vec![format!("{parent}_id")],
                    ref_table: parent.clone(),
                    ref_columns: vec![format!("{parent}_id")],
                });
            }
            let mut info = TableInfo::new(name.clone(), TableKind::Table, Some(1000), columns);
            info.primary_key = vec![format!("{name}_id")];
            info.foreign_keys = fks;
            info
        })
        .collect();
    SchemaSnapshot { tables, fetched_at_ms: 0, cache: None }
}

#[test]
fn a_wide_schema_is_planned_within_a_loose_bound() {
    let schema = wide_schema(200);
    let planner = Planner::new(&schema, Engine::Postgres);
    for question in
        ["how many shipment_3 per status", "total quantity of ticket_5 by month in 2024", "list warehouse_2 named 'x'"]
    {
        let started = std::time::Instant::now();
        let plan = planner.draft(question, None, today());
        assert!(plan.is_ok(), "{question}: {:?}", plan.err());
        // Loose: the benchmark measures the real figure (p95 well under 20 ms in release builds).
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 400, ..Default::default() })]

    /// Whatever is typed, the planner answers a query or a typed decline; it never panics, and every query it
    /// drafts passes the guardrail (checked inside `draft`, which answers `internal` otherwise).
    #[test]
    fn any_text_is_drafted_or_declined_never_a_panic(
        question in "(how many|top 3|revenue|orders|customers|by|per|month|in|2024|'x''y'|\"q\"|not|no|the|ñ|ࠀ|\\|last|of|[a-zA-Z0-9 _'\".,?-]{0,12}| ){0,12}",
        engine in proptest::sample::select(ENGINES.to_vec()),
    ) {
        match plan(&demo(engine), engine, &question) {
            Ok(plan) => proptest::prop_assert!(!plan.query.is_empty()),
            Err(err) => proptest::prop_assert_eq!(err.code, ErrorCode::DraftDeclined, "{}", err.message),
        }
    }
}
