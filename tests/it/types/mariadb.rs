//! MariaDB's types through the real `psiq`, broker and worker: integers signed and unsigned, exact decimals, text
//! in other character sets and collations, temporal types, JSON, UUIDs, network addresses, binary strings, bits and
//! geometry read back exactly, and the zero date failing with the cast to use.

use serde_json::{Value, json};

use super::{columns, expect_columns, expect_rows, failure};
use crate::servers::MariaDb;
use crate::support::Profile;

/// A scratch `utf8mb4` database for this module's tests.
fn scratch() -> MariaDb {
    MariaDb::utf8mb4("psiq_types_my")
}

/// Adds `db` to `p` as the source `my`.
fn add(db: &MariaDb, p: &Profile) {
    let url = format!("mysql://root@127.0.0.1:3306/{}", db.name());
    p.ok(&["source", "add", "my", "--kind", "mysql", "--url", &url]);
}

#[test]
fn mariadb_values_of_every_type_are_exact() {
    let db = scratch();
    db.sql(
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
    add(&db, &p);
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
    let db = scratch();
    db.sql("SET SESSION sql_mode = ''; CREATE TABLE z (id INT, zd DATE); INSERT INTO z VALUES (1, '0000-00-00');");
    let p = Profile::new();
    add(&db, &p);
    let message = failure(&p, "my", "SELECT zd FROM z");
    assert!(message.contains("CAST(zd AS CHAR)"), "{message}");
    let run = p.query("my", "SELECT CAST(zd AS CHAR) AS zd FROM z");
    expect_rows(&run, &[json!({"zd": "0000-00-00"})]);
}
