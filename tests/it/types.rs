//! The type matrix: for each engine, a table (or collection) holding values of every type it has, queried through
//! the real `psiq`, broker and worker, and the exact normalized values read back from `--json`: integers of every
//! width (unsigned on MariaDB), exact decimals as decimal strings, floats with NaN and the infinities (PostgreSQL
//! and MongoDB; MariaDB has none), booleans, text in other scripts and collations, empty strings apart from NULL,
//! dates, times, timestamps with and without time zone, intervals, UUIDs, JSON, arrays, enums, binary strings,
//! bit strings, network addresses, geometry as text, and MongoDB's ObjectIds, Decimal128, dates, nested documents
//! (flattened into dotted columns) and arrays (JSON). A type the connector cannot show fails with the cast to use.

use std::future::IntoFuture;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use mongodb::bson::oid::ObjectId;
use mongodb::bson::spec::BinarySubtype;
use mongodb::bson::{Binary, Bson, DateTime, Decimal128, Document, doc};
use mongodb::options::{ClientOptions, ServerAddress};
use serde_json::{Value, json};

use crate::servers::mariadb;
use crate::support::Profile;

/// A unique name for a scratch database.
fn scratch_name(engine: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("psiq_types_{engine}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The result columns of a run as (name, db_type, logical).
fn columns(run: &Value) -> Vec<(String, String, String)> {
    let columns = run["first_page"]["columns"].as_array().unwrap_or_else(|| panic!("no columns in {run}"));
    columns
        .iter()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_else(|| panic!("{k} of {c}")).to_owned();
            (s("name"), s("db_type"), s("logical"))
        })
        .collect()
}

fn expect_columns(run: &Value, want: &[(&str, &str, &str)]) {
    let want: Vec<(String, String, String)> =
        want.iter().map(|(n, t, l)| ((*n).to_owned(), (*t).to_owned(), (*l).to_owned())).collect();
    assert_eq!(columns(run), want);
}

/// Rows of a run's first page, compared one by one so a failure names the row.
fn expect_rows(run: &Value, want: &[Value]) {
    let rows = run["first_page"]["rows"].as_array().unwrap_or_else(|| panic!("no rows in {run}"));
    assert_eq!(rows.len(), want.len(), "{run}");
    for (got, want) in rows.iter().zip(want) {
        assert_eq!(got, want);
    }
}

/// Runs a query expected to fail and returns its error message, asserting the error's code.
fn failure(p: &Profile, source: &str, sql: &str) -> String {
    let error = p.err(&["query", source, "--sql", sql, "--yes"]);
    assert_eq!(error["code"], "query_failed", "{sql}: {error}");
    error["message"].as_str().expect("message").to_owned()
}

// --- PostgreSQL -----------------------------------------------------------------------------------------------

/// Runs SQL on the local PostgreSQL as `postgres`, the session in UTC with ISO dates and ISO 8601 intervals (the
/// forms the connector writes values carried as text in). Returns rows, one per line, NULL as `<NULL>`.
fn psql(database: &str, sql: &str) -> String {
    #[allow(clippy::disallowed_methods)] // Seeding and checking the server with its own client.
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-P", "null=<NULL>"])
        .args(["-tAc", sql])
        .env("PGOPTIONS", "-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=iso_8601 -c extra_float_digits=1")
        .output()
        .expect("psql runs");
    assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim_end_matches('\n').to_owned()
}

/// A scratch database, dropped at the end.
struct PgDb {
    name: String,
}

impl PgDb {
    fn new() -> PgDb {
        let name = scratch_name("pg");
        psql("postgres", &format!("DROP DATABASE IF EXISTS {name}"));
        psql("postgres", &format!("CREATE DATABASE {name}"));
        PgDb { name }
    }

    fn add(&self, p: &Profile) {
        let url = format!("postgres://postgres@127.0.0.1:5432/{}", self.name);
        p.ok(&["source", "add", "pg", "--kind", "postgres", "--url", &url]);
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        psql("postgres", &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
    }
}

const PG_KINDS: &str = r#"
CREATE TYPE mood AS ENUM ('happy', 'sad', 'über');
CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
CREATE TABLE kinds (
  id int PRIMARY KEY,
  i2 smallint, i4 integer, i8 bigint, pos positive, o oid,
  n numeric(38,10), nbig numeric, nneg numeric(5,2), f4 real, f8 double precision,
  b boolean, t text, vc varchar(10), c char(5), cc text COLLATE "C", nm name, e mood,
  d date, tm time, ttz timetz, ts timestamp, tstz timestamptz, iv interval,
  u uuid, j json, jb jsonb,
  ai int[], at text[], a2 int[], an numeric[], af float8[], ats timestamptz[], aj jsonb[], ae mood[], ap positive[],
  ba bytea, bt bit(8), vb varbit, ip inet, cr cidr, mac macaddr,
  pt point, pg polygon, bx box, ls lseg, pa path, cl circle, ln line,
  r int4range, rt tstzrange
);
INSERT INTO kinds VALUES
 (1, -32768, 2147483647, -9223372036854775808, 7, 4294967295,
  '1234567890123456789012345678.0123456789', '100000000000000000000000000000000000000000.000000000000000000001',
  -999.99, 1.1, -1.5e-10,
  true, 'héllo wörld ✓ 日本語 😀', '', 'ab', 'Zürich', 'a_name', 'über',
  '2024-02-29', '23:59:59.123456', '12:34:56+05:30', '2024-02-29 23:59:58.123456', '2024-03-01 12:00:00+02',
  '1 year 2 mons 3 days 04:05:06.5',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"b": 1, "a": [1, 2.50]}', '{"b": 1, "a": [1, 2.50]}',
  '{1,NULL,3}', '{"a,b","","ü",NULL}', '{{1,2},{3,4}}', '{1.50,NaN,-0.001}', '{1.5,NaN,-Infinity,1e300}',
  '{"2024-01-01 00:00:00+00",infinity}', ARRAY['{"a": 1}'::jsonb, '[1, "x"]'], '{sad,über}', '{1,2}',
  '\x00ff10', B'10100101', B'101', '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03',
  '(1.5,-2)', '((0,0),(1,0),(1,1))', '((1,1),(0,0))', '[(0,0),(1,1)]', '[(0,0),(1,1),(2,0)]', '<(1,2),3>',
  '{1,-1,0}', '[1,10)', '[2024-01-01 00:00:00+00,)'),
 (2, 0, -1, 9223372036854775807, 1, 0,
  'NaN', 'Infinity', 0, 'NaN', 'Infinity',
  false, '', 'x', 'abcde', 'zurich', '', 'happy',
  '1970-01-01', '00:00:00', '00:00:00-08', '1969-12-31 23:59:59.999999', '2000-01-01 00:00:00+00',
  '-1 year -2 mons +3 days -04:05:06.5',
  '00000000-0000-0000-0000-000000000000', '[]', '"text"',
  '{}', '{}', '{}', '{}', '{}', '{"0044-03-15 12:00:00+00 BC"}', '{}', '{}', '{}',
  '\x', B'00000000', B'', '::1', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff',
  '(1e20,-1e-5)', '((0,0))', '(0,0),(0,0)', '[(1,2),(3,4)]', '((0,0),(1,1))', '<(0,0),0.5>', '{0,1,-2}',
  'empty', '(,2024-01-01 00:00:00+00]');
INSERT INTO kinds (id) VALUES (3);
INSERT INTO kinds (id, n, nbig, nneg, f4, f8, iv) VALUES (4, 0, '-Infinity', -0.05, '-Infinity', 'NaN', '0');
INSERT INTO kinds (id, n, nbig, f4, f8) VALUES (5, -1.0000000001, -0.000001, 'Infinity', '-Infinity');
"#;

#[test]
fn postgres_values_of_every_type_are_exact() {
    let db = PgDb::new();
    psql(&db.name, PG_KINDS);
    let p = Profile::new();
    db.add(&p);
    let null5 = |id: i64, names: &[&str]| {
        let mut row = serde_json::Map::new();
        row.insert("id".into(), json!(id));
        for name in names {
            row.insert((*name).into(), Value::Null);
        }
        Value::Object(row)
    };

    let run = p.query("pg", "SELECT id, i2, i4, i8, pos, o FROM kinds ORDER BY id");
    expect_columns(
        &run,
        &[
            ("id", "int4", "int"),
            ("i2", "int2", "int"),
            ("i4", "int4", "int"),
            ("i8", "int8", "int"),
            // A domain travels as its base type.
            ("pos", "int4", "int"),
            ("o", "oid", "int"),
        ],
    );
    let ints = ["i2", "i4", "i8", "pos", "o"];
    expect_rows(
        &run,
        &[
            json!({"id": 1, "i2": -32768, "i4": 2147483647, "i8": i64::MIN, "pos": 7, "o": 4294967295u32}),
            json!({"id": 2, "i2": 0, "i4": -1, "i8": i64::MAX, "pos": 1, "o": 0}),
            null5(3, &ints),
            null5(4, &ints),
            null5(5, &ints),
        ],
    );

    // Exact decimals stay decimal strings, whatever their size; floats are numbers, and their NaN and infinities
    // strings (JSON has no such numbers). A real keeps its shortest decimal form (1.1, not 1.100000023841858).
    // (Floats here are ones this test's JSON parser reads exactly; extreme exponents are compared as the server's
    // own text in `postgres_text_values_match_the_servers_own_text`.)
    let run = p.query("pg", "SELECT id, n, nbig, nneg, f4, f8 FROM kinds ORDER BY id");
    expect_columns(
        &run,
        &[
            ("id", "int4", "int"),
            ("n", "numeric", "decimal"),
            ("nbig", "numeric", "decimal"),
            ("nneg", "numeric", "decimal"),
            ("f4", "float4", "float"),
            ("f8", "float8", "float"),
        ],
    );
    expect_rows(
        &run,
        &[
            json!({"id": 1, "n": "1234567890123456789012345678.0123456789",
                   "nbig": "100000000000000000000000000000000000000000.000000000000000000001", "nneg": "-999.99",
                   "f4": 1.1, "f8": -1.5e-10}),
            json!({"id": 2, "n": "NaN", "nbig": "Infinity", "nneg": "0.00", "f4": "NaN", "f8": "Infinity"}),
            null5(3, &["n", "nbig", "nneg", "f4", "f8"]),
            json!({"id": 4, "n": "0.0000000000", "nbig": "-Infinity", "nneg": "-0.05", "f4": "-Infinity",
                   "f8": "NaN"}),
            json!({"id": 5, "n": "-1.0000000001", "nbig": "-0.000001", "nneg": null, "f4": "Infinity",
                   "f8": "-Infinity"}),
        ],
    );

    // Text in any script and collation; char(n) keeps its padding; the empty string is not NULL.
    let run = p.query("pg", "SELECT id, b, t, vc, c, cc, nm, e FROM kinds WHERE id <= 3 ORDER BY id");
    expect_columns(
        &run,
        &[
            ("id", "int4", "int"),
            ("b", "bool", "bool"),
            ("t", "text", "text"),
            ("vc", "varchar", "text"),
            ("c", "bpchar", "text"),
            ("cc", "text", "text"),
            ("nm", "name", "text"),
            ("e", "mood", "text"),
        ],
    );
    expect_rows(
        &run,
        &[
            json!({"id": 1, "b": true, "t": "héllo wörld ✓ 日本語 😀", "vc": "", "c": "ab   ", "cc": "Zürich",
                   "nm": "a_name", "e": "über"}),
            json!({"id": 2, "b": false, "t": "", "vc": "x", "c": "abcde", "cc": "zurich", "nm": "", "e": "happy"}),
            null5(3, &["b", "t", "vc", "c", "cc", "nm", "e"]),
        ],
    );
    // The collation is the server's business: "C" sorts by code point, so Z before z.
    let run = p.query("pg", "SELECT cc FROM kinds WHERE cc IS NOT NULL ORDER BY cc COLLATE \"C\"");
    expect_rows(&run, &[json!({"cc": "Zürich"}), json!({"cc": "zurich"})]);

    // Dates and timestamps as calendar values (timestamptz in UTC); times, time zones and intervals as text,
    // intervals in ISO 8601 with each field's own sign, as PostgreSQL's intervals keep them.
    let run = p.query("pg", "SELECT id, d, tm, ttz, ts, tstz, iv FROM kinds WHERE id <> 5 ORDER BY id");
    expect_columns(
        &run,
        &[
            ("id", "int4", "int"),
            ("d", "date", "date"),
            ("tm", "time", "time"),
            ("ttz", "timetz", "time"),
            ("ts", "timestamp", "timestamp"),
            ("tstz", "timestamptz", "timestamp_tz"),
            ("iv", "interval", "interval"),
        ],
    );
    expect_rows(
        &run,
        &[
            json!({"id": 1, "d": "2024-02-29", "tm": "23:59:59.123456", "ttz": "12:34:56+05:30",
                   "ts": "2024-02-29 23:59:58.123456", "tstz": "2024-03-01 10:00:00", "iv": "P1Y2M3DT4H5M6.5S"}),
            json!({"id": 2, "d": "1970-01-01", "tm": "00:00:00", "ttz": "00:00:00-08",
                   "ts": "1969-12-31 23:59:59.999999", "tstz": "2000-01-01 00:00:00",
                   "iv": "P-1Y-2M3DT-4H-5M-6.5S"}),
            null5(3, &["d", "tm", "ttz", "ts", "tstz", "iv"]),
            json!({"id": 4, "d": null, "tm": null, "ttz": null, "ts": null, "tstz": null, "iv": "PT0S"}),
        ],
    );

    // UUIDs; JSON as the server keeps it (json verbatim, jsonb normalized); arrays as JSON, NULL elements null,
    // exact decimals as strings, non-finite floats as strings, JSON elements as JSON.
    let run =
        p.query("pg", "SELECT id, u, j, jb, ai, at, a2, an, af, ats, aj, ae, ap FROM kinds WHERE id <= 3 ORDER BY id");
    expect_columns(
        &run,
        &[
            ("id", "int4", "int"),
            ("u", "uuid", "uuid"),
            ("j", "json", "json"),
            ("jb", "jsonb", "json"),
            ("ai", "_int4", "json"),
            ("at", "_text", "json"),
            ("a2", "_int4", "json"),
            ("an", "_numeric", "json"),
            ("af", "_float8", "json"),
            ("ats", "_timestamptz", "json"),
            ("aj", "_jsonb", "json"),
            ("ae", "_mood", "json"),
            ("ap", "_positive", "json"),
        ],
    );
    expect_rows(
        &run,
        &[
            json!({"id": 1, "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "j": r#"{"b": 1, "a": [1, 2.50]}"#,
                   "jb": r#"{"a": [1, 2.50], "b": 1}"#, "ai": "[1,null,3]", "at": r#"["a,b","","ü",null]"#,
                   "a2": "[[1,2],[3,4]]", "an": r#"["1.50","NaN","-0.001"]"#, "af": r#"[1.5,"NaN","-Infinity",1e+300]"#,
                   "ats": r#"["2024-01-01 00:00:00+00","infinity"]"#, "aj": r#"[{"a": 1},[1, "x"]]"#,
                   "ae": r#"["sad","über"]"#, "ap": "[1,2]"}),
            json!({"id": 2, "u": "00000000-0000-0000-0000-000000000000", "j": "[]", "jb": r#""text""#, "ai": "[]",
                   "at": "[]", "a2": "[]", "an": "[]", "af": "[]", "ats": r#"["0044-03-15 12:00:00+00 BC"]"#,
                   "aj": "[]", "ae": "[]", "ap": "[]"}),
            null5(3, &["u", "j", "jb", "ai", "at", "a2", "an", "af", "ats", "aj", "ae", "ap"]),
        ],
    );

    // Binary strings as bytes (the empty one is not NULL); bit strings, network addresses, geometry and ranges
    // as PostgreSQL writes them.
    let run = p.query(
        "pg",
        "SELECT id, ba, bt, vb, ip, cr, mac, pt, pg, bx, ls, pa, cl, ln, r, rt FROM kinds WHERE id <= 3 ORDER BY id",
    );
    expect_columns(
        &run,
        &[
            ("id", "int4", "int"),
            ("ba", "bytea", "bytes"),
            ("bt", "bit", "other"),
            ("vb", "varbit", "other"),
            ("ip", "inet", "other"),
            ("cr", "cidr", "other"),
            ("mac", "macaddr", "other"),
            ("pt", "point", "other"),
            ("pg", "polygon", "other"),
            ("bx", "box", "other"),
            ("ls", "lseg", "other"),
            ("pa", "path", "other"),
            ("cl", "circle", "other"),
            ("ln", "line", "other"),
            ("r", "int4range", "other"),
            ("rt", "tstzrange", "other"),
        ],
    );
    expect_rows(
        &run,
        &[
            json!({"id": 1, "ba": "\\x00ff10", "bt": "10100101", "vb": "101", "ip": "192.168.0.1/24",
                   "cr": "10.0.0.0/8", "mac": "08:00:2b:01:02:03", "pt": "(1.5,-2)", "pg": "((0,0),(1,0),(1,1))",
                   "bx": "(1,1),(0,0)", "ls": "[(0,0),(1,1)]", "pa": "[(0,0),(1,1),(2,0)]", "cl": "<(1,2),3>",
                   "ln": "{1,-1,0}", "r": "[1,10)", "rt": r#"["2024-01-01 00:00:00+00",)"#}),
            json!({"id": 2, "ba": "\\x", "bt": "00000000", "vb": "", "ip": "::1", "cr": "2001:db8::/32",
                   "mac": "ff:ff:ff:ff:ff:ff", "pt": "(1e+20,-1e-05)", "pg": "((0,0))", "bx": "(0,0),(0,0)",
                   "ls": "[(1,2),(3,4)]", "pa": "((0,0),(1,1))", "cl": "<(0,0),0.5>", "ln": "{0,1,-2}", "r": "empty",
                   "rt": r#"(,"2024-01-01 00:00:00+00"]"#}),
            null5(3, &["ba", "bt", "vb", "ip", "cr", "mac", "pt", "pg", "bx", "ls", "pa", "cl", "ln", "r", "rt"]),
        ],
    );
}

/// Values carried as text read exactly as PostgreSQL's own output of them (UTC, ISO dates, ISO 8601 intervals),
/// edge cases included: 24:00, zones with seconds, BC, float exponents, ranges of every built-in
/// kind and a multirange.
#[test]
fn postgres_text_values_match_the_servers_own_text() {
    let db = PgDb::new();
    psql(
        &db.name,
        r#"CREATE TABLE edges (id int, tm time, ttz timetz, iv interval, n numeric, pt point, bx box, ip inet,
                               r1 daterange, r2 numrange, r3 tsrange, r4 tstzrange, r5 int8range, mr int4multirange,
                               xm xml, tid tid);
           INSERT INTO edges VALUES
            (1, '24:00:00', '23:59:59.999999+14', '1000000 hours', '0.000001', '(123456789012345678,0.0001)',
             '((-1.5,2),(3,-4))', '10.1.2.3/8', '[2024-01-01,2024-02-01)', '(1.5,2.5]',
             '["2024-01-01 10:00:00","2024-01-01 11:00:00")', '["0044-03-15 12:00:00+00 BC","2024-01-01 00:00:00+00")',
             '[-9223372036854775808,0)', '{[1,3),[5,7)}', '<a>ü</a>', '(0,1)'),
            (2, '00:00:00.000001', '00:00:00-15:59:59', '-0.000001 seconds', '-123.4500', '(1e15,1e-4)',
             '((0,0),(0,0))', '2001:db8::1/64', 'empty', '[,)', '(,)', '[2024-01-01 00:00:00+00,infinity]',
             '[5,5]', '{}', '', '(4294967295,65535)'),
            (3, '12:00:00.5', '12:00:00+05:45', '2 mons -3 days', '-0.5', '(-0,1.7976931348623157e308)',
             '((1e-300,1),(0,0))', '::ffff:1.2.3.4', '[2024-01-01,2024-01-01]', '[0,0]', NULL, NULL, NULL,
             '{[1,2]}', NULL, NULL),
            (4, NULL, NULL, '178956970 years 7 months -2147483648 days -2562047788 hours',
             '1e-20', '(NaN,Infinity)', NULL, '0.0.0.0/0', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);"#,
    );
    let p = Profile::new();
    db.add(&p);
    let names = ["tm", "ttz", "iv", "n", "pt", "bx", "ip", "r1", "r2", "r3", "r4", "r5", "mr", "xm", "tid"];
    let run = p.query("pg", &format!("SELECT {} FROM edges ORDER BY id", names.join(", ")));
    let rows = run["first_page"]["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 4);
    for name in names {
        // psql prints each value with its type's output function (not the `text(...)` casts: `inet::text`, for
        // one, always adds the prefix length).
        let server: Vec<String> =
            psql(&db.name, &format!("SELECT {name} FROM edges ORDER BY id")).split('\n').map(str::to_owned).collect();
        let ours: Vec<String> =
            rows.iter().map(|r| r[name].as_str().map_or_else(|| "<NULL>".to_owned(), str::to_owned)).collect();
        assert_eq!(ours, server, "column {name}");
    }
    // And literally, for a few that are easy to get wrong.
    assert_eq!(rows[0]["tm"], "24:00:00");
    assert_eq!(rows[2]["ip"], "::ffff:1.2.3.4");
    assert_eq!(rows[1]["ttz"], "00:00:00-15:59:59");
    assert_eq!(rows[1]["iv"], "PT-0.000001S");
    assert_eq!(rows[1]["pt"], "(1e+15,0.0001)");
    assert_eq!(rows[0]["r4"], r#"["0044-03-15 12:00:00+00 BC","2024-01-01 00:00:00+00")"#);
    assert_eq!(rows[3]["n"], "0.00000000000000000001");
}

/// A type no decoder reads, and a value a calendar column cannot hold, fail before any row is shown, with the cast
/// that shows them; the cast works.
#[test]
fn postgres_types_it_cannot_show_fail_with_the_cast_to_use() {
    let db = PgDb::new();
    psql(&db.name, "CREATE TABLE t (id int, m money, v tsvector); INSERT INTO t VALUES (1, 12.34, 'a b');");
    let p = Profile::new();
    db.add(&p);
    for (sql, cast) in [
        ("SELECT m FROM t", "m::numeric"),
        ("SELECT v FROM t", "v::text"),
        ("SELECT ROW(1, 'a') AS pair", "pair::text"),
        ("SELECT 't'::regclass AS rel", "rel::text"),
        ("SELECT m AS \"Odd Name\" FROM t", "\"Odd Name\"::numeric"),
        ("SELECT 'infinity'::date AS d", "d::text"),
        ("SELECT '-infinity'::timestamptz AS at", "at::text"),
    ] {
        let message = failure(&p, "pg", sql);
        assert!(message.contains(cast), "{sql}: {message}");
    }
    let run = p.query("pg", "SELECT m::numeric AS m, v::text AS v, 'infinity'::date::text AS d FROM t");
    expect_rows(&run, &[json!({"m": "12.34", "v": "'a' 'b'", "d": "infinity"})]);
    // Infinity has a place in text, arrays and ranges.
    let run = p.query("pg", "SELECT ARRAY['-infinity'::date, '2024-01-01'] AS a");
    expect_rows(&run, &[json!({"a": r#"["-infinity","2024-01-01"]"#})]);
}

// --- MariaDB --------------------------------------------------------------------------------------------------

struct MyDb {
    name: String,
}

impl MyDb {
    fn new() -> MyDb {
        let name = scratch_name("my");
        mariadb(None, &format!("DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name} CHARACTER SET utf8mb4"));
        MyDb { name }
    }

    fn add(&self, p: &Profile) {
        let url = format!("mysql://root@127.0.0.1:3306/{}", self.name);
        p.ok(&["source", "add", "my", "--kind", "mysql", "--url", &url]);
    }
}

impl Drop for MyDb {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(|| mariadb(None, &format!("DROP DATABASE IF EXISTS {}", self.name)));
    }
}

#[test]
fn mariadb_values_of_every_type_are_exact() {
    let db = MyDb::new();
    mariadb(
        Some(&db.name),
        r#"CREATE TABLE kinds (
             id INT PRIMARY KEY,
             ti TINYINT, uti TINYINT UNSIGNED, si SMALLINT, usi SMALLINT UNSIGNED, mi MEDIUMINT, umi MEDIUMINT UNSIGNED,
             i INT, ui INT UNSIGNED, bi BIGINT, ubi BIGINT UNSIGNED, bo BOOLEAN, y YEAR,
             d DECIMAL(65,30), dn DECIMAL(5,2), f FLOAT, db DOUBLE,
             t VARCHAR(100), tb VARCHAR(20) COLLATE utf8mb4_bin, tl VARCHAR(20) CHARACTER SET latin1, ch CHAR(5),
             tx TEXT, e ENUM('happy', 'sad', 'über'), st SET('a', 'b', 'c'),
             dt DATE, tm TIME(6), dtm DATETIME(6), ts TIMESTAMP(6) NULL,
             j JSON, u UUID, ip4 INET4, ip6 INET6,
             bl BLOB, vb VARBINARY(8), bn BINARY(4), b1 BIT(1), b8 BIT(8), b64 BIT(64), g POINT);
           SET time_zone = '+00:00';
           INSERT INTO kinds VALUES
            (1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295, -9223372036854775808,
             18446744073709551615, TRUE, 2024,
             '12345678901234567890123456789012345.123456789012345678901234567890', -999.99, 1.1, -1.5e-10,
             'héllo wörld ✓ 日本語 😀', 'Binary', 'café', 'ab', '', 'über', 'a,c',
             '2024-02-29', '-838:59:59.000000', '2024-02-29 23:59:58.123456', '2024-03-01 12:00:00.5',
             '{"b": 1, "a": [1, 2.50]}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '192.168.0.1', '2001:db8::1',
             x'00ff', x'', x'01', b'1', b'10100101', b'1111111111111111111111111111111111111111111111111111111111111111',
             ST_GeomFromText('POINT(1.5 -2)')),
            (2, 0, 0, 0, 0, 0, 0, 0, 0, 9223372036854775807, 0, FALSE, 1901,
             '-0.000000000000000000000000000001', 0, -0.5, 1e22,
             '', '', '', 'abcde', 'x', 'happy', '',
             '1970-01-01', '838:59:59.999999', '1000-01-01 00:00:00', '1970-01-01 00:00:01',
             '[]', '00000000-0000-0000-0000-000000000000', '0.0.0.0', '::',
             x'', x'0000', x'00000000', b'0', b'0', b'0', NULL);
           INSERT INTO kinds (id) VALUES (3);"#,
    );
    let p = Profile::new();
    db.add(&p);
    let nulls = |names: &[&str]| {
        let mut row = serde_json::Map::new();
        row.insert("id".into(), json!(3));
        for name in names {
            row.insert((*name).into(), Value::Null);
        }
        Value::Object(row)
    };

    // Integers of every width, signed and unsigned; BIGINT UNSIGNED, which can pass i64, as an exact decimal.
    // BOOLEAN is TINYINT(1) to MariaDB, so it reads as the number it holds.
    let run = p.query("my", "SELECT id, ti, uti, si, usi, mi, umi, i, ui, bi, ubi, bo, y FROM kinds ORDER BY id");
    expect_columns(
        &run,
        &[
            ("id", "INT", "int"),
            ("ti", "TINYINT", "int"),
            ("uti", "TINYINT UNSIGNED", "int"),
            ("si", "SMALLINT", "int"),
            ("usi", "SMALLINT UNSIGNED", "int"),
            ("mi", "MEDIUMINT", "int"),
            ("umi", "MEDIUMINT UNSIGNED", "int"),
            ("i", "INT", "int"),
            ("ui", "INT UNSIGNED", "int"),
            ("bi", "BIGINT", "int"),
            ("ubi", "BIGINT UNSIGNED", "decimal"),
            ("bo", "TINYINT", "int"),
            ("y", "YEAR", "int"),
        ],
    );
    let ints = ["ti", "uti", "si", "usi", "mi", "umi", "i", "ui", "bi", "ubi", "bo", "y"];
    expect_rows(
        &run,
        &[
            json!({"id": 1, "ti": -128, "uti": 255, "si": -32768, "usi": 65535, "mi": -8388608, "umi": 16777215,
                   "i": -2147483648, "ui": 4294967295u32, "bi": i64::MIN, "ubi": "18446744073709551615", "bo": 1,
                   "y": 2024}),
            json!({"id": 2, "ti": 0, "uti": 0, "si": 0, "usi": 0, "mi": 0, "umi": 0, "i": 0, "ui": 0,
                   "bi": i64::MAX, "ubi": "0", "bo": 0, "y": 1901}),
            nulls(&ints),
        ],
    );

    // Exact decimals at MariaDB's largest precision; floats (MariaDB stores no NaN or infinity, so there are
    // none to read).
    let run = p.query("my", "SELECT id, d, dn, f, db FROM kinds ORDER BY id");
    expect_columns(
        &run,
        &[
            ("id", "INT", "int"),
            ("d", "DECIMAL", "decimal"),
            ("dn", "DECIMAL", "decimal"),
            ("f", "FLOAT", "float"),
            ("db", "DOUBLE", "float"),
        ],
    );
    expect_rows(
        &run,
        &[
            json!({"id": 1, "d": "12345678901234567890123456789012345.123456789012345678901234567890",
                   "dn": "-999.99", "f": 1.1, "db": -1.5e-10}),
            json!({"id": 2, "d": "-0.000000000000000000000000000001", "dn": "0.00", "f": -0.5, "db": 1e22}),
            nulls(&["d", "dn", "f", "db"]),
        ],
    );

    // Text in any script and collation (a latin1 column arrives as UTF-8), CHAR without its padding (MariaDB
    // strips it), enums and sets as their labels; the empty string is not NULL.
    let run = p.query("my", "SELECT id, t, tb, tl, ch, tx, e, st FROM kinds ORDER BY id");
    expect_columns(
        &run,
        &[
            ("id", "INT", "int"),
            ("t", "VARCHAR", "text"),
            ("tb", "VARCHAR", "text"),
            ("tl", "VARCHAR", "text"),
            ("ch", "CHAR", "text"),
            ("tx", "TEXT", "text"),
            ("e", "ENUM", "text"),
            ("st", "SET", "text"),
        ],
    );
    expect_rows(
        &run,
        &[
            json!({"id": 1, "t": "héllo wörld ✓ 日本語 😀", "tb": "Binary", "tl": "café", "ch": "ab", "tx": "",
                   "e": "über", "st": "a,c"}),
            json!({"id": 2, "t": "", "tb": "", "tl": "", "ch": "abcde", "tx": "x", "e": "happy", "st": ""}),
            nulls(&["t", "tb", "tl", "ch", "tx", "e", "st"]),
        ],
    );

    // DATE and DATETIME as calendar values, TIMESTAMP as an instant (the session runs in UTC), TIME as the
    // duration it is, with its declared fraction.
    let run = p.query("my", "SELECT id, dt, tm, dtm, ts FROM kinds ORDER BY id");
    expect_columns(
        &run,
        &[
            ("id", "INT", "int"),
            ("dt", "DATE", "date"),
            ("tm", "TIME", "time"),
            ("dtm", "DATETIME", "timestamp"),
            ("ts", "TIMESTAMP", "timestamp_tz"),
        ],
    );
    expect_rows(
        &run,
        &[
            json!({"id": 1, "dt": "2024-02-29", "tm": "-838:59:59.000000", "dtm": "2024-02-29 23:59:58.123456",
                   "ts": "2024-03-01 12:00:00.500000"}),
            json!({"id": 2, "dt": "1970-01-01", "tm": "838:59:59.999999", "dtm": "1000-01-01 00:00:00",
                   "ts": "1970-01-01 00:00:01"}),
            nulls(&["dt", "tm", "dtm", "ts"]),
        ],
    );

    // JSON as stored (MariaDB's JSON is LONGTEXT with a check, so it reads as text); MariaDB's UUID, INET4 and
    // INET6 as their text.
    let run = p.query("my", "SELECT id, j, u, ip4, ip6 FROM kinds ORDER BY id");
    let logical: Vec<String> = columns(&run).into_iter().map(|(_, _, l)| l).collect();
    assert_eq!(logical, ["int", "text", "text", "text", "text"]);
    expect_rows(
        &run,
        &[
            json!({"id": 1, "j": r#"{"b": 1, "a": [1, 2.50]}"#, "u": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                   "ip4": "192.168.0.1", "ip6": "2001:db8::1"}),
            json!({"id": 2, "j": "[]", "u": "00000000-0000-0000-0000-000000000000", "ip4": "0.0.0.0", "ip6": "::"}),
            nulls(&["j", "u", "ip4", "ip6"]),
        ],
    );

    // Binary strings as bytes (an empty one is not NULL; BINARY(n) keeps its zero padding); BIT(1) as a boolean,
    // BIT(n) as the number it spells, BIT(64) as an exact decimal (it can pass i64). A raw geometry column is
    // MariaDB's internal form, bytes: a 4-byte SRID, then WKB (point 1.5, -2 here); ST_AsText shows it as text.
    let run = p.query("my", "SELECT id, bl, vb, bn, b1, b8, b64, g, ST_AsText(g) AS gt FROM kinds ORDER BY id");
    expect_columns(
        &run,
        &[
            ("id", "INT", "int"),
            ("bl", "BLOB", "bytes"),
            ("vb", "VARBINARY", "bytes"),
            ("bn", "BINARY", "bytes"),
            ("b1", "BIT", "bool"),
            ("b8", "BIT", "int"),
            ("b64", "BIT", "decimal"),
            ("g", "GEOMETRY", "bytes"),
            ("gt", "TEXT", "text"),
        ],
    );
    expect_rows(
        &run,
        &[
            json!({"id": 1, "bl": "\\x00ff", "vb": "\\x", "bn": "\\x01000000", "b1": true, "b8": 165,
                   "b64": "18446744073709551615", "g": "\\x000000000101000000000000000000f83f00000000000000c0",
                   "gt": "POINT(1.5 -2)"}),
            json!({"id": 2, "bl": "\\x", "vb": "\\x0000", "bn": "\\x00000000", "b1": false, "b8": 0, "b64": "0",
                   "g": null, "gt": null}),
            nulls(&["bl", "vb", "bn", "b1", "b8", "b64", "g", "gt"]),
        ],
    );
}

/// MariaDB's zero date is no calendar day: the query fails with the cast that shows it, and the cast works.
#[test]
fn a_mariadb_zero_date_fails_with_the_cast_to_use() {
    let db = MyDb::new();
    mariadb(
        Some(&db.name),
        "SET SESSION sql_mode = ''; CREATE TABLE z (id INT, zd DATE); INSERT INTO z VALUES (1, '0000-00-00');",
    );
    let p = Profile::new();
    db.add(&p);
    let message = failure(&p, "my", "SELECT zd FROM z");
    assert!(message.contains("CAST(zd AS CHAR)"), "{message}");
    let run = p.query("my", "SELECT CAST(zd AS CHAR) AS zd FROM z");
    expect_rows(&run, &[json!({"zd": "0000-00-00"})]);
}

// --- MongoDB --------------------------------------------------------------------------------------------------

struct MongoDb {
    name: String,
    client: mongodb::Client,
    runtime: tokio::runtime::Runtime,
}

impl MongoDb {
    fn new() -> MongoDb {
        let name = scratch_name("mongo");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let options = ClientOptions::builder()
            .hosts(vec![ServerAddress::Tcp { host: "127.0.0.1".into(), port: Some(37017) }])
            .direct_connection(true)
            .server_selection_timeout(Duration::from_secs(5))
            .build();
        let client = {
            let _context = runtime.enter();
            mongodb::Client::with_options(options).expect("client")
        };
        MongoDb { name, client, runtime }
    }

    fn insert(&self, collection: &str, docs: Vec<Document>) {
        let coll = self.client.database(&self.name).collection::<Document>(collection);
        self.runtime.block_on(coll.insert_many(docs).into_future()).expect("seed");
    }

    fn add(&self, p: &Profile) {
        let url = format!("mongodb://127.0.0.1:37017/{}", self.name);
        p.ok(&["source", "add", "m", "--kind", "mongodb", "--url", &url]);
    }
}

impl Drop for MongoDb {
    fn drop(&mut self) {
        let _ = self.runtime.block_on(self.client.database(&self.name).drop().into_future());
    }
}

fn decimal(text: &str) -> Bson {
    Bson::Decimal128(text.parse::<Decimal128>().expect("decimal"))
}

#[test]
fn mongodb_values_of_every_type_are_exact_and_documents_flatten() {
    let db = MongoDb::new();
    let id = |n: u8| ObjectId::from_bytes([0x65, 0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, n]);
    let at = |iso: &str| DateTime::parse_rfc3339_str(iso).expect("date");
    let uuid = Binary { subtype: BinarySubtype::Uuid, bytes: (0u8..16).collect() };
    let deep = doc! { "l2": { "l3": { "l4": { "l5": { "l6": { "l7": { "l8": { "l9": 1 } } } } } } } };
    db.insert(
        "kinds",
        vec![
            doc! {
                "_id": id(1), "i32": i32::MIN, "i64": i64::MIN, "f": 1.5, "dec": decimal("1234567890123456789012345678901234"),
                "b": true, "s": "héllo wörld ✓ 日本語 😀", "at": at("2024-02-29T23:59:58.123Z"), "u": uuid.clone(),
                "bin": Binary { subtype: BinarySubtype::Generic, bytes: vec![0, 255, 16] },
                "address": { "city": "Lisbon", "geo": { "lat": 38.7, "lon": -9.1 } },
                "tags": ["a", "b"], "items": [{ "sku": "x", "at": at("2024-01-01T00:00:00Z") }], "deep": deep,
            },
            doc! {
                "_id": id(2), "i32": 0, "i64": i64::MAX, "f": f64::NAN, "dec": decimal("1.5E+3"), "b": false, "s": "",
                "at": at("1969-12-31T23:59:59.999Z"), "u": Bson::Null, "bin": Binary { subtype: BinarySubtype::Generic, bytes: vec![] },
                "address": { "city": "", "geo": Bson::Null }, "tags": [], "items": Bson::Null, "deep": {},
            },
            doc! {
                "_id": id(3), "f": f64::INFINITY, "dec": decimal("1E-7"), "s": Bson::Null, "address": "unknown",
            },
            doc! { "_id": id(4), "f": f64::NEG_INFINITY, "dec": decimal("-0.10"), "address": {} },
        ],
    );
    let p = Profile::new();
    db.add(&p);
    let run = p.query("m", r#"{"collection": "kinds", "find": {}, "sort": {"_id": 1}}"#);
    // Nested documents become dotted columns where they first appear, a path's own values (a string, `{}`) in a
    // column before its fields; arrays, and the remainder below the inference depth (8 levels), are JSON text.
    expect_columns(
        &run,
        &[
            ("_id", "objectId", "text"),
            ("i32", "int", "int"),
            ("i64", "long", "int"),
            ("f", "double", "float"),
            ("dec", "decimal", "decimal"),
            ("b", "bool", "bool"),
            ("s", "string", "text"),
            ("at", "date", "timestamp_tz"),
            ("u", "uuid", "uuid"),
            ("bin", "binData", "bytes"),
            ("address", "string|object", "text"),
            ("address.city", "string", "text"),
            ("address.geo.lat", "double", "float"),
            ("address.geo.lon", "double", "float"),
            ("tags", "array", "json"),
            ("items", "array", "json"),
            ("deep", "object", "json"),
            ("deep.l2.l3.l4.l5.l6.l7.l8", "object", "json"),
        ],
    );
    expect_rows(
        &run,
        &[
            json!({"_id": "65a000000000000000000001", "i32": i32::MIN, "i64": i64::MIN, "f": 1.5,
                   "dec": "1234567890123456789012345678901234", "b": true, "s": "héllo wörld ✓ 日本語 😀",
                   "at": "2024-02-29 23:59:58.123000", "u": "00010203-0405-0607-0809-0a0b0c0d0e0f",
                   "bin": "\\x00ff10", "address": null, "address.city": "Lisbon", "address.geo.lat": 38.7,
                   "address.geo.lon": -9.1, "tags": r#"["a","b"]"#,
                   "items": r#"[{"sku":"x","at":{"$date":"2024-01-01T00:00:00Z"}}]"#, "deep": null,
                   "deep.l2.l3.l4.l5.l6.l7.l8": r#"{"l9":1}"#}),
            json!({"_id": "65a000000000000000000002", "i32": 0, "i64": i64::MAX, "f": "NaN", "dec": "1500",
                   "b": false, "s": "", "at": "1969-12-31 23:59:59.999000", "u": null, "bin": "\\x",
                   "address": null, "address.city": "", "address.geo.lat": null, "address.geo.lon": null,
                   "tags": "[]", "items": null, "deep": "{}", "deep.l2.l3.l4.l5.l6.l7.l8": null}),
            json!({"_id": "65a000000000000000000003", "i32": null, "i64": null, "f": "Infinity", "dec": "0.0000001",
                   "b": null, "s": null, "at": null, "u": null, "bin": null, "address": "unknown",
                   "address.city": null, "address.geo.lat": null, "address.geo.lon": null, "tags": null,
                   "items": null, "deep": null, "deep.l2.l3.l4.l5.l6.l7.l8": null}),
            json!({"_id": "65a000000000000000000004", "i32": null, "i64": null, "f": "-Infinity", "dec": "-0.10",
                   "b": null, "s": null, "at": null, "u": null, "bin": null, "address": "{}",
                   "address.city": null, "address.geo.lat": null, "address.geo.lon": null, "tags": null,
                   "items": null, "deep": null, "deep.l2.l3.l4.l5.l6.l7.l8": null}),
        ],
    );

    // A projection of nested fields flattens the same way, and an aggregate's grouped `_id` document too.
    let run = p.query(
        "m",
        r#"{"collection": "kinds", "find": {"address.city": "Lisbon"}, "projection": {"_id": 0, "address.geo": 1}}"#,
    );
    expect_rows(&run, &[json!({"address.geo.lat": 38.7, "address.geo.lon": -9.1})]);
    let run = p.query(
        "m",
        r#"{"collection": "kinds", "aggregate": [{"$match": {"b": {"$exists": true}}},
            {"$group": {"_id": {"b": "$b", "city": "$address.city"}, "n": {"$sum": 1}}}, {"$sort": {"_id.b": 1}}]}"#,
    );
    expect_columns(&run, &[("_id.b", "bool", "bool"), ("_id.city", "string", "text"), ("n", "int", "int")]);
    expect_rows(
        &run,
        &[json!({"_id.b": false, "_id.city": "", "n": 1}), json!({"_id.b": true, "_id.city": "Lisbon", "n": 1})],
    );
}
