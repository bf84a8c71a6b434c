//! The test servers' own command-line clients, for seeding and inspecting them from the outside, and unique
//! names for the scratch databases each test makes.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// A database or user name no other test (nor another run of this one) uses: `<prefix>_<pid>_<n>`.
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Runs `sql` with `psql` as the PostgreSQL superuser in `database`; its unaligned output, without the final
/// newline.
pub fn psql(database: &str, sql: &str) -> String {
    #[allow(clippy::disallowed_methods)] // Seeding and inspecting the real server with its own client.
    let out = Command::new("psql")
        .args(["-h", "127.0.0.1", "-U", "postgres", "-d", database, "-v", "ON_ERROR_STOP=1", "-qtAc", sql])
        .output()
        .expect("psql is installed by scripts/services");
    assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim_end_matches('\n').to_owned()
}

/// Runs `sql` with the `mysql` client as MariaDB's root, in `database` if given; the raw result.
pub fn mariadb_output(database: Option<&str>, sql: &str) -> Output {
    #[allow(clippy::disallowed_methods)] // Seeding and inspecting the real server with its own client.
    let mut cmd = Command::new("mysql");
    cmd.args(["--protocol=tcp", "-h", "127.0.0.1", "-P", "3306", "-u", "root", "--default-character-set=utf8mb4"]);
    cmd.args(["-N", "-B", "-e", sql]);
    if let Some(database) = database {
        cmd.arg(database);
    }
    cmd.output().expect("the mysql client is installed by scripts/services")
}

/// Like [`mariadb_output`], asserting success; the tab-separated rows without the final newline.
pub fn mariadb(database: Option<&str>, sql: &str) -> String {
    let out = mariadb_output(database, sql);
    assert!(out.status.success(), "mysql {sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim_end_matches('\n').to_owned()
}
