//! The test servers from the outside: their own command-line clients (`psql`, `mysql`) and a MongoDB driver, for
//! seeding and inspecting them; unique names; and scratch databases that are dropped when a test ends. Every suite,
//! benchmark and evaluation that talks to the servers other than through `psiq` or a worker goes through here.
//!
//! The servers are the ones `scripts/services` starts: PostgreSQL on 127.0.0.1:5432 (superuser `postgres`, trust
//! authentication), MariaDB on 127.0.0.1:3306 (`root`, no password) and SecantusDB, MongoDB's wire protocol, on
//! 127.0.0.1:37017 (no access control).

use std::future::IntoFuture;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use polystoreiq_protocol::types::{DbTarget, TlsMode};

/// A database or user name no other test (nor another run of this one) uses: `<prefix>_<pid>_<n>`.
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

// ---- PostgreSQL ---------------------------------------------------------------------------------------------------

/// `psql` as the PostgreSQL superuser in `database`, stopping at the first error; the caller adds what to run.
pub fn psql_command(database: &str) -> Command {
    #[allow(clippy::disallowed_methods)] // Seeding, inspecting and timing the real server with its own client.
    let mut cmd = Command::new("psql");
    cmd.args(["-h", "127.0.0.1", "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1"]);
    cmd
}

/// How a [`psql_with`] session prints NULL and which settings it starts with.
#[derive(Debug, Clone, Copy, Default)]
pub struct PsqlSession {
    /// What a NULL prints as (`psql -P null=...`); empty when `None`.
    pub null: Option<&'static str>,
    /// Server settings for the session (`PGOPTIONS`, as `-c name=value ...`).
    pub options: Option<&'static str>,
}

/// Runs `sql` with `psql` as the PostgreSQL superuser in `database`, asserting success; its unaligned output
/// without the final newline.
pub fn psql(database: &str, sql: &str) -> String {
    psql_with(PsqlSession::default(), database, sql)
}

/// [`psql`] in a session printing and set up as `session` says.
pub fn psql_with(session: PsqlSession, database: &str, sql: &str) -> String {
    let mut cmd = psql_command(database);
    if let Some(null) = session.null {
        cmd.args(["-P", &format!("null={null}")]);
    }
    if let Some(options) = session.options {
        cmd.env("PGOPTIONS", options);
    }
    let out = cmd.args(["-qtAc", sql]).output().expect("psql is installed by scripts/services");
    assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim_end_matches('\n').to_owned()
}

/// A PostgreSQL database of a test's own (and, if asked, a login role of the same name), dropped when the test
/// ends.
#[derive(Debug)]
pub struct PgDb {
    name: String,
    role: bool,
}

impl PgDb {
    /// A new, empty database named [`unique_name`]`(prefix)`.
    pub fn new(prefix: &str) -> PgDb {
        let name = unique_name(prefix);
        psql("postgres", &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        psql("postgres", &format!("CREATE DATABASE {name}"));
        PgDb { name, role: false }
    }

    /// A new database and a non-superuser login role named alike (trust authentication, no password).
    pub fn with_role(prefix: &str) -> PgDb {
        let name = unique_name(prefix);
        psql("postgres", &format!("CREATE ROLE {name} LOGIN"));
        psql("postgres", &format!("CREATE DATABASE {name}"));
        PgDb { name, role: true }
    }

    /// The database's name (and its role's, if it has one).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `sql` in this database as the superuser; see [`psql`].
    pub fn sql(&self, sql: &str) -> String {
        psql(&self.name, sql)
    }

    /// The source URL of this database as the superuser.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:5432/{}", self.name)
    }

    /// This database as a worker's target, as `user`, without TLS.
    pub fn target(&self, user: &str) -> DbTarget {
        DbTarget {
            host: "127.0.0.1".into(),
            port: 5432,
            database: self.name.clone(),
            user: user.into(),
            tls: TlsMode::Disable,
        }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let mut statements = vec![format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)];
        if self.role {
            statements.push(format!("DROP ROLE IF EXISTS {}", self.name));
        }
        for sql in &statements {
            cleanup(psql_command("postgres").args(["-qtAc", sql]).output(), sql);
        }
    }
}

// ---- MariaDB ------------------------------------------------------------------------------------------------------

/// The `mysql` client as MariaDB's root, in `database` if given; the caller adds what to run.
pub fn mariadb_command(database: Option<&str>) -> Command {
    #[allow(clippy::disallowed_methods)] // Seeding and inspecting the real server with its own client.
    let mut cmd = Command::new("mysql");
    cmd.args(["--protocol=tcp", "-h", "127.0.0.1", "-P", "3306", "-u", "root", "--default-character-set=utf8mb4"]);
    if let Some(database) = database {
        cmd.args(["-D", database]);
    }
    cmd
}

/// Runs `sql` with the `mysql` client as MariaDB's root, in `database` if given; the raw result.
pub fn mariadb_output(database: Option<&str>, sql: &str) -> Output {
    mariadb_command(database)
        .args(["-N", "-B", "-e", sql])
        .output()
        .expect("the mysql client is installed by scripts/services")
}

/// Like [`mariadb_output`], asserting success; the tab-separated rows without the final newline.
pub fn mariadb(database: Option<&str>, sql: &str) -> String {
    let out = mariadb_output(database, sql);
    assert!(out.status.success(), "mysql {sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim_end_matches('\n').to_owned()
}

/// A MariaDB database of a test's own (and, if asked, a read-only user of the same name), dropped when the test
/// ends.
#[derive(Debug)]
pub struct MariaDb {
    name: String,
    user: bool,
}

impl MariaDb {
    /// A new, empty database named [`unique_name`]`(prefix)`, in the server's default character set.
    pub fn new(prefix: &str) -> MariaDb {
        MariaDb::create(prefix, "", None)
    }

    /// A new, empty database whose default character set is `utf8mb4`.
    pub fn utf8mb4(prefix: &str) -> MariaDb {
        MariaDb::create(prefix, " CHARACTER SET utf8mb4", None)
    }

    /// A new database and a user of the same name, from any host, who may only read it and logs in with
    /// `password`.
    pub fn with_reader(prefix: &str, password: &str) -> MariaDb {
        MariaDb::create(prefix, "", Some(password))
    }

    fn create(prefix: &str, options: &str, reader_password: Option<&str>) -> MariaDb {
        let name = unique_name(prefix);
        let mut sql = format!("DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name}{options};");
        if let Some(password) = reader_password {
            sql.push_str(&format!(
                " DROP USER IF EXISTS '{name}'@'%'; CREATE USER '{name}'@'%' IDENTIFIED BY '{password}';
                 GRANT SELECT ON {name}.* TO '{name}'@'%';"
            ));
        }
        mariadb(None, &sql);
        MariaDb { name, user: reader_password.is_some() }
    }

    /// The database's name (and its user's, if it has one).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `sql` as root inside this database; see [`mariadb`].
    pub fn sql(&self, sql: &str) -> String {
        mariadb(Some(&self.name), sql)
    }

    /// This database as a worker's target, as `user`, without TLS.
    pub fn target(&self, user: &str) -> DbTarget {
        DbTarget {
            host: "127.0.0.1".into(),
            port: 3306,
            database: self.name.clone(),
            user: user.into(),
            tls: TlsMode::Disable,
        }
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        let name = &self.name;
        let mut sql = format!("DROP DATABASE IF EXISTS {name};");
        if self.user {
            sql.push_str(&format!(" DROP USER IF EXISTS '{name}'@'%';"));
        }
        cleanup(mariadb_command(None).args(["-N", "-B", "-e", &sql]).output(), &sql);
    }
}

/// Checks a scratch database's cleanup: a failure fails a passing test, but never turns a test already failing
/// into an abort (a panic while unwinding) nor hides its own message.
fn cleanup(out: std::io::Result<Output>, sql: &str) {
    if std::thread::panicking() {
        return;
    }
    let out = out.unwrap_or_else(|e| panic!("cleanup {sql}: {e}"));
    assert!(out.status.success(), "cleanup {sql}: {}", String::from_utf8_lossy(&out.stderr));
}

// ---- MongoDB ------------------------------------------------------------------------------------------------------

/// The MongoDB-compatible test server without access control (SecantusDB).
pub const MONGO_PORT: u16 = 37017;

/// A database of a test's own on the MongoDB-compatible test server, with a driver client of one connection (so
/// the server sees one client, always on the same connection), dropped when the test ends.
pub struct MongoDb {
    name: String,
    client: mongodb::Client,
    runtime: tokio::runtime::Runtime,
}

impl MongoDb {
    /// A database named [`unique_name`]`(prefix)`, made by its first write; fails at once when the server does not
    /// answer.
    pub fn new(prefix: &str) -> MongoDb {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
        let options = mongodb::options::ClientOptions::builder()
            .hosts(vec![mongodb::options::ServerAddress::Tcp { host: "127.0.0.1".into(), port: Some(MONGO_PORT) }])
            .direct_connection(true)
            .server_selection_timeout(std::time::Duration::from_secs(5))
            .max_pool_size(1)
            .build();
        let client = runtime.block_on(async { mongodb::Client::with_options(options) }).expect("client");
        let db = MongoDb { name: unique_name(prefix), client, runtime };
        db.admin(mongodb::bson::doc! { "ping": 1 });
        db
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The source URL of this database.
    pub fn url(&self) -> String {
        format!("mongodb://127.0.0.1:{MONGO_PORT}/{}", self.name)
    }

    /// This database, for the driver.
    pub fn database(&self) -> mongodb::Database {
        self.client.database(&self.name)
    }

    /// Runs one driver action to its end.
    pub fn wait<F: std::future::IntoFuture>(&self, action: F) -> F::Output {
        self.runtime.block_on(action.into_future())
    }

    /// Inserts `docs` into `collection`.
    pub fn insert(&self, collection: &str, docs: Vec<mongodb::bson::Document>) {
        self.wait(self.database().collection::<mongodb::bson::Document>(collection).insert_many(docs)).expect("seed");
    }

    /// Runs `command` on the `admin` database; its reply.
    pub fn admin(&self, command: mongodb::bson::Document) -> mongodb::bson::Document {
        self.wait(self.client.database("admin").run_command(command))
            .expect("the MongoDB-compatible test server answers on 127.0.0.1:37017 (scripts/services starts it)")
    }
}

impl Drop for MongoDb {
    fn drop(&mut self) {
        // Best effort, as a database never written to does not exist.
        let _ = self.runtime.block_on(self.client.database(&self.name).drop().into_future());
    }
}
