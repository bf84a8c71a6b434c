//! Deterministic fixture data: the demo retail dataset and TPC-H-lineitem-like benchmark files.
//!
//! Every value is a pure function of the row number (DuckDB's `hash`), so the same version writes the same
//! rows on every machine; nothing is hand-edited.

use std::path::Path;

use duckdb::Connection;

/// `h(i, salt)`: a deterministic, signed pseudo-random number per row and salt.
const HASH_MACRO: &str = "CREATE MACRO h(a, b) AS CAST(hash(a, b) % 1000000007 AS BIGINT);";

/// Rows in the demo's largest table.
pub const DEMO_ORDERS: u64 = 100_000;

/// Writes the demo dataset into `dir`: `customers.csv` (5,000 rows), `products.json` (400 rows) and
/// `orders.parquet` (100,000 rows, 2023-01-01 to 2024-12-31).
pub fn write_demo(dir: &Path) -> duckdb::Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| duckdb::Error::ToSqlConversionFailure(Box::new(e)))?;
    let conn = Connection::open_in_memory()?;
    let path = |name: &str| dir.join(name).to_string_lossy().replace('\'', "''");
    conn.execute_batch(HASH_MACRO)?;
    conn.execute_batch(&format!(
        "
        CREATE TABLE customers AS
        SELECT i AS customer_id,
               ['Ada','Grace','Alan','Edsger','Barbara','Donald','Margaret','Ken','Radia','Linus'][1 + h(i, 'f') % 10]
                 || ' ' || ['Lovelace','Hopper','Turing','Dijkstra','Liskov','Knuth','Hamilton','Thompson','Perlman','Torvalds'][1 + h(i, 'l') % 10] AS name,
               ['Lisbon','Berlin','Paris','Madrid','Rome','Oslo','Vienna','Dublin'][1 + h(i, 'c') % 8] AS city,
               ['Portugal','Germany','France','Spain','Italy','Norway','Austria','Ireland'][1 + h(i, 'c') % 8] AS country,
               ['consumer','small business','enterprise'][1 + h(i, 's') % 3] AS segment,
               DATE '2020-01-01' + CAST(h(i, 'd') % 1400 AS INTEGER) AS signup_date
        FROM range(1, 5001) t(i);
        CREATE TABLE products AS
        SELECT i AS product_id,
               ['Lamp','Chair','Desk','Mug','Notebook','Pen','Backpack','Monitor','Keyboard','Headphones'][1 + i % 10]
                 || ' ' || CAST(i AS VARCHAR) AS name,
               ['home','office','electronics','stationery'][1 + h(i, 'k') % 4] AS category,
               CAST(2 + (h(i, 'p') % 49800) / 100.0 AS DECIMAL(10,2)) AS unit_price
        FROM range(1, 401) t(i);
        CREATE TABLE orders AS
        SELECT i AS order_id,
               CAST(1 + h(i, 'cu') % 5000 AS BIGINT) AS customer_id,
               CAST(1 + h(i, 'pr') % 400 AS BIGINT) AS product_id,
               DATE '2023-01-01' + CAST(h(i, 'od') % 731 AS INTEGER) AS order_date,
               CAST(1 + h(i, 'q') % 5 AS INTEGER) AS quantity,
               ['completed','completed','completed','shipped','cancelled','returned'][1 + h(i, 'st') % 6] AS status,
               ['web','store','phone'][1 + h(i, 'ch') % 3] AS channel
        FROM range(1, {orders} + 1) t(i);
        CREATE TABLE orders_out AS
        SELECT o.*, CAST(o.quantity * p.unit_price AS DECIMAL(12,2)) AS amount
        FROM orders o JOIN products p USING (product_id) ORDER BY order_id;
        COPY (SELECT * FROM customers ORDER BY customer_id) TO '{customers}' (HEADER, DELIMITER ',');
        COPY (SELECT * FROM products ORDER BY product_id) TO '{products}' (FORMAT json, ARRAY true);
        COPY orders_out TO '{orders_file}' (FORMAT parquet);
        ",
        orders = DEMO_ORDERS,
        customers = path("customers.csv"),
        products = path("products.json"),
        orders_file = path("orders.parquet"),
    ))
}

/// Writes `lineitem.<ext>` with `rows` rows and 10 TPC-H-lineitem-like columns, in Parquet and/or CSV.
pub fn write_lineitem(dir: &Path, rows: u64, parquet: bool, csv: bool, json: bool) -> duckdb::Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| duckdb::Error::ToSqlConversionFailure(Box::new(e)))?;
    let conn = Connection::open_in_memory()?;
    conn.execute_batch(HASH_MACRO)?;
    conn.execute_batch(&format!(
        "CREATE TABLE lineitem AS
         SELECT i AS l_orderkey,
                CAST(1 + h(i, 'p') % 200000 AS BIGINT) AS l_partkey,
                CAST(1 + h(i, 's') % 10000 AS BIGINT) AS l_suppkey,
                CAST(1 + i % 7 AS INTEGER) AS l_linenumber,
                CAST(1 + h(i, 'q') % 50 AS DOUBLE) AS l_quantity,
                CAST((h(i, 'e') % 10000000) / 100.0 AS DOUBLE) AS l_extendedprice,
                CAST((h(i, 'd') % 11) / 100.0 AS DOUBLE) AS l_discount,
                ['A','N','R'][1 + h(i, 'r') % 3] AS l_returnflag,
                DATE '1992-01-01' + CAST(h(i, 'sd') % 2500 AS INTEGER) AS l_shipdate,
                ['DELIVER IN PERSON','COLLECT COD','NONE','TAKE BACK RETURN'][1 + h(i, 'i') % 4] AS l_shipinstruct
         FROM range(1, {rows} + 1) t(i);"
    ))?;
    let target = |ext: &str| dir.join(format!("lineitem.{ext}")).to_string_lossy().replace('\'', "''");
    if parquet {
        conn.execute_batch(&format!("COPY lineitem TO '{}' (FORMAT parquet);", target("parquet")))?;
    }
    if csv {
        conn.execute_batch(&format!("COPY lineitem TO '{}' (HEADER);", target("csv")))?;
    }
    if json {
        conn.execute_batch(&format!("COPY lineitem TO '{}' (FORMAT json);", target("json")))?;
    }
    Ok(())
}

/// Writes `<name>.parquet`: a time series of `rows` readings, one a minute from 2024-01-01 00:00 (`ts` TIMESTAMP,
/// `value` DOUBLE: a daily wave plus deterministic noise). The desktop UI benchmark charts and scrolls it.
pub fn write_series(dir: &Path, name: &str, rows: u64) -> duckdb::Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| duckdb::Error::ToSqlConversionFailure(Box::new(e)))?;
    let conn = Connection::open_in_memory()?;
    conn.execute_batch(HASH_MACRO)?;
    let target = dir.join(format!("{name}.parquet")).to_string_lossy().replace('\'', "''");
    conn.execute_batch(&format!(
        "COPY (
           SELECT TIMESTAMP '2024-01-01 00:00:00' + to_minutes(i) AS ts,
                  round(100 + 20 * sin(2 * pi() * i / 1440) + (h(i, 'v') % 1000) / 100.0, 3) AS value
           FROM range(0, {rows}) t(i) ORDER BY i
         ) TO '{target}' (FORMAT parquet);"
    ))
}
