//! The chart rules, case by case: one `check(result, expected)` line per shape, reading which rule decided and
//! what it recommends.

use polystoreiq_protocol::column::{NumColumn, TextColumn};
use polystoreiq_protocol::types::LogicalType::{self, Bool, Date, Decimal, Float, Int, Json, Text, Timestamp};

use polystoreiq_protocol::types::ColumnValues;

use super::rules::Rule;
use super::shape::{Shape, looks_like_date, words};
use super::*;

/// Builds a result from `(name, type, values)`: values are comma-separated, `~` is NULL, dates are days and
/// timestamps microseconds since 1970.
fn result(spec: &[(&str, LogicalType, &str)]) -> (Vec<ResultColumn>, Vec<Batch>) {
    let columns = spec
        .iter()
        .map(|&(name, logical, _)| ResultColumn { name: name.into(), db_type: format!("{logical:?}"), logical })
        .collect();
    let values = spec.iter().map(|&(_, logical, text)| {
        let texts: Vec<Option<&str>> =
            text.split(',').filter(|_| !text.is_empty()).map(|v| (v != "~").then_some(v)).collect();
        let whole = |v: &Option<&str>| v.map(|v| v.parse::<i64>().expect("a whole number"));
        match logical {
            Int => ColumnValues::Int(texts.iter().map(whole).collect()),
            Timestamp => ColumnValues::Timestamp(texts.iter().map(whole).collect()),
            Date => ColumnValues::Date(texts.iter().map(|v| whole(v).map(|n| n as i32)).collect()),
            Float => ColumnValues::Float(texts.iter().map(|v| v.map(|v| v.parse().expect("a number"))).collect()),
            Bool => ColumnValues::Bool(texts.iter().map(|v| v.map(|v| v == "true")).collect()),
            _ => ColumnValues::Text(texts.into_iter().collect()),
        }
    });
    (columns, vec![Batch { columns: values.collect() }])
}

/// `rule: kind x=X y=A,B +alternative` for a chart; `rule: table (reason)` for a table.
fn render(rule: &Rule, chart: &ChartRecommendation) -> String {
    let alternatives: String = chart.alternatives.iter().map(|k| format!(" +{}", k.as_str())).collect();
    if chart.kind == ChartKind::Table {
        return format!("{}: table ({}){alternatives}", rule.name, chart.reason);
    }
    let x = chart.x.as_deref().unwrap_or("-");
    format!("{}: {} x={x} y={}{alternatives}", rule.name, chart.kind.as_str(), chart.y.join(","))
}

#[track_caller]
fn check(spec: &[(&str, LogicalType, &str)], expected: &str) {
    let (columns, batches) = result(spec);
    let (rule, chart) = decide(&Shape::of(&columns, &batches));
    assert_eq!(render(rule, &chart), expected);
    assert_eq!(chart, recommend(&columns, &batches));
}

/// `n` comma-separated values, `f(i)` each.
fn list(n: usize, f: impl Fn(usize) -> String) -> String {
    (0..n).map(f).collect::<Vec<_>>().join(",")
}

const DAY_US: i64 = 86_400_000_000;

#[test]
fn shapes_get_the_chart_that_suits_them() {
    let days = "19723,19724,19725,19726,19727";
    let dates = "2024-01-01,2024-01-02,2024-01-03,2024-01-04,2024-01-05";
    let five = "10,20,30,40,50";
    let channels = "web,store,app,phone";

    // Nothing to draw.
    check(&[("channel", Text, ""), ("revenue", Float, "")], "no rows: table (no rows)");
    check(&[("count", Int, "42")], "single value: table (a single value)");
    check(&[("n", Int, "42"), ("total", Float, "3.5")], "single row: table (a single row)");
    check(&[("name", Text, "a,b,c"), ("city", Text, "x,y,z")], "anything else: table (no numeric column to plot)");

    // Time series.
    check(&[("day", Date, days), ("revenue", Float, five)], "time series: line x=day y=revenue +bar");
    check(
        &[
            ("hour", Timestamp, &list(60, |i| (i as i64 * 3_600_000_000).to_string())),
            ("n", Int, &list(60, |i| i.to_string())),
        ],
        "time series: line x=hour y=n",
    );
    check(
        &[("day", Text, dates), ("orders", Int, five), ("revenue", Float, five)],
        "time series: line x=day y=orders,revenue +bar",
    );
    check(
        &[("month", Text, "2024-01,2024-02,2024-03"), ("revenue", Float, "1,2,3")],
        "time series: line x=month y=revenue +bar",
    );
    // A whole-number year with plausible values is a time; one named `year` holding 1..5 is not.
    check(
        &[("year", Int, "2019,2020,2021,2022"), ("revenue", Float, "1,2,3,4")],
        "time series: line x=year y=revenue +bar",
    );
    check(
        &[("order_month", Int, "1,2,3"), ("revenue", Float, "1,2,3")],
        "time series: line x=order_month y=revenue +bar",
    );
    check(&[("year", Int, "1,2,3,4,5"), ("students", Int, five)], "categorical aggregate: bar x=year y=students");
    check(
        &[("months_active", Int, "3,1,9,2"), ("spend", Float, "5,1,2,3")],
        "measures against each other: scatter x=months_active y=spend",
    );
    // Time buckets repeated per category are several series in one column.
    check(
        &[
            ("day", Date, "19723,19723,19724,19724"),
            ("channel", Text, "web,app,web,app"),
            ("revenue", Float, "1,2,3,4"),
        ],
        "series in long form: table (several rows per day (one per channel); pivot channel into columns to chart it)",
    );
    check(
        &[
            ("channel", Text, "app,app,web,web"),
            ("month", Text, "2024-01,2024-02,2024-01,2024-02"),
            ("n", Int, "1,2,3,4"),
        ],
        "series in long form: table (several rows per month (one per channel); pivot channel into columns to chart it)",
    );
    check(
        &[("channel", Text, "app,app,web,web"), ("region", Text, "eu,us,eu,us"), ("n", Int, "1,2,3,4")],
        "series in long form: table (several rows per channel (one per region); pivot region into columns to chart it)",
    );

    // Share of a whole, and the shapes that are bars instead.
    check(
        &[("channel", Text, channels), ("revenue", Float, "5,3,2,1")],
        "share of a whole: pie x=channel y=revenue +bar",
    );
    check(&[("is_active", Bool, "true,false"), ("n", Int, "70,30")], "share of a whole: pie x=is_active y=n +bar");
    check(
        &[("channel", Text, channels), ("profit", Float, "5,-3,2,1")],
        "categorical aggregate: bar x=channel y=profit",
    );
    check(
        &[("channel", Text, channels), ("avg_price", Float, "5,3,2,1")],
        "categorical aggregate: bar x=channel y=avg_price",
    );
    check(
        &[("channel", Text, channels), ("revenue", Float, "0,0,0,0")],
        "categorical aggregate: bar x=channel y=revenue",
    );
    check(
        &[("channel", Text, "a,b,c,d,e,f,g"), ("revenue", Float, "1,2,3,4,5,6,7")],
        "categorical aggregate: bar x=channel y=revenue",
    );
    check(
        &[("channel", Text, channels), ("revenue", Float, "5,3,2,1"), ("cost", Float, "1,1,1,1")],
        "categorical aggregate: bar x=channel y=revenue,cost",
    );
    check(
        &[("channel", Text, channels), ("revenue", Decimal, "-5.50,3.25,2,1")],
        "categorical aggregate: bar x=channel y=revenue",
    );
    check(
        &[("channel", Text, channels), ("revenue", Decimal, "5.50,3.25,2,1")],
        "share of a whole: pie x=channel y=revenue +bar",
    );
    // A key named first decides: a later date is an aggregate (the first sign-up), not the x axis.
    check(
        &[("city", Text, "Oslo,Lima,Pune"), ("n", Int, "3,4,5"), ("first", Date, "19000,19001,19000")],
        "categorical aggregate: bar x=city y=n",
    );
    // A NULL group is a category of its own; a column that is NULL throughout is ignored.
    check(
        &[("segment", Text, "a,~,b"), ("n", Int, "1,2,3"), ("note", Text, "~,~,~")],
        "share of a whole: pie x=segment y=n +bar",
    );
    check(
        &[("channel", Text, "web,app"), ("payload", Json, "{},{}"), ("n", Int, "1,2")],
        "share of a whole: pie x=channel y=n +bar",
    );

    // Identifiers label rows and are never measures.
    check(
        &[("customer_id", Int, "7,8,9"), ("total", Float, "1,2,3")],
        "categorical aggregate: bar x=customer_id y=total",
    );
    check(
        &[("customerId", Int, "7,8,9"), ("total", Float, "1,2,3")],
        "categorical aggregate: bar x=customerId y=total",
    );
    check(
        &[
            ("id", Int, &list(200, |i| i.to_string())),
            ("price", Float, &list(200, |i| (i % 17).to_string())),
            ("weight", Float, &list(200, |i| (i % 5).to_string())),
        ],
        "measures against each other: scatter x=price y=weight",
    );
    check(
        &[("id", Int, &list(100, |i| i.to_string())), ("price", Float, &list(100, |i| i.to_string()))],
        "too many categories: table (100 distinct id values: too many for a chart)",
    );

    // Whole numbers grouped and sorted are a key; many rows of two measures are a scatter.
    check(
        &[("stars", Int, "1,2,3,4,5"), ("reviews", Int, "3,9,20,41,77")],
        "categorical aggregate: bar x=stars y=reviews",
    );
    check(
        &[
            ("quantity", Int, &list(500, |i| (i % 13).to_string())),
            ("amount", Float, &list(500, |i| (i * 7 % 101).to_string())),
        ],
        "measures against each other: scatter x=quantity y=amount",
    );

    // Rows that are not grouped.
    check(
        &[("city", Text, "Oslo,Oslo,Lima"), ("amount", Float, "1,2,3")],
        "anything else: table (several rows per city; group by it to chart the result)",
    );
    check(&[("amount", Float, "1,2,3")], "anything else: table (one measure and nothing to plot it against)");
    check(
        &[("name", Text, &list(300, |i| format!("n{i}"))), ("amount", Float, &list(300, |i| i.to_string()))],
        "too many categories: table (300 distinct name values: too many for a chart)",
    );
}

#[test]
fn the_reason_reads_as_the_cli_prints_it() {
    let (columns, batches) = result(&[("channel", Text, "a,b,c,d,e,f,g,h"), ("revenue", Float, "1,2,3,4,5,6,7,8")]);
    let chart = recommend(&columns, &batches);
    assert_eq!(chart.reason, "one category and one measure");
    let (columns, batches) = result(&[
        ("price", Float, &list(80, |i| i.to_string())),
        ("weight", Float, &list(80, |i| (i % 9).to_string())),
        ("volume", Float, &list(80, |i| (i % 4).to_string())),
    ]);
    let chart = recommend(&columns, &batches);
    assert_eq!((chart.kind, chart.reason.as_str()), (ChartKind::Scatter, "3 measures and no category or time"));
}

#[test]
fn a_result_split_over_batches_is_read_as_one() {
    let (columns, first) = result(&[("channel", Text, "web,app"), ("revenue", Float, "1,2")]);
    let (_, second) = result(&[("channel", Text, "web,app"), ("revenue", Float, "3,4")]);
    let batches = [first, second].concat();
    let chart = recommend(&columns, &batches);
    assert_eq!(chart.kind, ChartKind::Table, "{chart:?}");
    assert_eq!(chart.reason, "several rows per channel; group by it to chart the result");
}

#[test]
fn a_result_at_the_row_limit_is_read_past_the_distinct_cap() {
    let rows = 100_000;
    let ts: NumColumn<i64> = (0..rows).map(|i| Some(i * DAY_US / 24)).collect();
    let value: NumColumn<f64> = (0..rows).map(|i| Some((i % 1000) as f64)).collect();
    let columns = vec![
        ResultColumn { name: "ts".into(), db_type: "TIMESTAMP".into(), logical: Timestamp },
        ResultColumn { name: "value".into(), db_type: "DOUBLE".into(), logical: Float },
    ];
    let batches = vec![Batch { columns: vec![ColumnValues::Timestamp(ts), ColumnValues::Float(value.clone())] }];
    let chart = recommend(&columns, &batches);
    assert_eq!((chart.kind, chart.x.as_deref()), (ChartKind::Line, Some("ts")));

    let other: NumColumn<f64> = (0..rows).map(|i| Some((i % 7) as f64)).collect();
    let columns = vec![
        ResultColumn { name: "a".into(), db_type: "DOUBLE".into(), logical: Float },
        ResultColumn { name: "b".into(), db_type: "DOUBLE".into(), logical: Float },
    ];
    let batches = vec![Batch { columns: vec![ColumnValues::Float(value), ColumnValues::Float(other)] }];
    assert_eq!(recommend(&columns, &batches).kind, ChartKind::Scatter);

    let names: Vec<String> = (0..rows).map(|i| format!("customer {i}")).collect();
    let names: TextColumn = names.iter().map(|name| Some(name.as_str())).collect();
    let amounts: NumColumn<f64> = (0..rows).map(|i| Some(i as f64)).collect();
    let columns = vec![
        ResultColumn { name: "name".into(), db_type: "VARCHAR".into(), logical: Text },
        ResultColumn { name: "amount".into(), db_type: "DOUBLE".into(), logical: Float },
    ];
    let batches = vec![Batch { columns: vec![ColumnValues::Text(names), ColumnValues::Float(amounts)] }];
    let chart = recommend(&columns, &batches);
    assert_eq!(chart.reason, format!("more than {DISTINCT_CAP} distinct name values: too many for a chart"));
}

#[test]
fn names_split_into_words_and_dates_are_recognised() {
    assert_eq!(words("customerID"), ["customer", "id"]);
    assert_eq!(words("order_id"), ["order", "id"]);
    assert_eq!(words("valid"), ["valid"]);
    assert_eq!(words("year(order_date)"), ["year", "order", "date"]);
    for date in ["2024-01-31", "2024-01", "2024-Q3", "2024-01-31T10:00:00Z", "2024-01-31 10:00"] {
        assert!(looks_like_date(date), "{date}");
    }
    for text in ["2024", "2024-13", "2024-01-32", "20240131", "2024-Q5", "web", "2024-01-31x", ""] {
        assert!(!looks_like_date(text), "{text}");
    }
}
