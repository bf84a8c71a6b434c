//! File sources end to end: CSV, JSON and Parquet registered, described and queried through the real CLI,
//! broker and worker, with answers checked against DuckDB run directly on the same files.

use polystoreiq_tests::fixtures;
use serde_json::Value;

use crate::support::Profile;

/// Runs `sql` in an in-process DuckDB (not through PolyStoreIQ) and returns every value as text.
fn reference(sql: &str, columns: usize) -> Vec<Vec<Option<String>>> {
    let conn = duckdb::Connection::open_in_memory().expect("duckdb");
    let mut stmt = conn.prepare(&format!("SELECT COLUMNS(*)::VARCHAR FROM ({sql})")).expect("reference query");
    stmt.query_map([], |row| (0..columns).map(|i| row.get::<_, Option<String>>(i)).collect::<Result<Vec<_>, _>>())
        .expect("reference rows")
        .collect::<Result<Vec<_>, _>>()
        .expect("reference values")
}

/// The rows of a run summary as text, in column order.
fn rows_as_text(summary: &Value) -> Vec<Vec<Option<String>>> {
    let page = &summary["first_page"];
    let names: Vec<&str> =
        page["columns"].as_array().expect("columns").iter().map(|c| c["name"].as_str().unwrap()).collect();
    page["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|row| {
            names
                .iter()
                .map(|name| match &row[*name] {
                    Value::Null => None,
                    Value::String(s) => Some(s.clone()),
                    other => Some(other.to_string()),
                })
                .collect()
        })
        .collect()
}

fn column_names(table: &Value) -> Vec<String> {
    table["columns"].as_array().expect("columns").iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn csv_json_and_parquet_sources_answer_queries_correctly() {
    let p = Profile::new();
    fixtures::write_demo(p.data.path()).expect("demo data");
    let (csv, json, parquet) =
        (p.data_path("customers.csv"), p.data_path("products.json"), p.data_path("orders.parquet"));

    let added = p.ok(&["source", "add", "people", "--kind", "files", "--path", &csv]);
    assert_eq!(added["status"], "CONNECTED");
    p.ok(&["source", "add", "catalog", "--kind", "files", "--path", &json]);
    p.ok(&["source", "add", "sales", "--kind", "files", "--path", &parquet]);
    let list = p.ok(&["source", "list"]);
    let names: Vec<&str> = list.as_array().expect("list").iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["catalog", "people", "sales"]);

    let schema = p.ok(&["schema", "people"]);
    let customers = &schema["tables"][0];
    assert_eq!(customers["name"], "customers");
    assert_eq!(customers["row_count"], 5000);
    assert_eq!(column_names(customers), ["customer_id", "name", "city", "country", "segment", "signup_date"]);
    let logical: Vec<&str> =
        customers["columns"].as_array().unwrap().iter().map(|c| c["logical"].as_str().unwrap()).collect();
    assert_eq!(logical, ["int", "text", "text", "text", "text", "date"]);

    let schema = p.ok(&["schema", "catalog"]);
    assert_eq!(schema["tables"][0]["name"], "products");
    assert_eq!(schema["tables"][0]["row_count"], 400);
    let schema = p.ok(&["schema", "sales"]);
    let orders = &schema["tables"][0];
    assert_eq!(orders["row_count"], fixtures::DEMO_ORDERS);
    let amount = orders["columns"].as_array().unwrap().iter().find(|c| c["name"] == "amount").expect("amount");
    assert_eq!(amount["logical"], "decimal", "exact decimals stay exact: {amount}");

    let by_city = "SELECT city, count(*) AS n, min(signup_date) AS first FROM customers GROUP BY city ORDER BY city";
    let got = p.query("people", by_city);
    assert_eq!(rows_as_text(&got), reference(&by_city.replace("customers", &format!("read_csv('{csv}')")), 3));

    let by_category =
        "SELECT category, count(*) AS n, round(sum(unit_price), 2) AS total FROM products GROUP BY 1 ORDER BY 1";
    let got = p.query("catalog", by_category);
    assert_eq!(
        rows_as_text(&got),
        reference(&by_category.replace("products", &format!("read_json_auto('{json}')")), 3)
    );

    let by_status =
        "SELECT status, count(*) AS n, sum(quantity) AS q, sum(amount) AS amount FROM orders GROUP BY 1 ORDER BY 1";
    let got = p.query("sales", by_status);
    let expected = reference(&by_status.replace("orders", &format!("read_parquet('{parquet}')")), 4);
    assert_eq!(rows_as_text(&got), expected);
    assert_eq!(got["rows"], 4);
    assert_eq!(got["chart"]["kind"], "bar", "a grouped result is a bar chart: {}", got["chart"]);
    assert_eq!(got["chart"]["x"], "status");
    let run = got["run"].as_u64().unwrap().to_string();

    let csv_out = p.plain_command(&["result", &run, "--format", "csv"]).output().unwrap();
    let csv_text = String::from_utf8(csv_out.stdout).unwrap();
    let mut lines = csv_text.lines();
    assert_eq!(lines.next(), Some("status,n,q,amount"));
    assert_eq!(lines.count(), 4);

    let json_result = p.ok(&["result", &run]);
    assert_eq!(json_result["total_rows"], 4);
    assert_eq!(json_result["rows"][0]["status"], expected[0][0].as_deref().unwrap());

    let diag = p.settled_diag();
    let workers = diag["workers"].as_array().unwrap();
    assert!(workers.len() >= 6, "three imports and three queries: {diag}");
    for worker in workers {
        assert_eq!(worker["state"], "finished", "{worker}");
        assert_eq!(worker["exit"]["code"], 0, "{worker}");
        assert!(worker["duration_ms"].as_u64().is_some() && worker["peak_rss_kb"].as_u64().unwrap() > 0, "{worker}");
    }
    let query_worker = workers.iter().find(|w| w["run"].as_u64() == Some(run.parse().unwrap())).expect("run's worker");
    assert_eq!(query_worker["source"], "sales");

    let by_month = "SELECT date_trunc('month', order_date) AS month, sum(amount) AS revenue FROM orders GROUP BY 1 \
                    ORDER BY 1";
    let got = p.query("sales", by_month);
    assert_eq!(got["rows"], 24);
    assert_eq!(got["chart"]["kind"], "line", "a time-bucketed result is a line chart: {}", got["chart"]);
    assert_eq!(got["chart"]["x"], "month");
    let plain = p.plain_command(&["query", "sales", "--sql", by_month, "--yes"]).output().unwrap();
    let text = String::from_utf8(plain.stdout).unwrap();
    assert!(
        text.lines().any(|line| line.starts_with("chart: line (x = month; y = revenue): one measure over time")),
        "the CLI prints the recommendation: {text}"
    );
}

#[test]
fn a_glob_reads_every_matching_file_as_one_table() {
    let p = Profile::new();
    let conn = duckdb::Connection::open_in_memory().unwrap();
    for (part, range) in [("1", "1, 301"), ("2", "301, 1001")] {
        let path = p.data_path(&format!("visits_{part}.csv"));
        conn.execute_batch(&format!(
            "COPY (SELECT range AS id, range % 7 AS day FROM range({range})) TO '{path}' (HEADER)"
        ))
        .unwrap();
    }
    let glob = p.data_path("visits_*.csv");
    let added = p.ok(&["source", "add", "web", "--kind", "files", "--path", &glob]);
    assert_eq!(added["files"][0]["table"], "visits");
    assert_eq!(added["files"][0]["paths"].as_array().unwrap().len(), 2);
    let got = p.query("web", "SELECT count(*) AS n, sum(id) AS s FROM visits");
    assert_eq!(got["first_page"]["rows"][0]["n"], 1000);
    // DuckDB sums BIGINT into HUGEINT, which travels as an exact decimal string.
    assert_eq!(got["first_page"]["rows"][0]["s"], (1..1001).sum::<i64>().to_string());
}

#[test]
fn a_changed_file_is_imported_again_before_the_next_query() {
    let p = Profile::new();
    let path = p.data_path("events.csv");
    std::fs::write(&path, "id,kind\n1,a\n2,b\n").unwrap();
    p.ok(&["source", "add", "ev", "--kind", "files", "--path", &path]);
    assert_eq!(p.query("ev", "SELECT count(*) AS n FROM events")["first_page"]["rows"][0]["n"], 2);
    std::fs::write(&path, "id,kind\n1,a\n2,b\n3,c\n").unwrap();
    assert_eq!(p.query("ev", "SELECT count(*) AS n FROM events")["first_page"]["rows"][0]["n"], 3);
}

#[test]
fn invalid_files_are_refused_with_actionable_errors_and_nothing_is_half_added() {
    let p = Profile::with_env(&[("POLYSTOREIQ_MAX_FILE_MB", "1")]);
    let write = |name: &str, bytes: &[u8]| std::fs::write(p.data_path(name), bytes).unwrap();
    write("notes.txt", b"hello");
    write("fake.parquet", b"a,b\n1,2\n");
    write("empty.csv", b"");
    write("header_only.csv", b"a,b\n");
    write("binary.csv", b"PK\x03\x04\x00\x00binary");
    write("prose.json", b"hello world");
    write("broken.json", b"[{\"a\": 1}, {\"a\": ");
    write("big.csv", &vec![b'x'; 2 << 20]);
    let check = |file: &str, code: &str, fragment: &str| {
        let err = p.err(&["source", "add", "bad", "--kind", "files", "--path", &p.data_path(file)]);
        assert_eq!(err["code"], code, "{file}: {err}");
        let message = err["message"].as_str().unwrap();
        assert!(message.contains(fragment), "{file}: {message:?} lacks {fragment:?}");
    };
    check("notes.txt", "invalid_file", "unsupported file type");
    check("fake.parquet", "invalid_file", "not a Parquet file");
    check("empty.csv", "invalid_file", "is empty");
    check("header_only.csv", "invalid_file", "no rows");
    check("binary.csv", "invalid_file", "binary");
    check("prose.json", "invalid_file", "is not JSON");
    check("broken.json", "invalid_file", "broken.json");
    check("missing.csv", "invalid_file", "cannot be opened");
    check("nothing_*.csv", "invalid_file", "matches no file");
    check("big.csv", "file_too_large", "limit");
    assert_eq!(p.ok(&["source", "list"]), serde_json::json!([]), "no failed import leaves a source behind");
    let datasets = p.home.path().join("datasets");
    let leftovers: Vec<_> = std::fs::read_dir(&datasets).map(|d| d.flatten().collect()).unwrap_or_default();
    assert!(leftovers.is_empty(), "no failed import leaves a database behind: {leftovers:?}");

    write("good.csv", b"a,b\n1,2\n");
    p.ok(&["source", "add", "bad", "--kind", "files", "--path", &p.data_path("good.csv")]);
}
