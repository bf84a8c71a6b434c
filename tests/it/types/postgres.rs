//! PostgreSQL's types through the real `psiq`, broker and worker: every built-in kind, arrays, enums, domains,
//! ranges and geometry read back exactly, text values as the server's own output functions print them, and the
//! types no decoder reads failing with the cast to use.

use serde_json::{Value, json};

use super::{expect_columns, expect_rows, failure};
use crate::servers::{PgDb, PsqlSession, psql_with};
use crate::support::Profile;

/// The session the checks read values in: UTC, ISO dates and ISO 8601 intervals (the forms the connector writes
/// values carried as text in), NULL printed as `<NULL>`.
const SESSION: PsqlSession = PsqlSession {
    null: Some("<NULL>"),
    options: Some("-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=iso_8601 -c extra_float_digits=1"),
};

/// Runs SQL on the local PostgreSQL as `postgres` in [`SESSION`]; rows, one per line.
fn psql(database: &str, sql: &str) -> String {
    psql_with(SESSION, database, sql)
}

/// A scratch database for this module's tests.
fn scratch() -> PgDb {
    PgDb::new("psiq_types_pg")
}

/// Adds `db` to `p` as the source `pg`.
fn add(db: &PgDb, p: &Profile) {
    p.ok(&["source", "add", "pg", "--kind", "postgres", "--url", &db.url()]);
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
    let db = scratch();
    psql(db.name(), PG_KINDS);
    let p = Profile::new();
    add(&db, &p);
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
    let db = scratch();
    psql(
        db.name(),
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
    add(&db, &p);
    let names = ["tm", "ttz", "iv", "n", "pt", "bx", "ip", "r1", "r2", "r3", "r4", "r5", "mr", "xm", "tid"];
    let run = p.query("pg", &format!("SELECT {} FROM edges ORDER BY id", names.join(", ")));
    let rows = run["first_page"]["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 4);
    for name in names {
        // psql prints each value with its type's output function (not the `text(...)` casts: `inet::text`, for
        // one, always adds the prefix length).
        let server: Vec<String> =
            psql(db.name(), &format!("SELECT {name} FROM edges ORDER BY id")).split('\n').map(str::to_owned).collect();
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
    let db = scratch();
    psql(db.name(), "CREATE TABLE t (id int, m money, v tsvector); INSERT INTO t VALUES (1, 12.34, 'a b');");
    let p = Profile::new();
    add(&db, &p);
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
