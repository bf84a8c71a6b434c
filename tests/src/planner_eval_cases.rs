//! The offline planner's evaluation set: questions a person would ask of the demo retail data (files with DuckDB,
//! and MariaDB; a few on SecantusDB) and of Chinook (PostgreSQL and SecantusDB), each with a reference query
//! written by hand in the source's own language, or an expected decline. See `planner_eval.rs` for how they run.
//!
//! The references state the answer, not the planner's query: a list answers with every column of its table in
//! key order (at most 100 rows unless the question says otherwise), a group's answer may carry the group's key
//! beside its name, "top" without a number means ten, and "the most"/"which ..." one.

use crate::planner_eval::{Case, Category, Expected};

use Category::*;

fn case(source: &'static str, category: Category, question: &'static str, reference: &str, ordered: bool) -> Case {
    Case {
        source,
        category,
        question,
        follow_up: None,
        expected: Expected::Rows { reference: reference.into(), ordered },
    }
}

fn decline(source: &'static str, question: &'static str) -> Case {
    Case { source, category: Decline, question, follow_up: None, expected: Expected::Decline }
}

/// A demo question asked of the files (DuckDB) and of MariaDB: one reference where the SQL is the same, or
/// one per engine.
struct Demo {
    category: Category,
    question: &'static str,
    follow_up: Option<&'static str>,
    duckdb: &'static str,
    mysql: Option<&'static str>,
    ordered: bool,
}

const fn demo(category: Category, question: &'static str, sql: &'static str) -> Demo {
    Demo { category, question, follow_up: None, duckdb: sql, mysql: None, ordered: false }
}

const fn demo2(category: Category, question: &'static str, duckdb: &'static str, mysql: &'static str) -> Demo {
    Demo { category, question, follow_up: None, duckdb, mysql: Some(mysql), ordered: false }
}

const fn ordered(d: Demo) -> Demo {
    Demo { ordered: true, ..d }
}

const fn then(
    question: &'static str,
    follow_up: &'static str,
    duckdb: &'static str,
    mysql: Option<&'static str>,
) -> Demo {
    Demo { category: FollowUp, question, follow_up: Some(follow_up), duckdb, mysql, ordered: false }
}

const DEMO: &[Demo] = &[
    // count
    demo(Count, "How many orders are there?", "SELECT count(*) FROM orders"),
    demo(Count, "how many customers do we have", "SELECT count(*) FROM customers"),
    demo(Count, "number of products", "SELECT count(*) FROM products"),
    demo(Count, "how many distinct countries are there", "SELECT count(DISTINCT country) FROM customers"),
    demo(
        Count,
        "count the orders placed through channel 'phone'",
        "SELECT count(*) FROM orders WHERE channel = 'phone'",
    ),
    // sum
    demo(Sum, "total revenue", "SELECT sum(amount) FROM orders"),
    demo(Sum, "what is the total quantity of all orders", "SELECT sum(quantity) FROM orders"),
    demo(
        Sum,
        "total amount of orders in 2023",
        "SELECT sum(amount) FROM orders WHERE order_date BETWEEN '2023-01-01' AND '2023-12-31'",
    ),
    demo(
        Sum,
        "sum of quantity for orders with status 'returned'",
        "SELECT sum(quantity) FROM orders WHERE status = 'returned'",
    ),
    // avg
    demo(Avg, "average order amount", "SELECT avg(amount) FROM orders"),
    demo(Avg, "average unit price of products", "SELECT avg(unit_price) FROM products"),
    demo(Avg, "what is the average quantity per order", "SELECT avg(quantity) FROM orders"),
    demo(Avg, "average amount by channel", "SELECT channel, avg(amount) FROM orders GROUP BY channel"),
    // min/max
    demo(MinMax, "earliest order date", "SELECT min(order_date) FROM orders"),
    demo(MinMax, "what is the highest unit price", "SELECT max(unit_price) FROM products"),
    demo(MinMax, "latest signup date", "SELECT max(signup_date) FROM customers"),
    demo(
        MinMax,
        "maximum amount of an order in 2024",
        "SELECT max(amount) FROM orders WHERE order_date >= '2024-01-01' AND order_date < '2025-01-01'",
    ),
    demo(MinMax, "smallest order amount", "SELECT min(amount) FROM orders"),
    // top-N
    ordered(demo(
        TopN,
        "top 5 customers by revenue",
        "SELECT c.customer_id, c.name, sum(o.amount) AS s FROM orders o JOIN customers c ON c.customer_id = o.customer_id \
         GROUP BY c.customer_id, c.name ORDER BY s DESC, c.customer_id LIMIT 5",
    )),
    ordered(demo(
        TopN,
        "the 3 most expensive products",
        "SELECT * FROM products ORDER BY unit_price DESC, product_id LIMIT 3",
    )),
    ordered(demo(
        TopN,
        "top 10 products by quantity sold",
        "SELECT p.product_id, p.name, sum(o.quantity) AS q FROM orders o JOIN products p ON p.product_id = o.product_id \
         GROUP BY p.product_id, p.name ORDER BY q DESC, p.product_id LIMIT 10",
    )),
    ordered(demo(
        TopN,
        "which country has the most customers",
        "SELECT country, count(*) AS n FROM customers GROUP BY country ORDER BY n DESC, country LIMIT 1",
    )),
    ordered(demo(
        TopN,
        "5 cheapest products in category 'office'",
        "SELECT * FROM products WHERE category = 'office' ORDER BY unit_price, product_id LIMIT 5",
    )),
    ordered(demo(
        TopN,
        "which channel brings the most revenue",
        "SELECT channel, sum(amount) AS s FROM orders GROUP BY channel ORDER BY s DESC LIMIT 1",
    )),
    // group-by
    demo(GroupBy, "orders by status", "SELECT status, count(*) FROM orders GROUP BY status"),
    demo(GroupBy, "number of customers per country", "SELECT country, count(*) FROM customers GROUP BY country"),
    demo(GroupBy, "how many products per category", "SELECT category, count(*) FROM products GROUP BY category"),
    demo(
        GroupBy,
        "revenue by channel and status",
        "SELECT channel, status, sum(amount) FROM orders GROUP BY channel, status",
    ),
    demo(GroupBy, "customers by segment", "SELECT segment, count(*) FROM customers GROUP BY segment"),
    demo(
        GroupBy,
        "maximum unit price for each category",
        "SELECT category, max(unit_price) FROM products GROUP BY category",
    ),
    // filter on a value
    demo(FilterValue, "how many orders with status 'shipped'", "SELECT count(*) FROM orders WHERE status = 'shipped'"),
    demo(
        FilterValue,
        "customers in Germany",
        "SELECT * FROM customers WHERE country = 'Germany' ORDER BY customer_id LIMIT 100",
    ),
    demo(
        FilterValue,
        "products in category 'electronics'",
        "SELECT * FROM products WHERE category = 'electronics' ORDER BY product_id LIMIT 100",
    ),
    demo(FilterValue, "how many orders with channel not 'web'", "SELECT count(*) FROM orders WHERE channel <> 'web'"),
    demo(
        FilterValue,
        "orders with amount over 2000",
        "SELECT * FROM orders WHERE amount > 2000 ORDER BY order_id LIMIT 100",
    ),
    demo(FilterValue, "number of orders with quantity 5", "SELECT count(*) FROM orders WHERE quantity = 5"),
    demo(
        FilterValue,
        "how many customers in segment 'small business'",
        "SELECT count(*) FROM customers WHERE segment = 'small business'",
    ),
    // filter on a date
    demo(
        FilterDate,
        "how many orders in 2024",
        "SELECT count(*) FROM orders WHERE order_date >= '2024-01-01' AND order_date < '2025-01-01'",
    ),
    demo(
        FilterDate,
        "revenue in March 2024",
        "SELECT sum(amount) FROM orders WHERE order_date >= '2024-03-01' AND order_date < '2024-04-01'",
    ),
    demo(
        FilterDate,
        "how many customers signed up in 2022",
        "SELECT count(*) FROM customers WHERE signup_date >= '2022-01-01' AND signup_date < '2023-01-01'",
    ),
    demo(
        FilterDate,
        "how many orders since November 2024",
        "SELECT count(*) FROM orders WHERE order_date >= '2024-11-01'",
    ),
    demo(
        FilterDate,
        "how many orders in the last 3 years",
        "SELECT count(*) FROM orders WHERE order_date >= DATE '{today}' - INTERVAL 3 YEAR",
    ),
    demo(
        FilterDate,
        "total quantity of orders before 2024",
        "SELECT sum(quantity) FROM orders WHERE order_date < '2024-01-01'",
    ),
    demo(
        FilterDate,
        "revenue in the first quarter of 2024",
        "SELECT sum(amount) FROM orders WHERE order_date >= '2024-01-01' AND order_date < '2024-04-01'",
    ),
    demo(
        FilterDate,
        "how many orders between 2023-06-01 and 2023-06-30",
        "SELECT count(*) FROM orders WHERE order_date BETWEEN '2023-06-01' AND '2023-06-30'",
    ),
    // trends
    ordered(demo2(
        Trend,
        "revenue per month in 2024",
        "SELECT date_trunc('month', order_date) AS m, sum(amount) FROM orders WHERE year(order_date) = 2024 GROUP BY m ORDER BY m",
        "SELECT DATE_FORMAT(order_date, '%Y-%m-01') AS m, sum(amount) FROM orders WHERE YEAR(order_date) = 2024 GROUP BY m ORDER BY m",
    )),
    ordered(demo2(
        Trend,
        "monthly orders in 2023",
        "SELECT date_trunc('month', order_date) AS m, count(*) FROM orders WHERE year(order_date) = 2023 GROUP BY m ORDER BY m",
        "SELECT DATE_FORMAT(order_date, '%Y-%m-01') AS m, count(*) FROM orders WHERE YEAR(order_date) = 2023 GROUP BY m ORDER BY m",
    )),
    ordered(demo(Trend, "orders per year", "SELECT year(order_date) AS y, count(*) FROM orders GROUP BY y ORDER BY y")),
    ordered(demo2(
        Trend,
        "weekly revenue in March 2024",
        "SELECT date_trunc('week', order_date) AS w, sum(amount) FROM orders WHERE order_date >= '2024-03-01' AND order_date < '2024-04-01' GROUP BY w ORDER BY w",
        "SELECT DATE_SUB(order_date, INTERVAL WEEKDAY(order_date) DAY) AS w, sum(amount) FROM orders WHERE order_date >= '2024-03-01' AND order_date < '2024-04-01' GROUP BY w ORDER BY w",
    )),
    ordered(demo(
        Trend,
        "customers by signup year",
        "SELECT year(signup_date) AS y, count(*) FROM customers GROUP BY y ORDER BY y",
    )),
    ordered(demo2(
        Trend,
        "revenue by quarter in 2023",
        "SELECT date_trunc('quarter', order_date) AS q, sum(amount) FROM orders WHERE year(order_date) = 2023 GROUP BY q ORDER BY q",
        "SELECT CONCAT(YEAR(order_date), '-', LPAD((QUARTER(order_date) - 1) * 3 + 1, 2, '0'), '-01') AS q, sum(amount) \
         FROM orders WHERE YEAR(order_date) = 2023 GROUP BY q ORDER BY q",
    )),
    ordered(demo2(
        Trend,
        "daily orders in the last week of 2024",
        "SELECT order_date, count(*) FROM orders WHERE order_date >= '2024-12-25' GROUP BY order_date ORDER BY order_date",
        "SELECT order_date, count(*) FROM orders WHERE order_date >= '2024-12-25' GROUP BY order_date ORDER BY order_date",
    )),
    // joins
    demo(
        Join,
        "revenue by product category",
        "SELECT p.category, sum(o.amount) FROM orders o JOIN products p ON p.product_id = o.product_id GROUP BY p.category",
    ),
    demo(
        Join,
        "revenue by country",
        "SELECT c.country, sum(o.amount) FROM orders o JOIN customers c ON c.customer_id = o.customer_id GROUP BY c.country",
    ),
    demo(
        Join,
        "average amount by customer segment",
        "SELECT c.segment, avg(o.amount) FROM orders o JOIN customers c ON c.customer_id = o.customer_id GROUP BY c.segment",
    ),
    demo(
        Join,
        "number of orders per customer country in 2024",
        "SELECT c.country, count(*) FROM orders o JOIN customers c ON c.customer_id = o.customer_id \
         WHERE o.order_date >= '2024-01-01' AND o.order_date < '2025-01-01' GROUP BY c.country",
    ),
    ordered(demo(
        Join,
        "top 3 categories by quantity sold",
        "SELECT p.category, sum(o.quantity) AS q FROM orders o JOIN products p ON p.product_id = o.product_id \
         GROUP BY p.category ORDER BY q DESC, p.category LIMIT 3",
    )),
    demo(
        Join,
        "how many orders from customers in France",
        "SELECT count(*) FROM orders o JOIN customers c ON c.customer_id = o.customer_id WHERE c.country = 'France'",
    ),
    demo(
        Join,
        "how many distinct customers placed orders in 2024",
        "SELECT count(DISTINCT customer_id) FROM orders WHERE order_date >= '2024-01-01' AND order_date < '2025-01-01'",
    ),
    demo(
        Join,
        "total quantity of products in category 'home' sold in 2023",
        "SELECT sum(o.quantity) FROM orders o JOIN products p ON p.product_id = o.product_id \
         WHERE p.category = 'home' AND o.order_date >= '2023-01-01' AND o.order_date < '2024-01-01'",
    ),
    // follow-ups
    then(
        "revenue by product category",
        "now only 2024",
        "SELECT p.category, sum(o.amount) FROM orders o JOIN products p ON p.product_id = o.product_id \
         WHERE o.order_date >= '2024-01-01' AND o.order_date < '2025-01-01' GROUP BY p.category",
        None,
    ),
    then(
        "number of orders per month in 2024",
        "split that by channel",
        "SELECT date_trunc('month', order_date) AS m, channel, count(*) FROM orders WHERE year(order_date) = 2024 GROUP BY m, channel",
        Some(
            "SELECT DATE_FORMAT(order_date, '%Y-%m-01') AS m, channel, count(*) FROM orders WHERE YEAR(order_date) = 2024 \
             GROUP BY m, channel",
        ),
    ),
    then(
        "how many customers per country",
        "only segment 'enterprise'",
        "SELECT country, count(*) FROM customers WHERE segment = 'enterprise' GROUP BY country",
        None,
    ),
    then(
        "revenue by country",
        "top 3 only",
        "SELECT c.country, sum(o.amount) AS s FROM orders o JOIN customers c ON c.customer_id = o.customer_id \
         GROUP BY c.country ORDER BY s DESC LIMIT 3",
        None,
    ),
    then(
        "total revenue in 2023",
        "and in 2024?",
        "SELECT sum(amount) FROM orders WHERE order_date >= '2024-01-01' AND order_date < '2025-01-01'",
        None,
    ),
    then(
        "orders by status",
        "what about customers in France?",
        "SELECT o.status, count(*) FROM orders o JOIN customers c ON c.customer_id = o.customer_id WHERE c.country = 'France' \
         GROUP BY o.status",
        None,
    ),
    then(
        "revenue per month in 2024",
        "by quarter instead",
        "SELECT date_trunc('quarter', order_date) AS q, sum(amount) FROM orders WHERE year(order_date) = 2024 GROUP BY q",
        Some(
            "SELECT CONCAT(YEAR(order_date), '-', LPAD((QUARTER(order_date) - 1) * 3 + 1, 2, '0'), '-01') AS q, sum(amount) \
             FROM orders WHERE YEAR(order_date) = 2024 GROUP BY q",
        ),
    ),
    then(
        "revenue by channel",
        "now the average amount",
        "SELECT channel, avg(amount) FROM orders GROUP BY channel",
        None,
    ),
];

const DEMO_DECLINES: &[&str] = &[
    "what is the weather in Lisbon",
    "how many cancelled orders",
    "median order amount",
    "show me orders in March",
    "top 5 products",
    "customers with more than 10 orders",
    "what is the profit margin",
    "who is the best employee",
];

/// A Chinook question asked of PostgreSQL, and of SecantusDB when it has a MongoDB reference.
struct Chinook {
    category: Category,
    question: &'static str,
    follow_up: Option<&'static str>,
    postgres: &'static str,
    mongo: Option<&'static str>,
    ordered: bool,
}

const fn ch(
    category: Category,
    question: &'static str,
    postgres: &'static str,
    mongo: Option<&'static str>,
) -> Chinook {
    Chinook { category, question, follow_up: None, postgres, mongo, ordered: false }
}

const fn ch_ordered(c: Chinook) -> Chinook {
    Chinook { ordered: true, ..c }
}

const fn ch_then(
    question: &'static str,
    follow_up: &'static str,
    postgres: &'static str,
    mongo: Option<&'static str>,
) -> Chinook {
    Chinook { category: FollowUp, question, follow_up: Some(follow_up), postgres, mongo, ordered: false }
}

const CHINOOK: &[Chinook] = &[
    // count
    ch(Count, "how many tracks", "SELECT count(*) FROM track", Some(r#"{"collection": "track", "count": {}}"#)),
    ch(
        Count,
        "how many albums are there",
        "SELECT count(*) FROM album",
        Some(r#"{"collection": "album", "count": {}}"#),
    ),
    ch(
        Count,
        "number of customers",
        "SELECT count(*) FROM customer",
        Some(r#"{"collection": "customer", "count": {}}"#),
    ),
    ch(
        Count,
        "how many different composers are there",
        "SELECT count(DISTINCT composer) FROM track",
        Some(
            r#"{"collection": "track", "aggregate": [{"$match": {"composer": {"$ne": null}}}, {"$group": {"_id": "$composer"}}, {"$count": "n"}]}"#,
        ),
    ),
    ch(
        Count,
        "how many invoices in 2010",
        "SELECT count(*) FROM invoice WHERE invoice_date >= '2010-01-01' AND invoice_date < '2011-01-01'",
        Some(
            r#"{"collection": "invoice", "count": {"invoice_date": {"$gte": {"$date": "2010-01-01T00:00:00Z"}, "$lt": {"$date": "2011-01-01T00:00:00Z"}}}}"#,
        ),
    ),
    // sum
    ch(
        Sum,
        "total sales",
        "SELECT sum(total) FROM invoice",
        Some(
            r#"{"collection": "invoice", "aggregate": [{"$group": {"_id": null, "s": {"$sum": "$total"}}}, {"$project": {"_id": 0, "s": 1}}]}"#,
        ),
    ),
    ch(
        Sum,
        "total sales in 2011",
        "SELECT sum(total) FROM invoice WHERE extract(year FROM invoice_date) = 2011",
        Some(
            r#"{"collection": "invoice", "aggregate": [{"$match": {"invoice_date": {"$gte": {"$date": "2011-01-01T00:00:00Z"}, "$lt": {"$date": "2012-01-01T00:00:00Z"}}}}, {"$group": {"_id": null, "s": {"$sum": "$total"}}}, {"$project": {"_id": 0, "s": 1}}]}"#,
        ),
    ),
    ch(
        Sum,
        "total quantity of invoice lines",
        "SELECT sum(quantity) FROM invoice_line",
        Some(
            r#"{"collection": "invoice_line", "aggregate": [{"$group": {"_id": null, "q": {"$sum": "$quantity"}}}, {"$project": {"_id": 0, "q": 1}}]}"#,
        ),
    ),
    // avg
    ch(
        Avg,
        "average invoice total",
        "SELECT avg(total) FROM invoice",
        Some(
            r#"{"collection": "invoice", "aggregate": [{"$group": {"_id": null, "a": {"$avg": "$total"}}}, {"$project": {"_id": 0, "a": 1}}]}"#,
        ),
    ),
    ch(
        Avg,
        "average track length",
        "SELECT avg(milliseconds) FROM track",
        Some(
            r#"{"collection": "track", "aggregate": [{"$group": {"_id": null, "a": {"$avg": "$milliseconds"}}}, {"$project": {"_id": 0, "a": 1}}]}"#,
        ),
    ),
    ch(
        Avg,
        "average unit price of tracks",
        "SELECT avg(unit_price) FROM track",
        Some(
            r#"{"collection": "track", "aggregate": [{"$group": {"_id": null, "a": {"$avg": "$unit_price"}}}, {"$project": {"_id": 0, "a": 1}}]}"#,
        ),
    ),
    ch(
        Avg,
        "average invoice total per billing country",
        "SELECT billing_country, avg(total) FROM invoice GROUP BY billing_country",
        Some(
            r#"{"collection": "invoice", "aggregate": [{"$group": {"_id": "$billing_country", "a": {"$avg": "$total"}}}]}"#,
        ),
    ),
    // min/max
    ch(
        MinMax,
        "longest track",
        "SELECT * FROM track ORDER BY milliseconds DESC, track_id LIMIT 1",
        Some(
            r#"{"collection": "track", "find": {}, "projection": {"_id": 0}, "sort": {"milliseconds": -1, "track_id": 1}, "limit": 1}"#,
        ),
    ),
    ch(
        MinMax,
        "earliest invoice date",
        "SELECT min(invoice_date) FROM invoice",
        Some(
            r#"{"collection": "invoice", "aggregate": [{"$group": {"_id": null, "d": {"$min": "$invoice_date"}}}, {"$project": {"_id": 0, "d": 1}}]}"#,
        ),
    ),
    ch(
        MinMax,
        "highest invoice total",
        "SELECT max(total) FROM invoice",
        Some(
            r#"{"collection": "invoice", "aggregate": [{"$group": {"_id": null, "m": {"$max": "$total"}}}, {"$project": {"_id": 0, "m": 1}}]}"#,
        ),
    ),
    ch(
        MinMax,
        "shortest track",
        "SELECT * FROM track ORDER BY milliseconds, track_id LIMIT 1",
        Some(
            r#"{"collection": "track", "find": {}, "projection": {"_id": 0}, "sort": {"milliseconds": 1, "track_id": 1}, "limit": 1}"#,
        ),
    ),
    // top-N
    ch_ordered(ch(
        TopN,
        "top 5 artists by number of albums",
        "SELECT ar.artist_id, ar.name, count(*) AS n FROM album al JOIN artist ar ON ar.artist_id = al.artist_id \
         GROUP BY ar.artist_id, ar.name ORDER BY n DESC, ar.artist_id LIMIT 5",
        Some(
            r#"{"collection": "album", "aggregate": [{"$group": {"_id": "$artist_id", "n": {"$sum": 1}}}, {"$sort": {"n": -1, "_id": 1}}, {"$limit": 5}, {"$lookup": {"from": "artist", "localField": "_id", "foreignField": "artist_id", "as": "a"}}, {"$unwind": "$a"}, {"$project": {"_id": 0, "artist_id": "$_id", "name": "$a.name", "n": 1}}, {"$sort": {"n": -1, "artist_id": 1}}]}"#,
        ),
    )),
    ch_ordered(ch(
        TopN,
        "which genre has the most tracks",
        "SELECT g.name, count(*) AS n FROM track t JOIN genre g ON g.genre_id = t.genre_id GROUP BY g.genre_id, g.name \
         ORDER BY n DESC LIMIT 1",
        Some(
            r#"{"collection": "track", "aggregate": [{"$group": {"_id": "$genre_id", "n": {"$sum": 1}}}, {"$sort": {"n": -1}}, {"$limit": 1}, {"$lookup": {"from": "genre", "localField": "_id", "foreignField": "genre_id", "as": "g"}}, {"$unwind": "$g"}, {"$project": {"_id": 0, "name": "$g.name", "n": 1}}]}"#,
        ),
    )),
    ch_ordered(ch(
        TopN,
        "top 10 customers by total spent",
        "SELECT c.customer_id, c.first_name, c.last_name, sum(i.total) AS s FROM invoice i JOIN customer c ON c.customer_id = i.customer_id \
         GROUP BY c.customer_id ORDER BY s DESC, c.customer_id LIMIT 10",
        Some(
            r#"{"collection": "invoice", "aggregate": [{"$group": {"_id": "$customer_id", "s": {"$sum": "$total"}}}, {"$sort": {"s": -1, "_id": 1}}, {"$limit": 10}, {"$lookup": {"from": "customer", "localField": "_id", "foreignField": "customer_id", "as": "c"}}, {"$unwind": "$c"}, {"$project": {"_id": 0, "customer_id": "$_id", "first_name": "$c.first_name", "last_name": "$c.last_name", "s": 1}}, {"$sort": {"s": -1, "customer_id": 1}}]}"#,
        ),
    )),
    ch_ordered(ch(
        TopN,
        "top 3 genres by revenue in 2010",
        "SELECT g.name, sum(il.unit_price * il.quantity) AS r FROM invoice_line il JOIN invoice i ON i.invoice_id = il.invoice_id \
         JOIN track t ON t.track_id = il.track_id JOIN genre g ON g.genre_id = t.genre_id \
         WHERE i.invoice_date >= '2010-01-01' AND i.invoice_date < '2011-01-01' GROUP BY g.genre_id, g.name ORDER BY r DESC, g.genre_id LIMIT 3",
        None,
    )),
    ch_ordered(ch(
        TopN,
        "playlists with the most tracks",
        "SELECT p.playlist_id, p.name, count(DISTINCT pt.track_id) AS n FROM playlist_track pt JOIN playlist p ON p.playlist_id = pt.playlist_id \
         GROUP BY p.playlist_id, p.name ORDER BY n DESC, p.playlist_id LIMIT 10",
        Some(
            r#"{"collection": "playlist_track", "aggregate": [{"$group": {"_id": "$playlist_id", "t": {"$addToSet": "$track_id"}}}, {"$lookup": {"from": "playlist", "localField": "_id", "foreignField": "playlist_id", "as": "p"}}, {"$unwind": "$p"}, {"$project": {"_id": 0, "playlist_id": "$_id", "name": "$p.name", "n": {"$size": "$t"}}}, {"$sort": {"n": -1, "playlist_id": 1}}, {"$limit": 10}]}"#,
        ),
    )),
    ch_ordered(ch(
        TopN,
        "the 5 longest tracks",
        "SELECT * FROM track ORDER BY milliseconds DESC, track_id LIMIT 5",
        Some(
            r#"{"collection": "track", "find": {}, "projection": {"_id": 0}, "sort": {"milliseconds": -1, "track_id": 1}, "limit": 5}"#,
        ),
    )),
    // group-by
    ch(
        GroupBy,
        "tracks per genre",
        "SELECT g.genre_id, g.name, count(*) FROM track t JOIN genre g ON g.genre_id = t.genre_id GROUP BY g.genre_id, g.name",
        Some(
            r#"{"collection": "track", "aggregate": [{"$group": {"_id": "$genre_id", "n": {"$sum": 1}}}, {"$project": {"_id": 0, "genre_id": "$_id", "n": 1}}]}"#,
        ),
    ),
    ch(
        GroupBy,
        "number of albums per artist",
        "SELECT artist_id, count(*) FROM album GROUP BY artist_id",
        Some(
            r#"{"collection": "album", "aggregate": [{"$group": {"_id": "$artist_id", "n": {"$sum": 1}}}, {"$project": {"_id": 0, "artist_id": "$_id", "n": 1}}]}"#,
        ),
    ),
    ch(
        GroupBy,
        "number of tracks by media type",
        "SELECT m.name, count(*) FROM track t JOIN media_type m ON m.media_type_id = t.media_type_id GROUP BY m.name",
        Some(
            r#"{"collection": "track", "aggregate": [{"$lookup": {"from": "media_type", "localField": "media_type_id", "foreignField": "media_type_id", "as": "m"}}, {"$unwind": "$m"}, {"$group": {"_id": "$m.name", "n": {"$sum": 1}}}]}"#,
        ),
    ),
    ch(
        GroupBy,
        "how many customers per country",
        "SELECT country, count(*) FROM customer GROUP BY country",
        Some(r#"{"collection": "customer", "aggregate": [{"$group": {"_id": "$country", "n": {"$sum": 1}}}]}"#),
    ),
    ch(
        GroupBy,
        "customers per support rep",
        "SELECT support_rep_id, count(*) FROM customer GROUP BY support_rep_id",
        Some(r#"{"collection": "customer", "aggregate": [{"$group": {"_id": "$support_rep_id", "n": {"$sum": 1}}}]}"#),
    ),
    ch(
        GroupBy,
        "employees per title",
        "SELECT title, count(*) FROM employee GROUP BY title",
        Some(r#"{"collection": "employee", "aggregate": [{"$group": {"_id": "$title", "n": {"$sum": 1}}}]}"#),
    ),
    // filter on a value
    ch(
        FilterValue,
        "customers from Brazil",
        "SELECT * FROM customer WHERE country = 'Brazil' ORDER BY customer_id",
        Some(
            r#"{"collection": "customer", "find": {"country": "Brazil"}, "projection": {"_id": 0}, "sort": {"customer_id": 1}}"#,
        ),
    ),
    ch(
        FilterValue,
        "albums by artist 'Iron Maiden'",
        "SELECT al.* FROM album al JOIN artist ar ON ar.artist_id = al.artist_id WHERE ar.name = 'Iron Maiden'",
        Some(
            r#"{"collection": "album", "aggregate": [{"$lookup": {"from": "artist", "localField": "artist_id", "foreignField": "artist_id", "as": "a"}}, {"$unwind": "$a"}, {"$match": {"a.name": "Iron Maiden"}}, {"$project": {"_id": 0, "album_id": 1, "title": 1, "artist_id": 1}}]}"#,
        ),
    ),
    ch(
        FilterValue,
        "tracks of album 'Let There Be Rock'",
        "SELECT t.* FROM track t JOIN album a ON a.album_id = t.album_id WHERE a.title = 'Let There Be Rock'",
        Some(r#"{"collection": "track", "aggregate": [{"$match": {"album_id": 4}}, {"$project": {"_id": 0}}]}"#),
    ),
    ch(
        FilterValue,
        "how many tracks in genre 'Jazz'",
        "SELECT count(*) FROM track t JOIN genre g ON g.genre_id = t.genre_id WHERE g.name = 'Jazz'",
        Some(r#"{"collection": "track", "count": {"genre_id": 2}}"#),
    ),
    ch(
        FilterValue,
        "invoices with total over 20",
        "SELECT * FROM invoice WHERE total > 20",
        Some(r#"{"collection": "invoice", "find": {"total": {"$gt": 20}}, "projection": {"_id": 0}}"#),
    ),
    ch(
        FilterValue,
        "how many customers with country 'USA'",
        "SELECT count(*) FROM customer WHERE country = 'USA'",
        Some(r#"{"collection": "customer", "count": {"country": "USA"}}"#),
    ),
    // filter on a date
    ch(
        FilterDate,
        "invoices in March 2010",
        "SELECT * FROM invoice WHERE invoice_date >= '2010-03-01' AND invoice_date < '2010-04-01'",
        Some(
            r#"{"collection": "invoice", "find": {"invoice_date": {"$gte": {"$date": "2010-03-01T00:00:00Z"}, "$lt": {"$date": "2010-04-01T00:00:00Z"}}}, "projection": {"_id": 0}}"#,
        ),
    ),
    ch(
        FilterDate,
        "total sales since 2011",
        "SELECT sum(total) FROM invoice WHERE invoice_date >= '2011-01-01'",
        Some(
            r#"{"collection": "invoice", "aggregate": [{"$match": {"invoice_date": {"$gte": {"$date": "2011-01-01T00:00:00Z"}}}}, {"$group": {"_id": null, "s": {"$sum": "$total"}}}, {"$project": {"_id": 0, "s": 1}}]}"#,
        ),
    ),
    ch(
        FilterDate,
        "how many employees were hired in 2003",
        "SELECT count(*) FROM employee WHERE extract(year FROM hire_date) = 2003",
        Some(
            r#"{"collection": "employee", "count": {"hire_date": {"$gte": {"$date": "2003-01-01T00:00:00Z"}, "$lt": {"$date": "2004-01-01T00:00:00Z"}}}}"#,
        ),
    ),
    ch(
        FilterDate,
        "how many invoices before 2009",
        "SELECT count(*) FROM invoice WHERE invoice_date < '2009-01-01'",
        Some(r#"{"collection": "invoice", "count": {"invoice_date": {"$lt": {"$date": "2009-01-01T00:00:00Z"}}}}"#),
    ),
    // trends
    ch_ordered(ch(
        Trend,
        "revenue by year",
        "SELECT extract(year FROM invoice_date) AS y, sum(total) FROM invoice GROUP BY y ORDER BY y",
        Some(
            r#"{"collection": "invoice", "aggregate": [{"$group": {"_id": {"$year": "$invoice_date"}, "s": {"$sum": "$total"}}}, {"$sort": {"_id": 1}}]}"#,
        ),
    )),
    ch_ordered(ch(
        Trend,
        "number of invoices per month in 2010",
        "SELECT date_trunc('month', invoice_date) AS m, count(*) FROM invoice WHERE extract(year FROM invoice_date) = 2010 GROUP BY m ORDER BY m",
        Some(
            r#"{"collection": "invoice", "aggregate": [{"$match": {"invoice_date": {"$gte": {"$date": "2010-01-01T00:00:00Z"}, "$lt": {"$date": "2011-01-01T00:00:00Z"}}}}, {"$group": {"_id": {"$dateTrunc": {"date": "$invoice_date", "unit": "month"}}, "n": {"$sum": 1}}}, {"$sort": {"_id": 1}}]}"#,
        ),
    )),
    ch_ordered(ch(
        Trend,
        "quarterly sales in 2009",
        "SELECT date_trunc('quarter', invoice_date) AS q, sum(total) FROM invoice WHERE extract(year FROM invoice_date) = 2009 GROUP BY q ORDER BY q",
        Some(
            r#"{"collection": "invoice", "aggregate": [{"$match": {"invoice_date": {"$gte": {"$date": "2009-01-01T00:00:00Z"}, "$lt": {"$date": "2010-01-01T00:00:00Z"}}}}, {"$group": {"_id": {"$dateTrunc": {"date": "$invoice_date", "unit": "quarter"}}, "s": {"$sum": "$total"}}}, {"$sort": {"_id": 1}}]}"#,
        ),
    )),
    ch_ordered(ch(
        Trend,
        "sales trend in 2011",
        "SELECT date_trunc('month', invoice_date) AS m, sum(total) FROM invoice WHERE extract(year FROM invoice_date) = 2011 GROUP BY m ORDER BY m",
        Some(
            r#"{"collection": "invoice", "aggregate": [{"$match": {"invoice_date": {"$gte": {"$date": "2011-01-01T00:00:00Z"}, "$lt": {"$date": "2012-01-01T00:00:00Z"}}}}, {"$group": {"_id": {"$dateTrunc": {"date": "$invoice_date", "unit": "month"}}, "s": {"$sum": "$total"}}}, {"$sort": {"_id": 1}}]}"#,
        ),
    )),
    // joins
    ch(
        Join,
        "revenue by genre",
        "SELECT g.name, sum(il.unit_price * il.quantity) FROM invoice_line il JOIN track t ON t.track_id = il.track_id \
         JOIN genre g ON g.genre_id = t.genre_id GROUP BY g.genre_id, g.name",
        Some(
            r#"{"collection": "invoice_line", "aggregate": [{"$lookup": {"from": "track", "localField": "track_id", "foreignField": "track_id", "as": "t"}}, {"$unwind": "$t"}, {"$group": {"_id": "$t.genre_id", "r": {"$sum": {"$multiply": ["$unit_price", "$quantity"]}}}}, {"$project": {"_id": 0, "genre_id": "$_id", "r": 1}}]}"#,
        ),
    ),
    ch(
        Join,
        "total sales per customer country",
        "SELECT c.country, sum(i.total) FROM invoice i JOIN customer c ON c.customer_id = i.customer_id GROUP BY c.country",
        Some(
            r#"{"collection": "invoice", "aggregate": [{"$lookup": {"from": "customer", "localField": "customer_id", "foreignField": "customer_id", "as": "c"}}, {"$unwind": "$c"}, {"$group": {"_id": "$c.country", "s": {"$sum": "$total"}}}]}"#,
        ),
    ),
    ch(
        Join,
        "number of tracks per artist",
        "SELECT ar.artist_id, ar.name, count(*) FROM track t JOIN album al ON al.album_id = t.album_id \
         JOIN artist ar ON ar.artist_id = al.artist_id GROUP BY ar.artist_id, ar.name",
        None,
    ),
    ch(
        Join,
        "how many customers have invoices",
        "SELECT count(DISTINCT customer_id) FROM invoice",
        Some(r#"{"collection": "invoice", "aggregate": [{"$group": {"_id": "$customer_id"}}, {"$count": "n"}]}"#),
    ),
    ch(
        Join,
        "revenue by media type",
        "SELECT m.name, sum(il.unit_price * il.quantity) FROM invoice_line il JOIN track t ON t.track_id = il.track_id \
         JOIN media_type m ON m.media_type_id = t.media_type_id GROUP BY m.media_type_id, m.name",
        None,
    ),
    ch(
        Join,
        "average unit price of tracks per genre",
        "SELECT g.name, avg(t.unit_price) FROM track t JOIN genre g ON g.genre_id = t.genre_id GROUP BY g.genre_id, g.name",
        Some(
            r#"{"collection": "track", "aggregate": [{"$group": {"_id": "$genre_id", "a": {"$avg": "$unit_price"}}}, {"$project": {"_id": 0, "genre_id": "$_id", "a": 1}}]}"#,
        ),
    ),
    ch(
        Join,
        "how many invoice lines for tracks in genre 'Rock' in 2009",
        "SELECT count(*) FROM invoice_line il JOIN invoice i ON i.invoice_id = il.invoice_id JOIN track t ON t.track_id = il.track_id \
         JOIN genre g ON g.genre_id = t.genre_id WHERE g.name = 'Rock' AND i.invoice_date >= '2009-01-01' AND i.invoice_date < '2010-01-01'",
        None,
    ),
    // follow-ups
    ch_then(
        "number of tracks per genre",
        "now only media type 'AAC audio file'",
        "SELECT g.genre_id, g.name, count(*) FROM track t JOIN genre g ON g.genre_id = t.genre_id \
         JOIN media_type m ON m.media_type_id = t.media_type_id WHERE m.name = 'AAC audio file' GROUP BY g.genre_id, g.name",
        Some(
            r#"{"collection": "track", "aggregate": [{"$match": {"media_type_id": 5}}, {"$group": {"_id": "$genre_id", "n": {"$sum": 1}}}, {"$project": {"_id": 0, "genre_id": "$_id", "n": 1}}]}"#,
        ),
    ),
    ch_then(
        "total sales by billing country",
        "top 5 only",
        "SELECT billing_country, sum(total) AS s FROM invoice GROUP BY billing_country ORDER BY s DESC, billing_country LIMIT 5",
        Some(
            r#"{"collection": "invoice", "aggregate": [{"$group": {"_id": "$billing_country", "s": {"$sum": "$total"}}}, {"$sort": {"s": -1, "_id": 1}}, {"$limit": 5}]}"#,
        ),
    ),
    ch_then(
        "revenue by year",
        "split that by genre",
        "SELECT extract(year FROM i.invoice_date) AS y, g.genre_id, g.name, sum(il.unit_price * il.quantity) FROM invoice_line il \
         JOIN invoice i ON i.invoice_id = il.invoice_id JOIN track t ON t.track_id = il.track_id JOIN genre g ON g.genre_id = t.genre_id \
         GROUP BY y, g.genre_id, g.name",
        None,
    ),
    ch_then(
        "how many invoices in 2010",
        "and in 2011?",
        "SELECT count(*) FROM invoice WHERE extract(year FROM invoice_date) = 2011",
        Some(
            r#"{"collection": "invoice", "count": {"invoice_date": {"$gte": {"$date": "2011-01-01T00:00:00Z"}, "$lt": {"$date": "2012-01-01T00:00:00Z"}}}}"#,
        ),
    ),
    ch_then(
        "average invoice total",
        "by year",
        "SELECT extract(year FROM invoice_date) AS y, avg(total) FROM invoice GROUP BY y",
        Some(
            r#"{"collection": "invoice", "aggregate": [{"$group": {"_id": {"$year": "$invoice_date"}, "a": {"$avg": "$total"}}}]}"#,
        ),
    ),
    ch_then(
        "tracks per genre",
        "now only those with milliseconds over 300000",
        "SELECT g.genre_id, g.name, count(*) FROM track t JOIN genre g ON g.genre_id = t.genre_id WHERE t.milliseconds > 300000 \
         GROUP BY g.genre_id, g.name",
        Some(
            r#"{"collection": "track", "aggregate": [{"$match": {"milliseconds": {"$gt": 300000}}}, {"$group": {"_id": "$genre_id", "n": {"$sum": 1}}}, {"$project": {"_id": 0, "genre_id": "$_id", "n": 1}}]}"#,
        ),
    ),
];

const CHINOOK_DECLINES: &[&str] = &[
    "what is the weather",
    "how many rock tracks",
    "median invoice total",
    "customers with more than 5 invoices",
    "average number of tracks per album",
    "employees by date",
    "which tracks are the best",
    "list names",
];

/// Demo questions on SecantusDB, over the small collections (its aggregation reads every document of a
/// collection in Python, so the 100,000 orders stay with the SQL engines).
fn mongo_demo() -> Vec<Case> {
    let s = "mongo_demo";
    vec![
        case(s, Count, "how many customers do we have", r#"{"collection": "customers", "count": {}}"#, false),
        case(s, GroupBy, "number of customers per country", r#"{"collection": "customers", "aggregate": [{"$group": {"_id": "$country", "n": {"$sum": 1}}}]}"#, false),
        case(s, Avg, "average unit price of products", r#"{"collection": "products", "aggregate": [{"$group": {"_id": null, "a": {"$avg": "$unit_price"}}}, {"$project": {"_id": 0, "a": 1}}]}"#, false),
        case(s, TopN, "the 3 most expensive products", r#"{"collection": "products", "find": {}, "projection": {"_id": 0}, "sort": {"unit_price": -1, "product_id": 1}, "limit": 3}"#, true),
        case(s, FilterValue, "how many customers in segment 'enterprise'", r#"{"collection": "customers", "count": {"segment": "enterprise"}}"#, false),
        case(s, FilterDate, "how many customers signed up in 2021", r#"{"collection": "customers", "count": {"signup_date": {"$gte": {"$date": "2021-01-01T00:00:00Z"}, "$lt": {"$date": "2022-01-01T00:00:00Z"}}}}"#, false),
        case(s, Trend, "customers by signup year", r#"{"collection": "customers", "aggregate": [{"$group": {"_id": {"$year": "$signup_date"}, "n": {"$sum": 1}}}, {"$sort": {"_id": 1}}]}"#, true),
        case(s, MinMax, "maximum unit price for each category", r#"{"collection": "products", "aggregate": [{"$group": {"_id": "$category", "m": {"$max": "$unit_price"}}}]}"#, false),
        Case {
            source: s,
            category: FollowUp,
            question: "how many customers per segment",
            follow_up: Some("now only customers in Norway"),
            expected: Expected::Rows {
                reference: r#"{"collection": "customers", "aggregate": [{"$match": {"country": "Norway"}}, {"$group": {"_id": "$segment", "n": {"$sum": 1}}}]}"#.into(),
                ordered: false,
            },
        },
        decline(s, "how many unhappy customers"),
    ]
}

/// A second batch, written after the planner to check it on phrasings it was not built around: paraphrases,
/// possessives, comparatives, relative dates and questions it should not answer.
const DEMO_MORE: &[Demo] = &[
    demo(GroupBy, "What's the number of orders per channel?", "SELECT channel, count(*) FROM orders GROUP BY channel"),
    demo(
        Join,
        "Show the total sales for each product category in 2023",
        "SELECT p.category, sum(o.amount) FROM orders o JOIN products p ON p.product_id = o.product_id \
         WHERE o.order_date >= '2023-01-01' AND o.order_date < '2024-01-01' GROUP BY p.category",
    ),
    ordered(demo(
        TopN,
        "Which product sold the most units?",
        "SELECT p.product_id, p.name, sum(o.quantity) AS q FROM orders o JOIN products p ON p.product_id = o.product_id \
         GROUP BY p.product_id, p.name ORDER BY q DESC, p.product_id LIMIT 1",
    )),
    demo(
        Join,
        "Give me the average order value by country",
        "SELECT c.country, avg(o.amount) FROM orders o JOIN customers c ON c.customer_id = o.customer_id GROUP BY c.country",
    ),
    demo(
        FilterValue,
        "List all products priced above 400",
        "SELECT * FROM products WHERE unit_price > 400 ORDER BY product_id",
    ),
    demo(
        Join,
        "How many orders did each customer segment place?",
        "SELECT c.segment, count(*) FROM orders o JOIN customers c ON c.customer_id = o.customer_id GROUP BY c.segment",
    ),
    demo(GroupBy, "count of customers by city", "SELECT city, count(*) FROM customers GROUP BY city"),
    ordered(demo(
        Trend,
        "Number of orders per day in December 2024",
        "SELECT order_date, count(*) FROM orders WHERE order_date >= '2024-12-01' GROUP BY order_date ORDER BY order_date",
    )),
    ordered(demo(
        TopN,
        "Top 3 cities by number of customers",
        "SELECT city, count(*) AS n FROM customers GROUP BY city ORDER BY n DESC, city LIMIT 3",
    )),
    demo(
        GroupBy,
        "What is the average unit price in each category?",
        "SELECT category, avg(unit_price) FROM products GROUP BY category",
    ),
    ordered(demo(
        TopN,
        "Which customers signed up most recently?",
        "SELECT * FROM customers ORDER BY signup_date DESC, customer_id LIMIT 10",
    )),
    demo(
        Sum,
        "How much revenue did we make in 2024?",
        "SELECT sum(amount) FROM orders WHERE order_date >= '2024-01-01' AND order_date < '2025-01-01'",
    ),
    ordered(demo2(
        Trend,
        "number of orders with status 'cancelled' per month in 2024",
        "SELECT date_trunc('month', order_date) AS m, count(*) FROM orders WHERE status = 'cancelled' AND year(order_date) = 2024 GROUP BY m ORDER BY m",
        "SELECT DATE_FORMAT(order_date, '%Y-%m-01') AS m, count(*) FROM orders WHERE status = 'cancelled' AND YEAR(order_date) = 2024 GROUP BY m ORDER BY m",
    )),
    demo(MinMax, "What's the smallest quantity ordered?", "SELECT min(quantity) FROM orders"),
    demo(
        Join,
        "Total revenue per customer segment and channel",
        "SELECT c.segment, o.channel, sum(o.amount) FROM orders o JOIN customers c ON c.customer_id = o.customer_id GROUP BY c.segment, o.channel",
    ),
    demo(FilterValue, "How many products cost more than 100?", "SELECT count(*) FROM products WHERE unit_price > 100"),
    ordered(demo(
        TopN,
        "Show the 10 most recent orders",
        "SELECT * FROM orders ORDER BY order_date DESC, order_id LIMIT 10",
    )),
    demo(
        FilterDate,
        "Customers from Portugal who signed up in 2021",
        "SELECT * FROM customers WHERE country = 'Portugal' AND signup_date >= '2021-01-01' AND signup_date < '2022-01-01' ORDER BY customer_id LIMIT 100",
    ),
    demo(FilterValue, "how many customers are in Oslo", "SELECT count(*) FROM customers WHERE city = 'Oslo'"),
    demo(
        FilterDate,
        "orders per status in the past 2 years",
        "SELECT status, count(*) FROM orders WHERE order_date >= DATE '{today}' - INTERVAL 2 YEAR GROUP BY status",
    ),
    ordered(demo2(
        Trend,
        "revenue by week in the last 4 weeks of 2024",
        "SELECT date_trunc('week', order_date) AS w, sum(amount) FROM orders WHERE order_date >= '2024-12-04' GROUP BY w ORDER BY w",
        "SELECT DATE_SUB(order_date, INTERVAL WEEKDAY(order_date) DAY) AS w, sum(amount) FROM orders WHERE order_date >= '2024-12-04' GROUP BY w ORDER BY w",
    )),
    demo(
        Avg,
        "mean quantity of orders from the store channel",
        "SELECT avg(quantity) FROM orders WHERE channel = 'store'",
    ),
    demo(Count, "how many orders has customer 17 placed", "SELECT count(*) FROM orders WHERE customer_id = 17"),
    demo2(
        Join,
        "revenue from products in category 'stationery' by month in 2023",
        "SELECT date_trunc('month', o.order_date) AS m, sum(o.amount) FROM orders o JOIN products p ON p.product_id = o.product_id \
         WHERE p.category = 'stationery' AND year(o.order_date) = 2023 GROUP BY m",
        "SELECT DATE_FORMAT(o.order_date, '%Y-%m-01') AS m, sum(o.amount) FROM orders o JOIN products p ON p.product_id = o.product_id \
         WHERE p.category = 'stationery' AND YEAR(o.order_date) = 2023 GROUP BY m",
    ),
    ordered(demo2(
        Trend,
        "revenue by month for the web channel in 2024",
        "SELECT date_trunc('month', order_date) AS m, sum(amount) FROM orders WHERE channel = 'web' AND year(order_date) = 2024 GROUP BY m ORDER BY m",
        "SELECT DATE_FORMAT(order_date, '%Y-%m-01') AS m, sum(amount) FROM orders WHERE channel = 'web' AND YEAR(order_date) = 2024 GROUP BY m ORDER BY m",
    )),
];

/// A third batch, written after the second round of fixes and kept as it first ran.
const DEMO_THIRD: &[Demo] = &[
    ordered(demo2(
        Trend,
        "How many orders were placed in each month of 2023?",
        "SELECT date_trunc('month', order_date) AS m, count(*) FROM orders WHERE year(order_date) = 2023 GROUP BY m ORDER BY m",
        "SELECT DATE_FORMAT(order_date, '%Y-%m-01') AS m, count(*) FROM orders WHERE YEAR(order_date) = 2023 GROUP BY m ORDER BY m",
    )),
    ordered(demo(
        TopN,
        "Which city has the most orders?",
        "SELECT c.city, count(*) AS n FROM orders o JOIN customers c ON c.customer_id = o.customer_id GROUP BY c.city ORDER BY n DESC LIMIT 1",
    )),
    ordered(demo(
        TopN,
        "List the 5 most recent customers",
        "SELECT * FROM customers ORDER BY signup_date DESC, customer_id LIMIT 5",
    )),
    demo(
        Join,
        "Total number of items sold per product category",
        "SELECT p.category, sum(o.quantity) FROM orders o JOIN products p ON p.product_id = o.product_id GROUP BY p.category",
    ),
    demo(
        Avg,
        "average order amount in 2024 by channel",
        "SELECT channel, avg(amount) FROM orders WHERE order_date >= '2024-01-01' AND order_date < '2025-01-01' GROUP BY channel",
    ),
    demo(
        FilterValue,
        "How many customers have a segment of 'consumer'?",
        "SELECT count(*) FROM customers WHERE segment = 'consumer'",
    ),
    demo(
        FilterDate,
        "orders from Portugal in 2024",
        "SELECT o.* FROM orders o JOIN customers c ON c.customer_id = o.customer_id WHERE c.country = 'Portugal' \
         AND o.order_date >= '2024-01-01' AND o.order_date < '2025-01-01' ORDER BY o.order_id LIMIT 100",
    ),
    demo(
        Join,
        "What is the total revenue for the 'electronics' category?",
        "SELECT sum(o.amount) FROM orders o JOIN products p ON p.product_id = o.product_id WHERE p.category = 'electronics'",
    ),
    ordered(demo(
        MinMax,
        "Show me the cheapest product",
        "SELECT * FROM products ORDER BY unit_price, product_id LIMIT 1",
    )),
    demo2(
        GroupBy,
        "Number of orders by day of week",
        "SELECT dayofweek(order_date) AS d, count(*) FROM orders GROUP BY d",
        "SELECT DAYOFWEEK(order_date) AS d, count(*) FROM orders GROUP BY d",
    ),
    demo(
        Join,
        "revenue per customer",
        "SELECT c.customer_id, c.name, sum(o.amount) FROM orders o JOIN customers c ON c.customer_id = o.customer_id GROUP BY c.customer_id, c.name",
    ),
];

const DEMO_MORE_DECLINES: &[&str] = &[
    "What share of orders were cancelled?",
    "orders shipped in 2024",
    "average amount of returned orders",
    "average basket size",
    "which products have never been ordered",
];

const CHINOOK_MORE: &[Chinook] = &[
    ch(
        Count,
        "How many artists are there?",
        "SELECT count(*) FROM artist",
        Some(r#"{"collection": "artist", "count": {}}"#),
    ),
    ch(
        GroupBy,
        "How many tracks does each album have?",
        "SELECT album_id, count(*) FROM track GROUP BY album_id",
        Some(
            r#"{"collection": "track", "aggregate": [{"$group": {"_id": "$album_id", "n": {"$sum": 1}}}, {"$project": {"_id": 0, "album_id": "$_id", "n": 1}}]}"#,
        ),
    ),
    ch_ordered(ch(
        TopN,
        "What are the top 5 best-selling tracks?",
        "SELECT t.track_id, t.name, sum(il.quantity) AS q FROM invoice_line il JOIN track t ON t.track_id = il.track_id \
         GROUP BY t.track_id, t.name ORDER BY q DESC, t.track_id LIMIT 5",
        None,
    )),
    ch_ordered(ch(
        TopN,
        "Which employee has the most customers?",
        "SELECT e.employee_id, e.first_name, e.last_name, count(*) AS n FROM customer c JOIN employee e ON e.employee_id = c.support_rep_id \
         GROUP BY e.employee_id ORDER BY n DESC, e.employee_id LIMIT 1",
        None,
    )),
    ch(
        Avg,
        "Average invoice total by billing city",
        "SELECT billing_city, avg(total) FROM invoice GROUP BY billing_city",
        Some(
            r#"{"collection": "invoice", "aggregate": [{"$group": {"_id": "$billing_city", "a": {"$avg": "$total"}}}]}"#,
        ),
    ),
    ch(
        GroupBy,
        "How many invoices per customer?",
        "SELECT customer_id, count(*) FROM invoice GROUP BY customer_id",
        Some(
            r#"{"collection": "invoice", "aggregate": [{"$group": {"_id": "$customer_id", "n": {"$sum": 1}}}, {"$project": {"_id": 0, "customer_id": "$_id", "n": 1}}]}"#,
        ),
    ),
    ch(
        Join,
        "total sales for customers in Canada",
        "SELECT sum(i.total) FROM invoice i JOIN customer c ON c.customer_id = i.customer_id WHERE c.country = 'Canada'",
        Some(
            r#"{"collection": "invoice", "aggregate": [{"$match": {"billing_country": "Canada"}}, {"$group": {"_id": null, "s": {"$sum": "$total"}}}, {"$project": {"_id": 0, "s": 1}}]}"#,
        ),
    ),
    ch(
        Sum,
        "What's the total length of all tracks in milliseconds?",
        "SELECT sum(milliseconds) FROM track",
        Some(
            r#"{"collection": "track", "aggregate": [{"$group": {"_id": null, "s": {"$sum": "$milliseconds"}}}, {"$project": {"_id": 0, "s": 1}}]}"#,
        ),
    ),
    ch(
        GroupBy,
        "Number of customers per state in the USA",
        "SELECT state, count(*) FROM customer WHERE country = 'USA' GROUP BY state",
        Some(
            r#"{"collection": "customer", "aggregate": [{"$match": {"country": "USA"}}, {"$group": {"_id": "$state", "n": {"$sum": 1}}}]}"#,
        ),
    ),
    ch(
        Join,
        "Revenue in 2010 by genre",
        "SELECT g.name, sum(il.unit_price * il.quantity) FROM invoice_line il JOIN invoice i ON i.invoice_id = il.invoice_id \
         JOIN track t ON t.track_id = il.track_id JOIN genre g ON g.genre_id = t.genre_id \
         WHERE i.invoice_date >= '2010-01-01' AND i.invoice_date < '2011-01-01' GROUP BY g.genre_id, g.name",
        None,
    ),
    ch_ordered(ch(
        TopN,
        "Which country's customers spent the most?",
        "SELECT c.country, sum(i.total) AS s FROM invoice i JOIN customer c ON c.customer_id = i.customer_id GROUP BY c.country ORDER BY s DESC LIMIT 1",
        Some(
            r#"{"collection": "invoice", "aggregate": [{"$group": {"_id": "$billing_country", "s": {"$sum": "$total"}}}, {"$sort": {"s": -1}}, {"$limit": 1}]}"#,
        ),
    )),
    ch(
        FilterValue,
        "How many tracks are longer than 300000 milliseconds",
        "SELECT count(*) FROM track WHERE milliseconds > 300000",
        Some(r#"{"collection": "track", "count": {"milliseconds": {"$gt": 300000}}}"#),
    ),
    ch(
        FilterDate,
        "invoices from 2009 with a total above 15",
        "SELECT * FROM invoice WHERE invoice_date >= '2009-01-01' AND invoice_date < '2010-01-01' AND total > 15",
        Some(
            r#"{"collection": "invoice", "find": {"invoice_date": {"$gte": {"$date": "2009-01-01T00:00:00Z"}, "$lt": {"$date": "2010-01-01T00:00:00Z"}}, "total": {"$gt": 15}}, "projection": {"_id": 0}}"#,
        ),
    ),
    ch_ordered(ch(
        TopN,
        "Which album has the most tracks?",
        "SELECT a.album_id, a.title, count(*) AS n FROM track t JOIN album a ON a.album_id = t.album_id GROUP BY a.album_id, a.title \
         ORDER BY n DESC, a.album_id LIMIT 1",
        Some(
            r#"{"collection": "track", "aggregate": [{"$group": {"_id": "$album_id", "n": {"$sum": 1}}}, {"$sort": {"n": -1, "_id": 1}}, {"$limit": 1}, {"$project": {"_id": 0, "album_id": "$_id", "n": 1}}]}"#,
        ),
    )),
    ch(
        FilterValue,
        "Show employees and their titles",
        "SELECT employee_id, title FROM employee",
        Some(r#"{"collection": "employee", "find": {}, "projection": {"_id": 0, "employee_id": 1, "title": 1}}"#),
    ),
    ch(Count, "how many tracks have no composer", "SELECT count(*) FROM track WHERE composer IS NULL", None),
    ch(
        Avg,
        "what is the average price of a track in the 'Rock' genre",
        "SELECT avg(t.unit_price) FROM track t JOIN genre g ON g.genre_id = t.genre_id WHERE g.name = 'Rock'",
        Some(
            r#"{"collection": "track", "aggregate": [{"$match": {"genre_id": 1}}, {"$group": {"_id": null, "a": {"$avg": "$unit_price"}}}, {"$project": {"_id": 0, "a": 1}}]}"#,
        ),
    ),
    ch_ordered(ch(
        Trend,
        "invoices per year",
        "SELECT extract(year FROM invoice_date) AS y, count(*) FROM invoice GROUP BY y ORDER BY y",
        Some(
            r#"{"collection": "invoice", "aggregate": [{"$group": {"_id": {"$year": "$invoice_date"}, "n": {"$sum": 1}}}, {"$sort": {"_id": 1}}]}"#,
        ),
    )),
];

const CHINOOK_THIRD: &[Chinook] = &[
    ch(
        GroupBy,
        "How many tracks are in each playlist?",
        "SELECT playlist_id, count(DISTINCT track_id) FROM playlist_track GROUP BY playlist_id",
        Some(
            r#"{"collection": "playlist_track", "aggregate": [{"$group": {"_id": "$playlist_id", "n": {"$sum": 1}}}, {"$project": {"_id": 0, "playlist_id": "$_id", "n": 1}}]}"#,
        ),
    ),
    ch_ordered(ch(
        TopN,
        "Which artist has the most tracks?",
        "SELECT ar.name, count(*) AS n FROM track t JOIN album al ON al.album_id = t.album_id JOIN artist ar ON ar.artist_id = al.artist_id \
         GROUP BY ar.artist_id, ar.name ORDER BY n DESC, ar.artist_id LIMIT 1",
        None,
    )),
    ch(
        Avg,
        "average invoice total in Germany",
        "SELECT avg(total) FROM invoice WHERE billing_country = 'Germany'",
        Some(
            r#"{"collection": "invoice", "aggregate": [{"$match": {"billing_country": "Germany"}}, {"$group": {"_id": null, "a": {"$avg": "$total"}}}, {"$project": {"_id": 0, "a": 1}}]}"#,
        ),
    ),
    ch(
        Count,
        "number of employees",
        "SELECT count(*) FROM employee",
        Some(r#"{"collection": "employee", "count": {}}"#),
    ),
    ch(
        MinMax,
        "When was the first invoice?",
        "SELECT min(invoice_date) FROM invoice",
        Some(
            r#"{"collection": "invoice", "aggregate": [{"$group": {"_id": null, "d": {"$min": "$invoice_date"}}}, {"$project": {"_id": 0, "d": 1}}]}"#,
        ),
    ),
    ch(
        Join,
        "total sales per employee",
        "SELECT e.employee_id, sum(i.total) FROM invoice i JOIN customer c ON c.customer_id = i.customer_id \
         JOIN employee e ON e.employee_id = c.support_rep_id GROUP BY e.employee_id",
        None,
    ),
    ch(
        FilterValue,
        "Which customers are from Canada?",
        "SELECT * FROM customer WHERE country = 'Canada'",
        Some(r#"{"collection": "customer", "find": {"country": "Canada"}, "projection": {"_id": 0}}"#),
    ),
    ch(
        FilterValue,
        "tracks with a unit price above 0.99",
        "SELECT * FROM track WHERE unit_price > 0.99 ORDER BY track_id LIMIT 100",
        Some(
            r#"{"collection": "track", "find": {"unit_price": {"$gt": 0.99}}, "projection": {"_id": 0}, "sort": {"track_id": 1}, "limit": 100}"#,
        ),
    ),
    ch(
        FilterValue,
        "how many albums does artist 'Led Zeppelin' have",
        "SELECT count(*) FROM album al JOIN artist ar ON ar.artist_id = al.artist_id WHERE ar.name = 'Led Zeppelin'",
        Some(r#"{"collection": "album", "count": {"artist_id": 22}}"#),
    ),
    ch(
        FilterDate,
        "sales in the first half of 2010",
        "SELECT sum(total) FROM invoice WHERE invoice_date >= '2010-01-01' AND invoice_date < '2010-07-01'",
        None,
    ),
];

const CHINOOK_MORE_DECLINES: &[&str] = &[
    "List the albums of AC/DC",
    "Which media type is most common?",
    "Tracks longer than 10 minutes",
    "how many playlists contain the track 'Enter Sandman'",
    "average number of invoice lines per invoice",
];

/// Every case of the evaluation.
pub fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for d in DEMO.iter().chain(DEMO_MORE).chain(DEMO_THIRD) {
        for (source, reference) in [("files_demo", d.duckdb), ("my_demo", d.mysql.unwrap_or(d.duckdb))] {
            let mut c = case(source, d.category, d.question, reference, d.ordered);
            c.follow_up = d.follow_up;
            out.push(c);
        }
    }
    for q in DEMO_DECLINES.iter().chain(DEMO_MORE_DECLINES) {
        out.push(decline("files_demo", q));
        out.push(decline("my_demo", q));
    }
    for c in CHINOOK.iter().chain(CHINOOK_MORE).chain(CHINOOK_THIRD) {
        out.push(Case {
            source: "pg_chinook",
            category: c.category,
            question: c.question,
            follow_up: c.follow_up,
            expected: Expected::Rows { reference: c.postgres.into(), ordered: c.ordered },
        });
        if let Some(mongo) = c.mongo {
            out.push(Case {
                source: "mongo_chinook",
                category: c.category,
                question: c.question,
                follow_up: c.follow_up,
                expected: Expected::Rows { reference: mongo.into(), ordered: c.ordered },
            });
        }
    }
    for q in CHINOOK_DECLINES.iter().chain(CHINOOK_MORE_DECLINES) {
        out.push(decline("pg_chinook", q));
        out.push(decline("mongo_chinook", q));
    }
    out.extend(mongo_demo());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_set_is_large_covers_every_category_and_engine_and_has_follow_up_pairs() {
        let all = cases();
        let distinct: std::collections::HashSet<(&str, &str, Option<&str>)> =
            all.iter().map(|c| (c.source, c.question, c.follow_up)).collect();
        assert_eq!(distinct.len(), all.len(), "a case is listed twice");
        assert!(all.len() >= 120, "{} cases", all.len());
        for source in crate::planner_eval::SOURCES {
            assert!(all.iter().any(|c| c.source == *source), "no case on {source}");
        }
        for category in
            [Count, Sum, Avg, MinMax, TopN, GroupBy, FilterValue, FilterDate, Trend, Join, FollowUp, Decline]
        {
            assert!(all.iter().filter(|c| c.category == category).count() >= 5, "{category:?}");
        }
    }
}
