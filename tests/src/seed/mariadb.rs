//! The seed on MariaDB: the read-only user, each dataset loaded by multi-row INSERTs, the marker as the
//! database's comment.

use anyhow::Context;
use mysql_async::prelude::Queryable;

use super::{CHINOOK_DB, DEMO_DB, Dataset, HOST, Kind, MYSQL_PORT, READER, READER_PASSWORD, Seeder};
impl Seeder<'_> {
    pub(super) async fn mysql(&mut self) -> anyhow::Result<()> {
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
