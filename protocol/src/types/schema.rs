//! Schema snapshots: tables, columns, fields sampled from documents, keys and indexes.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The logical type every engine's column type normalizes to. Appended only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum LogicalType {
    Bool,
    Int,
    Float,
    /// Exact decimal, carried as a decimal string.
    Decimal,
    Text,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Interval,
    Uuid,
    Json,
    Bytes,
    Other,
}

/// A column of a table in a schema snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ColumnInfo {
    pub name: String,
    /// The engine's own type name (`BIGINT`, `VARCHAR`, `numeric(10,2)`).
    pub db_type: String,
    pub logical: LogicalType,
    pub nullable: bool,
    /// The column's comment in the database. Since v3.
    #[serde(default)]
    pub comment: Option<String>,
    /// For a field inferred from sampled documents (MongoDB): how often it occurred, and as which types.
    /// Since v3.
    #[serde(default)]
    pub sample: Option<FieldSample>,
}

/// What sampling documents found about one field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct FieldSample {
    /// Documents sampled from the collection.
    pub documents: u32,
    /// Sampled documents that hold the field (its presence ratio is `present / documents`).
    pub present: u32,
    /// Occurrences per type (`string`, `int`, `null`, ...), most frequent first. A field inside an array of
    /// documents can occur more than once in one document.
    pub types: Vec<TypeCount>,
}

impl FieldSample {
    /// The share of sampled documents holding the field, from 0 to 1.
    pub fn presence(&self) -> f64 {
        if self.documents == 0 { 0.0 } else { f64::from(self.present) / f64::from(self.documents) }
    }
}

/// How many times one type was seen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TypeCount {
    pub type_name: String,
    pub count: u32,
}

/// A foreign key: `columns` of this table reference `ref_columns` of `ref_table`, position by position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ForeignKey {
    /// The constraint's name, where the engine names it.
    pub name: Option<String>,
    pub columns: Vec<String>,
    /// Named as the snapshot names tables (schema-qualified outside PostgreSQL's `public`).
    pub ref_table: String,
    pub ref_columns: Vec<String>,
}

/// An index of a table or collection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct IndexInfo {
    pub name: String,
    /// Its keys, in order; a MongoDB key that is not ascending says how (`loc: 2dsphere`, `price: -1`).
    pub columns: Vec<String>,
    pub unique: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    Table,
    View,
    Collection,
}

/// A table, view or collection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TableInfo {
    pub name: String,
    pub kind: TableKind,
    /// Exact for files; the server's estimate for databases.
    pub row_count: Option<u64>,
    pub columns: Vec<ColumnInfo>,
    /// The primary key's columns, in key order; empty when there is none. Since v3.
    #[serde(default)]
    pub primary_key: Vec<String>,
    /// Since v3.
    #[serde(default)]
    pub foreign_keys: Vec<ForeignKey>,
    /// Indexes other than the primary key's (MongoDB's `_id_` included). Since v3.
    #[serde(default)]
    pub indexes: Vec<IndexInfo>,
    /// The table's comment in the database. Since v3.
    #[serde(default)]
    pub comment: Option<String>,
}

impl TableInfo {
    /// A table with columns only: no keys, indexes or comment.
    pub fn new(name: String, kind: TableKind, row_count: Option<u64>, columns: Vec<ColumnInfo>) -> TableInfo {
        TableInfo {
            name,
            kind,
            row_count,
            columns,
            primary_key: Vec::new(),
            foreign_keys: Vec::new(),
            indexes: Vec::new(),
            comment: None,
        }
    }
}

/// The metadata of one source at one moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SchemaSnapshot {
    pub tables: Vec<TableInfo>,
    pub fetched_at_ms: u64,
    /// How the broker answered: from its cache or freshly read. Only on the broker's replies. Since v3.
    #[serde(default)]
    pub cache: Option<SchemaCache>,
}

/// The freshness of a schema the broker answered with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct SchemaCache {
    /// True when the answer is the stored snapshot; false when it was read from the source for this request.
    pub cached: bool,
    /// The snapshot's age when the broker answered.
    pub age_ms: u64,
    /// How old a database source's snapshot may grow before it is read again (`POLYSTOREIQ_SCHEMA_TTL_S`);
    /// `None` for files, whose schema is read again whenever a file changes.
    pub ttl_ms: Option<u64>,
}
