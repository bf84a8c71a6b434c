//! The seed on PostgreSQL: the read-only role, each dataset loaded by `COPY` in one transaction, the marker as
//! the database's comment.

use std::time::Duration;

use anyhow::Context;
use futures_util::SinkExt;

use super::{CHINOOK_DB, DEMO_DB, Dataset, HOST, Kind, PG_PORT, READER, READER_PASSWORD, Seeder};
impl Seeder<'_> {
    pub(super) async fn postgres(&mut self) -> anyhow::Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_its_separators() {
        let mut out = String::new();
        copy_escape("a\tb\\c\nd\re", &mut out);
        assert_eq!(out, "a\\tb\\\\c\\nd\\re");
    }
}
