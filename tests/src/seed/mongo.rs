//! The seed on SecantusDB (MongoDB's wire protocol): one collection per table, a document per row, the markers in
//! a collection of their own; on the instance with access control, the demo only, written by its writer.

use std::time::Duration;

use anyhow::Context;
use mongodb::bson::{Bson, DateTime, Decimal128, Document, doc};
use mongodb::options::{ClientOptions, Credential, ServerAddress};

use super::{
    CHINOOK_DB, DEMO_DB, Dataset, HOST, Kind, MONGO_AUTH_DB, MONGO_AUTH_PORT, MONGO_PORT, MONGO_WRITER,
    MONGO_WRITER_PASSWORD, Seeder, Table,
};
impl Seeder<'_> {
    pub(super) async fn mongo(&mut self) -> anyhow::Result<()> {
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
    pub(super) async fn mongo_auth(&mut self) -> anyhow::Result<()> {
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
