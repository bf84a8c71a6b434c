//! The seed's datasets: the tables of the demo and of Chinook (their columns, kinds and keys), and their rows read
//! as canonical text, the demo from the files its generator wrote, Chinook from its Django fixture.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};

use super::{CHINOOK_DB, DEMO_DB};
/// A column's type, spelled per engine by the loaders.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Int,
    BigInt,
    /// Text of at most this many characters.
    Text(u32),
    Decimal(u8, u8),
    Date,
    Timestamp,
}

#[derive(Clone, Debug)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub kind: Kind,
    pub nullable: bool,
    /// Chinook: the fixture's field (`pk` for its key).
    field: &'static str,
}

#[derive(Clone, Debug)]
pub struct TableSpec {
    pub name: &'static str,
    pub columns: Vec<ColumnSpec>,
    pub primary_key: Vec<&'static str>,
    /// (column, referenced table, referenced column).
    pub foreign_keys: Vec<(&'static str, &'static str, &'static str)>,
    /// Chinook: the fixture's model.
    model: &'static str,
}

/// One table's rows, every value as canonical text (`2024-01-31`, `2024-01-31 12:00:00`, `12.50`), or NULL.
pub struct Table {
    pub spec: TableSpec,
    pub rows: Vec<Vec<Option<String>>>,
}

/// A database's worth of tables, parents before children.
pub struct Dataset {
    pub name: &'static str,
    pub tables: Vec<Table>,
}

impl Dataset {
    pub fn rows(&self) -> usize {
        self.tables.iter().map(|t| t.rows.len()).sum()
    }
}

fn col(name: &'static str, kind: Kind, nullable: bool, field: &'static str) -> ColumnSpec {
    ColumnSpec { name, kind, nullable, field }
}

/// The demo's tables, as `fixtures::write_demo` writes them.
pub fn demo_specs() -> Vec<TableSpec> {
    use Kind::*;
    let c = |name, kind| col(name, kind, false, name);
    vec![
        TableSpec {
            name: "customers",
            columns: vec![
                c("customer_id", BigInt),
                c("name", Text(100)),
                c("city", Text(40)),
                c("country", Text(40)),
                c("segment", Text(20)),
                c("signup_date", Date),
            ],
            primary_key: vec!["customer_id"],
            foreign_keys: vec![],
            model: "",
        },
        TableSpec {
            name: "products",
            columns: vec![
                c("product_id", BigInt),
                c("name", Text(100)),
                c("category", Text(20)),
                c("unit_price", Decimal(10, 2)),
            ],
            primary_key: vec!["product_id"],
            foreign_keys: vec![],
            model: "",
        },
        TableSpec {
            name: "orders",
            columns: vec![
                c("order_id", BigInt),
                c("customer_id", BigInt),
                c("product_id", BigInt),
                c("order_date", Date),
                c("quantity", Int),
                c("status", Text(20)),
                c("channel", Text(20)),
                c("amount", Decimal(12, 2)),
            ],
            primary_key: vec!["order_id"],
            foreign_keys: vec![("customer_id", "customers", "customer_id"), ("product_id", "products", "product_id")],
            model: "",
        },
    ]
}

/// Chinook's tables with the snake_case names of its PostgreSQL edition, the lengths of the Django models, and
/// the fixture field each column comes from.
pub fn chinook_specs() -> Vec<TableSpec> {
    use Kind::*;
    let id = |name| col(name, Int, false, "pk");
    let text = |name, len, nullable, field| col(name, Text(len), nullable, field);
    let address = |billing: bool| -> Vec<ColumnSpec> {
        let names: [(&'static str, &'static str, u32); 5] = if billing {
            [
                ("billing_address", "billingaddress", 70),
                ("billing_city", "billingcity", 40),
                ("billing_state", "billingstate", 40),
                ("billing_country", "billingcountry", 40),
                ("billing_postal_code", "billingpostalcode", 10),
            ]
        } else {
            [
                ("address", "address", 70),
                ("city", "city", 40),
                ("state", "state", 40),
                ("country", "country", 40),
                ("postal_code", "postalcode", 10),
            ]
        };
        names.into_iter().map(|(name, field, len)| text(name, len, true, field)).collect()
    };
    let named = |table: &'static str, key: &'static str, model: &'static str| TableSpec {
        name: table,
        columns: vec![id(key), text("name", 120, true, "name")],
        primary_key: vec![key],
        foreign_keys: vec![],
        model,
    };
    let mut customer = vec![
        id("customer_id"),
        text("first_name", 40, false, "firstname"),
        text("last_name", 20, false, "lastname"),
        text("company", 80, true, "company"),
    ];
    customer.extend(address(false));
    customer.extend([
        text("phone", 24, true, "phone"),
        text("fax", 24, true, "fax"),
        text("email", 60, false, "email"),
        col("support_rep_id", Int, true, "support_rep"),
    ]);
    let mut employee = vec![
        id("employee_id"),
        text("last_name", 20, false, "lastname"),
        text("first_name", 20, false, "firstname"),
        text("title", 30, true, "title"),
        col("reports_to", Int, true, "reports_to"),
        col("birth_date", Timestamp, true, "birthdate"),
        col("hire_date", Timestamp, true, "hiredate"),
    ];
    employee.extend(address(false));
    employee.extend([text("phone", 24, true, "phone"), text("fax", 24, true, "fax"), text("email", 60, true, "email")]);
    let mut invoice = vec![
        id("invoice_id"),
        col("customer_id", Int, false, "customer"),
        col("invoice_date", Timestamp, false, "invoicedate"),
    ];
    invoice.extend(address(true));
    invoice.push(col("total", Decimal(10, 2), false, "total"));
    vec![
        named("artist", "artist_id", "chinook.artist"),
        TableSpec {
            name: "album",
            columns: vec![id("album_id"), text("title", 160, false, "title"), col("artist_id", Int, false, "artist")],
            primary_key: vec!["album_id"],
            foreign_keys: vec![("artist_id", "artist", "artist_id")],
            model: "chinook.album",
        },
        TableSpec {
            name: "employee",
            columns: employee,
            primary_key: vec!["employee_id"],
            foreign_keys: vec![("reports_to", "employee", "employee_id")],
            model: "chinook.employee",
        },
        TableSpec {
            name: "customer",
            columns: customer,
            primary_key: vec!["customer_id"],
            foreign_keys: vec![("support_rep_id", "employee", "employee_id")],
            model: "chinook.customer",
        },
        named("genre", "genre_id", "chinook.genre"),
        named("media_type", "media_type_id", "chinook.mediatype"),
        named("playlist", "playlist_id", "chinook.playlist"),
        TableSpec {
            name: "track",
            columns: vec![
                id("track_id"),
                text("name", 200, false, "name"),
                col("album_id", Int, true, "album"),
                col("media_type_id", Int, false, "mediatype"),
                col("genre_id", Int, true, "genre"),
                text("composer", 220, true, "composer"),
                col("milliseconds", Int, false, "milliseconds"),
                col("bytes", Int, true, "bytes"),
                col("unit_price", Decimal(10, 2), false, "unit_price"),
            ],
            primary_key: vec!["track_id"],
            foreign_keys: vec![
                ("album_id", "album", "album_id"),
                ("media_type_id", "media_type", "media_type_id"),
                ("genre_id", "genre", "genre_id"),
            ],
            model: "chinook.track",
        },
        TableSpec {
            name: "playlist_track",
            columns: vec![col("playlist_id", Int, false, "playlist"), col("track_id", Int, false, "track")],
            primary_key: vec!["playlist_id", "track_id"],
            foreign_keys: vec![("playlist_id", "playlist", "playlist_id"), ("track_id", "track", "track_id")],
            model: "chinook.playlisttrack",
        },
        TableSpec {
            name: "invoice",
            columns: invoice,
            primary_key: vec!["invoice_id"],
            foreign_keys: vec![("customer_id", "customer", "customer_id")],
            model: "chinook.invoice",
        },
        TableSpec {
            name: "invoice_line",
            columns: vec![
                id("invoice_line_id"),
                col("invoice_id", Int, false, "invoice"),
                col("track_id", Int, false, "track"),
                col("unit_price", Decimal(10, 2), false, "unit_price"),
                col("quantity", Int, false, "quantity"),
            ],
            primary_key: vec!["invoice_line_id"],
            foreign_keys: vec![("invoice_id", "invoice", "invoice_id"), ("track_id", "track", "track_id")],
            model: "chinook.invoiceline",
        },
    ]
}

/// The demo, read back from the files `fixtures::write_demo` wrote, every value cast to its column's type and
/// then to canonical text by DuckDB.
pub fn read_demo(dir: &Path) -> anyhow::Result<Dataset> {
    let conn = duckdb::Connection::open_in_memory()?;
    let mut tables = Vec::new();
    for spec in demo_specs() {
        let (file, reader) = match spec.name {
            "customers" => ("customers.csv", "read_csv"),
            "products" => ("products.json", "read_json"),
            _ => ("orders.parquet", "read_parquet"),
        };
        let path = dir.join(file);
        anyhow::ensure!(path.is_file(), "{} is missing", path.display());
        let select: Vec<String> = spec
            .columns
            .iter()
            .map(|c| format!("CAST(CAST({} AS {}) AS VARCHAR)", c.name, duck_type(c.kind)))
            .collect();
        let sql = format!(
            "SELECT {} FROM {reader}('{}') ORDER BY {}",
            select.join(", "),
            path.to_string_lossy().replace('\'', "''"),
            spec.primary_key.join(", ")
        );
        let mut statement = conn.prepare(&sql)?;
        let width = spec.columns.len();
        let rows = statement
            .query_map([], |row| (0..width).map(|i| row.get::<_, Option<String>>(i)).collect())?
            .collect::<Result<Vec<Vec<Option<String>>>, _>>()?;
        tables.push(Table { spec, rows });
    }
    Ok(Dataset { name: DEMO_DB, tables })
}

/// Chinook from the Django fixture: a JSON array of `{"model", "pk", "fields"}` objects.
pub fn read_chinook(json: &[u8]) -> anyhow::Result<Dataset> {
    let objects: Vec<serde_json::Value> = serde_json::from_slice(json).context("the fixture is not a JSON array")?;
    let mut by_model: BTreeMap<&str, Vec<&serde_json::Value>> = BTreeMap::new();
    for object in &objects {
        let model = object["model"].as_str().context("an object without a model")?;
        by_model.entry(model).or_default().push(object);
    }
    let mut tables = Vec::new();
    for spec in chinook_specs() {
        let mut objects = by_model.remove(spec.model).with_context(|| format!("no {} objects", spec.model))?;
        objects.sort_by_key(|o| o["pk"].as_i64());
        let mut rows = Vec::with_capacity(objects.len());
        for object in objects {
            let row = spec
                .columns
                .iter()
                .map(|c| {
                    let value = if c.field == "pk" { &object["pk"] } else { &object["fields"][c.field] };
                    chinook_value(c, value).with_context(|| format!("{}.{} of {object}", spec.name, c.name))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            rows.push(row);
        }
        tables.push(Table { spec, rows });
    }
    if let Some(model) = by_model.keys().next() {
        bail!("the fixture has objects of {model}, which no table takes");
    }
    Ok(Dataset { name: CHINOOK_DB, tables })
}

fn chinook_value(column: &ColumnSpec, value: &serde_json::Value) -> anyhow::Result<Option<String>> {
    if value.is_null() {
        anyhow::ensure!(column.nullable, "NULL in a NOT NULL column");
        return Ok(None);
    }
    Ok(Some(match column.kind {
        Kind::Int | Kind::BigInt => value.as_i64().context("not a whole number")?.to_string(),
        Kind::Text(len) => {
            let text = value.as_str().context("not a string")?;
            anyhow::ensure!(text.chars().count() <= len as usize, "longer than {len} characters");
            text.to_owned()
        }
        // The fixture writes prices as JSON numbers (1.98): exact at two decimals, which the check proves.
        Kind::Decimal(_, scale) => {
            let number = value.as_f64().context("not a number")?;
            let text = format!("{number:.prec$}", prec = usize::from(scale));
            anyhow::ensure!(text.parse::<f64>().ok() == Some(number), "{number} is not exact at {scale} decimals");
            text
        }
        // `2007-01-01T00:00:00Z`: UTC, stored as a timestamp without time zone.
        Kind::Timestamp | Kind::Date => {
            let text = value.as_str().context("not a string")?;
            let plain = text.strip_suffix('Z').filter(|t| t.len() == 19 && &t[10..11] == "T");
            let plain = plain.with_context(|| format!("{text} is not YYYY-MM-DDTHH:MM:SSZ"))?.replacen('T', " ", 1);
            if column.kind == Kind::Date { plain[..10].to_owned() } else { plain }
        }
    }))
}

pub(super) fn duck_type(kind: Kind) -> String {
    match kind {
        Kind::Int => "INTEGER".into(),
        Kind::BigInt => "BIGINT".into(),
        Kind::Text(_) => "VARCHAR".into(),
        Kind::Decimal(p, s) => format!("DECIMAL({p},{s})"),
        Kind::Date => "DATE".into(),
        Kind::Timestamp => "TIMESTAMP".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinook_values_are_exact_or_refused() {
        let price = col("p", Kind::Decimal(10, 2), false, "p");
        assert_eq!(chinook_value(&price, &serde_json::json!(1.98)).unwrap().as_deref(), Some("1.98"));
        assert_eq!(chinook_value(&price, &serde_json::json!(25)).unwrap().as_deref(), Some("25.00"));
        assert!(chinook_value(&price, &serde_json::json!(1.985)).is_err());
        assert!(chinook_value(&price, &serde_json::Value::Null).is_err());
        let at = col("t", Kind::Timestamp, true, "t");
        let text = chinook_value(&at, &serde_json::json!("2007-01-01T10:20:30Z")).unwrap();
        assert_eq!(text.as_deref(), Some("2007-01-01 10:20:30"));
        assert!(chinook_value(&at, &serde_json::json!("2007-01-01 10:20:30")).is_err());
        let name = col("n", Kind::Text(3), true, "n");
        assert!(chinook_value(&name, &serde_json::json!("abcd")).is_err());
        assert_eq!(chinook_value(&name, &serde_json::json!("äbc")).unwrap().as_deref(), Some("äbc"));
    }
}
